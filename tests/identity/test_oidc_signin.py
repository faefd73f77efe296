"""'Sign in with …' through the Authlib client against the real provider on loopback."""
from urllib.parse import parse_qs, urlsplit

import requests

from extensions import db
from models import User, UserRole, UserSession
from tests import factories
from tests.helpers import login


def _start(client, next_path=None):
    response = client.get("/login/oidc" + (f"?next={next_path}" if next_path else ""))
    assert response.status_code == 302
    return response.headers["Location"]


def _consent(authorize_url, sub):
    """What the user does on the provider's page: pick the subject and approve."""
    answer = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def _path(url):
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_login_page_offers_the_provider(client):
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with Test IdP" in page


def test_authorization_request_uses_state_nonce_and_pkce(client, oidc_provider):
    query = parse_qs(urlsplit(_start(client)).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert query["scope"] == ["openid email profile"]
    # On FRONTEND_URL (the default here), never the request's Host (issue 14).
    assert query["redirect_uri"] == ["http://127.0.0.1:5000/login/oidc/callback"]


def test_the_redirect_uri_ignores_the_host_header(client, oidc_provider):
    response = client.get("/login/oidc", headers={"Host": "evil.example"})
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["redirect_uri"] == ["http://127.0.0.1:5000/login/oidc/callback"]


def test_round_trip_creates_the_user_and_signs_in(client, oidc_provider):
    callback = _consent(_start(client, "/courses"), "alice-sub")
    response = client.get(_path(callback))
    assert response.status_code == 302 and response.headers["Location"] == "/courses"
    user = db.session.scalar(db.select(User).where(User.oidc_subject == "alice-sub"))
    assert (user.email, user.name, user.oidc_issuer) == ("alice@example.com", "Alice Oidc", oidc_provider.issuer)
    assert user.role == UserRole.STAFF  # OIDC_STAFF_CLAIM = learnpay_roles=staff
    assert user.password_hash is None and user.last_login_at is not None
    page = client.get("/account").get_data(as_text=True)
    assert "alice@example.com" in page and "Through Test IdP" in page


def test_second_sign_in_updates_the_same_user(client, oidc_provider):
    client.get(_path(_consent(_start(client), "bob-sub")))
    user = db.session.scalar(db.select(User).where(User.oidc_subject == "bob-sub"))
    assert user.role == UserRole.LEARNER
    user.name = "Old Name"
    db.session.commit()
    other = client.application.test_client()
    other.get(_path(_consent(_start(other), "bob-sub")))
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1
    assert db.session.get(User, user.id).name == "Bob Oidc"


def test_a_new_subject_gets_a_new_account(client, oidc_provider):
    # The mock creates a user on the fly for an unknown subject (its email claim = the subject).
    client.get(_path(_consent(_start(client), "carol@example.com")))
    user = db.session.scalar(db.select(User).where(User.oidc_subject == "carol@example.com"))
    assert user is not None and user.email == "carol@example.com" and user.role == UserRole.LEARNER


def test_bad_state_is_refused(client, oidc_provider):
    callback = _consent(_start(client), "alice-sub")
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    response = client.get(f"{parts.path}?code={query['code'][0]}&state=forged-state", follow_redirects=True)
    assert "did not complete" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0
    assert client.get("/account").status_code == 302  # still signed out


def test_callback_from_another_browser_is_refused(client, oidc_provider):
    callback = _consent(_start(client), "alice-sub")
    stranger = client.application.test_client()  # no state in its session: login CSRF attempt
    response = stranger.get(_path(callback), follow_redirects=True)
    assert "did not complete" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_denied_consent_does_not_sign_in(client, oidc_provider):
    authorize_url = _start(client)
    answer = requests.post(authorize_url, data={"action": "deny"}, allow_redirects=False, timeout=5)
    response = client.get(_path(answer.headers["Location"]), follow_redirects=True)
    assert "did not complete" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_existing_password_account_with_unverified_email_is_not_taken_over(client, oidc_provider):
    factories.user(email="bob@example.com")  # Bob's provider claims carry no email_verified
    response = client.get(_path(_consent(_start(client), "bob-sub")), follow_redirects=True)
    assert "already exists" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(User).where(User.email == "bob@example.com")).oidc_subject is None


def test_next_cannot_redirect_off_site(client, oidc_provider):
    callback = _consent(_start(client, "https://evil.example/steal"), "bob-sub")
    response = client.get(_path(callback))
    assert response.headers["Location"] == "/courses"


def test_oidc_routes_are_404_when_not_configured(client, app):
    app.config["OIDC_ISSUER"] = ""
    assert client.get("/login/oidc").status_code == 404
    assert "Sign in with" not in client.get("/login").get_data(as_text=True)


def test_provider_down_is_a_friendly_message(client, app):
    app.config["OIDC_ISSUER"] = "http://127.0.0.1:9"  # nothing listens there
    response = client.get("/login/oidc", follow_redirects=True)
    assert response.status_code == 200 and "unavailable right now" in response.get_data(as_text=True)


def test_expired_id_token_at_sign_in_is_refused(client, app, expired_oidc_provider):
    app.config.update(expired_oidc_provider.config())
    callback = _consent(_start(client), "alice-sub")
    response = client.get(_path(callback), follow_redirects=True)
    assert "did not complete" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_id_token_for_another_client_at_sign_in_is_refused(client, app, oidc_provider):
    # The provider answers our callback, but the code was issued to another client id.
    callback = _consent(_start(client), "alice-sub")
    app.config["OIDC_CLIENT_ID"] = "a-different-client"  # a new Authlib client with another audience
    parts = urlsplit(callback)
    response = client.get(f"{parts.path}?{parts.query}", follow_redirects=True)
    assert "did not complete" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_a_provider_that_shares_no_email_is_refused_clearly(client, oidc_provider):
    # Not in the ID token, so the UserInfo endpoint is asked too (with the access token).
    response = client.get(_path(_consent(_start(client), "nomail-sub")), follow_redirects=True)
    assert "did not share an email address" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_signing_in_again_ends_the_browsers_earlier_session(app, client, oidc_provider, learner):
    """Issue 14: a sign-in ends the session it replaces, so a copy of the old cookie dies too."""
    login(client, learner.email)
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    assert thief.get("/dashboard").status_code == 200
    client.get(_path(_consent(_start(client), "dave@example.com")))
    assert "dave@example.com" in client.get("/account").get_data(as_text=True)
    assert thief.get("/dashboard").status_code == 302
    ended = db.session.scalar(db.select(UserSession).where(UserSession.user_id == learner.id))
    assert ended.revoked_at is not None

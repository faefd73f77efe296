"""Who may call the API: bearer API tokens, OIDC JWTs, the session cookie with CSRF."""
from extensions import db
from models import ApiToken, User
from services.people import api_tokens
from tests import factories
from tests.helpers import csrf_token, login

PRIVATE = "/api/payments/enrollments"


def _assert_401(response, invalid_token: bool):
    assert response.status_code == 401
    body = response.get_json()
    assert body["success"] is False and body["error"]["code"] == "UNAUTHENTICATED"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="learnpay"')
    assert ('error="invalid_token"' in challenge) is invalid_token


def test_no_credential_is_401_with_a_challenge(client):
    _assert_401(client.get(PRIVATE), invalid_token=False)
    _assert_401(client.post(PRIVATE, json={"courseId": "x"}), invalid_token=False)


def test_bad_credentials_are_401_invalid_token(client):
    for header in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token lp_abc", "Bearer lp_not-a-real-token",
                   "Bearer something-else", "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"]:
        _assert_401(client.get(PRIVATE, headers={"Authorization": header}), invalid_token=True)


def test_api_token_authenticates_and_records_its_use(client, learner, auth):
    response = client.get(PRIVATE, headers=auth)
    assert response.status_code == 200 and response.get_json() == {"success": True, "enrollments": [], "hasMore": False}
    assert db.session.scalar(db.select(ApiToken.last_used_at)) is not None


def test_revoked_token_is_refused(client, learner, auth):
    token = db.session.scalar(db.select(ApiToken))
    api_tokens.revoke(learner, token.id)
    db.session.commit()
    _assert_401(client.get(PRIVATE, headers=auth), invalid_token=True)


def test_disabled_account_is_403(client, learner, auth):
    learner.is_disabled = True
    db.session.commit()
    response = client.get(PRIVATE, headers=auth)
    assert response.status_code == 403  # the token is real: the caller is known, and refused
    body = response.get_json()
    assert body["success"] is False and body["error"]["code"] == "ACCOUNT_DISABLED"
    assert db.session.scalar(db.select(ApiToken.last_used_at)) is None  # a refused call is no use


def test_oidc_jwt_of_a_new_user_creates_the_user(client, oidc_provider):
    token = oidc_provider.id_token("bob-sub")
    response = client.get(PRIVATE, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    user = db.session.scalar(db.select(User).where(User.oidc_subject == "bob-sub"))
    assert user.email == "bob@example.com" and user.oidc_issuer == oidc_provider.issuer
    again = client.get(PRIVATE, headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 200
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1


def test_oidc_jwt_maps_to_an_existing_linked_user(client, oidc_provider, free_course):
    user = factories.user(email="alice@example.com", oidc_issuer=oidc_provider.issuer, oidc_subject="alice-sub")
    headers = {"Authorization": f"Bearer {oidc_provider.id_token('alice-sub')}"}
    created = client.post("/api/payments/enrollments", json={"courseId": free_course.slug}, headers=headers)
    assert created.status_code == 201 and created.get_json()["enrollment"]["userId"] == user.id


def test_expired_jwt_is_401(client, app, expired_oidc_provider):
    app.config.update(expired_oidc_provider.config())
    token = expired_oidc_provider.id_token()
    response = client.get(PRIVATE, headers={"Authorization": f"Bearer {token}"})
    _assert_401(response, invalid_token=True)
    assert "expired" in response.get_json()["error"]["message"]


def test_jwt_for_another_audience_is_401(client, oidc_provider):
    token = oidc_provider.id_token(client_id="someone-elses-app")
    response = client.get(PRIVATE, headers={"Authorization": f"Bearer {token}"})
    _assert_401(response, invalid_token=True)
    assert "audience" in response.get_json()["error"]["message"]


def test_jwt_with_unknown_key_id_is_401(client, oidc_provider):
    response = client.get(PRIVATE, headers={"Authorization": f"Bearer {oidc_provider.foreign_token()}"})
    _assert_401(response, invalid_token=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_jwt_refused_when_no_issuer_is_configured(client, app, oidc_provider):
    app.config["OIDC_ISSUER"] = ""
    response = client.get(PRIVATE, headers={"Authorization": f"Bearer {oidc_provider.id_token()}"})
    _assert_401(response, invalid_token=True)


def test_session_cookie_reads_without_csrf_but_writes_need_the_header(client, learner, free_course):
    login(client, learner.email)
    assert client.get(PRIVATE).status_code == 200
    refused = client.post("/api/payments/enrollments", json={"courseId": free_course.slug})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "CSRF_FAILED"
    wrong = client.post("/api/payments/enrollments", json={"courseId": free_course.slug},
                        headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 400
    accepted = client.post("/api/payments/enrollments", json={"courseId": free_course.slug},
                           headers={"X-CSRFToken": csrf_token(client)})
    assert accepted.status_code == 201


def test_bearer_writes_need_no_csrf(client, auth, free_course):
    response = client.post("/api/payments/enrollments", json={"courseId": free_course.slug}, headers=auth)
    assert response.status_code == 201


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "NOT_FOUND"


def test_identity_provider_down_is_503_not_500(client, app, oidc_provider):
    token = oidc_provider.id_token()
    app.config["OIDC_ISSUER"] = "http://127.0.0.1:9"  # nothing listens there
    response = client.get(PRIVATE, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "IDENTITY_PROVIDER_UNAVAILABLE"


def test_garbage_bearer_tokens_are_401_never_500(client):
    from hypothesis import HealthCheck, given, settings, strategies as st

    segment = st.text(alphabet=st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=40)

    @given(token=st.one_of(st.builds(lambda a, b, c: f"eyJ{a}.{b}.{c}", segment, segment, segment),
                           st.builds(lambda rest: f"lp_{rest}", segment)))
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(token):
        response = client.get(PRIVATE, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (token, response.get_json())

    check()

"""Server-checked sessions (issue 14): a copied cookie dies with its session, wherever it is.

An attacker's copy of a cookie is a second test client given the same cookie value. Time is
moved (the loader's clock), never slept.
"""
import re
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest

from blueprints.auth import signin
from extensions import db
from models import ApiToken, AuditEvent, UserSession, utcnow
from services.people import api_tokens
from tests import factories
from tests.helpers import DEFAULT_PASSWORD, StatementCounter, csrf_token, login, post_confirmed, post_form

NEW_PASSWORD = "a-brand-new-pass-7"
_RESET_LINK = re.compile(r"https?://\S+(/password/reset/\S+)")


def _copy(app, client, *names):
    """Another browser holding copies of `client`'s cookies (a stolen or synced cookie jar)."""
    thief = app.test_client()
    for name in names or ("session",):
        cookie = client.get_cookie(name)
        assert cookie is not None, f"no {name} cookie to copy"
        thief.set_cookie(name, cookie.value)
    return thief


def _signed_in(client) -> bool:
    response = client.get("/dashboard")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login")
        return False
    assert response.status_code == 200
    return True


def _remembered_login(client, email):
    response = client.post("/login", data={"email": email, "password": DEFAULT_PASSWORD, "remember": "y",
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302
    return response


@pytest.fixture
def clock(monkeypatch):
    """Move the sessions' clock forward: `clock(minutes=121)`."""
    def move(**delta):
        moved = utcnow() + timedelta(**delta)
        monkeypatch.setattr(signin, "utcnow", lambda: moved)
    return move


def _sessions_of(user):
    db.session.expire_all()
    return list(db.session.scalars(db.select(UserSession).where(UserSession.user_id == user.id)))


# --- ending a session ends every copy of its cookies ----------------------------------------

def test_a_copied_cookie_stops_working_after_sign_out(app, client, learner):
    login(client, learner.email)
    thief = _copy(app, client)
    assert _signed_in(thief)
    assert post_form(client, "/logout").status_code == 302
    assert not _signed_in(client) and not _signed_in(thief)
    [row] = _sessions_of(learner)
    assert row.revoked_at is not None


def test_a_copied_remember_me_cookie_stops_working_after_sign_out(app, client, learner):
    _remembered_login(client, learner.email)
    thief = _copy(app, client, "remember_token")  # no session cookie: the remember cookie signs in
    assert _signed_in(thief)
    post_form(client, "/logout")
    thief.delete_cookie("session")
    assert not _signed_in(thief)


def test_sign_out_of_all_devices_ends_every_session_and_remember_cookie(app, client, learner):
    login(client, learner.email)
    phone = app.test_client()
    _remembered_login(phone, learner.email)
    copies = [_copy(app, client), _copy(app, phone, "remember_token")]
    assert all(_signed_in(browser) for browser in copies)
    response = post_form(client, "/account/sessions/revoke-all")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not any(_signed_in(browser) for browser in (client, phone, *copies))
    assert all(row.revoked_at is not None for row in _sessions_of(learner))
    assert db.session.scalar(db.select(AuditEvent.action).where(AuditEvent.action == "session.revoked_all"))


def test_the_account_page_lists_sessions_and_signs_one_out(app, client, learner):
    login(client, learner.email)
    phone = app.test_client()
    phone.post("/login", data={"email": learner.email, "password": DEFAULT_PASSWORD,
                               "csrf_token": csrf_token(phone, "/login")},
               headers={"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
                                      "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"},
               environ_base={"REMOTE_ADDR": "203.0.113.9"})
    page = client.get("/account").get_data(as_text=True)
    assert page.count('data-testid="session-row"') == 2
    assert "Mobile Safari 17 on iOS" in page and "203.0.113.9" in page and "this device" in page
    phone_row = next(row for row in _sessions_of(learner) if row.ip == "203.0.113.9")
    response = post_form(client, f"/account/sessions/{phone_row.id}/revoke")
    assert response.status_code == 302
    assert _signed_in(client) and not _signed_in(phone)
    assert client.get("/account").get_data(as_text=True).count('data-testid="session-row"') == 1


def test_another_accounts_session_cannot_be_signed_out(app, client, learner, sign_in):
    other = factories.user(email="other@example.com")
    other_browser = app.test_client()
    sign_in(other_browser, other)
    login(client, learner.email)
    [row] = _sessions_of(other)
    assert post_form(client, f"/account/sessions/{row.id}/revoke").status_code == 404
    assert _signed_in(other_browser)


# --- expiry -----------------------------------------------------------------------------------

def test_a_session_expires_after_idle_minutes(app, client, learner, clock):
    login(client, learner.email)
    thief = _copy(app, client)
    clock(minutes=app.config["SESSION_IDLE_MINUTES"] - 1)
    assert _signed_in(client)  # still in time; this request counts as use
    clock(minutes=app.config["SESSION_IDLE_MINUTES"] * 2)
    assert not _signed_in(client) and not _signed_in(thief)


def test_remember_me_has_no_idle_limit_but_the_same_maximum(app, client, learner, clock):
    _remembered_login(client, learner.email)
    thief = _copy(app, client, "remember_token")
    clock(days=2)
    assert _signed_in(client) and _signed_in(thief) and _signed_in(thief)  # stays signed in past one request
    clock(days=app.config["SESSION_MAX_DAYS"], minutes=1)
    assert not _signed_in(client) and not _signed_in(thief)


def test_a_used_session_still_ends_after_max_days(app, client, learner, clock):
    login(client, learner.email)
    thief = _copy(app, client)
    clock(days=app.config["SESSION_MAX_DAYS"], seconds=1)
    assert not _signed_in(client) and not _signed_in(thief)


def test_the_remember_cookie_lasts_max_days(app, client, learner):
    response = _remembered_login(client, learner.email)
    cookie = next(header for header in response.headers.getlist("Set-Cookie") if header.startswith("remember_token="))
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    assert abs(expires - (utcnow() + timedelta(days=app.config["SESSION_MAX_DAYS"]))) < timedelta(minutes=5)


def test_last_seen_is_written_at_most_once_a_minute(app, client, learner, sign_in, clock):
    sign_in(client, learner)
    with StatementCounter(db.engine) as counter:
        assert _signed_in(client) and _signed_in(client)
    assert not any(statement.lstrip().upper().startswith("UPDATE user_sessions".upper())
                   for statement in counter.statements)
    clock(minutes=2)
    with StatementCounter(db.engine) as counter:
        assert _signed_in(client)
    assert sum(statement.lstrip().upper().startswith("UPDATE USER_SESSIONS") for statement in counter.statements) == 1


# --- sign-in: new session, new CSRF token -----------------------------------------------------

def test_the_csrf_token_from_before_sign_in_is_refused_after_it(client, learner):
    before = csrf_token(client, "/login")
    response = client.post("/login", data={"email": learner.email, "password": DEFAULT_PASSWORD, "csrf_token": before})
    assert response.status_code == 302
    stale = client.post("/account", data={"name": "laptop", "scopes": ["read"], "csrf_token": before})
    assert stale.status_code == 400
    fresh = client.post("/account", data={"name": "laptop", "scopes": ["read"],
                                          "csrf_token": csrf_token(client, "/account")})
    assert fresh.status_code == 200 and "Copy your new token now" in fresh.get_data(as_text=True)


def test_a_cookie_from_before_sign_in_does_not_become_signed_in(app, client, learner):
    csrf_token(client, "/login")  # the anonymous session an attacker could have planted
    planted = _copy(app, client)
    login(client, learner.email)
    assert not _signed_in(planted)


def test_each_sign_in_is_a_new_session(client, learner):
    login(client, learner.email)
    post_form(client, "/logout")
    login(client, learner.email)
    rows = _sessions_of(learner)
    assert len(rows) == 2 and sum(row.revoked_at is None for row in rows) == 1


# --- client address: only what TRUSTED_PROXIES allows ----------------------------------------

def test_a_spoofed_forwarded_for_does_not_pass_strong_protection(app, client, learner):
    client.post("/login", data={"email": learner.email, "password": DEFAULT_PASSWORD,
                                "csrf_token": csrf_token(client, "/login")}, environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert client.get("/dashboard", environ_base={"REMOTE_ADDR": "198.51.100.1"}).status_code == 200
    thief = _copy(app, client)
    replay = thief.get("/dashboard", environ_base={"REMOTE_ADDR": "203.0.113.66"},
                       headers={"X-Forwarded-For": "198.51.100.1"})
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/login")


@pytest.mark.parametrize("app_overrides", [{"TRUSTED_PROXIES": 1}])
def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(app, client, learner):
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    client.post("/login", data={"email": learner.email, "password": DEFAULT_PASSWORD,
                                "csrf_token": csrf_token(client, "/login")},
                environ_base=proxy, headers={"X-Forwarded-For": "198.51.100.1"})
    [row] = _sessions_of(learner)
    assert row.ip == "198.51.100.1"
    assert client.get("/dashboard", environ_base=proxy, headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    moved = client.get("/dashboard", environ_base=proxy, headers={"X-Forwarded-For": "203.0.113.66"})
    assert moved.status_code == 302


# --- password reset and change, staff -------------------------------------------------------

def test_a_reset_revokes_every_api_token_and_session(app, client, learner, outbox):
    _, plaintext = api_tokens.create(learner, "script")
    db.session.commit()
    auth = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/payments/enrollments", headers=auth).status_code == 200
    laptop = app.test_client()
    _remembered_login(laptop, learner.email)
    stolen = _copy(app, laptop, "remember_token")

    client.post("/password/forgot", data={"email": learner.email, "csrf_token": csrf_token(client, "/password/forgot")})
    message = outbox[0]
    assert "signs out every device" in message.get_content() and "revokes all your API tokens" in message.get_content()
    path = _RESET_LINK.search(message.get_content()).group(1)
    response = client.post(path, data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                       "csrf_token": csrf_token(client, path)})
    assert response.status_code == 302

    assert client.get("/api/payments/enrollments", headers=auth).status_code == 401
    assert not _signed_in(laptop) and not _signed_in(stolen)
    assert _signed_in(client)  # the reset signed this browser in, with a new session
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"user.password_reset", "session.revoked_all", "api_token.revoked_all"} <= actions


def _change_password_with_a_phone_and_a_token(app, client, learner, **fields):
    """Sign in on this browser and a phone, hold an API token, change the password here.
    Returns the phone and the token's headers."""
    _, plaintext = api_tokens.create(learner, "script")
    db.session.commit()
    login(client, learner.email)
    phone = app.test_client()
    login(phone, learner.email)
    post_form(client, "/account/password", {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD,
                                            "confirm": NEW_PASSWORD, **fields})
    return phone, {"Authorization": f"Bearer {plaintext}"}


def test_the_password_form_offers_to_keep_other_devices_unticked(client, learner, sign_in):
    sign_in(client, learner)
    page = client.get("/account").get_data(as_text=True)
    assert 'name="keep_other_access"' in page and "checked" not in page.split('name="keep_other_access"')[1][:30]


def test_a_password_change_revokes_by_default(app, client, learner):
    phone, auth = _change_password_with_a_phone_and_a_token(app, client, learner)
    assert _signed_in(client) and not _signed_in(phone)
    assert client.get("/api/payments/enrollments", headers=auth).status_code == 401


def test_a_password_change_can_keep_other_devices_and_tokens(app, client, learner):
    phone, auth = _change_password_with_a_phone_and_a_token(app, client, learner, keep_other_access="y")
    assert _signed_in(client) and _signed_in(phone)
    assert client.get("/api/payments/enrollments", headers=auth).status_code == 200


def test_an_admin_ends_a_users_sessions_and_tokens(app, client, learner, admin, staff, sign_in):
    _, plaintext = api_tokens.create(learner, "script")
    db.session.commit()
    browser = app.test_client()
    sign_in(browser, learner)
    staff_client = app.test_client()
    sign_in(staff_client, staff)
    assert "Sign out everywhere" not in staff_client.get(f"/staff/users/{learner.id}").get_data(as_text=True)
    assert post_form(staff_client, f"/staff/users/{learner.id}/sessions/revoke").status_code == 403
    assert _signed_in(browser)

    sign_in(client, admin)
    assert "Sign out everywhere" in client.get(f"/staff/users/{learner.id}").get_data(as_text=True)
    response = post_confirmed(client, f"/staff/users/{learner.id}/sessions/revoke")
    assert response.status_code == 302
    assert "1 session(s) ended and 1 API token(s) revoked" in client.get(response.headers["Location"]).get_data(
        as_text=True)
    assert not _signed_in(browser)
    assert browser.get("/api/payments/enrollments", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 401
    db.session.expire_all()
    assert db.session.scalar(db.select(ApiToken.revoked_at)) is not None
    entry = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "session.revoked_all"))
    assert entry.actor_id == admin.id and entry.subject_id == str(learner.id)


def test_a_disabled_account_is_signed_out(app, client, learner, sign_in):
    sign_in(client, learner)
    learner.is_disabled = True
    db.session.commit()
    assert not _signed_in(client)


def test_ended_sessions_are_purged_and_live_ones_kept(app, runner, learner):
    from services.people import sessions

    now = utcnow()
    ages = {"live": (now, False, None), "remembered": (now - timedelta(hours=5), True, None),
            "idle": (now - timedelta(hours=5), False, None), "revoked": (now, False, now),
            "expired": (now - timedelta(days=40), True, None)}
    for label, (seen, remember, revoked) in ages.items():
        row, _ = sessions.start(learner, remember=remember, ip=label, user_agent=None, max_days=30, now=seen)
        row.revoked_at = revoked
    db.session.commit()
    assert "Purged 3 ended sign-in sessions." in runner.invoke(args=["users", "purge-sessions"]).output
    assert sorted(row.ip for row in _sessions_of(learner)) == ["live", "remembered"]

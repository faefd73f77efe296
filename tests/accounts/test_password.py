"""Changing the password on /account, and resetting a forgotten one through a mailed link."""
import logging
import re
import time

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner

from extensions import db, limiter
from models import AuditEvent, MailStatus, OutboxMail, User
from services import mail
from services.people import accounts
from tests import factories
from tests.helpers import DEFAULT_PASSWORD, csrf_token, login, post_form

NEW_PASSWORD = "a-brand-new-pass-7"
NEUTRAL = "If an account exists for that address, we sent a link"
NO_LONGER_VALID = "This link is no longer valid"
_LINK = re.compile(r"https?://\S+(/password/reset/\S+)")


@pytest.fixture
def logs(caplog, monkeypatch):
    # The migrations' logging.config.fileConfig disables the loggers that existed before it ran.
    for name in ("services.mail", "blueprints.auth.routes", "jobs.runs"):
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
    caplog.set_level(logging.INFO)
    return caplog


def _change(client, **fields):
    return post_form(client, "/account/password", {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD,
                                                   "confirm": NEW_PASSWORD, **fields})


def _forgot(client, email, address="198.51.100.7"):
    return client.post("/password/forgot", data={"email": email, "csrf_token": csrf_token(client, "/password/forgot")},
                       environ_base={"REMOTE_ADDR": address})


def _reset(client, path, password=NEW_PASSWORD, confirm=None):
    return client.post(path, data={"new_password": password, "confirm": confirm or password,
                                   "csrf_token": csrf_token(client)})


def _link_path(message) -> str:
    match = _LINK.search(message.get_content())
    assert match, message.get_content()
    return match.group(1)


def _password_works(client, email, password) -> bool:
    post_form(client, "/logout")
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": csrf_token(client, "/login")})
    return response.status_code == 302


def _audit_actions(user) -> list[str]:
    return list(db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.subject_type == "User",
                                                                       AuditEvent.subject_id == str(user.id))
                                .order_by(AuditEvent.id)))


def _hash_of(user) -> str | None:
    db.session.expire_all()
    return db.session.get(User, user.id).password_hash


# --- change on /account ---------------------------------------------------------------------

def test_a_learner_changes_the_password(client, learner):
    login(client, learner.email)
    assert "Change your password" in client.get("/account").get_data(as_text=True)
    response = _change(client)
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert "Your password is saved." in client.get("/account").get_data(as_text=True)
    # Revoking the other sessions and the API tokens is the default (issue 14).
    assert _audit_actions(learner) == ["user.password_changed", "session.revoked_all", "api_token.revoked_all"]
    assert not _password_works(client, learner.email, DEFAULT_PASSWORD)
    assert _password_works(client, learner.email, NEW_PASSWORD)


def test_a_wrong_current_password_changes_nothing(client, learner):
    login(client, learner.email)
    before = _hash_of(learner)
    response = _change(client, current_password="not-my-password-1")
    assert response.status_code == 200
    assert "That is not your current password." in response.get_data(as_text=True)
    assert _hash_of(learner) == before and _audit_actions(learner) == []


@pytest.mark.parametrize(("new", "confirm", "message"), [
    ("short1", "short1", "at least 10"),
    ("onlyletterslong", "onlyletterslong", "one letter and one digit"),
    (NEW_PASSWORD, "different-pass-2", "do not match"),
])
def test_a_weak_or_unrepeated_new_password_is_refused(client, learner, new, confirm, message):
    login(client, learner.email)
    before = _hash_of(learner)
    response = _change(client, new_password=new, confirm=confirm)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert _hash_of(learner) == before


def test_an_oidc_account_without_a_password_sets_one(client, sign_in):
    user = factories.user(email="oidc@example.com", oidc_issuer="https://id.example.com", oidc_subject="sub-1")
    user.password_hash = None  # made through OIDC
    db.session.commit()
    sign_in(client, user)
    page = client.get("/account").get_data(as_text=True)
    assert "Set a password" in page and "current_password" not in page
    response = post_form(client, "/account/password", {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert _hash_of(user).startswith("$argon2")
    assert _audit_actions(user) == ["user.password_set", "session.revoked_all", "api_token.revoked_all"]
    assert _password_works(client, user.email, NEW_PASSWORD)


def test_changing_the_password_needs_a_sign_in(client):
    response = post_form(client, "/account/password", {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def _signed_in(client) -> bool:
    return "Sign out" in client.get("/courses").get_data(as_text=True)


def test_a_password_change_signs_out_the_other_devices(app, client, learner):
    laptop, phone = client, app.test_client()
    login(laptop, learner.email)
    login(phone, learner.email)
    assert _signed_in(phone)
    assert _change(laptop).status_code == 302
    assert _signed_in(laptop)  # the device that changed it stays signed in
    assert not _signed_in(phone)


def test_a_remember_me_cookie_from_before_the_change_no_longer_signs_in(app, client, learner):
    phone = app.test_client()
    phone.post("/login", data={"email": learner.email, "password": DEFAULT_PASSWORD, "remember": "y",
                               "csrf_token": csrf_token(phone, "/login")})
    phone.delete_cookie("session")  # the browser was closed: only the remember-me cookie is left
    assert phone.get_cookie("remember_token") is not None and _signed_in(phone)
    login(client, learner.email)
    _change(client)
    phone.delete_cookie("session")
    assert not _signed_in(phone)


def test_the_device_that_changed_the_password_stays_remembered(client, learner):
    client.post("/login", data={"email": learner.email, "password": DEFAULT_PASSWORD, "remember": "y",
                                "csrf_token": csrf_token(client, "/login")})
    assert _change(client).status_code == 302
    client.delete_cookie("session")  # the browser restarts: only "remember me" is left
    assert _signed_in(client)


def test_a_reset_signs_out_the_other_devices(app, client, learner, outbox):
    phone = app.test_client()
    login(phone, learner.email)
    _forgot(client, learner.email)
    assert _reset(client, _link_path(outbox[0])).status_code == 302
    assert _signed_in(client) and not _signed_in(phone)


# --- forgot and reset -----------------------------------------------------------------------

def test_the_sign_in_page_links_to_the_forgot_form(client):
    assert 'href="/password/forgot"' in client.get("/login").get_data(as_text=True)


def test_a_reset_request_is_not_lost_when_the_job_queue_is_down(client, learner, outbox, monkeypatch, logs):
    import jobs

    def unreachable(task):
        raise ConnectionError("queue storage unreachable")
    monkeypatch.setattr(jobs.huey, "enqueue", unreachable)
    response = _forgot(client, learner.email)
    assert response.status_code == 200 and NEUTRAL in response.get_data(as_text=True)
    # Done in the request instead: the mail row is written, and the sweep sends it.
    rows = db.session.scalars(sa.select(OutboxMail)).all()
    assert [row.template for row in rows] == ["password_reset"]
    assert learner.email not in logs.text  # the task's arguments are never logged


def test_a_mailed_link_resets_the_password_once(client, learner, outbox):
    response = _forgot(client, "  Learner@Example.com ")
    assert response.status_code == 200 and NEUTRAL in response.get_data(as_text=True)
    assert len(outbox) == 1
    message = outbox[0]
    assert message["To"] == learner.email and message["From"] == "Learnpay <no-reply@learnpay.dev>"
    path = _link_path(message)

    assert "Choose a new password" in client.get(path).get_data(as_text=True)
    response = _reset(client, path)
    assert response.status_code == 302
    assert "Your new password is set" in client.get("/courses").get_data(as_text=True)
    assert "Sign out" in client.get("/courses").get_data(as_text=True)
    assert _audit_actions(learner) == ["user.password_reset", "session.revoked_all", "api_token.revoked_all"]

    again = client.get(path)
    assert again.status_code == 400 and NO_LONGER_VALID in again.get_data(as_text=True)
    assert _reset(client, path, password="yet-another-pass-9").status_code == 400
    assert not _password_works(client, learner.email, DEFAULT_PASSWORD)
    assert _password_works(client, learner.email, NEW_PASSWORD)


def test_the_reset_form_applies_the_password_rules(client, learner, outbox):
    _forgot(client, learner.email)
    path = _link_path(outbox[0])
    weak = _reset(client, path, password="short1")
    assert weak.status_code == 200 and "at least 10" in weak.get_data(as_text=True)
    mismatch = _reset(client, path, confirm="different-pass-2")
    assert "do not match" in mismatch.get_data(as_text=True)
    assert _password_works(client, learner.email, DEFAULT_PASSWORD)


def test_a_link_stops_working_once_the_password_changes(client, learner, outbox):
    _forgot(client, learner.email)
    path = _link_path(outbox[0])
    login(client, learner.email)
    assert _change(client).status_code == 302
    assert client.get(path).status_code == 400


def test_an_expired_link_is_refused(app, client, learner):
    with pytest.MonkeyPatch.context() as patch:  # signed 61 minutes ago; links last 60
        patch.setattr(TimestampSigner, "get_timestamp", lambda signer: int(time.time()) - 61 * 60)
        _, token = accounts.reset_request(learner.email, app.config["SECRET_KEY"])
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 400 and NO_LONGER_VALID in response.get_data(as_text=True)
    assert 'href="/password/forgot"' in response.get_data(as_text=True)
    assert _reset(client, f"/password/reset/{token}").status_code == 400
    assert _password_works(client, learner.email, DEFAULT_PASSWORD)


@pytest.mark.parametrize("tamper", [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # the signature
    lambda token: "x" + token,  # the payload
    lambda token: "not-a-token",
])
def test_a_tampered_link_is_refused(client, learner, outbox, tamper):
    _forgot(client, learner.email)
    token = _link_path(outbox[0]).rsplit("/", 1)[1]
    response = client.get(f"/password/reset/{tamper(token)}")
    assert response.status_code == 400 and NO_LONGER_VALID in response.get_data(as_text=True)


def test_a_token_signed_with_another_key_is_refused(client, learner):
    _, token = accounts.reset_request(learner.email, "another-secret-key")
    assert client.get(f"/password/reset/{token}").status_code == 400


def test_an_unknown_email_gets_the_same_answer_and_no_mail(client, learner, outbox):
    known = _forgot(client, learner.email).get_data(as_text=True)
    unknown = _forgot(client, "nobody@example.com")
    assert unknown.status_code == 200 and NEUTRAL in unknown.get_data(as_text=True)
    assert _without_csrf(unknown.get_data(as_text=True)) == _without_csrf(known)
    assert [message["To"] for message in outbox] == [learner.email]


def _without_csrf(page: str) -> str:
    return re.sub(r'csrf[^>]*', "", page)


def test_a_disabled_account_gets_no_mail_and_its_links_stop_working(client, learner, outbox):
    _forgot(client, learner.email)
    path = _link_path(outbox[0])
    learner.is_disabled = True
    db.session.commit()
    assert NEUTRAL in _forgot(client, learner.email).get_data(as_text=True)
    assert len(outbox) == 1
    assert client.get(path).status_code == 400


def test_the_reset_page_is_not_cached_and_leaks_no_referrer(client, learner, outbox):
    _forgot(client, learner.email)
    response = client.get(_link_path(outbox[0]))
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_forgot_form_needs_a_csrf_token(client, learner, outbox):
    response = client.post("/password/forgot", data={"email": learner.email})
    assert response.status_code == 400 and outbox == []


# --- mail delivery --------------------------------------------------------------------------

class _FakeSMTP:
    sent: list = []
    fail = False

    def __init__(self, host, port, timeout):
        self.calls = [("connect", host, port)]

    def __enter__(self):
        if self.fail:
            raise ConnectionRefusedError("nothing listens")
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self, context):
        self.calls.append(("starttls",))

    def login(self, username, password):
        self.calls.append(("login", username, password))

    def send_message(self, message):
        self.sent.append((self.calls, message))


@pytest.fixture
def smtp(app, monkeypatch):
    app.config.update(MAIL_SERVER="smtp.example.com", MAIL_USERNAME="mailer", MAIL_PASSWORD="mail-secret")
    monkeypatch.setattr(mail.smtplib, "SMTP", _FakeSMTP)
    monkeypatch.setattr(_FakeSMTP, "sent", [])
    return _FakeSMTP


def test_mail_goes_through_smtp_with_starttls_and_login(client, learner, smtp):
    assert NEUTRAL in _forgot(client, learner.email).get_data(as_text=True)
    [(calls, message)] = smtp.sent
    assert calls == [("connect", "smtp.example.com", 587), ("starttls",), ("login", "mailer", "mail-secret")]
    assert message["To"] == learner.email and "/password/reset/" in message.get_content()


def test_a_mail_failure_is_logged_and_the_answer_stays_neutral(client, learner, smtp, monkeypatch, logs):
    monkeypatch.setattr(smtp, "fail", True)
    response = _forgot(client, learner.email)
    assert response.status_code == 200 and NEUTRAL in response.get_data(as_text=True)
    assert "could not be sent" in logs.text and smtp.sent == []
    [row] = db.session.scalars(sa.select(OutboxMail)).all()  # kept for the next attempt
    assert row.status == MailStatus.PENDING and row.attempts == 1 and "nothing listens" in row.last_error


def test_without_a_mail_server_the_link_is_logged_for_the_developer(client, learner, logs):
    _forgot(client, learner.email)
    assert "MAIL_SERVER is not set" in logs.text and "/password/reset/" in logs.text


def test_in_production_the_link_is_never_logged(app, client, learner, logs):
    app.config["APP_ENV"] = "production"
    _forgot(client, learner.email)
    assert "MAIL_SERVER is not set" in logs.text and "/password/reset/" not in logs.text


# --- throttle -------------------------------------------------------------------------------

class TestThrottle:
    @pytest.fixture
    def app_overrides(self):
        return {"RATELIMIT_ENABLED": True, "PASSWORD_RESET_RATE_LIMIT": "2/hour"}

    @pytest.fixture(autouse=True)
    def fresh_counters(self, app):
        limiter.reset()
        yield
        limiter.reset()

    def test_no_mail_past_the_limit_for_one_email(self, client, learner, outbox, logs):
        for n in range(3):
            response = _forgot(client, learner.email, address=f"203.0.113.{n}")
            assert response.status_code == 200 and NEUTRAL in response.get_data(as_text=True)
        assert len(outbox) == 2
        assert "over PASSWORD_RESET_RATE_LIMIT" in logs.text

    def test_no_mail_past_the_limit_for_one_address(self, client, learner, outbox):
        _forgot(client, "nobody@example.com")
        _forgot(client, "someone@example.com")
        assert NEUTRAL in _forgot(client, learner.email).get_data(as_text=True)
        assert outbox == []
        _forgot(client, learner.email, address="192.0.2.1")
        assert len(outbox) == 1

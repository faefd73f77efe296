"""Personal API tokens: the service and the account page."""
import hashlib
import re
from datetime import timedelta

import pytest

from extensions import db
from models import ApiToken, AuditEvent, utcnow
from services.people import api_tokens
from services.errors import DomainError, NotFound
from tests import factories
from tests.helpers import csrf_token, login


def test_create_stores_only_a_hash_and_a_prefix(app, learner):
    token, plaintext = api_tokens.create(learner, "  CI script  ")
    db.session.commit()
    assert plaintext.startswith("lp_") and len(plaintext) >= 40
    assert token.name == "CI script" and token.prefix == plaintext[:10]
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in str(db.session.execute(db.select(ApiToken.__table__)).all())
    assert db.session.scalar(db.select(AuditEvent.action)) == "api_token.created"


def test_authenticate_records_last_use_at_minute_resolution(app, learner):
    token, plaintext = api_tokens.create(learner, "cli")
    now = utcnow()
    assert api_tokens.authenticate(plaintext, now) == learner
    assert token.last_used_at == now
    assert api_tokens.authenticate(plaintext, now + timedelta(seconds=10)) == learner
    assert token.last_used_at == now
    later = now + timedelta(minutes=2)
    api_tokens.authenticate(plaintext, later)
    assert token.last_used_at == later
    assert api_tokens.authenticate(plaintext + "x") is None
    assert api_tokens.authenticate("lp_unknown") is None


def test_revoked_tokens_and_disabled_users_do_not_authenticate(app, learner):
    token, plaintext = api_tokens.create(learner, "cli")
    api_tokens.revoke(learner, token.id)
    assert api_tokens.authenticate(plaintext) is None
    other, other_plain = api_tokens.create(learner, "second")
    learner.is_disabled = True
    assert api_tokens.authenticate(other_plain) is None
    # The API still finds the token, to answer ACCOUNT_DISABLED; its use is not recorded.
    assert api_tokens.authenticate_token(other_plain) == other and other.last_used_at is None


def test_nobody_revokes_someone_elses_token(app, learner):
    token, _ = api_tokens.create(learner, "cli")
    intruder = factories.user()
    with pytest.raises(NotFound):
        api_tokens.revoke(intruder, token.id)
    assert token.revoked_at is None


@pytest.mark.parametrize("name, code", [("", "NAME_REQUIRED"), ("x" * 81, "NAME_TOO_LONG")])
def test_token_names_are_validated(app, learner, name, code):
    with pytest.raises(DomainError) as caught:
        api_tokens.create(learner, name)
    assert caught.value.code == code and caught.value.field == "name"


def test_account_page_requires_sign_in(client):
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_account_page_creates_a_token_shown_once_and_revokes_it(client, learner):
    login(client, learner.email)
    page = client.get("/account")
    assert page.status_code == 200 and learner.email in page.get_data(as_text=True)
    created = client.post("/account", data={"name": "My laptop", "scopes": ["read", "write"],
                                            "csrf_token": csrf_token(client, "/account")})
    html = created.get_data(as_text=True)
    assert created.headers["Cache-Control"] == "no-store"
    plaintext = re.search(r'<code id="new-token">(lp_[^<]+)</code>', html).group(1)
    assert api_tokens.authenticate(plaintext) == learner
    again = client.get("/account").get_data(as_text=True)
    assert plaintext not in again and plaintext[:10] in again and "My laptop" in again
    token = db.session.scalar(db.select(ApiToken))
    client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(client, "/account")})
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    assert "You have no API tokens." in client.get("/account").get_data(as_text=True)


def test_account_form_errors_and_csrf(client, learner):
    login(client, learner.email)
    blank = client.post("/account", data={"name": "", "csrf_token": csrf_token(client, "/account")})
    assert blank.status_code == 200 and "This field is required" in blank.get_data(as_text=True)
    no_csrf = client.post("/account", data={"name": "x"})
    assert no_csrf.status_code == 400
    assert db.session.scalar(db.select(db.func.count(ApiToken.id))) == 0

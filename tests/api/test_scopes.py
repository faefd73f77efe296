"""Token scopes: chosen at creation (read, write, staff:read, staff:write), staff scopes only for
staff accounts, and a token never does more than its owner's role allows at the time of use."""
import re

import pytest

from extensions import db
from models import ApiToken, UserRole
from services.errors import DomainError
from services.people import api_tokens
from tests.helpers import csrf_token

ENROLLMENTS = "/api/payments/enrollments"
STAFF_COUPONS = "/api/staff/coupons"


def _bearer(user, scopes) -> dict:
    _, plaintext = api_tokens.create(user, "scoped", scopes=scopes)
    db.session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def test_learners_cannot_create_staff_scoped_tokens(app, learner):
    for scopes in (["staff:read"], ["read", "staff:write"]):
        with pytest.raises(DomainError) as refused:
            api_tokens.create(learner, "nope", scopes=scopes)
        assert refused.value.code == "STAFF_SCOPE_FORBIDDEN" and refused.value.field == "scopes"
    for scopes, code in (([], "SCOPES_REQUIRED"), (["admin"], "UNKNOWN_SCOPE")):
        with pytest.raises(DomainError) as refused:
            api_tokens.create(learner, "nope", scopes=scopes)
        assert refused.value.code == code


def test_staff_may_choose_staff_scopes_and_the_default_is_read_write(app, staff, learner):
    token, _ = api_tokens.create(staff, "back office", scopes=["staff:write", "staff:read"])
    assert token.scopes == "staff:read staff:write"
    assert api_tokens.create(learner, "default")[0].scopes == "read write"


def test_read_and_write_scopes_gate_the_learner_endpoints(client, learner, free_course):
    read_only, write_only = _bearer(learner, ["read"]), _bearer(learner, ["write"])
    assert client.get(ENROLLMENTS, headers=read_only).status_code == 200
    refused = client.post(ENROLLMENTS, json={"courseId": free_course.slug}, headers=read_only)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert 'scope="write"' in refused.headers["WWW-Authenticate"]
    assert client.get(ENROLLMENTS, headers=write_only).status_code == 403
    assert client.post(ENROLLMENTS, json={"courseId": free_course.slug}, headers=write_only).status_code == 201


def test_a_learner_token_never_reaches_staff_endpoints(client, learner):
    response = client.get(STAFF_COUPONS, headers=_bearer(learner, ["read", "write"]))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "FORBIDDEN"


def test_a_staff_token_needs_its_staff_scope(client, staff):
    own_data_only = _bearer(staff, ["read", "write"])
    refused = client.get(STAFF_COUPONS, headers=own_data_only)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    reader = _bearer(staff, ["staff:read"])
    assert client.get(STAFF_COUPONS, headers=reader).status_code == 200
    write = client.post(f"{STAFF_COUPONS}/1/deactivate", headers=reader)
    assert write.status_code == 403 and write.get_json()["error"]["code"] == "INSUFFICIENT_SCOPE"


def test_a_demoted_owner_s_token_loses_staff_access_at_once(client, staff):
    headers = _bearer(staff, ["read", "staff:read"])
    assert client.get(STAFF_COUPONS, headers=headers).status_code == 200
    staff.role = UserRole.LEARNER
    db.session.commit()
    demoted = client.get(STAFF_COUPONS, headers=headers)
    assert demoted.status_code == 403 and demoted.get_json()["error"]["code"] == "FORBIDDEN"
    assert client.get(ENROLLMENTS, headers=headers).status_code == 200  # `read` still within the role


def test_the_account_page_offers_staff_scopes_to_staff_only(client, learner, staff, sign_in):
    sign_in(client, learner)
    page = client.get("/account").get_data(as_text=True)
    assert 'value="read"' in page and 'value="staff:read"' not in page
    forged = client.post("/account", data={"name": "sneaky", "scopes": ["read", "staff:write"],
                                           "csrf_token": csrf_token(client, "/account")})
    assert "Staff scopes are only for staff accounts." in forged.get_data(as_text=True)
    none = client.post("/account", data={"name": "empty", "csrf_token": csrf_token(client, "/account")})
    assert "Choose at least one scope." in none.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(ApiToken.id))) == 0

    staff_client = client.application.test_client()
    sign_in(staff_client, staff)
    assert 'value="staff:write"' in staff_client.get("/account").get_data(as_text=True)
    created = staff_client.post("/account", data={"name": "office", "scopes": ["staff:read"],
                                                  "csrf_token": csrf_token(staff_client, "/account")})
    assert re.search(r'<code id="new-token">(lp_[^<]+)</code>', created.get_data(as_text=True))
    assert db.session.scalar(db.select(ApiToken.scopes)) == "staff:read"

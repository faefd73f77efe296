"""API rate limits: per bearer token, per signed-in user, per address; JSON 429 with Retry-After."""
import pytest

from tests.api.builders import bearer
from tests.helpers import login


@pytest.fixture
def app_overrides(sandbox_config, oidc_provider):
    return {**sandbox_config, **oidc_provider.config(), "RATELIMIT_ENABLED": True,
            "API_RATE_LIMIT": "3/minute", "API_ADDRESS_RATE_LIMIT": "8/minute"}


def _assert_429(response):
    assert response.status_code == 429
    body = response.get_json()
    assert body["success"] is False and body["error"]["code"] == "RATE_LIMITED"
    assert int(response.headers["Retry-After"]) > 0


def test_each_token_has_its_own_bucket(client, learner, other_learner):
    mine, theirs = bearer(learner), bearer(other_learner)
    for _ in range(3):
        response = client.get("/api/payments/enrollments", headers=mine)
        assert response.status_code == 200 and response.headers["X-RateLimit-Limit"] == "3"
    _assert_429(client.get("/api/payments/enrollments", headers=mine))
    assert client.get("/api/payments/enrollments", headers=theirs).status_code == 200


def test_anonymous_callers_are_limited_per_address(client):
    for _ in range(3):
        assert client.get("/api/payments/coupons/active").status_code == 200
    _assert_429(client.get("/api/payments/coupons/active"))
    other_address = client.get("/api/payments/coupons/active", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other_address.status_code == 200


def test_signed_in_user_has_a_bucket(client, learner):
    login(client, learner.email)
    for _ in range(3):
        assert client.get("/api/payments/enrollments").status_code == 200
    _assert_429(client.get("/api/payments/enrollments"))


def test_made_up_tokens_hit_the_address_ceiling(client):
    statuses = [client.get("/api/payments/enrollments", headers={"Authorization": f"Bearer lp_fake{i}"}).status_code
                for i in range(9)]
    assert statuses[:8] == [401] * 8
    assert statuses[8] == 429


def test_the_staff_endpoints_share_the_api_limits(client, staff):
    from services.people import api_tokens
    from extensions import db

    _, plaintext = api_tokens.create(staff, "office", scopes=["staff:read"])
    db.session.commit()
    headers = {"Authorization": f"Bearer {plaintext}"}
    for _ in range(3):
        response = client.get("/api/staff/coupons", headers=headers)
        assert response.status_code == 200 and response.headers["X-RateLimit-Limit"] == "3"
    _assert_429(client.get("/api/staff/coupons", headers=headers))

"""CORS for /api/*: a frontend on an allowed origin can call with a bearer token; no other
origin is granted anything, and cookies never authenticate a cross-origin call."""
import pytest

from app import create_app
from config import Config

from tests.api.conftest import FRONTEND

SPA = "https://spa.example.com"
EVIL = "https://evil.example"


@pytest.fixture
def app_overrides(app_overrides):
    return {**app_overrides, "CORS_ALLOWED_ORIGINS": [SPA]}


def _preflight(client, origin, method="POST", headers="authorization, content-type, idempotency-key"):
    return client.options("/api/payments/sessions", headers={
        "Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers})


def test_preflight_from_an_allowed_origin_allows_bearer_and_idempotency_headers(client):
    response = _preflight(client, SPA)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SPA
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in response.headers.get("Vary", "")


def test_preflight_from_another_origin_is_granted_nothing(client):
    response = _preflight(client, EVIL)
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Headers" not in response.headers


def test_actual_request_from_an_allowed_origin_with_a_bearer_token(client, auth, free_course):
    response = client.post("/api/payments/enrollments", json={"courseId": free_course.slug},
                           headers={**auth, "Origin": SPA})
    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == SPA
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Retry-After" in response.headers["Access-Control-Expose-Headers"]


def test_actual_request_from_a_refused_origin_gets_no_cors_headers(client, auth):
    response = client.get("/api/payments/enrollments", headers={**auth, "Origin": EVIL})
    # The server answers (CORS is enforced by the browser), but grants the page no access.
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_session_cookie_never_authenticates_a_cross_origin_call(client, learner, sign_in):
    sign_in(client, learner)
    assert client.get("/api/payments/enrollments").status_code == 200
    assert client.get("/api/payments/enrollments", headers={"Origin": FRONTEND}).status_code == 200
    for origin in (SPA, EVIL):
        response = client.get("/api/payments/enrollments", headers={"Origin": origin})
        assert response.status_code == 401, origin


def test_no_origin_is_allowed_by_default(app, monkeypatch):
    monkeypatch.delenv("CORS_ALLOWED_ORIGINS", raising=False)
    assert Config().CORS_ALLOWED_ORIGINS == []
    bare = create_app({key: app.config[key] for key in ("TESTING", "SQLALCHEMY_DATABASE_URI", "SECRET_KEY")}
                      | {"CORS_ALLOWED_ORIGINS": []})
    assert "Access-Control-Allow-Origin" not in _preflight(bare.test_client(), SPA).headers


def test_pages_outside_the_api_get_no_cors_headers(client):
    response = client.get("/courses", headers={"Origin": SPA})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_float_amount_in_validate_is_ignored_not_refused(client, auth, paid_course):
    for amount in (99.0, 49.5, "9900", None, -3):
        response = client.post("/api/payments/coupons/validate",
                               json={"code": "NOPE", "courseId": paid_course.slug, "amount": amount}, headers=auth)
        assert response.status_code == 200, (amount, response.get_json())
        assert response.get_json()["originalAmount"] == 9900

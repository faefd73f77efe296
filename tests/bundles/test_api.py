"""Bundles in the API (issue 20): GET /api/bundles and POST /api/payments/sessions {bundleId, couponCode?}."""
from extensions import db
from models import PaymentSession
from tests import factories
from tests.api.conftest import app_overrides, auth  # noqa: F401  (the API's sandbox, OIDC and bearer set-up)
from tests.identity.oidc import _fresh_identity_cache, oidc_provider  # noqa: F401


def test_api_lists_bundles_and_starts_a_bundle_checkout(client, sandbox, bundle, learner, courses, auth):
    listed = client.get("/api/bundles").get_json()["bundles"]
    assert [(b["slug"], b["priceAmount"], b["listTotal"], b["saving"]) for b in listed] == [
        ("starter", 7700, 9700, 2000)]
    factories.coupon(code="TENOFF", percent=10)
    response = client.post("/api/payments/sessions", json={"bundleId": bundle.id, "couponCode": "TENOFF"},
                           headers=auth)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "REDIRECT" and body["redirectUrl"]
    session = body["session"]
    assert session["courseId"] is None and session["bundleId"] == bundle.id and session["finalAmount"] == 6930
    assert session["product"] == {"kind": "BUNDLE", "id": bundle.id, "title": "Starter bundle",
                                  "courseIds": [c.id for c in courses]}
    again = client.post("/api/payments/sessions", json={"bundleId": bundle.id, "couponCode": "TENOFF"},
                        headers=auth)
    assert again.get_json()["session"]["id"] == session["id"]  # the open session, reused
    both = client.post("/api/payments/sessions", json={"bundleId": bundle.id, "courseId": courses[0].slug},
                       headers=auth)
    assert both.status_code == 400 and "courseId" in both.get_json()["error"]["fields"]
    missing = client.post("/api/payments/sessions", json={"bundleId": 999999}, headers=auth)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "BUNDLE_NOT_FOUND"


def test_api_refuses_a_fully_owned_bundle(client, sandbox, bundle, learner, courses, auth):
    for course in courses:
        factories.enrollment(learner, course)
    response = client.post("/api/payments/sessions", json={"bundleId": bundle.id}, headers=auth)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "ALREADY_OWNED"
    assert db.session.scalar(db.select(db.func.count()).select_from(PaymentSession)) == 0

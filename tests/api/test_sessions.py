"""POST/GET /api/payments/sessions…: checkout through the API against the Stripe sandbox."""
import pytest
import requests

from extensions import db
from models import PaymentSession, PaymentSessionStatus
from tests import factories
from tests.api.builders import start_session
from tests.api.conftest import FRONTEND


def test_create_returns_201_with_session_and_stripe_url(client, sandbox, learner, auth, paid_course):
    body = start_session(client, auth, paid_course.slug)
    assert body["success"] is True and body["status"] == "REDIRECT"
    session = body["session"]
    assert (session["amount"], session["finalAmount"], session["discountAmount"], session["currency"]) == \
        (9900, 9900, 0, "USD")
    assert session["status"] == "PENDING" and session["userId"] == learner.id
    assert session["course"] == {"id": paid_course.id, "slug": "python-101", "title": "Python 101"}
    assert body["redirectUrl"].startswith(sandbox.base_url) and session["stripeSessionId"].startswith("cs_")
    stripe_session = sandbox.state.sessions[session["stripeSessionId"]]
    assert stripe_session["amount_total"] == 9900
    # Defaults: the site's own success and cancel pages, with the placeholders filled by Stripe / us.
    assert stripe_session["success_url"].startswith("http") and "{CHECKOUT_SESSION_ID}" in stripe_session["success_url"]
    assert session["id"] in stripe_session["cancel_url"]


def test_course_id_accepts_the_numeric_id(client, sandbox, auth, paid_course):
    assert start_session(client, auth, paid_course.id)["session"]["courseId"] == paid_course.id
    assert start_session(client, auth, str(paid_course.id))["session"]["courseId"] == paid_course.id


def test_coupon_is_priced_by_the_server(client, sandbox, auth, paid_course):
    factories.coupon(code="TENOFF", percent=10)
    body = start_session(client, auth, paid_course.slug, couponCode="tenoff ", amount=1)
    session = body["session"]
    assert (session["discountAmount"], session["finalAmount"], session["couponCode"]) == (990, 8910, "TENOFF")
    assert sandbox.state.sessions[session["stripeSessionId"]]["amount_total"] == 8910


def test_allowed_return_and_cancel_urls_are_used(client, sandbox, auth, paid_course):
    body = start_session(client, auth, paid_course.slug, returnUrl="https://app.example.com/payment/success?x=1",
                         cancelUrl=f"{FRONTEND}/payment/cancel")
    stripe_session = sandbox.state.sessions[body["session"]["stripeSessionId"]]
    assert stripe_session["success_url"] == "https://app.example.com/payment/success?x=1&session_id={CHECKOUT_SESSION_ID}"
    assert stripe_session["cancel_url"] == f"{FRONTEND}/payment/cancel?payment_session={body['session']['id']}"


def test_without_return_urls_stripe_gets_frontend_url_whatever_the_host_header(client, sandbox, auth, paid_course):
    response = client.post("/api/payments/sessions", json={"courseId": paid_course.slug},
                           headers={**auth, "Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    stripe_session = sandbox.state.sessions[body["session"]["stripeSessionId"]]
    assert stripe_session["success_url"] == f"{FRONTEND}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}"
    assert stripe_session["cancel_url"] == f"{FRONTEND}/checkout/cancel?payment_session={body['session']['id']}"


OPEN_REDIRECTS = [
    "https://evil.example/phish",
    "//evil.example/phish",
    "/relative/path",
    "javascript:alert(1)",
    "http://127.0.0.1:5000@evil.example/",
    "http://127.0.0.1:5000.evil.example/",
    "https://127.0.0.1:5000/wrong-scheme",
    "http://app.example.com/plain-http",
    "https://app.example.com\\@evil.example/",
    "data:text/html,hi",
]


@pytest.mark.parametrize("field", ["returnUrl", "cancelUrl"])
def test_open_redirects_are_refused(client, sandbox, auth, paid_course, field):
    for url in OPEN_REDIRECTS:
        response = client.post("/api/payments/sessions", json={"courseId": paid_course.slug, field: url},
                               headers=auth)
        assert response.status_code == 400, url
        error = response.get_json()["error"]
        assert error["code"] == "VALIDATION_ERROR" and "allowed origin" in error["fields"][field], url
    assert db.session.scalar(db.select(db.func.count(PaymentSession.id))) == 0
    assert sandbox.state.sessions == {}


INVALID_BODIES = [
    ({}, {"courseId"}),
    ({"courseId": ""}, {"courseId"}),
    ({"courseId": True}, {"courseId"}),
    ({"courseId": ["a"]}, {"courseId"}),
    ({"courseId": "python-101", "couponCode": 5}, {"couponCode"}),
    ({"courseId": "python-101", "couponCode": "X" * 33}, {"couponCode"}),
    ({"courseId": {"id": 1}, "returnUrl": 7, "cancelUrl": "ftp://x"}, {"courseId", "returnUrl", "cancelUrl"}),
]


def test_validation_errors_name_each_field(client, auth, paid_course):
    for body, fields in INVALID_BODIES:
        response = client.post("/api/payments/sessions", json=body, headers=auth)
        assert response.status_code == 400, body
        error = response.get_json()["error"]
        assert error["code"] == "VALIDATION_ERROR" and set(error["fields"]) == fields, body
        assert all(isinstance(message, str) and message for message in error["fields"].values())


def test_non_json_bodies_are_refused(client, auth, paid_course):
    form = client.post("/api/payments/sessions", data={"courseId": "python-101"}, headers=auth)
    assert form.status_code == 415 and form.get_json()["error"]["code"] == "INVALID_JSON"
    array = client.post("/api/payments/sessions", json=["python-101"], headers=auth)
    assert array.status_code == 400 and array.get_json()["error"]["code"] == "INVALID_JSON"
    broken = client.post("/api/payments/sessions", data="{not json", content_type="application/json", headers=auth)
    assert broken.status_code == 400


def test_unknown_or_unpublished_course_is_404(client, auth):
    hidden = factories.course(slug="draft", published=False)
    for key in ("no-such-course", hidden.slug, "999999"):
        response = client.post("/api/payments/sessions", json={"courseId": key}, headers=auth)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "COURSE_NOT_FOUND"


def test_refused_coupon_is_422_on_the_coupon_field(client, auth, paid_course):
    factories.coupon(code="OLD", percent=10, is_active=False)
    response = client.post("/api/payments/sessions", json={"courseId": paid_course.slug, "couponCode": "OLD"},
                           headers=auth)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "COUPON_INACTIVE" and "couponCode" in error["fields"]


def test_full_discount_enrolls_without_stripe(client, sandbox, auth, paid_course):
    factories.coupon(code="FREEBIE", percent=100)
    response = client.post("/api/payments/sessions", json={"courseId": paid_course.slug, "couponCode": "FREEBIE"},
                           headers=auth)
    body = response.get_json()
    assert response.status_code == 201 and body["status"] == "ENROLLED" and body["redirectUrl"] is None
    assert body["enrollment"]["courseId"] == paid_course.id and body["session"]["finalAmount"] == 0
    assert sandbox.state.sessions == {}


def test_already_enrolled_is_409(client, learner, auth, paid_course):
    factories.enrollment(learner, paid_course, paid=True)
    response = client.post("/api/payments/sessions", json={"courseId": paid_course.slug}, headers=auth)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "ALREADY_ENROLLED"


def test_create_requires_authentication(client, paid_course):
    response = client.post("/api/payments/sessions", json={"courseId": paid_course.slug})
    assert response.status_code == 401 and "WWW-Authenticate" in response.headers


def test_get_own_session_and_not_someone_elses(client, sandbox, auth, other_auth, paid_course):
    session_id = start_session(client, auth, paid_course.slug)["session"]["id"]
    own = client.get(f"/api/payments/sessions/{session_id}", headers=auth)
    assert own.status_code == 200 and own.get_json()["session"]["id"] == session_id
    other = client.get(f"/api/payments/sessions/{session_id}", headers=other_auth)
    assert other.status_code == 404 and other.get_json()["error"]["code"] == "PAYMENT_SESSION_NOT_FOUND"
    assert client.get(f"/api/payments/sessions/{session_id}").status_code == 401
    assert client.get("/api/payments/sessions/ps_unknown", headers=auth).status_code == 404


def test_public_lookup_by_stripe_id_has_no_personal_data(client, sandbox, auth, paid_course):
    stripe_id = start_session(client, auth, paid_course.slug)["session"]["stripeSessionId"]
    response = client.get(f"/api/payments/sessions/stripe/{stripe_id}")  # no credentials
    assert response.status_code == 200
    session = response.get_json()["session"]
    assert set(session) == {"status", "courseId", "course", "product", "amount", "discountAmount", "finalAmount", "currency"}
    assert session["status"] == "PENDING" and session["finalAmount"] == 9900
    assert "learner@example.com" not in response.get_data(as_text=True)
    missing = client.get("/api/payments/sessions/stripe/cs_test_unknown")
    assert missing.status_code == 404 and missing.get_json()["success"] is False


def test_cancel_own_session(client, sandbox, auth, paid_course):
    body = start_session(client, auth, paid_course.slug)
    session_id, stripe_id = body["session"]["id"], body["session"]["stripeSessionId"]
    response = client.post(f"/api/payments/sessions/{session_id}/cancel", headers=auth)
    assert response.status_code == 200 and response.get_json()["session"]["status"] == "CANCELLED"
    assert sandbox.state.sessions[stripe_id]["status"] == "expired"
    again = client.post(f"/api/payments/sessions/{session_id}/cancel", headers=auth)
    assert again.status_code == 200 and again.get_json()["session"]["status"] == "CANCELLED"


def test_cancel_someone_elses_session_is_404(client, sandbox, auth, other_auth, paid_course):
    session_id = start_session(client, auth, paid_course.slug)["session"]["id"]
    response = client.post(f"/api/payments/sessions/{session_id}/cancel", headers=other_auth)
    assert response.status_code == 404
    assert db.session.get(PaymentSession, session_id).status == PaymentSessionStatus.PENDING
    assert client.post(f"/api/payments/sessions/{session_id}/cancel").status_code == 401


def test_cancel_a_paid_session_is_409(client, sandbox, auth, paid_course):
    body = start_session(client, auth, paid_course.slug)
    session_id, stripe_id = body["session"]["id"], body["session"]["stripeSessionId"]
    paid = requests.post(f"{sandbox.base_url}/_sandbox/checkout/sessions/{stripe_id}/pay", json={}, timeout=5)
    assert paid.status_code == 200
    first = client.post(f"/api/payments/sessions/{session_id}/cancel", headers=auth)
    # Stripe says paid: cancel fulfills instead of cancelling.
    assert first.status_code == 200 and first.get_json()["session"]["status"] == "COMPLETED"
    second = client.post(f"/api/payments/sessions/{session_id}/cancel", headers=auth)
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "NOT_CANCELLABLE"


def test_full_course_puts_the_learner_on_the_waitlist(client, sandbox, auth, other_learner):
    course = factories.course(price=4900, capacity=1)
    factories.enrollment(other_learner, course, paid=True)
    response = client.post("/api/payments/sessions", json={"courseId": course.slug}, headers=auth)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "WAITLISTED" and body["session"] is None and body["redirectUrl"] is None
    assert sandbox.state.sessions == {}


def test_repeating_create_reuses_the_open_session(client, sandbox, auth, paid_course):
    first = start_session(client, auth, paid_course.slug)
    second = start_session(client, auth, paid_course.slug)
    assert second["session"]["id"] == first["session"]["id"] and second["redirectUrl"] == first["redirectUrl"]
    assert len(sandbox.state.sessions) == 1

"""The back-office API: each staff endpoint's happy path and a refusal, the same rules, audit
entries and errors as the staff pages, and responses that match the OpenAPI description."""
import pytest
import requests

from extensions import db
from models import AuditEvent, Coupon, Course, EnrollmentStatus, PaymentSessionStatus
from services.people import api_tokens
from tests import factories
from tests.api.builders import start_session
from tests.api.test_openapi import conforms

STAFF = "/api/staff"
ALL_SCOPES = ["read", "write", "staff:read", "staff:write"]


@pytest.fixture
def spec(client):
    return client.get("/api/openapi.json").get_json()


@pytest.fixture
def office(staff):
    _, plaintext = api_tokens.create(staff, "back office", scopes=ALL_SCOPES)
    db.session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture
def call(client, spec):
    """A request whose response must match the description."""
    def call(method, path, **kwargs):
        response = client.open(path, method=method, **kwargs)
        conforms(spec, method, path, response)
        return response
    return call


def _audit(action: str) -> AuditEvent | None:
    db.session.expire_all()
    return db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == action))


# --- coupons ------------------------------------------------------------------------------

def test_create_a_coupon_with_the_spec_s_backend_example(call, office, staff):
    # The spec's "Create Coupon" example, field for field (dates as ISO strings).
    response = call("POST", f"{STAFF}/coupons", headers=office, json={
        "code": "WELCOME10", "name": "Welcome Discount", "description": "10% off for new users",
        "discountType": "PERCENTAGE", "discountValue": 10, "maxUses": 100,
        "validFrom": "2026-11-01T00:00:00Z", "validUntil": "2036-12-01T00:00:00Z",
        "minimumAmount": 5000, "maximumDiscount": 2000})
    assert response.status_code == 201
    coupon = response.get_json()["coupon"]
    assert (coupon["code"], coupon["percentOff"], coupon["discountValue"], coupon["maxUses"]) == ("WELCOME10", 10, 10, 100)
    assert coupon["status"] == "ACTIVE" and coupon["minimumAmount"] == 5000
    assert _audit("coupon.created").actor_id == staff.id


def test_coupon_rules_are_the_staff_page_s_all_at_once(call, office):
    factories.coupon(code="TAKEN")
    response = call("POST", f"{STAFF}/coupons", headers=office, json={
        "code": "taken", "name": "x", "discountType": "PERCENTAGE", "discountValue": 120,
        "validFrom": "2026-12-02T00:00:00Z", "validUntil": "2026-12-01T00:00:00Z"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "COUPON_INVALID"
    assert {"code", "discountValue", "validUntil"} <= set(error["fields"])
    fixed = call("POST", f"{STAFF}/coupons", headers=office, json={
        "code": "FIVE", "name": "Five off", "discountType": "FIXED_AMOUNT", "amountOff": 500})
    assert fixed.status_code == 422 and "currency" in fixed.get_json()["error"]["fields"]
    assert call("POST", f"{STAFF}/coupons", headers=office, json={"code": 5}).status_code == 400


def test_list_coupons_with_filters(call, office):
    factories.coupon(code="SUMMER1", name="Summer sale")
    factories.coupon(code="WINTER1", name="Winter sale", is_active=False)
    listed = call("GET", f"{STAFF}/coupons?q=summer", headers=office).get_json()
    assert [c["code"] for c in listed["coupons"]] == ["SUMMER1"] and listed["hasMore"] is False
    inactive = call("GET", f"{STAFF}/coupons?status=inactive", headers=office).get_json()["coupons"]
    assert [c["code"] for c in inactive] == ["WINTER1"]
    assert call("GET", f"{STAFF}/coupons?status=bogus", headers=office).status_code == 400


def test_update_deactivate_and_usage(call, office, staff, learner, paid_course):
    coupon = factories.coupon(code="HALF", percent=50, max_uses=10, current_uses=3)
    updated = call("PATCH", f"{STAFF}/coupons/{coupon.id}", headers=office,
                   json={"maxUses": 5, "applicableCourses": [paid_course.slug]}).get_json()["coupon"]
    assert updated["maxUses"] == 5 and updated["percentOff"] == 50
    assert [c["slug"] for c in updated["applicableCourses"]] == [paid_course.slug]
    below = call("PATCH", f"{STAFF}/coupons/{coupon.id}", headers=office, json={"maxUses": 2})
    assert below.status_code == 422 and "maxUses" in below.get_json()["error"]["fields"]
    assert call("PATCH", f"{STAFF}/coupons/999999", headers=office, json={}).status_code == 404
    off = call("POST", f"{STAFF}/coupons/{coupon.id}/deactivate", headers=office).get_json()["coupon"]
    assert off["isActive"] is False and off["status"] == "INACTIVE"
    assert _audit("coupon.deactivated").actor_id == staff.id
    usage = call("GET", f"{STAFF}/coupons/{coupon.id}/usage", headers=office).get_json()
    assert usage["coupon"]["code"] == "HALF" and usage["totals"] == [] and usage["redemptions"] == []


def test_bulk_generate(call, office):
    template = factories.coupon(code="TEMPLATE", percent=20)
    response = call("POST", f"{STAFF}/coupons/{template.id}/bulk-generate", headers=office,
                    json={"count": 25, "prefix": "spring"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["count"] == 25 and len(set(body["codes"])) == 25 and all(c.startswith("SPRING") for c in body["codes"])
    assert db.session.scalar(db.select(db.func.count(Coupon.id)).where(Coupon.batch_id == body["batchId"])) == 25
    too_many = call("POST", f"{STAFF}/coupons/{template.id}/bulk-generate", headers=office, json={"count": 10001})
    assert too_many.status_code == 400 and "count" in too_many.get_json()["error"]["fields"]


# --- courses ------------------------------------------------------------------------------

def test_courses_create_update_publish_and_list(call, office, staff):
    created = call("POST", f"{STAFF}/courses", headers=office, json={
        "slug": "rust-basics", "title": "Rust Basics", "priceAmount": 4900, "currency": "EUR"})
    assert created.status_code == 201
    course = created.get_json()["course"]
    assert course["isPublished"] is False and course["enrollmentType"] == "PAID"
    assert call("PATCH", f"{STAFF}/courses/{course['id']}", headers=office,
                json={"priceAmount": 5900}).get_json()["course"]["priceAmount"] == 5900
    published = call("POST", f"{STAFF}/courses/{course['id']}/publish", headers=office)
    assert published.get_json()["course"]["isPublished"] is True
    assert _audit("course.published").actor_id == staff.id
    listed = call("GET", f"{STAFF}/courses?published=true", headers=office).get_json()["courses"]
    assert [c["slug"] for c in listed] == ["rust-basics"]
    drafts = call("GET", f"{STAFF}/courses?published=false", headers=office).get_json()["courses"]
    assert drafts == []
    unpublished = call("POST", f"{STAFF}/courses/{course['id']}/publish", headers=office, json={"published": False})
    assert unpublished.get_json()["course"]["isPublished"] is False


def test_course_rules_are_the_staff_page_s(call, office, paid_course):
    taken = call("POST", f"{STAFF}/courses", headers=office, json={
        "slug": paid_course.slug, "title": "Again", "priceAmount": 0, "enrollmentType": "PAID"})
    assert taken.status_code == 422
    assert {"slug", "priceAmount"} <= set(taken.get_json()["error"]["fields"])
    assert db.session.scalar(db.select(db.func.count(Course.id))) == 1
    assert call("POST", f"{STAFF}/courses/999999/publish", headers=office).status_code == 404


# --- payments -----------------------------------------------------------------------------

def _paid_session(client, sandbox, learner_auth, course) -> str:
    session = start_session(client, learner_auth, course.slug)["session"]
    requests.post(f"{sandbox.base_url}/_sandbox/checkout/sessions/{session['stripeSessionId']}/pay", json={},
                  timeout=5).raise_for_status()
    # Asking to cancel a session Stripe already took payment for fulfills it instead.
    client.post(f"/api/payments/sessions/{session['id']}/cancel", headers=learner_auth)
    return session["id"]


def test_payments_list_detail_and_refund(call, client, sandbox, office, staff, auth, learner, paid_course):
    payment_id = _paid_session(client, sandbox, auth, paid_course)
    listed = call("GET", f"{STAFF}/payments?status=COMPLETED", headers=office).get_json()["payments"]
    assert [p["id"] for p in listed] == [payment_id] and listed[0]["user"]["email"] == learner.email
    assert call("GET", f"{STAFF}/payments?q=learner@", headers=office).get_json()["payments"][0]["id"] == payment_id
    assert call("GET", f"{STAFF}/payments?start=2026-13-01", headers=office).status_code == 400
    detail = call("GET", f"{STAFF}/payments/{payment_id}", headers=office).get_json()
    assert detail["payment"]["refundable"] == 9900 and detail["timeline"]

    too_much = call("POST", f"{STAFF}/payments/{payment_id}/refund", headers=office,
                    json={"amount": 99000, "reason": "requested_by_customer"})
    assert too_much.status_code == 400 and too_much.get_json()["error"]["code"] == "REFUND_TOO_LARGE"
    refund = call("POST", f"{STAFF}/payments/{payment_id}/refund", headers={**office, "Idempotency-Key": "r-1"},
                  json={"amount": 1000, "reason": "requested_by_customer"})
    assert refund.status_code == 201 and refund.get_json()["refund"]["amount"] == 1000
    again = call("POST", f"{STAFF}/payments/{payment_id}/refund", headers={**office, "Idempotency-Key": "r-1"},
                 json={"amount": 1000, "reason": "requested_by_customer"})
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [r["amount"] for r in sandbox.state.refunds.values()] == [1000]  # refunded once
    assert _audit("payment.refund_requested").actor_id == staff.id
    assert call("GET", f"{STAFF}/payments/ps_missing", headers=office).status_code == 404


def test_an_unpaid_session_is_not_refundable(call, client, sandbox, office, auth, paid_course):
    session = start_session(client, auth, paid_course.slug)["session"]
    refused = call("POST", f"{STAFF}/payments/{session['id']}/refund", headers=office, json={"reason": "x"})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "NOT_REFUNDABLE"
    assert sandbox.state.refunds == {}


# --- enrollments --------------------------------------------------------------------------

def test_grant_list_and_revoke(call, office, staff, learner, paid_course):
    granted = call("POST", f"{STAFF}/enrollments", headers=office,
                   json={"courseId": paid_course.slug, "email": "LEARNER@example.com", "source": "PROMOTION"})
    assert granted.status_code == 201
    enrollment = granted.get_json()["enrollment"]
    # A grant by hand on a paid course is free of charge, as on the staff page.
    assert (enrollment["type"], enrollment["source"], enrollment["amountPaid"]) == ("FREE", "PROMOTION", 0)
    assert enrollment["user"]["email"] == learner.email
    listed = call("GET", f"{STAFF}/enrollments?courseId={paid_course.id}", headers=office).get_json()
    assert [e["id"] for e in listed["enrollments"]] == [enrollment["id"]]
    assert call("GET", f"{STAFF}/enrollments", headers=office).status_code == 400
    revoked = call("POST", f"{STAFF}/enrollments/{enrollment['id']}/revoke", headers=office,
                   json={"reason": "Chargeback"}).get_json()["enrollment"]
    assert revoked["status"] == EnrollmentStatus.REVOKED.value and revoked["statusReason"] == "Chargeback"
    assert revoked["access"]["allowed"] is False
    assert _audit("enrollment.revoked").actor_id == staff.id
    assert call("POST", f"{STAFF}/enrollments/{enrollment['id']}/revoke", headers=office, json={}).status_code == 400


def test_grant_refusals(call, office, paid_course):
    unknown = call("POST", f"{STAFF}/enrollments", headers=office,
                   json={"courseId": paid_course.slug, "email": "nobody@example.com"})
    assert unknown.status_code == 404 and unknown.get_json()["error"]["fields"] == {
        "email": "No account has this email. The learner must sign up first."}
    full = factories.course(capacity=1)
    factories.enrollment(factories.user(), full)
    factories.user(email="late@example.com")
    refused = call("POST", f"{STAFF}/enrollments", headers=office, json={"courseId": full.id, "email": "late@example.com"})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "COURSE_FULL"


# --- analytics ----------------------------------------------------------------------------

def test_analytics_summary_for_a_date_range(call, client, sandbox, office, auth, paid_course):
    _paid_session(client, sandbox, auth, paid_course)
    summary = call("GET", f"{STAFF}/analytics/summary", headers=office).get_json()
    assert summary["totals"] == [{"currency": "USD", "payments": 1, "gross": 9900, "refunded": 0, "net": 9900}]
    assert {table["name"] for table in summary["tables"]} == {"revenue", "conversion", "failures", "coupons", "referrals",
                                                              "enrollments", "completion", "bundles", "mrr", "members", "products"}
    empty = call("GET", f"{STAFF}/analytics/summary?start=2020-01-01&end=2020-01-31", headers=office).get_json()
    assert (empty["start"], empty["end"], empty["totals"]) == ("2020-01-01", "2020-01-31", [])
    assert call("GET", f"{STAFF}/analytics/summary?start=yesterday", headers=office).status_code == 400


# --- refusals for everyone but staff with the scope ---------------------------------------

STAFF_OPERATIONS = [
    ("GET", "/coupons"), ("POST", "/coupons"), ("PATCH", "/coupons/1"), ("POST", "/coupons/1/deactivate"),
    ("POST", "/coupons/1/bulk-generate"), ("GET", "/coupons/1/usage"), ("GET", "/courses"), ("POST", "/courses"),
    ("PATCH", "/courses/1"), ("POST", "/courses/1/publish"), ("GET", "/payments"), ("GET", "/payments/ps_x"),
    ("POST", "/payments/ps_x/refund"), ("GET", "/enrollments?courseId=1"), ("POST", "/enrollments"),
    ("POST", "/enrollments/1/revoke"), ("GET", "/analytics/summary"),
]


@pytest.mark.parametrize("method, path", STAFF_OPERATIONS)
def test_every_staff_operation_refuses_anonymous_learners_and_missing_scopes(client, auth, staff, method, path):
    _, read_only = api_tokens.create(staff, "reader", scopes=["read", "write", "staff:read"])
    db.session.commit()
    assert client.open(STAFF + path, method=method, json={}).status_code == 401
    learner = client.open(STAFF + path, method=method, json={}, headers=auth)
    assert learner.status_code == 403 and learner.get_json()["error"]["code"] == "FORBIDDEN"
    scoped = client.open(STAFF + path, method=method, json={}, headers={"Authorization": f"Bearer {read_only}"})
    if method == "GET":
        assert scoped.status_code != 403
    else:
        assert scoped.status_code == 403 and scoped.get_json()["error"]["code"] == "INSUFFICIENT_SCOPE"


def test_payments_list_status_filter_names_a_status(call, office):
    assert call("GET", f"{STAFF}/payments?status={PaymentSessionStatus.PENDING.value}", headers=office).status_code == 200


# --- dry run (issue 19) ---------------------------------------------------------------------

def _counts() -> dict[str, int]:
    import sqlalchemy as sa

    db.session.expire_all()
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def test_dry_run_answers_what_the_learner_would_pay_and_writes_nothing(call, office, learner, paid_course, client):
    other = factories.course()
    coupon = factories.coupon(code="ONCE", percent=20, max_uses=3, per_learner_limit=1, courses=[paid_course, other])
    from tests.staff import builders
    builders.redemption(coupon, learner, other)
    coupon.current_uses = 1
    db.session.commit()
    before = _counts()
    refused = call("GET", f"{STAFF}/dry-run?courseId={paid_course.slug}&code=%20once&email=learner@example.com",
                   headers=office)
    assert refused.status_code == 200
    body = refused.get_json()
    assert body["learner"]["email"] == "learner@example.com"
    assert body["quote"]["refusalCode"] == "COUPON_ALREADY_USED" and body["quote"]["finalAmount"] == 9900
    facts = body["coupon"]
    assert (facts["redeemedUses"], facts["usesLeft"], facts["learnerUses"]) == (1, 2, 1)
    assert facts["learnerHistory"][0]["status"] == "REDEEMED"
    visitor = call("GET", f"{STAFF}/dry-run?courseId={paid_course.id}&code=ONCE", headers=office).get_json()
    assert visitor["learner"] is None and visitor["quote"]["isValid"] and visitor["quote"]["finalAmount"] == 7920
    plain = call("GET", f"{STAFF}/dry-run?courseId={paid_course.id}", headers=office).get_json()
    assert plain["coupon"] is None and plain["quote"]["finalAmount"] == 9900
    assert _counts() == before  # nothing reserved, nothing audited


def test_dry_run_refusals(call, office, paid_course, learner):
    assert call("GET", f"{STAFF}/dry-run", headers=office).status_code == 400
    assert call("GET", f"{STAFF}/dry-run?courseId=no-such-course", headers=office).status_code == 404
    missing = call("GET", f"{STAFF}/dry-run?courseId={paid_course.id}&email=nobody@example.com", headers=office)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "USER_NOT_FOUND"
    _, learner_token = api_tokens.create(learner, "mine", scopes=["read", "write"])
    db.session.commit()
    assert call("GET", f"{STAFF}/dry-run?courseId={paid_course.id}",
                headers={"Authorization": f"Bearer {learner_token}"}).status_code == 403

"""Refund through the sandbox, end to end from the staff pages: pay, "reconcile now",
refund in full, Stripe's webhook arrives, the enrollment is revoked."""
import pytest

from extensions import db
from models import AuditEvent, Enrollment, EnrollmentStatus, PaymentSession, PaymentSessionStatus
from tests import factories
from tests.helpers import post_confirmed, post_form
from tests.webhooks import builders as wb


@pytest.fixture
def app_overrides(sandbox_config):
    return sandbox_config


def _reload(ps_id):
    db.session.expire_all()
    return db.session.get(PaymentSession, ps_id)


def test_staff_refund_through_sandbox_revokes_the_enrollment(staff_client, staff, sandbox, learner, paid_course):
    ps = factories.payment_session(learner, paid_course)
    session = wb.open_on_sandbox(ps)
    wb.sandbox_control(sandbox, f"checkout/sessions/{session['id']}/pay", {"card": "4242424242424242"})

    # No webhook delivered: staff press "Reconcile now" and the learner is enrolled.
    assert "Reconcile now" in staff_client.get(f"/staff/payments/{ps.id}").get_data(as_text=True)
    response = post_form(staff_client, f"/staff/payments/{ps.id}/reconcile", follow_redirects=True)
    assert "the session is completed" in response.get_data(as_text=True)
    ps = _reload(ps.id)
    assert ps.status == PaymentSessionStatus.COMPLETED
    enrollment = db.session.scalar(db.select(Enrollment).where(Enrollment.user_id == learner.id))
    assert enrollment.status == EnrollmentStatus.ACTIVE

    # Refund in full from the payment page.
    page = post_confirmed(staff_client, f"/staff/payments/{ps.id}/refund", {"amount": "", "reason": "requested_by_customer"},
                     follow_redirects=True).get_data(as_text=True)
    assert "sent to Stripe" in page and "webhook" in page
    assert [r["amount"] for r in sandbox.state.refunds.values()] == [9900]

    # Stripe's charge.refunded reaches the webhook endpoint.
    sandbox.wait_for(lambda: sandbox.events("charge.refunded"))
    for event in sandbox.events("charge.refunded"):
        body, headers = sandbox.signed(event["id"])
        assert staff_client.post("/webhooks/stripe", data=body, headers=headers,
                                 content_type="application/json").status_code == 200
    ps = _reload(ps.id)
    assert ps.status == PaymentSessionStatus.REFUNDED and ps.amount_refunded == 9900
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.status == EnrollmentStatus.REVOKED
    actions = {e.action: e for e in db.session.scalars(db.select(AuditEvent))}
    assert actions["payment.refund_requested"].actor_id == staff.id
    assert actions["staff.reconciled"].actor_id == staff.id
    timeline = staff_client.get(f"/staff/payments/{ps.id}").get_data(as_text=True)
    assert "Refund requested by staff" in timeline and "Stripe: charge refunded" in timeline
    assert "Refund of $99.00 requested" in timeline and "refunded: $0.00 → $99.00" in timeline


def test_refund_validation_never_reaches_stripe(staff_client, sandbox, learner, paid_course):
    ps = factories.payment_session(learner, paid_course)
    session = wb.open_on_sandbox(ps)
    wb.sandbox_control(sandbox, f"checkout/sessions/{session['id']}/pay", {"card": "4242424242424242"})
    post_form(staff_client, f"/staff/payments/{ps.id}/reconcile")
    for amount, message in [("100.00", "larger than what is left"), ("abc", "Enter a number"),
                            ("1.234", "at most 2 decimals"), ("-5", "positive")]:
        response = post_confirmed(staff_client, f"/staff/payments/{ps.id}/refund",
                             {"amount": amount, "reason": "requested_by_customer"})
        assert response.status_code in (400, 409, 422), amount
        assert message in response.get_data(as_text=True), amount
    assert not sandbox.events("charge.refunded")


def test_partial_refund_keeps_access_and_leaves_the_rest_refundable(staff_client, sandbox, learner, paid_course):
    ps = factories.payment_session(learner, paid_course)
    session = wb.open_on_sandbox(ps)
    wb.sandbox_control(sandbox, f"checkout/sessions/{session['id']}/pay", {"card": "4242424242424242"})
    post_form(staff_client, f"/staff/payments/{ps.id}/reconcile")
    page = post_confirmed(staff_client, f"/staff/payments/{ps.id}/refund", {"amount": "10.00", "reason": "duplicate"},
                     follow_redirects=True).get_data(as_text=True)
    assert "Refund of $10.00 sent to Stripe" in page
    assert [(r["amount"], r["reason"]) for r in sandbox.state.refunds.values()] == [(1000, "duplicate")]
    sandbox.wait_for(lambda: sandbox.events("charge.refunded"))
    for event in sandbox.events("charge.refunded"):
        body, headers = sandbox.signed(event["id"])
        staff_client.post("/webhooks/stripe", data=body, headers=headers, content_type="application/json")
    ps = _reload(ps.id)
    assert ps.status == PaymentSessionStatus.COMPLETED and ps.amount_refunded == 1000
    enrollment = db.session.scalar(db.select(Enrollment).where(Enrollment.user_id == learner.id))
    assert enrollment.status == EnrollmentStatus.ACTIVE  # PARTIAL_REFUND_KEEPS_ACCESS defaults to True
    assert "Up to $89.00" in staff_client.get(f"/staff/payments/{ps.id}").get_data(as_text=True)

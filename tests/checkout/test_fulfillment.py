"""Fulfillment from Stripe Checkout Session objects: paid, unpaid, expired, mismatched, repeated."""
import pytest

from extensions import db
from models import AuditEvent, Enrollment, EnrollmentType, PaymentSessionStatus as S, RedemptionStatus
from services.coupons import redemptions
from services.payments import fulfillment
from services.errors import NotFound
from tests import factories
from tests.checkout.builders import NOW, stripe_session
from tests.checkout.test_coupons import pending_session

pytestmark = pytest.mark.usefixtures("app")


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_paid_session_enrolls_once(paid_course, learner):
    coupon = factories.coupon(code="PAIDUP", max_uses=5)
    ps = pending_session(learner, paid_course, coupon)
    redemptions.reserve(coupon, ps, NOW, None)
    done = fulfillment.fulfill_checkout_session(stripe_session(ps), now=NOW, source="test")
    assert done.status == S.COMPLETED and done.completed_at == NOW
    enrollment = db.session.get(Enrollment, done.enrollment_id)
    assert (enrollment.type, enrollment.amount_paid, enrollment.payment_id) == (EnrollmentType.PAID, 9900, ps.id)
    assert done.payment_intent_id == f"pi_test_{ps.id}" and done.latest_charge_id == f"ch_test_{ps.id}"
    assert coupon.current_uses == 1
    db.session.commit()
    again = fulfillment.apply_checkout_session(stripe_session(ps), now=NOW, source="webhook")
    assert again.enrollment_id == enrollment.id and _count(Enrollment) == 1 and coupon.current_uses == 1
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "payment_session.fulfilled"))


def test_amount_mismatch_is_flagged_not_enrolled(paid_course, learner):
    ps = pending_session(learner, paid_course)
    done = fulfillment.fulfill_checkout_session(stripe_session(ps, amount_total=100), now=NOW, source="test")
    assert done.needs_review and "100" in done.review_reason and done.enrollment_id is None
    assert _count(Enrollment) == 0


def test_currency_mismatch_is_flagged(paid_course, learner):
    ps = pending_session(learner, paid_course)
    done = fulfillment.fulfill_checkout_session(stripe_session(ps, currency="eur"), now=NOW, source="test")
    assert done.needs_review and _count(Enrollment) == 0


def test_unpaid_completion_is_processing_then_async_failure_releases(paid_course, learner):
    coupon = factories.coupon(code="SEPA")
    ps = pending_session(learner, paid_course, coupon)
    redemptions.reserve(coupon, ps, NOW, None)
    done = fulfillment.apply_checkout_session(stripe_session(ps, payment_status="unpaid"), now=NOW, source="test")
    assert done.status == S.PROCESSING and _count(Enrollment) == 0
    failed = fulfillment.fail_async_payment(stripe_session(ps, payment_status="unpaid"), now=NOW, source="test")
    assert failed.status == S.FAILED
    assert redemptions._for_session(ps).status == RedemptionStatus.RELEASED


def test_async_success_after_processing_enrolls(paid_course, learner):
    ps = pending_session(learner, paid_course)
    fulfillment.apply_checkout_session(stripe_session(ps, payment_status="unpaid"), now=NOW, source="test")
    done = fulfillment.fulfill_checkout_session(stripe_session(ps), now=NOW, source="test")
    assert done.status == S.COMPLETED and done.enrollment_id


def test_expired_releases_but_never_touches_a_paid_session(paid_course, learner):
    coupon = factories.coupon(code="EXP")
    ps = pending_session(learner, paid_course, coupon)
    redemptions.reserve(coupon, ps, NOW, None)
    done = fulfillment.apply_checkout_session(stripe_session(ps, status="expired", payment_status="unpaid"),
                                              now=NOW, source="test")
    assert done.status == S.EXPIRED and redemptions._for_session(ps).status == RedemptionStatus.RELEASED
    paid = pending_session(learner, factories.course())
    fulfillment.fulfill_checkout_session(stripe_session(paid), now=NOW, source="test")
    late = fulfillment.apply_checkout_session(stripe_session(paid, status="expired"), now=NOW, source="test")
    assert late.status == S.COMPLETED


def test_no_payment_required_only_when_we_expected_zero(paid_course, learner):
    ps = pending_session(learner, paid_course)
    done = fulfillment.fulfill_checkout_session(stripe_session(ps, payment_status="no_payment_required"),
                                                now=NOW, source="test")
    assert done.status == S.PENDING and _count(Enrollment) == 0


def test_sessions_that_are_not_ours(paid_course, learner):
    foreign = {"id": "cs_test_foreign", "client_reference_id": "ps_unknown", "status": "complete",
               "payment_status": "paid", "amount_total": 9900, "currency": "usd"}
    assert fulfillment.apply_checkout_session(foreign, now=NOW, source="test") is None
    assert fulfillment.fail_async_payment(foreign, now=NOW, source="test") is None
    with pytest.raises(NotFound):
        fulfillment.fulfill_checkout_session(foreign, now=NOW, source="test")


def test_our_id_in_another_stripe_session_is_not_ours(paid_course, learner):
    ps = pending_session(learner, paid_course)
    ps.stripe_session_id = "cs_test_real"
    db.session.commit()
    assert fulfillment.apply_checkout_session(stripe_session(ps, id="cs_test_other"), now=NOW, source="t") is None


def test_second_paid_tab_is_flagged_for_refund(paid_course, learner):
    first, second = pending_session(learner, paid_course), pending_session(learner, paid_course)
    fulfillment.fulfill_checkout_session(stripe_session(first), now=NOW, source="test")
    duplicate = fulfillment.fulfill_checkout_session(stripe_session(second), now=NOW, source="test")
    assert duplicate.status == S.COMPLETED and duplicate.needs_review and "duplicate" in duplicate.review_reason
    assert _count(Enrollment) == 1


def test_paid_over_capacity_still_enrolls_and_flags(learner):
    course = factories.course(capacity=1)
    factories.enrollment(factories.user(), course)
    ps = pending_session(learner, course)
    done = fulfillment.fulfill_checkout_session(stripe_session(ps), now=NOW, source="test")
    assert done.enrollment_id and done.needs_review and "capacity" in done.review_reason

"""What each event does to payment sessions, enrollments and coupon uses (docs/webhooks.md)."""
import pytest

from extensions import db
from models import AuditEvent, EnrollmentStatus, PaymentStatus, RedemptionStatus, StripeEvent, WebhookEventStatus
from tests import factories
from tests.webhooks import builders as b


def _status(ps):
    return ps.status.value


# --- checkout.session.* --------------------------------------------------------------------

def test_completed_and_paid_enrolls_and_redeems(deliver, ps):
    evt = deliver("checkout.session.completed", b.checkout_session(ps))
    ps = deliver.reload(ps)
    assert _status(ps) == "COMPLETED"
    [enrollment] = deliver.enrollments(ps)
    assert enrollment.status == EnrollmentStatus.ACTIVE and enrollment.payment_id == ps.id
    assert enrollment.amount_paid == 8415 and enrollment.payment_status == PaymentStatus.PAID
    assert deliver.redemption(ps).status == RedemptionStatus.REDEEMED
    assert ps.coupon.current_uses == 1
    assert ps.payment_intent_id == b.intent_id(ps)
    row = db.session.get(StripeEvent, evt["id"])
    assert row.status == WebhookEventStatus.PROCESSED and row.payment_session_id == ps.id


def test_completed_unpaid_is_processing_without_enrollment(deliver, ps):
    deliver("checkout.session.completed", b.checkout_session(ps, payment_status="unpaid"))
    ps = deliver.reload(ps)
    assert _status(ps) == "PROCESSING"
    assert deliver.enrollments(ps) == []
    assert deliver.redemption(ps).status == RedemptionStatus.RESERVED  # still held while the bank works


def test_async_payment_succeeded_enrolls_after_processing(deliver, ps):
    deliver("checkout.session.completed", b.checkout_session(ps, payment_status="unpaid"))
    deliver("checkout.session.async_payment_succeeded", b.checkout_session(ps))
    ps = deliver.reload(ps)
    assert _status(ps) == "COMPLETED" and len(deliver.enrollments(ps)) == 1
    assert deliver.redemption(ps).status == RedemptionStatus.REDEEMED


def test_async_payment_failed_fails_and_releases(deliver, ps):
    deliver("checkout.session.completed", b.checkout_session(ps, payment_status="unpaid"))
    deliver("checkout.session.async_payment_failed", b.checkout_session(ps, payment_status="unpaid"))
    ps = deliver.reload(ps)
    assert _status(ps) == "FAILED" and ps.failure_code == "async_payment_failed"
    assert deliver.enrollments(ps) == []
    assert deliver.redemption(ps).status == RedemptionStatus.RELEASED


def test_expired_expires_and_releases(deliver, ps):
    deliver("checkout.session.expired", b.checkout_session(ps, status="expired", payment_status="unpaid",
                                                            payment_intent=None))
    ps = deliver.reload(ps)
    assert _status(ps) == "EXPIRED" and deliver.enrollments(ps) == []
    assert deliver.redemption(ps).status == RedemptionStatus.RELEASED
    assert ps.coupon.current_uses == 0


def test_no_payment_required_enrolls_a_free_total(deliver, learner, paid_course):
    coupon = factories.coupon(code="ALLFREE", percent=100, courses=[paid_course])
    ps = factories.payment_session(learner, paid_course, coupon=coupon, discount=9900)
    deliver("checkout.session.completed", b.checkout_session(ps, payment_status="no_payment_required",
                                                              payment_intent=None))
    assert _status(deliver.reload(ps)) == "COMPLETED" and len(deliver.enrollments(ps)) == 1


def test_amount_mismatch_is_flagged_not_enrolled(deliver, ps):
    evt = deliver("checkout.session.completed", b.checkout_session(ps, amount_total=100))
    ps = deliver.reload(ps)
    assert ps.needs_review and "quoted" in ps.review_reason
    assert deliver.enrollments(ps) == []
    assert db.session.get(StripeEvent, evt["id"]).status == WebhookEventStatus.PROCESSED  # still a 200


def test_session_that_is_not_ours_is_ignored(deliver, ps):
    other = b.checkout_session(ps, id="cs_test_someone_else", client_reference_id="their_order_1",
                               metadata={})
    evt = deliver("checkout.session.completed", other)
    assert db.session.get(StripeEvent, evt["id"]).status == WebhookEventStatus.IGNORED
    assert _status(deliver.reload(ps)) == "PENDING"


def test_two_events_for_one_payment_have_one_effect(deliver, ps):
    # Stripe may send completed and async_payment_succeeded for the same payment.
    deliver("checkout.session.completed", b.checkout_session(ps))
    deliver("checkout.session.async_payment_succeeded", b.checkout_session(ps))
    deliver("checkout.session.completed", b.checkout_session(ps))  # a different event id, same object
    ps = deliver.reload(ps)
    assert len(deliver.enrollments(ps)) == 1 and ps.coupon.current_uses == 1


def test_duplicate_event_id_has_one_effect(deliver, ps):
    evt = deliver("checkout.session.completed", b.checkout_session(ps))
    for _ in range(3):
        assert deliver.again(evt)["duplicate"] is True
    ps = deliver.reload(ps)
    assert len(deliver.enrollments(ps)) == 1 and ps.coupon.current_uses == 1
    fulfilled = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "payment_session.fulfilled"))
    assert len(list(fulfilled)) == 1


# --- payment_intent.* ----------------------------------------------------------------------

def test_payment_intent_succeeded_records_charge_and_never_enrolls(deliver, ps):
    deliver("payment_intent.payment_failed", b.payment_intent(ps, status="requires_payment_method",
                                                              error={"code": "card_declined", "message": "Declined."}))
    deliver("payment_intent.succeeded", b.payment_intent(ps))
    ps = deliver.reload(ps)
    assert ps.latest_charge_id == b.charge_id(ps) and ps.failure_code is None
    assert _status(ps) == "PENDING" and deliver.enrollments(ps) == []


def test_payment_intent_events_after_fulfillment_add_no_enrollment(deliver, ps):
    deliver("checkout.session.completed", b.checkout_session(ps))
    deliver("payment_intent.succeeded", b.payment_intent(ps))
    assert len(deliver.enrollments(ps)) == 1 and _status(deliver.reload(ps)) == "COMPLETED"


# --- refunds -------------------------------------------------------------------------------

@pytest.fixture
def paid(deliver, ps):
    deliver("checkout.session.completed", b.checkout_session(ps))
    return deliver.reload(ps)


def test_full_refund_revokes(deliver, paid):
    deliver("refund.created", b.refund(paid))
    deliver("charge.refunded", b.charge(paid, amount_refunded=paid.final_amount))
    ps = deliver.reload(paid)
    assert _status(ps) == "REFUNDED" and ps.amount_refunded == 8415
    [enrollment] = deliver.enrollments(ps)
    assert enrollment.status == EnrollmentStatus.REVOKED and enrollment.payment_status == PaymentStatus.REFUNDED


def test_charge_refunded_alone_is_enough(deliver, paid):
    deliver("charge.refunded", b.charge(paid, amount_refunded=paid.final_amount))
    assert _status(deliver.reload(paid)) == "REFUNDED"
    assert deliver.enrollments(paid)[0].status == EnrollmentStatus.REVOKED


def test_refund_created_alone_is_enough(deliver, paid):
    deliver("refund.created", b.refund(paid))
    assert _status(deliver.reload(paid)) == "REFUNDED"


def test_partial_refunds_add_up_and_keep_access(deliver, paid):
    first, second = b.refund(paid, amount=1000), b.refund(paid, amount=2000)
    deliver("refund.created", first)
    deliver("charge.refunded", b.charge(paid, amount_refunded=1000))
    deliver("refund.created", second)
    deliver("charge.refunded", b.charge(paid, amount_refunded=3000))
    deliver("refund.updated", first)  # the same refund again: counted once
    ps = deliver.reload(paid)
    assert ps.amount_refunded == 3000 and _status(ps) == "COMPLETED"
    [enrollment] = deliver.enrollments(ps)
    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert enrollment.payment_status == PaymentStatus.PARTIALLY_REFUNDED


def test_partial_refunds_then_the_rest_revokes(deliver, paid):
    deliver("charge.refunded", b.charge(paid, amount_refunded=5000))
    deliver("charge.refunded", b.charge(paid, amount_refunded=8415))
    assert _status(deliver.reload(paid)) == "REFUNDED"


def test_cumulative_amount_never_goes_back_with_late_events(deliver, paid):
    import time
    now = int(time.time())
    deliver("charge.refunded", b.charge(paid, amount_refunded=3000), created=now)
    deliver("charge.refunded", b.charge(paid, amount_refunded=1000), created=now - 5)  # older, late
    assert deliver.reload(paid).amount_refunded == 3000


class TestPartialRefundRevokes:
    @pytest.fixture
    def app_overrides(self):
        return {"PARTIAL_REFUND_KEEPS_ACCESS": False}

    def test_partial_refund_revokes_when_policy_says_so(self, deliver, paid):
        deliver("charge.refunded", b.charge(paid, amount_refunded=1000))
        ps = deliver.reload(paid)
        assert _status(ps) == "COMPLETED" and ps.amount_refunded == 1000
        assert deliver.enrollments(ps)[0].status == EnrollmentStatus.REVOKED

    def test_a_policy_that_keeps_access_wins_over_the_setting(self, deliver, paid, staff):
        """Issue 19: the setting only makes partial refunds stricter where the policy revokes."""
        from services.payments import refund_policy

        refund_policy.update(window_days=14, max_progress_percent=30, revokes_access=False, actor=staff)
        db.session.commit()
        deliver("charge.refunded", b.charge(paid, amount_refunded=1000))
        assert deliver.enrollments(paid)[0].status == EnrollmentStatus.ACTIVE
        deliver("charge.refunded", b.charge(paid, amount_refunded=paid.final_amount))
        ps = deliver.reload(paid)
        assert _status(ps) == "REFUNDED" and deliver.enrollments(ps)[0].status == EnrollmentStatus.ACTIVE


def test_failed_refund_is_shown_to_staff_and_access_follows_the_money(deliver, paid):
    refund = b.refund(paid, amount=2000, status="pending")
    deliver("refund.created", refund)
    deliver("charge.refunded", b.charge(paid, amount_refunded=2000))
    assert deliver.reload(paid).amount_refunded == 2000
    deliver("refund.failed", {**refund, "status": "failed", "failure_reason": "lost_or_stolen_card"})
    deliver("refund.updated", {**refund, "status": "pending"})  # stale, late: cannot undo the failure
    ps = deliver.reload(paid)
    assert ps.amount_refunded == 0 and ps.needs_review
    assert ps.failure_code == "refund_failed" and "lost_or_stolen_card" in ps.failure_message
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "payment.refund_failed")) is not None
    assert deliver.enrollments(ps)[0].status == EnrollmentStatus.ACTIVE


def test_failed_full_refund_does_not_revoke(deliver, paid):
    refund = b.refund(paid, status="pending")
    deliver("refund.failed", {**refund, "status": "failed"})
    deliver("refund.created", refund)  # arrives after the failure
    ps = deliver.reload(paid)
    assert _status(ps) == "COMPLETED" and ps.amount_refunded == 0
    assert deliver.enrollments(ps)[0].status == EnrollmentStatus.ACTIVE


# --- disputes ------------------------------------------------------------------------------

def test_dispute_suspends_then_won_restores(deliver, paid):
    dispute = b.dispute(paid)
    deliver("charge.dispute.created", dispute)
    assert deliver.enrollments(paid)[0].status == EnrollmentStatus.SUSPENDED
    assert deliver.reload(paid).needs_review
    deliver("charge.dispute.closed", {**dispute, "status": "won"})
    assert deliver.enrollments(paid)[0].status == EnrollmentStatus.ACTIVE


def test_dispute_warning_closed_restores(deliver, paid):
    dispute = b.dispute(paid, status="warning_needs_response")
    deliver("charge.dispute.created", dispute)
    deliver("charge.dispute.closed", {**dispute, "status": "warning_closed"})
    assert deliver.enrollments(paid)[0].status == EnrollmentStatus.ACTIVE


def test_dispute_lost_revokes(deliver, paid):
    dispute = b.dispute(paid)
    deliver("charge.dispute.created", dispute)
    deliver("charge.dispute.closed", {**dispute, "status": "lost"})
    assert deliver.enrollments(paid)[0].status == EnrollmentStatus.REVOKED


def test_late_dispute_created_after_close_changes_nothing(deliver, paid):
    dispute = b.dispute(paid)
    deliver("charge.dispute.closed", {**dispute, "status": "won"})
    deliver("charge.dispute.created", dispute)
    assert deliver.enrollments(paid)[0].status == EnrollmentStatus.ACTIVE


def test_two_disputes_keyed_by_id(deliver, paid):
    first, second = b.dispute(paid), b.dispute(paid)
    deliver("charge.dispute.created", first)
    deliver("charge.dispute.created", second)
    deliver("charge.dispute.closed", {**first, "status": "won"})
    assert deliver.enrollments(paid)[0].status == EnrollmentStatus.SUSPENDED  # the second is still open
    deliver("charge.dispute.closed", {**second, "status": "won"})
    assert deliver.enrollments(paid)[0].status == EnrollmentStatus.ACTIVE


def test_won_dispute_never_restores_a_refunded_enrollment(deliver, paid):
    dispute = b.dispute(paid)
    deliver("charge.dispute.created", dispute)
    deliver("charge.refunded", b.charge(paid, amount_refunded=paid.final_amount))
    deliver("charge.dispute.closed", {**dispute, "status": "won"})
    assert deliver.enrollments(paid)[0].status == EnrollmentStatus.REVOKED


def test_dispute_found_by_charge_id_when_intent_missing(deliver, paid):
    deliver("payment_intent.succeeded", b.payment_intent(paid))  # records the charge id
    deliver("charge.dispute.created", b.dispute(paid, payment_intent=None))
    assert deliver.enrollments(paid)[0].status == EnrollmentStatus.SUSPENDED


def test_refunding_a_duplicate_payment_keeps_the_enrollment(deliver, learner, paid_course, ps):
    # Two tabs, both paid: one enrollment, the second payment flagged for a refund.
    first, second = ps, factories.payment_session(learner, paid_course)
    deliver("checkout.session.completed", b.checkout_session(first))
    deliver("checkout.session.completed", b.checkout_session(second))
    assert deliver.reload(second).needs_review
    deliver("charge.refunded", b.charge(second, amount_refunded=second.final_amount))
    assert deliver.reload(second).status.value == "REFUNDED"
    [enrollment] = deliver.enrollments(first)
    assert enrollment.status == EnrollmentStatus.ACTIVE and enrollment.payment_id == first.id
    # Refunding the payment that enrolled does revoke.
    deliver("charge.refunded", b.charge(first, amount_refunded=first.final_amount))
    assert deliver.enrollments(first)[0].status == EnrollmentStatus.REVOKED

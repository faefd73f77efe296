"""Order-proof: every order of completed / expired / success page / refund ends in the right state.

The success page is driven through the same call it makes after retrieving the session from
Stripe (`fulfillment.apply_checkout_session(..., source="success_page")`), committed as the
view does; the other steps are signed events through the endpoint.
"""
from itertools import permutations

import pytest

from extensions import db
from models import (CouponRedemption, EnrollmentStatus, PaymentSessionStatus, RedemptionStatus, StripeEvent,
                    WebhookEventStatus, utcnow)
from services.coupons import redemptions
from services.payments import fulfillment, payment_states
from tests import factories
from tests.webhooks import builders as b


def _fresh_session(paid_course, coupon):
    """A new learner's PENDING checkout with a coupon hold (one per order tried)."""
    return factories.payment_session(factories.user(), paid_course, coupon=coupon, discount=1485)


def _steps(deliver, ps):
    paid = b.checkout_session(ps)
    return {
        "completed": lambda: deliver("checkout.session.completed", paid),
        # Stripe does not expire a paid session, but a stale or misrouted expiry must not undo it.
        "expired": lambda: deliver("checkout.session.expired",
                                   b.checkout_session(ps, status="expired", payment_status="unpaid")),
        "success_page": lambda: (fulfillment.apply_checkout_session(paid, now=utcnow(), source="success_page"),
                                 db.session.commit()),
        "refund": lambda: deliver("charge.refunded", b.charge(ps, amount_refunded=ps.final_amount)),
    }


def _redemptions(ps):
    return db.session.scalar(db.select(db.func.count()).select_from(CouponRedemption)
                             .where(CouponRedemption.payment_session_id == ps.id,
                                    CouponRedemption.status == RedemptionStatus.REDEEMED))


def test_paid_then_refunded_in_any_order(deliver, paid_course, coupon):
    orders = list(permutations(["completed", "expired", "success_page", "refund"]))
    for order in orders:
        ps = _fresh_session(paid_course, coupon)
        steps = _steps(deliver, ps)
        for name in order:
            steps[name]()
        ps = deliver.reload(ps)
        assert ps.status == PaymentSessionStatus.REFUNDED, order
        [enrollment] = deliver.enrollments(ps)  # one enrollment, whoever got there first
        assert enrollment.status == EnrollmentStatus.REVOKED, order
        assert _redemptions(ps) == 1, order  # the discounted price was paid: the use happened
    assert deliver.reload(ps).coupon.current_uses == len(orders)


def test_paid_in_any_order_ends_enrolled(deliver, paid_course, coupon):
    for order in permutations(["completed", "expired", "success_page"]):
        ps = _fresh_session(paid_course, coupon)
        steps = _steps(deliver, ps)
        for name in order:
            steps[name]()
        ps = deliver.reload(ps)
        assert ps.status == PaymentSessionStatus.COMPLETED, order
        [enrollment] = deliver.enrollments(ps)
        assert enrollment.status == EnrollmentStatus.ACTIVE and enrollment.payment_id == ps.id, order
        assert _redemptions(ps) == 1, order


@pytest.mark.parametrize("order", [("expired", "success_page"), ("success_page", "expired")], ids="-".join)
def test_abandoned_session_ends_expired_and_released(deliver, ps, order):
    expired = b.checkout_session(ps, status="expired", payment_status="unpaid", payment_intent=None)
    steps = {"expired": lambda: deliver("checkout.session.expired", expired),
             "success_page": lambda: (fulfillment.apply_checkout_session(expired, now=utcnow(), source="success_page"),
                                      db.session.commit())}
    for name in order:
        steps[name]()
    ps = deliver.reload(ps)
    assert ps.status == PaymentSessionStatus.EXPIRED and deliver.enrollments(ps) == []
    assert deliver.redemption(ps).status == RedemptionStatus.RELEASED and ps.coupon.current_uses == 0


def test_completed_after_a_local_cancel_still_enrolls(deliver, ps):
    now = utcnow()
    payment_states.move(ps, PaymentSessionStatus.CANCELLED, now=now, reason="learner cancelled")
    redemptions.release_for(ps, now, "cancelled")
    db.session.commit()
    deliver("checkout.session.completed", b.checkout_session(ps))
    ps = deliver.reload(ps)
    assert ps.status == PaymentSessionStatus.COMPLETED and len(deliver.enrollments(ps)) == 1
    assert deliver.redemption(ps).status == RedemptionStatus.REDEEMED  # money received: the use happened


def test_refund_and_dispute_events_in_any_order(deliver, paid_course, coupon):
    """Refunds and disputes that outrun the payment's own events are adopted when it is known.

    24 orders of four reports; the charge's cumulative report is interleaved at every position
    by `step % 5` so that it, too, comes before and after each of the others.
    """
    for step, order in enumerate(permutations(["completed", "refund_created", "dispute_created", "dispute_won"])):
        order = list(order)
        order.insert(step % 5, "charge_refunded")
        ps = _fresh_session(paid_course, coupon)
        dispute, refund = b.dispute(ps), b.refund(ps, amount=1000)
        steps = {
            "completed": lambda: deliver("checkout.session.completed", b.checkout_session(ps)),
            "refund_created": lambda: deliver("refund.created", refund),
            "charge_refunded": lambda: deliver("charge.refunded", b.charge(ps, amount_refunded=1000)),
            "dispute_created": lambda: deliver("charge.dispute.created", dispute),
            "dispute_won": lambda: deliver("charge.dispute.closed", {**dispute, "status": "won"}),
        }
        for name in order:
            steps[name]()
        ps = deliver.reload(ps)
        assert ps.status == PaymentSessionStatus.COMPLETED and ps.amount_refunded == 1000, order
        [enrollment] = deliver.enrollments(ps)
        assert enrollment.status == EnrollmentStatus.ACTIVE, order  # partial refund keeps access; dispute won


def test_refund_before_payment_events_is_adopted_and_revokes(deliver, ps):
    evt = deliver("refund.created", b.refund(ps))  # names only the PaymentIntent, not yet known
    assert db.session.get(StripeEvent, evt["id"]).status == WebhookEventStatus.IGNORED
    deliver("checkout.session.completed", b.checkout_session(ps))
    ps = deliver.reload(ps)
    assert ps.status == PaymentSessionStatus.REFUNDED
    assert deliver.enrollments(ps)[0].status == EnrollmentStatus.REVOKED
    row = db.session.get(StripeEvent, evt["id"])
    assert row.status == WebhookEventStatus.PROCESSED and row.payment_session_id == ps.id

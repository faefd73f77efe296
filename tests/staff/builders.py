"""Builders for the staff tests: refunds, redemptions, stripe events, waitlist entries (each commits, as
tests/factories.py's builders do; payment sessions come from factories.payment_session)."""
from datetime import datetime, timezone

from models import (CouponRedemption, PaymentSession, RedemptionStatus, RefundMovement,
                    StripeEvent, WaitlistEntry, WebhookEventStatus)
from tests import factories


def at(day: str, hour: int = 12) -> datetime:
    """'2026-03-02' → that day at `hour`:00 UTC."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=timezone.utc)


def refund(payment_session: PaymentSession, amount: int, when: datetime) -> RefundMovement:
    """A change of the session's refunded total by `amount` at `when`, as refunds.enforce records it."""
    payment_session.amount_refunded += amount
    return _save(RefundMovement(payment_session_id=payment_session.id, currency=payment_session.currency,
                                amount=amount, occurred_at=when))


def redemption(coupon, user, course, *, status: str = "REDEEMED", discount: int = 0, payment_session=None,
               when: datetime | None = None, expires_at: datetime | None = None) -> CouponRedemption:
    when = when or datetime.now(timezone.utc)
    obj = CouponRedemption(coupon_id=coupon.id, user_id=user.id, course_id=course.id,
                           payment_session_id=payment_session.id if payment_session else None,
                           status=RedemptionStatus(status), discount_amount=discount, currency=course.currency,
                           reserved_at=when, redeemed_at=when if status == "REDEEMED" else None, expires_at=expires_at)
    return _save(obj)


def stripe_event(event_id: str = "evt_test_1", type_: str = "checkout.session.completed", *,
                 status: str = "PROCESSED", payment_session_id: str | None = None, payload: dict | None = None,
                 last_error: str | None = None) -> StripeEvent:
    obj = StripeEvent(id=event_id, type=type_, payload=payload or {"id": event_id, "type": type_, "data": {"object": {}}},
                      status=WebhookEventStatus(status), payment_session_id=payment_session_id, attempts=1,
                      last_error=last_error)
    return _save(obj)


def waitlist_entry(user, course) -> WaitlistEntry:
    return _save(WaitlistEntry(user_id=user.id, course_id=course.id))


_save = factories.save


def refund_request(payment_session: PaymentSession, *, status: str = "PENDING", reason: str = "please"):
    """A learner's refund request waiting in the staff queue (issue 19)."""
    from models import RefundRequest, RefundRequestStatus

    obj = RefundRequest(payment_session_id=payment_session.id, user_id=payment_session.user_id,
                        course_id=payment_session.course_id, status=RefundRequestStatus(status), reason=reason,
                        queue_reason="More than 30% of the course is completed.",
                        amount_requested=payment_session.final_amount, currency=payment_session.currency,
                        created_at=datetime.now(timezone.utc))
    return _save(obj)

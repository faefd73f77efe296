"""Builders for the staff tests: payment sessions, refunds, redemptions, stripe events (each commits, as tests/factories.py's builders do)."""
from datetime import datetime, timezone

from models import (CouponRedemption, PaymentSession, PaymentSessionStatus, RedemptionStatus, RefundMovement,
                    StripeEvent, WaitlistEntry, WebhookEventStatus)
from tests import factories


def at(day: str, hour: int = 12) -> datetime:
    """'2026-03-02' → that day at `hour`:00 UTC."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=timezone.utc)


def payment(user, course, *, status: str = "COMPLETED", created: datetime | None = None,
            completed: datetime | None = None, final: int | None = None, discount: int = 0, refunded: int = 0,
            coupon=None, failure_code: str | None = None, needs_review: bool = False, **fields) -> PaymentSession:
    created = created or datetime.now(timezone.utc)
    final = course.price_amount - discount if final is None else final
    if completed is None and status in ("COMPLETED", "REFUNDED"):
        completed = created
    obj = PaymentSession(course_id=course.id, user_id=user.id, status=PaymentSessionStatus(status),
                         amount=course.price_amount, currency=course.currency, discount_amount=discount,
                         final_amount=final, amount_refunded=refunded, coupon_id=coupon.id if coupon else None,
                         coupon_code=coupon.code if coupon else None, created_at=created, completed_at=completed,
                         failure_code=failure_code, needs_review=needs_review, **fields)
    return _save(obj)


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

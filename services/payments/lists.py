"""Read-only lists behind the staff payment and webhook pages: filters, search, paging, timeline.

No rules live here: every state change goes through a service of this package.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from models import AuditEvent, PaymentSession, PaymentSessionStatus, StripeEvent, User, WebhookEventStatus
from services.coupons.redemptions import normalize_code

PER_PAGE = 25


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def payments_query(*, status: str = "", course_id: int | None = None, coupon: str = "", start: str = "",
                   end: str = "", q: str = "", flagged: bool = False) -> sa.Select:
    """The payment sessions matching the staff list's filters and search (unordered)."""
    query = db.select(PaymentSession).options(joinedload(PaymentSession.user), joinedload(PaymentSession.course))
    if status in PaymentSessionStatus.__members__:
        query = query.where(PaymentSession.status == PaymentSessionStatus(status))
    if course_id:
        query = query.where(PaymentSession.course_id == course_id)
    if normalize_code(coupon):
        query = query.where(PaymentSession.coupon_code == normalize_code(coupon))
    if (low := _day(start)) is not None:
        query = query.where(PaymentSession.created_at >= datetime.combine(low, time.min, tzinfo=timezone.utc))
    if (high := _day(end)) is not None:
        query = query.where(PaymentSession.created_at < datetime.combine(high + timedelta(days=1), time.min,
                                                                         tzinfo=timezone.utc))
    if flagged:
        query = query.where(PaymentSession.needs_review.is_(True))
    if q.strip():
        term = q.strip()
        query = query.join(User, User.id == PaymentSession.user_id).where(sa.or_(
            User.email.like(f"%{term.lower()}%"), PaymentSession.id == term,
            PaymentSession.stripe_session_id == term, PaymentSession.payment_intent_id == term,
            PaymentSession.latest_charge_id == term))
    return query


def payments(*, page: int = 1, **filters):
    return db.paginate(payments_query(**filters).order_by(PaymentSession.created_at.desc(), PaymentSession.id),
                       page=page, per_page=PER_PAGE, error_out=False)


def payment(payment_id: str) -> PaymentSession | None:
    return db.session.get(PaymentSession, payment_id)


def timeline(payment: PaymentSession) -> list[dict]:
    """Our audit entries and Stripe's events for one payment session, oldest first."""
    audits = db.session.scalars(db.select(AuditEvent).where(AuditEvent.subject_type == "PaymentSession",
                                                            AuditEvent.subject_id == payment.id))
    events = db.session.scalars(db.select(StripeEvent).where(StripeEvent.payment_session_id == payment.id))
    items = [{"at": a.occurred_at, "kind": "audit", "title": a.action, "who": a.actor_label,
              "detail": a.message, "before": a.before, "after": a.after} for a in audits]
    items += [{"at": e.received_at, "kind": "stripe", "title": e.type, "who": "stripe", "detail": e.last_error,
               "status": e.status.value, "event_id": e.id} for e in events]
    return sorted(items, key=lambda item: item["at"])


def webhook_events(*, status: str = "", type_: str = "", page: int = 1):
    query = db.select(StripeEvent)
    if status in WebhookEventStatus.__members__:
        query = query.where(StripeEvent.status == WebhookEventStatus(status))
    if type_.strip():
        query = query.where(StripeEvent.type.like(f"{type_.strip()}%"))
    return db.paginate(query.order_by(StripeEvent.received_at.desc(), StripeEvent.id), page=page,
                       per_page=50, error_out=False)

"""Read-only lists behind the staff payment and webhook pages: filters, search, paging, timeline.

No rules live here: every state change goes through a service of this package.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from models import (AuditEvent, MembershipInvoice, PaymentSession, PaymentSessionCourse, PaymentSessionStatus, StripeEvent,
                    Subscription, User, WebhookEventStatus)
from services.coupons.redemptions import normalize_code
from services.money import format_money

PER_PAGE = 25


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def payments_query(*, status: str = "", course_id: int | None = None, coupon: str = "", start: str = "",
                   end: str = "", q: str = "", flagged: bool = False) -> sa.Select:
    """The payment sessions matching the staff list's filters and search (unordered)."""
    query = db.select(PaymentSession).options(joinedload(PaymentSession.user), joinedload(PaymentSession.course),
                                              joinedload(PaymentSession.bundle))
    if status in PaymentSessionStatus.__members__:
        query = query.where(PaymentSession.status == PaymentSessionStatus(status))
    if course_id:  # the course's own payments and the products (bundles) that sold it
        query = query.where(sa.or_(PaymentSession.course_id == course_id, PaymentSession.id.in_(
            db.select(PaymentSessionCourse.payment_session_id).where(PaymentSessionCourse.course_id == course_id))))
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


# What each entry of a payment's timeline means, in words. Our audit actions first, then
# Stripe's event types; anything not listed reads as its name with the dots turned to spaces.
EVENT_WORDS = {
    "payment_session.fulfilled": "Paid; enrollment granted",
    "payment_session.completed": "Payment completed",
    "payment_session.processing": "Payment processing (delayed method)",
    "payment_session.refunded": "Refunded in full",
    "payment_session.expired": "Checkout expired",
    "payment_session.cancelled": "Checkout cancelled",
    "payment_session.failed": "Payment failed",
    "payment_session.flagged": "Flagged for review",
    "payment_session.transition_ignored": "Late status change ignored",
    "payment.refund_requested": "Refund requested by staff",
    "payment.refund_recorded": "Refunded total changed",
    "payment.refund_failed": "Refund failed",
    "payment.dispute": "Dispute update",
    "payment.payment_intent.payment_failed": "Card attempt failed",
    "payment.payment_intent.canceled": "Payment canceled",
    "payment.payment_intent.succeeded": "Card attempt succeeded",
    "staff.reconciled": "Reconciled with Stripe by staff",
    "checkout.session.completed": "Stripe: checkout completed",
    "checkout.session.expired": "Stripe: checkout expired",
    "checkout.session.async_payment_succeeded": "Stripe: delayed payment succeeded",
    "checkout.session.async_payment_failed": "Stripe: delayed payment failed",
    "payment_intent.succeeded": "Stripe: payment succeeded",
    "payment_intent.payment_failed": "Stripe: payment attempt failed",
    "payment_intent.canceled": "Stripe: payment canceled",
    "payment_intent.created": "Stripe: payment started",
    "charge.succeeded": "Stripe: card charged",
    "charge.refunded": "Stripe: charge refunded",
    "charge.dispute.created": "Stripe: dispute opened",
    "charge.dispute.updated": "Stripe: dispute updated",
    "charge.dispute.closed": "Stripe: dispute closed",
    "charge.dispute.funds_withdrawn": "Stripe: dispute funds withdrawn",
    "charge.dispute.funds_reinstated": "Stripe: dispute funds reinstated",
    "refund.created": "Stripe: refund created",
    "refund.updated": "Stripe: refund updated",
    "refund.failed": "Stripe: refund failed",
}
# Values in an audit entry's before/after that are amounts in minor units of the payment's currency.
MONEY_KEYS = {"amount", "amount_refunded", "final_amount", "discount_amount", "refunded", "amount_off"}
KEY_WORDS = {"amount_refunded": "refunded", "failure_code": "reason", "failure_message": "message",
             "refund_id": "refund", "final_amount": "charged", "discount_amount": "discount"}


def event_words(name: str) -> str:
    """An audit action or Stripe event type in words ("charge.refunded" → "Stripe: charge refunded")."""
    return EVENT_WORDS.get(name) or name.replace("_", " ").replace(".", " · ").capitalize()


def _shown(key: str, value, currency: str) -> str:
    if value is None or value == "":
        return "—"
    if key in MONEY_KEYS and isinstance(value, int) and not isinstance(value, bool):
        return format_money(value, currency)
    if key == "status" and isinstance(value, str):
        return value.replace("_", " ").lower()
    return str(value)


def changes_in_words(before: dict | None, after: dict | None, currency: str) -> list[dict]:
    """An audit entry's before/after as [{label, before, after}] in words (money formatted)."""
    before, after = before or {}, after or {}
    keys = list(after) + [key for key in before if key not in after]
    return [{"label": KEY_WORDS.get(key, key.replace("_", " ")),
             "before": _shown(key, before[key], currency) if key in before else None,
             "after": _shown(key, after.get(key), currency)} for key in keys]


def shown_status(payment: PaymentSession) -> str:
    """The status staff see: a paid session with part of it refunded is "PARTIALLY_REFUNDED"
    (the session stays COMPLETED until all of it is refunded, payments/refunds.py)."""
    if payment.status == PaymentSessionStatus.COMPLETED and payment.amount_refunded:
        return "PARTIALLY_REFUNDED"
    return payment.status.value


def timeline(payment: PaymentSession) -> list[dict]:
    """Our audit entries and Stripe's events for one payment session, oldest first, in words:
    each has `title`, `name` (the action or event type), `who`, `detail`, `changes` (money
    formatted in the payment's currency) and, for Stripe's events, the inbox `status`."""
    audits = db.session.scalars(db.select(AuditEvent).where(AuditEvent.subject_type == "PaymentSession",
                                                            AuditEvent.subject_id == payment.id))
    events = db.session.scalars(db.select(StripeEvent).where(StripeEvent.payment_session_id == payment.id))
    items = [{"at": a.occurred_at, "kind": "audit", "title": event_words(a.action), "name": a.action,
              "who": a.actor_label, "detail": a.message, "changes": changes_in_words(a.before, a.after, payment.currency)}
             for a in audits]
    items += [{"at": e.received_at, "kind": "stripe", "title": event_words(e.type), "name": e.type, "who": "stripe",
               "detail": e.last_error, "changes": [], "status": e.status.value, "event_id": e.id} for e in events]
    return sorted(items, key=lambda item: item["at"])


def subscription_timeline(sub: Subscription) -> list[dict]:
    """A membership subscription's timeline (issue 16), oldest first, in the same words and shape
    as a payment's: audit entries of the subscription and its invoices, and Stripe's events about
    the subscription, its invoices, their charges and payment intents, and the checkout that began it."""
    bills = list(db.session.scalars(db.select(MembershipInvoice).where(MembershipInvoice.subscription_id == sub.id)))
    invoice_ids = [invoice.id for invoice in bills]
    subjects = [sa.and_(AuditEvent.subject_type == "Subscription", AuditEvent.subject_id == str(sub.id))]
    if invoice_ids:
        subjects.append(sa.and_(AuditEvent.subject_type == "MembershipInvoice", AuditEvent.subject_id.in_(invoice_ids)))
    audits = db.session.scalars(db.select(AuditEvent).where(sa.or_(*subjects)))
    objects = {sub.stripe_subscription_id, *invoice_ids, *(i.charge_id for i in bills if i.charge_id),
               *(i.payment_intent_id for i in bills if i.payment_intent_id)}
    related = [StripeEvent.object_id.in_(objects)]
    if sub.payment_session_id:
        related.append(StripeEvent.payment_session_id == sub.payment_session_id)
    events = db.session.scalars(db.select(StripeEvent).where(sa.or_(*related)))
    items = [{"at": a.occurred_at, "kind": "audit", "title": event_words(a.action), "name": a.action,
              "who": a.actor_label, "detail": a.message, "changes": changes_in_words(a.before, a.after, sub.currency)}
             for a in audits]
    items += [{"at": e.stripe_created_at or e.received_at, "kind": "stripe", "title": event_words(e.type),
               "name": e.type, "who": "stripe", "detail": e.last_error, "changes": [], "status": e.status.value,
               "event_id": e.id} for e in events]
    return sorted(items, key=lambda item: (item["at"], item["name"]))


def webhook_events(*, status: str = "", type_: str = "", page: int = 1):
    query = db.select(StripeEvent)
    if status in WebhookEventStatus.__members__:
        query = query.where(StripeEvent.status == WebhookEventStatus(status))
    if type_.strip():
        query = query.where(StripeEvent.type.like(f"{type_.strip()}%"))
    return db.paginate(query.order_by(StripeEvent.received_at.desc(), StripeEvent.id), page=page,
                       per_page=50, error_out=False)

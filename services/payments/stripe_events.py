"""What each Stripe event does: one table from event type to handler (see docs/webhooks.md).

Every handler is idempotent on the Stripe object, not only on the event id, because Stripe
may send two events for one change (`checkout.session.completed` and
`..._async_payment_succeeded`, `refund.created` and `charge.refunded`) and sends them in
no particular order. Handlers flush, never commit; they answer which payment session the
event touched, or that it is not ours (an event for another integration on the account).
Unknown types are "not handled": stored in the inbox and answered 200.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from extensions import db
from models import PaymentFailure, PaymentSession, StripeEvent, Subscription, WebhookEventStatus
from services import audit
from services.payments import disputes, fulfillment, refunds, subscription_sync
from services.payments.refunds import find_payment_session
from services.payments.stripe_objects import field, object_id


@dataclass(frozen=True)
class Result:
    handled: bool  # False: stored as IGNORED (unknown type, or not one of our payments)
    payment_session_id: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Context:
    event_type: str
    created: int | None
    now: datetime
    event_id: str | None = None
    previous: dict | None = None  # data.previous_attributes of an *.updated event


def handles(event_type: str) -> bool:
    return event_type in HANDLERS


def no_handler_note(event_type: str) -> str:
    return f"no handler for {event_type}"


def dispatch(event: dict, *, now: datetime) -> Result:
    """Apply one verified event (its JSON, as Stripe sent it); flushes, the caller commits."""
    event_type = field(event, "type")
    handler = HANDLERS.get(event_type)
    if handler is None:
        return Result(False, note=no_handler_note(event_type))
    ctx = Context(event_type, field(event, "created"), now, field(event, "id"),
                  field(event["data"], "previous_attributes"))
    applied = handler(event["data"]["object"], ctx)
    if applied is None:
        return Result(False, note="not one of our payments")
    if isinstance(applied, Subscription):  # a membership's subscription (issue 16)
        return Result(True, applied.payment_session_id, note=f"subscription {applied.stripe_subscription_id}")
    return Result(True, applied.id)


def apply_stored(row: StripeEvent, *, now: datetime) -> bool:
    """Apply an event stored earlier (an orphan whose payment is known now); True when handled."""
    handler = HANDLERS.get(row.type)
    ctx = Context(row.type, field(row.payload, "created"), now, row.id,
                  field(row.payload["data"], "previous_attributes"))
    return handler is not None and handler(row.payload["data"]["object"], ctx) is not None


# --- handlers ----------------------------------------------------------------------------

def _checkout_session(session: Any, ctx: Context) -> PaymentSession | None:
    """completed / async_payment_succeeded / expired: apply what the session says now."""
    payment_session = fulfillment.apply_checkout_session(session, now=ctx.now, source="webhook")
    if payment_session is not None and payment_session.membership_id is None:
        _after_fulfillment(payment_session, ctx)
    return payment_session


def _checkout_async_failed(session: Any, ctx: Context) -> PaymentSession | None:
    return fulfillment.fail_async_payment(session, now=ctx.now, source="webhook")


def _after_fulfillment(payment_session: PaymentSession, ctx: Context) -> None:
    # A refund or dispute may have outrun the payment's own events: apply it now.
    adopt_orphans(payment_session, now=ctx.now)
    # A refund or dispute recorded before the payment was fulfilled left its mark on the session
    # (every ledger write sets amount_refunded; an unwon dispute flags it): without one, there is
    # nothing to enforce, and the paid webhook saves the two ledger reads.
    if payment_session.amount_refunded or payment_session.charge_amount_refunded:
        refunds.enforce(payment_session, now=ctx.now)
    if payment_session.needs_review:
        disputes.enforce(payment_session, now=ctx.now)


def _payment_intent(intent: Any, ctx: Context) -> PaymentSession | None:
    """payment_intent.*: recorded on the session for staff and learner; never enrolls.

    Under Checkout a failed attempt is not final (the learner may try another card in the
    same session), so only the reason is kept; the session's state is left to checkout.*.
    """
    payment_session = find_payment_session(payment_intent_id=field(intent, "id"),
                                           metadata=field(intent, "metadata"))
    if payment_session is None:
        return None
    charge_id = object_id(field(intent, "latest_charge"))
    if charge_id and payment_session.payment_intent_id == field(intent, "id"):
        payment_session.latest_charge_id = charge_id
    before = {"failure_code": payment_session.failure_code, "failure_message": payment_session.failure_message}
    if ctx.event_type == "payment_intent.payment_failed":
        error = field(intent, "last_payment_error")
        payment_session.failure_code = (field(error, "decline_code") or field(error, "code") or "payment_failed")[:100]
        payment_session.failure_message = (field(error, "message") or "The payment failed.")[:500]
        _record_failed_attempt(payment_session, ctx)
    elif ctx.event_type == "payment_intent.canceled":
        payment_session.failure_code = (field(intent, "cancellation_reason") or "canceled")[:100]
        payment_session.failure_message = "The payment was canceled before it completed."
    elif ctx.event_type == "payment_intent.succeeded" and payment_session.failure_code != "refund_failed":
        # An earlier declined attempt no longer matters once a later attempt succeeded.
        payment_session.failure_code = None
        payment_session.failure_message = None
    after = {"failure_code": payment_session.failure_code, "failure_message": payment_session.failure_message}
    if after != before:
        audit.record(f"payment.{ctx.event_type}", payment_session, actor_label="stripe",
                     before=before, after=after)
    adopt_orphans(payment_session, now=ctx.now)
    return payment_session


def _record_failed_attempt(payment_session: PaymentSession, ctx: Context) -> None:
    """Every failed attempt, kept by reason for the analytics: the session's failure_code is
    overwritten by a later attempt and cleared by a success. One row per event (a retried
    event adds none)."""
    if ctx.event_id and db.session.scalar(db.select(PaymentFailure.id)
                                          .where(PaymentFailure.stripe_event_id == ctx.event_id)) is not None:
        return
    db.session.add(PaymentFailure(payment_session_id=payment_session.id, stripe_event_id=ctx.event_id,
                                  reason=payment_session.failure_code,
                                  occurred_at=refunds.event_time(ctx.created, ctx.now) or ctx.now))


def _charge(charge: Any, ctx: Context) -> PaymentSession | Subscription | None:
    return (refunds.apply_charge(charge, now=ctx.now, event_created=ctx.created, event_id=ctx.event_id)
            or subscription_sync.apply_charge(charge, event_at=_at(ctx), now=ctx.now))


def _refund(refund: Any, ctx: Context) -> PaymentSession | Subscription | None:
    return (refunds.apply_refund(refund, now=ctx.now, event_created=ctx.created, event_id=ctx.event_id)
            or subscription_sync.apply_refund(refund, event_at=_at(ctx), now=ctx.now))


def _dispute(dispute: Any, ctx: Context) -> PaymentSession | Subscription | None:
    return (disputes.apply_dispute(dispute, now=ctx.now, event_id=ctx.event_id)
            or subscription_sync.apply_dispute(dispute, event_at=_at(ctx), now=ctx.now))


# --- memberships (issue 16): Stripe Billing ------------------------------------------------

def _at(ctx: Context) -> datetime | None:
    return subscription_sync.stripe_time(ctx.created)


def _subscription(subscription: Any, ctx: Context) -> Subscription | None:
    return subscription_sync.apply_subscription(subscription, event_at=_at(ctx), event_id=ctx.event_id, now=ctx.now,
                                                previous=ctx.previous)


def _trial_will_end(subscription: Any, ctx: Context) -> Subscription | None:
    return subscription_sync.trial_will_end(subscription, event_at=_at(ctx), event_id=ctx.event_id, now=ctx.now,
                                            previous=ctx.previous)


def _invoice(invoice: Any, ctx: Context) -> Subscription | None:
    return subscription_sync.apply_invoice(invoice, event_type=ctx.event_type, event_at=_at(ctx),
                                           event_id=ctx.event_id, now=ctx.now)


def _invoice_payment(payment: Any, ctx: Context) -> Subscription | None:
    return subscription_sync.apply_invoice_payment(payment, event_at=_at(ctx), now=ctx.now)


def _invoice_charge(charge: Any, ctx: Context) -> Subscription | None:
    """charge.succeeded: only an invoice payment's charge id is kept (Checkout's own are not needed)."""
    return subscription_sync.apply_charge(charge, event_at=_at(ctx), now=ctx.now)


def adopt_orphans(payment_session: PaymentSession, *, now: datetime, window: timedelta = timedelta(days=30)) -> int:
    """Apply refund/dispute events that arrived before we knew their PaymentIntent.

    Refunds and disputes name only the PaymentIntent and charge, which we learn from the
    payment's own events. One that outran them was stored as IGNORED; once the session's
    PaymentIntent is known, those stored events are applied, oldest first, and marked
    PROCESSED. Returns how many were adopted.
    """
    intent_id = payment_session.payment_intent_id
    if not intent_id:
        return 0
    referenced = StripeEvent.payload["data"]["object"]["payment_intent"].as_string()
    rows = db.session.scalars(
        db.select(StripeEvent)
        .where(StripeEvent.type.in_(ORPHAN_TYPES), StripeEvent.status == WebhookEventStatus.IGNORED,
               StripeEvent.received_at >= now - window, referenced == intent_id)
        .order_by(StripeEvent.stripe_created_at, StripeEvent.received_at)
        .with_for_update().execution_options(populate_existing=True)
    ).all()
    for row in rows:
        ctx = Context(row.type, field(row.payload, "created"), now, row.id)
        if HANDLERS[row.type](row.payload["data"]["object"], ctx) is not None:
            row.status = WebhookEventStatus.PROCESSED
            row.payment_session_id = payment_session.id
            row.processed_at = now
            row.last_error = "applied once its payment was known"
    return len(rows)


HANDLERS: dict[str, Callable[[Any, Context], PaymentSession | Subscription | None]] = {
    "checkout.session.completed": _checkout_session,
    "checkout.session.async_payment_succeeded": _checkout_session,
    "checkout.session.expired": _checkout_session,
    "checkout.session.async_payment_failed": _checkout_async_failed,
    "payment_intent.succeeded": _payment_intent,
    "payment_intent.payment_failed": _payment_intent,
    "payment_intent.canceled": _payment_intent,
    "charge.refunded": _charge,
    "refund.created": _refund,
    "refund.updated": _refund,
    "refund.failed": _refund,
    "charge.dispute.created": _dispute,
    "charge.dispute.updated": _dispute,
    "charge.dispute.closed": _dispute,
    "charge.succeeded": _invoice_charge,
    "customer.subscription.created": _subscription,
    "customer.subscription.updated": _subscription,
    "customer.subscription.deleted": _subscription,
    "customer.subscription.paused": _subscription,
    "customer.subscription.resumed": _subscription,
    "customer.subscription.trial_will_end": _trial_will_end,
    "invoice.created": _invoice,
    "invoice.finalized": _invoice,
    "invoice.updated": _invoice,
    "invoice.paid": _invoice,
    "invoice.payment_succeeded": _invoice,
    "invoice.payment_failed": _invoice,
    "invoice.voided": _invoice,
    "invoice.marked_uncollectible": _invoice,
    "invoice_payment.paid": _invoice_payment,
}

# Events about a payment that name it only by PaymentIntent/charge (see adopt_orphans).
ORPHAN_TYPES = ("charge.refunded", "refund.created", "refund.updated", "refund.failed",
                "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed")

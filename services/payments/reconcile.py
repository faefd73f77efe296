"""Catching up with Stripe when webhooks did not (cron: `flask payments reconcile|expire-stale`).

Each unit of work is one payment session (or one event), claimed with
`SELECT ... FOR UPDATE SKIP LOCKED`, so every instance may run the commands at once: a
session held by one instance is skipped by the others, and the effects themselves are the
same idempotent functions the webhook uses. The command commits after each unit, so a
failure costs one session, not the batch. On SQLite (one writer at a time) SKIP LOCKED is
not needed and not emitted.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterator

from extensions import db
import sqlalchemy as sa

from models import OPEN_STATUSES, PaymentSession, PaymentSessionStatus, Subscription, SubscriptionStatus as St
from services import safe_json
from services.coupons import redemptions
from services.payments import (checkout, disputes, fulfillment, payment_states, refunds, stripe_events, stripe_gateway,
                               subscription_sync)


def stale_candidates(*, older_than: timedelta, now: datetime, limit: int = 200) -> list[str]:
    """PENDING/PROCESSING sessions created before now - older_than, oldest first."""
    return list(db.session.scalars(
        db.select(PaymentSession.id)
        .where(PaymentSession.status.in_(OPEN_STATUSES), PaymentSession.created_at < now - older_than)
        .order_by(PaymentSession.created_at).limit(limit)
    ))


def reconcile_one(payment_session_id: str, *, now: datetime) -> PaymentSessionStatus | None:
    """Ask Stripe about one open session and apply the answer; None when skipped."""
    payment_session = _claim(payment_session_id, OPEN_STATUSES)
    if payment_session is None or not payment_session.stripe_session_id:
        return None
    session = stripe_gateway.retrieve_checkout_session(payment_session.stripe_session_id)
    return _apply(session, now=now, fallback=payment_session)


def overdue_candidates(*, now: datetime, limit: int = 200) -> list[str]:
    """PENDING sessions past their expiry, oldest first."""
    return list(db.session.scalars(
        db.select(PaymentSession.id)
        .where(PaymentSession.status == PaymentSessionStatus.PENDING,
               PaymentSession.expires_at.is_not(None), PaymentSession.expires_at < now)
        .order_by(PaymentSession.expires_at).limit(limit)
    ))


def expire_one(payment_session_id: str, *, now: datetime) -> PaymentSessionStatus | None:
    """Expire an overdue session on Stripe, then here, releasing its coupon hold.

    If Stripe refuses because the session is no longer open, the learner paid (or it
    expired) meanwhile: whatever Stripe says is applied, so a paid session is fulfilled.
    """
    payment_session = _claim(payment_session_id, (PaymentSessionStatus.PENDING,))
    if payment_session is None:
        return None
    if not payment_session.stripe_session_id:  # Stripe was never reached for this attempt
        payment_states.move(payment_session, PaymentSessionStatus.EXPIRED, now=now,
                            reason="expired before a Stripe session was created", actor_label="system")
        redemptions.release_for(payment_session, now, "expired")
        return payment_session.status
    session, _ = checkout.expire_on_stripe(payment_session.stripe_session_id)
    return _apply(session, now=now, fallback=payment_session)


def undelivered_events(*, since: datetime | None) -> Iterator[dict]:
    """Events Stripe failed to deliver to us (Stripe's JSON, storable), oldest first, for the inbox."""
    created_after = int(since.timestamp()) if since else None
    events = stripe_gateway.list_undelivered_events(created_after)
    for event in reversed(events):  # Stripe lists newest first
        yield safe_json.storable(event)


# --- memberships (issue 16) ---------------------------------------------------------------

def stale_subscriptions(*, now: datetime, limit: int = 200, grace: timedelta = timedelta(hours=1)) -> list[int]:
    """Subscriptions whose state looks stale, oldest period end first: a live one (trialing,
    active, past due) whose period ended more than `grace` ago without a renewal reaching us;
    one still INCOMPLETE after a day; one known only from an invoice or a checkout (no
    snapshot of its own yet) for more than `grace`."""
    live = (St.TRIALING, St.ACTIVE, St.PAST_DUE)
    return list(db.session.scalars(
        db.select(Subscription.id).where(sa.or_(
            sa.and_(Subscription.status.in_(live), Subscription.current_period_end < now - grace),
            sa.and_(Subscription.status == St.INCOMPLETE, Subscription.created_at < now - timedelta(days=1)),
            sa.and_(Subscription.stripe_event_at.is_(None), Subscription.created_at < now - grace)))
        .order_by(Subscription.current_period_end, Subscription.id).limit(limit)))


def reconcile_subscription(subscription_id: int, *, now: datetime) -> St | None:
    """Ask Stripe for one subscription and apply it (a retrieval is Stripe's state now); None when
    another instance holds it."""
    subscription = db.session.scalar(
        db.select(Subscription).where(Subscription.id == subscription_id)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True))
    if subscription is None:
        return None
    stripe_subscription = stripe_gateway.retrieve_subscription(subscription.stripe_subscription_id)
    applied = subscription_sync.apply_subscription(stripe_subscription, event_at=None, event_id=None, now=now,
                                                   source="reconcile")
    return applied.status if applied is not None else None


def _claim(payment_session_id: str, statuses) -> PaymentSession | None:
    return db.session.scalar(
        db.select(PaymentSession)
        .where(PaymentSession.id == payment_session_id, PaymentSession.status.in_(statuses))
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)
    )


def _apply(session, *, now: datetime, fallback: PaymentSession) -> PaymentSessionStatus:
    payment_session = fulfillment.apply_checkout_session(session, now=now, source="reconcile") or fallback
    stripe_events.adopt_orphans(payment_session, now=now)
    refunds.enforce(payment_session, now=now)
    disputes.enforce(payment_session, now=now)
    return payment_session.status

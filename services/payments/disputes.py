"""Disputes (chargebacks): suspend access while one is open, restore or revoke when it closes.

A payment may see several disputes, and their events may arrive in any order, so each is
kept as a row of the `disputes` table keyed by Stripe's dispute id (status, amount, the event
that last changed it), and access follows from all of them together, not from the last event.
Every status Stripe documents maps to an effect (`EFFECTS`, the table in docs/webhooks.md):

- any dispute lost → enrollment revoked;
- otherwise any dispute open (an inquiry, a dispute, an appeal) → enrollment suspended;
- otherwise (all won, warning_closed or prevented) → a suspended enrollment is restored;
- a status we do not know → the enrollment keeps its current state and the payment is
  flagged for staff review (a new Stripe status must never restore or revoke by accident).

A closed status never goes back to an open one, except to an appeal (which follows a close),
so a late `charge.dispute.created` after `charge.dispute.closed` changes nothing. A revoked
enrollment (a refund, say) is never restored by a won dispute.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from extensions import db
from models import PAID_STATUSES, Dispute, EnrollmentStatus, PaymentSession
from services import audit, observability
from services.learning import enrollments
from services.payments.refunds import enrollments_paid_by, find_payment_session
from services.payments.stripe_objects import field, object_id
from services.referrals import rewards as referral_rewards

OPEN, WON, LOST = "open", "won", "lost"
# Stripe's dispute statuses (API 2026-10-28) and what each means for access.
EFFECTS = {
    "warning_needs_response": OPEN,  # an inquiry: no funds withdrawn yet, still a claim
    "warning_under_review": OPEN,
    "needs_response": OPEN,
    "under_review": OPEN,
    "appeal_needs_response": OPEN,
    "appeal_under_review": OPEN,
    "warning_closed": WON,  # the inquiry closed without becoming a dispute
    "won": WON,
    "prevented": WON,  # stopped before it became a dispute (e.g. by a network alert refund)
    "lost": LOST,
}
CLOSED = frozenset(status for status, effect in EFFECTS.items() if effect != OPEN)
APPEALS = frozenset({"appeal_needs_response", "appeal_under_review"})


def apply_dispute(dispute: Any, *, now: datetime, event_id: str | None = None) -> PaymentSession | None:
    """`charge.dispute.*`: record the dispute's status by its id and apply access."""
    charge = field(dispute, "charge")
    payment_session = find_payment_session(
        payment_intent_id=object_id(field(dispute, "payment_intent")) or object_id(field(charge, "payment_intent")),
        charge_id=object_id(charge), metadata=field(charge, "metadata"))
    if payment_session is None:
        return None
    dispute_id = field(dispute, "id")
    if not isinstance(dispute_id, str) or not dispute_id or len(dispute_id) > 255:
        return None
    status = str(field(dispute, "status") or "needs_response")[:40]
    row = db.session.get(Dispute, dispute_id, populate_existing=True)
    previous = row.status if row is not None else None
    if previous in CLOSED and status not in CLOSED and status not in APPEALS:
        status = previous  # a stale "open" report after the close
    if row is None:
        row = Dispute(id=dispute_id, payment_session_id=payment_session.id, status=status,
                      currency=payment_session.currency, created_at=now)
        db.session.add(row)
    amount = field(dispute, "amount")
    if isinstance(amount, int) and not isinstance(amount, bool) and amount >= 0:
        row.amount = amount
    reason = field(dispute, "reason")
    row.reason = str(reason)[:100] if reason else row.reason
    if previous != status:
        row.status = status
        row.stripe_event_id = event_id or row.stripe_event_id
        row.updated_at = now
        known = status in EFFECTS
        message = (f"Dispute {dispute_id} is {status} (reason: {reason or 'unknown'})."
                   + ("" if known else " Unknown dispute status: access left as it was; check it on Stripe."))
        audit.record("payment.dispute", payment_session, actor_label="stripe", message=message[:500],
                     before={"status": previous}, after={"dispute_id": dispute_id, "status": status})
        observability.after_commit("payment.dispute", payment_session_id=payment_session.id,
                                   user_id=payment_session.user_id, dispute_id=dispute_id, dispute_status=status)
        if EFFECTS.get(status) != WON:
            payment_session.needs_review = True
            payment_session.review_reason = message[:500]
    db.session.flush()
    enforce(payment_session, now=now)
    return payment_session


def disputes_of(payment_session: PaymentSession) -> list[Dispute]:
    return list(db.session.scalars(db.select(Dispute).where(Dispute.payment_session_id == payment_session.id)
                                   .order_by(Dispute.created_at, Dispute.id)))


def enforce(payment_session: PaymentSession, *, now: datetime) -> None:
    """Bring the enrollment in line with the session's disputes (idempotent)."""
    if payment_session.status not in PAID_STATUSES:
        return
    statuses = set(db.session.scalars(db.select(Dispute.status)
                                      .where(Dispute.payment_session_id == payment_session.id)))
    if not statuses:
        return
    if payment_session.referrer_id is not None:  # a dispute before the referrer's reward is earned cancels it
        referral_rewards.cancel(payment_session.id, "the purchase was disputed", occurred_at=now, now=now)
    effects = {EFFECTS.get(status) for status in statuses}
    for enrollment in enrollments_paid_by(payment_session):  # a bundle's: every course it enrolled
        _apply(enrollment, effects, now)


def _apply(enrollment, effects: set, now: datetime) -> None:
    if LOST in effects:
        if enrollment.status != EnrollmentStatus.REVOKED:
            enrollments.revoke(enrollment, "payment dispute lost", now)
    elif None in effects:
        return  # a status we do not know: keep the current state (flagged for review)
    elif OPEN in effects:
        if enrollment.status in (EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED):
            enrollments.suspend(enrollment, "payment dispute open", now)
    elif enrollment.status == EnrollmentStatus.SUSPENDED:
        enrollments.restore(enrollment, now)

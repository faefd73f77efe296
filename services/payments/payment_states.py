"""The payment session state machine: one table of allowed transitions, one function to move.

PENDING → PROCESSING (delayed method) → COMPLETED → REFUNDED; PENDING → CANCELLED | EXPIRED |
FAILED. Stripe events arrive in any order and more than once, so a transition that does not
apply is recorded and ignored, never an error. A session that was closed locally (cancelled,
expired, failed) may still become COMPLETED: Stripe's word that it was paid wins, so a paid
session always ends in an enrollment (ARCHITECTURE.md #3). Nothing moves a paid session back.
"""
from __future__ import annotations

from datetime import datetime

from models import PaymentSession, PaymentSessionStatus as S
from services import audit, observability

TRANSITIONS: dict[S, set[S]] = {
    S.PENDING: {S.PROCESSING, S.COMPLETED, S.CANCELLED, S.EXPIRED, S.FAILED},
    S.PROCESSING: {S.COMPLETED, S.FAILED, S.EXPIRED},
    S.CANCELLED: {S.COMPLETED, S.PROCESSING},
    S.EXPIRED: {S.COMPLETED},
    S.FAILED: {S.COMPLETED},
    S.COMPLETED: {S.REFUNDED},
    S.REFUNDED: set(),
}

UNPAID_ENDINGS = frozenset({S.CANCELLED, S.EXPIRED, S.FAILED})


def can_move(current: S, new: S) -> bool:
    return new in TRANSITIONS.get(current, set())


def move(payment_session: PaymentSession, new_status: S, *, now: datetime, reason: str,
         actor_label: str = "system") -> bool:
    """Move to `new_status` if the table allows it; else leave it, note why, and return False."""
    current = payment_session.status
    if current == new_status:
        return False
    if not can_move(current, new_status):
        audit.record("payment_session.transition_ignored", payment_session, actor_label=actor_label,
                     message=f"{current.value} → {new_status.value} does not apply ({reason})"[:500])
        return False
    payment_session.status = new_status
    payment_session.updated_at = now
    if new_status == S.COMPLETED:
        payment_session.completed_at = payment_session.completed_at or now
    audit.record(f"payment_session.{new_status.value.lower()}", payment_session, actor_label=actor_label,
                 message=reason[:500], before={"status": current.value}, after={"status": new_status.value})
    _report(payment_session, new_status, actor_label)
    return True


def _report(payment_session: PaymentSession, new_status: S, source: str) -> None:
    """The operators' line and metric for a session that got paid or closed unpaid (after commit)."""
    ids = {"payment_session_id": payment_session.id, "user_id": payment_session.user_id}
    if new_status == S.COMPLETED:
        observability.after_commit("payment.completed", **ids, course_id=payment_session.course_id,
                                   amount=payment_session.final_amount, currency=payment_session.currency,
                                   source=source)
    elif new_status in UNPAID_ENDINGS:
        reason = new_status.value.lower()
        if new_status == S.FAILED and payment_session.failure_code:
            reason += ":" + payment_session.failure_code
        observability.after_commit("checkout.closed_unpaid", **ids, reason=reason)

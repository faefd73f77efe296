"""Disputes (chargebacks): suspend access while one is open, restore or revoke when it closes.

A payment may see several disputes, and their events may arrive in any order, so each is
kept by its dispute id on the payment session (`extra["disputes"]`: id → status) and access
follows from all of them together, not from the last event:

- any dispute lost → enrollment revoked;
- otherwise any dispute open → enrollment suspended;
- otherwise (all won or warning_closed) → a suspended enrollment is restored.

A closed status never goes back to open, so a late `charge.dispute.created` after
`charge.dispute.closed` changes nothing. A revoked enrollment (a refund, say) is never
restored by a won dispute.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from models import PAID_STATUSES, EnrollmentStatus, PaymentSession
from services import audit, observability
from services.learning import enrollments
from services.payments.refunds import enrollment_for, find_payment_session
from services.payments.stripe_objects import field, object_id

CLOSED_WON = {"won", "warning_closed"}
CLOSED_LOST = {"lost"}
CLOSED = CLOSED_WON | CLOSED_LOST


def apply_dispute(dispute: Any, *, now: datetime) -> PaymentSession | None:
    """`charge.dispute.created/updated/closed`: record the dispute's status and apply access."""
    charge = field(dispute, "charge")
    payment_session = find_payment_session(
        payment_intent_id=object_id(field(dispute, "payment_intent")) or object_id(field(charge, "payment_intent")),
        charge_id=object_id(charge), metadata=field(charge, "metadata"))
    if payment_session is None:
        return None
    dispute_id, status = field(dispute, "id"), field(dispute, "status") or "needs_response"
    ledger = dict((payment_session.extra or {}).get("disputes") or {})
    previous = ledger.get(dispute_id)
    if previous in CLOSED and status not in CLOSED:
        status = previous  # a stale "open" report after the close
    if previous != status:
        ledger[dispute_id] = status
        payment_session.extra = {**(payment_session.extra or {}), "disputes": ledger}
        message = f"Dispute {dispute_id} is {status} (reason: {field(dispute, 'reason') or 'unknown'})."
        audit.record("payment.dispute", payment_session, actor_label="stripe", message=message[:500],
                     before={"status": previous}, after={"dispute_id": dispute_id, "status": status})
        observability.after_commit("payment.dispute", payment_session_id=payment_session.id,
                                   user_id=payment_session.user_id, dispute_id=dispute_id, dispute_status=status)
        if status not in CLOSED_WON:
            payment_session.needs_review = True
            payment_session.review_reason = message[:500]
    enforce(payment_session, now=now)
    return payment_session


def enforce(payment_session: PaymentSession, *, now: datetime) -> None:
    """Bring the enrollment in line with the session's disputes (idempotent)."""
    ledger = (payment_session.extra or {}).get("disputes") or {}
    if not ledger or payment_session.status not in PAID_STATUSES:
        return
    enrollment = enrollment_for(payment_session)
    if enrollment is None:
        return
    statuses = set(ledger.values())
    if statuses & CLOSED_LOST:
        if enrollment.status != EnrollmentStatus.REVOKED:
            enrollments.revoke(enrollment, "payment dispute lost", now)
    elif statuses - CLOSED:
        if enrollment.status in (EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED):
            enrollments.suspend(enrollment, "payment dispute open", now)
    elif enrollment.status == EnrollmentStatus.SUSPENDED:
        enrollments.restore(enrollment, now)

"""Refunds: what staff may refund and asking Stripe for it, and applying what Stripe reports.

Stripe reports a refund twice over: `refund.created/updated/failed` about the refund itself
and `charge.refunded` with the charge's cumulative `amount_refunded`; the staff request gets
Stripe's answer at once. All of them write one typed ledger, the `refunds` table keyed by
Stripe's refund id (amount, status, the event that last changed it), plus the newest
cumulative report on the payment session, and access follows from the ledger, never from
whichever event came last. Every writer holds the payment session's row lock (on SQLite the
write lock, BEGIN IMMEDIATE), so applying the same refund twice, or its events in any order
and at the same time, gives one row and the same result (each change of the refunded total
is also written as a RefundMovement: analytics count refunds on the day they happen):

- refunded amount = max(sum of refunds not failed/canceled, newest charge cumulative minus
  the refunds known to have failed), capped at what was paid;
- all of it refunded → payment session REFUNDED, enrollment payment status REFUNDED;
- part of it → amount recorded, enrollment PARTIALLY_REFUNDED;
- access after a refund (full or partial) is decided by `revokes_access` below, the one
  rule for staff refunds, learners' self-service refunds and refunds made on Stripe's side;
- a failed refund → the payment session is flagged for staff review with the reason.

A refund that arrives before the payment is fulfilled is recorded; `enforce` applies it the
moment fulfillment happens (the checkout event handler and reconcile call it).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from extensions import db
from models import (PAID_STATUSES, Enrollment, EnrollmentStatus, PaymentSession, PaymentSessionStatus, PaymentStatus,
                    Refund, RefundMovement, User)
from services import audit, notifications, observability, products
from services.learning import enrollments
from services.payments import payment_states, refund_policy, stripe_gateway
from services.errors import Conflict, DomainError
from services.money import format_money
from services.payments.stripe_objects import field, object_id
from services.referrals import rewards as referral_rewards

# Refund statuses that mean the money is not (or no longer) on its way back.
DEAD = {"failed", "canceled"}
# Later statuses win over earlier ones, so a late refund.created cannot undo a refund.failed.
_RANK = {"pending": 0, "requires_action": 0, "succeeded": 1, "failed": 2, "canceled": 2}
STRIPE_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}
METADATA_KEYS = ("payment_session_id", "payment_session")


# --- finding the payment session a Stripe object belongs to --------------------------

def find_payment_session(*, payment_intent_id: str | None = None, charge_id: str | None = None,
                         metadata: Any = None) -> PaymentSession | None:
    """The payment session behind a charge, refund, dispute or intent, row-locked.

    Tried in order: the PaymentIntent id (stored at fulfillment), the charge id, then our
    own payment session id in the object's metadata (checkout puts it on the PaymentIntent,
    and Stripe copies it onto the charge), which also covers events that outrun fulfillment.
    """
    conditions = []
    if payment_intent_id:
        conditions.append(PaymentSession.payment_intent_id == payment_intent_id)
    if charge_id:
        conditions.append(PaymentSession.latest_charge_id == charge_id)
    for key in METADATA_KEYS:
        value = field(metadata, key)
        if isinstance(value, str) and value:
            conditions.append(PaymentSession.id == value)
    for condition in conditions:
        found = db.session.scalar(db.select(PaymentSession).where(condition)
                                  .with_for_update().execution_options(populate_existing=True))
        if found is not None:
            _remember_ids(found, payment_intent_id, charge_id)
            return found
    return None


def _remember_ids(payment_session: PaymentSession, payment_intent_id: str | None, charge_id: str | None) -> None:
    if payment_intent_id and not payment_session.payment_intent_id:
        taken = db.session.scalar(db.select(PaymentSession.id)
                                  .where(PaymentSession.payment_intent_id == payment_intent_id))
        if taken is None:
            payment_session.payment_intent_id = payment_intent_id
    if charge_id and not payment_session.latest_charge_id and payment_session.payment_intent_id == payment_intent_id:
        payment_session.latest_charge_id = charge_id


def enrollment_for(payment_session: PaymentSession) -> Enrollment | None:
    """The enrollment this payment paid for (never one paid for by another session)."""
    if payment_session.enrollment_id:
        enrollment = db.session.get(Enrollment, payment_session.enrollment_id)
        if enrollment is not None and enrollment.payment_id in (None, payment_session.id):
            return enrollment
    return db.session.scalar(db.select(Enrollment).where(Enrollment.payment_id == payment_session.id))


def enrollments_paid_by(payment_session: PaymentSession) -> list[Enrollment]:
    """Every enrollment the payment paid for: one for a course, one per course for a product
    (services.products.enrollments_of); what refunds and disputes act on."""
    if products.is_multi_course(payment_session):
        return products.enrollments_of(payment_session)
    enrollment = enrollment_for(payment_session)
    return [enrollment] if enrollment is not None else []


# --- staff: asking Stripe for a refund -----------------------------------------------

def request_refund(payment_session: PaymentSession, *, amount: int | None, reason: str,
                   actor: User | None, now: datetime, request_key: str | None = None):
    """Refund all (amount=None) or part of a paid session through Stripe; returns Stripe's refund.

    The idempotency key is `request_key` when the caller has one (a token rendered into the
    staff form: the same form submitted twice refunds once). Otherwise it names the session,
    what is already refunded, how many refunds failed and the amount: two requests racing
    on the same state refund once, while a deliberate second partial refund, or a new try
    after a failed refund, gets a key of its own. The refund is recorded at once; the
    webhook confirms it.
    """
    remaining = check_refund(payment_session, amount)
    reason = (reason or "").strip()[:300]
    failed = db.session.scalar(db.select(sa.func.count()).select_from(Refund).where(
        Refund.payment_session_id == payment_session.id, Refund.status.in_(DEAD)))
    key = (f"refund-{payment_session.id}-{request_key[:100]}" if request_key else
           f"refund-{payment_session.id}-{payment_session.final_amount - remaining}-{failed}-{amount or 'all'}")
    metadata = {"payment_session_id": payment_session.id, "reason": reason[:500]}
    if actor is not None:
        metadata["requested_by"] = str(actor.id)
    try:
        refund = stripe_gateway.create_refund(payment_session.payment_intent_id, amount,
                                              reason if reason in STRIPE_REASONS else "requested_by_customer",
                                              idempotency_key=key, metadata=metadata)
    except stripe_gateway.StripeGatewayError as error:
        status = 503 if isinstance(error, stripe_gateway.StripeUnavailable) else 409
        raise DomainError(error.user_message, code=error.code.upper(), status=status) from error
    # Locked only now, after Stripe answered: a concurrent request must not wait on us before
    # computing its key (then both share it and Stripe refunds once), but the ledger write
    # must not lose the other's refund. (On SQLite the whole request already holds the write
    # lock from its first read, BEGIN IMMEDIATE: a second request waits, then sees this refund
    # and computes a key of its own, or finds nothing left to refund.)
    db.session.refresh(payment_session, with_for_update=True)
    audit.record("payment.refund_requested", payment_session, actor=actor,
                 message=(f"Refund of {format_money(amount if amount is not None else remaining, payment_session.currency)} "
                          f"requested: {reason or 'no reason'}"),
                 after={"refund_id": field(refund, "id"), "amount": field(refund, "amount"),
                        "status": field(refund, "status")})
    apply_refund(refund, now=now, payment_session=payment_session)
    return refund


def check_refund(payment_session: PaymentSession, amount: int | None) -> int:
    """Raise the DomainError a refund of `amount` (None: all) would meet; else what is left to
    refund. `request_refund` checks this first; staff see it before being asked to confirm."""
    if payment_session.status not in PAID_STATUSES or not payment_session.payment_intent_id:
        raise Conflict("Only a paid payment can be refunded.", code="NOT_REFUNDABLE")
    remaining = refundable_amount(payment_session)
    if remaining <= 0:
        raise Conflict("This payment has already been fully refunded.", code="ALREADY_REFUNDED")
    if amount is not None:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise DomainError("The refund amount must be a positive whole number of minor units.",
                              code="INVALID_AMOUNT", field="amount")
        if amount > remaining:
            raise DomainError("The refund is larger than what is left to refund.",
                              code="REFUND_TOO_LARGE", field="amount")
    return remaining


def describe_refund(payment_session: PaymentSession, amount: int | None) -> str:
    """What a staff refund of `amount` (None: all that is left) will do, in words, for the
    confirmation staff answer before it is sent: "Refund $29.00 of $129.00 to a@b.c; access is kept."
    The access part is `revokes_access`, the rule `enforce` applies (the course's refund terms,
    and PARTIAL_REFUND_KEEPS_ACCESS for a partial refund)."""
    remaining = refundable_amount(payment_session)
    amount = remaining if amount is None else amount
    full = amount >= remaining
    access = "access to the course is removed" if revokes_access(payment_session, full=full) else "access is kept"
    currency = payment_session.currency
    return (f"Refund {format_money(amount, currency)} of {format_money(payment_session.final_amount, currency)} "
            f"to {payment_session.user.email}; {access}.")


def refundable_amount(payment_session: PaymentSession, *, refunded: int | None = None) -> int:
    """What may still be refunded: what was paid less what is refunded; 0 for an unpaid session.

    `refunded` defaults to the ledger's total (one statement); a page listing many purchases
    passes the stored `amount_refunded` instead (request_refund checks the ledger again).
    """
    if payment_session.status not in PAID_STATUSES or not payment_session.payment_intent_id:
        return 0
    if refunded is None:
        refunded = refunded_amount(payment_session)
    return max(payment_session.final_amount - refunded, 0)


# --- applying Stripe's reports -------------------------------------------------------

def apply_charge(charge: Any, *, now: datetime, event_created: int | None = None,
                 event_id: str | None = None) -> PaymentSession | None:
    """`charge.refunded` (and other charge events): record the cumulative refunded amount."""
    payment_session = find_payment_session(payment_intent_id=object_id(field(charge, "payment_intent")),
                                           charge_id=field(charge, "id"), metadata=field(charge, "metadata"))
    if payment_session is None:
        return None
    for refund in field(field(charge, "refunds"), "data") or []:  # only when Stripe expanded them
        _merge_refund(payment_session, refund, now=now, event_id=event_id)
    cumulative = field(charge, "amount_refunded")
    if isinstance(cumulative, int) and not isinstance(cumulative, bool) and cumulative >= 0:
        reported_at = event_time(event_created, now) or now
        seen_at = payment_session.charge_refunds_reported_at
        # The newest report wins; between two of the same second, the larger (refunds add up).
        if seen_at is None or reported_at > seen_at or (
                reported_at == seen_at and cumulative >= payment_session.charge_amount_refunded):
            payment_session.charge_amount_refunded = cumulative
            payment_session.charge_refunds_reported_at = reported_at
    enforce(payment_session, now=now, occurred_at=event_time(event_created, now))
    return payment_session


def apply_refund(refund: Any, *, now: datetime, payment_session: PaymentSession | None = None,
                 event_created: int | None = None, event_id: str | None = None) -> PaymentSession | None:
    """`refund.created/updated/failed`: record the refund by its id; a failure goes to staff."""
    if payment_session is None:
        payment_session = find_payment_session(payment_intent_id=object_id(field(refund, "payment_intent")),
                                               charge_id=object_id(field(refund, "charge")),
                                               metadata=field(refund, "metadata"))
    if payment_session is None:
        return None
    row, was_dead = _merge_refund(payment_session, refund, now=now, event_id=event_id)
    if row is not None and row.status in DEAD and not was_dead:
        reason = row.failure_reason or row.status
        message = f"Refund {row.id} of {row.amount} {payment_session.currency} failed ({reason})."
        payment_session.failure_code = "refund_failed"
        payment_session.failure_message = message[:500]
        payment_session.needs_review = True
        payment_session.review_reason = message[:500]
        audit.record("payment.refund_failed", payment_session, actor_label="stripe", message=message[:500],
                     after={"refund_id": row.id, "reason": reason})
    enforce(payment_session, now=now, occurred_at=event_time(event_created, now))
    return payment_session


def refunded_amount(payment_session: PaymentSession) -> int:
    """What has been (or is being) refunded, from the ledger; 0..final_amount."""
    live, dead = db.session.execute(
        db.select(sa.func.coalesce(sa.func.sum(sa.case((Refund.status.in_(DEAD), 0), else_=Refund.amount)), 0),
                  sa.func.coalesce(sa.func.sum(sa.case((Refund.status.in_(DEAD), Refund.amount), else_=0)), 0))
        .where(Refund.payment_session_id == payment_session.id)).one()
    from_charge = (payment_session.charge_amount_refunded or 0) - int(dead)
    return max(0, min(max(int(live), from_charge, 0), payment_session.final_amount))


def revokes_access(payment_session: PaymentSession, *, full: bool) -> bool:
    """Whether this refund ends access: the purchase's terms under the one rule
    (refund_policy.revokes_access). Asked only once there is a refund (enforce returns before
    for amount 0), so the paid webhook's statements are not touched."""
    return refund_policy.revokes_access(refund_policy.terms_for_payment(payment_session), full=full)


def enforce(payment_session: PaymentSession, *, now: datetime, occurred_at: datetime | None = None) -> None:
    """Bring the session and its enrollment in line with the refunded amount (idempotent).

    A change of the refunded total is audited and written as a RefundMovement of the
    difference (negative when a recorded refund failed), dated `occurred_at` (when Stripe
    reported it: a retried or replayed event keeps its own day) or else `now`: analytics count
    refunds on the day they happen. No change, no movement, so a redelivered event adds none.
    The movements are the dated history of this derived total, written only here, under the
    payment session's lock; the refunds themselves are the `refunds` rows.
    """
    amount = refunded_amount(payment_session)
    paid = payment_session.status in PAID_STATUSES
    full = amount >= payment_session.final_amount
    # Asked once, and only when there is a refund to act on (never on the paid webhook's path).
    revoke = paid and amount > 0 and revokes_access(payment_session, full=full)
    if amount != payment_session.amount_refunded:
        audit.record("payment.refund_recorded", payment_session, actor_label="stripe",
                     before={"amount_refunded": payment_session.amount_refunded},
                     after={"amount_refunded": amount})
        db.session.add(RefundMovement(payment_session_id=payment_session.id, currency=payment_session.currency,
                                      amount=amount - payment_session.amount_refunded,
                                      occurred_at=occurred_at or now))
        observability.after_commit("payment.refund_recorded", payment_session_id=payment_session.id,
                                   user_id=payment_session.user_id, amount_refunded=amount,
                                   change=amount - payment_session.amount_refunded, currency=payment_session.currency)
        # A refund notice per rise of the total (keyed by it: redelivered events add none).
        notifications.refund_recorded(payment_session, refunded_before=payment_session.amount_refunded,
                                      refunded_total=amount, access_ends=revoke)
        payment_session.amount_refunded = amount
    if not paid or amount == 0:
        return  # nothing to take back yet; fulfillment calls this again when it happens
    if payment_session.referrer_id is not None:  # a refund before the referrer's reward is earned cancels it
        referral_rewards.cancel(payment_session.id, "the purchase was refunded", occurred_at=occurred_at or now,
                                now=now)
    if full:
        payment_states.move(payment_session, PaymentSessionStatus.REFUNDED, now=now,
                            reason="refunded in full", actor_label="stripe")
    wanted = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
    for enrollment in enrollments_paid_by(payment_session):  # a bundle's: every course it enrolled
        if enrollment.payment_status != wanted:
            enrollment.payment_status = wanted
        if revoke and enrollment.status != EnrollmentStatus.REVOKED:
            enrollments.revoke(enrollment, "payment refunded" if full else "payment partly refunded", now)


def event_time(created: int | None, now: datetime) -> datetime | None:
    """When Stripe created the event, never later than now (None when unknown)."""
    if not isinstance(created, int) or created <= 0:
        return None
    return min(datetime.fromtimestamp(created, timezone.utc), now)


# --- the ledger ------------------------------------------------------------------------

def refunds_of(payment_session: PaymentSession) -> list[Refund]:
    """The session's refunds, oldest first (for staff pages and tests)."""
    return list(db.session.scalars(db.select(Refund).where(Refund.payment_session_id == payment_session.id)
                                   .order_by(Refund.created_at, Refund.id)))


def _merge_refund(payment_session: PaymentSession, refund: Any, *, now: datetime,
                  event_id: str | None) -> tuple[Refund | None, bool]:
    """Insert or update the refund's row (the caller holds the payment session's lock).

    Returns the row and whether it was already failed/canceled before this report.
    """
    refund_id = field(refund, "id")
    if not isinstance(refund_id, str) or not refund_id or len(refund_id) > 255:
        return None, False
    status = str(field(refund, "status") or "pending")[:32]
    amount = field(refund, "amount")
    row = db.session.get(Refund, refund_id, populate_existing=True)
    was_dead = row is not None and row.status in DEAD
    if row is None:
        row = Refund(id=refund_id, payment_session_id=payment_session.id, amount=0, status=status,
                     currency=payment_session.currency, created_at=now, updated_at=now)
        db.session.add(row)
    changed = False
    if isinstance(amount, int) and not isinstance(amount, bool) and amount >= 0 and row.amount != amount:
        row.amount, changed = amount, True
    # Later statuses win over earlier ones, so a late refund.created cannot undo a refund.failed.
    if _RANK.get(status, 0) >= _RANK.get(row.status, 0) and row.status != status:
        row.status, changed = status, True
    failure = field(refund, "failure_reason")
    if isinstance(failure, str) and failure and row.failure_reason != failure[:100]:
        row.failure_reason, changed = failure[:100], True
    if changed or row.stripe_event_id is None:
        row.stripe_event_id = event_id or row.stripe_event_id
        row.updated_at = now
    db.session.flush()
    return row, was_dead

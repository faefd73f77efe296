"""Learners' refund requests: self-service inside the policy, the staff queue outside it.

A learner asks for a refund of one purchase (`request`). `assess` decides, from the purchase's
refund terms (`refund_policy.terms_for_payment`: a course's, or the strictest of a bundle's
courses), the purchase and the learner's progress (`refund_policy.progress_of`):

- not refundable at all (not paid, nothing left, the course says "no refunds", a request
  already pending) → refused, no row;
- inside the automatic rules → refunded through Stripe at once with the staff path's own
  function (`refunds.request_refund`), the request recorded as REFUNDED;
- otherwise → a PENDING request in the staff queue with the learner's reason and why it is
  not automatic.

The automatic rules: inside the refund window (days since payment), progress at most the
limit, no per-course override (a course with its own terms is always looked at by staff), no
coupon with its own refund terms (coupon metadata `refund_terms`), no open dispute or review
flag. Staff `approve` (all or part, through the same `request_refund`) or `decline` with a
message; the learner may `withdraw` while pending. Every decision is audited and mailed
(services/notifications.py).

Concurrency: every writer first locks the payment session row (on SQLite the write lock,
BEGIN IMMEDIATE), so two requests for one purchase, or a request racing staff or Stripe's
refund webhooks, queue: the second sees the first's refund (nothing left, or a pending
request) and never refunds twice. The automatic refund is keyed by the purchase's refund state
(`request_refund`'s default key), a staff approval by its request and amount, so a retry
after a lost commit replays Stripe's answer (even once the webhook has recorded the refund),
and its webhooks merge into the same `refunds` row in any order.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from models import PAID_STATUSES, Coupon, PaymentSession, RefundRequest, RefundRequestStatus as R, User
from services import audit, money, notifications, products
from services.errors import Conflict, FieldErrors, NotFound
from services.payments import refund_policy, refunds

REASON_MAX = 1000
MESSAGE_MAX = 1000
STATUSES = [status.value for status in R]


@dataclass(frozen=True)
class Assessment:
    """What a learner would get by asking now."""
    allowed: bool           # may ask at all (the dashboard shows the button)
    automatic: bool         # refunded at once; else staff decide
    amount: int             # what is left to refund (what an automatic refund gives back)
    currency: str
    why: str                # refused: why not; queued: why staff decide; automatic: ""

    @property
    def amount_label(self) -> str:
        return money.format_money(self.amount, self.currency)


def assess(payment: PaymentSession, terms: refund_policy.Terms, *, progress: float, pending: bool,
           coupon_terms: bool, now: datetime) -> Assessment:
    """The rules, on what the caller has loaded (no statement: the dashboard calls it per purchase)."""
    amount = refunds.refundable_amount(payment, refunded=payment.amount_refunded)
    refused = None
    if payment.status not in PAID_STATUSES or not payment.payment_intent_id or payment.final_amount <= 0:
        refused = "Only a paid purchase can be refunded."
    elif amount <= 0:
        refused = "This purchase has been refunded in full."
    elif terms.no_refunds:
        refused = f"This {terms.noun} cannot be refunded."
    elif pending:
        refused = "Your refund request is waiting for our staff."
    if refused:
        return Assessment(False, False, max(amount, 0), payment.currency, refused)
    why = _why_staff_decide(payment, terms, progress, coupon_terms, now)
    return Assessment(True, why is None, amount, payment.currency, why or "")


def _why_staff_decide(payment: PaymentSession, terms: refund_policy.Terms, progress: float,
                      coupon_terms: bool, now: datetime) -> str | None:
    if terms.overridden:
        if terms.noun != "course":
            return (f"A course in this {terms.noun} has its own refund terms, so our staff look at each "
                    "request.")
        return "This course has its own refund terms, so our staff look at each request."
    if terms.window_days == 0:
        return "Refunds are not self-service; our staff look at each request."
    paid_at = payment.completed_at or payment.created_at
    if paid_at is None or now >= paid_at + timedelta(days=terms.window_days):
        return f"The {terms.window_days}-day refund window has passed."
    if progress > terms.max_progress_percent:
        return f"More than {terms.max_progress_percent}% of the {terms.noun} is completed."
    if coupon_terms:
        return "The coupon used for this purchase has its own refund terms."
    if payment.needs_review:
        return "This payment is being reviewed by our staff."
    return None


def has_own_terms(coupon_metadata: dict | None) -> bool:
    """A coupon with its own refund terms (metadata `refund_terms`, any value): staff decide."""
    return bool((coupon_metadata or {}).get("refund_terms"))


@dataclass(frozen=True)
class Offer:
    """What the dashboard shows for one purchase: the assessment and the newest request."""
    assessment: Assessment
    latest: RefundRequest | None

    @property
    def pending(self) -> RefundRequest | None:
        return self.latest if self.latest is not None and self.latest.status == R.PENDING else None


def offers(payments: list[PaymentSession], progress_by_course: dict[int, float], now: datetime) -> dict[str, Offer]:
    """{payment id: Offer} for a learner's paid purchases, in one statement whatever their
    number (terms of each course, the coupon's own terms, the newest request)."""
    paid = [payment for payment in payments if payment.status in PAID_STATUSES and payment.payment_intent_id]
    if not paid:
        return {}
    newest = (sa.select(sa.func.max(RefundRequest.id)).where(RefundRequest.payment_session_id == PaymentSession.id)
              .correlate(PaymentSession).scalar_subquery())
    query = refund_policy.with_terms(
        sa.select(PaymentSession.id.label("payment_id"), Coupon.extra.label("coupon_metadata"), RefundRequest,
                  *refund_policy.TERMS_COLUMNS).select_from(PaymentSession), PaymentSession.course_id)
    query = (query.outerjoin(Coupon, Coupon.id == PaymentSession.coupon_id)
             .outerjoin(RefundRequest, RefundRequest.id == newest)
             .where(PaymentSession.id.in_([payment.id for payment in paid])))
    rows = {row.payment_id: row for row in db.session.execute(query)}
    result = {}
    for payment in paid:
        row = rows[payment.id]
        latest = row.RefundRequest
        terms = refund_policy.terms_from(row) if payment.course_id is not None else \
            refund_policy.terms_for_payment(payment)  # a bundle's: its courses' strictest
        assessment = assess(payment, terms, progress=_progress_in(payment, progress_by_course),
                            pending=latest is not None and latest.status == R.PENDING,
                            coupon_terms=has_own_terms(row.coupon_metadata), now=now)
        result[payment.id] = Offer(assessment, latest)
    return result


def _progress_in(payment: PaymentSession, progress_by_course: dict[int, float]) -> float:
    """The learner's progress in what the payment bought (refund_policy.progress_of)."""
    return refund_policy.progress_of(progress_by_course.get(course.id, 0.0) for course in products.courses_of(payment))


# --- the learner's side ------------------------------------------------------------------

def offer(user: User, payment_session_id: str, now: datetime) -> tuple[PaymentSession, Assessment]:
    """The learner's purchase and what asking would give (the request page); NotFound for others."""
    payment = _learners_payment(user, payment_session_id)
    return payment, _assess_now(payment, now)


def request(user: User, payment_session_id: str, *, reason: str, now: datetime) -> RefundRequest:
    """Ask for a refund (caller commits). Automatic → refunded now; else queued for staff."""
    payment = _lock(_learners_payment(user, payment_session_id).id)
    assessment = _assess_now(payment, now)
    if not assessment.allowed:
        raise Conflict(assessment.why, code="NOT_REFUNDABLE")
    reason = (reason or "").strip()[:REASON_MAX]
    if not assessment.automatic and not reason:
        raise FieldErrors({"reason": "Tell our staff why you would like a refund."})
    row = RefundRequest(payment_session_id=payment.id, user_id=user.id, course_id=payment.course_id,
                        status=R.PENDING, reason=reason or None, amount_requested=assessment.amount,
                        currency=payment.currency, created_at=now,
                        queue_reason=None if assessment.automatic else assessment.why[:300])
    db.session.add(row)
    db.session.flush()
    if assessment.automatic:
        refund = refunds.request_refund(payment, amount=None, reason="requested_by_customer", actor=user, now=now)
        given = refund["amount"] if isinstance(refund["amount"], int) else assessment.amount
        _decide(row, R.REFUNDED, amount=given, refund=refund, actor=None, now=now)
        audit.record("refund_request.refunded", row, actor=user,
                     message=f"Automatic refund of {given} {payment.currency}",
                     after={"payment_session_id": payment.id, "amount": given})
    else:
        audit.record("refund_request.created", row, actor=user, message=row.queue_reason,
                     after={"payment_session_id": payment.id, "amount": assessment.amount})
        notifications.refund_request_received(row, payment)
    return row


def withdraw(user: User, request_id: int, now: datetime) -> RefundRequest:
    """Take back one's own pending request (caller commits)."""
    row = _request(request_id)
    if row is None or row.user_id != user.id:
        raise NotFound("We could not find that refund request.", code="REFUND_REQUEST_NOT_FOUND")
    _lock(row.payment_session_id)
    row = _pending(request_id)
    row.status, row.decided_at = R.WITHDRAWN, now
    db.session.flush()
    audit.record("refund_request.withdrawn", row, actor=user, before={"status": "PENDING"},
                 after={"status": "WITHDRAWN"})
    return row


def latest_by_payment(user: User) -> dict[str, RefundRequest]:
    """{payment id: the learner's newest request for it} (one statement)."""
    rows = db.session.scalars(db.select(RefundRequest).where(RefundRequest.user_id == user.id)
                              .order_by(RefundRequest.created_at, RefundRequest.id))
    return {row.payment_session_id: row for row in rows}


# --- staff ------------------------------------------------------------------------------------

def queue_query(status: str = "PENDING") -> sa.Select:
    """The queue, oldest first (status "" = all), with what each payment sold."""
    query = db.select(RefundRequest).options(joinedload(RefundRequest.user), joinedload(RefundRequest.payment)
                                             .options(joinedload(PaymentSession.course),
                                                      joinedload(PaymentSession.bundle)))
    if status:
        query = query.where(RefundRequest.status == R(status))
    return query.order_by(RefundRequest.created_at, RefundRequest.id)


def get(request_id: int) -> RefundRequest:
    row = _request(request_id)
    if row is None:
        raise NotFound("We could not find that refund request.", code="REFUND_REQUEST_NOT_FOUND")
    return row


def approve(request_id: int, *, amount: int | None, message: str, actor: User, now: datetime) -> RefundRequest:
    """Refund all (amount None) or part of a pending request through Stripe (caller commits)."""
    payment = _lock(get(request_id).payment_session_id)
    row = _pending(request_id)
    # Keyed by the request (and amount), not by the purchase's refund state: if Stripe refunded
    # but our commit was lost, the refund webhook moves that state on while the request stays
    # PENDING, and approving it again must replay Stripe's refund, not make a second one.
    refund = refunds.request_refund(payment, amount=amount, reason="requested_by_customer", actor=actor, now=now,
                                    request_key=f"request-{row.id}-{amount or 'all'}")
    given = refund["amount"] if isinstance(refund["amount"], int) else (amount or row.amount_requested)
    row.staff_message = (message or "").strip()[:MESSAGE_MAX] or None
    _decide(row, R.APPROVED, amount=given, refund=refund, actor=actor, now=now)
    audit.record("refund_request.approved", row, actor=actor, message=row.staff_message,
                 before={"status": "PENDING"}, after={"status": "APPROVED", "amount": given})
    notifications.refund_request_decided(row, payment)
    return row


def decline(request_id: int, *, message: str, actor: User, now: datetime) -> RefundRequest:
    """Say no with a message to the learner (caller commits)."""
    message = (message or "").strip()[:MESSAGE_MAX]
    if not message:
        raise FieldErrors({"message": "Tell the learner why their request is declined."})
    payment = _lock(get(request_id).payment_session_id)
    row = _pending(request_id)
    row.staff_message = message
    _decide(row, R.DECLINED, amount=None, refund=None, actor=actor, now=now)
    audit.record("refund_request.declined", row, actor=actor, message=message[:500],
                 before={"status": "PENDING"}, after={"status": "DECLINED"})
    notifications.refund_request_decided(row, payment)
    return row


# --- helpers ------------------------------------------------------------------------------------

def _assess_now(payment: PaymentSession, now: datetime) -> Assessment:
    paid_for = refunds.enrollments_paid_by(payment)
    pending = db.session.scalar(db.select(RefundRequest.id).where(
        RefundRequest.payment_session_id == payment.id, RefundRequest.status == R.PENDING)) is not None
    return assess(payment, refund_policy.terms_for_payment(payment),
                  progress=refund_policy.progress_of(enrollment.progress for enrollment in paid_for), pending=pending,
                  coupon_terms=payment.coupon is not None and has_own_terms(payment.coupon.extra), now=now)


def _learners_payment(user: User, payment_session_id: str) -> PaymentSession:
    payment = db.session.get(PaymentSession, payment_session_id) if (
        isinstance(payment_session_id, str) and 0 < len(payment_session_id) <= 40) else None
    if payment is None or payment.user_id != user.id:
        raise NotFound("We could not find that purchase.", code="PAYMENT_SESSION_NOT_FOUND")
    return payment


def _lock(payment_session_id: str) -> PaymentSession:
    """The payment row, locked for the rest of the transaction and read afresh: the first
    thing every writer here does, so racers for one purchase queue and see each other's work."""
    return db.session.execute(
        db.select(PaymentSession).where(PaymentSession.id == payment_session_id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)).scalar_one()


def _request(request_id) -> RefundRequest | None:
    if not isinstance(request_id, int) or isinstance(request_id, bool) or not 0 < request_id < 2**31:
        return None
    return db.session.get(RefundRequest, request_id)


def _pending(request_id: int) -> RefundRequest:
    """The request read afresh under the payment's lock; Conflict unless still pending."""
    row = db.session.get(RefundRequest, request_id, populate_existing=True)
    if row is None or row.status != R.PENDING:
        raise Conflict("This request has already been decided or withdrawn.", code="REFUND_REQUEST_CLOSED")
    return row


def _decide(row: RefundRequest, status: R, *, amount: int | None, refund, actor: User | None,
            now: datetime) -> None:
    row.status, row.decided_at = status, now
    row.amount_refunded = amount
    row.decided_by_id = actor.id if actor is not None else None
    if refund is not None:
        row.stripe_refund_id = str(refund["id"])[:255]
    db.session.flush()


"""Fulfillment: turning what Stripe says about a Checkout Session into our state.

One idempotent entry point for the webhook, the success page and the reconcile command
(ARCHITECTURE.md, "Checkout, fulfillment and the webhook inbox"). Each call locks the payment
session row first, so two callers racing for the same session run one after the other and
the second finds the work done. The unique (user, course) enrollment backs this up on
databases without row locks.

Stripe objects are not dicts (`.get` fails): fields are read with `services.payments.stripe_objects`,
which also accepts the plain dicts that tests and the webhook inbox hand over.
"""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy.orm import joinedload

from extensions import db
from models import Enrollment, EnrollmentSource, EnrollmentType, PaymentSession, PaymentSessionStatus as S
from services import audit, notifications
from services.coupons import redemptions
from services.learning import enrollments
from services.payments import payment_states, receipts, refund_policy, subscription_sync
from services.referrals import rewards as referral_rewards
from services.errors import NotFound
from services.payments.stripe_objects import field, object_id


def locked(payment_session_id: str) -> PaymentSession | None:
    """The payment session, its row locked, with its course (None for a product: a bundle...)
    and learner loaded in the same statement (every caller needs them); only the payment
    session's row is locked."""
    return db.session.execute(
        db.select(PaymentSession).where(PaymentSession.id == payment_session_id)
        .options(joinedload(PaymentSession.course), joinedload(PaymentSession.user, innerjoin=True))
        .with_for_update(key_share=True, of=PaymentSession).execution_options(populate_existing=True)
    ).scalar_one_or_none()


def find_payment_session(stripe_session) -> PaymentSession | None:
    """Our payment session for a Stripe Checkout Session, locked; None when it is not ours."""
    reference = field(stripe_session, "client_reference_id")
    stripe_id = field(stripe_session, "id")
    payment_session = locked(reference) if isinstance(reference, str) and len(reference) <= 40 else None
    if payment_session is None and stripe_id:
        found = db.session.scalar(db.select(PaymentSession.id).where(PaymentSession.stripe_session_id == stripe_id))
        payment_session = locked(found) if found else None
    if payment_session is None:
        return None
    if stripe_id and payment_session.stripe_session_id and payment_session.stripe_session_id != stripe_id:
        # Our id in somebody else's session: not ours to act on.
        return None
    return payment_session


def _mismatch(payment_session: PaymentSession, stripe_session) -> str | None:
    """Why Stripe's session does not match our quote (ARCHITECTURE.md #4), or None."""
    amount_total = field(stripe_session, "amount_total")
    currency = (field(stripe_session, "currency") or "").upper()
    if field(stripe_session, "mode") not in (None, "payment"):
        return f"unexpected mode {field(stripe_session, 'mode')}"
    if amount_total != payment_session.final_amount:
        return f"Stripe charged {amount_total} but we quoted {payment_session.final_amount}"
    if currency != payment_session.currency.upper():
        return f"Stripe charged in {currency} but we quoted in {payment_session.currency}"
    metadata = field(stripe_session, "metadata")
    user_id = field(metadata, "user_id")
    if user_id is not None and str(user_id) != str(payment_session.user_id):
        return "the session's metadata names another learner"
    return None


def _record_stripe_ids(payment_session: PaymentSession, stripe_session) -> None:
    payment_session.stripe_session_id = payment_session.stripe_session_id or field(stripe_session, "id")
    intent = field(stripe_session, "payment_intent")
    intent_id = object_id(intent)
    if intent_id and not payment_session.payment_intent_id:
        payment_session.payment_intent_id = intent_id
    charge_id = object_id(field(intent, "latest_charge"))
    if charge_id:
        payment_session.latest_charge_id = charge_id
    customer = object_id(field(stripe_session, "customer"))
    if customer:
        payment_session.stripe_customer_id = customer
    receipts.remember_card(payment_session, stripe_session)


def _flag(payment_session: PaymentSession, reason: str, source: str) -> None:
    if not payment_session.needs_review:
        payment_session.needs_review = True
        payment_session.review_reason = reason[:500]
        audit.record("payment_session.flagged", payment_session, actor_label=source, message=reason[:500])


def fulfill_checkout_session(stripe_session, *, now: datetime, source: str) -> PaymentSession:
    """Enroll the learner if Stripe says the session is paid (idempotent, race-safe).

    NotFound when the session is not ours. Returns the (locked) payment session in whatever
    state it ends: COMPLETED with an enrollment, PROCESSING, or flagged for review.
    """
    payment_session = find_payment_session(stripe_session)
    if payment_session is None:
        raise NotFound("We could not find that checkout.", code="PAYMENT_SESSION_NOT_FOUND")
    return _fulfill(payment_session, stripe_session, now, source)


def _fulfill(payment_session: PaymentSession, stripe_session, now: datetime, source: str) -> PaymentSession:
    if payment_session.status == S.COMPLETED and payment_session.enrollment_id is not None:
        return payment_session  # already done by another caller
    if payment_session.status == S.REFUNDED:
        return payment_session
    status, payment_status = field(stripe_session, "status"), field(stripe_session, "payment_status")
    paid = status == "complete" and (payment_status == "paid" or (
        payment_status == "no_payment_required" and payment_session.final_amount == 0))
    problem = _mismatch(payment_session, stripe_session) if paid else None
    if payment_session.course_id is None:  # a product (bundle, path): services/payments/purchases.py
        return _fulfill_product(payment_session, stripe_session, now, source, paid, problem)
    if paid and not problem:
        # First, before the payment session changes: enrolling flushes, and the session's
        # row is then written once (this runs on every paid webhook).
        access = _paid_enrollment(payment_session, stripe_session, now)
    _record_stripe_ids(payment_session, stripe_session)
    if not paid:
        if status == "complete" and payment_status == "unpaid":
            payment_states.move(payment_session, S.PROCESSING, now=now, reason="delayed payment method",
                                actor_label=source)
        return payment_session
    if problem:
        _flag(payment_session, problem, source)
        return payment_session
    enrollment = access.enrollment
    payment_session.enrollment_id = enrollment.id
    payment_states.move(payment_session, S.COMPLETED, now=now, reason=f"paid ({source})", actor_label=source)
    redemptions.redeem_for(payment_session, enrollment, now)
    if access.concern:
        _flag(payment_session, access.concern, source)
    if not access.duplicate:
        audit.record("payment_session.fulfilled", payment_session, actor_label=source,
                     message=f"enrollment {enrollment.id}, {payment_session.final_amount} {payment_session.currency}")
        notifications.enrollment_paid(payment_session, enrollment)
        if payment_session.referrer_id is not None:
            _record_referral(payment_session, now)
    db.session.flush()
    return payment_session


def _fulfill_product(payment_session: PaymentSession, stripe_session, now: datetime, source: str, paid: bool,
                     problem: str | None) -> PaymentSession:
    _record_stripe_ids(payment_session, stripe_session)
    status, payment_status = field(stripe_session, "status"), field(stripe_session, "payment_status")
    if not paid:
        if status == "complete" and payment_status == "unpaid":
            payment_states.move(payment_session, S.PROCESSING, now=now, reason="delayed payment method",
                                actor_label=source)
        return payment_session
    if problem:
        _flag(payment_session, problem, source)
        return payment_session
    from services.payments import purchases  # purchases builds on checkout, which imports this module
    concerns = purchases.enroll_all(payment_session, now=now, amount_total=field(stripe_session, "amount_total") or 0,
                                    source=source)
    if concerns:
        _flag(payment_session, "; ".join(concerns), source)
    if payment_session.referrer_id is not None:
        _record_referral(payment_session, now)
    return payment_session


def _record_referral(payment_session: PaymentSession, now: datetime) -> None:
    """A referred purchase (a course, or a bundle or path: their enrollments keep their own
    source): the referrer's pending reward, earned at the end of the purchase's refund window
    (at once when the purchase takes no refunds; a bundle's or path's: its courses' strictest, as its refunds)."""
    referral_rewards.record_purchase(payment_session, window_days=refund_policy.window_days_of_payment(payment_session),
                                     now=now)


def source_of(payment_session: PaymentSession) -> EnrollmentSource:
    """A single course's paid enrollment: REFERRAL when a referrer is recorded (a coupon typed
    with it does not change that), PROMOTION with a coupon, else DIRECT."""
    if payment_session.referrer_id is not None:
        return EnrollmentSource.REFERRAL
    return EnrollmentSource.PROMOTION if payment_session.coupon_id else EnrollmentSource.DIRECT


class PaidAccess(NamedTuple):
    enrollment: Enrollment
    concern: str | None  # what staff should look at, if anything
    duplicate: bool  # the learner was already enrolled by another payment


def _paid_enrollment(payment_session: PaymentSession, stripe_session, now: datetime) -> PaidAccess:
    """The enrollment this payment gives access through (created or reactivated if needed)."""
    course, user = payment_session.course, payment_session.user
    if payment_session.coupon_id is not None:
        # Coupon, then course, then enrollment: the order checkout takes them in (redeeming
        # below would otherwise lock the coupon last, and could deadlock with a free checkout).
        redemptions.lock(payment_session.coupon_id)
    existing = enrollments.lock(user, course)
    if existing is not None and existing.grants_access and existing.payment_id not in (None, payment_session.id) \
            and existing.type == EnrollmentType.PAID and existing.amount_paid > 0:
        # Two tabs both paid: one enrollment, and the duplicate goes to staff for a refund.
        return PaidAccess(existing, f"duplicate payment: the learner was already enrolled by {existing.payment_id}; "
                                    "refund it", duplicate=True)
    over_capacity = enrollments.every_seat_enrolled(course) and not (existing is not None and existing.grants_access)
    enrollment = enrollments.enroll(
        user, course, type=EnrollmentType.PAID,
        source=source_of(payment_session), now=now, payment_session=payment_session,
        amount_paid=field(stripe_session, "amount_total") or 0,
        discount=payment_session.discount_amount, enforce_capacity=False, current=existing)
    if enrollment.payment_id is None:
        enrollment.payment_id = payment_session.id
    if payment_session.referrer_id is not None and enrollment.payment_id == payment_session.id:
        enrollment.referrer_id = payment_session.referrer_id
    concern = "paid while the course was full: the learner was enrolled over capacity" if over_capacity else None
    return PaidAccess(enrollment, concern, duplicate=False)


def apply_checkout_session(stripe_session, *, now: datetime, source: str) -> PaymentSession | None:
    """Apply whatever Stripe says about the session; None when the session is not ours."""
    payment_session = find_payment_session(stripe_session)
    if payment_session is None:
        return None
    if payment_session.membership_id is not None:  # a membership's checkout (mode=subscription, issue 16)
        return subscription_sync.apply_checkout_session(payment_session, stripe_session, now=now, source=source)
    status = field(stripe_session, "status")
    if status == "complete":
        return _fulfill(payment_session, stripe_session, now, source)
    if status == "expired":
        if payment_states.move(payment_session, S.EXPIRED, now=now, reason=f"expired on Stripe ({source})",
                               actor_label=source) or payment_session.status in (S.EXPIRED, S.CANCELLED):
            redemptions.release_for(payment_session, now, "checkout session expired")
    return payment_session


def fail_async_payment(stripe_session, *, now: datetime, source: str) -> PaymentSession | None:
    """A delayed payment failed: FAILED and the coupon use given back. None when not ours."""
    payment_session = find_payment_session(stripe_session)
    if payment_session is None:
        return None
    _record_stripe_ids(payment_session, stripe_session)
    if payment_states.move(payment_session, S.FAILED, now=now, reason=f"delayed payment failed ({source})",
                           actor_label=source):
        payment_session.failure_code = "async_payment_failed"
        payment_session.failure_message = "The bank payment did not go through."
        redemptions.release_for(payment_session, now, "delayed payment failed")
    return payment_session

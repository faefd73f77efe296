"""Checkout: from "Buy" to a Stripe Checkout Session, and back (success, cancel).

Starting a checkout is two steps, because the Stripe call must happen after our own rows are
committed (a webhook may arrive before the view returns, and no lock is held while Stripe
answers):

1. `prepare_checkout(...)` — database only; the caller commits. Under a lock on the learner's
   row (so one learner's parallel clicks queue up) it decides: already enrolled, enrolled now
   (final price 0), waitlisted (course full), reuse of an open payment session with the same
   price, or a new PENDING payment session with its coupon reservation and the exact Stripe
   parameters stored on it.
2. `open_stripe_session(payment_session, now=...)` — when `kind == "REDIRECT"` and there is no
   `redirect_url` yet. Locks the payment session row, expires the
   learner's other open sessions for the course on Stripe first (two tabs can never both be
   paid), makes sure Stripe has the coupon that shows a discount on its page (created once,
   `stripe_coupons.py`), gets the learner's Stripe Customer (created once, `stripe_customers.py`),
   creates the Checkout Session for it with an idempotency key derived from the payment session id, and
   stores its id and URL; the caller commits. On a Stripe failure the session is marked FAILED, the
   reservation released, and `CheckoutUnavailable` raised: the caller commits, then shows it.

`start_checkout(...)` runs both for callers that do not need to branch in between; it takes
the caller's `commit` function, so the transaction boundaries stay in the view or the API.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa

from extensions import db
from models import (Coupon, Course, Enrollment, EnrollmentSource, EnrollmentType, PaymentSession, PaymentSessionStatus as S,
                    PAID_STATUSES, Subscription, User, UTCDateTime, WaitlistEntry, new_public_id, utcnow)
from services import observability, products
from services.coupons import redemptions, pricing
from services.learning import enrollments, waitlist
from services.memberships import subscriptions
from services.payments import fulfillment, payment_states, stripe_coupons, stripe_customers, stripe_gateway
from services.errors import Conflict, DomainError, NotFound

SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"
PAYMENT_SESSION_PLACEHOLDER = "{PAYMENT_SESSION_ID}"
DEFAULT_SESSION_MINUTES = 31  # Stripe wants 30 min to 24 h from its own clock: one minute of margin
RESERVATION_GRACE = enrollments.HOLD_GRACE  # coupon uses and seats are held alike
REUSE_MARGIN = timedelta(minutes=3)  # an open session this close to expiry is replaced, not reused


@dataclass
class CheckoutStart:
    kind: str  # "ENROLLED" | "ALREADY_ENROLLED" | "REDIRECT" | "WAITLISTED" | "ALREADY_SUBSCRIBED" (a membership)
    payment_session: PaymentSession | None = None
    redirect_url: str | None = None
    enrollment: Enrollment | None = None
    waitlist_entry: WaitlistEntry | None = None


class CheckoutUnavailable(DomainError):
    """Stripe could not open the checkout; the payment session is FAILED (caller commits)."""

    code = "CHECKOUT_UNAVAILABLE"
    status = 503

    def __init__(self, message: str, payment_session: PaymentSession | None = None):
        super().__init__(message)
        self.payment_session = payment_session


def lock_user(user: User) -> None:
    """The learner's row, locked: one learner's checkouts (of anything) are decided one at a time."""
    db.session.execute(db.select(User.id).where(User.id == user.id).with_for_update(key_share=True))


def _lock_session(payment_session_id: str) -> PaymentSession:
    return db.session.execute(
        db.select(PaymentSession).where(PaymentSession.id == payment_session_id).with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one()


def open_sessions(user: User, course: Course) -> list[PaymentSession]:
    return _sessions_in(user, course, (S.PENDING,))


def _open_like(payment_session: PaymentSession) -> list[PaymentSession]:
    """The learner's open sessions for what `payment_session` sells (a course or a product)."""
    if payment_session.course_id is not None:
        return open_sessions(payment_session.user, payment_session.course)
    return list(db.session.scalars(
        db.select(PaymentSession).where(PaymentSession.user_id == payment_session.user_id,
                                        products.same_product(payment_session), PaymentSession.status == S.PENDING)
        .order_by(PaymentSession.created_at.desc())))


def _sessions_in(user: User, course: Course, statuses: tuple[S, ...]) -> list[PaymentSession]:
    return list(db.session.scalars(
        db.select(PaymentSession).where(PaymentSession.user_id == user.id, PaymentSession.course_id == course.id,
                                        PaymentSession.status.in_(statuses))
        .order_by(PaymentSession.created_at.desc())))


def resumable_session(user: User, course: Course, now: datetime) -> PaymentSession | None:
    """An open checkout the learner can go back to (for the course page and the dashboard)."""
    for payment_session in open_sessions(user, course):
        if payment_session.checkout_url and (payment_session.expires_at is None or payment_session.expires_at > now):
            return payment_session
    return None


@dataclass
class Offer:
    """What the course page offers this visitor: the price (quote) and the next step."""

    course: Course
    quote: pricing.Quote
    enrollment: Enrollment | None = None
    resumable: PaymentSession | None = None
    waitlist_entry: WaitlistEntry | None = None
    is_full: bool = False
    lapsed_enrollment: Enrollment | None = None  # exists but gives no access (revoked, suspended, expired)
    viewer: User | None = None
    now: datetime | None = None

    @property
    def membership_subscription(self) -> Subscription | None:
        """The learner's subscription that opens this course while they are not enrolled: "Start"
        (checkout.enroll_free → enroll_without_payment) makes a SUBSCRIPTION enrollment (issue 16).
        Read on demand: a page that does not show it pays no statement for it."""
        if self.enrollment is not None or self.viewer is None:
            return None
        return subscriptions.opening(self.viewer, self.course, self.now or utcnow())

    @property
    def kind(self) -> str:
        """"ENROLLED" | "INVITATION" | "WAITLIST" | "FREE" | "PAID": which box the page shows."""
        if self.enrollment is not None:
            return "ENROLLED"
        if self.course.enrollment_type == EnrollmentType.INVITATION_ONLY:
            return "INVITATION"
        if self.is_full:
            return "WAITLIST"
        return "FREE" if self.course.is_free else "PAID"


def offer(course: Course, user: User | None, coupon_code: str | None, now: datetime) -> Offer:
    """Read-only: the course page's purchase box for `user` (None for a visitor)."""
    if user is None:
        return Offer(course, pricing.quote(course, coupon_code, None, now), is_full=enrollments.is_full(course, now=now))
    existing = enrollments.find(user, course)
    enrollment = existing if existing is not None and existing.grants_access else None
    return Offer(course, pricing.quote(course, coupon_code, user, now), enrollment=enrollment,
                 resumable=None if enrollment else resumable_session(user, course, now),
                 waitlist_entry=waitlist.find(user, course), is_full=enrollments.is_full(course, user, now),
                 lapsed_enrollment=existing if enrollment is None else None, viewer=user, now=now)


def _price_offer_query():
    # Built once: the live quote runs on every keystroke, and building and keying this
    # statement costs more than running it. The learner's uses of the code are counted in the
    # same statement (0 for a visitor: no user id matches NULL).
    uses = redemptions.learner_uses(Coupon.id, sa.bindparam("user_id", type_=sa.Integer),
                                    sa.bindparam("now", type_=UTCDateTime), Course.id)
    return (db.select(Course, Coupon, redemptions.applies_to_course(Course.id), uses)
            .outerjoin(Coupon, Coupon.code == sa.bindparam("code"))
            .where(Course.slug == sa.bindparam("slug"), Course.is_published.is_(True)))


_PRICE_OFFER_QUERY = _price_offer_query()


def price_offer(slug: str, coupon_code: str | None, user: User | None, now: datetime) -> Offer:
    """The live price fragment's offer: the published course (without lectures) and its coupon
    in one query. NotFound like the course page."""
    normalized = redemptions.normalize_code(coupon_code)
    if len(normalized) > redemptions.CODE_MAX_LENGTH:
        normalized = ""  # no such code can exist; the quote still says "not found"
    row = db.session.execute(_PRICE_OFFER_QUERY, {"code": normalized, "slug": slug, "now": now,
                                                  "user_id": user.id if user is not None else None}).first()
    if row is None:
        raise NotFound("We could not find that course.", code="COURSE_NOT_FOUND")
    course, coupon, applicable, uses = row
    return Offer(course, pricing.quote_with(course, coupon_code, coupon, bool(applicable), user, now,
                                            learner_uses=uses or 0))


def prepare_checkout(user: User, course: Course, coupon_code: str | None, *, success_url: str, cancel_url: str,
                     now: datetime, session_minutes: int = DEFAULT_SESSION_MINUTES,
                     referrer_id: int | None = None) -> CheckoutStart:
    """Step 1 (database only; the caller commits). See the module docstring. `referrer_id`: who
    referred the learner (services/referrals.links.referrer_for), recorded on the payment session."""
    if SESSION_ID_PLACEHOLDER not in success_url:
        raise ValueError("success_url must contain the literal {CHECKOUT_SESSION_ID}")
    lock_user(user)  # first: what follows is decided once, not raced by the learner's other tabs
    enrollment = enrollments.with_access(user, course)  # a fulfillment may have finished meanwhile
    if enrollment and enrollment.type != EnrollmentType.SUBSCRIPTION:  # a member may still buy it to keep
        return CheckoutStart("ALREADY_ENROLLED", enrollment=enrollment)
    if course.enrollment_type == EnrollmentType.INVITATION_ONLY:
        raise DomainError("This course is by invitation only. Enter the code from your invitation.",
                          code="INVITATION_REQUIRED", field="invitation_code", status=403)
    # The learner's open and processing checkouts for the course, in one statement.
    pending = _sessions_in(user, course, (S.PENDING, S.PROCESSING))
    if any(payment_session.status == S.PROCESSING for payment_session in pending):
        raise Conflict("Your bank payment for this course is still being processed. We will enroll you "
                       "as soon as it clears.", code="PAYMENT_PROCESSING")
    if course.enrollment_type == EnrollmentType.FREE:  # free by type, whatever its price field says
        return _enroll_without_payment(user, course, pricing.quote(course, None, user, now), now)
    quote = pricing.quote(course, coupon_code, user, now)
    if not quote.is_valid:
        raise DomainError(quote.refusal_message, code=quote.refusal_code, field="coupon_code", status=422)
    if quote.final_amount == 0:
        return _enroll_without_payment(user, course, quote, now)
    if enrollments.is_full(course, user, now):  # seats taken or held by others' checkouts: before paying
        return CheckoutStart("WAITLISTED", waitlist_entry=waitlist.join(user, course, now))
    for payment_session in pending:
        if reusable(payment_session, quote, now):
            if referrer_id is not None and payment_session.referrer_id != referrer_id:
                payment_session.referrer_id = referrer_id  # the referral of this click, as a new session would
            return CheckoutStart("REDIRECT", payment_session=payment_session,
                                 redirect_url=payment_session.checkout_url)
    payment_session = _new_payment_session(user, course, quote, success_url, cancel_url, now, session_minutes,
                                           referrer_id)
    if payment_session is None:  # the last seat went to a racer while we waited for the course lock
        return CheckoutStart("WAITLISTED", waitlist_entry=waitlist.join(user, course, now))
    return CheckoutStart("REDIRECT", payment_session=payment_session)


def reusable(payment_session: PaymentSession, quote: pricing.Quote, now: datetime) -> bool:
    """An open session at the same price, coupon and currency, not about to expire."""
    return (payment_session.final_amount == quote.final_amount and payment_session.currency == quote.currency
            and payment_session.coupon_id == quote.coupon_id
            and (payment_session.expires_at is None or payment_session.expires_at > now + REUSE_MARGIN))


def enroll_without_payment(user: User, course: Course, *, coupon_code: str | None = None,
                           invitation_code: str | None = None, now: datetime) -> CheckoutStart:
    """Enrollment with nothing to pay, for the web's one-button enroll and the API alike.

    A free or invitation-only course, or a paid one that the coupon makes free. A full course
    puts the learner on its waitlist (kind "WAITLISTED" with the entry): the caller commits in
    every case, so the waitlist row is saved before it says so. A paid course without such a
    coupon → 402 PAYMENT_REQUIRED; a refused coupon → 422 (field "coupon_code").
    """
    if existing := enrollments.with_access(user, course):
        return CheckoutStart("ALREADY_ENROLLED", enrollment=existing)
    if course.is_free or course.enrollment_type == EnrollmentType.INVITATION_ONLY:
        try:
            enrollment = enrollments.enroll_free(user, course, now, invitation_code=invitation_code)
        except Conflict as error:
            if error.code != "COURSE_FULL":
                raise
            return CheckoutStart("WAITLISTED", waitlist_entry=waitlist.join(user, course, now))
        return CheckoutStart("ENROLLED", enrollment=enrollment)
    if (subscription := subscriptions.opening(user, course, now)) is not None:
        # Included in the learner's membership (issue 16): a SUBSCRIPTION enrollment, no payment.
        lock_user(user)
        return CheckoutStart("ENROLLED", enrollment=enrollments.enroll_with_subscription(
            user, course, subscription, now=now, actor=user))
    quote = pricing.quote(course, coupon_code, user, now)
    if coupon_code and not quote.is_valid:
        raise DomainError(quote.refusal_message, code=quote.refusal_code, field="coupon_code", status=422)
    if quote.final_amount != 0:
        raise DomainError("This course is not free: buy it through checkout.", code="PAYMENT_REQUIRED", status=402)
    lock_user(user)
    if existing := enrollments.with_access(user, course):  # a parallel call finished while we waited
        return CheckoutStart("ALREADY_ENROLLED", enrollment=existing)
    return _enroll_without_payment(user, course, quote, now)


def _enroll_without_payment(user: User, course: Course, quote: pricing.Quote, now: datetime) -> CheckoutStart:
    """Final price 0: a free course, or a 100% coupon (recorded as a completed 0-amount session)."""
    try:
        if quote.coupon_id is None:
            enrollment = enrollments.enroll(user, course, type=EnrollmentType.FREE, now=now, actor=user)
            return CheckoutStart("ENROLLED", enrollment=enrollment)
        coupon = redemptions.lock(quote.coupon_id)
        payment_session = PaymentSession(
            id=new_public_id("ps"), course_id=course.id, user_id=user.id, status=S.PENDING,
            amount=quote.original_amount, currency=quote.currency, discount_amount=quote.discount_amount,
            final_amount=0, coupon_id=quote.coupon_id, coupon_code=quote.coupon_code, created_at=now,
            expires_at=now)
        db.session.add(payment_session)
        db.session.flush()
        report_created(payment_session)
        redemptions.reserve(coupon, payment_session, now, None)
        enrollment = enrollments.enroll(user, course, type=EnrollmentType.PAID, source=EnrollmentSource.PROMOTION,
                                        now=now, payment_session=payment_session, discount=quote.discount_amount,
                                        actor=user)
    except Conflict as error:
        if error.code != "COURSE_FULL":
            raise
        return CheckoutStart("WAITLISTED", waitlist_entry=waitlist.join(user, course, now))
    payment_session.enrollment_id = enrollment.id
    payment_states.move(payment_session, S.COMPLETED, now=now, reason="free with coupon", actor_label=user.email)
    redemptions.redeem_for(payment_session, enrollment, now)
    return CheckoutStart("ENROLLED", payment_session=payment_session, enrollment=enrollment)


def _new_payment_session(user: User, course: Course, quote: pricing.Quote, success_url: str, cancel_url: str,
                         now: datetime, session_minutes: int, referrer_id: int | None = None) -> PaymentSession | None:
    """A PENDING payment session holding a seat (capped course) and a coupon use; None when the
    course has no seat left for this learner."""
    expires_at = (now + timedelta(minutes=session_minutes)).replace(microsecond=0)
    # The coupon is locked before any row referencing it: one lock order for everyone.
    coupon = redemptions.lock(quote.coupon_id) if quote.coupon_id is not None else None
    if not enrollments.hold_seat(user, course, now):  # coupon, then course: the order fulfillment takes
        return None
    payment_session = PaymentSession(
        id=new_public_id("ps"), course_id=course.id, user_id=user.id, status=S.PENDING,
        amount=quote.original_amount, currency=quote.currency, discount_amount=quote.discount_amount,
        final_amount=quote.final_amount, coupon_id=quote.coupon_id, coupon_code=quote.coupon_code,
        created_at=now, expires_at=expires_at, referrer_id=referrer_id)
    # The parameters are stored (our id is made here, so they go into the row's one INSERT);
    # open_stripe_session sets expires_at and the idempotency key at the moment of the call.
    payment_session.extra = {"stripe_params": _stripe_params(payment_session, user, course, success_url,
                                                             cancel_url, expires_at),
                             "session_minutes": session_minutes}
    db.session.add(payment_session)
    db.session.flush()
    if coupon is not None:
        redemptions.reserve(coupon, payment_session, now, expires_at + RESERVATION_GRACE)
    report_created(payment_session)
    return payment_session


def report_created(payment_session: PaymentSession) -> None:
    observability.after_commit("checkout.session_created", payment_session_id=payment_session.id,
                               user_id=payment_session.user_id, course_id=payment_session.course_id,
                               amount=payment_session.final_amount, currency=payment_session.currency,
                               coupon_code=payment_session.coupon_code)


def _stripe_params(payment_session: PaymentSession, user: User, course: Course, success_url: str,
                   cancel_url: str, expires_at: datetime) -> dict:
    metadata = {"payment_session_id": payment_session.id, "course_id": str(course.id),
                "course_slug": course.slug[:500], "user_id": str(user.id),
                "coupon_code": payment_session.coupon_code or ""}
    # The list price, and our discount as a Stripe coupon of exactly that amount: Stripe's page
    # shows both, and charges list price − discount = our final amount (stripe_coupons.py).
    discounts = stripe_coupons.discounts_param(payment_session)
    return {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": payment_session.currency.lower(),
            "unit_amount": payment_session.amount if discounts else payment_session.final_amount,
            "product_data": {"name": course.title[:250]}}}],
        **({"discounts": discounts} if discounts else {}),
        "client_reference_id": payment_session.id,
        "success_url": success_url,
        "cancel_url": cancel_url.replace(PAYMENT_SESSION_PLACEHOLDER, payment_session.id),
        "expires_at": int(expires_at.timestamp()),
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata, "description": course.title[:1000]},
    }


def open_stripe_session(payment_session: PaymentSession, *, now: datetime) -> CheckoutStart:
    """Step 2: the Stripe Checkout Session for a prepared payment session (caller commits)."""
    # The id from the identity map: reading the attribute would reload the row the commit expired.
    payment_session = fulfillment.locked(sa.inspect(payment_session).identity[0])
    if payment_session.checkout_url:  # a parallel request of the same learner got here first
        return CheckoutStart("REDIRECT", payment_session=payment_session, redirect_url=payment_session.checkout_url)
    if payment_session.status != S.PENDING:
        raise Conflict("This checkout is closed. Start again from the course page.", code="NOT_CANCELLABLE")
    user, course = payment_session.user, payment_session.course
    for other in _open_like(payment_session):
        try:
            still_unpaid = other.id == payment_session.id or _close_superseded(other, now)
        except CheckoutUnavailable as error:
            _close(payment_session, S.FAILED, now, "could not close the learner's earlier checkout on Stripe")
            error.payment_session = payment_session
            raise
        if not still_unpaid:
            # The other tab's session was paid: the learner is enrolled, this one is not needed.
            _close(payment_session, S.CANCELLED, now, "the learner paid in another tab")
            if payment_session.membership_id is not None:  # subscribed in the other tab (issue 16)
                return CheckoutStart("ALREADY_SUBSCRIBED", payment_session=other)
            return CheckoutStart("ALREADY_ENROLLED",
                                 enrollment=enrollments.find(user, course) if course is not None else None)
    try:
        # First, while nothing of the session is changed: its look-up would flush the changes
        # below early, and the session row is written once, with Stripe's id and URL.
        stripe_coupons.ensure(payment_session)
        _use_customer(payment_session, stripe_customers.customer_id_for(user))
        params, key = _this_attempt(payment_session)
        try:
            stripe_session = stripe_gateway.create_checkout_session(params, key)
        except stripe_gateway.StripeGatewayError as error:
            if error.stripe_code != "resource_missing" or not (error.param or "").startswith("discounts"):
                raise
            # Our record says the coupon exists, Stripe says it does not: make it again, and
            # call with another key (Stripe may keep the refused answer for the first one).
            stripe_coupons.recreate(payment_session)
            key = _retry_key(payment_session, key)
            stripe_session = stripe_gateway.create_checkout_session(params, key)
    except stripe_gateway.StripeGatewayError as error:
        payment_session.failure_code = error.code
        payment_session.failure_message = error.user_message
        _close(payment_session, S.FAILED, now, f"Stripe refused to open the checkout ({error.code})")
        raise CheckoutUnavailable(error.user_message, payment_session) from error
    payment_session.stripe_session_id = stripe_session["id"]
    payment_session.checkout_url = stripe_session["url"]
    db.session.flush()
    return CheckoutStart("REDIRECT", payment_session=payment_session, redirect_url=payment_session.checkout_url)


def _use_customer(payment_session: PaymentSession, customer_id: str) -> None:
    """The Checkout Session is for the learner's Stripe Customer (which carries their email).
    Stored with the other parameters, so a retry with the same idempotency key sends the same."""
    params = {**payment_session.extra["stripe_params"], "customer": customer_id}
    payment_session.extra = {**payment_session.extra, "stripe_params": params}
    payment_session.stripe_customer_id = customer_id  # written with Stripe's id and URL, one UPDATE


def _this_attempt(payment_session: PaymentSession) -> tuple[dict, str]:
    """The Stripe parameters and idempotency key of this call, stored on the session.

    `expires_at` is computed now, at the moment of the call: Stripe wants 30 minutes to 24
    hours from its own creation time, and a checkout prepared earlier and resumed later would
    otherwise send less. The key names the expiry, so it always goes with exactly these
    parameters (Stripe refuses a key reused with other ones); the payment session's expiry and
    its coupon hold move with it.
    """
    minutes = (payment_session.extra or {}).get("session_minutes", DEFAULT_SESSION_MINUTES)
    expires_at = (utcnow() + timedelta(minutes=minutes)).replace(microsecond=0)
    params = {**payment_session.extra["stripe_params"], "expires_at": int(expires_at.timestamp())}
    key = f"learnpay-checkout-{payment_session.id}-{params['expires_at']}"
    payment_session.extra = {**payment_session.extra, "stripe_params": params, "idempotency_key": key}
    payment_session.expires_at = expires_at
    redemptions.extend_for(payment_session, expires_at + RESERVATION_GRACE)
    # Not flushed here: written with Stripe's id and URL in one UPDATE (same transaction).
    return params, key


def _retry_key(payment_session: PaymentSession, key: str) -> str:
    key = f"{key}-coupon"
    payment_session.extra = {**payment_session.extra, "idempotency_key": key}
    return key


def expire_on_stripe(stripe_session_id: str):
    """Expire a Checkout Session on Stripe: (Stripe's session, True) when it is expired now.

    (Stripe's session, False) when it was no longer open (paid, or expired meanwhile): the
    caller applies what it says. Any other Stripe error (StripeGatewayError) propagates.
    """
    try:
        return stripe_gateway.expire_checkout_session(stripe_session_id), True
    except stripe_gateway.StripeGatewayError as error:
        if error.code != "session_not_open":
            raise
        return stripe_gateway.retrieve_checkout_session(stripe_session_id), False


def _close_superseded(other: PaymentSession, now: datetime) -> bool:
    """Expire an older open session on Stripe, then here. False if Stripe says it was paid."""
    if other.stripe_session_id:
        try:
            stripe_session, expired_now = expire_on_stripe(other.stripe_session_id)
        except stripe_gateway.StripeGatewayError as error:
            raise CheckoutUnavailable(error.user_message) from error
        if not expired_now:
            applied = fulfillment.apply_checkout_session(stripe_session, now=now, source="checkout")
            if applied is not None and applied.status in PAID_STATUSES | {S.PROCESSING}:
                return False
    _close(other, S.CANCELLED, now, "replaced by a new checkout")
    return True


def _close(payment_session: PaymentSession, status: S, now: datetime, reason: str) -> None:
    if payment_states.move(payment_session, status, now=now, reason=reason):
        redemptions.release_for(payment_session, now, reason)
    db.session.flush()


def start_checkout(user: User, course: Course, coupon_code: str | None, *, success_url: str, cancel_url: str,
                   now: datetime, commit: Callable[[], None]) -> CheckoutStart:
    """Both steps, committing between them with the caller's `commit` (e.g. db.session.commit).

    On CheckoutUnavailable the FAILED state is committed before the error propagates.
    """
    start = prepare_checkout(user, course, coupon_code, success_url=success_url, cancel_url=cancel_url, now=now)
    return open_prepared(start, now=now, commit=commit)


def open_prepared(start: CheckoutStart, *, now: datetime, commit: Callable[[], None]) -> CheckoutStart:
    """After a step 1 (any product's): commit it, then step 2 when a new Stripe session is needed,
    committing again (the FAILED state too, before CheckoutUnavailable propagates)."""
    commit()
    if start.kind != "REDIRECT" or start.redirect_url:
        return start
    try:
        start = open_stripe_session(start.payment_session, now=now)
    except CheckoutUnavailable:
        commit()
        raise
    commit()
    return start


def get_for_user(user: User, payment_session_id: str | None) -> PaymentSession:
    """The learner's own payment session; NotFound for anyone else's (ARCHITECTURE.md #5)."""
    payment_session = db.session.get(PaymentSession, payment_session_id) \
        if payment_session_id and len(payment_session_id) <= 40 else None
    if payment_session is None or payment_session.user_id != user.id:
        raise NotFound("We could not find that checkout.", code="PAYMENT_SESSION_NOT_FOUND")
    return payment_session


def cancel(user: User, payment_session_id: str | None, now: datetime) -> PaymentSession:
    """Expire the Stripe session, mark CANCELLED, release the coupon; if it was paid, fulfill instead."""
    payment_session = get_for_user(user, payment_session_id)
    if payment_session.status == S.CANCELLED:
        return payment_session
    if payment_session.status != S.PENDING:
        raise Conflict("This checkout can no longer be cancelled.", code="NOT_CANCELLABLE")
    if payment_session.stripe_session_id:
        # No row lock during the Stripe call; the state machine settles any race afterwards.
        try:
            stripe_session, expired_now = expire_on_stripe(payment_session.stripe_session_id)
        except stripe_gateway.StripeGatewayError as error:
            raise DomainError(error.user_message, code="STRIPE_UNAVAILABLE", status=503) from error
        if not expired_now:
            return fulfillment.apply_checkout_session(stripe_session, now=now, source="cancel") or payment_session
    payment_session = _lock_session(payment_session.id)
    _close(payment_session, S.CANCELLED, now, "cancelled by the learner")
    return payment_session


def code_to_retry(payment_session: PaymentSession, user: User, now: datetime) -> str | None:
    """The code of a closed checkout, when it still gives the learner this course at a valid
    price now: "Try again" after a cancel keeps it, and drops one that expired or ran out."""
    if not payment_session.coupon_code:
        return None
    if payment_session.membership is not None:
        quote = pricing.quote_membership(payment_session.membership, payment_session.billing_interval,
                                         payment_session.coupon_code, user, now)
        return quote.coupon_code if quote.is_valid else None
    if payment_session.course_id is None:  # a product: its page quotes the code again
        return payment_session.coupon_code
    quote = pricing.quote(payment_session.course, payment_session.coupon_code, user, now)
    return quote.coupon_code if quote.is_valid else None


def by_stripe_id(stripe_session_id: str | None) -> PaymentSession | None:
    """The payment session behind a Stripe Checkout Session id, whoever owns it."""
    if not stripe_session_id or len(stripe_session_id) > 255:
        return None
    return db.session.scalar(db.select(PaymentSession).where(PaymentSession.stripe_session_id == stripe_session_id))


def confirm_success(user: User, stripe_session_id: str | None, now: datetime) -> PaymentSession:
    """The success page: the learner's own session, brought up to date from Stripe (caller commits)."""
    # "{" also catches the unreplaced {CHECKOUT_SESSION_ID} placeholder.
    if not stripe_session_id or len(stripe_session_id) > 255 or "{" in stripe_session_id:
        raise DomainError("This link is not a valid checkout confirmation.", code="INVALID_SESSION_ID", status=400)
    payment_session = by_stripe_id(stripe_session_id)
    if payment_session is None or payment_session.user_id != user.id:
        raise NotFound("We could not find that checkout.", code="PAYMENT_SESSION_NOT_FOUND")
    if payment_session.status == S.COMPLETED and payment_session.enrollment_id is not None:
        return payment_session
    try:
        stripe_session = stripe_gateway.retrieve_checkout_session(stripe_session_id)
    except stripe_gateway.StripeGatewayError as error:
        raise DomainError(error.user_message, code="STRIPE_UNAVAILABLE", status=503) from error
    return fulfillment.apply_checkout_session(stripe_session, now=now, source="success_page") or payment_session

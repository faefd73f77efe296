"""One multi-course purchase engine: a product (a bundle, a learning path's paid courses) sold
through one Stripe Checkout Session that enrolls the learner in several courses (issue 20).

A product is described by `Product` (which courses it enrolls, its price, the enrollment source,
the PaymentSession column that names it); the domain that owns the product builds it and calls
`offer` (read-only: the price for this learner), `prepare` / `start` (checkout). Everything
else is the single-course machinery: `checkout.open_stripe_session` opens the Stripe session,
`fulfillment` fulfils it (calling `enroll_all` here), `refunds.enforce` / `disputes.enforce`
apply to every enrollment it created (`services.products.enrollments_of`).

Rules (docs/checkout.md states them for people):
- the courses the learner already has access to are left out, and the price drops by what they
  would cost inside the product: price × (their list prices ÷ all list prices), pro rata,
  rounded in the learner's favour (the learner pays the floor of the remaining share), never
  below Stripe's minimum charge; owning every course → `ALREADY_OWNED` (nothing to buy);
- a coupon (products with a `coupon_target`) applies to that price under every coupon rule
  (services/coupons/pricing.py, `Priced`): held during checkout, per-learner limit, minimum;
- the charge and the discount are shared out over the courses bought, in proportion to their
  list prices, to the minor unit (money.share_out): each enrollment's `amount_paid` is its
  share and the shares sum to the charge;
- a course with no seat left for the learner blocks the checkout, naming the course
  (`COURSE_FULL`); seats are held by the pending session like a single course's;
- locks: learner, then coupon, then the courses in id order (seat holds), the order single
  checkout and fulfillment take.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from extensions import db
from models import (Course, Enrollment, EnrollmentSource, EnrollmentType, PaymentSession, PaymentSessionCourse,
                    PaymentSessionStatus as S, User, new_public_id)
from services import audit, money, notifications
from services.coupons import pricing, redemptions
from services.errors import Conflict, DomainError
from services.learning import enrollments
from services.payments import checkout, payment_states, stripe_coupons


@dataclass(frozen=True)
class Product:
    """What a multi-course product is, for the engine. Built by the product's own domain."""

    kind: str  # "BUNDLE" | "LEARNING_PATH" (services.products.KINDS)
    source: EnrollmentSource  # the enrollments' source
    column: str  # the PaymentSession column holding `id`: "bundle_id", "learning_path_id"
    id: int
    title: str
    currency: str
    price_amount: int  # the whole product's price, minor units
    courses: tuple[Course, ...]  # the paid courses it sells, in order, all in `currency`
    coupon_target: redemptions.Target | None = None  # None: no coupons for this kind

    @property
    def list_total(self) -> int:
        """What its courses cost bought one by one."""
        return sum(course.price_amount for course in self.courses)

    @property
    def saving(self) -> int:
        return max(0, self.list_total - self.price_amount)


@dataclass
class PurchaseOffer:
    """The price of a product for one learner now (read-only)."""

    product: Product
    quote: pricing.Quote  # amount before coupon = original_amount; final_amount is the charge
    owned: list[Course] = field(default_factory=list)
    to_buy: list[Course] = field(default_factory=list)
    full_course: Course | None = None  # a course with no seat left for this learner

    @property
    def fully_owned(self) -> bool:
        return not self.to_buy

    @property
    def reduction(self) -> int:
        """What the owned courses take off the product's price."""
        return self.product.price_amount - self.quote.original_amount if self.to_buy else self.product.price_amount

    def shares(self) -> list[tuple[Course, int, int]]:
        """(course, share of the charge, share of the discount), in order; sums exact."""
        weights = [course.price_amount for course in self.to_buy]
        amounts = money.share_out(self.quote.final_amount, weights)
        discounts = money.share_out(self.quote.discount_amount, weights)
        return list(zip(self.to_buy, amounts, discounts))


def owned_ids(user: User | None, courses) -> set[int]:
    """Ids of `courses` the learner has access to now (one statement)."""
    if user is None or not courses:
        return set()
    rows = db.session.scalars(db.select(Enrollment).where(
        Enrollment.user_id == user.id, Enrollment.course_id.in_([course.id for course in courses])))
    return {enrollment.course_id for enrollment in rows if enrollment.grants_access}


def price_for(product: Product, owned: set[int]) -> int:
    """The product's price without the owned courses: pro rata on list prices, floor (the
    learner's favour), never below Stripe's minimum charge; 0 when everything is owned."""
    remaining = [course for course in product.courses if course.id not in owned]
    if not remaining:
        return 0
    if len(remaining) == len(product.courses) or product.list_total == 0:
        return product.price_amount
    share = product.price_amount * sum(course.price_amount for course in remaining) // product.list_total
    return min(product.price_amount, max(share, money.minimum_charge(product.currency)))


def offer(product: Product, user: User | None, coupon_code: str | None, now: datetime) -> PurchaseOffer:
    """Read-only: what `user` (None: a visitor) would pay for `product` now, and why."""
    owned = owned_ids(user, product.courses)
    to_buy = [course for course in product.courses if course.id not in owned]
    amount = price_for(product, owned)
    if product.coupon_target is not None:
        quote = pricing.quote_priced(pricing.Priced(product.coupon_target, product.currency, amount,
                                                    noun=product.kind.lower().replace("_", " ")),
                                     coupon_code, user, now)
    else:
        quote = pricing.Quote(course_id=None, currency=product.currency, original_amount=amount, discount_amount=0,
                              final_amount=amount, coupon_id=None, coupon_code=None)
    full = next((course for course in to_buy if enrollments.is_full(course, user, now)), None)
    return PurchaseOffer(product, quote, owned=[c for c in product.courses if c.id in owned], to_buy=to_buy,
                         full_course=full)


def _column(product_column: str):
    return getattr(PaymentSession, product_column)


def _sessions_in(user: User, product: Product, statuses) -> list[PaymentSession]:
    return list(db.session.scalars(
        db.select(PaymentSession).where(PaymentSession.user_id == user.id, _column(product.column) == product.id,
                                        PaymentSession.status.in_(statuses))
        .order_by(PaymentSession.created_at.desc())))


def _refuse_unbuyable(found: PurchaseOffer) -> None:
    noun = found.product.kind.lower().replace("_", " ")
    if found.fully_owned:
        raise Conflict(f"You already have every course in this {noun}, so there is nothing to buy.",
                       code="ALREADY_OWNED")
    if not found.quote.is_valid:
        raise DomainError(found.quote.refusal_message, code=found.quote.refusal_code, field="coupon_code", status=422)
    if found.full_course is not None:
        raise Conflict(f"“{found.full_course.title}” is full, so this {noun} cannot be bought now.",
                       code="COURSE_FULL")


def prepare(product: Product, user: User, coupon_code: str | None, *, success_url: str, cancel_url: str,
            now: datetime, session_minutes: int = checkout.DEFAULT_SESSION_MINUTES,
            referrer_id: int | None = None) -> checkout.CheckoutStart:
    """Database only; the caller commits (as `checkout.prepare_checkout`). Kinds: "REDIRECT"
    (a new or reused open session), "ENROLLED" (a coupon made it free). Refusals raise.
    `referrer_id`: who referred the learner (issue 20), recorded on the session like a course's."""
    if checkout.SESSION_ID_PLACEHOLDER not in success_url:
        raise ValueError("success_url must contain the literal {CHECKOUT_SESSION_ID}")
    checkout.lock_user(user)  # first: the learner's parallel clicks queue up here
    pending = _sessions_in(user, product, (S.PENDING, S.PROCESSING))
    if any(payment_session.status == S.PROCESSING for payment_session in pending):
        raise Conflict("Your bank payment for this is still being processed. We will enroll you as soon as it "
                       "clears.", code="PAYMENT_PROCESSING")
    found = offer(product, user, coupon_code, now)
    _refuse_unbuyable(found)
    wanted = [course.id for course in found.to_buy]
    for payment_session in pending:
        if checkout.reusable(payment_session, found.quote, now) and \
                [item.course_id for item in payment_session.items] == wanted:
            if referrer_id is not None and payment_session.referrer_id != referrer_id:
                payment_session.referrer_id = referrer_id  # the referral of this click, as a new session would
            return checkout.CheckoutStart("REDIRECT", payment_session=payment_session,
                                          redirect_url=payment_session.checkout_url)
    coupon = redemptions.lock(found.quote.coupon_id) if found.quote.coupon_id is not None else None
    # Free with a coupon too: its enrollments (enroll_all, below) take the seats this checks.
    for course in sorted(found.to_buy, key=lambda c: c.id):  # one lock order: course ids
        if not enrollments.hold_seat(user, course, now):
            raise Conflict(f"“{course.title}” has just filled up, so this cannot be bought now.",
                           code="COURSE_FULL")
    expires_at = (now + timedelta(minutes=session_minutes)).replace(microsecond=0)
    quote = found.quote
    payment_session = PaymentSession(
        id=new_public_id("ps"), course_id=None, user_id=user.id, status=S.PENDING, amount=quote.original_amount,
        currency=quote.currency, discount_amount=quote.discount_amount, final_amount=quote.final_amount,
        coupon_id=quote.coupon_id, coupon_code=quote.coupon_code, created_at=now,
        expires_at=now if quote.final_amount == 0 else expires_at, referrer_id=referrer_id)
    setattr(payment_session, product.column, product.id)
    payment_session.items = [PaymentSessionCourse(course_id=course.id, position=position, list_amount=course.price_amount,
                                                  amount=amount, discount=discount)
                             for position, (course, amount, discount) in enumerate(found.shares())]
    payment_session.extra = {
        "product": {"kind": product.kind, "id": product.id, "source": product.source.value,
                    "price": product.price_amount, "reduction": found.reduction,
                    "owned": [course.id for course in found.owned]},
        "session_minutes": session_minutes,
        "stripe_params": _stripe_params(payment_session, product, found.to_buy, user, success_url, cancel_url,
                                        expires_at)}
    db.session.add(payment_session)
    db.session.flush()
    if coupon is not None:
        redemptions.reserve(coupon, payment_session, now,
                            None if quote.final_amount == 0 else expires_at + checkout.RESERVATION_GRACE)
    checkout.report_created(payment_session)
    if quote.final_amount == 0:  # a coupon made it free: enrolled now, no Stripe
        enroll_all(payment_session, now=now, amount_total=0, source="free with coupon")
        return checkout.CheckoutStart("ENROLLED", payment_session=payment_session,
                                      enrollment=payment_session.enrollment)
    return checkout.CheckoutStart("REDIRECT", payment_session=payment_session)


def _stripe_params(payment_session: PaymentSession, product: Product, courses: list[Course], user: User,
                   success_url: str, cancel_url: str, expires_at: datetime) -> dict:
    metadata = {"payment_session_id": payment_session.id, "product_kind": product.kind,
                "product_id": str(product.id), "user_id": str(user.id),
                "coupon_code": payment_session.coupon_code or ""}
    discounts = stripe_coupons.discounts_param(payment_session)
    names = ", ".join(course.title for course in courses)
    return {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": payment_session.currency.lower(),
            "unit_amount": payment_session.amount if discounts else payment_session.final_amount,
            "product_data": {"name": product.title[:250], "description": names[:500] or product.title[:250]}}}],
        **({"discounts": discounts} if discounts else {}),
        "client_reference_id": payment_session.id,
        "success_url": success_url,
        "cancel_url": cancel_url.replace(checkout.PAYMENT_SESSION_PLACEHOLDER, payment_session.id),
        "expires_at": int(expires_at.timestamp()),
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata, "description": product.title[:1000]},
    }


def start(product: Product, user: User, coupon_code: str | None, *, success_url: str, cancel_url: str,
          now: datetime, commit: Callable[[], None], referrer_id: int | None = None) -> checkout.CheckoutStart:
    """`prepare`, commit, then the one Stripe Checkout Session (as `checkout.start_checkout`).
    Kinds "REDIRECT" and "ENROLLED" only: refusals raise (an earlier checkout of the product
    found paid while opening this one: Conflict ALREADY_OWNED)."""
    started = prepare(product, user, coupon_code, success_url=success_url, cancel_url=cancel_url, now=now,
                      referrer_id=referrer_id)
    commit()
    if started.kind != "REDIRECT" or started.redirect_url:
        return started
    try:
        started = checkout.open_stripe_session(started.payment_session, now=now)
    except checkout.CheckoutUnavailable:
        commit()
        raise
    commit()
    if started.kind == "ALREADY_ENROLLED":  # an earlier checkout of it was paid (another tab)
        noun = product.kind.lower().replace("_", " ")
        raise Conflict(f"You have just bought this {noun} (in another tab or window), so there is nothing to buy.",
                       code="ALREADY_OWNED")
    return started


def enroll_all(payment_session: PaymentSession, *, now: datetime, amount_total: int, source: str) -> list[str]:
    """Fulfil a paid (or coupon-free) multi-course session: one enrollment per course it lists,
    each with its share (all in the caller's transaction: all or nothing). The caller holds the
    payment session's lock; idempotent (a COMPLETED session is left alone by fulfillment).
    Returns what staff should look at (duplicates, over capacity), and completes the session."""
    user = payment_session.user
    enrollment_source = EnrollmentSource((payment_session.extra or {}).get("product", {}).get(
        "source", EnrollmentSource.BUNDLE.value))
    if payment_session.coupon_id is not None:
        redemptions.lock(payment_session.coupon_id)  # coupon, then courses: checkout's order
    concerns: list[str] = []
    first: Enrollment | None = None
    for item in sorted(payment_session.items, key=lambda row: row.course_id):
        course = item.course
        existing = enrollments.lock(user, course)
        if existing is not None and existing.grants_access and existing.payment_id != payment_session.id:
            # Access the learner got another way since checkout (another payment, a grant by
            # staff): left as it is and not tied to this payment, whose refund must not take it.
            how = f"already paid by {existing.payment_id}" if existing.payment_id else "already had access"
            concerns.append(f"{course.title}: {how}; refund its share ({item.amount})")
            first = first or existing
            continue
        if enrollments.every_seat_enrolled(course) and not (existing is not None and existing.grants_access):
            concerns.append(f"{course.title}: enrolled over capacity")
        enrollment = enrollments.enroll(
            user, course, type=EnrollmentType.PAID, source=enrollment_source, now=now,
            payment_session=payment_session, amount_paid=item.amount, discount=item.discount,
            enforce_capacity=False, current=existing)
        if enrollment.payment_id is None:
            enrollment.payment_id = payment_session.id
        if payment_session.referrer_id is not None and enrollment.payment_id == payment_session.id:
            enrollment.referrer_id = payment_session.referrer_id  # its own source, the referrer recorded
        first = first or enrollment
    payment_session.enrollment_id = first.id if first is not None else None
    payment_states.move(payment_session, S.COMPLETED, now=now, reason=f"paid ({source})", actor_label=source)
    redemptions.redeem_for(payment_session, first, now)
    if amount_total > 0 or payment_session.final_amount == 0:
        audit.record("payment_session.fulfilled", payment_session, actor_label=source,
                     message=f"{len(payment_session.items)} courses, {payment_session.final_amount} "
                             f"{payment_session.currency}")
    if payment_session.final_amount > 0 and first is not None:
        notifications.enrollment_paid(payment_session, first)
    db.session.flush()
    return concerns

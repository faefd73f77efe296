"""Pricing: what a learner pays for a course, with or without a coupon, at a given time.

`quote` is pure with respect to writes: it reads the course, the coupon and how many uses
are taken, and returns a `Quote`. It never reserves anything; `redemptions.reserve` re-checks the
limits under a row lock when a checkout actually starts.

Rules (docs/checkout.md states them for people):
- codes match case-insensitively after trimming (`redemptions.normalize_code`);
- a coupon is valid from `valid_from` (inclusive) until `valid_until` (exclusive), in UTC;
- `max_uses` counts redemptions plus live reservations, `per_learner_limit` the learner's
  redemptions plus live reservations; both leave out the learner's own reservations for this
  very course (re-typing the code of an open checkout stays valid), and `reserve` applies the
  same rule (`redemptions.uses_taken`);
- an empty course list means every course; fixed amounts only apply in their own currency;
- percentages round half up to the minor unit; the discount is capped by
  `maximum_discount` and never exceeds the price;
- a final amount above 0 but below Stripe's minimum charge is refused (money.MINIMUM_CHARGE).
A refused quote always has `discount_amount == 0` and `final_amount == original_amount`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from models import BillingInterval, Membership, Coupon, Course, DiscountType, User
from services import money
from services.coupons import redemptions

COUPON_NOT_FOUND = "COUPON_NOT_FOUND"
COUPON_INACTIVE = "COUPON_INACTIVE"
COUPON_NOT_STARTED = "COUPON_NOT_STARTED"
COUPON_EXPIRED = "COUPON_EXPIRED"
COUPON_USED_UP = "COUPON_USED_UP"
COUPON_ALREADY_USED = "COUPON_ALREADY_USED"
COUPON_NOT_APPLICABLE = "COUPON_NOT_APPLICABLE"
COUPON_MINIMUM_NOT_MET = "COUPON_MINIMUM_NOT_MET"
COUPON_CURRENCY_MISMATCH = "COUPON_CURRENCY_MISMATCH"
AMOUNT_BELOW_MINIMUM_CHARGE = "AMOUNT_BELOW_MINIMUM_CHARGE"

REFUSAL_CODES = (COUPON_NOT_FOUND, COUPON_INACTIVE, COUPON_NOT_STARTED, COUPON_EXPIRED, COUPON_USED_UP,
                 COUPON_ALREADY_USED, COUPON_NOT_APPLICABLE, COUPON_MINIMUM_NOT_MET, COUPON_CURRENCY_MISMATCH,
                 AMOUNT_BELOW_MINIMUM_CHARGE)


@dataclass(frozen=True)
class Priced:
    """Something other than a course that a coupon may discount (issue 20): a bundle at the
    price this learner would pay for it. `target` says which coupon list applies and which of
    the learner's reservations a new checkout replaces."""

    target: redemptions.Target
    currency: str
    price_amount: int
    noun: str = "bundle"

    @property
    def id(self) -> None:
        return None


@dataclass(frozen=True)
class Quote:
    course_id: int | None  # None: a product (Priced)
    currency: str
    original_amount: int
    discount_amount: int
    final_amount: int
    coupon_id: int | None
    coupon_code: str | None
    refusal_code: str | None = None
    refusal_message: str | None = None
    membership_id: int | None = None  # a membership's first payment (issue 16)
    interval: BillingInterval | None = None

    @property
    def is_valid(self) -> bool:
        return self.refusal_code is None

    @property
    def is_free(self) -> bool:
        return self.is_valid and self.final_amount == 0


def quote(course: Course, code: str | None, user: User | None, now: datetime) -> Quote:
    """The price of `course` for `user` at `now` with the coupon `code` (None or "" for none)."""
    coupon, applicable = redemptions.find_for_course(code, course)
    return quote_with(course, code, coupon, applicable, user, now)


def quote_with(course: Course | Priced, code: str | None, coupon: Coupon | None, applicable: bool, user: User | None,
               now: datetime, learner_uses: int | None = None) -> Quote:
    """`quote` for callers that already looked the coupon up (`redemptions.find_for_course`),
    and possibly counted the learner's uses of it (`redemptions.learner_uses`) in the same query."""
    normalized = redemptions.normalize_code(code)
    base = Quote(course_id=course.id, currency=course.currency, original_amount=course.price_amount,
                 discount_amount=0, final_amount=course.price_amount, coupon_id=None,
                 coupon_code=normalized or None)
    if not normalized:
        return _check_minimum_charge(base, base)
    if coupon is None:
        return _refuse(base, COUPON_NOT_FOUND, "We don't know that code. Check the spelling and try again.")
    base = replace(base, coupon_id=coupon.id, coupon_code=coupon.code)
    refusal = _rule_refusal(coupon, course, user, now, applicable, learner_uses)
    if refusal:
        return _refuse(base, *refusal)
    discount = discount_for(coupon, course.price_amount)
    priced = replace(base, discount_amount=discount, final_amount=course.price_amount - discount)
    return _check_minimum_charge(priced, base)


def quote_priced(priced: Priced, code: str | None, user: User | None, now: datetime) -> Quote:
    """`quote` for a product (a bundle): the same rules, on its price for this learner."""
    coupon, applicable = redemptions.find_for_bundle(code, priced.target.bundle_id)
    return quote_with(priced, code, coupon, applicable, user, now)


def quote_membership(membership: Membership, interval: BillingInterval, code: str | None, user: User | None,
                     now: datetime) -> Quote:
    """The first payment of `membership` at `interval` for `user` with the coupon `code` (issue 16):
    the rules of every quote (limits, rounding, minimum charge), the coupon limited to memberships
    by `coupon_memberships`. Renewals are charged the full price. The interval must be one the
    membership is sold at (`membership.price_for`; services.memberships.catalog.parse_interval)."""
    price = membership.price_for(interval)
    if price is None:
        raise ValueError(f"{membership.slug} is not sold per {interval.stripe}")
    priced = Priced(redemptions.Target(membership_id=membership.id), membership.currency, price, noun="membership")
    coupon, applicable = redemptions.find_for_membership(code, membership)
    return replace(quote_with(priced, code, coupon, applicable, user, now), membership_id=membership.id,
                   interval=interval)


def discount_for(coupon: Coupon, price: int) -> int:
    """The discount in minor units: rounded half up, capped by maximum_discount and the price."""
    if coupon.discount_type == DiscountType.PERCENTAGE:
        discount = money.percent_of(price, coupon.percent_off or 0)
    else:
        discount = coupon.amount_off or 0
    if coupon.maximum_discount is not None:
        discount = min(discount, coupon.maximum_discount)
    return max(0, min(discount, price))


def _rule_refusal(coupon: Coupon, course: Course | Priced, user: User | None, now: datetime,
                  applicable: bool, learner_uses: int | None = None) -> tuple[str, str] | None:
    if not coupon.is_active:
        return COUPON_INACTIVE, "This code is no longer active."
    if coupon.valid_from is not None and now < coupon.valid_from:
        return COUPON_NOT_STARTED, f"This code can be used from {coupon.valid_from:%d %B %Y, %H:%M} UTC."
    if coupon.valid_until is not None and now >= coupon.valid_until:
        return COUPON_EXPIRED, "This code has expired."
    if not applicable:
        return COUPON_NOT_APPLICABLE, f"This code does not apply to this {getattr(course, 'noun', 'course')}."
    if _currency_mismatch(coupon, course):
        return COUPON_CURRENCY_MISMATCH, f"This code is for prices in {coupon.currency}, not {course.currency}."
    if coupon.minimum_amount is not None and course.price_amount < coupon.minimum_amount:
        minimum = money.format_money(coupon.minimum_amount, coupon.currency or course.currency)
        return COUPON_MINIMUM_NOT_MET, f"This code needs a purchase of at least {minimum}."
    target = course.target if isinstance(course, Priced) else course
    if redemptions.is_used_up(coupon, now, learner=user, course=target):  # reserve's rule too
        return COUPON_USED_UP, "This code has been used the maximum number of times."
    if user is not None and coupon.per_learner_limit is not None:
        if learner_uses is None:
            learner_uses = redemptions.uses_by(coupon, user, now, exclude_course=target)
        if learner_uses >= coupon.per_learner_limit:
            return COUPON_ALREADY_USED, "You have already used this code."
    return None


def _currency_mismatch(coupon: Coupon, course: Course | Priced) -> bool:
    if not coupon.currency or coupon.currency.upper() == course.currency.upper():
        return False
    # A percentage is currency-free unless its minimum or cap is an amount in its currency.
    return (coupon.discount_type == DiscountType.FIXED_AMOUNT
            or coupon.minimum_amount is not None or coupon.maximum_discount is not None)


def _check_minimum_charge(priced: Quote, base: Quote) -> Quote:
    minimum = money.minimum_charge(priced.currency)
    if 0 < priced.final_amount < minimum:
        shown = money.format_money(minimum, priced.currency)
        if priced.discount_amount:
            message = (f"With this code the price would be below {shown}, the smallest amount our "
                       "payment provider can charge, so it cannot be used for this course.")
        else:
            message = f"This course cannot be bought online: its price is below {shown}, the smallest amount we can charge."
        return _refuse(base, AMOUNT_BELOW_MINIMUM_CHARGE, message)
    return priced


def _refuse(base: Quote, code: str, message: str) -> Quote:
    return replace(base, discount_amount=0, final_amount=base.original_amount,
                   refusal_code=code, refusal_message=message)

"""Support's "what would this learner pay?": the quote checkout would give now, and the facts behind it.

`what_would_pay` calls the very `pricing.quote` that checkout calls (so the answer cannot drift
from what checkout charges) and then only reads: it reserves no use, writes no row and flushes
nothing. The facts are what a support answer needs next to a refusal: uses left, live held
reservations, the learner's own earlier uses, the validity window, the minimum, the currency.
Staff's learner page, the coupon page and the staff API show the same `DryRun`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from extensions import db
from models import Coupon, CouponRedemption, Course, User
from services.coupons import pricing, redemptions


@dataclass(frozen=True)
class CouponFacts:
    code: str
    is_active: bool
    currency: str | None            # None: a percentage usable in any currency
    valid_from: datetime | None     # inclusive
    valid_until: datetime | None    # exclusive
    minimum_amount: int | None
    maximum_discount: int | None
    applies_to_course: bool
    max_uses: int | None
    redeemed_uses: int
    live_reservations: int          # held by open checkouts (anyone's, this learner's included)
    uses_left: int | None           # for this learner and course (checkout's rule); None: unlimited
    per_learner_limit: int | None
    learner_uses: int               # what counts against per_learner_limit for this course, as the quote counts it
    learner_history: list[CouponRedemption]  # every use of this code by the learner, newest first


@dataclass(frozen=True)
class DryRun:
    quote: pricing.Quote
    coupon: CouponFacts | None      # None: no code given, or no such code

    def as_dict(self) -> dict:
        """JSON-ready (amounts in minor units, times in ISO 8601)."""
        q = self.quote
        body = {"course_id": q.course_id, "currency": q.currency, "list_price": q.original_amount,
                "discount": q.discount_amount, "final_amount": q.final_amount, "coupon_code": q.coupon_code,
                "valid": q.is_valid, "refusal_code": q.refusal_code, "refusal_message": q.refusal_message,
                "coupon": None}
        if self.coupon:
            facts = self.coupon
            body["coupon"] = {
                "code": facts.code, "is_active": facts.is_active, "currency": facts.currency,
                "valid_from": _iso(facts.valid_from), "valid_until": _iso(facts.valid_until),
                "minimum_amount": facts.minimum_amount, "maximum_discount": facts.maximum_discount,
                "applies_to_course": facts.applies_to_course, "max_uses": facts.max_uses,
                "redeemed_uses": facts.redeemed_uses, "live_reservations": facts.live_reservations,
                "uses_left": facts.uses_left, "per_learner_limit": facts.per_learner_limit,
                "learner_uses": facts.learner_uses,
                "learner_history": [{"course_id": r.course_id, "status": r.status.value,
                                     "discount": r.discount_amount, "currency": r.currency,
                                     "at": _iso(r.redeemed_at or r.released_at or r.reserved_at)}
                                    for r in facts.learner_history]}
        return body


def what_would_pay(course: Course, code: str | None, learner: User | None, now: datetime) -> DryRun:
    """The quote `learner` (None: a visitor) would get for `course` with `code` at `now`, and its facts."""
    with db.session.no_autoflush:
        quote = pricing.quote(course, code, learner, now)
        coupon = db.session.get(Coupon, quote.coupon_id) if quote.coupon_id is not None else None
        return DryRun(quote=quote, coupon=_facts(coupon, course, learner, now) if coupon else None)


def _facts(coupon: Coupon, course: Course, learner: User | None, now: datetime) -> CouponFacts:
    live = redemptions.live_reservations(coupon, now)
    # Uses left for this learner and course, by checkout's own rule (their own open checkout's
    # hold is theirs to reuse): redemptions.uses_taken.
    uses_left = None if coupon.max_uses is None else max(
        0, coupon.max_uses - redemptions.uses_taken(coupon, now, learner=learner, course=course))
    # The quote's own rule, asked of the database (redemptions.applies_to_course): not a copy of
    # it that would miss the lists a coupon gains (bundles, memberships, ...).
    applicable = bool(db.session.scalar(db.select(redemptions.applies_to_course(course.id))
                                        .where(Coupon.id == coupon.id)))
    return CouponFacts(
        code=coupon.code, is_active=coupon.is_active, currency=coupon.currency,
        valid_from=coupon.valid_from, valid_until=coupon.valid_until,
        minimum_amount=coupon.minimum_amount, maximum_discount=coupon.maximum_discount,
        applies_to_course=applicable, max_uses=coupon.max_uses, redeemed_uses=coupon.current_uses,
        live_reservations=live, uses_left=uses_left, per_learner_limit=coupon.per_learner_limit,
        learner_uses=redemptions.uses_by(coupon, learner, now, exclude_course=course) if learner else 0,
        learner_history=redemptions.history_of(coupon, learner) if learner else [])


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None

"""Coupons: finding codes, and the reserve → redeem | release life of one coupon use.

Invariant (ARCHITECTURE.md #2): for every coupon, redeemed uses + live reservations <=
max_uses, under any concurrency. `reserve` enforces it under a lock on the coupon row in
the caller's transaction, so learners racing for the last use queue on that row and the
later ones see the earlier reservations. A reservation is live while RESERVED and not past
its `expires_at` (the Stripe session's expiry plus a grace period, so a payment made in the
last second still finds its reservation). `current_uses` counts redemptions only.

The staff side (`admin`) reads codes, live reservations and usage totals through this module.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from extensions import db
from models import (PAID_STATUSES, Coupon, CouponRedemption, coupon_bundles, coupon_courses, coupon_memberships,
                    Course, Enrollment, Membership, PaymentSession, RedemptionStatus, User)
from services import audit
from services.errors import Conflict

CODE_MAX_LENGTH = 32


def normalize_code(code: str | None) -> str:
    """" welcome10 " → "WELCOME10": codes are stored upper-cased and trimmed."""
    return (code or "").strip().upper()


def find_for_course(code: str | None, course: Course) -> tuple[Coupon | None, bool]:
    """The coupon and whether it applies to `course` (empty course list = all), in one query.

    The live quote runs on every keystroke; folding the course restriction into the lookup
    keeps it at one round trip.
    """
    normalized = normalize_code(code)
    if not normalized or len(normalized) > CODE_MAX_LENGTH:
        return None, False
    row = db.session.execute(
        db.select(Coupon, applies_to_course(course.id)).where(Coupon.code == normalized)).first()
    return (row[0], bool(row[1])) if row else (None, False)


def _unrestricted():
    """SQL: the coupon lists no courses, bundles or memberships (it applies to everything)."""
    return sa.not_(sa.or_(sa.exists().where(coupon_courses.c.coupon_id == Coupon.id),
                          sa.exists().where(coupon_bundles.c.coupon_id == Coupon.id),
                          sa.exists().where(coupon_memberships.c.coupon_id == Coupon.id)))


def applies_to_course(course_id):
    """SQL: the coupon (in the query's FROM) lists no courses and no bundles, or lists
    `course_id` (a value or column). A coupon limited to bundles does not apply to courses."""
    links = coupon_courses.c
    listed = sa.exists().where(links.coupon_id == Coupon.id, links.course_id == course_id)
    return sa.or_(_unrestricted(), listed)


def applies_to_bundle(bundle_id):
    """SQL: like `applies_to_course`, for a bundle (issue 20)."""
    links = coupon_bundles.c
    listed = sa.exists().where(links.coupon_id == Coupon.id, links.bundle_id == bundle_id)
    return sa.or_(_unrestricted(), listed)


def applies_to_membership(membership_id):
    """SQL: like `applies_to_course`, for a membership's first payment (issue 16)."""
    links = coupon_memberships.c
    listed = sa.exists().where(links.coupon_id == Coupon.id, links.membership_id == membership_id)
    return sa.or_(_unrestricted(), listed)


def find_for_membership(code: str | None, membership: Membership) -> tuple[Coupon | None, bool]:
    """The coupon and whether it applies to the membership, in one query."""
    normalized = normalize_code(code)
    if not normalized or len(normalized) > CODE_MAX_LENGTH:
        return None, False
    row = db.session.execute(
        db.select(Coupon, applies_to_membership(membership.id)).where(Coupon.code == normalized)).first()
    return (row[0], bool(row[1])) if row else (None, False)


@dataclass(frozen=True)
class Target:
    """What a coupon use is for: a course (the default), a bundle or a membership. The learner's
    own live reservation for the same target belongs to the checkout a new one replaces."""

    course_id: int | None = None
    bundle_id: int | None = None
    membership_id: int | None = None

    @classmethod
    def of(cls, thing) -> "Target | None":
        if thing is None or isinstance(thing, Target):
            return thing
        return cls(course_id=thing.id)  # a Course

    @classmethod
    def of_session(cls, payment_session: PaymentSession) -> "Target":
        return cls(course_id=payment_session.course_id, bundle_id=payment_session.bundle_id,
                   membership_id=payment_session.membership_id)

    def condition(self):
        if self.course_id is not None:
            return CouponRedemption.course_id == self.course_id
        if self.membership_id is not None:
            return CouponRedemption.membership_id == self.membership_id
        return CouponRedemption.bundle_id == self.bundle_id


def find_for_bundle(code: str | None, bundle_id: int) -> tuple[Coupon | None, bool]:
    """The coupon and whether it applies to the bundle, in one query."""
    normalized = normalize_code(code)
    if not normalized or len(normalized) > CODE_MAX_LENGTH:
        return None, False
    row = db.session.execute(
        db.select(Coupon, applies_to_bundle(bundle_id)).where(Coupon.code == normalized)).first()
    return (row[0], bool(row[1])) if row else (None, False)


def public_active_query(now: datetime) -> sa.Select:
    """Public, active coupons inside their validity window that still have uses left (unordered)."""
    reserved = (db.select(sa.func.count()).select_from(CouponRedemption)
                .where(CouponRedemption.coupon_id == Coupon.id, live_condition(now)).scalar_subquery())
    return db.select(Coupon).where(
        Coupon.is_public.is_(True), Coupon.is_active.is_(True),
        sa.or_(Coupon.valid_from.is_(None), Coupon.valid_from <= now),
        sa.or_(Coupon.valid_until.is_(None), Coupon.valid_until > now),
        sa.or_(Coupon.max_uses.is_(None), Coupon.current_uses + reserved < Coupon.max_uses),
    )


def public_active(now: datetime) -> list[Coupon]:
    return list(db.session.scalars(public_active_query(now).order_by(Coupon.code)))


def live_condition(now: datetime):
    """SQL: a redemption row that still holds a use (RESERVED and not past its expiry)."""
    return sa.and_(CouponRedemption.status == RedemptionStatus.RESERVED,
                   sa.or_(CouponRedemption.expires_at.is_(None), CouponRedemption.expires_at > now))


def live_reservations(coupon: Coupon, now: datetime, *, exclude_user: User | None = None,
                      exclude_course: Course | Target | None = None) -> int:
    """Reservations still holding a use; optionally not counting one learner's for one course
    (or bundle: a Target)."""
    query = db.select(sa.func.count()).select_from(CouponRedemption).where(
        CouponRedemption.coupon_id == coupon.id, live_condition(now))
    target = Target.of(exclude_course)
    if exclude_user is not None and target is not None:
        query = query.where(sa.not_(sa.and_(CouponRedemption.user_id == exclude_user.id, target.condition())))
    return db.session.scalar(query) or 0


def uses_taken(coupon: Coupon, now: datetime, *, learner: User | None = None,
               course: Course | Target | None = None) -> int:
    """What counts against `max_uses` for `learner` buying `course`: the one rule, for the
    quote (and so the staff dry run) and for `reserve`, under its lock.

    Redeemed uses plus live reservations, except the learner's own live reservations for this
    course: they belong to the open checkout a new one replaces (step 2 of checkout expires it
    on Stripe before the new one opens, and releases its hold), as for `per_learner_limit`.
    At most one of a learner's checkouts for a course is ever open on Stripe, so this never
    lets more uses be redeemed than `max_uses`.
    """
    return coupon.current_uses + live_reservations(coupon, now, exclude_user=learner, exclude_course=course)


def is_used_up(coupon: Coupon, now: datetime, *, learner: User | None = None,
               course: Course | Target | None = None) -> bool:
    return coupon.max_uses is not None and uses_taken(coupon, now, learner=learner, course=course) >= coupon.max_uses


def live_reservations_by_coupon(coupon_ids: list[int], now: datetime) -> dict[int, int]:
    """{coupon id: live reservations} for a page of coupons, in one query (absent: none)."""
    if not coupon_ids:
        return {}
    return dict(db.session.execute(
        db.select(CouponRedemption.coupon_id, sa.func.count())
        .where(CouponRedemption.coupon_id.in_(coupon_ids), live_condition(now))
        .group_by(CouponRedemption.coupon_id)).all())


def uses_by(coupon: Coupon, user: User, now: datetime, *, exclude_course: Course | Target | None = None) -> int:
    """How many uses of `coupon` this learner has redeemed or holds (for per_learner_limit)."""
    target = Target.of(exclude_course)
    if target is not None and target.course_id is None:
        return db.session.scalar(db.select(learner_uses(coupon.id, user.id, now, exclude_bundle_id=target.bundle_id,
                                                        exclude_membership_id=target.membership_id))) or 0
    return db.session.scalar(db.select(
        learner_uses(coupon.id, user.id, now, target.course_id if target is not None else None))) or 0


def learner_uses(coupon_id, user_id, now, exclude_course_id=None, *, exclude_bundle_id=None,
                 exclude_membership_id=None) -> sa.ScalarSelect:
    """SQL: `uses_by` as a scalar subquery (values, columns or bind parameters), so a caller
    that reads the coupon anyway can count in the same statement. A NULL `exclude_course_id`
    excludes nothing."""
    query = db.select(sa.func.count()).select_from(CouponRedemption).where(
        CouponRedemption.coupon_id == coupon_id, CouponRedemption.user_id == user_id,
        sa.or_(CouponRedemption.status == RedemptionStatus.REDEEMED, live_condition(now)))
    if exclude_course_id is not None:
        query = query.where(sa.not_(sa.and_(CouponRedemption.course_id == exclude_course_id,
                                            CouponRedemption.status == RedemptionStatus.RESERVED)))
    if exclude_bundle_id is not None:
        query = query.where(sa.not_(sa.and_(CouponRedemption.bundle_id == exclude_bundle_id,
                                            CouponRedemption.status == RedemptionStatus.RESERVED)))
    if exclude_membership_id is not None:
        query = query.where(sa.not_(sa.and_(CouponRedemption.membership_id == exclude_membership_id,
                                            CouponRedemption.status == RedemptionStatus.RESERVED)))
    return query.scalar_subquery()


def history_of(coupon: Coupon, user: User) -> list[CouponRedemption]:
    """Every reservation and redemption of `coupon` by this learner, newest first."""
    return list(db.session.scalars(
        db.select(CouponRedemption).where(CouponRedemption.coupon_id == coupon.id, CouponRedemption.user_id == user.id)
        .order_by(CouponRedemption.reserved_at.desc(), CouponRedemption.id.desc())))


def lock(coupon_id: int) -> Coupon:
    """The coupon row, locked until the transaction ends (SELECT … FOR NO KEY UPDATE on PostgreSQL).

    NO KEY UPDATE: reservers queue on each other, but not on the KEY SHARE locks that inserting
    rows referencing the coupon (payment sessions, redemptions) take, which would deadlock.
    """
    return db.session.execute(
        db.select(Coupon).where(Coupon.id == coupon_id).with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one()


def reserve(coupon: Coupon, payment_session: PaymentSession, now: datetime, expires_at: datetime | None) -> CouponRedemption:
    """Hold one use of `coupon` for `payment_session`, re-checking every limit under the row lock.

    `coupon` is the row `lock` returned: checkout takes the lock first, before any row that
    references the coupon (one lock order), so locking again here would only repeat the query.
    Raises Conflict COUPON_USED_UP / COUPON_ALREADY_USED when the use is no longer there.
    """
    user = payment_session.user
    course = payment_session.course if payment_session.course_id is not None else Target.of_session(payment_session)
    if is_used_up(coupon, now, learner=user, course=course):  # the quote's rule: see uses_taken
        raise Conflict("This code has just been used up. Try again without it.",
                       code="COUPON_USED_UP", field="coupon_code")
    # The learner's own reservations for this course belong to checkouts this one replaces
    # (closed on Stripe before the new session opens), so they do not count, as in the quote.
    if coupon.per_learner_limit is not None and \
            uses_by(coupon, user, now, exclude_course=course) >= coupon.per_learner_limit:
        raise Conflict("You have already used this code.", code="COUPON_ALREADY_USED", field="coupon_code")
    redemption = CouponRedemption(
        coupon_id=coupon.id, user_id=user.id, course_id=payment_session.course_id, bundle_id=payment_session.bundle_id,
        membership_id=payment_session.membership_id, payment_session_id=payment_session.id,
        status=RedemptionStatus.RESERVED, discount_amount=payment_session.discount_amount,
        currency=payment_session.currency, reserved_at=now, expires_at=expires_at)
    db.session.add(redemption)
    db.session.flush()
    return redemption


def _for_session(payment_session: PaymentSession) -> CouponRedemption | None:
    return db.session.execute(
        db.select(CouponRedemption).where(CouponRedemption.payment_session_id == payment_session.id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)
    ).scalar_one_or_none()


def redeem_for(payment_session: PaymentSession, enrollment: Enrollment | None, now: datetime) -> CouponRedemption | None:
    """Turn the session's reservation into a redemption (idempotent); counts in current_uses.

    A paid session always redeems, even if its reservation was released meanwhile (the
    learner paid the discounted price, so the use happened).
    """
    if payment_session.coupon_id is None:
        return None
    coupon = lock(payment_session.coupon_id)
    redemption = _for_session(payment_session)
    if redemption is None:
        redemption = CouponRedemption(
            coupon_id=coupon.id, user_id=payment_session.user_id, course_id=payment_session.course_id,
            bundle_id=payment_session.bundle_id, membership_id=payment_session.membership_id,
            payment_session_id=payment_session.id, discount_amount=payment_session.discount_amount,
            currency=payment_session.currency, reserved_at=now)
        db.session.add(redemption)
    elif redemption.status == RedemptionStatus.REDEEMED:
        return redemption
    redemption.status = RedemptionStatus.REDEEMED
    redemption.redeemed_at = now
    redemption.released_at = None
    redemption.enrollment_id = enrollment.id if enrollment else None
    coupon.current_uses += 1
    db.session.flush()
    audit.record("coupon.redeemed", coupon, message=f"payment session {payment_session.id}",
                 after={"current_uses": coupon.current_uses})
    return redemption


def extend_for(payment_session: PaymentSession, expires_at: datetime) -> CouponRedemption | None:
    """Hold the session's reserved use until `expires_at` (its Stripe session got a later expiry)."""
    if payment_session.coupon_id is None:
        return None
    redemption = _for_session(payment_session)
    if redemption is not None and redemption.status == RedemptionStatus.RESERVED and (
            redemption.expires_at is None or redemption.expires_at < expires_at):
        redemption.expires_at = expires_at
        db.session.flush()
    return redemption


def release_for(payment_session: PaymentSession, now: datetime, reason: str) -> CouponRedemption | None:
    """Give the reserved use back (idempotent; a no-op when nothing is reserved)."""
    redemption = _for_session(payment_session)
    if redemption is None or redemption.status != RedemptionStatus.RESERVED:
        return None
    redemption.status = RedemptionStatus.RELEASED
    redemption.released_at = now
    db.session.flush()
    audit.record("coupon.released", redemption.coupon, message=f"payment session {payment_session.id}: {reason}")
    return redemption


def usage_totals(coupon: Coupon) -> list[dict]:
    """Per currency: redeemed uses, discount given and revenue brought (paid sessions, net of refunds)."""
    paid = sa.and_(PaymentSession.id == CouponRedemption.payment_session_id, PaymentSession.status.in_(PAID_STATUSES))
    rows = db.session.execute(
        db.select(CouponRedemption.currency,
                  sa.func.count(CouponRedemption.id),
                  sa.func.coalesce(sa.func.sum(CouponRedemption.discount_amount), 0),
                  sa.func.coalesce(sa.func.sum(PaymentSession.final_amount - PaymentSession.amount_refunded), 0))
        .outerjoin(PaymentSession, paid)
        .where(CouponRedemption.coupon_id == coupon.id, CouponRedemption.status == RedemptionStatus.REDEEMED)
        .group_by(CouponRedemption.currency).order_by(CouponRedemption.currency))
    return [{"currency": c, "uses": int(n), "discount": int(d), "revenue": int(r)} for c, n, d, r in rows]

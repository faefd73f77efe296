"""The memberships on sale and what each unlocks (read-only; the staff side changes them)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from extensions import db
from models import BillingInterval, Course, Membership, membership_courses
from services import money
from services.errors import DomainError, NotFound


def active_memberships() -> list[Membership]:
    """Memberships open to new subscribers, by name (their chosen courses loaded)."""
    return list(db.session.scalars(
        db.select(Membership).options(selectinload(Membership.courses))
        .where(Membership.is_active.is_(True)).order_by(Membership.name, Membership.id)))


def find(slug_or_id: str | int | None) -> Membership | None:
    """Any membership (retired too) by slug or id; None when there is none."""
    if slug_or_id is None or slug_or_id == "":
        return None
    text = str(slug_or_id)
    if text.isascii() and text.isdigit() and len(text) < 10:  # not "²", which isdigit() accepts and int() refuses
        found = db.session.get(Membership, int(text))
        if found is not None:
            return found
    if len(text) > 120:
        return None
    return db.session.scalar(db.select(Membership).where(Membership.slug == text))


def get_active(slug_or_id: str | int | None) -> Membership:
    """A membership open to new subscribers; NotFound MEMBERSHIP_NOT_FOUND otherwise (retired too)."""
    membership = find(slug_or_id)
    if membership is None or not membership.is_active:
        raise NotFound("We could not find that membership.", code="MEMBERSHIP_NOT_FOUND", field="membership_id")
    return membership


def _opens_course_condition(course_id):
    listed = sa.exists().where(membership_courses.c.membership_id == Membership.id,
                               membership_courses.c.course_id == course_id)
    return sa.or_(Membership.unlocks_all_courses.is_(True), listed)


def unlocking(course: Course) -> list[Membership]:
    """Active memberships that open `course` (none for an unpublished course), by name."""
    if not course.is_published:
        return []
    return list(db.session.scalars(
        db.select(Membership).where(Membership.is_active.is_(True), _opens_course_condition(course.id))
        .order_by(Membership.name, Membership.id)))


def unlocked_courses_query(membership: Membership) -> sa.Select:
    """SQL: the published courses `membership` opens (unordered)."""
    query = db.select(Course).where(Course.is_published.is_(True))
    if not membership.unlocks_all_courses:
        query = query.where(sa.exists().where(membership_courses.c.membership_id == membership.id,
                                              membership_courses.c.course_id == Course.id))
    return query


def unlocked_courses(membership: Membership) -> list[Course]:
    """The published courses `membership` opens, by title."""
    return list(db.session.scalars(unlocked_courses_query(membership).order_by(Course.title, Course.id)))


def price_label(membership: Membership, interval: BillingInterval) -> str:
    """"$29.00/month": the price at `interval` ("" when the membership is not sold so)."""
    price = membership.price_for(interval)
    if price is None:
        return ""
    return f"{money.format_money(price, membership.currency)}/{interval.stripe}"


def parse_interval(value: str | None, membership: Membership) -> BillingInterval:
    """"month" / "year" (any case) → the interval, if `membership` is sold at it.

    DomainError INTERVAL_NOT_OFFERED (422, field "interval") otherwise."""
    text = (value or "").strip().upper()
    interval = BillingInterval.__members__.get(text)
    if interval is None or membership.price_for(interval) is None:
        offered = " or ".join(i.stripe for i in membership.intervals)
        raise DomainError(f"Choose how often to pay: {offered}.", code="INTERVAL_NOT_OFFERED", field="interval",
                          status=422)
    return interval

"""Bundle administration for staff: validation (every error at once), create, update, retire.

A bundle is two or more distinct paid courses of the bundle's currency, priced at least Stripe's
minimum charge (and at most Stripe's maximum). Bundles are never deleted: payments point at them;
a retired bundle is never sold again but keeps its page for receipts (as 404 for buyers) and its
payments. Every change is audited with the values before and after; the cover goes through
services/courses/covers.py like a course's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from extensions import db
from models import Bundle, Course, EnrollmentType, PaymentSession, User, bundle_courses
from services import audit, money
from services.courses import covers
from services.courses.admin import slug_problem
from services.errors import FieldErrors, NotFound

FIELDS = ["slug", "name", "price_amount", "currency", "is_published", "retired_at", "cover_image", "cover_alt"]
MIN_COURSES = 2
MAX_COURSES = 20


class BundleInvalid(FieldErrors):
    code = "BUNDLE_INVALID"


@dataclass
class BundleInput:
    slug: str
    name: str
    price_amount: int | None
    currency: str
    course_ids: list[int] = field(default_factory=list)  # in the bundle's order
    description: str = ""
    is_published: bool = False
    cover: bytes | None = None  # a new cover's upload (services/courses/covers)
    cover_alt: str = ""
    remove_cover: bool = False


def get(bundle_id: int) -> Bundle:
    bundle = db.session.get(Bundle, bundle_id) if 0 < bundle_id < 2**31 else None
    if bundle is None:
        raise NotFound("We could not find that bundle.", code="BUNDLE_NOT_FOUND")
    return bundle


def list_with_sales() -> list[tuple[Bundle, int]]:
    """Every bundle (retired last) with its number of paid payments, one query."""
    paid = (db.select(PaymentSession.bundle_id, sa.func.count(PaymentSession.id).label("n"))
            .where(PaymentSession.bundle_id.is_not(None), PaymentSession.completed_at.is_not(None))
            .group_by(PaymentSession.bundle_id).subquery())
    rows = db.session.execute(db.select(Bundle, sa.func.coalesce(paid.c.n, 0))
                              .outerjoin(paid, paid.c.bundle_id == Bundle.id)
                              .order_by(Bundle.retired_at.is_not(None), Bundle.name, Bundle.id))
    return [(bundle, int(n)) for bundle, n in rows]


def sellable_courses(currency: str | None = None) -> list[Course]:
    """Courses a bundle may hold: paid (not free, not invitation-only), by title."""
    query = db.select(Course).where(Course.enrollment_type == EnrollmentType.PAID, Course.price_amount > 0)
    if currency:
        query = query.where(Course.currency == currency)
    return list(db.session.scalars(query.order_by(Course.title, Course.id)))


def problems(data: BundleInput, exclude_id: int | None = None) -> dict[str, str]:
    """Every error `create` / `update` would report ({field: message}; empty when none)."""
    try:
        _check(data, exclude_id)
    except BundleInvalid as error:
        return error.errors
    return {}


def _check(data: BundleInput, exclude_id: int | None) -> tuple[list[Course], covers.PreparedCover | None]:
    errors: dict[str, str] = {}
    if problem := slug_problem(Bundle, data.slug, exclude_id, noun="bundle", example="python-starter"):
        errors["slug"] = problem
    name = (data.name or "").strip()
    if not name:
        errors["name"] = "Give the bundle a name."
    elif len(name) > 200:
        errors["name"] = "At most 200 characters."
    if len(data.description or "") > 20000:
        errors["description"] = "At most 20,000 characters."
    if len(data.cover_alt or "") > 200:
        errors["cover_alt"] = "At most 200 characters."
    currency_ok = data.currency in money.SUPPORTED_CURRENCIES
    if not currency_ok:
        errors["currency"] = "Choose a supported currency."
    if data.price_amount is None or data.price_amount < 0:
        errors["price"] = "Give the bundle a price."
    elif data.price_amount > money.MAXIMUM_CHARGE:
        errors["price"] = "That price is above what Stripe can charge."
    elif currency_ok and data.price_amount < money.minimum_charge(data.currency):
        errors["price"] = (f"At least {money.format_money(money.minimum_charge(data.currency), data.currency)}, "
                           "the smallest amount Stripe can charge.")
    ids = list(dict.fromkeys(data.course_ids or []))
    valid = [course_id for course_id in ids if isinstance(course_id, int) and 0 < course_id < 2**31]
    found = {course.id: course for course in db.session.scalars(db.select(Course).where(Course.id.in_(valid)))} \
        if valid else {}
    chosen = [found[course_id] for course_id in ids if course_id in found]
    if len(chosen) != len(ids):
        errors["course_ids"] = "Choose courses from the list."
    elif len(chosen) < MIN_COURSES:
        errors["course_ids"] = "Choose two or more courses."
    elif len(chosen) > MAX_COURSES:
        errors["course_ids"] = f"At most {MAX_COURSES} courses."
    else:
        unpaid = [c.title for c in chosen if c.enrollment_type != EnrollmentType.PAID or c.price_amount <= 0]
        other = [c.title for c in chosen if c.currency != data.currency]
        if unpaid:
            errors["course_ids"] = f"Only paid courses can be in a bundle: {', '.join(unpaid)}."
        elif currency_ok and other:
            errors["course_ids"] = f"Every course must be priced in {data.currency}: {', '.join(other)} is not."
    prepared = covers.prepare_upload(data.cover, errors)
    if errors:
        raise BundleInvalid(errors)
    return chosen, prepared


def _apply(bundle: Bundle, data: BundleInput, chosen: list[Course], cover: covers.PreparedCover | None) -> None:
    bundle.slug = data.slug.strip().lower()
    bundle.name = data.name.strip()
    bundle.description = (data.description or "").strip()
    bundle.price_amount = data.price_amount
    bundle.currency = data.currency
    bundle.is_published = data.is_published
    bundle.cover_alt = " ".join((data.cover_alt or "").split())
    if cover is not None:
        bundle.cover_image = covers.store(cover)
    elif data.remove_cover:
        bundle.cover_image = None


def _set_courses(bundle: Bundle, chosen: list[Course]) -> None:
    db.session.execute(bundle_courses.delete().where(bundle_courses.c.bundle_id == bundle.id))
    if chosen:
        db.session.execute(bundle_courses.insert(), [{"bundle_id": bundle.id, "course_id": course.id,
                                                      "position": position}
                                                     for position, course in enumerate(chosen)])
    db.session.expire(bundle, ["courses"])


def _snapshot(bundle: Bundle) -> dict:
    return {**audit.snapshot(bundle, FIELDS), "course_ids": [course.id for course in bundle.courses]}


def create(data: BundleInput, *, actor: User) -> Bundle:
    chosen, cover = _check(data, None)
    bundle = Bundle()
    _apply(bundle, data, chosen, cover)
    db.session.add(bundle)
    db.session.flush()
    _set_courses(bundle, chosen)
    audit.record("bundle.created", bundle, actor=actor, after=_snapshot(bundle))
    return bundle


def update(bundle: Bundle, data: BundleInput, *, actor: User) -> Bundle:
    """Save the bundle. Payments already made keep what they bought (their own course rows); a
    cover it no longer uses is released by the caller after its commit (`release_cover`)."""
    chosen, cover = _check(data, bundle.id)
    before = _snapshot(bundle)
    _apply(bundle, data, chosen, cover)
    _set_courses(bundle, chosen)
    db.session.flush()
    audit.record("bundle.updated", bundle, actor=actor, before=before, after=_snapshot(bundle))
    return bundle


def release_cover(key: str | None) -> None:
    """Delete a cover's files once no bundle and no course uses them (after the commit)."""
    if key and db.session.scalar(db.select(Bundle.id).where(Bundle.cover_image == key).limit(1)) is None \
            and db.session.scalar(db.select(Course.id).where(Course.cover_image == key).limit(1)) is None:
        covers.discard(key)


def describe_retirement(bundle: Bundle) -> str:
    return (f"“{bundle.name}” stops being sold at once and leaves the catalog; learners who bought it keep "
            "their courses. This cannot be undone.")


def retire(bundle: Bundle, *, actor: User, now: datetime) -> Bundle:
    """Stop selling the bundle for good (idempotent); open checkouts of it can still be paid."""
    if bundle.retired_at is None:
        before = _snapshot(bundle)
        bundle.retired_at = now
        bundle.is_published = False
        db.session.flush()
        audit.record("bundle.retired", bundle, actor=actor, before=before, after=_snapshot(bundle))
    return bundle

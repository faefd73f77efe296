"""Bundles for learners: the published ones, a bundle's page, the bundles a course is in, and
the bundle as the multi-course purchase engine's Product (source BUNDLE)."""
from __future__ import annotations

from datetime import datetime

from extensions import db
from models import Bundle, Course, EnrollmentSource, User, bundle_courses
from services.coupons.redemptions import Target
from services.errors import NotFound
from services.payments import purchases


def product_of(bundle: Bundle) -> purchases.Product:
    """The bundle as the purchase engine sells it: its courses, its price, source BUNDLE,
    coupons limited to bundles (or to none) apply."""
    return purchases.Product(kind="BUNDLE", source=EnrollmentSource.BUNDLE, column="bundle_id", id=bundle.id,
                             title=bundle.name, currency=bundle.currency, price_amount=bundle.price_amount,
                             courses=tuple(bundle.courses), coupon_target=Target(bundle_id=bundle.id))


def is_on_sale(bundle: Bundle) -> bool:
    return bundle.is_published and bundle.retired_at is None


def published() -> list[Bundle]:
    """Bundles on sale, by name."""
    return list(db.session.scalars(db.select(Bundle).where(Bundle.is_published.is_(True), Bundle.retired_at.is_(None))
                                   .order_by(Bundle.name, Bundle.id)))


def get_published(slug: str) -> Bundle:
    """The bundle on sale with this slug; NotFound otherwise (unpublished, retired, unknown)."""
    bundle = db.session.scalar(db.select(Bundle).where(Bundle.slug == slug)) if len(slug or "") <= 120 else None
    if bundle is None or not is_on_sale(bundle):
        raise NotFound("We could not find that bundle.", code="BUNDLE_NOT_FOUND")
    return bundle


def get_on_sale(bundle_id: int | None) -> Bundle:
    """The bundle on sale with this id (the API's bundleId); NotFound otherwise."""
    bundle = db.session.get(Bundle, bundle_id) if isinstance(bundle_id, int) and 0 < bundle_id < 2**31 else None
    if bundle is None or not is_on_sale(bundle):
        raise NotFound("We could not find that bundle.", code="BUNDLE_NOT_FOUND")
    return bundle


def containing(course: Course) -> list[Bundle]:
    """The bundles on sale that include `course` (the course page mentions them)."""
    return list(db.session.scalars(
        db.select(Bundle).join(bundle_courses, bundle_courses.c.bundle_id == Bundle.id)
        .where(bundle_courses.c.course_id == course.id, Bundle.is_published.is_(True), Bundle.retired_at.is_(None))
        .order_by(Bundle.name)))


def offer(bundle: Bundle, user: User | None, coupon_code: str | None, now: datetime) -> purchases.PurchaseOffer:
    """What the bundle page shows this visitor or learner (read-only)."""
    return purchases.offer(product_of(bundle), user, coupon_code, now)

"""The back-office API under /api/staff: coupons, courses, payments, enrollments, analytics.

For staff and admin accounts only, with the `staff:read` scope for reads and `staff:write`
for changes (auth.py). Nested in the API blueprint, so it shares its envelope, error handlers,
CORS and rate limits. Every change goes through the same service as the staff pages
(coupons/admin.py, courses/admin.py, payments/refunds.py, learning/enrollments.py, analytics.py),
so the same rules, audit entries and errors apply; a view here only parses JSON and answers.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, jsonify, request

from blueprints.api import serializers
from blueprints.api.auth import requires
from blueprints.api.idempotent import HEADER as IDEMPOTENCY_HEADER, idempotent
from blueprints.api.validation import (Fields, PageRequest, ValidationFailed, json_body, query_bool, query_choice,
                                       query_day, query_int, query_text)
from extensions import db
from models import (Coupon, Course, DiscountType, Enrollment, EnrollmentSource, EnrollmentStatus, EnrollmentType,
                    PaymentSession, PaymentSessionStatus, utcnow)
from services import analytics, pagination
from services.coupons import admin as coupon_admin, dry_run, redemptions
from services.courses import admin as course_admin, catalog
from services.errors import NotFound
from services.learning import enrollments
from services.payments import lists as payment_lists, refunds
from services.people import accounts

bp = Blueprint("staff", __name__, url_prefix="/staff")

staff_read = requires("staff:read", staff=True)
staff_write = requires("staff:write", staff=True)


def ok(http_status: int = 200, /, **payload):
    return jsonify({"success": True, **payload}), http_status


def _page(stmt, *, sort, id_column, integer_ids: bool = True) -> pagination.Page:
    page = PageRequest(integer_ids=integer_ids)
    return pagination.keyset_page(stmt, sort=sort, id_column=id_column, starting_after=page.starting_after,
                                  limit=page.limit)


def _courses_by_keys(keys: list[str] | None) -> list[int] | None:
    if keys is None:
        return None
    try:
        return [catalog.course_by_id_or_slug(key).id for key in keys]
    except NotFound:
        raise ValidationFailed({"applicableCourses": "Choose existing courses (ids or slugs)."}) from None


# --- coupons ------------------------------------------------------------------------------

@bp.get("/coupons")
@staff_read
def list_coupons(user):
    now = utcnow()
    stmt = coupon_admin.search_query(q=query_text("q"), status=query_choice("status", coupon_admin.STATUSES), now=now)
    result = _page(stmt, sort=Coupon.created_at, id_column=Coupon.id)
    return ok(coupons=[serializers.staff_coupon(coupon, now) for coupon in result.items], hasMore=result.has_more)


def _coupon_input(body: dict[str, Any], existing: Coupon | None) -> coupon_admin.CouponInput:
    """The body over the coupon's current values (PATCH) or the defaults (create)."""
    fields = Fields(body)
    base = coupon_admin.CouponInput(code="", name="", discount_type="PERCENTAGE") if existing is None else \
        coupon_admin.CouponInput(
            code=existing.code, name=existing.name, discount_type=existing.discount_type.value,
            percent_off=existing.percent_off, amount_off=existing.amount_off, currency=existing.currency,
            description=existing.description, max_uses=existing.max_uses, per_learner_limit=existing.per_learner_limit,
            valid_from=existing.valid_from, valid_until=existing.valid_until, minimum_amount=existing.minimum_amount,
            maximum_discount=existing.maximum_discount, course_ids=[c.id for c in existing.applicable_courses],
            is_public=existing.is_public, is_active=existing.is_active)
    required = existing is None
    values: dict[str, Any] = {}
    for name, attribute in (("code", "code"), ("name", "name")):
        if required or fields.has(name):
            values[attribute] = fields.string(name, required=True, max_length=200)
    if fields.has("description"):
        values["description"] = fields.string("description", max_length=2000)
    if fields.has("discountType"):
        values["discount_type"] = fields.choice("discountType", [kind.value for kind in DiscountType], required=True)
    kind = values.get("discount_type") or base.discount_type
    # The spec's `discountValue` is a percentage or an amount in minor units, by type;
    # `percentOff` and `amountOff` say which explicitly.
    given = [name for name in ("discountValue", "percentOff", "amountOff") if fields.has(name)]
    if len(given) > 1:
        fields.errors[given[1]] = "Give the discount once: discountValue, percentOff or amountOff."
    elif given and kind == DiscountType.PERCENTAGE.value:
        values["percent_off"], values["amount_off"] = fields.number(given[0]), None
    elif given:
        values["amount_off"], values["percent_off"] = fields.integer(given[0], minimum=0, maximum=99_999_999), None
    elif required:
        fields.errors["discountValue"] = "Give the percentage or the amount (minor units)."
    if fields.has("currency"):
        values["currency"] = fields.string("currency", max_length=3)
    for name, attribute in (("maxUses", "max_uses"), ("perLearnerLimit", "per_learner_limit"),
                            ("minimumAmount", "minimum_amount"), ("maximumDiscount", "maximum_discount")):
        if fields.has(name):
            values[attribute] = fields.integer(name, minimum=0)
    for name, attribute in (("validFrom", "valid_from"), ("validUntil", "valid_until")):
        if fields.has(name):
            values[attribute] = fields.timestamp(name)
    for name, attribute in (("isPublic", "is_public"), ("isActive", "is_active")):
        if fields.has(name) and (flag := fields.boolean(name)) is not None:
            values[attribute] = flag
    courses = fields.course_keys("applicableCourses")
    fields.done()
    if courses is not None:
        values["course_ids"] = _courses_by_keys(courses)
    return dataclasses.replace(base, **values)


@bp.post("/coupons")
@staff_write
@idempotent
def create_coupon(user):
    coupon = coupon_admin.create(_coupon_input(json_body(), None), actor=user)
    db.session.commit()
    return ok(201, coupon=serializers.staff_coupon(coupon, utcnow(), 0))


@bp.patch("/coupons/<int(max=2147483647):coupon_id>")
@staff_write
def update_coupon(user, coupon_id: int):
    body = json_body()
    coupon = coupon_admin.get(coupon_id)
    coupon = coupon_admin.update(coupon, _coupon_input(body, coupon), actor=user)
    db.session.commit()
    return ok(coupon=serializers.staff_coupon(coupon, utcnow()))


@bp.post("/coupons/<int(max=2147483647):coupon_id>/deactivate")
@staff_write
@idempotent
def deactivate_coupon(user, coupon_id: int):
    coupon = coupon_admin.set_active(coupon_admin.get(coupon_id), False, actor=user)
    db.session.commit()
    return ok(coupon=serializers.staff_coupon(coupon, utcnow()))


@bp.post("/coupons/<int(max=2147483647):coupon_id>/bulk-generate")
@staff_write
@idempotent
def bulk_generate(user, coupon_id: int):
    fields = Fields(json_body())
    count = fields.integer("count", minimum=1, maximum=coupon_admin.MAX_BULK, required=True)
    prefix = fields.string("prefix", max_length=20) or ""
    max_uses = fields.integer("maxUses", minimum=1) if fields.has("maxUses") else 1
    fields.done()
    batch_id = coupon_admin.generate_bulk(coupon_admin.get(coupon_id), prefix=prefix, count=count,
                                          max_uses=max_uses, actor=user)
    db.session.commit()
    codes = [code for code, _, _ in coupon_admin.batch_codes(batch_id)]
    return ok(201, batchId=batch_id, count=len(codes), codes=codes)


@bp.get("/coupons/<int(max=2147483647):coupon_id>/usage")
@staff_read
def coupon_usage(user, coupon_id: int):
    coupon, now = coupon_admin.get(coupon_id), utcnow()
    reserved = redemptions.live_reservations(coupon, now)
    return ok(coupon=serializers.staff_coupon(coupon, now, reserved), totals=redemptions.usage_totals(coupon),
              redemptions=[serializers.redemption(item) for item in coupon_admin.recent_redemptions(coupon, 100)])


@bp.get("/dry-run")
@staff_read
def dry_run_quote(user):
    """What a learner (or a visitor) would pay for a course with a code now, with the facts
    behind it: the staff pages' dry run (services/coupons/dry_run.py). Reads only."""
    course_key, email = query_text("courseId", 120), query_text("email", 254).strip()
    code = query_text("code", 64)
    if not course_key:
        raise ValidationFailed({"courseId": "Give the course (id or slug)."})
    course = catalog.course_by_id_or_slug(course_key, include_unpublished=True)
    learner = accounts.require_by_email(email) if email else None
    answer = dry_run.what_would_pay(course, code or None, learner, utcnow())
    return ok(learner=serializers.person(learner) if learner else None, **serializers.dry_run(answer))


# --- courses ------------------------------------------------------------------------------

@bp.get("/courses")
@staff_read
def list_courses(user):
    result = _page(course_admin.list_query(published=query_bool("published")), sort=Course.created_at,
                   id_column=Course.id)
    return ok(courses=[serializers.staff_course(course) for course in result.items], hasMore=result.has_more)


def _course_input(body: dict[str, Any], existing: Course | None) -> course_admin.CourseInput:
    fields = Fields(body)
    base = course_admin.CourseInput(slug="", title="", price_amount=0, currency="USD", enrollment_type="PAID") \
        if existing is None else course_admin.CourseInput(
            slug=existing.slug, title=existing.title, price_amount=existing.price_amount, currency=existing.currency,
            enrollment_type=existing.enrollment_type.value, short_description=existing.short_description,
            description=existing.description, is_published=existing.is_published, capacity=existing.capacity)
    required = existing is None
    values: dict[str, Any] = {}
    for name, attribute, limit in (("slug", "slug", 120), ("title", "title", 200)):
        if required or fields.has(name):
            values[attribute] = fields.string(name, required=True, max_length=limit)
    if required or fields.has("priceAmount"):
        values["price_amount"] = fields.integer("priceAmount", minimum=0, maximum=99_999_999, required=True)
    if fields.has("currency"):
        values["currency"] = (fields.string("currency", required=True, max_length=3) or "").upper()
    if fields.has("enrollmentType"):
        values["enrollment_type"] = fields.choice("enrollmentType", [kind.value for kind in EnrollmentType],
                                                  required=True)
    if fields.has("shortDescription"):
        values["short_description"] = fields.string("shortDescription", max_length=300) or ""
    if fields.has("description"):
        values["description"] = fields.string("description", max_length=100_000) or ""
    if fields.has("isPublished") and (flag := fields.boolean("isPublished")) is not None:
        values["is_published"] = flag
    if fields.has("capacity"):
        values["capacity"] = fields.integer("capacity", minimum=0)
    fields.done()
    return dataclasses.replace(base, **values)


@bp.post("/courses")
@staff_write
@idempotent
def create_course(user):
    course = course_admin.create(_course_input(json_body(), None), actor=user)
    db.session.commit()
    return ok(201, course=serializers.staff_course(course))


@bp.patch("/courses/<int(max=2147483647):course_id>")
@staff_write
def update_course(user, course_id: int):
    body = json_body()
    course = course_admin.get(course_id)
    course = course_admin.update(course, _course_input(body, course), actor=user)
    db.session.commit()
    return ok(course=serializers.staff_course(course))


@bp.post("/courses/<int(max=2147483647):course_id>/publish")
@staff_write
def publish_course(user, course_id: int):
    body = json_body() if request.get_data() else {}
    fields = Fields(body)
    published = fields.boolean("published")
    fields.done()
    course = course_admin.set_published(course_admin.get(course_id), True if published is None else published,
                                        actor=user)
    db.session.commit()
    return ok(course=serializers.staff_course(course))


# --- payments -----------------------------------------------------------------------------

@bp.get("/payments")
@staff_read
def list_payments(user):
    start, end = query_day("start"), query_day("end")
    stmt = payment_lists.payments_query(
        status=query_choice("status", [status.value for status in PaymentSessionStatus]),
        course_id=query_int("courseId"), coupon=query_text("coupon", 32), start=start.isoformat() if start else "",
        end=end.isoformat() if end else "", q=query_text("q"), flagged=bool(query_bool("flagged")))
    result = _page(stmt, sort=PaymentSession.created_at, id_column=PaymentSession.id, integer_ids=False)
    return ok(payments=[serializers.staff_payment(item) for item in result.items], hasMore=result.has_more)


def _payment(payment_id: str) -> PaymentSession:
    payment = payment_lists.payment(payment_id) if len(payment_id) <= 40 else None
    if payment is None:
        raise NotFound("We could not find that payment.", code="PAYMENT_SESSION_NOT_FOUND")
    return payment


@bp.get("/payments/<payment_id>")
@staff_read
def payment_detail(user, payment_id: str):
    payment = _payment(payment_id)
    return ok(payment=serializers.staff_payment(payment),
              timeline=[serializers.timeline_item(item) for item in payment_lists.timeline(payment)])


@bp.post("/payments/<payment_id>/refund")
@staff_write
@idempotent
def refund_payment(user, payment_id: str):
    fields = Fields(json_body())
    amount = fields.integer("amount", minimum=1, maximum=99_999_999)
    reason = fields.string("reason", required=True, max_length=300)
    fields.done()
    payment = _payment(payment_id)
    # With an Idempotency-Key the Stripe refund is keyed by it too, as the staff form's token does.
    refund = refunds.request_refund(payment, amount=amount, reason=reason, actor=user, now=utcnow(),
                                    request_key=request.headers.get(IDEMPOTENCY_HEADER))
    db.session.commit()
    return ok(201, refund={"id": refund["id"], "amount": refund["amount"], "status": refund["status"]},
              payment=serializers.staff_payment(payment))


# --- enrollments --------------------------------------------------------------------------

@bp.get("/enrollments")
@staff_read
def list_enrollments(user):
    course_id = query_int("courseId")
    if course_id is None:
        raise ValidationFailed({"courseId": "Give the course whose enrollments to list."})
    status = query_choice("status", [status.value for status in EnrollmentStatus])
    stmt = enrollments.for_course_query(course_admin.get(course_id), status=status)
    result = _page(stmt, sort=Enrollment.enrolled_at, id_column=Enrollment.id)
    return ok(enrollments=[serializers.staff_enrollment(item) for item in result.items], hasMore=result.has_more)


@bp.post("/enrollments")
@staff_write
@idempotent
def grant_enrollment(user):
    fields = Fields(json_body())
    course_key = fields.course_id()
    email = fields.string("email", required=True, max_length=254)
    source = fields.choice("source", [source.value for source in EnrollmentSource]) or EnrollmentSource.DIRECT.value
    fields.done()
    course = catalog.course_by_id_or_slug(course_key)
    learner = accounts.require_by_email(email)
    enrollment = enrollments.grant(learner, course, source=EnrollmentSource(source), now=utcnow(), actor=user)
    db.session.commit()
    return ok(201, enrollment=serializers.staff_enrollment(enrollment))


@bp.post("/enrollments/<int(max=2147483647):enrollment_id>/revoke")
@staff_write
@idempotent
def revoke_enrollment(user, enrollment_id: int):
    fields = Fields(json_body())
    reason = fields.string("reason", required=True, max_length=300)
    fields.done()
    enrollment = db.session.get(Enrollment, enrollment_id)
    if enrollment is None:
        raise NotFound("We could not find that enrollment.", code="ENROLLMENT_NOT_FOUND")
    enrollment = enrollments.revoke(enrollment, reason, utcnow(), actor=user)
    db.session.commit()
    return ok(enrollment=serializers.staff_enrollment(enrollment))


# --- analytics ----------------------------------------------------------------------------

@bp.get("/analytics/summary")
@staff_read
def analytics_summary(user):
    start, end = query_day("start"), query_day("end")
    start, end, message = analytics.parse_range(start.isoformat() if start else None,
                                                end.isoformat() if end else None, utcnow().date())
    return ok(start=start.isoformat(), end=end.isoformat(), message=message, totals=analytics.totals(start, end),
              tables=[serializers.analytics_table(analytics.table(name, start, end)) for name in analytics.TABLES])

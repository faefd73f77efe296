"""Model → JSON, in the spec's camelCase. Money is integer minor units beside its currency.

The shapes are described, field by field, in blueprints/api/openapi.py; a test checks real
responses against that description.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import current_app, url_for

from models import Bundle, Coupon, CouponRedemption, Course, DiscountType, Enrollment, LearningPath, Membership, PaymentSession, User
from services import products
from services.bundles import catalog as bundle_catalog
from services.coupons import admin as coupon_admin
from services.coupons.pricing import Quote
from services.learning import access


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def membership(item: Membership) -> dict[str, Any]:
    """A membership on sale (issue 16): its prices per interval, trial and what it unlocks."""
    return {
        "id": item.id, "slug": item.slug, "name": item.name, "description": item.description,
        "currency": item.currency,
        "prices": {interval.stripe: item.price_for(interval) for interval in item.intervals},
        "trialDays": item.trial_days, "unlocksAllCourses": item.unlocks_all_courses,
        "courseIds": [] if item.unlocks_all_courses else [course.id for course in item.courses],
    }


def course_ref(course: Course) -> dict[str, Any]:
    return {"id": course.id, "slug": course.slug, "title": course.title}


def bundle(item: Bundle) -> dict[str, Any]:
    """A bundle on sale (issue 20): its courses, price and the saving against buying them one by one."""
    product = bundle_catalog.product_of(item)
    return {"id": item.id, "slug": item.slug, "name": item.name, "description": item.description,
            "priceAmount": item.price_amount, "currency": item.currency,
            "listTotal": product.list_total, "saving": product.saving,
            "courses": [{**course_ref(course), "priceAmount": course.price_amount} for course in item.courses]}


def product_ref(session: PaymentSession) -> dict[str, Any]:
    """What the session sells (services.products.sold): kind COURSE, BUNDLE, ..., its id and
    title, and the ids of the courses it enrolls."""
    sold = products.sold(session)
    return {"kind": sold.kind, "id": sold.id, "title": sold.title,
            "courseIds": [course.id for course in products.courses_of(session)]}


def membership_ref(membership: Membership | None) -> dict[str, Any] | None:
    return {"id": membership.id, "slug": membership.slug, "name": membership.name} if membership else None


def payment_session(session: PaymentSession) -> dict[str, Any]:
    """The owner's view of one checkout attempt (a course's, or a membership's: issue 16)."""
    return {
        "id": session.id,
        "courseId": session.course_id,
        "course": course_ref(session.course) if session.course is not None else None,
        "bundleId": session.bundle_id,
        "learningPathId": session.learning_path_id,
        "product": product_ref(session),
        "membershipId": session.membership_id,
        "membership": membership_ref(session.membership),
        "interval": session.billing_interval.stripe if session.billing_interval else None,
        "userId": session.user_id,
        "status": session.status.value,
        "amount": session.amount,
        "discountAmount": session.discount_amount,
        "finalAmount": session.final_amount,
        "amountRefunded": session.amount_refunded,
        "currency": session.currency,
        "couponCode": session.coupon_code,
        "stripeSessionId": session.stripe_session_id,
        "paymentIntentId": session.payment_intent_id,
        "enrollmentId": session.enrollment_id,
        "checkoutUrl": session.checkout_url if session.status.value == "PENDING" else None,
        "stripeCustomerId": session.stripe_customer_id,
        "metadata": session_metadata(session),
        "failureCode": session.failure_code,
        "failureMessage": session.failure_message,
        "createdAt": iso(session.created_at),
        "updatedAt": iso(session.updated_at),
        "expiresAt": iso(session.expires_at),
        "completedAt": iso(session.completed_at),
    }


def session_metadata(session: PaymentSession) -> dict[str, str]:
    """What the session told Stripe about itself (Stripe's metadata): ids, course, coupon.

    Not `extra` itself, which also holds our Stripe parameters and idempotency key.
    """
    return dict((session.extra or {}).get("stripe_params", {}).get("metadata", {}))


def public_payment_session(session: PaymentSession) -> dict[str, Any]:
    """What anyone holding a Stripe session id may see: no user, email, ids of people or coupon."""
    return {
        "status": session.status.value,
        "courseId": session.course_id,
        "course": course_ref(session.course) if session.course is not None else None,
        "product": product_ref(session),
        "amount": session.amount,
        "discountAmount": session.discount_amount,
        "finalAmount": session.final_amount,
        "currency": session.currency,
    }


# The spec's Enrollment names some fields twice; each alias carries the same value as its
# canonical name (docs/api.md lists them). Clients should read the canonical one.
ENROLLMENT_ALIASES = {"enrollmentSource": "source", "completionPercentage": "progress", "amount": "amountPaid"}


def certificate_url(item: Enrollment) -> str | None:
    if not item.certificate_id:
        return None
    # On FRONTEND_URL like every link we hand out, never the request's Host header.
    return current_app.config["FRONTEND_URL"] + url_for("learner.certificate", public_id=item.certificate_id)


def enrollment(item: Enrollment) -> dict[str, Any]:
    """Every field of the spec's Enrollment model, camelCase; money in minor units."""
    state = access.course_access(item)  # the lecture pages' verdict, unlock order included
    payload = {
        "id": item.id,
        "userId": item.user_id,
        "courseId": item.course_id,
        "course": course_ref(item.course),
        "status": item.status.value,
        "hasAccess": state.allowed,
        "access": {"allowed": state.allowed, "code": state.code, "reason": state.message},
        "type": item.type.value,
        "source": item.source.value,
        "paymentStatus": item.payment_status.value,
        "paymentId": item.payment_id,
        "amountPaid": item.amount_paid,
        "discountApplied": item.discount_applied,
        "currency": item.currency,
        "progress": round(float(item.progress or 0), 2),
        "currentLectureId": item.current_lecture_id,
        "completedLectures": item.completed_lectures,
        "totalLectures": item.total_lectures,
        "totalTimeSpent": item.total_time_spent,
        "streakDays": item.streak_days,
        "enrolledAt": iso(item.enrolled_at),
        "paidAt": iso(item.paid_at),
        "completedAt": iso(item.completed_at),
        "expiresAt": iso(item.expires_at),
        "lastAccessedAt": iso(item.last_accessed_at),
        "certificateEarned": item.certificate_earned,
        "certificateEarnedAt": iso(item.certificate_earned_at),
        "certificateUrl": certificate_url(item),
        "notes": item.notes,
        "subscriptionId": item.subscription_id,
    }
    payload.update({alias: payload[canonical] for alias, canonical in ENROLLMENT_ALIASES.items()})
    return payload


def public_coupon(coupon: Coupon) -> dict[str, Any]:
    """A public coupon as advertised. Percentages are JSON numbers (they are not money)."""
    percent = coupon.discount_type == DiscountType.PERCENTAGE
    percent_off = coupon.percent_off
    return {
        "code": coupon.code,
        "name": coupon.name,
        "description": coupon.description,
        "discountType": coupon.discount_type.value,
        "percentOff": (int(percent_off) if percent_off == int(percent_off) else float(percent_off))
        if percent and percent_off is not None else None,
        "amountOff": None if percent else coupon.amount_off,
        "currency": None if percent else coupon.currency,
        "minimumAmount": coupon.minimum_amount,
        "maximumDiscount": coupon.maximum_discount,
        "validFrom": iso(coupon.valid_from),
        "validUntil": iso(coupon.valid_until),
        "applicableCourses": [course.slug for course in coupon.applicable_courses],
    }


def quote(result: Quote, code: str | None) -> dict[str, Any]:
    return {
        "isValid": result.is_valid,
        "code": result.coupon_code or code,
        "courseId": result.course_id,
        "originalAmount": result.original_amount,
        "discountAmount": result.discount_amount,
        "finalAmount": result.final_amount,
        "currency": result.currency,
        "refusalCode": result.refusal_code,
        "message": result.refusal_message,
    }


# --- the back office (staff endpoints) ---------------------------------------------------

def person(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name}


def dry_run(answer) -> dict[str, Any]:
    """A staff dry run (services/coupons/dry_run.DryRun): the quote as the learner would get it,
    and the coupon's facts behind it (None without a known code), the facts in camelCase."""
    return {"quote": quote(answer.quote, answer.quote.coupon_code), "coupon": _camel(answer.as_dict()["coupon"])}


def _camel(value):
    if isinstance(value, dict):
        return {_camel_name(key): _camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


def _camel_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _percent(value) -> int | float | None:
    return None if value is None else (int(value) if value == int(value) else float(value))


def staff_coupon(coupon: Coupon, now: datetime, live_reservations: int | None = None) -> dict[str, Any]:
    percent = coupon.discount_type == DiscountType.PERCENTAGE
    return {
        "id": coupon.id,
        "code": coupon.code,
        "name": coupon.name,
        "description": coupon.description,
        "discountType": coupon.discount_type.value,
        "discountValue": _percent(coupon.percent_off) if percent else coupon.amount_off,
        "percentOff": _percent(coupon.percent_off) if percent else None,
        "amountOff": None if percent else coupon.amount_off,
        "currency": coupon.currency,
        "maxUses": coupon.max_uses,
        "currentUses": coupon.current_uses,
        "liveReservations": live_reservations,
        "perLearnerLimit": coupon.per_learner_limit,
        "isActive": coupon.is_active,
        "isPublic": coupon.is_public,
        "status": coupon_admin.status_of(coupon, now).upper(),
        "validFrom": iso(coupon.valid_from),
        "validUntil": iso(coupon.valid_until),
        "minimumAmount": coupon.minimum_amount,
        "maximumDiscount": coupon.maximum_discount,
        "applicableCourses": [course_ref(course) for course in coupon.applicable_courses],
        "batchId": coupon.batch_id,
        "createdAt": iso(coupon.created_at),
        "updatedAt": iso(coupon.updated_at),
    }


def redemption(item: CouponRedemption) -> dict[str, Any]:
    return {
        "id": item.id, "status": item.status.value, "user": person(item.user),
        "course": course_ref(item.course) if item.course is not None else None, "bundleId": item.bundle_id,
        "paymentSessionId": item.payment_session_id, "enrollmentId": item.enrollment_id,
        "discountAmount": item.discount_amount, "currency": item.currency, "reservedAt": iso(item.reserved_at),
        "redeemedAt": iso(item.redeemed_at), "releasedAt": iso(item.released_at),
    }


def staff_course(course: Course) -> dict[str, Any]:
    return {
        "id": course.id, "slug": course.slug, "title": course.title, "shortDescription": course.short_description,
        "description": course.description, "priceAmount": course.price_amount, "currency": course.currency,
        "enrollmentType": course.enrollment_type.value, "isPublished": course.is_published,
        "capacity": course.capacity, "lectureCount": len(course.lectures),
        "createdAt": iso(course.created_at), "updatedAt": iso(course.updated_at),
    }


def staff_payment(session: PaymentSession) -> dict[str, Any]:
    return {**payment_session(session), "user": person(session.user), "latestChargeId": session.latest_charge_id,
            "needsReview": session.needs_review, "reviewReason": session.review_reason,
            "refundable": max(session.final_amount - session.amount_refunded, 0)}


def timeline_item(item: dict[str, Any]) -> dict[str, Any]:
    return {"at": iso(item["at"]), "kind": item["kind"], "title": item["title"], "who": item["who"],
            "detail": item.get("detail"), "status": item.get("status"), "eventId": item.get("event_id"),
            "before": item.get("before"), "after": item.get("after")}


def staff_enrollment(item: Enrollment) -> dict[str, Any]:
    return {**enrollment(item), "user": person(item.user), "statusReason": item.status_reason,
            "revokedAt": iso(item.revoked_at), "referrerId": item.referrer_id}


def analytics_table(table) -> dict[str, Any]:
    def cell(value):
        return value.isoformat() if isinstance(value, date) else value

    return {"name": table.name, "title": table.title,
            "columns": [{"key": column.key, "label": column.label, "kind": column.kind} for column in table.columns],
            "rows": [{key: cell(value) for key, value in row.items()} for row in table.rows]}


def learning_path(path: LearningPath) -> dict[str, Any]:
    """A published learning path (issue 20): its courses in order; `price` null without a path price."""
    return {
        "id": path.id, "slug": path.slug, "name": path.name, "description": path.description,
        "sequential": path.sequential,
        "price": ({"amount": path.price_amount, "currency": path.currency} if path.price_amount is not None
                  else None),
        "url": current_app.config["FRONTEND_URL"] + url_for("paths.show", slug=path.slug),
        "courses": [{**course_ref(step.course), "position": step.position, "isFree": step.course.is_free,
                     "priceAmount": step.course.price_amount, "currency": step.course.currency}
                    for step in path.steps],
    }


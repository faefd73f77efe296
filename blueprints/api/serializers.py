"""Model → JSON, in the spec's camelCase. Money is integer minor units beside its currency.

The shapes are described, field by field, in blueprints/api/openapi.py; a test checks real
responses against that description.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, url_for

from models import Coupon, Course, DiscountType, Enrollment, PaymentSession
from services.coupons.pricing import Quote
from services.learning import access


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def course_ref(course: Course) -> dict[str, Any]:
    return {"id": course.id, "slug": course.slug, "title": course.title}


def payment_session(session: PaymentSession) -> dict[str, Any]:
    """The owner's view of one checkout attempt."""
    return {
        "id": session.id,
        "courseId": session.course_id,
        "course": course_ref(session.course),
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
        "course": course_ref(session.course),
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
    state = access.describe(item)
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

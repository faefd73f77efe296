"""The back-office part of the OpenAPI description: /api/staff/… (see blueprints/api/staff.py).

Request schemas state no more than the views enforce (schemathesis checks that whatever
violates them is refused), response schemas exactly what the serializers return.
"""
from __future__ import annotations

from typing import Any

from blueprints.api.openapi_parts import (CURRENCY, IDEMPOTENCY_KEY, MONEY, NULLABLE_DATETIME, NULLABLE_STRING,
                                          body, errors, json, list_params, list_response, ref, success)

STAFF_SECURED = [{"bearerAuth": ["staff:write"]}, {"cookieAuth": [], "csrfHeader": []}]
STAFF_READ = [{"bearerAuth": ["staff:read"]}, {"cookieAuth": []}]
ID = {"type": "integer", "minimum": 1, "maximum": 2147483647}
NULLABLE_COUNT = {"type": ["integer", "null"], "minimum": 0, "maximum": 2147483647}
NULLABLE_BOOL = {"type": ["boolean", "null"]}
TAG = ["Back office"]


def _id_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": ID}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


SCHEMAS: dict[str, Any] = {
    "Person": {"type": "object", "required": ["id", "email", "name"],
               "properties": {"id": {"type": "integer"}, "email": {"type": "string"}, "name": {"type": "string"}}},
    "StaffCoupon": {
        "type": "object",
        "required": ["id", "code", "name", "description", "discountType", "discountValue", "percentOff", "amountOff",
                     "currency", "maxUses", "currentUses", "liveReservations", "perLearnerLimit", "isActive",
                     "isPublic", "status", "validFrom", "validUntil", "minimumAmount", "maximumDiscount",
                     "applicableCourses", "batchId", "createdAt", "updatedAt"],
        "properties": {
            "id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"},
            "description": NULLABLE_STRING,
            "discountType": {"type": "string", "enum": ["PERCENTAGE", "FIXED_AMOUNT"]},
            "discountValue": {"type": "number", "description": "percentOff or amountOff, by type (the spec's name)."},
            "percentOff": {"type": ["number", "null"]}, "amountOff": {"type": ["integer", "null"]},
            "currency": NULLABLE_STRING, "maxUses": {"type": ["integer", "null"]}, "currentUses": {"type": "integer"},
            "liveReservations": {"type": ["integer", "null"], "description": "Uses held by open checkouts."},
            "perLearnerLimit": {"type": ["integer", "null"]}, "isActive": {"type": "boolean"},
            "isPublic": {"type": "boolean"},
            "status": {"type": "string", "enum": ["ACTIVE", "SCHEDULED", "EXPIRED", "USED_UP", "INACTIVE"]},
            "validFrom": NULLABLE_DATETIME, "validUntil": NULLABLE_DATETIME,
            "minimumAmount": {"type": ["integer", "null"]}, "maximumDiscount": {"type": ["integer", "null"]},
            "applicableCourses": {"type": "array", "items": ref("CourseRef")}, "batchId": NULLABLE_STRING,
            "createdAt": {"type": "string", "format": "date-time"}, "updatedAt": {"type": "string", "format": "date-time"},
        },
    },
    "Redemption": {
        "type": "object",
        "required": ["id", "status", "user", "course", "bundleId", "paymentSessionId", "enrollmentId",
                     "discountAmount", "currency", "reservedAt", "redeemedAt", "releasedAt"],
        "properties": {
            "id": {"type": "integer"}, "status": {"type": "string", "enum": ["RESERVED", "REDEEMED", "RELEASED"]},
            "user": ref("Person"), "course": {"oneOf": [ref("CourseRef"), {"type": "null"}]},
            "bundleId": {"type": ["integer", "null"]}, "paymentSessionId": NULLABLE_STRING,
            "enrollmentId": {"type": ["integer", "null"]}, "discountAmount": MONEY, "currency": CURRENCY,
            "reservedAt": {"type": "string", "format": "date-time"}, "redeemedAt": NULLABLE_DATETIME,
            "releasedAt": NULLABLE_DATETIME,
        },
    },
    "StaffCourse": {
        "type": "object",
        "required": ["id", "slug", "title", "shortDescription", "description", "priceAmount", "currency",
                     "enrollmentType", "isPublished", "capacity", "lectureCount", "createdAt", "updatedAt"],
        "properties": {
            "id": {"type": "integer"}, "slug": {"type": "string"}, "title": {"type": "string"},
            "shortDescription": {"type": "string"}, "description": {"type": "string"}, "priceAmount": MONEY,
            "currency": CURRENCY,
            "enrollmentType": {"type": "string", "enum": ["FREE", "PAID", "SUBSCRIPTION", "INVITATION_ONLY", "WAITLIST"]},
            "isPublished": {"type": "boolean"}, "capacity": {"type": ["integer", "null"]},
            "lectureCount": {"type": "integer"},
            "createdAt": {"type": "string", "format": "date-time"}, "updatedAt": {"type": "string", "format": "date-time"},
        },
    },
    "StaffPayment": {"allOf": [ref("PaymentSession"), {
        "type": "object", "required": ["user", "latestChargeId", "needsReview", "reviewReason", "refundable"],
        "properties": {"user": ref("Person"), "latestChargeId": NULLABLE_STRING, "needsReview": {"type": "boolean"},
                       "reviewReason": NULLABLE_STRING,
                       "refundable": {**MONEY, "description": "What is left to refund."}}}]},
    "TimelineItem": {
        "type": "object", "required": ["at", "kind", "title", "who"],
        "properties": {"at": {"type": "string", "format": "date-time"},
                       "kind": {"type": "string", "enum": ["audit", "stripe"]}, "title": {"type": "string"},
                       "who": {"type": "string"}, "detail": NULLABLE_STRING, "status": NULLABLE_STRING,
                       "eventId": NULLABLE_STRING, "before": {"type": ["object", "null"]},
                       "after": {"type": ["object", "null"]}},
    },
    "StaffEnrollment": {"allOf": [ref("Enrollment"), {
        "type": "object", "required": ["user", "statusReason", "revokedAt", "referrerId"],
        "properties": {"user": ref("Person"), "statusReason": NULLABLE_STRING, "revokedAt": NULLABLE_DATETIME,
                       "referrerId": {"type": ["integer", "null"],
                                      "description": "The learner whose referral link brought this purchase "
                                                     "(source REFERRAL, or a bundle or path bought through a "
                                                     "link); staff only."}}}]},
    "DryRunCoupon": {
        "type": "object",
        "required": ["code", "isActive", "currency", "validFrom", "validUntil", "minimumAmount", "maximumDiscount",
                     "appliesToCourse", "maxUses", "redeemedUses", "liveReservations", "usesLeft", "perLearnerLimit",
                     "learnerUses", "learnerHistory"],
        "properties": {
            "code": {"type": "string"}, "isActive": {"type": "boolean"}, "currency": NULLABLE_STRING,
            "validFrom": NULLABLE_DATETIME, "validUntil": NULLABLE_DATETIME,
            "minimumAmount": {"type": ["integer", "null"]}, "maximumDiscount": {"type": ["integer", "null"]},
            "appliesToCourse": {"type": "boolean"}, "maxUses": {"type": ["integer", "null"]},
            "redeemedUses": {"type": "integer"},
            "liveReservations": {"type": "integer", "description": "Uses held by open checkouts (anyone's)."},
            "usesLeft": {"type": ["integer", "null"],
                         "description": "For this learner and course, by checkout's rule; null: unlimited."},
            "perLearnerLimit": {"type": ["integer", "null"]},
            "learnerUses": {"type": "integer", "description": "What counts against perLearnerLimit."},
            "learnerHistory": {"type": "array", "items": {
                "type": "object", "required": ["courseId", "status", "discount", "currency", "at"],
                "properties": {"courseId": {"type": "integer"},
                               "status": {"type": "string", "enum": ["RESERVED", "REDEEMED", "RELEASED"]},
                               "discount": MONEY, "currency": CURRENCY, "at": NULLABLE_DATETIME}}},
        },
    },
    "AnalyticsTable": {
        "type": "object", "required": ["name", "title", "columns", "rows"],
        "properties": {
            "name": {"type": "string"}, "title": {"type": "string"},
            "columns": {"type": "array", "items": {
                "type": "object", "required": ["key", "label", "kind"],
                "properties": {"key": {"type": "string"}, "label": {"type": "string"},
                               "kind": {"type": "string", "enum": ["text", "int", "money", "percent"]}}}},
            "rows": {"type": "array", "items": {"type": "object", "additionalProperties": {
                "type": ["string", "integer", "number", "null"]}}},
        },
    },
}

_COUPON_FIELDS = {
    "code": {"type": "string", "minLength": 1, "maxLength": 200, "description": "3–32 of A–Z, 0–9, _ and -."},
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": {"type": ["string", "null"], "maxLength": 2000},
    "discountType": {"type": "string", "enum": ["PERCENTAGE", "FIXED_AMOUNT"]},
    "discountValue": {"type": ["number", "null"],
                      "description": "A percentage (0–100] or, for FIXED_AMOUNT, an amount in minor units. "
                                     "Or give percentOff / amountOff instead (one of the three)."},
    "percentOff": {"type": ["number", "null"]},
    "amountOff": {"type": ["integer", "null"], "minimum": 0, "maximum": 99999999},
    "currency": {"type": ["string", "null"], "maxLength": 3},
    "maxUses": NULLABLE_COUNT, "perLearnerLimit": NULLABLE_COUNT, "minimumAmount": NULLABLE_COUNT,
    "maximumDiscount": NULLABLE_COUNT,
    "validFrom": {"type": ["string", "null"], "format": "date-time"},
    "validUntil": {"type": ["string", "null"], "format": "date-time"},
    "isPublic": NULLABLE_BOOL, "isActive": NULLABLE_BOOL,
    "applicableCourses": {"type": ["array", "null"], "maxItems": 500,
                          "items": {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 120},
                                              {"type": "integer", "minimum": 1}]},
                          "description": "Course ids or slugs; empty for every course."},
}
_COURSE_FIELDS = {
    "slug": {"type": "string", "minLength": 1, "maxLength": 120}, "title": {"type": "string", "minLength": 1,
                                                                          "maxLength": 200},
    "priceAmount": {"type": "integer", "minimum": 0, "maximum": 99999999, "description": "Minor units."},
    "currency": {"type": "string", "minLength": 1, "maxLength": 3},
    "enrollmentType": {"type": "string", "enum": ["FREE", "PAID", "SUBSCRIPTION", "INVITATION_ONLY", "WAITLIST"]},
    "shortDescription": {"type": ["string", "null"], "maxLength": 300},
    "description": {"type": ["string", "null"], "maxLength": 100000},
    "isPublished": NULLABLE_BOOL, "capacity": NULLABLE_COUNT,
}
_COUPON = success({"coupon": ref("StaffCoupon")}, ["coupon"])
_COURSE = success({"course": ref("StaffCourse")}, ["course"])
_ENROLLMENT = success({"enrollment": ref("StaffEnrollment")}, ["enrollment"])
_READ_ERRORS = (400, 401, 403, 429)
_WRITE_ERRORS = (400, 401, 403, 404, 409, 415, 422, 429)


def _op(operation_id: str, summary: str, *, write: bool, **rest) -> dict[str, Any]:
    return {"operationId": operation_id, "tags": TAG, "summary": summary,
            "security": STAFF_SECURED if write else STAFF_READ, **rest}


PATHS: dict[str, Any] = {
    "/api/staff/coupons": {
        "get": _op("staffListCoupons", "Coupons, newest first, with search and status filters", write=False,
                   parameters=[_query("q", {"type": "string", "maxLength": 200}, "Part of the code or name."),
                               _query("status", {"type": "string", "enum": ["active", "scheduled", "expired",
                                                                            "used_up", "inactive"]}, "One status."),
                               *list_params("id")],
                   responses={"200": list_response("coupons", ref("StaffCoupon"), "A page of coupons."),
                              **errors(*_READ_ERRORS)}),
        "post": _op("staffCreateCoupon", "Create a coupon (the rules and audit of the staff page)", write=True,
                    parameters=[IDEMPOTENCY_KEY],
                    requestBody=body(_COUPON_FIELDS, ["code", "name"], {
                        "code": "WELCOME10", "name": "Welcome Discount", "description": "10% off for new users",
                        "discountType": "PERCENTAGE", "discountValue": 10, "maxUses": 100,
                        "validFrom": "2026-12-01T00:00:00Z", "validUntil": "2026-12-31T00:00:00Z",
                        "minimumAmount": 5000, "maximumDiscount": 2000}),
                    responses={"201": json(_COUPON, "Created."), **errors(*_WRITE_ERRORS)}),
    },
    "/api/staff/coupons/{couponId}": {"patch": _op(
        "staffUpdateCoupon", "Change some of a coupon's fields (max uses never below what is used or held)",
        write=True, parameters=[_id_param("couponId", "The coupon's id.")],
        requestBody=body(_COUPON_FIELDS, [], {"maxUses": 200}),
        responses={"200": json(_COUPON, "Updated."), **errors(*_WRITE_ERRORS)})},
    "/api/staff/coupons/{couponId}/deactivate": {"post": _op(
        "staffDeactivateCoupon", "Deactivate a coupon (reservations already made stay valid)", write=True,
        parameters=[_id_param("couponId", "The coupon's id."), IDEMPOTENCY_KEY],
        responses={"200": json(_COUPON, "Deactivated."), **errors(400, 401, 403, 404, 409, 429)})},
    "/api/staff/coupons/{couponId}/bulk-generate": {"post": _op(
        "staffBulkGenerateCoupons", "Generate single-use codes with this coupon's settings", write=True,
        parameters=[_id_param("couponId", "The template coupon's id."), IDEMPOTENCY_KEY],
        requestBody=body({"count": {"type": "integer", "minimum": 1, "maximum": 10000},
                          "prefix": {"type": ["string", "null"], "maxLength": 20},
                          "maxUses": {"type": ["integer", "null"], "minimum": 1, "maximum": 2147483647}},
                         ["count"], {"count": 50, "prefix": "SPRING", "maxUses": 1}),
        responses={"201": json(success({"batchId": {"type": "string"}, "count": {"type": "integer"},
                                        "codes": {"type": "array", "items": {"type": "string"}}},
                                       ["batchId", "count", "codes"]), "The batch and its codes."),
                   **errors(*_WRITE_ERRORS)})},
    "/api/staff/coupons/{couponId}/usage": {"get": _op(
        "staffCouponUsage", "A coupon's uses: totals per currency and the latest redemptions", write=False,
        parameters=[_id_param("couponId", "The coupon's id.")],
        responses={"200": json(success({
            "coupon": ref("StaffCoupon"),
            "totals": {"type": "array", "items": {"type": "object", "required": ["currency", "uses", "discount",
                                                                                  "revenue"],
                                                  "properties": {"currency": CURRENCY, "uses": {"type": "integer"},
                                                                 "discount": MONEY, "revenue": {"type": "integer"}}}},
            "redemptions": {"type": "array", "items": ref("Redemption")}}, ["coupon", "totals", "redemptions"]),
            "Usage."), **errors(401, 403, 404, 429)})},
    "/api/staff/dry-run": {"get": _op(
        "staffDryRun", "What a learner would pay for a course with a code now, and the facts behind it",
        write=False,
        description="The staff pages' dry run: the same pricing function as checkout, read only (nothing is "
                    "reserved or written). Without `email`, the quote a visitor gets.",
        parameters=[{**_query("courseId", {"type": "string", "minLength": 1, "maxLength": 120},
                              "The course's id or slug."), "required": True},
                    _query("code", {"type": "string", "maxLength": 64}, "The coupon code as the learner types it."),
                    _query("email", {"type": "string", "maxLength": 254}, "The learner's email.")],
        responses={"200": json(success({
            "learner": {"oneOf": [ref("Person"), {"type": "null"}]},
            "quote": {"type": "object",
                      "required": ["isValid", "code", "courseId", "originalAmount", "discountAmount", "finalAmount",
                                   "currency", "refusalCode", "message"],
                      "properties": {"isValid": {"type": "boolean"}, "code": NULLABLE_STRING,
                                     "courseId": {"type": "integer"}, "originalAmount": MONEY,
                                     "discountAmount": MONEY, "finalAmount": MONEY, "currency": CURRENCY,
                                     "refusalCode": NULLABLE_STRING, "message": NULLABLE_STRING}},
            "coupon": {"oneOf": [ref("DryRunCoupon"), {"type": "null"}]}}, ["learner", "quote", "coupon"]),
            "The quote and its facts."), **errors(400, 401, 403, 404, 429)})},
    "/api/staff/courses": {
        "get": _op("staffListCourses", "Courses, newest first", write=False,
                   parameters=[_query("published", {"type": "boolean"}, "Only published (true) or drafts (false)."),
                               *list_params("id")],
                   responses={"200": list_response("courses", ref("StaffCourse"), "A page of courses."),
                              **errors(*_READ_ERRORS)}),
        "post": _op("staffCreateCourse", "Create a course", write=True, parameters=[IDEMPOTENCY_KEY],
                    requestBody=body(_COURSE_FIELDS, ["slug", "title", "priceAmount"], {
                        "slug": "rust-basics", "title": "Rust Basics", "priceAmount": 4900, "currency": "USD",
                        "enrollmentType": "PAID"}),
                    responses={"201": json(_COURSE, "Created."), **errors(*_WRITE_ERRORS)}),
    },
    "/api/staff/courses/{courseId}": {"patch": _op(
        "staffUpdateCourse", "Change some of a course's fields", write=True,
        parameters=[_id_param("courseId", "The course's id.")], requestBody=body(_COURSE_FIELDS, [], {"priceAmount": 5900}),
        responses={"200": json(_COURSE, "Updated."), **errors(*_WRITE_ERRORS)})},
    "/api/staff/courses/{courseId}/publish": {"post": _op(
        "staffPublishCourse", "Publish a course (or unpublish it with `published: false`)", write=True,
        parameters=[_id_param("courseId", "The course's id.")],
        requestBody={"required": False, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"published": NULLABLE_BOOL}}}}},
        responses={"200": json(_COURSE, "The course."), **errors(*_WRITE_ERRORS)})},
    "/api/staff/payments": {"get": _op(
        "staffListPayments", "Payment sessions, newest first, with the staff page's filters and search", write=False,
        parameters=[_query("status", {"type": "string", "enum": ["PENDING", "PROCESSING", "COMPLETED", "CANCELLED",
                                                                 "EXPIRED", "FAILED", "REFUNDED"]}, "One status."),
                    _query("courseId", {"type": "integer", "minimum": 0, "maximum": 999999999}, "One course."),
                    _query("coupon", {"type": "string", "maxLength": 32}, "A coupon code."),
                    _query("start", {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                           "Created on or after this day (UTC)."),
                    _query("end", {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                           "Created on or before this day (UTC)."),
                    _query("q", {"type": "string", "maxLength": 200}, "Email part, or a ps_/cs_/pi_/ch_ id."),
                    _query("flagged", {"type": "boolean"}, "Only those flagged for review."),
                    *list_params("id")],
        responses={"200": list_response("payments", ref("StaffPayment"), "A page of payments."),
                   **errors(*_READ_ERRORS)})},
    "/api/staff/payments/{paymentId}": {"get": _op(
        "staffPaymentDetail", "A payment session with its timeline (our audit entries and Stripe's events)",
        write=False, parameters=[{"name": "paymentId", "in": "path", "required": True, "description": "`ps_…`",
                                  "schema": {"type": "string", "minLength": 1, "maxLength": 255}}],
        responses={"200": json(success({"payment": ref("StaffPayment"),
                                        "timeline": {"type": "array", "items": ref("TimelineItem")}},
                                       ["payment", "timeline"]), "The payment."), **errors(401, 403, 404, 429)})},
    "/api/staff/payments/{paymentId}/refund": {"post": _op(
        "staffRefundPayment", "Refund all (no amount) or part of a paid session through Stripe", write=True,
        description="Recorded at once; the payment's status and the enrollment change when Stripe's webhook "
                    "confirms. With an Idempotency-Key the Stripe refund is keyed by it as well.",
        parameters=[{"name": "paymentId", "in": "path", "required": True, "description": "`ps_…`",
                     "schema": {"type": "string", "minLength": 1, "maxLength": 255}}, IDEMPOTENCY_KEY],
        requestBody=body({"amount": {"type": ["integer", "null"], "minimum": 1, "maximum": 99999999,
                                     "description": "Minor units; omit for everything left."},
                          "reason": {"type": "string", "minLength": 1, "maxLength": 300}},
                         ["reason"], {"amount": 1000, "reason": "requested_by_customer"}),
        responses={"201": json(success({"refund": {"type": "object", "required": ["id", "amount", "status"],
                                                   "properties": {"id": {"type": "string"}, "amount": MONEY,
                                                                  "status": {"type": "string"}}},
                                        "payment": ref("StaffPayment")}, ["refund", "payment"]), "Refund sent."),
                   **errors(*_WRITE_ERRORS, 503)})},
    "/api/staff/enrollments": {
        "get": _op("staffListEnrollments", "A course's enrollments, newest first", write=False,
                   parameters=[{**_query("courseId", {"type": "integer", "minimum": 0, "maximum": 999999999},
                                         "The course."), "required": True},
                               _query("status", {"type": "string", "enum": ["ACTIVE", "COMPLETED", "SUSPENDED",
                                                                            "REVOKED", "EXPIRED"]}, "One status."),
                               *list_params("id")],
                   responses={"200": list_response("enrollments", ref("StaffEnrollment"), "A page of enrollments."),
                              **errors(400, 401, 403, 404, 429)}),
        "post": _op("staffGrantEnrollment", "Enroll a learner by hand (free of charge; the seat cap applies)",
                    write=True, parameters=[IDEMPOTENCY_KEY],
                    requestBody=body({"courseId": {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 120},
                                                             {"type": "integer", "minimum": 1}]},
                                      "email": {"type": "string", "minLength": 1, "maxLength": 254},
                                      "source": {"type": ["string", "null"],
                                                 "enum": ["DIRECT", "REFERRAL", "PROMOTION", "BUNDLE", "LEARNING_PATH",
                                                          None]}},
                                     ["courseId", "email"], {"courseId": "python-foundations",
                                                             "email": "learner@example.com", "source": "DIRECT"}),
                    responses={"201": json(_ENROLLMENT, "Enrolled (or already was)."), **errors(*_WRITE_ERRORS)}),
    },
    "/api/staff/enrollments/{enrollmentId}/revoke": {"post": _op(
        "staffRevokeEnrollment", "Revoke an enrollment with a reason", write=True,
        parameters=[_id_param("enrollmentId", "The enrollment's id."), IDEMPOTENCY_KEY],
        requestBody=body({"reason": {"type": "string", "minLength": 1, "maxLength": 300}}, ["reason"],
                         {"reason": "Chargeback"}),
        responses={"200": json(_ENROLLMENT, "Revoked."), **errors(*_WRITE_ERRORS)})},
    "/api/staff/analytics/summary": {"get": _op(
        "staffAnalyticsSummary", "The staff analytics for a date range: totals per currency and every table",
        write=False,
        parameters=[_query("start", {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                           "First day (UTC); default 30 days before end."),
                    _query("end", {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                           "Last day (UTC); default today.")],
        responses={"200": json(success({
            "start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"},
            "message": {**NULLABLE_STRING, "description": "Set when the range was adjusted (at most 366 days)."},
            "totals": {"type": "array", "items": {
                "type": "object", "required": ["currency", "payments", "gross", "refunded", "net"],
                "properties": {"currency": CURRENCY, "payments": {"type": "integer"}, "gross": {"type": "integer"},
                               "refunded": {"type": "integer"}, "net": {"type": "integer"}}}},
            "tables": {"type": "array", "items": ref("AnalyticsTable")}},
            ["start", "end", "message", "totals", "tables"]), "The figures."), **errors(*_READ_ERRORS)})},
}

"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

Hand-written on purpose: it is the contract other clients code against, so it is reviewed
like code. tests/api/test_openapi.py validates real responses against it, and
tests/api/test_schemathesis.py fuzzes every operation with it.
"""
from __future__ import annotations

from typing import Any

from blueprints.api import openapi_staff
from blueprints.api.openapi_parts import (CURRENCY, IDEMPOTENCY_KEY, MONEY, NULLABLE_DATETIME, NULLABLE_STRING, body,
                                          errors, json, list_params, list_response, ref, success)

PERCENT = {"type": "number", "minimum": 0, "maximum": 100, "description": "Percent complete."}
ENROLLMENT_SOURCE = {"type": "string", "enum": ["DIRECT", "REFERRAL", "PROMOTION", "BUNDLE", "LEARNING_PATH"]}
COURSE_KEY = {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 120}, {"type": "integer", "minimum": 1}],
              "description": "The course's numeric id or its slug."}


ERROR_DESCRIPTIONS = {
    400: "Invalid input: VALIDATION_ERROR (with `fields`), INVALID_JSON, CSRF_FAILED, INVALID_IDEMPOTENCY_KEY, "
         "INVALID_CURSOR; staff refunds: INVALID_AMOUNT, REFUND_TOO_LARGE.",
    401: "UNAUTHENTICATED: no credential, or an invalid, expired or revoked one.",
    403: "FORBIDDEN (e.g. a learner on a staff endpoint), INSUFFICIENT_SCOPE (the token lacks the scope; "
         "`WWW-Authenticate: Bearer error=\"insufficient_scope\"`), ACCOUNT_DISABLED or INVITATION_REQUIRED.",
    404: "NOT_FOUND, COURSE_NOT_FOUND, PATH_NOT_FOUND, MEMBERSHIP_NOT_FOUND, PAYMENT_SESSION_NOT_FOUND, ENROLLMENT_NOT_FOUND, "
         "COUPON_NOT_FOUND or USER_NOT_FOUND. Someone else's resource is also 404.",
    405: "METHOD_NOT_ALLOWED.",
    402: "PAYMENT_REQUIRED: the course is not free; start a payment session instead.",
    409: "CONFLICT: ALREADY_ENROLLED, ALREADY_SUBSCRIBED, MEMBERSHIP_RETIRED, ALREADY_OWNED, PATH_NOT_FOR_SALE, COURSE_FULL, NOT_CANCELLABLE, PAYMENT_PROCESSING, WAITLISTED, EMAIL_TAKEN, "
         "IDEMPOTENCY_KEY_REUSED, IDEMPOTENCY_KEY_IN_USE; staff: COURSE_FULL, NOT_REFUNDABLE, ALREADY_REFUNDED and "
         "Stripe's refusals of a refund.",
    413: "PAYLOAD_TOO_LARGE.",
    415: "INVALID_JSON: the body must be JSON (`Content-Type: application/json`).",
    422: "A coupon refusal (COUPON_NOT_FOUND, COUPON_EXPIRED, … AMOUNT_BELOW_MINIMUM_CHARGE) with `fields.couponCode`; "
         "INTERVAL_NOT_OFFERED with `fields.interval` (a membership not sold at that interval); "
         "staff: COUPON_INVALID or COURSE_INVALID with every rule broken in `fields`.",
    429: "RATE_LIMITED: too many requests; `Retry-After` says when to try again.",
    503: "CHECKOUT_UNAVAILABLE, STRIPE_UNAVAILABLE (also a refund's), or IDENTITY_PROVIDER_UNAVAILABLE: try again "
         "shortly.",
}


def _error_response(status: int) -> dict[str, Any]:
    response = json(ref("Error"), ERROR_DESCRIPTIONS[status])
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"},
                                                    "description": "`Bearer realm=\"learnpay\"` (RFC 6750)."}}
    if status == 429:
        response["headers"] = {"Retry-After": {"schema": {"type": "string"},
                                               "description": "Seconds to wait before retrying."}}
    return response


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["success", "error"],
        "properties": {
            "success": {"const": False},
            "error": {
                "type": "object", "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "Stable, for programs."},
                    "message": {"type": "string", "description": "For people."},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"},
                               "description": "One message per invalid request field (camelCase)."},
                },
            },
        },
    },
    "CourseRef": {
        "type": "object", "required": ["id", "slug", "title"],
        "properties": {"id": {"type": "integer"}, "slug": {"type": "string"}, "title": {"type": "string"}},
    },
    "Bundle": {
        "type": "object",
        "required": ["id", "slug", "name", "description", "priceAmount", "currency", "listTotal", "saving", "courses"],
        "properties": {
            "id": {"type": "integer"}, "slug": {"type": "string"}, "name": {"type": "string"},
            "description": {"type": "string"}, "priceAmount": MONEY, "currency": CURRENCY,
            "listTotal": {**MONEY, "description": "What its courses cost bought one by one."},
            "saving": {**MONEY, "description": "listTotal − priceAmount (0 when none)."},
            "courses": {"type": "array", "items": {
                "type": "object", "required": ["id", "slug", "title", "priceAmount"],
                "properties": {"id": {"type": "integer"}, "slug": {"type": "string"}, "title": {"type": "string"},
                               "priceAmount": MONEY}}},
        },
    },
    "ProductRef": {
        "type": "object", "required": ["kind", "id", "title", "courseIds"],
        "description": "What the session sells: a course, or a product (a bundle, ...) enrolling several courses.",
        "properties": {"kind": {"type": "string", "description": "COURSE, BUNDLE, LEARNING_PATH, ..."},
                       "id": {"type": ["integer", "null"]}, "title": {"type": "string"},
                       "courseIds": {"type": "array", "items": {"type": "integer"}}},
    },
    "MembershipRef": {
        "type": ["object", "null"], "required": ["id", "slug", "name"],
        "properties": {"id": {"type": "integer"}, "slug": {"type": "string"}, "name": {"type": "string"}},
    },
    "Membership": {
        "type": "object",
        "required": ["id", "slug", "name", "description", "currency", "prices", "trialDays", "unlocksAllCourses",
                     "courseIds"],
        "properties": {
            "id": {"type": "integer"}, "slug": {"type": "string"}, "name": {"type": "string"},
            "description": {"type": "string"}, "currency": CURRENCY,
            "prices": {"type": "object", "description": "Price per interval (minor units); only the intervals it is "
                                                        "sold at.",
                       "properties": {"month": MONEY, "year": MONEY}, "additionalProperties": False},
            "trialDays": {"type": "integer", "minimum": 0},
            "unlocksAllCourses": {"type": "boolean", "description": "Every published course, or only courseIds."},
            "courseIds": {"type": "array", "items": {"type": "integer"}},
        },
    },
    "PaymentSessionStatus": {"type": "string", "enum": ["PENDING", "PROCESSING", "COMPLETED", "CANCELLED",
                                                        "EXPIRED", "FAILED", "REFUNDED"]},
    "PaymentSession": {
        "type": "object",
        "required": ["id", "courseId", "course", "bundleId", "learningPathId", "product", "membershipId", "membership",
                     "interval", "userId", "status", "amount",
                     "discountAmount", "finalAmount", "amountRefunded", "currency", "couponCode", "stripeSessionId", "paymentIntentId",
                     "enrollmentId", "checkoutUrl", "stripeCustomerId", "metadata", "failureCode", "failureMessage",
                     "createdAt", "updatedAt", "expiresAt", "completedAt"],
        "properties": {
            "id": {"type": "string"},
            "courseId": {"type": ["integer", "null"], "description": "Null when the session sells a product."},
            "course": {"oneOf": [ref("CourseRef"), {"type": "null"}]},
            "bundleId": {"type": ["integer", "null"]}, "product": ref("ProductRef"),
            "learningPathId": {"type": ["integer", "null"], "description": "The learning path whose paid courses "
                                                                            "the session sells (issue 20)."},
            "membershipId": {"type": ["integer", "null"], "description": "Set for a membership's subscription checkout."},
            "membership": ref("MembershipRef"),
            "interval": {"type": ["string", "null"], "enum": ["month", "year", None]},
            "userId": {"type": "integer"}, "status": ref("PaymentSessionStatus"),
            "amount": {**MONEY, "description": "The list price when the session began (minor units)."},
            "discountAmount": MONEY, "finalAmount": MONEY, "amountRefunded": MONEY, "currency": CURRENCY,
            "couponCode": NULLABLE_STRING, "stripeSessionId": NULLABLE_STRING, "paymentIntentId": NULLABLE_STRING,
            "enrollmentId": {"type": ["integer", "null"]},
            "checkoutUrl": {**NULLABLE_STRING, "description": "Where to resume paying, while PENDING."},
            "stripeCustomerId": {**NULLABLE_STRING, "description": "The learner's Stripe Customer (`cus_…`), one "
                                                                   "per learner, reused by every checkout."},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"},
                         "description": "The metadata the session carries on Stripe (payment_session_id, "
                                        "course_id, course_slug, user_id, coupon_code)."},
            "failureCode": NULLABLE_STRING, "failureMessage": NULLABLE_STRING,
            "createdAt": {"type": "string", "format": "date-time"},
            "updatedAt": {"type": "string", "format": "date-time"},
            "expiresAt": NULLABLE_DATETIME, "completedAt": NULLABLE_DATETIME,
        },
    },
    "PublicPaymentSession": {
        "type": "object", "additionalProperties": False,
        "description": "No personal data: no user, email, coupon or Stripe customer.",
        "required": ["status", "courseId", "course", "product", "amount", "discountAmount", "finalAmount",
                     "currency"],
        "properties": {"status": ref("PaymentSessionStatus"), "courseId": {"type": ["integer", "null"]},
                       "course": {"oneOf": [ref("CourseRef"), {"type": "null"}]}, "product": ref("ProductRef"),
                       "amount": MONEY, "discountAmount": MONEY,
                       "finalAmount": MONEY, "currency": CURRENCY},
    },
    "Enrollment": {
        "type": "object",
        "description": "Every field of the spec's Enrollment model. Where the spec names a field twice, the "
                       "second name is an alias with the same value: enrollmentSource = source, "
                       "completionPercentage = progress, amount = amountPaid.",
        "required": ["id", "userId", "courseId", "course", "status", "hasAccess", "access", "type", "source",
                     "enrollmentSource", "paymentStatus", "paymentId", "amountPaid", "amount", "discountApplied",
                     "currency", "progress", "completionPercentage", "currentLectureId", "completedLectures",
                     "totalLectures", "totalTimeSpent", "streakDays", "enrolledAt", "paidAt", "completedAt",
                     "expiresAt", "lastAccessedAt", "certificateEarned", "certificateEarnedAt", "certificateUrl",
                     "notes"],
        "properties": {
            "id": {"type": "integer"}, "userId": {"type": "integer"}, "courseId": {"type": "integer"},
            "course": ref("CourseRef"),
            "status": {"type": "string", "enum": ["ACTIVE", "COMPLETED", "SUSPENDED", "REVOKED", "EXPIRED"]},
            "hasAccess": {"type": "boolean", "description": "Same as access.allowed."},
            "access": {"type": "object", "required": ["allowed", "code", "reason"], "properties": {
                "allowed": {"type": "boolean"},
                "code": {"type": "string", "enum": ["ENROLLED", "NOT_ENROLLED", "EXPIRED", "REVOKED", "SUSPENDED",
                                                    "MEMBERSHIP_PAST_DUE", "MEMBERSHIP_ENDED",
                                                    "MEMBERSHIP_NOT_INCLUDED"]},
                "reason": {"type": "string", "description": "For people: why access is (not) given."}}},
            "type": {"type": "string", "enum": ["FREE", "PAID", "SUBSCRIPTION", "INVITATION_ONLY", "WAITLIST"]},
            "source": ENROLLMENT_SOURCE,
            "enrollmentSource": {**ENROLLMENT_SOURCE, "description": "Alias of source."},
            "paymentStatus": {"type": "string",
                              "enum": ["FREE", "PENDING", "PAID", "PARTIALLY_REFUNDED", "REFUNDED", "FAILED"]},
            "paymentId": {**NULLABLE_STRING, "description": "The payment session (`ps_…`) that paid for it."},
            "amountPaid": MONEY, "amount": {**MONEY, "description": "Alias of amountPaid (minor units)."},
            "discountApplied": MONEY, "currency": CURRENCY,
            "progress": PERCENT, "completionPercentage": {**PERCENT, "description": "Alias of progress."},
            "currentLectureId": {"type": ["integer", "null"]},
            "completedLectures": {"type": "integer", "minimum": 0}, "totalLectures": {"type": "integer", "minimum": 0},
            "totalTimeSpent": {"type": "integer", "minimum": 0, "description": "Seconds."},
            "streakDays": {"type": "integer", "minimum": 0},
            "enrolledAt": {"type": "string", "format": "date-time"}, "paidAt": NULLABLE_DATETIME,
            "completedAt": NULLABLE_DATETIME, "expiresAt": NULLABLE_DATETIME, "lastAccessedAt": NULLABLE_DATETIME,
            "certificateEarned": {"type": "boolean"}, "certificateEarnedAt": NULLABLE_DATETIME,
            "certificateUrl": {**NULLABLE_STRING, "description": "The public certificate page, once earned."},
            "notes": NULLABLE_STRING,
            "subscriptionId": {"type": ["integer", "null"],
                               "description": "A SUBSCRIPTION enrollment: the membership subscription that opens it; "
                                              "access follows it (MEMBERSHIP_* codes say why not)."},
        },
    },
    "PublicCoupon": {
        "type": "object",
        "required": ["code", "name", "description", "discountType", "percentOff", "amountOff", "currency",
                     "minimumAmount", "maximumDiscount", "validFrom", "validUntil", "applicableCourses"],
        "properties": {
            "code": {"type": "string"}, "name": {"type": "string"}, "description": NULLABLE_STRING,
            "discountType": {"type": "string", "enum": ["PERCENTAGE", "FIXED_AMOUNT"]},
            "percentOff": {"type": ["number", "null"], "description": "For PERCENTAGE coupons (not money)."},
            "amountOff": {"type": ["integer", "null"], "description": "For FIXED_AMOUNT coupons, minor units."},
            "currency": {"type": ["string", "null"]},
            "minimumAmount": {"type": ["integer", "null"]}, "maximumDiscount": {"type": ["integer", "null"]},
            "validFrom": NULLABLE_DATETIME, "validUntil": NULLABLE_DATETIME,
            "applicableCourses": {"type": "array", "items": {"type": "string"},
                                  "description": "Course slugs; empty means every course."},
        },
    },
    "CouponValidation": success({
        "isValid": {"type": "boolean"}, "code": {"type": "string"}, "courseId": {"type": "integer"},
        "originalAmount": MONEY, "discountAmount": MONEY, "finalAmount": MONEY, "currency": CURRENCY,
        "refusalCode": {**NULLABLE_STRING, "description": "Why the code was refused, when isValid is false."},
        "message": {**NULLABLE_STRING, "description": "The refusal, for people."},
    }, ["isValid", "code", "courseId", "originalAmount", "discountAmount", "finalAmount", "currency",
        "refusalCode", "message"]),
}

SCHEMAS["LearningPath"] = {
    "type": "object",
    "required": ["id", "slug", "name", "description", "sequential", "price", "url", "courses"],
    "properties": {
        "id": {"type": "integer"}, "slug": {"type": "string"}, "name": {"type": "string"},
        "description": {"type": "string"},
        "sequential": {"type": "boolean", "description": "Each course unlocks once the one before it is completed."},
        "price": {"oneOf": [{"type": "object", "required": ["amount", "currency"],
                             "properties": {"amount": MONEY, "currency": CURRENCY}}, {"type": "null"}],
                  "description": "The price of the path's paid courses bought together (less for a learner who "
                                 "owns some); null: each paid course is bought on its own."},
        "url": {"type": "string", "description": "The path's page."},
        "courses": {"type": "array", "description": "In the path's order.", "items": {
            "type": "object", "required": ["id", "slug", "title", "position", "isFree", "priceAmount", "currency"],
            "properties": {"id": {"type": "integer"}, "slug": {"type": "string"}, "title": {"type": "string"},
                           "position": {"type": "integer", "minimum": 1}, "isFree": {"type": "boolean"},
                           "priceAmount": MONEY, "currency": CURRENCY}}},
    },
}

SECURED = [{"bearerAuth": []}, {"cookieAuth": [], "csrfHeader": []}]
SECURED_SAFE = [{"bearerAuth": []}, {"cookieAuth": []}]
COUPON_CODE = {"type": ["string", "null"], "maxLength": 32}


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255}}


CHECKOUT_RESULT = success({
    "status": {"type": "string", "enum": ["REDIRECT", "ENROLLED"],
               "description": "REDIRECT: send the learner to redirectUrl. ENROLLED: the price was 0."},
    "session": {"oneOf": [ref("PaymentSession"), {"type": "null"}]},
    "redirectUrl": {**NULLABLE_STRING, "description": "Stripe Checkout's hosted page."},
    "enrollment": ref("Enrollment"),
}, ["status", "session", "redirectUrl"])

PATHS: dict[str, Any] = {
    "/api/bundles": {"get": {
        "operationId": "listBundles", "tags": ["Bundles"], "security": [],
        "summary": "The bundles on sale (public)",
        "responses": {"200": json(success({"bundles": {"type": "array", "items": ref("Bundle")}}, ["bundles"]),
                                  "The bundles, by name.")},
    }},
    "/api/payments/sessions": {"post": {
        "operationId": "createPaymentSession", "tags": ["Payment sessions"], "security": SECURED,
        "parameters": [IDEMPOTENCY_KEY],
        "summary": "Start a Stripe Checkout for a course, a bundle or a learning path's paid courses (the price is "
                   "computed by the server)",
        "description": "Give `courseId` for a course or `bundleId` for a bundle (issue 20): one Stripe Checkout "
                       "Session enrolls the learner in each course of the bundle they do not have yet, at the "
                       "bundle price less what the courses they own would cost in it. A fully owned bundle is "
                       "409 ALREADY_OWNED; a full course in it 409 COURSE_FULL. With `learningPathId` instead "
                       "(and no coupon): \"Enroll in path\" — the learner follows the path and is enrolled in its "
                       "free courses at once, then one checkout sells the path's paid courses they do not own "
                       "(less for those they own). 409 PATH_NOT_FOR_SALE for a path without a price, "
                       "ALREADY_OWNED when nothing is left to buy. A membership (issue 16): `membershipId` and "
                       "`interval` instead (Stripe Checkout in subscription mode; the coupon applies to the first "
                       "payment; 409 ALREADY_SUBSCRIBED while the learner holds a trialing, active or past-due "
                       "subscription to it).",
        "requestBody": body({
            "courseId": COURSE_KEY, "couponCode": COUPON_CODE,
            "bundleId": {"type": "integer", "minimum": 1, "description": "A bundle instead of a course."},
            "learningPathId": {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 120},
                                         {"type": "integer", "minimum": 1}],
                               "description": "A learning path's id or slug (instead of courseId)."},
            "membershipId": {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 120},
                                       {"type": "integer", "minimum": 1}],
                             "description": "The membership's id or slug (instead of courseId)."},
            "interval": {"type": "string", "enum": ["month", "year"], "description": "With membershipId."},
            "returnUrl": {"type": ["string", "null"], "format": "uri",
                          "description": "Where Stripe sends the learner after paying; must be on an allowed origin. "
                                         "`session_id={CHECKOUT_SESSION_ID}` is appended."},
            "cancelUrl": {"type": ["string", "null"], "format": "uri",
                          "description": "Where Stripe sends the learner on cancel; must be on an allowed origin. "
                                         "`payment_session=<id>` is appended."},
        }, [], {"courseId": "python-foundations", "couponCode": "WELCOME10",
                          "returnUrl": "http://127.0.0.1:5000/payment/success",
                          "cancelUrl": "http://127.0.0.1:5000/payment/cancel"}),
        "responses": {
            "201": json(CHECKOUT_RESULT, "A payment session to pay (REDIRECT), or enrolled at once (price 0)."),
            "202": json(success({"status": {"const": "WAITLISTED"}, "session": {"type": "null"},
                                   "redirectUrl": {"type": "null"}, "message": {"type": "string"}},
                                  ["status", "session", "redirectUrl"]),
                         "The course is full: the learner joined its waiting list."),
            **errors(400, 401, 403, 404, 409, 415, 422, 429, 503),
        },
    }},
    "/api/payments/sessions/{id}": {"get": {
        "operationId": "getPaymentSession", "tags": ["Payment sessions"], "security": SECURED_SAFE,
        "summary": "One of the caller's payment sessions",
        "parameters": [_path_param("id", "The payment session id (`ps_…`).")],
        "responses": {"200": json(success({"session": ref("PaymentSession")}, ["session"]), "The session."),
                      **errors(401, 403, 404, 429)},
    }},
    "/api/payments/sessions/stripe/{stripeId}": {"get": {
        "operationId": "getPaymentSessionByStripeId", "tags": ["Payment sessions"], "security": [],
        "summary": "A payment session's status by its Stripe Checkout Session id (public, no personal data)",
        "parameters": [_path_param("stripeId", "The Stripe Checkout Session id (`cs_…`).")],
        "responses": {"200": json(success({"session": ref("PublicPaymentSession")}, ["session"]), "The status."),
                      **errors(404, 429)},
    }},
    "/api/payments/sessions/{id}/cancel": {"post": {
        "operationId": "cancelPaymentSession", "tags": ["Payment sessions"], "security": SECURED,
        "summary": "Cancel a pending payment session (its Stripe session is expired, its coupon use released)",
        "parameters": [_path_param("id", "The payment session id (`ps_…`)."), IDEMPOTENCY_KEY],
        "responses": {"200": json(success({"session": ref("PaymentSession")}, ["session"]),
                                   "The session: CANCELLED, or COMPLETED if Stripe had already taken the payment."),
                      **errors(400, 401, 403, 404, 409, 429, 503)},
    }},
    "/api/payments/coupons/validate": {"post": {
        "operationId": "validateCoupon", "tags": ["Coupons"], "security": SECURED,
        "summary": "Price a course with a coupon code for the caller",
        "requestBody": body({"code": {"type": "string", "minLength": 1, "maxLength": 32}, "courseId": COURSE_KEY,
                              "amount": {"description": "Ignored, whatever its type (the spec's client sends a "
                                                        "number of its own): the price always comes from the "
                                                        "server."}},
                             ["code", "courseId"], {"code": "WELCOME10", "courseId": "python-foundations", "amount": 4900}),
        "responses": {"200": json(ref("CouponValidation"), "The quote; isValid false with the refusal."),
                      **errors(400, 401, 403, 404, 415, 429)},
    }},
    "/api/payments/coupons/active": {"get": {
        "operationId": "listActiveCoupons", "tags": ["Coupons"], "security": [],
        "summary": "Public coupons that can be used now (private codes are never listed)",
        "parameters": list_params("code"),
        "responses": {"200": list_response("coupons", ref("PublicCoupon"), "The public coupons, by code."),
                      **errors(400, 429)},
    }},
    "/api/payments/enrollments": {
        "post": {
            "operationId": "createEnrollment", "tags": ["Enrollments"], "security": SECURED,
            "parameters": [IDEMPOTENCY_KEY],
            "summary": "Enroll in a free course (or with a 100% coupon, or an invitation); idempotent",
            "requestBody": body({"courseId": COURSE_KEY, "couponCode": COUPON_CODE,
                                  "invitationCode": {"type": ["string", "null"], "maxLength": 40}}, ["courseId"],
                                 {"courseId": "intro-to-git"}),
            "responses": {
                "201": json(success({"enrollment": ref("Enrollment"), "created": {"const": True}},
                                      ["enrollment", "created"]), "Enrolled now."),
                "200": json(success({"enrollment": ref("Enrollment"), "created": {"const": False}},
                                      ["enrollment", "created"]), "Already enrolled: nothing changed."),
                **errors(400, 401, 402, 403, 404, 409, 415, 422, 429),
            },
        },
        "get": {
            "operationId": "listEnrollments", "tags": ["Enrollments"], "security": SECURED_SAFE,
            "summary": "The caller's enrollments",
            "parameters": list_params("id"),
            "responses": {"200": list_response("enrollments", ref("Enrollment"), "Newest first."),
                          **errors(400, 401, 403, 429)},
        },
    },
    "/api/payments/enrollments/course/{courseId}": {"get": {
        "operationId": "getCourseEnrollment", "tags": ["Enrollments"], "security": SECURED_SAFE,
        "summary": "The caller's enrollment in one course",
        "parameters": [{"name": "courseId", "in": "path", "required": True, "description": "Course id or slug.",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 120}, "example": "intro-to-git"}],
        "responses": {"200": json(success({"enrollment": ref("Enrollment")}, ["enrollment"]), "The enrollment."),
                      **errors(401, 403, 404, 429)},
    }},
    "/api/paths": {"get": {
        "operationId": "listLearningPaths", "tags": ["Learning paths"], "security": [],
        "summary": "The published learning paths, with their courses in order",
        "responses": {"200": json(success({"paths": {"type": "array", "items": ref("LearningPath")}}, ["paths"]),
                                  "Oldest first."), **errors(429)},
    }},
    "/api/paths/{pathId}": {"get": {
        "operationId": "getLearningPath", "tags": ["Learning paths"], "security": [],
        "summary": "One published learning path",
        "parameters": [{"name": "pathId", "in": "path", "required": True, "description": "Path id or slug.",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 120},
                        "example": "python-web-developer"}],
        "responses": {"200": json(success({"path": ref("LearningPath")}, ["path"]), "The path."),
                      **errors(404, 429)},
    }},
    "/api/memberships": {"get": {
        "operationId": "listMemberships", "tags": ["Memberships"], "security": [],
        "summary": "The memberships open to new members (their prices, trial and the courses they unlock)",
        "responses": {"200": json(success({"memberships": {"type": "array", "items": ref("Membership")}},
                                          ["memberships"]), "Active memberships, by name."),
                      **errors(429)},
    }},
    "/api/payments/webhooks/stripe": {"post": {
        "operationId": "stripeWebhook", "tags": ["Webhooks"], "security": [],
        "summary": "Stripe's webhook endpoint (signed with `Stripe-Signature`; not for API clients)",
        "description": "Verified on the raw body; each Stripe event id has at most one effect. Answers 2xx once "
                       "the effect is committed, 400 for a bad signature or payload, 5xx so Stripe retries.",
        "parameters": [{"name": "Stripe-Signature", "in": "header", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {"200": {"description": "Received (processed, a duplicate, or an event type we ignore)."},
                      "400": {"description": "Bad signature or payload."},
                      "413": {"description": "Payload too large."},
                      "500": {"description": "Not processed; Stripe retries."}},
    }},
}


# A course, a bundle or a learning path (issue 20), one of them.
PATHS["/api/payments/sessions"]["post"]["requestBody"]["content"]["application/json"]["schema"]["anyOf"] = [
    {"required": ["courseId"]}, {"required": ["bundleId"]}, {"required": ["learningPathId"]}]


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Learnpay API", "version": "1.0.0",
            "description": "Payments, coupons and enrollments for Learnpay's courses. JSON in and out; money is "
                           "integer minor units beside an ISO currency code. Successes are "
                           "`{\"success\": true, ...}`, failures `{\"success\": false, \"error\": {code, message, "
                           "fields?}}`. Authenticate with `Authorization: Bearer <personal API token or OIDC JWT>`, "
                           "or the browser session cookie plus `X-CSRFToken` for unsafe methods. See docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": "Payment sessions"}, {"name": "Coupons"}, {"name": "Enrollments"},
                 {"name": "Learning paths"}, {"name": "Memberships"}, {"name": "Webhooks"},
                 {"name": "Back office", "description": "Staff and admin accounts; tokens with staff:read / "
                                                        "staff:write."}],
        "paths": {**PATHS, **openapi_staff.PATHS},
        "components": {
            "schemas": {**SCHEMAS, **openapi_staff.SCHEMAS},
            "responses": {f"E{status}": _error_response(status) for status in ERROR_DESCRIPTIONS},
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "A personal API token (`lp_…`, from /account, with the scopes chosen "
                                              "there: read, write, staff:read, staff:write) or a JWT from the "
                                              "configured OpenID Connect issuer (aud = OIDC_AUDIENCE)."},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session",
                               "description": "The browser session after signing in on the site."},
                "csrfHeader": {"type": "apiKey", "in": "header", "name": "X-CSRFToken",
                               "description": "With cookieAuth on POST: the token from the page's csrf-token meta tag."},
            },
        },
    }

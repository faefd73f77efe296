"""Routes of the JSON API (the spec's endpoints under /api/payments, and /api/openapi.json).

Each view parses its input, calls one service, commits, and answers
`{"success": true, ...}`; errors become `{"success": false, "error": {...}}` through the
app's error handlers, and the two below (several field errors at once; service field
names mapped to the API's camelCase). Unauthenticated calls are answered in auth.py.
"""
from flask import Blueprint, current_app, jsonify, url_for
from flask_limiter.util import get_remote_address

from blueprints.api import openapi, serializers, staff
from blueprints.api.auth import address_rate_limit, api_rate_limit, login_required, rate_limit_key
from blueprints.api.idempotent import idempotent
from blueprints.api.validation import Fields, PageRequest, ValidationFailed, json_body
from blueprints.errors import json_error
from extensions import csrf, db, limiter
from models import Coupon, Enrollment, utcnow
from services import pagination
from services.coupons import redemptions, pricing
from services.bundles import catalog as bundle_catalog
from services.courses import catalog
from services.learning import enrollments
from services.memberships import catalog as membership_catalog
from services.payments import checkout, path_checkout, purchases, subscription_checkout
from services.paths import catalog as path_catalog
from services.errors import Conflict, DomainError, FieldErrors, NotFound

bp = Blueprint("api", __name__, url_prefix="/api")
bp.register_blueprint(staff.bp)  # /api/staff/…: same envelope, handlers, CORS and limits
# Bearer requests cannot be forged cross-site; cookie requests are checked in auth.py.
csrf.exempt(bp)
csrf.exempt(staff.bp)
limiter.limit(api_rate_limit, key_func=rate_limit_key, scope="api")(bp)
limiter.limit(address_rate_limit, key_func=get_remote_address, scope="api-address")(bp)

# Services name form fields in snake_case; the API's fields are the spec's camelCase.
FIELD_NAMES = {"coupon_code": "couponCode", "invitation_code": "invitationCode", "course": "courseId",
               "learning_path": "learningPathId",
               "value": "discountValue", "course_ids": "applicableCourses", "price": "priceAmount"}


def api_field(name: str) -> str:
    if name in FIELD_NAMES:
        return FIELD_NAMES[name]
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


@bp.errorhandler(ValidationFailed)
def validation_failed(error: ValidationFailed):
    return json_error(error.status, error.code, error.message, error.fields)


@bp.errorhandler(FieldErrors)
def field_errors(error: FieldErrors):
    """Several rule violations at once (the staff services'), each on its API field."""
    return json_error(error.status, error.code, "Some fields are invalid.",
                      {api_field(name): message for name, message in error.errors.items()})


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    fields = {api_field(error.field): error.message} if error.field else None
    return json_error(error.status, error.code, error.message, fields)


@bp.after_request
def vary_on_origin(response):
    # flask-cors leaves Vary out when one origin is allowed, but the answer still depends on
    # the Origin header (a refused origin gets no CORS headers): caches must key on it.
    response.vary.add("Origin")
    return response


def ok(http_status: int = 200, /, **payload):
    return jsonify({"success": True, **payload}), http_status


@bp.get("/openapi.json", endpoint="openapi")
def openapi_document():
    return jsonify(openapi.spec())


# --- payment sessions ---------------------------------------------------------------

@bp.post("/payments/sessions")
@login_required
@idempotent
def create_session(user):
    fields = Fields(json_body())
    if fields.body.get("learningPathId") is not None:
        return _start_path(user, fields)
    if "membershipId" in fields.body:  # a membership's subscription (issue 16)
        return _create_subscription_session(user, fields)
    bundle_id = fields.integer("bundleId", minimum=1) if fields.has("bundleId") else None
    course_key = fields.course_id() if bundle_id is None and not fields.errors else None
    if bundle_id is not None and fields.has("courseId"):
        fields.errors["courseId"] = "Give either courseId or bundleId, not both."
    coupon_code = fields.string("couponCode", max_length=redemptions.CODE_MAX_LENGTH)
    allowed = return_url_origins()
    return_url = fields.redirect_url("returnUrl", allowed)
    cancel_url = fields.redirect_url("cancelUrl", allowed)
    fields.done()
    if bundle_id is not None:
        return _start_bundle(user, bundle_id, coupon_code, return_url, cancel_url)
    course = catalog.course_by_id_or_slug(course_key)
    start = checkout.start_checkout(user, course, coupon_code, success_url=_success_url(return_url),
                                    cancel_url=_cancel_url(cancel_url), now=utcnow(), commit=db.session.commit)
    if start.kind == "ALREADY_ENROLLED":
        raise Conflict("You are already enrolled in this course.", code="ALREADY_ENROLLED")
    if start.kind == "WAITLISTED":
        return ok(202, status="WAITLISTED", session=None, redirectUrl=None,
                  message="The course is full: you are on its waiting list.")
    session = serializers.payment_session(start.payment_session) if start.payment_session else None
    if start.kind == "ENROLLED":
        return ok(201, status="ENROLLED", session=session, redirectUrl=None,
                  enrollment=serializers.enrollment(start.enrollment))
    return ok(201, status="REDIRECT", session=session, redirectUrl=start.redirect_url)


def _start_bundle(user, bundle_id: int, coupon_code: str | None, return_url: str | None, cancel_url: str | None):
    """A bundle's checkout (issue 20): the same answers as a course's; a fully owned bundle is
    409 ALREADY_OWNED, a full course in it 409 COURSE_FULL naming the course."""
    product = bundle_catalog.product_of(bundle_catalog.get_on_sale(bundle_id))
    start = purchases.start(product, user, coupon_code, success_url=_success_url(return_url),
                            cancel_url=_cancel_url(cancel_url), now=utcnow(), commit=db.session.commit)
    session = serializers.payment_session(start.payment_session)
    if start.kind == "ENROLLED":
        return ok(201, status="ENROLLED", session=session, redirectUrl=None,
                  enrollment=serializers.enrollment(start.enrollment))
    return ok(201, status="REDIRECT", session=session, redirectUrl=start.redirect_url)


@bp.get("/bundles")
def list_bundles():
    """The bundles on sale, with their courses, price and saving (public, like the catalog)."""
    return ok(bundles=[serializers.bundle(bundle) for bundle in bundle_catalog.published()])


def _create_subscription_session(user, fields: Fields):
    """{membershipId, interval, couponCode?, returnUrl?, cancelUrl?}: Stripe Checkout in subscription
    mode (issue 16). 409 ALREADY_SUBSCRIBED when the learner holds a live subscription to it."""
    membership_key = fields.course_id("membershipId", what="membership")
    interval_name = fields.choice("interval", ("month", "year"), required=True)
    coupon_code = fields.string("couponCode", max_length=redemptions.CODE_MAX_LENGTH)
    allowed = return_url_origins()
    return_url = fields.redirect_url("returnUrl", allowed)
    cancel_url = fields.redirect_url("cancelUrl", allowed)
    fields.done()
    membership = membership_catalog.get_active(membership_key)
    interval = membership_catalog.parse_interval(interval_name, membership)
    start = subscription_checkout.start(user, membership, interval, coupon_code,
                                        success_url=_success_url(return_url), cancel_url=_cancel_url(cancel_url),
                                        now=utcnow(), commit=db.session.commit)
    if start.kind == "ALREADY_SUBSCRIBED":
        raise Conflict(f"You are already a member of {membership.name}.", code="ALREADY_SUBSCRIBED")
    return ok(201, status="REDIRECT", session=serializers.payment_session(start.payment_session),
              redirectUrl=start.redirect_url)


@bp.get("/memberships")
def list_memberships():
    """The memberships open to new members (public, like the catalog)."""
    return ok(memberships=[serializers.membership(item) for item in membership_catalog.active_memberships()])


def _start_path(user, fields: Fields):
    """`{learningPathId}`: "Enroll in path" as on the path's page (issue 20): the path is
    followed and its free courses enrolled (committed), then its paid courses' checkout starts."""
    path_key = fields.course_id("learningPathId")
    if any(fields.body.get(name) is not None for name in ("courseId", "bundleId")) or fields.body.get("couponCode"):
        fields.errors["learningPathId"] = "A learning path is bought alone, without courseId, bundleId or couponCode."
    allowed = return_url_origins()
    return_url = fields.redirect_url("returnUrl", allowed)
    cancel_url = fields.redirect_url("cancelUrl", allowed)
    fields.done()
    path = path_catalog.path_by_id(path_key, field="learningPathId")
    if path.price_amount is None:
        raise Conflict("This path has no price: buy its paid courses one by one (courseId).",
                       code="PATH_NOT_FOR_SALE", field="learningPathId")
    result = path_checkout.enroll(path, user, success_url=_success_url(return_url), cancel_url=_cancel_url(cancel_url),
                                  now=utcnow(), commit=db.session.commit)
    if result.checkout is None:
        raise Conflict("You already have every paid course of this path.", code="ALREADY_OWNED",
                       field="learningPathId")
    session = serializers.payment_session(result.checkout.payment_session)
    return ok(201, status="REDIRECT", session=session, redirectUrl=result.checkout.redirect_url)


def return_url_origins() -> list[str]:
    """The origins a client may name in `returnUrl`/`cancelUrl` (the one rule for them; no open
    redirects): ALLOWED_REDIRECT_ORIGINS, and the frontends trusted to call us cross-origin
    (CORS_ALLOWED_ORIGINS), whose pages send the learner back to themselves. Without those
    fields the URLs are on FRONTEND_URL, never the request's Host."""
    config = current_app.config
    return [*config["ALLOWED_REDIRECT_ORIGINS"], *(config.get("CORS_ALLOWED_ORIGINS") or [])]


def _site_url(endpoint: str) -> str:
    # url_for(_external=True) would take the host from the request, which the client chooses.
    return current_app.config["FRONTEND_URL"] + url_for(endpoint)


def _with_param(url: str, name: str, placeholder: str) -> str:
    if placeholder in url:
        return url
    # Concatenated, not built with url_for/urlencode: those would percent-encode the braces.
    return f"{url}{'&' if '?' in url else '?'}{name}={placeholder}"


def _success_url(return_url: str | None) -> str:
    base = return_url or _site_url("checkout.success")
    return _with_param(base, "session_id", checkout.SESSION_ID_PLACEHOLDER)


def _cancel_url(cancel_url: str | None) -> str:
    base = cancel_url or _site_url("checkout.cancel")
    return _with_param(base, "payment_session", checkout.PAYMENT_SESSION_PLACEHOLDER)


@bp.get("/payments/sessions/<session_id>")
@login_required
def get_session(user, session_id: str):
    return ok(session=serializers.payment_session(checkout.get_for_user(user, session_id)))


@bp.get("/payments/sessions/stripe/<stripe_id>")
def get_session_by_stripe_id(stripe_id: str):
    """Public as in the spec (a return page may not be signed in), so it shows no personal data."""
    payment_session = checkout.by_stripe_id(stripe_id)
    if payment_session is None:
        raise NotFound("We could not find that checkout.", code="PAYMENT_SESSION_NOT_FOUND")
    return ok(session=serializers.public_payment_session(payment_session))


@bp.post("/payments/sessions/<session_id>/cancel")
@login_required
@idempotent
def cancel_session(user, session_id: str):
    payment_session = checkout.cancel(user, session_id, utcnow())
    db.session.commit()
    return ok(session=serializers.payment_session(payment_session))


# --- coupons ------------------------------------------------------------------------

@bp.post("/payments/coupons/validate")
@login_required
def validate_coupon(user):
    fields = Fields(json_body())
    code = fields.string("code", required=True, max_length=redemptions.CODE_MAX_LENGTH)
    course_key = fields.course_id()
    # `amount` (the spec's client sends its own, possibly a float) is ignored whatever it holds:
    # the price is ours, and a value we ignore never fails a request.
    fields.done()
    course = catalog.course_by_id_or_slug(course_key)
    return ok(**serializers.quote(pricing.quote(course, code, user, utcnow()), code))


@bp.get("/payments/coupons/active")
def active_coupons():
    page = PageRequest(integer_ids=False)
    result = pagination.keyset_page(redemptions.public_active_query(utcnow()), sort=Coupon.code, id_column=Coupon.code,
                                    starting_after=page.starting_after, limit=page.limit, descending=False)
    return ok(coupons=[serializers.public_coupon(coupon) for coupon in result.items], hasMore=result.has_more)


# --- enrollments --------------------------------------------------------------------

@bp.post("/payments/enrollments")
@login_required
@idempotent
def create_enrollment(user):
    fields = Fields(json_body())
    course_key = fields.course_id()
    coupon_code = fields.string("couponCode", max_length=redemptions.CODE_MAX_LENGTH)
    invitation_code = fields.string("invitationCode", max_length=40)
    fields.done()
    course = catalog.course_by_id_or_slug(course_key)
    try:
        start = checkout.enroll_without_payment(user, course, coupon_code=coupon_code if not course.is_free else None,
                                                invitation_code=invitation_code, now=utcnow())
    except DomainError as error:
        if error.field == "coupon_code":
            error.field = "couponCode"
        raise
    db.session.commit()  # a waitlist entry too, before saying so
    if start.kind == "WAITLISTED":
        raise Conflict("The course is full: you are on its waiting list.", code="WAITLISTED")
    created = start.kind == "ENROLLED"
    return ok(201 if created else 200, enrollment=serializers.enrollment(start.enrollment), created=created)


@bp.get("/payments/enrollments")
@login_required
def list_enrollments(user):
    page = PageRequest(integer_ids=True)
    result = pagination.keyset_page(enrollments.for_user_query(user), sort=Enrollment.enrolled_at,
                                    id_column=Enrollment.id, starting_after=page.starting_after, limit=page.limit)
    return ok(enrollments=[serializers.enrollment(item) for item in result.items], hasMore=result.has_more)


@bp.get("/payments/enrollments/course/<course_id>")
@login_required
def course_enrollment(user, course_id: str):
    course = catalog.course_by_id_or_slug(course_id)
    enrollment = enrollments.find(user, course)
    if enrollment is None:
        raise NotFound("You are not enrolled in this course.", code="ENROLLMENT_NOT_FOUND")
    return ok(enrollment=serializers.enrollment(enrollment))


# --- learning paths (issue 20) --------------------------------------------------------

@bp.get("/paths")
def list_paths():
    """The published learning paths with their courses in order (public, like the catalog)."""
    return ok(paths=[serializers.learning_path(path) for path in path_catalog.published_paths()])


@bp.get("/paths/<path_id>")
def get_path(path_id: str):
    return ok(path=serializers.learning_path(path_catalog.path_by_id(path_id)))


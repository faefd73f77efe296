"""Routes of the catalog blueprint: /, /courses (search and filters), /courses/<slug> (page and
live coupon quote), course covers and the favicon.

`/courses` is a GET form that works without JavaScript; htmx sends the same GET as the
visitor types (debounced) and swaps in the results fragment, pushing the URL, so a link or a
reload shows the same results.

`/courses/<slug>` serves the full page, or, for an htmx request (HX-Request without
HX-Boosted), only the price summary fragment. POST is the coupon check: htmx posts it as
the learner types (debounced) and on "Apply"; without JavaScript the same form posts and the
full page shows the same result. htmx 2 does not swap 4xx answers, so fragments are 200.
"""
from flask import Blueprint, abort, current_app, redirect, render_template, request, send_from_directory, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from blueprints import throttle
from blueprints.catalog.page import render_course_page
from blueprints.checkout.forms import ApplyCouponForm
from blueprints.htmx import wants_fragment
from blueprints.read_only import read_only
from models import utcnow
from services.courses import catalog, covers, details
from services.payments import checkout

bp = Blueprint("catalog", __name__)

RATE_LIMITED_MESSAGE = "You have checked a lot of codes in a short time. Please wait a minute and try again."


@bp.route("/")
def home():
    return redirect(url_for("catalog.index"))


@bp.route("/courses")
@read_only
def index():
    query = catalog.catalog_query(request.args.get("q"), request.args.get("price"), request.args.get("topic"))
    fragment = wants_fragment()
    response = current_app.make_response(render_template(
        "catalog/_results.html" if fragment else "catalog/index.html", courses=catalog.published_courses(query),
        query=query, oob=fragment, price_filters=catalog.PRICE_FILTERS, topics=details.TOPICS))
    response.vary.add("HX-Request")
    return response


# Cover files are named after their content (services/courses/covers.py): cached for a year.
COVER_MAX_AGE = 365 * 24 * 3600


@bp.route("/covers/<name>")
def cover(name: str):
    if not covers.is_cover_filename(name):
        abort(404)
    response = send_from_directory(covers.directory(), name, max_age=COVER_MAX_AGE, mimetype="image/jpeg")
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response


@bp.route("/favicon.ico")
def favicon():
    """For browsers and tools that ask the root for it; pages name the SVG in their <head>."""
    response = current_app.send_static_file("favicon.ico")
    response.cache_control.max_age = 7 * 24 * 3600
    response.cache_control.public = True
    return response


@bp.route("/courses/<slug>", methods=["GET", "POST"])
@read_only
def course(slug: str):
    # ?coupon=CODE (a shared link, or the way back from sign-in) pre-fills and checks the code.
    formdata = request.form if request.method == "POST" else \
        MultiDict({"coupon_code": request.args.get("coupon") or request.args.get("coupon_code") or ""})
    form = ApplyCouponForm(formdata=formdata)
    code = (form.coupon_code.data or "")[:64]  # anything longer is no code of ours: "not found"
    limited = bool(code) and not coupon_check_allowed()
    user = current_user if current_user.is_authenticated else None
    code = None if limited else code
    if wants_fragment():  # the live check: one query for course and coupon, just the summary
        offer = checkout.price_offer(slug, code, user, utcnow())
        response = current_app.make_response(render_template(
            "catalog/_price_summary.html", offer=offer, rate_limited=RATE_LIMITED_MESSAGE if limited else None,
            oob_button=True))
    else:
        page = render_course_page(catalog.course_by_slug(slug), code, coupon_form=form,
                                  rate_limited=RATE_LIMITED_MESSAGE if limited else None)
        response = current_app.make_response((page, 429 if limited else 200))
    response.vary.add("HX-Request")
    return response



def coupon_check_allowed() -> bool:
    """Coupon checks are limited per address and per learner (COUPON_CHECK_RATE_LIMIT).

    Counted by hand rather than with a decorator, so plain page views stay unlimited and the
    learner gets a message in the price box instead of an error page.
    """
    keys = [throttle.address_key()]
    if current_user.is_authenticated:
        keys.append(("learner", str(current_user.id)))
    return throttle.hit("coupon-check", "COUPON_CHECK_RATE_LIMIT", keys)


from blueprints.catalog import bundles  # noqa: E402,F401  (its routes join `bp`)

"""Routes of the catalog blueprint: /, /courses, /courses/<slug> (page and live coupon quote).

`/courses/<slug>` serves the full page, or, for an htmx request (HX-Request without
HX-Boosted), only the price summary fragment. POST is the coupon check: htmx posts it as
the learner types (debounced) and on "Apply"; without JavaScript the same form posts and the
full page shows the same result. htmx 2 does not swap 4xx answers, so fragments are 200.
"""
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from blueprints import throttle
from blueprints.catalog.page import render_course_page
from blueprints.checkout.forms import ApplyCouponForm
from blueprints.htmx import wants_fragment
from blueprints.read_only import read_only
from models import utcnow
from services.courses import catalog
from services.payments import checkout

bp = Blueprint("catalog", __name__)

RATE_LIMITED_MESSAGE = "You have checked a lot of codes in a short time. Please wait a minute and try again."


@bp.route("/")
def home():
    return redirect(url_for("catalog.index"))


@bp.route("/courses")
@read_only
def index():
    return render_template("catalog/index.html", courses=catalog.published_courses())


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
            "catalog/_price_summary.html", offer=offer, rate_limited=RATE_LIMITED_MESSAGE if limited else None))
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

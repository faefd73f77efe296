"""Routes of the checkout blueprint (URLs are part of the contract, see docs/checkout.md).

POST /courses/<slug>/checkout   start a checkout: 303 to Stripe, or enrolled / waitlisted at once;
                                a refused code: 303 back to the course page with ?coupon=
POST /courses/<slug>/enroll     one-button enrollment (FREE, or INVITATION_ONLY with a code)
POST /courses/<slug>/waitlist   join the waitlist of a full course
POST /bundles/<slug>/checkout   buy a bundle (issue 20): 303 to Stripe, enrolled at once (free with a code),
                                or back to the bundle page saying why not (owned, full course, the code)
GET  /checkout/success          ?session_id={CHECKOUT_SESSION_ID}: confirm, enroll, poll while processing
GET  /checkout/cancel           ?payment_session=<id>: what happened, with "cancel" and "resume"
POST /checkout/cancel           cancel it (expire on Stripe, release the coupon)
"""
from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from blueprints.catalog.page import render_course_page
from blueprints.checkout.forms import ApplyCouponForm, RedeemInvitationForm
from blueprints.forms import errors_onto
from blueprints.htmx import wants_fragment
from extensions import db
from models import utcnow
from services.bundles import catalog as bundle_catalog
from services.courses import catalog
from services.learning import waitlist
from services.payments import checkout, purchases
from services.referrals import links as referral_links
from services.errors import DomainError

bp = Blueprint("checkout", __name__)


def _sign_in_first(slug: str, coupon_code: str | None = None):
    """Anonymous buyers sign in, then land back on the course page with their code."""
    flash("Please sign in to continue.", "info")
    back = url_for("catalog.course", slug=slug, coupon=coupon_code or None)
    return redirect(url_for("auth.login", next=back))


def _course_url(course, enrollment=None) -> str:
    if enrollment is not None and course.lectures:
        return url_for("learner.lecture", slug=course.slug, lecture_id=course.lectures[0].id)
    return url_for("catalog.course", slug=course.slug)


def _checkout_urls() -> tuple[str, str]:
    # On FRONTEND_URL, not the request's Host header (which a client chooses). Concatenated:
    # url_for would percent-encode the braces Stripe needs literally (STRIPE-NOTES.md).
    base = current_app.config["FRONTEND_URL"]
    success = base + url_for("checkout.success") + "?session_id=" + checkout.SESSION_ID_PLACEHOLDER
    cancel = base + url_for("checkout.cancel") + "?payment_session=" + checkout.PAYMENT_SESSION_PLACEHOLDER
    return success, cancel


def _referrer_id(now) -> int | None:
    """Who referred the signed-in buyer, from their referral cookie (issue 20; docs/learner.md)."""
    return referral_links.referrer_for(current_user, request.cookies.get(referral_links.COOKIE_NAME), now)


@bp.post("/courses/<slug>/checkout")
def start(slug: str):
    course = catalog.course_by_slug(slug)
    code = (ApplyCouponForm(formdata=request.form).coupon_code.data or "")[:64]
    if not current_user.is_authenticated:
        return _sign_in_first(slug, code)
    success_url, cancel_url = _checkout_urls()
    now = utcnow()
    try:
        started = checkout.prepare_checkout(current_user, course, code, success_url=success_url,
                                            cancel_url=cancel_url, now=now, referrer_id=_referrer_id(now))
    except DomainError as error:
        if error.field != "coupon_code":
            raise
        return _course_page_with_error(course, code, error)
    db.session.commit()
    try:
        started = _opened_on_stripe(started, now)
    except checkout.CheckoutUnavailable as error:
        return render_template("checkout/unavailable.html", course=course, message=error.message,
                               coupon_code=code), 503
    return _after_start(course, started)


def _opened_on_stripe(started: checkout.CheckoutStart, now) -> checkout.CheckoutStart:
    """Step 2 of a prepared (committed) checkout of a course or a product: its Stripe session,
    committed. On CheckoutUnavailable the FAILED session and the released reservation are
    committed before the error propagates."""
    if started.kind == "REDIRECT" and not started.redirect_url:
        try:
            started = checkout.open_stripe_session(started.payment_session, now=now)
        finally:
            db.session.commit()
    return started


def _after_start(course, started: checkout.CheckoutStart):
    if started.kind == "REDIRECT":
        return redirect(started.redirect_url, code=303)
    if started.kind == "WAITLISTED":
        flash("This course is full. You are on the waitlist: we will let you know when a seat opens.", "info")
        return redirect(url_for("catalog.course", slug=course.slug), code=303)
    if started.kind == "ENROLLED":
        flash(f"You're enrolled in {course.title}. Enjoy the course!", "success")
    else:
        flash("You are already enrolled in this course.", "info")
    return redirect(_course_url(course, started.enrollment), code=303)


def _course_page_with_error(course, code: str, error: DomainError):
    """A refused coupon at "Buy": back to the course page (303, so the address is the course
    page's, and a reload does not post again) with the code, whose quote there states the
    reason, once, next to the field. Nothing of the refused attempt stays."""
    db.session.rollback()
    return redirect(url_for("catalog.course", slug=course.slug, coupon=code or None), code=303)


@bp.post("/bundles/<slug>/checkout")
def bundle_start(slug: str):
    bundle = bundle_catalog.get_published(slug)
    code = (ApplyCouponForm(formdata=request.form).coupon_code.data or "")[:64]
    if not current_user.is_authenticated:
        flash("Please sign in to continue.", "info")
        return redirect(url_for("auth.login", next=url_for("catalog.bundle", slug=slug, coupon=code or None)))
    success_url, cancel_url = _checkout_urls()
    now = utcnow()
    try:
        started = purchases.prepare(bundle_catalog.product_of(bundle), current_user, code, success_url=success_url,
                                    cancel_url=cancel_url, now=now, referrer_id=_referrer_id(now))
    except DomainError as error:
        db.session.rollback()
        if error.field != "coupon_code":  # owned, a full course, a bank payment on its way: said on the page
            flash(error.message, "error")
        return redirect(url_for("catalog.bundle", slug=slug, coupon=code or None), code=303)
    db.session.commit()
    try:
        started = _opened_on_stripe(started, now)
    except checkout.CheckoutUnavailable as error:
        flash(error.message, "error")
        return redirect(url_for("catalog.bundle", slug=slug, coupon=code or None), code=303)
    if started.kind == "REDIRECT":
        return redirect(started.redirect_url, code=303)
    if started.kind == "ENROLLED":
        flash(f"You're enrolled in every course of {bundle.name}. Enjoy!", "success")
    else:
        flash("You already have this bundle's courses.", "info")
    return redirect(url_for("learner.dashboard"), code=303)


@bp.post("/courses/<slug>/enroll")
def enroll_free(slug: str):
    course = catalog.course_by_slug(slug)
    if not current_user.is_authenticated:
        return _sign_in_first(slug)
    form = RedeemInvitationForm(formdata=request.form)
    try:
        started = checkout.enroll_without_payment(current_user, course, invitation_code=form.invitation_code.data,
                                                  now=utcnow())
    except DomainError as error:
        if error.field != "invitation_code":
            raise
        errors_onto(form, error, "invitation_code")
        return render_course_page(course, invitation_form=form), error.status
    db.session.commit()
    return _after_start(course, started)


@bp.post("/courses/<slug>/waitlist")
@login_required
def join_waitlist(slug: str):
    course = catalog.course_by_slug(slug)
    waitlist.join(current_user, course, utcnow())
    db.session.commit()
    flash("You are on the waitlist. We will let you know when a seat opens.", "info")
    return redirect(url_for("catalog.course", slug=slug), code=303)


@bp.get("/checkout/success")
@login_required
def success():
    payment_session = checkout.confirm_success(current_user, request.args.get("session_id"), utcnow())
    db.session.commit()
    template = "checkout/_status.html" if wants_fragment() else "checkout/success.html"
    response = make_response(render_template(template, ps=payment_session, course=payment_session.course))
    response.vary.add("HX-Request")
    return response


@bp.route("/checkout/cancel", methods=["GET", "POST"])
@login_required
def cancel():
    """GET (Stripe's "back" link, the dashboard) only shows the choice; POST cancels."""
    payment_id = request.args.get("payment_session") or request.form.get("payment_session")
    if request.method == "GET":
        payment_session = checkout.get_for_user(current_user, payment_id)
    else:
        payment_session = checkout.cancel(current_user, payment_id, utcnow())
        db.session.commit()
    return render_template("checkout/cancel.html", ps=payment_session, course=payment_session.course,
                           cancelled_now=request.method == "POST",
                           retry_code=checkout.code_to_retry(payment_session, current_user, utcnow()))


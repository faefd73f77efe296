"""Routes of the memberships blueprint (issue 16).

GET  /memberships                    every active membership: prices, trial, what it unlocks, Subscribe
POST /memberships/<slug>             the live coupon quote (htmx: the quote fragment; without
                                     JavaScript: the whole page with the code applied)
POST /memberships/<slug>/subscribe   `interval` (MONTH | YEAR) and `coupon_code`: 303 to Stripe Checkout
                                     (mode=subscription); a refused code: 303 back with ?coupon=
POST /billing/portal                 303 to Stripe's Customer Portal for the signed-in learner

The rules live in services: prices and quotes in services/coupons/pricing (`quote_membership`),
subscribing in services/payments/subscription_checkout, the portal in
services/payments/subscription_billing. Quotes are rate-limited like the course page's.
"""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from blueprints.catalog.routes import RATE_LIMITED_MESSAGE, coupon_check_allowed
from blueprints.checkout.forms import ApplyCouponForm
from blueprints.checkout.routes import _checkout_urls
from blueprints.htmx import wants_fragment
from extensions import db
from models import utcnow
from services.coupons import pricing
from services.errors import DomainError
from services.memberships import catalog, subscriptions
from services.payments import subscription_billing, subscription_checkout
from services.payments.checkout import CheckoutUnavailable

bp = Blueprint("memberships", __name__)


def _user():
    return current_user if current_user.is_authenticated else None


def _offer(membership, code: str | None, now):
    """What one membership's box shows: its quotes per interval and the learner's subscription."""
    user = _user()
    return {"membership": membership, "code": code or "",
            "quotes": {interval.value: pricing.quote_membership(membership, interval, code, user, now)
                       for interval in membership.intervals},
            "courses": catalog.unlocked_courses(membership),
            "subscription": subscriptions.current_for(user, membership) if user is not None else None}


def _code_from(source) -> str:
    return (ApplyCouponForm(formdata=source).coupon_code.data or "")[:64]


@bp.get("/memberships")
def index():
    now = utcnow()
    asked = request.args.get("membership", "")
    code = _code_from(MultiDict({"coupon_code": request.args.get("coupon", "")}))
    offers = [_offer(m, code if m.slug == asked else None, now) for m in catalog.active_memberships()]
    return render_template("memberships/index.html", offers=offers, now=now)


@bp.post("/memberships/<slug>")
def quote(slug: str):
    membership = catalog.get_active(slug)
    code = _code_from(request.form)
    limited = bool(code) and not coupon_check_allowed()
    now = utcnow()
    offer = _offer(membership, None if limited else code, now)
    rate_limited = RATE_LIMITED_MESSAGE if limited else None
    if wants_fragment():
        response = current_app.make_response(render_template("memberships/_quote.html", offer=offer,
                                                             rate_limited=rate_limited, now=now))
    else:
        offers = [offer if m.id == membership.id else _offer(m, None, now) for m in catalog.active_memberships()]
        response = current_app.make_response((render_template("memberships/index.html", offers=offers, now=now,
                                                              rate_limited=rate_limited), 429 if limited else 200))
    response.vary.add("HX-Request")
    return response


@bp.post("/memberships/<slug>/subscribe")
def subscribe(slug: str):
    membership = catalog.get_active(slug)
    code = _code_from(request.form)
    back = url_for("memberships.index", membership=slug, coupon=code or None, _anchor=f"membership-{slug}")
    if not current_user.is_authenticated:
        flash("Please sign in to continue.", "info")
        return redirect(url_for("auth.login", next=back))
    success_url, cancel_url = _checkout_urls()
    try:
        interval = catalog.parse_interval(request.form.get("interval"), membership)
        started = subscription_checkout.start(current_user, membership, interval, code, success_url=success_url,
                                              cancel_url=cancel_url, now=utcnow(), commit=db.session.commit)
    except CheckoutUnavailable as error:
        flash(error.message, "error")
        return redirect(back, code=303)
    except DomainError as error:
        db.session.rollback()
        if error.field != "coupon_code":  # the page shows a refused code's reason beside the field
            flash(error.message, "info" if error.code == "ALREADY_SUBSCRIBED" else "error")
        if error.code == "ALREADY_SUBSCRIBED":
            return redirect(url_for("learner.dashboard"), code=303)
        return redirect(back, code=303)
    if started.kind == "ALREADY_SUBSCRIBED":
        flash(f"You are already a member of {membership.name}.", "info")
        return redirect(url_for("learner.dashboard"), code=303)
    return redirect(started.redirect_url, code=303)


@bp.post("/billing/portal")
@login_required
def billing_portal():
    """Stripe's Customer Portal: cancel at period end, resume, change the card, see invoices."""
    return_url = current_app.config["FRONTEND_URL"] + url_for("learner.dashboard")
    try:
        url = subscription_billing.portal_url(current_user, return_url)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("learner.dashboard"), code=303)
    db.session.commit()
    return redirect(url, code=303)

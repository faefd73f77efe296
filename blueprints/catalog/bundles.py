"""Bundle pages (issue 20): /bundles (the bundles on sale) and /bundles/<slug> (its courses, the
bundle price, the saving against buying them one by one, and this learner's price).

`/bundles/<slug>` prices a coupon like the course page (catalog/routes.py `course`): POST is the
coupon check, which htmx sends as the learner types and on "Apply" and answers with the price
summary fragment alone (200 even for a refused code); without JavaScript the same form posts and
the whole page shows the result. The page states the bundle's refund terms (the strictest of
its courses', refund_policy.terms_for_courses). ?coupon=CODE (a shared link, the way back from sign-in or from
a refused "Buy") pre-fills and checks the code. The price is `purchases.offer`'s, the one rule.
"""
from flask import current_app, render_template, request
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from blueprints.catalog.routes import RATE_LIMITED_MESSAGE, bp, coupon_check_allowed
from blueprints.checkout.forms import ApplyCouponForm
from blueprints.htmx import wants_fragment
from blueprints.read_only import read_only
from models import utcnow
from services.bundles import catalog as bundle_catalog
from services.payments import refund_policy

# What the shared price summary and buy button say on a bundle's page.
WORDING = {"product_noun": "bundle", "buy_label": "Buy the bundle"}


@bp.route("/bundles")
@read_only
def bundles():
    return render_template("catalog/bundles.html", bundles=bundle_catalog.published())


@bp.route("/bundles/<slug>", methods=["GET", "POST"])
@read_only
def bundle(slug: str):
    bundle = bundle_catalog.get_published(slug)
    formdata = request.form if request.method == "POST" else \
        MultiDict({"coupon_code": request.args.get("coupon") or request.args.get("coupon_code") or ""})
    form = ApplyCouponForm(formdata=formdata)
    code = (form.coupon_code.data or "")[:64]  # anything longer is no code of ours: "not found"
    limited = bool(code) and not coupon_check_allowed()
    user = current_user if current_user.is_authenticated else None
    offer = bundle_catalog.offer(bundle, user, None if limited else code, utcnow())
    rate_limited = RATE_LIMITED_MESSAGE if limited else None
    if wants_fragment():
        response = current_app.make_response(render_template(
            "catalog/_price_summary.html", offer=offer, rate_limited=rate_limited, oob_button=True, **WORDING))
    else:
        response = current_app.make_response((render_template(
            "catalog/bundle.html", bundle=bundle, offer=offer, form=form, rate_limited=rate_limited,
            refund_terms=refund_policy.describe(refund_policy.terms_for_courses(bundle.courses)), **WORDING),
            429 if limited else 200))
    response.vary.add("HX-Request")
    return response

"""Bundle pages (issue 20): /bundles (the bundles on sale) and /bundles/<slug> (its courses, the
bundle price, the saving against buying them one by one, and this learner's price). The buy
form posts to checkout's /bundles/<slug>/checkout; ?coupon=CODE prices it with a code."""
from flask import render_template, request
from flask_login import current_user

from blueprints.catalog.routes import RATE_LIMITED_MESSAGE, bp, coupon_check_allowed
from blueprints.checkout.forms import ApplyCouponForm
from blueprints.read_only import read_only
from models import utcnow
from services.bundles import catalog as bundle_catalog


@bp.route("/bundles")
@read_only
def bundles():
    return render_template("catalog/bundles.html", bundles=bundle_catalog.published())


@bp.route("/bundles/<slug>")
@read_only
def bundle(slug: str):
    bundle = bundle_catalog.get_published(slug)
    code = (request.args.get("coupon") or "")[:64]
    limited = bool(code) and not coupon_check_allowed()
    user = current_user if current_user.is_authenticated else None
    offer = bundle_catalog.offer(bundle, user, None if limited else code, utcnow())
    form = ApplyCouponForm(formdata=None, data={"coupon_code": code})
    return render_template("catalog/bundle.html", bundle=bundle, offer=offer, form=form,
                           rate_limited=RATE_LIMITED_MESSAGE if limited else None), 429 if limited else 200

"""Routes of the referrals blueprint.

GET /r/<code>   remember the referral for REFERRAL_DAYS in a signed first-party cookie, then
                303 to `next` (a path on this site, e.g. a course page) or the catalog. An
                unknown code sets nothing and still lands on the catalog. A visitor is not
                given a session by it (issue 22): the cookie is the only thing set.
"""
from datetime import timedelta

from flask import Blueprint, current_app, redirect
from flask_login import current_user

from blueprints.auth.routes import safe_next_url
from models import utcnow
from services.referrals import links

bp = Blueprint("referrals", __name__)


@bp.get("/r/<code>")
def follow(code: str):
    referrer = links.referrer_by_code(code)
    response = redirect(safe_next_url("catalog.index"), code=303)
    response.headers["Cache-Control"] = "no-store"
    own_link = current_user.is_authenticated and referrer is not None and current_user.id == referrer.id
    if referrer is not None and not own_link:
        response.set_cookie(links.COOKIE_NAME, links.cookie_value(code.strip().lower(), utcnow()),
                            max_age=int(timedelta(days=links.REFERRAL_DAYS).total_seconds()), path="/",
                            httponly=True, samesite="Lax", secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response

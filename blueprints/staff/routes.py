"""The staff blueprint as the app registers it: the guard, the dashboard and the audit page.

Everything under /staff is guarded once, here: anonymous → sign-in, learners → 403. The
feature pages (coupons, courses, payments, enrollments, inbox, mail, analytics, users) add their
routes to `bp` when imported below.
"""
from flask import abort, current_app, render_template, request
from flask_login import current_user

from blueprints.staff import (analytics, bundles, coupons, courses, enrollments, inbox, mail,  # noqa: F401
                              memberships, paths, payments, referrals, refund_policy, refund_requests, users)
from blueprints.staff import bp
from blueprints.staff.helpers import page_arg
from services import analytics as figures, audit as audit_trail


@bp.before_request
def require_staff():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.is_staff:
        abort(403)
    return None


@bp.route("/")
def index():
    return render_template("staff/index.html", summary=figures.dashboard_summary())


@bp.route("/audit")
def audit():
    filters = {"action": request.args.get("action", "").strip(), "subject": request.args.get("subject", "").strip(),
               "actor": request.args.get("actor", "").strip()}
    return render_template("staff/audit.html", events=audit_trail.search(page=page_arg(), **filters),
                           filters=filters)

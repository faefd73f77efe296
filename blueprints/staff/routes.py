"""Routes of the staff blueprint: the guard, the dashboard and the audit page.

The feature pages live in sibling modules (coupons, courses, payments, enrollments, inbox,
analytics, users) that add their routes to this blueprint; they are imported at the bottom.
Everything under /staff is guarded once, here: anonymous → sign-in, learners → 403.
"""
from functools import wraps

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user

from services import analytics as figures, audit as audit_trail, csv_export

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.before_request
def require_staff():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.is_staff:
        abort(403)
    return None


def admin_required(view):
    """Staff pages that only admins may use (roles)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


MAX_ID = 2_147_483_647  # PostgreSQL's integer; bigger numbers in a URL are a 404, not a database error


def int_arg(name: str) -> int | None:
    """A positive id from the query string, or None when absent or nonsense."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value <= MAX_ID else None


def page_arg() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)


def csv_download(rows, filename: str) -> Response:
    """`rows` (lists of cells, header first) as a CSV file the browser saves as `filename`
    (formula-looking cells neutralised, UTF-8 with BOM: services/csv_export.py)."""
    return Response(csv_export.to_bytes(rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/")
def index():
    return render_template("staff/index.html", summary=figures.dashboard_summary())


@bp.route("/audit")
def audit():
    filters = {"action": request.args.get("action", "").strip(), "subject": request.args.get("subject", "").strip(),
               "actor": request.args.get("actor", "").strip()}
    return render_template("staff/audit.html", events=audit_trail.search(page=page_arg(), **filters),
                           filters=filters)


# Register the feature pages on `bp` (they import it from this module).
from blueprints.staff import analytics, coupons, courses, enrollments, inbox, payments, users  # noqa: E402,F401

"""Helpers the staff pages share: the admin-only decorator, query-string ids and pages, CSV downloads."""
from functools import wraps

from flask import Response, abort, request
from flask_login import current_user

from services import csv_export

MAX_ID = 2_147_483_647  # PostgreSQL's integer; bigger numbers in a URL are a 404, not a database error


def admin_required(view):
    """Staff pages that only admins may use (roles)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


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

"""Staff analytics: the report page for a date range and a CSV export of each table."""
from flask import abort, render_template, request

from blueprints.staff import bp
from blueprints.staff.helpers import csv_download
from models import utcnow
from services import analytics


def _range():
    return analytics.parse_range(request.args.get("start"), request.args.get("end"), utcnow().date())


@bp.route("/analytics")
def analytics_page():
    start, end, message = _range()
    return render_template("staff/analytics.html", report=analytics.report(start, end), message=message)


@bp.route("/analytics/<name>.csv")
def analytics_csv(name: str):
    start, end, _ = _range()
    table = analytics.table(name, start, end)
    if table is None:
        abort(404)
    return csv_download(analytics.csv_rows(table), f"{name}-{start.isoformat()}-{end.isoformat()}.csv")

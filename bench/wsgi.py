"""WSGI entry point for the checkout benchmark: the real app plus a bare baseline endpoint.

`gunicorn bench.wsgi:app` serves exactly what `create_app()` builds (same config from the
environment, same extensions, hooks and session handling) with one extra route,
`GET /bench/baseline`: a one-row lookup and a tiny text answer, so the benchmark can compare
the coupon quote and the checkout POST against the cost of the bare stack in the same run.
It lives here, not in the app, so production never serves it.
"""
from app import create_app
from extensions import db
from models import Course

BASELINE_SLUG = "bench-course"

app = create_app()


@app.get("/bench/baseline")
def bench_baseline():
    slug = db.session.scalar(db.select(Course.slug).where(Course.slug == BASELINE_SLUG))
    return (slug or "missing"), 200, {"Content-Type": "text/plain"}

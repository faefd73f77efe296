"""Benchmark: the staff analytics page at 10 thousand and at 1 million payment sessions.

    .venv/bin/python bench/bench_analytics.py [--small 10000] [--large 1000000] [--repeat 7]

What it does (ratios matter; absolute numbers depend on the machine):
1. creates a fresh PostgreSQL database on BENCH_POSTGRES_URL's server (default: the test
   server, postgresql+psycopg://postgres@127.0.0.1:5432/postgres) and migrates it;
2. fills it with bulk SQL (INSERT ... SELECT generate_series, no Python loops): 20 courses,
   50 coupons, `--small` payment sessions and as many enrollments (+ a coupon redemption
   for every tenth session, a refund movement for every refunded one, 0 to 13 days after
   its sale); sessions arrive at a steady rate (one every 5 minutes, the
   newest now), so a bigger table means a longer history, as in a real shop;
3. times GET /staff/analytics for the default range (the last 30 days) and for the longest
   range the page accepts (366 days): median of `--repeat` runs after one warm-up, through
   the Flask test client (the whole page: SQL aggregates, SVG chart, template);
4. grows the tables to `--large` rows (older history), ANALYZE, times the same two pages;
5. prints the figures, the ratios and EXPLAIN's plan of the revenue query, then drops the
   database. Target (issue 7): the page at 1M rows takes at most 5× as long as at 10k.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pgdb import create_database, drop_database  # noqa: E402

COURSES = 20
MINUTES_APART = 5  # one session every 5 minutes: 288 a day

FILL_SESSIONS = """
INSERT INTO payment_sessions (id, course_id, user_id, status, amount, currency, discount_amount, final_amount,
    amount_refunded, coupon_id, coupon_code, metadata, failure_code, needs_review, created_at, updated_at,
    completed_at)
SELECT 'ps_bench_' || g, 1 + g % CAST(:courses AS integer), 1 + (g / CAST(:courses AS integer)), s.status, 9900, 'USD',
       CASE WHEN g % 10 = 0 THEN 990 ELSE 0 END,
       CASE WHEN g % 10 = 0 THEN 8910 ELSE 9900 END,
       CASE WHEN s.status = 'REFUNDED' THEN 9900 WHEN g % 50 = 1 THEN 1000 ELSE 0 END,
       CASE WHEN g % 10 = 0 THEN 1 + g % 50 END, CASE WHEN g % 10 = 0 THEN 'BENCH' || (1 + g % 50) END,
       '{}', CASE WHEN s.status = 'FAILED' THEN (ARRAY['card_declined', 'expired_card', 'insufficient_funds'])[1 + g % 3] END,
       false, t.at, t.at, CASE WHEN s.status IN ('COMPLETED', 'REFUNDED') THEN t.at + interval '2 minutes' END
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g
CROSS JOIN LATERAL (SELECT (ARRAY['COMPLETED','COMPLETED','COMPLETED','COMPLETED','COMPLETED','COMPLETED',
                                  'FAILED','EXPIRED','PENDING','REFUNDED'])[1 + g % 10] AS status) s
CROSS JOIN LATERAL (SELECT CAST(:now AS timestamp) - make_interval(mins => (g * CAST(:apart AS integer))) AS at) t
"""
FILL_USERS = """
INSERT INTO users (id, email, name, role, is_disabled, created_at)
SELECT g, 'u' || g || '@bench.test', 'Learner ' || g, 'LEARNER', false, :now
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g
"""
FILL_ENROLLMENTS = """
INSERT INTO enrollments (user_id, course_id, status, type, source, payment_status, amount_paid, discount_applied,
    currency, enrolled_at, completed_at, progress, completed_lectures, total_lectures, total_time_spent,
    streak_days, certificate_earned)
SELECT 1 + (g / CAST(:courses AS integer)), 1 + g % CAST(:courses AS integer),
       CASE WHEN g % 7 = 0 THEN 'COMPLETED' WHEN g % 10 = 9 THEN 'REVOKED' ELSE 'ACTIVE' END, 'PAID',
       (ARRAY['DIRECT','DIRECT','DIRECT','REFERRAL','PROMOTION','BUNDLE','LEARNING_PATH'])[1 + g % 7],
       'PAID', 9900, 0, 'USD', t.at, CASE WHEN g % 7 = 0 THEN t.at + interval '3 days' END,
       CASE WHEN g % 7 = 0 THEN 100 ELSE 40 END, 0, 10, 0, 0, false
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g
CROSS JOIN LATERAL (SELECT CAST(:now AS timestamp) - make_interval(mins => (g * CAST(:apart AS integer))) AS at) t
"""
FILL_REDEMPTIONS = """
INSERT INTO coupon_redemptions (coupon_id, user_id, course_id, payment_session_id, status, discount_amount,
    currency, reserved_at, redeemed_at)
SELECT ps.coupon_id, ps.user_id, ps.course_id, ps.id,
       CASE WHEN ps.status IN ('COMPLETED', 'REFUNDED') THEN 'REDEEMED' ELSE 'RELEASED' END,
       ps.discount_amount, 'USD', ps.created_at,
       CASE WHEN ps.status IN ('COMPLETED', 'REFUNDED') THEN ps.completed_at END
FROM payment_sessions ps
WHERE ps.coupon_id IS NOT NULL AND ps.id IN (SELECT 'ps_bench_' || g FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g)
"""
# One movement per refunded session (as the migration's backfill and refunds.enforce leave
# them), made 0 to 13 days after the sale but never after now.
FILL_MOVEMENTS = """
INSERT INTO refund_movements (payment_session_id, currency, amount, occurred_at)
SELECT ps.id, ps.currency, ps.amount_refunded,
       LEAST(ps.completed_at + make_interval(days => CAST(substr(ps.id, 10) AS integer) % 14), CAST(:now AS timestamp))
FROM payment_sessions ps
WHERE ps.amount_refunded > 0 AND ps.id IN (SELECT 'ps_bench_' || g FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g)
"""




def make_app(url: str):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key-" + "x" * 32,
                       "RATELIMIT_ENABLED": False, "TESTING": True})


def seed_base(db, now) -> int:
    """Courses, coupons and one staff account; returns the staff user's id."""
    from models import Coupon, Course, User, UserRole

    staff = User(id=0, email="staff@bench.test", name="Bench Staff", role=UserRole.STAFF)
    db.session.add(staff)
    for number in range(1, COURSES + 1):
        db.session.add(Course(id=number, slug=f"bench-{number}", title=f"Bench course {number:02d}",
                              price_amount=9900, currency="USD", is_published=True))
    for number in range(1, 51):
        db.session.add(Coupon(id=number, code=f"BENCH{number}", name=f"Bench {number}", percent_off=10))
    db.session.commit()
    return staff.id


def fill(db, first: int, last: int, now) -> float:
    """Rows first..last of every table, in one transaction; returns the seconds it took."""
    started = time.perf_counter()
    params = {"first": first, "last": last, "courses": COURSES, "apart": MINUTES_APART, "now": now}
    users_before = first // COURSES + 1 if first > 1 else 1
    with db.engine.begin() as conn:
        conn.execute(sa.text(FILL_USERS), {"first": users_before + (0 if first == 1 else 1),
                                           "last": last // COURSES + 1, "now": now})
        conn.execute(sa.text(FILL_SESSIONS), params)
        conn.execute(sa.text(FILL_ENROLLMENTS), params)
        conn.execute(sa.text(FILL_REDEMPTIONS), params)
        conn.execute(sa.text(FILL_MOVEMENTS), params)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE"))
    return time.perf_counter() - started


def time_page(client, query: str, repeat: int) -> dict:
    client.get(f"/staff/analytics?{query}")  # warm-up: caches, connection, template compile
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(f"/staff/analytics?{query}")
        runs.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return {"median_ms": round(statistics.median(runs) * 1000, 1), "min_ms": round(min(runs) * 1000, 1),
            "max_ms": round(max(runs) * 1000, 1)}


def explain(db, now) -> str:
    """PostgreSQL's plan for the revenue-per-day query of the default page (sales on their day,
    refund movements on theirs, as services/analytics.py asks)."""
    sql = ("EXPLAIN SELECT day, currency, sum(payments), sum(gross), sum(refunded) FROM ("
           "SELECT date(completed_at) AS day, currency, count(*) AS payments, sum(final_amount) AS gross, "
           "0 AS refunded FROM payment_sessions WHERE completed_at >= :low AND completed_at < :high "
           "AND status IN ('COMPLETED', 'REFUNDED') GROUP BY 1, 2 "
           "UNION ALL SELECT date(occurred_at), currency, 0, 0, sum(amount) FROM refund_movements "
           "WHERE occurred_at >= :low AND occurred_at < :high GROUP BY 1, 2) AS parts GROUP BY 1, 2")
    with db.engine.connect() as conn:
        plan = conn.execute(sa.text(sql), {"low": now - timedelta(days=30), "high": now}).scalars().all()
    return "\n".join(plan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    from flask_migrate import upgrade

    name, url = create_database("analytics")
    try:
        app = make_app(url)
        with app.app_context():
            from extensions import db
            from models import utcnow

            upgrade(directory=str(ROOT / "migrations"))
            aware_now = utcnow().replace(microsecond=0)
            today = aware_now.date()
            now = aware_now.replace(tzinfo=None)  # the columns hold naive UTC (models.UTCDateTime)
            staff_id = seed_base(db, now)
            client = app.test_client()
            from models import User

            from services.people import sessions

            # Flask-Login's id is a server-side session's token (services/people/sessions.py).
            _row, token = sessions.start(db.session.get(User, staff_id), remember=False, ip="127.0.0.1",
                                         user_agent=None, max_days=app.config["SESSION_MAX_DAYS"])
            db.session.commit()
            with client.session_transaction() as session:
                session.update({"_user_id": token, "_fresh": True})
            app.login_manager.session_protection = None  # the bench client has no browser identifier
            pages = {"last 30 days": "", "366 days": f"start={(today - timedelta(days=365)).isoformat()}"
                                                       f"&end={today.isoformat()}"}
            results: dict = {"sizes": {}}
            done = 0
            for size in (args.small, args.large):
                seconds = fill(db, done + 1, size, now)
                done = size
                figures = {label: time_page(client, query, args.repeat) for label, query in pages.items()}
                results["sizes"][size] = {"fill_seconds": round(seconds, 1), "pages": figures}
                print(f"{size:>9,} sessions (+ as many enrollments), filled in {seconds:.1f}s")
                for label, figure in figures.items():
                    print(f"    {label:<13} median {figure['median_ms']:>8.1f} ms  "
                          f"(min {figure['min_ms']:.1f}, max {figure['max_ms']:.1f})")
            small, large = (results["sizes"][s]["pages"] for s in (args.small, args.large))
            results["ratios"] = {label: round(large[label]["median_ms"] / small[label]["median_ms"], 2)
                                 for label in pages}
            print("ratio large/small: " + ", ".join(f"{k} {v}×" for k, v in results["ratios"].items()))
            verdict = results["ratios"]["last 30 days"] <= 5
            print(f"target (default page ≤ 5×): {'met' if verdict else 'NOT met'}")
            print("plan of the revenue query at the large size:\n" + explain(db, now))
            print(json.dumps(results, default=str))
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_database(name)


if __name__ == "__main__":
    main()

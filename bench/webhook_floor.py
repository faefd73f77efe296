"""Experiment behind bench/README.md's webhook section: how fast could a paid event be at best?

    .venv/bin/python bench/webhook_floor.py [--duration 5]

Serves bench_webhooks' app plus `POST /bench/floor-fulfill`: the same statements a paid
`checkout.session.completed` sends (inbox insert, payment session + course + learner locked,
enrollment lookup, enrollment insert, audit rows, session update, orphan refund/dispute lookup,
inbox mark, one commit), written as cached Core statements with no ORM object and no rule
checks. It is not a second implementation of fulfillment (it skips every decision the real
one makes); it measures the cost of the statements alone, next to the one-row-lookup
baseline and the real handler, in the same run: lookup, floor, real, lookup, floor.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_webhooks as bw  # noqa: E402
from bench.harness import completed_event, session_template  # noqa: E402
from bench.pgdb import GUNICORN_CONF, create_database, drop_database, free_port, stop  # noqa: E402


def floor_app():
    """gunicorn 'bench.webhook_floor:floor_app()'."""
    import sqlalchemy as sa
    from flask import request

    from extensions import csrf, db
    from services.payments import stripe_gateway, webhook_inbox

    app = bw.bench_app()
    tables = db.metadata.tables
    sessions, courses, users = tables["payment_sessions"], tables["courses"], tables["users"]
    enrollments, audit, inbox = tables["enrollments"], tables["audit_events"], tables["stripe_events"]
    lock_session = (sa.select(sessions, courses.c.capacity, users.c.email)
                    .join(courses, courses.c.id == sessions.c.course_id).join(users, users.c.id == sessions.c.user_id)
                    .where(sessions.c.id == sa.bindparam("pid")).with_for_update(key_share=True, of=sessions))
    lock_enrollment = (sa.select(enrollments.c.id).where(enrollments.c.user_id == sa.bindparam("uid"),
                                                         enrollments.c.course_id == sa.bindparam("cid"))
                       .with_for_update(key_share=True))
    insert_enrollment = sa.text(
        "INSERT INTO enrollments (user_id, course_id, status, type, source, payment_status, payment_id, amount_paid,"
        " discount_applied, currency, enrolled_at, paid_at, progress, total_lectures, completed_lectures,"
        " total_time_spent, streak_days, certificate_earned) VALUES (:uid, :cid, 'ACTIVE', 'PAID', 'DIRECT', 'PAID',"
        " :pid, :amount, 0, :currency, :now, :now, 0, (SELECT count(*) FROM lectures WHERE course_id = :cid), 0, 0, 0,"
        " false) ON CONFLICT (user_id, course_id) DO NOTHING RETURNING id"
    ).bindparams(sa.bindparam("now", type_=enrollments.c.enrolled_at.type))
    insert_audit = sa.insert(audit)
    update_session = (sa.update(sessions).where(sessions.c.id == sa.bindparam("session_id"))
                      .values(status="COMPLETED", enrollment_id=sa.bindparam("enrollment_id"),
                              payment_intent_id=sa.bindparam("intent"), updated_at=sa.bindparam("at"),
                              completed_at=sa.bindparam("at")))
    orphans = (sa.select(inbox.c.id).where(inbox.c.type.in_(["charge.refunded", "refund.created"]),
                                           inbox.c.status == "IGNORED", inbox.c.object_id == sa.bindparam("intent"))
               .with_for_update())
    mark = (sa.update(inbox).where(inbox.c.id == sa.bindparam("event_id"))
            .values(status="PROCESSED", attempts=1, processed_at=sa.bindparam("at"),
                    payment_session_id=sa.bindparam("session_id")))

    @app.post("/bench/floor-fulfill")
    @csrf.exempt
    def floor_fulfill():
        payload = request.get_data()
        stripe_gateway.verify_webhook(payload, request.headers.get("Stripe-Signature", ""))
        data = webhook_inbox.parse(payload)
        now = datetime.now(timezone.utc)
        checkout = data["data"]["object"]
        conn = db.session.connection()
        conn.execute(webhook_inbox._INSERT_IF_ABSENT,
                     {**webhook_inbox._EVERY_COLUMN_NULL, **webhook_inbox._row_values(data, now)})
        row = conn.execute(lock_session, {"pid": checkout["client_reference_id"]}).one()
        conn.execute(lock_enrollment, {"uid": row.user_id, "cid": row.course_id}).first()
        enrollment_id = conn.execute(insert_enrollment, {"uid": row.user_id, "cid": row.course_id, "pid": row.id,
                                                         "amount": row.final_amount, "currency": row.currency,
                                                         "now": now}).scalar()
        conn.execute(insert_audit, [
            {"occurred_at": now, "actor_label": "stripe", "action": action, "subject_type": kind, "subject_id": key}
            for action, kind, key in [("enrollment.created", "Enrollment", str(enrollment_id)),
                                      ("payment_session.completed", "PaymentSession", row.id),
                                      ("payment_session.fulfilled", "PaymentSession", row.id)]])
        conn.execute(update_session, {"session_id": row.id, "enrollment_id": enrollment_id,
                                      "intent": checkout["payment_intent"], "at": now})
        conn.execute(orphans, {"intent": checkout["payment_intent"]}).all()
        conn.execute(mark, {"event_id": data["id"], "at": now, "session_id": row.id})
        db.session.commit()
        return {"received": True, "status": "PROCESSED"}

    return app


def _client(args: tuple) -> tuple[int, int]:
    kind, port, duration, seeds, tag = args
    template = session_template()
    sent = errors = 0
    end = time.perf_counter() + duration
    while time.perf_counter() < end and sent < len(seeds):
        if kind == "lookup":
            path, body = "/bench/lookup-baseline", bw.unknown_event(template, f"evt_{tag}_{sent}")
        else:
            path = "/bench/floor-fulfill" if kind == "floor" else "/webhooks/stripe"
            body = completed_event(template, seeds[sent], f"evt_{tag}_{sent}")
        status, _ = bw.post(port, path, body)
        errors += status != 200
        sent += 1
    return sent, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    name, url = create_database("floor")
    server = None
    try:
        seeds = bw.migrate_and_seed(url, 12000)
        port = free_port()
        env = {**os.environ, "APP_ENV": "development", "SECRET_KEY": "bench-" + secrets.token_hex(16),
               "DATABASE_URL": url, "STRIPE_WEBHOOK_SECRET": bw.SECRET, "RATELIMIT_ENABLED": "0",
               "STRIPE_API_BASE": "http://127.0.0.1:9"}
        server = bw.start([str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", GUNICORN_CONF, "-w", "2", "-k", "sync",
                           "--log-level", "warning", "-b", f"127.0.0.1:{port}", "bench.webhook_floor:floor_app()"],
                          env, port, Path(f"/tmp/{name}.log"))
        thirds = [seeds[i::3] for i in range(3)]
        plenty = [None] * 1_000_000
        for kind, chunk in [("lookup", plenty), ("floor", thirds[0]), ("real", thirds[1]), ("lookup", plenty),
                            ("floor", thirds[2])]:
            slices = [chunk[i::args.clients] for i in range(args.clients)]
            tag = secrets.token_hex(3)
            with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
                results = pool.map(_client, [(kind, port, args.duration, slices[i], f"{tag}{i}")
                                             for i in range(args.clients)])
            print(f"{kind}: {sum(r[0] for r in results) / args.duration:.1f} events/s, "
                  f"errors {sum(r[1] for r in results)}", flush=True)
        return 0
    finally:
        if server is not None:
            stop(server)
        drop_database(name)


if __name__ == "__main__":
    sys.exit(main())

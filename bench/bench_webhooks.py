"""Benchmark: signed Stripe webhooks against a bare baseline endpoint, gunicorn on PostgreSQL.

    .venv/bin/python bench/bench_webhooks.py [--duration 8] [--workers 2] [--clients 8] [--rounds 3]

What it does, all in one run (ratios matter; absolute numbers depend on the machine):
1. creates a fresh PostgreSQL database on BENCH_POSTGRES_URL's server (default: the test
   server), migrates it and seeds enough PENDING payment sessions (distinct learner/course
   pairs) that every "fulfill" event really enrolls someone;
2. serves `bench.bench_webhooks:bench_app()` with gunicorn sync workers: the real app plus
   three bare endpoints that read the body and answer 200 without checking the signature;
3. drives each scenario with `--clients` client processes for `--duration` seconds, each
   request a new connection (sync workers close them anyway), each event signed just before
   it is sent exactly as Stripe signs (t=…,v1=HMAC-SHA256), with Stripe-sized bodies:
   - baseline:   the project's bare baseline endpoint, as issue 4 defines it (a one-row
                 lookup in the same app setup), sent the same signed bodies
   - noop_baseline: a bare endpoint that touches no database (the cost of the stack alone)
   - commit_baseline: a bare endpoint that commits one row (the floor of any handler that
                 must store the event durably before answering 2xx)
   - fulfill:    checkout.session.completed for a new paid session → inbox row, row locks,
                 enrollment, audit, one commit (the heaviest event)
   - duplicate:  a second delivery of an already processed event → 200, no effect
   - unknown:    an event type we do not handle → stored as IGNORED
4. alternates baseline/fulfill for --rounds rounds (the machines are shared and noisy) and
   reports the median per-round throughput ratio, plus events/s and p50/p99 acknowledgement
   latency per scenario. Target: fulfill ≥ 0.5 × baseline, p99 far under Stripe's timeout.
No Stripe call happens on this path, so no sandbox is started.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import API_VERSION, completed_event, session_template, start_server  # noqa: E402
from bench.pgdb import GUNICORN_CONF, create_database, drop_database, free_port, stop  # noqa: E402

SECRET = "whsec_bench_" + "x" * 24
STRIPE_TIMEOUT_MS = 10_000  # we aim far under the time Stripe waits before counting a failure


# --- the served app -------------------------------------------------------------------------

def bench_app():
    """gunicorn 'bench.bench_webhooks:bench_app()': the app plus the bare POST endpoints."""
    from flask import request

    from app import create_app
    from extensions import csrf

    app = create_app()

    @app.post("/bench/webhook-baseline")
    @csrf.exempt
    def webhook_baseline():
        request.get_data()
        return {"received": True}

    @app.post("/bench/lookup-baseline")
    @csrf.exempt
    def lookup_baseline():
        # The project's bare baseline (as in bench_checkout): a one-row lookup in the same app setup.
        from extensions import db
        from models import Course

        request.get_data()
        slug = db.session.scalar(db.select(Course.slug).where(Course.slug == "bench-0"))
        return {"received": slug is not None}

    @app.post("/bench/commit-baseline")
    @csrf.exempt
    def commit_baseline():
        # The floor of any correct webhook handler: one durable row committed before the 2xx.
        from extensions import db
        from models import AuditEvent

        request.get_data()
        db.session.add(AuditEvent(action="bench.baseline", subject_type="Bench", subject_id="0"))
        db.session.commit()
        return {"received": True}

    return app


# --- database ---------------------------------------------------------------------------------



def migrate_and_seed(url: str, sessions: int) -> list[dict]:
    """PENDING payment sessions, one per (learner, course) pair; returns what events need."""
    from datetime import datetime, timedelta, timezone

    from flask_migrate import upgrade

    from app import create_app
    from extensions import db
    from models import Course, PaymentSession, User

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    courses_n = 50
    users_n = sessions // courses_n + 1
    now = datetime.now(timezone.utc)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        courses = [Course(slug=f"bench-{i}", title=f"Bench {i}", price_amount=4900, currency="USD",
                          is_published=True) for i in range(courses_n)]
        users = [User(email=f"wh{i}@example.com", name=f"Bench {i}") for i in range(users_n)]
        db.session.add_all(courses + users)
        db.session.flush()
        rows = []
        for n in range(sessions):
            user, course = users[n // courses_n], courses[n % courses_n]
            rows.append(PaymentSession(id=f"ps_bench{n:07d}", user_id=user.id, course_id=course.id, amount=4900,
                                       currency="USD", final_amount=4900, created_at=now,
                                       expires_at=now + timedelta(minutes=31), stripe_session_id=f"cs_bench_{n:07d}"))
        db.session.add_all(rows)
        db.session.commit()
        seeds = [{"ps": r.id, "cs": r.stripe_session_id, "user_id": r.user_id, "course_id": r.course_id}
                 for r in rows]
        db.engine.dispose()
    return seeds


# --- servers ----------------------------------------------------------------------------------


def start(cmd: list[str], env: dict, port: int, log_path: Path) -> subprocess.Popen:
    return start_server(cmd, env, port, log_path, ("POST", "/bench/webhook-baseline", b"{}"))


# --- events -----------------------------------------------------------------------------------

def unknown_event(template: dict, event_id: str) -> bytes:
    event = {"id": event_id, "object": "event", "api_version": API_VERSION, "created": int(time.time()),
             "data": {"object": {**copy.deepcopy(template), "id": "cus_" + event_id, "object": "customer"}},
             "livemode": False, "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
             "type": "customer.updated"}
    return json.dumps(event, indent=2).encode()


def sign(body: bytes) -> str:
    timestamp = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# --- clients ----------------------------------------------------------------------------------

def post(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json; charset=utf-8",
                                                   "Stripe-Signature": sign(body), "Connection": "close"})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def run_client(args: tuple) -> dict:
    scenario, port, duration, seeds, tag = args
    template = session_template()
    latencies, errors, sent = [], 0, []
    end = time.perf_counter() + duration
    step = 0
    while (started := time.perf_counter()) < end:
        if scenario == "fulfill" and step >= len(seeds):
            break  # out of fresh sessions: the seed was too small for this machine's speed
        if scenario == "fulfill":
            event_id = f"evt_{tag}_{step}"
            body, path, want = completed_event(template, seeds[step], event_id), "/webhooks/stripe", b'"PROCESSED"'
            sent.append(event_id)
        elif scenario == "duplicate":
            seed, event_id = seeds[step % len(seeds)]
            body, path, want = completed_event(template, seed, event_id), "/webhooks/stripe", b'"duplicate":true'
        elif scenario == "unknown":
            body, path, want = unknown_event(template, f"evt_{tag}_u{step}"), "/webhooks/stripe", b'"IGNORED"'
        elif scenario == "baseline":
            body, path, want = unknown_event(template, f"evt_{tag}_l{step}"), "/bench/lookup-baseline", b"received"
        elif scenario == "commit_baseline":
            body, path, want = unknown_event(template, f"evt_{tag}_c{step}"), "/bench/commit-baseline", b"received"
        else:  # noop_baseline
            body, path, want = unknown_event(template, f"evt_{tag}_b{step}"), "/bench/webhook-baseline", b"received"
        step += 1
        try:
            status, data = post(port, path, body)
            ok = status == 200 and want in data.replace(b" ", b"")
        except OSError:
            ok = False
        latencies.append(time.perf_counter() - started)
        errors += 0 if ok else 1
    return {"latencies": latencies, "errors": errors, "sent": sent}


def measure(scenario: str, port: int, clients: int, duration: float, slices: list) -> dict:
    tag = secrets.token_hex(3)
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        results = pool.map(run_client, [(scenario, port, duration, slices[i], f"{tag}{i}") for i in range(clients)])
    latencies = sorted(x for r in results for x in r["latencies"])
    count = len(latencies)
    elapsed = duration
    return {"scenario": scenario, "events": count, "errors": sum(r["errors"] for r in results),
            "per_s": round(count / elapsed, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "p99_ms": round(latencies[max(0, int(count * 0.99) - 1)] * 1000, 1) if count >= 100 else None,
            "sent": [e for r in results for e in r["sent"]]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per scenario")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers for the app")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client processes")
    parser.add_argument("--rounds", type=int, default=3, help="baseline/fulfill pairs (median ratio)")
    parser.add_argument("--sessions", type=int, default=12000, help="PENDING sessions seeded for fulfill")
    args = parser.parse_args()

    name, url = create_database("webhooks")
    server = None
    try:
        seeds = migrate_and_seed(url, args.sessions)
        per_round = len(seeds) // args.rounds
        port = free_port()
        env = {**os.environ, "APP_ENV": "development", "SECRET_KEY": "bench-" + secrets.token_hex(16),
               "DATABASE_URL": url, "STRIPE_WEBHOOK_SECRET": SECRET, "RATELIMIT_ENABLED": "0",
               "STRIPE_API_BASE": "http://127.0.0.1:9"}  # nothing listens: the hot path must not call Stripe
        server = start([str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", GUNICORN_CONF, "-w", str(args.workers),
                        "-k", "sync", "--log-level", "warning", "-b", f"127.0.0.1:{port}",
                        "bench.bench_webhooks:bench_app()"], env, port, Path(f"/tmp/{name}.log"))
        none = [[] for _ in range(args.clients)]
        rounds = []
        for number in range(args.rounds):
            chunk = seeds[number * per_round:(number + 1) * per_round]
            slices = [chunk[i::args.clients] for i in range(args.clients)]
            pair = (measure("baseline", port, args.clients, args.duration, none),
                    measure("fulfill", port, args.clients, args.duration, slices))
            rounds.append((pair, slices))
            print(f"  round {number + 1}: baseline {pair[0]['per_s']}/s, fulfill {pair[1]['per_s']}/s",
                  file=sys.stderr)
        ratios = [p[1]["per_s"] / (p[0]["per_s"] or 1) for p, _ in rounds]
        middle = sorted(range(len(rounds)), key=lambda i: ratios[i])[len(rounds) // 2]
        (baseline, fulfill), slices = rounds[middle]
        # Duplicates: send again events the middle round processed (same ids, same bodies).
        dup_slices = _duplicates(fulfill["sent"], slices, args.clients)
        duplicate = measure("duplicate", port, args.clients, args.duration, dup_slices)
        unknown = measure("unknown", port, args.clients, args.duration, none)
        commit_baseline = measure("commit_baseline", port, args.clients, args.duration, none)
        noop = measure("noop_baseline", port, args.clients, args.duration, none)
        results = [baseline, noop, commit_baseline, fulfill, duplicate, unknown]
        enrolled = _count_enrollments(url)
        print(f"\nworkers={args.workers} (sync) clients={args.clients} duration={args.duration}s "
              f"rounds={args.rounds} cpus={os.cpu_count()} enrollments created={enrolled}\n")
        print("| scenario | events/s | p50 ms | p99 ms | errors | vs baseline |")
        print("|---|---:|---:|---:|---:|---:|")
        for r in results:
            print(f"| {r['scenario']} | {r['per_s']} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} "
                  f"| {r['per_s'] / (baseline['per_s'] or 1):.2f} |")
        ratio = statistics.median(ratios)
        worst_p99 = max(r["p99_ms"] or 0 for r in results)
        print(f"\nfulfill/commit_baseline: {fulfill['per_s'] / (commit_baseline['per_s'] or 1):.2f}; "
              f"fulfill/noop_baseline: {fulfill['per_s'] / (noop['per_s'] or 1):.2f}; "
              f"unknown/commit_baseline: {unknown['per_s'] / (commit_baseline['per_s'] or 1):.2f}")
        print(f"fulfill/baseline per round: {', '.join(f'{r:.2f}' for r in ratios)}; median {ratio:.2f} "
              f"(target >= 0.50): {'OK' if ratio >= 0.5 else 'MISSED'}; worst p99 {worst_p99} ms "
              f"(Stripe waits ~{STRIPE_TIMEOUT_MS // 1000} s)")
        print(json.dumps({"workers": args.workers, "clients": args.clients, "duration": args.duration,
                          "ratios": [round(r, 3) for r in ratios],
                          "results": [{k: v for k, v in r.items() if k != "sent"} for r in results]}))
        ok = ratio >= 0.5 and worst_p99 < STRIPE_TIMEOUT_MS and not any(r["errors"] for r in results)
        return 0 if ok else 1
    finally:
        if server is not None:
            stop(server)
        drop_database(name)


def _duplicates(sent: list[str], slices: list[list[dict]], clients: int) -> list[list]:
    """(seed, event id) pairs of processed events, split across clients."""
    by_tag: dict[str, list[dict]] = {}
    pairs = []
    for event_id in sent:
        _, tag, step = event_id.split("_")
        client = int(tag[6:])
        by_tag.setdefault(tag, slices[client])
        pairs.append((by_tag[tag][int(step)], event_id))
    return [pairs[i::clients] or pairs[:1] for i in range(clients)]


def _count_enrollments(url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM enrollments")).scalar_one()
    engine.dispose()
    return count


if __name__ == "__main__":
    sys.exit(main())

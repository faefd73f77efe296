"""Benchmark: the coupon-quote fragment and the checkout POST against a bare baseline endpoint.

    .venv/bin/python bench/bench_checkout.py [--duration 10] [--workers 2] [--clients 8] [--rounds 3]
    .venv/bin/python bench/bench_checkout.py --compare REF [--duration 6] [--rounds 5]

What it does, all in one run (ratios matter; absolute numbers depend on the machine):
1. creates a fresh PostgreSQL database on BENCH_POSTGRES_URL's server (default: the test
   server, postgresql+psycopg://postgres@127.0.0.1:5432/postgres), migrates and seeds it (a
   $49.00 course, an unlimited 10% coupon, one learner per client);
2. serves the Stripe sandbox with gunicorn (1 gthread worker: its state is in memory) and the
   app with gunicorn sync workers (`bench/wsgi.py` = the app + `GET /bench/baseline`), both on
   free loopback ports; sync workers close each connection, so no worker hoards a client;
3. drives each scenario with `--clients` client processes for `--duration` seconds:
   - baseline:        GET /bench/baseline (one-row lookup in the same app setup)
   - quote:           POST /courses/<slug> with HX-Request + CSRF header → price fragment
   - checkout_reuse:  POST /courses/<slug>/checkout, same price each time → 303 to the open
                      session (user row lock, open-session lookup, no Stripe call)
   - checkout_new:    POST /courses/<slug>/checkout alternating coupon/no coupon → every POST
                      expires the previous Stripe session, reserves, and creates a new one
   - catalog:         GET /courses (the catalog page, anonymous)
4. prints a table (requests/s, p50, p95, errors, ratio to baseline) and JSON, then stops the
   servers it started and drops the database. Baseline and quote alternate for --rounds rounds
   and the verdict uses the median per-round ratio (the machines are shared and noisy).
With `--compare REF` it measures the cost of a change instead: the code at git REF (checked out
in a temporary worktree) and the working tree are served side by side on the same database, and
quote and catalog alternate between them for --rounds rounds (before, after, before, after…);
the verdict is the median per-round ratio after/before (target: at most 10% slower, >= 0.90).
Coupon-check rate limiting is switched off for the run (RATELIMIT_ENABLED=0): it would cap
the quote scenario at COUPON_CHECK_RATE_LIMIT per address, which is the point of it, not of
the benchmark.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import Browser, start_server  # noqa: E402
from bench.pgdb import GUNICORN_CONF, create_database, drop_database, free_port, stop  # noqa: E402

SLUG = "bench-course"
PASSWORD = "bench-password-42"



# --- database ---------------------------------------------------------------------------



def migrate_and_seed(url: str, learners: int) -> None:
    from decimal import Decimal

    from flask_migrate import upgrade

    from app import create_app
    from extensions import db
    from models import Coupon, Course, DiscountType, Lecture, User
    from services.people.accounts import hash_password

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        course = Course(slug=SLUG, title="Bench Course", price_amount=4900, currency="USD", is_published=True,
                        short_description="Benchmark course.", description="A course for the benchmark.")
        course.lectures = [Lecture(position=i, title=f"Lecture {i}", duration_minutes=5) for i in range(1, 4)]
        db.session.add(course)
        db.session.add(Coupon(code="SAVE10", name="Bench 10%", discount_type=DiscountType.PERCENTAGE,
                              percent_off=Decimal(10), per_learner_limit=None, max_uses=None))
        password_hash = hash_password(PASSWORD)
        db.session.add_all([User(email=f"bench{i}@example.com", name=f"Bench {i}", password_hash=password_hash)
                            for i in range(learners)])
        db.session.commit()
        db.engine.dispose()


# --- servers ----------------------------------------------------------------------------

def start(cmd: list[str], env: dict, port: int, health: str) -> subprocess.Popen:
    log_path = Path(tempfile.gettempdir()) / f"bench-checkout-{port}.log"
    return start_server(cmd, env, port, log_path, ("GET", health, None))


def run_client(args: tuple) -> dict:
    scenario, port, index, duration = args
    client = Browser(port, {"Connection": "close"})
    if scenario == "quote":
        client.load_token(f"/courses/{SLUG}")
    elif scenario.startswith("checkout"):
        client.sign_in(f"bench{index}@example.com", PASSWORD, then=f"/courses/{SLUG}")

    def one(step: int) -> bool:
        if scenario == "baseline":
            status, body, _ = client.request("GET", "/bench/baseline")
            return status == 200 and body == SLUG
        if scenario == "quote":
            status, body, _ = client.request("POST", f"/courses/{SLUG}", {"coupon_code": "save10"},
                                             {"HX-Request": "true", "X-CSRFToken": client.token})
            return status == 200 and "$44.10" in body
        if scenario == "catalog":
            status, body, _ = client.request("GET", "/courses")
            return status == 200 and "Bench Course" in body
        code = "SAVE10" if scenario == "checkout_reuse" or step % 2 else ""
        status, _, _ = client.request("POST", f"/courses/{SLUG}/checkout", {"coupon_code": code, "csrf_token": client.token})
        return status == 303

    latencies, errors, step = [], 0, 0
    if scenario.startswith("checkout"):
        one(1)  # open the first session outside the measured window
    end = time.perf_counter() + duration
    while (started := time.perf_counter()) < end:
        step += 1
        try:
            ok = one(step)
        except OSError:  # a timeout or reset counts as an error, not as the end of the run
            ok = False
        latencies.append(time.perf_counter() - started)
        errors += 0 if ok else 1
    return {"latencies": latencies, "errors": errors}


def measure(scenario: str, port: int, clients: int, duration: float, offset: int) -> dict:
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        results = pool.map(run_client, [(scenario, port, offset + i, duration) for i in range(clients)])
    latencies = sorted(x for r in results for x in r["latencies"])
    count = len(latencies)
    return {"scenario": scenario, "requests": count, "errors": sum(r["errors"] for r in results),
            "rps": round(count / duration, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "p95_ms": round(latencies[int(count * 0.95) - 1] * 1000, 1) if count >= 20 else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers for the app")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client processes")
    parser.add_argument("--rounds", type=int, default=3, help="baseline/quote pairs (median ratio)")
    parser.add_argument("--compare", metavar="REF", help="measure quote and catalog at git REF and in the working tree")
    args = parser.parse_args()

    name, url = create_database("checkout")
    servers: list[subprocess.Popen] = []
    before_tree = None
    try:
        migrate_and_seed(url, learners=2 * args.clients)
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))  # the virtualenv running this script
        sandbox_port, app_port = free_port(), free_port()
        env = {**os.environ, "APP_ENV": "development", "SECRET_KEY": "bench-" + secrets.token_hex(16),
               "DATABASE_URL": url, "STRIPE_API_BASE": f"http://127.0.0.1:{sandbox_port}",
               "STRIPE_WEBHOOK_SECRET": "whsec_bench", "RATELIMIT_ENABLED": "0",
               "SANDBOX_PUBLIC_URL": f"http://127.0.0.1:{sandbox_port}", "SANDBOX_WEBHOOK_URLS": "",
               # As under gunicorn.conf.py in production: every worker writes its metrics to files.
               "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="bench-metrics-")}
        servers.append(start([gunicorn, "-c", GUNICORN_CONF, "-w", "1", "-k", "gthread", "--threads", "16",
                              "-b", f"127.0.0.1:{sandbox_port}", "stripe_sandbox:create_app()"],
                             env, sandbox_port, "/v1/checkout/sessions/none"))
        app_command = [gunicorn, "-c", GUNICORN_CONF, "-w", str(args.workers), "-k", "sync"]
        servers.append(start([*app_command, "-b", f"127.0.0.1:{app_port}", "bench.wsgi:app"], env, app_port,
                             "/bench/baseline"))
        if args.compare:
            before_tree = Path(tempfile.mkdtemp(prefix="bench-before-"))
            subprocess.run(["git", "worktree", "add", "--detach", str(before_tree), args.compare], cwd=ROOT,
                           check=True, capture_output=True)
            before_port = free_port()
            servers.append(start([*app_command, "--chdir", str(before_tree), "-b", f"127.0.0.1:{before_port}",
                                  "bench.wsgi:app"], {**env, "PYTHONPATH": str(before_tree)}, before_port,
                                 "/bench/baseline"))
            return compare(args, before_port, app_port)
        # The machine is shared and noisy: baseline and quote alternate for --rounds rounds and
        # the ratio is the median of the per-round ratios (each pair measured back to back).
        rounds: list[tuple[dict, dict]] = []
        for number in range(args.rounds):
            pair = (measure("baseline", app_port, args.clients, args.duration, 0),
                    measure("quote", app_port, args.clients, args.duration, 0))
            rounds.append(pair)
            print(f"  round {number + 1}: baseline {pair[0]['rps']} req/s, quote {pair[1]['rps']} req/s",
                  file=sys.stderr)
        ratios = [q["rps"] / (b["rps"] or 1) for b, q in rounds]
        quote_ratio = statistics.median(ratios)
        middle = sorted(range(len(rounds)), key=lambda i: ratios[i])[len(rounds) // 2]
        baseline_result, quote_result = rounds[middle]
        results = [baseline_result, quote_result]
        for scenario in ["checkout_reuse", "checkout_new"]:
            learner_offset = args.clients if scenario == "checkout_new" else 0
            results.append(measure(scenario, app_port, args.clients, args.duration, learner_offset))
            print(f"  {scenario}: {results[-1]['rps']} req/s", file=sys.stderr)
        baseline = baseline_result["rps"] or 1
        print(f"\nworkers={args.workers} (sync) clients={args.clients} duration={args.duration}s "
              f"rounds={args.rounds} cpus={os.cpu_count()}\n")
        print("| scenario | req/s | p50 ms | p95 ms | errors | vs baseline |")
        print("|---|---:|---:|---:|---:|---:|")
        for r in results:
            print(f"| {r['scenario']} | {r['rps']} | {r['p50_ms']} | {r['p95_ms']} | {r['errors']} "
                  f"| {r['rps'] / baseline:.2f} |")
        print(f"\nquote/baseline per round: {', '.join(f'{r:.2f}' for r in ratios)}; median {quote_ratio:.2f} "
              f"(target >= 0.50): {'OK' if quote_ratio >= 0.5 else 'MISSED'}")
        print(json.dumps({"workers": args.workers, "clients": args.clients, "duration": args.duration,
                          "ratios": [round(r, 3) for r in ratios], "results": results}))
        return 0 if quote_ratio >= 0.5 and not any(r["errors"] for r in results) else 1
    finally:
        for server in reversed(servers):
            stop(server)
        if before_tree is not None:
            subprocess.run(["git", "worktree", "remove", "--force", str(before_tree)], cwd=ROOT, capture_output=True)
        drop_database(name)


def compare(args, before_port: int, after_port: int) -> int:
    """Quote and catalog, before (git REF) and after (working tree), alternating; ratios after/before."""
    table, verdicts = [], []
    for scenario in ("quote", "catalog"):
        ratios, pairs = [], []
        for number in range(args.rounds):
            # Which side goes first alternates too, so a machine getting busier favours neither.
            order = [("before", before_port), ("after", after_port)]
            if number % 2:
                order.reverse()
            measured = {side: measure(scenario, port, args.clients, args.duration, 0) for side, port in order}
            pairs.append(measured)
            ratios.append(measured["after"]["rps"] / (measured["before"]["rps"] or 1))
            print(f"  {scenario} round {number + 1}: before {measured['before']['rps']} req/s, "
                  f"after {measured['after']['rps']} req/s", file=sys.stderr)
        median = statistics.median(ratios)
        middle = pairs[sorted(range(len(ratios)), key=lambda i: ratios[i])[len(ratios) // 2]]
        table.append((scenario, middle, ratios, median))
        verdicts.append(median >= 0.90 and not any(p[side]["errors"] for p in pairs for side in p))
    print(f"\ncompare {args.compare} (before) with the working tree (after): workers={args.workers} (sync) "
          f"clients={args.clients} duration={args.duration}s rounds={args.rounds} cpus={os.cpu_count()}\n")
    print("| scenario | before req/s | after req/s | before p50 ms | after p50 ms | before p95 ms | after p95 ms "
          "| after/before per round | median |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for scenario, middle, ratios, median in table:
        b, a = middle["before"], middle["after"]
        print(f"| {scenario} | {b['rps']} | {a['rps']} | {b['p50_ms']} | {a['p50_ms']} | {b['p95_ms']} | {a['p95_ms']} "
              f"| {', '.join(f'{r:.2f}' for r in ratios)} | **{median:.2f}** |")
    print(f"\ntarget: after/before >= 0.90 (the change costs at most 10%): {'OK' if all(verdicts) else 'MISSED'}")
    print(json.dumps({"compare": args.compare, "results": [{"scenario": s, "ratios": [round(r, 3) for r in rs],
                                                            "median": round(m, 3), "middle": mid}
                                                           for s, mid, rs, m in table]}))
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())

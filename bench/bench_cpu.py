"""Benchmark: what each request costs in CPU and statements, in-process, against the references.

    .venv/bin/python bench/bench_cpu.py [--requests 300] [--warmup 30] [--repeat 3] [--only a,b]
                                        [--explain] [--no-analyze] [--keep] [--profile a,b]

bench_requests.py measures throughput with wrk, which on a shared machine follows the machine's
load as much as the code. This script measures what does not depend on the load: each scenario
runs `--requests` times through the WSGI callable of its server inside this process (the same
app objects gunicorn would serve, no HTTP client, no sockets on our side), and we count

- the CPU time of this process (the app's Python: routing, ORM, templates, psycopg),
- the CPU time of the PostgreSQL backends serving the database (read from /proc: the server
  runs on this machine), and of the Stripe stand-in's process for the Stripe scenarios,
- the SQL statements the app sent (SQLAlchemy's cursor events; fortunes sends 1),
- instructions instead of time, when run under `valgrind --tool=callgrind` (see bench/README.md:
  run it twice with different --requests and subtract).

Scenarios and data are bench_requests.py's (its seed, on a fresh PostgreSQL database), plus the
floors of Learnpay's stack: `bare` (a view that returns a word: the app's middleware, request
hooks, session handling and error handlers, no statement), `bare_user` (the same view reading
`current_user` with a signed-in cookie: Flask-Login's user load, one statement) and `bare_page`
(a template extending the site layout, signed in). The verdict of each scenario is its CPU per
request (this process + PostgreSQL + the stand-in) against its reference's, the inverse of the
throughput ratio a CPU-bound machine would give. Every measurement repeats `--repeat` times,
scenarios interleaved; the minimum is reported (the least disturbed by other processes).

`--explain` prints EXPLAIN (ANALYZE, BUFFERS) of every statement each scenario sends.
`--no-analyze` skips the ANALYZE after seeding (this machine's PostgreSQL runs without
autovacuum, so a fresh seed has no planner statistics unless we collect them).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_requests as wrkbench  # noqa: E402  (seed, events, Lua-free helpers)
from bench.cputime import Backends, cpu_seconds, process_tree, spent  # noqa: E402
from bench.pgdb import analyze, create_database, drop_database, free_port, stop  # noqa: E402

SCENARIOS = ["hello", "fortunes", "bare", "bare_query_ro", "bare_query", "bare_query_noping", "bare_user",
             "bare_page", "catalog", "course", "quote", "dashboard",
             "webhook_dup", "webhook_paid", "stripe_call", "checkout"]
REFERENCE = {"catalog": "fortunes", "course": "fortunes", "quote": "fortunes", "dashboard": "fortunes",
             "webhook_dup": "fortunes", "webhook_paid": "fortunes", "checkout": "stripe_call",
             "bare": "fortunes", "bare_user": "fortunes", "bare_page": "fortunes", "hello": "fortunes",
             "bare_query_ro": "fortunes", "bare_query": "fortunes", "bare_query_noping": "fortunes"}
TARGET = {"catalog": 0.5, "course": 0.5, "quote": 0.5, "dashboard": 0.33, "webhook_dup": 0.5,
          "webhook_paid": 0.15, "checkout": 0.5}


# --- requests as WSGI environs --------------------------------------------------------------

def environ(method: str, path: str, headers: dict | None = None, body: bytes | None = None) -> dict:
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(path=path, method=method, headers={"User-Agent": wrkbench.USER_AGENT, **(headers or {})},
                             data=body, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    try:
        env = builder.get_environ()
    finally:
        builder.close()
    env["bench.body"] = body or b""
    return env


def call(app, env: dict) -> int:
    """One request through the WSGI callable; the answer's status. The body is read and closed."""
    env = dict(env)
    env["wsgi.input"] = io.BytesIO(env["bench.body"])
    status = []

    def start_response(line, headers, exc_info=None):
        status.append(line)
        return lambda data: None

    result = app(env, start_response)
    try:
        for _ in result:
            pass
    finally:
        if hasattr(result, "close"):
            result.close()
    return int(status[0].split()[0])


# --- the apps ------------------------------------------------------------------------------

def learnpay_app(url: str, sandbox_url: str, overrides: dict | None = None):
    """create_app() as gunicorn serves it in bench_requests.py, plus the floor views."""
    os.environ.update({"APP_ENV": "development", "DATABASE_URL": url, "STRIPE_API_BASE": sandbox_url,
                       "STRIPE_WEBHOOK_SECRET": wrkbench.WEBHOOK_SECRET, "RATELIMIT_ENABLED": "0",
                       "SANDBOX_PUBLIC_URL": sandbox_url, "SANDBOX_WEBHOOK_URLS": "",
                       "FRONTEND_URL": "http://127.0.0.1:5000"})
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_hex(16))
    return floor_app(overrides)


def floor_app(overrides: dict | None = None):
    """`create_app()` plus the floor views under /bench/ (gunicorn 'bench.bench_cpu:floor_app()'
    in bench_requests.py, so wrk measures the floors beside the scenarios)."""
    import sqlalchemy as sa
    from flask import render_template_string
    from flask_login import current_user

    from app import create_app
    from blueprints.read_only import read_only
    from extensions import db

    app = create_app(overrides)
    # The floors: Learnpay's stack with nothing in the view; then one statement through the
    # request's session, as a @read_only view sends it (autocommit) and as any other does
    # (BEGIN … ROLLBACK); each after the pool's pre-ping, unless the app is built without it.
    one = sa.select(sa.literal(1))
    app.add_url_rule("/bench/bare", "bench_bare", lambda: "ok")
    app.add_url_rule("/bench/bare-query", "bench_bare_query", lambda: str(db.session.execute(one).scalar()))
    app.add_url_rule("/bench/bare-query-ro", "bench_bare_query_ro",
                     read_only(lambda: str(db.session.execute(one).scalar())))
    app.add_url_rule("/bench/bare-user", "bench_bare_user",
                     lambda: "ok" if current_user.is_authenticated else ("anonymous", 403))
    layout = _layout_name(app)
    app.add_url_rule("/bench/bare-page", "bench_bare_page",
                     lambda: render_template_string('{% extends "' + layout + '" %}{% block content %}ok{% endblock %}'))
    return app


def _layout_name(app) -> str:
    for name in ("base.html", "layout.html", "_layout.html"):
        if (ROOT / "templates" / name).exists():
            return name
    raise RuntimeError("no site layout template found")


def sign_in(app, email: str) -> tuple[str, str]:
    """(Cookie header, CSRF token) of a signed-in browser session, through the app itself."""
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": wrkbench.USER_AGENT, "REMOTE_ADDR": "127.0.0.1"})
    page = client.get("/login").get_data(as_text=True)
    token = wrkbench.FORM_TOKEN.search(page).group(1)
    response = client.post("/login", data={"email": email, "password": wrkbench.PASSWORD, "csrf_token": token})
    if response.status_code != 302:
        raise RuntimeError(f"sign-in failed ({response.status_code})")
    page = client.get("/courses/bench-course-0").get_data(as_text=True)
    csrf = wrkbench.META_TOKEN.search(page).group(1)
    cookie = client.get_cookie("session")
    return f"session={cookie.value}", csrf


class Scenarios:
    """Builds each scenario's requests before it is timed (fresh pairs and events for the
    scenarios that need a new one every time)."""

    def __init__(self, app, refs: dict, seed: dict, cookie: str, csrf: str) -> None:
        self.app, self.refs, self.seed, self.cookie, self.csrf = app, refs, seed, cookie, csrf
        self.noping = None  # the same app built with pool_pre_ping off (bare_query_noping)
        self.template = wrkbench.session_template()
        self.paid_offset = 0
        self.checkout_offset = 0

    def build(self, scenario: str, count: int) -> tuple[object, list[dict]]:
        signed_in = {"Cookie": self.cookie}
        if scenario == "hello":
            return self.refs["hello"], [environ("GET", "/")] * count
        if scenario == "fortunes":
            return self.refs["fortunes"], [environ("GET", "/fortunes")] * count
        if scenario == "stripe_call":
            body = json.dumps({"courseId": 1, "returnUrl": "http://127.0.0.1:5000/return",
                               "cancelUrl": "http://127.0.0.1:5000/cancel"}).encode()
            return self.refs["stripe_call"], [environ("POST", "/checkout", {"Content-Type": "application/json"}, body)] * count
        if scenario == "bare":
            return self.app, [environ("GET", "/bench/bare")] * count
        if scenario == "bare_query":
            return self.app, [environ("GET", "/bench/bare-query")] * count
        if scenario == "bare_query_ro":
            return self.app, [environ("GET", "/bench/bare-query-ro")] * count
        if scenario == "bare_query_noping":
            return self.noping, [environ("GET", "/bench/bare-query")] * count
        if scenario == "bare_user":
            return self.app, [environ("GET", "/bench/bare-user", signed_in)] * count
        if scenario == "bare_page":
            return self.app, [environ("GET", "/bench/bare-page", signed_in)] * count
        if scenario == "catalog":
            return self.app, [environ("GET", "/courses")] * count
        if scenario == "course":
            return self.app, [environ("GET", "/courses/bench-course-3")] * count
        if scenario == "quote":
            return self.app, [environ("POST", "/courses/bench-course-0", {
                **signed_in, "HX-Request": "true", "X-CSRFToken": self.csrf,
                "Content-Type": "application/x-www-form-urlencoded"}, b"coupon_code=SAVE10")] * count
        if scenario == "dashboard":
            return self.app, [environ("GET", "/dashboard", signed_in)] * count
        if scenario == "webhook_paid":
            seeds = self.seed["seeds"][self.paid_offset:self.paid_offset + count]
            self.paid_offset += count
            return self.app, [self._event(s) for s in seeds]
        if scenario == "webhook_dup":
            done = self.seed["seeds"][:max(1, min(self.paid_offset, 200))]
            events = [self._event(s) for s in done]
            return self.app, [events[i % len(events)] for i in range(count)]
        if scenario == "checkout":
            tokens, courses = self.seed["tokens"], self.seed["course_ids"]
            envs = []
            for index in range(self.checkout_offset, self.checkout_offset + count):
                learner, course = index // len(courses), courses[index % len(courses)]
                body = json.dumps({"courseId": course, "couponCode": ""}).encode()
                envs.append(environ("POST", "/api/payments/sessions", {
                    "Authorization": f"Bearer {tokens[learner]}", "Content-Type": "application/json"}, body))
            self.checkout_offset += count
            return self.app, envs
        raise ValueError(scenario)

    def _event(self, seed: dict) -> dict:
        import hashlib
        import hmac

        body = wrkbench.completed_event(self.template, seed)
        timestamp = int(time.time())
        digest = hmac.new(wrkbench.WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        return environ("POST", "/webhooks/stripe", {"Stripe-Signature": f"t={timestamp},v1={digest}",
                                                     "Content-Type": "application/json; charset=utf-8"}, body)


# --- instructions (under callgrind) -----------------------------------------------------------

CALLGRIND_SOURCE = r"""
#include <valgrind/callgrind.h>
void cg_zero(void) { CALLGRIND_ZERO_STATS; }
void cg_dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }
int cg_running(void) { return RUNNING_ON_VALGRIND; }
"""


class Callgrind:
    """Client requests to callgrind from Python (a tiny C library built with gcc and valgrind's
    header): counters zeroed before a batch of requests and dumped after it, so each dump holds
    exactly that batch's instructions, which the machine's load does not change."""

    def __init__(self, out_prefix: str) -> None:
        import ctypes

        build = Path(tempfile.mkdtemp(prefix="bench-cg-"))
        (build / "cg.c").write_text(CALLGRIND_SOURCE)
        subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(build / "libcg.so"), str(build / "cg.c")],
                       check=True)
        self.lib = ctypes.CDLL(str(build / "libcg.so"))
        if not self.lib.cg_running():
            raise RuntimeError("--callgrind: run this script under valgrind --tool=callgrind "
                               "--callgrind-out-file=PREFIX (see bench/README.md)")
        self.prefix = out_prefix

    def zero(self) -> None:
        self.lib.cg_zero()

    def dump(self, name: str) -> int:
        """Dump, and return the dumped part's total instructions."""
        before = set(Path(self.prefix).parent.glob(Path(self.prefix).name + "*"))
        self.lib.cg_dump(name.encode())
        part = max(set(Path(self.prefix).parent.glob(Path(self.prefix).name + "*")) - before,
                   key=lambda path: path.stat().st_mtime)
        for line in part.read_text().splitlines():
            if line.startswith("totals:"):  # "summary:" is not reset by a zero request
                return int(line.split()[1])
        raise RuntimeError(f"no totals in {part}")


# --- measuring ------------------------------------------------------------------------------

class Meter:
    def __init__(self, backends: Backends, sandbox: subprocess.Popen | None, engine) -> None:
        from sqlalchemy import event

        self.backends, self.sandbox, self.statements = backends, sandbox, 0

        def count(*args, **kwargs):
            self.statements += 1

        event.listen(engine, "before_cursor_execute", count)

    def sandbox_cpu(self) -> float:
        return sum(cpu_seconds(p) for p in process_tree(self.sandbox.pid)) if self.sandbox else 0.0

    def run(self, scenario: str, app, envs: list[dict]) -> dict:
        statuses: dict[int, int] = {}
        pg_before, sb_before = self.backends.snapshot(), self.sandbox_cpu()
        statements_before = self.statements
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        for env in envs:
            status = call(app, env)
            statuses[status] = statuses.get(status, 0) + 1
        cpu, wall = time.process_time() - cpu_before, time.perf_counter() - wall_before
        pg_after = self.backends.snapshot()
        pg = spent(pg_before, pg_after)
        sandbox = self.sandbox_cpu() - sb_before
        n = len(envs)
        statements = (self.statements - statements_before) / n
        if scenario == "fortunes":
            statements = 1.0  # psycopg directly: one SELECT (SQLAlchemy does not see it)
        return {"app_ms": 1000 * cpu / n, "pg_ms": 1000 * pg / n, "stripe_ms": 1000 * sandbox / n,
                "total_ms": 1000 * (cpu + pg + sandbox) / n, "wall_ms": 1000 * wall / n,
                "statements": statements, "statuses": statuses}


def explain(url: str, app, envs: list[dict], engine) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement one request sends, in a rolled-back transaction."""
    import psycopg
    from sqlalchemy import event

    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        call(app, envs[0])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    lines = []
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        for statement, parameters in seen:
            if statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SELECT 1")):
                lines.append(f"-- {statement.strip()[:80]}")
                continue
            try:
                rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).fetchall()
                lines.append(f"-- {' '.join(statement.split())[:300]}")
                lines += ["   " + r[0] for r in rows]
            except Exception as exc:  # noqa: BLE001 - a bench report, not a failure
                lines.append(f"-- {' '.join(statement.split())[:200]}\n   (not explained: {exc})")
            conn.rollback()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per measurement")
    parser.add_argument("--warmup", type=int, default=30, help="requests before measuring each scenario")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved measurements (the minimum is kept)")
    parser.add_argument("--only", default="", help="comma-separated scenarios (default: all)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each scenario's statements")
    parser.add_argument("--no-analyze", action="store_true", help="leave the seeded tables without statistics")
    parser.add_argument("--pending", type=int, default=24000, help="PENDING sessions (as bench_requests)")
    parser.add_argument("--checkout-users", type=int, default=600)
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    parser.add_argument("--db", default="", help="use this seeded database (from --seed-only) instead of a new one")
    parser.add_argument("--seed-only", action="store_true", help="create and seed a database, print its URL, keep it")
    parser.add_argument("--callgrind", default="", metavar="PREFIX",
                        help="count instructions per request (run under valgrind --tool=callgrind "
                             "--callgrind-out-file=PREFIX)")
    parser.add_argument("--json", default="", help="write the results to this file too")
    parser.add_argument("--profile", default="", help="cProfile these scenarios (comma-separated) and print "
                                                      "their costliest functions instead of measuring")
    args = parser.parse_args()
    scenarios = [s for s in SCENARIOS if not args.only or s in args.only.split(",")]
    if "webhook_dup" in scenarios and "webhook_paid" not in scenarios:
        scenarios.insert(scenarios.index("webhook_dup"), "webhook_paid")
    if "webhook_dup" in scenarios:  # duplicates need events the paid scenario processed first
        scenarios.remove("webhook_dup")
        scenarios.insert(scenarios.index("webhook_paid") + 1, "webhook_dup")
    for scenario in list(scenarios):
        reference = REFERENCE.get(scenario)
        if reference and reference not in scenarios:
            scenarios.insert(0, reference)

    if args.db:  # seeded by --seed-only: the seed's ids are in its sidecar file
        url, name = args.db, args.db.rsplit("/", 1)[1]
        seed = json.loads(Path(tempfile.gettempdir(), f"{name}.seed.json").read_text())
    else:
        name, url = create_database("cpu")
    sandbox = None
    try:
        if not args.db:
            seed = wrkbench.migrate_and_seed(url, args.checkout_users, args.pending)
            if not args.no_analyze:
                analyze(url)
        if args.seed_only:
            Path(tempfile.gettempdir(), f"{name}.seed.json").write_text(json.dumps(seed))
            print(url)
            args.keep = True
            return 0
        sandbox_port = free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        if {"checkout", "stripe_call"} & set(scenarios):
            sandbox = wrkbench.start("sandbox", wrkbench.gunicorn(
                "stripe_sandbox:create_app()", sandbox_port, workers=1, extra=["-k", "gthread", "--threads", "8"]),
                {**os.environ, "SANDBOX_PUBLIC_URL": sandbox_url, "SANDBOX_WEBHOOK_URLS": ""}, sandbox_port,
                ("GET", "/v1/checkout/sessions/none", None))
        os.environ["FORTUNES_DSN"] = url.replace("postgresql+psycopg://", "postgresql://")
        app = learnpay_app(url, sandbox_url)
        from bench.refs import fortunes, hello, stripe_call  # noqa: F401 - read the env at import

        from extensions import db
        with app.app_context():
            engine = db.engine
        refs = {"hello": hello.app, "fortunes": fortunes.app, "stripe_call": stripe_call.app}
        cookie, csrf = sign_in(app, "dashboard@example.com")
        built = Scenarios(app, refs, seed, cookie, csrf)
        if "bare_query_noping" in scenarios:
            built.noping = learnpay_app(url, sandbox_url, {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False}})
        meter = Meter(Backends(url, name), sandbox, engine)

        if args.explain:
            for scenario in scenarios:
                target, envs = built.build(scenario, 2)
                if target is app:
                    print(f"\n## {scenario}")
                    print("\n".join(explain(url, app, envs, engine)))

        if args.profile:
            for scenario in args.profile.split(","):
                profile(built, scenario, args.warmup, args.requests)
            return 0
        if args.callgrind:
            return count_instructions(args, built, scenarios)
        for scenario in scenarios:  # warm-up: caches filled, connections open
            target, envs = built.build(scenario, args.warmup)
            meter.run(scenario, target, envs)
        results: dict[str, list[dict]] = {s: [] for s in scenarios}
        for number in range(args.repeat):
            for scenario in scenarios:
                target, envs = built.build(scenario, args.requests)
                results[scenario].append(meter.run(scenario, target, envs))
            print(f"  round {number + 1}: " + ", ".join(
                f"{s} {results[s][-1]['total_ms']:.2f}" for s in scenarios) + f" ms; load {os.getloadavg()[0]:.1f}",
                file=sys.stderr)
        report(args, scenarios, results)
    finally:
        if sandbox is not None:
            stop(sandbox)
        if args.keep or args.db:
            print(f"database kept: {url}", file=sys.stderr)
        else:
            drop_database(name)
    return 0


def count_instructions(args, built: Scenarios, scenarios: list[str]) -> int:
    """Instructions this process runs per request of each scenario (PostgreSQL's are not
    counted: callgrind sees this process only), after the scenario's warm-up."""
    grind = Callgrind(args.callgrind)
    results = {}
    for scenario in scenarios:
        target, envs = built.build(scenario, args.warmup)
        for env in envs:
            call(target, env)
        target, envs = built.build(scenario, args.requests)
        grind.zero()
        for env in envs:
            call(target, env)
        results[scenario] = grind.dump(scenario) / len(envs)
        print(f"  {scenario}: {results[scenario] / 1e6:.2f} M instructions per request", file=sys.stderr)
    print("\n| scenario | instructions per request (this process) | reference | ratio (ref/scenario) |")
    print("|---|---:|---|---:|")
    for scenario, count in results.items():
        reference = REFERENCE.get(scenario)
        ratio = f"{results[reference] / count:.3f}" if reference in results else ""
        print(f"| {scenario} | {count / 1e6:.2f} M | {reference or ''} | {ratio} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


def profile(built: Scenarios, scenario: str, warmup: int, count: int) -> None:
    """cProfile one scenario after its warm-up: the functions that cost most, own time and cumulative."""
    import cProfile
    import pstats

    target, envs = built.build(scenario, warmup)
    for env in envs:
        call(target, env)
    target, envs = built.build(scenario, count)
    profiler = cProfile.Profile(time.process_time)  # CPU, not the waits for PostgreSQL
    profiler.enable()
    for env in envs:
        call(target, env)
    profiler.disable()
    dump = Path(tempfile.gettempdir()) / f"bench-cpu-{scenario}.prof"
    profiler.dump_stats(dump)  # for pstats / snakeviz
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    print(f"\n## {scenario}: {count} requests (CPU time; profile in {dump})")
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(45)
    print(out.getvalue().replace(str(ROOT) + "/", "").replace(str(Path(sys.executable).parent.parent), "VENV"))


def report(args, scenarios: list[str], results: dict[str, list[dict]]) -> None:
    best = {s: min(results[s], key=lambda r: r["total_ms"]) for s in scenarios}
    print(f"\nin-process, {args.requests} requests x {args.repeat} (minimum kept), "
          f"load {os.getloadavg()[0]:.1f}, cpus={os.cpu_count()}\n")
    print("| scenario | statements | app CPU ms | PostgreSQL CPU ms | stand-in CPU ms | total CPU ms | "
          "reference | CPU ratio (ref/scenario) | target | statuses |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---|---|")
    summary = {}
    for s in scenarios:
        r = best[s]
        reference = REFERENCE.get(s)
        ratio = best[reference]["total_ms"] / r["total_ms"] if reference in best else None
        summary[s] = {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
        summary[s]["ratio"] = round(ratio, 3) if ratio else None
        target = TARGET.get(s)
        print(f"| {s} | {r['statements']:.1f} | {r['app_ms']:.3f} | {r['pg_ms']:.3f} | {r['stripe_ms']:.3f} | "
              f"{r['total_ms']:.3f} | {reference or ''} | {f'{ratio:.2f}' if ratio else ''} | "
              f"{f'≥ {target}' if target else ''} | {r['statuses']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))
    print(json.dumps({s: summary[s]["ratio"] for s in scenarios}))


if __name__ == "__main__":
    sys.exit(main())

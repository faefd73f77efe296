"""Benchmark: Learnpay's requests against reference servers, with wrk, in interleaved rounds.

    .venv/bin/python bench/bench_requests.py [--duration 5] [--rounds 3] [--warmup 2]
                                             [--only catalog,fortunes] [--memory 20000]
                                             [--profile SCENARIO]

All in one run, on free loopback ports, so only same-run ratios count:
1. a fresh PostgreSQL database (bench/pgdb.py) is migrated and seeded: 12 published courses
   of 8 lectures, a 10% coupon, a learner with 10 paid enrollments (the dashboard), learners
   with API tokens (one new Checkout Session per (learner, course) pair), PENDING payment
   sessions for paid webhooks, and the 12 rows of the fortunes reference;
2. gunicorn serves, each with 2 sync workers and bench/gunicorn_conf.py (not the production file): Learnpay
   (`app:create_app()`), and the reference servers of bench/refs (hello, fortunes,
   stripe_call); the Stripe stand-in runs under gunicorn too (1 gthread worker, its state is in
   memory; `--sandbox-threads`). The "sandbox" line measures the stand-in alone (wrk posting
   the same form Stripe's library sends): it must be far above stripe_call's rate, or the
   stand-in would be the bottleneck of both checkout lines;
3. wrk (keep-alive, -t2 -c16, `--latency`) drives each scenario for `--duration` seconds,
   scenarios interleaved round after round after a warm-up of each; POSTs, signed webhooks
   and per-request bodies come from generated wrk Lua scripts:
   - hello, fortunes, stripe_call: the references;
   - catalog (GET /courses) and course (GET /courses/<slug>), anonymous, no cookie;
   - quote: htmx POST /courses/<slug> with a coupon, signed in (cookie + X-CSRFToken);
   - dashboard: GET /dashboard of the learner with 10 enrollments;
   - checkout: POST /api/payments/sessions (Bearer API token), a fresh (learner, course) pair
     every request, so each creates a payment session and one Stripe Checkout Session;
   - webhook_paid: a signed `checkout.session.completed` for a new PENDING session each time
     (fulfilment: inbox, locks, enrollment, audit, one commit before the 200);
   - webhook_dup: a processed event delivered again (re-signed, as Stripe retries do);
4. prints, per round and as medians, requests/s and p50/p99, the ratio of each scenario to
   its reference (fortunes; the checkout to stripe_call), errors (non-2xx/3xx, socket
   errors), the machine's load average, and the CPU each answered request cost the servers'
   processes and PostgreSQL backends (bench/cputime.py) with the CPU ratio that follows, checks in the database that every checkout made a
   Stripe session and every paid event an enrollment, then (`--memory N`, 0 to skip) sends N
   mixed requests and reports the app workers' RSS growth. Exit status 0 = every target met.
The app's rate limits are off for the run (RATELIMIT_ENABLED=0): they are the point of those
limits, not of this benchmark. Logs go to files ($TMPDIR/bench-requests-*.log).
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import cputime  # noqa: E402
from bench.harness import Browser, completed_event, session_template, start_server  # noqa: E402
from bench.pgdb import GUNICORN_CONF, analyze, create_database, drop_database, free_port, stop  # noqa: E402

BIN = Path(sys.executable).parent
WEBHOOK_SECRET = "whsec_bench_" + "x" * 24
USER_AGENT = "learnpay-bench"  # the same for sign-in and wrk (Flask-Login's strong protection)
PASSWORD = "bench-password-42"
COURSES = 12
LECTURES = 8
DASHBOARD_ENROLLMENTS = 10
THREADS, CONNECTIONS = 2, 16

# scenario → the reference its ratio is taken against, and the target (None: reference itself)
TARGETS = {
    "catalog": ("fortunes", 0.5), "course": ("fortunes", 0.5), "quote": ("fortunes", 0.5),
    "dashboard": ("fortunes", 0.33), "checkout": ("stripe_call", 0.5),
    "webhook_dup": ("fortunes", 0.5), "webhook_paid": ("fortunes", 0.15),
}
P99_LIMIT_MS = {"webhook_paid": 100.0}
REFERENCES = ["hello", "fortunes", "stripe_call", "sandbox"]
# The floors of Learnpay's stack (bench/bench_cpu.py's views, served with the app): one
# statement through the request's session as a @read_only view sends it, for a visitor; and a
# signed-in request's Flask-Login user load with nothing else. Ratios, no targets.
FLOORS = {"floor": "fortunes", "floor_user": "fortunes"}
ALL = ["hello", "fortunes", "floor", "floor_user", "catalog", "course", "quote", "dashboard", "webhook_dup",
       "webhook_paid", "sandbox", "stripe_call", "checkout"]


# --- database -------------------------------------------------------------------------------

def migrate_and_seed(url: str, checkout_users: int, pending: int) -> dict:
    """Everything the scenarios need; returns ids, tokens and payment-session seeds."""
    from datetime import timedelta
    from decimal import Decimal

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from app import create_app
    from bench.refs.fortunes import ROWS, SCHEMA
    from extensions import db
    from models import (ApiToken, Coupon, Course, DiscountType, Enrollment, EnrollmentSource, EnrollmentType,
                        Lecture, LectureProgress, PaymentSession, PaymentSessionStatus, PaymentStatus, User,
                        utcnow)
    from services.people.accounts import hash_password
    from services.people.api_tokens import hash_token

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    now = utcnow()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.session.execute(sa.text(SCHEMA))
        db.session.execute(sa.text("INSERT INTO bench_fortunes (id, message) VALUES (:id, :message)"),
                           [{"id": i + 1, "message": m} for i, m in enumerate(ROWS)])
        courses = []
        for i in range(COURSES):
            course = Course(slug=f"bench-course-{i}", title=f"Bench course {i}: {'Python & SQL' if i % 2 else 'Design <basics>'}",
                            short_description=f"Short description of course {i}, long enough to look real.",
                            description="A course for the benchmark. " * 20, price_amount=4900 + 100 * i,
                            currency="USD", is_published=True, created_at=now - timedelta(days=COURSES - i))
            course.lectures = [Lecture(position=p, title=f"Lecture {p}", duration_minutes=5 + p,
                                       content="Lecture text. " * 30) for p in range(1, LECTURES + 1)]
            courses.append(course)
        db.session.add_all(courses)
        db.session.add(Coupon(code="SAVE10", name="Bench 10%", discount_type=DiscountType.PERCENTAGE,
                              percent_off=Decimal(10), per_learner_limit=None, max_uses=None))
        learner = User(email="dashboard@example.com", name="Dash Board", password_hash=hash_password(PASSWORD))
        db.session.add(learner)
        db.session.flush()
        for i, course in enumerate(courses[:DASHBOARD_ENROLLMENTS]):
            ps = PaymentSession(id=f"ps_dash{i:04d}", user_id=learner.id, course_id=course.id,
                                status=PaymentSessionStatus.COMPLETED, amount=course.price_amount, currency="USD",
                                final_amount=course.price_amount, created_at=now - timedelta(days=i + 1),
                                completed_at=now - timedelta(days=i + 1), stripe_session_id=f"cs_dash{i:04d}")
            db.session.add(ps)
            db.session.flush()
            enrollment = Enrollment(user_id=learner.id, course_id=course.id, type=EnrollmentType.PAID,
                                    source=EnrollmentSource.DIRECT, payment_status=PaymentStatus.PAID,
                                    payment_id=ps.id, amount_paid=course.price_amount, paid_at=ps.completed_at,
                                    enrolled_at=ps.completed_at, total_lectures=LECTURES,
                                    last_accessed_at=now - timedelta(hours=i) if i % 3 else None,
                                    current_lecture_id=course.lectures[i % LECTURES].id)
            db.session.add(enrollment)
            db.session.flush()
            ps.enrollment_id = enrollment.id
            db.session.add_all([LectureProgress(enrollment_id=enrollment.id, lecture_id=lecture.id,
                                                completed_at=now - timedelta(days=1), time_spent_seconds=300)
                                for lecture in course.lectures[: i % (LECTURES + 1)]])
        # Learners for the checkout (API tokens) and for paid webhooks (PENDING sessions).
        webhook_users = pending // COURSES + 1
        total = checkout_users + webhook_users
        db.session.execute(sa.insert(User), [{"email": f"bench{i}@example.com", "name": f"Bench {i}",
                                              "created_at": now} for i in range(total)])
        ids = list(db.session.scalars(sa.select(User.id).where(User.email.like("bench%@example.com"))
                                      .order_by(User.id)))
        tokens = [f"lp_bench{i:06d}" + secrets.token_urlsafe(24) for i in range(checkout_users)]
        db.session.execute(sa.insert(ApiToken), [
            {"user_id": ids[i], "name": "bench", "token_hash": hash_token(t), "prefix": t[:10], "created_at": now}
            for i, t in enumerate(tokens)])
        course_ids = [c.id for c in courses]
        seeds = []
        rows = []
        for n in range(pending):
            user_id, course_id = ids[checkout_users + n // COURSES], course_ids[n % COURSES]
            ps_id, cs_id = f"ps_wh{n:07d}", f"cs_wh_{n:07d}"
            rows.append({"id": ps_id, "user_id": user_id, "course_id": course_id, "amount": 4900, "currency": "USD",
                         "final_amount": 4900, "discount_amount": 0, "status": PaymentSessionStatus.PENDING,
                         "created_at": now, "expires_at": now + timedelta(hours=6), "stripe_session_id": cs_id})
            seeds.append({"ps": ps_id, "cs": cs_id, "user_id": user_id, "course_id": course_id})
        db.session.execute(sa.insert(PaymentSession), rows)
        db.session.commit()
        db.engine.dispose()
    return {"course_ids": course_ids, "tokens": tokens, "seeds": seeds}


def count_rows(url: str, statement: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(sa.text(statement)).scalar_one()
    engine.dispose()
    return value


# --- servers --------------------------------------------------------------------------------

def start(name: str, cmd: list[str], env: dict, port: int, probe: tuple[str, str, bytes | None]) -> subprocess.Popen:
    log_path = Path(tempfile.gettempdir()) / f"bench-requests-{name}-{port}.log"
    return start_server(cmd, env, port, log_path, probe)


def gunicorn(app_spec: str, port: int, workers: int = 2, extra: list[str] | None = None) -> list[str]:
    # Our own settings, not ./gunicorn.conf.py's production ones (bench/gunicorn_conf.py says why).
    return [str(BIN / "gunicorn"), "-c", GUNICORN_CONF, "-w", str(workers), "-k", "sync",
            "--log-level", "warning", "-b", f"127.0.0.1:{port}", *(extra or []), app_spec]


def workers_of(master: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --- HTTP helpers (setup and probes, not measurement) ----------------------------------------

def sign_in(port: int, email: str) -> tuple[str, str]:
    """(Cookie header, CSRF token) of a signed-in browser session."""
    browser = Browser(port, {"User-Agent": USER_AGENT})
    browser.sign_in(email, PASSWORD, then="/courses/bench-course-0")
    return browser.cookie_header, browser.token


# --- webhook events --------------------------------------------------------------------------

def write_events(path: Path, bodies: list[bytes]) -> None:
    """Signed just before the run, as Stripe signs (t=…,v1=HMAC-SHA256): signature, length, body."""
    timestamp = int(time.time())
    with open(path, "wb") as out:
        for body in bodies:
            digest = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
            out.write(f"t={timestamp},v1={digest}\n{len(body)}\n".encode() + body + b"\n")


# --- wrk ---------------------------------------------------------------------------------------

LUA_COMMON = """
local threads = {}
counter = 0
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function done(summary, latency, requests)
  local most, least = 0, nil
  for _, t in ipairs(threads) do
    local c = t:get("counter")
    if c > most then most = c end
    if least == nil or c < least then least = c end
  end
  io.write(string.format("MAXCOUNTER %d\\nMINCOUNTER %d\\n", most, least or 0))
end
"""

LUA_FIXED = """
local method, path, body = [[%(method)s]], [[%(path)s]], %(body)s
local headers = %(headers)s
function request()
  counter = counter + 1
  return wrk.format(method, path, headers, body)
end
"""

LUA_CHECKOUT = """
local tokens = {}
for line in io.lines([[%(tokens)s]]) do tokens[#tokens + 1] = line end
local courses = {%(courses)s}
local offset = %(offset)d
function request()
  local index = offset + tid + %(threads)d * counter
  counter = counter + 1
  local learner = math.floor(index / #courses) + 1
  if learner > #tokens then return wrk.format("GET", "/bench-out-of-fresh-pairs") end  -- a 404: counted
  local body = '{"courseId": ' .. courses[index %% #courses + 1] .. ', "couponCode": ""}'
  return wrk.format("POST", "/api/payments/sessions",
    {["Authorization"] = "Bearer " .. tokens[learner], ["Content-Type"] = "application/json"}, body)
end
"""

LUA_EVENTS = """
local events = {}
local file = io.open([[%(events)s]], "rb")
while true do
  local signature = file:read("*l")
  if not signature then break end
  local length = tonumber(file:read("*l"))
  events[#events + 1] = {signature, file:read(length)}
  file:read("*l")
end
file:close()
local wrap = %(wrap)s
function request()
  local index = tid + %(threads)d * counter
  counter = counter + 1
  if index >= #events then
    if not wrap then return wrk.format("GET", "/bench-out-of-events") end  -- a 404: counted
    index = index %% #events
  end
  local event = events[index + 1]
  return wrk.format("POST", "/webhooks/stripe",
    {["Stripe-Signature"] = event[1], ["Content-Type"] = "application/json; charset=utf-8"}, event[2])
end
"""

LUA_MIXED = """
local cookie, csrf = [[%(cookie)s]], [[%(csrf)s]]
local steps = {
  {"GET", "/courses", {}, nil},
  {"GET", "/courses/bench-course-3", {}, nil},
  {"POST", "/courses/bench-course-0", {["Cookie"] = cookie, ["HX-Request"] = "true", ["X-CSRFToken"] = csrf,
    ["Content-Type"] = "application/x-www-form-urlencoded"}, "coupon_code=SAVE10"},
  {"GET", "/dashboard", {["Cookie"] = cookie}, nil},
  {"GET", "/courses/bench-course-7", {["Cookie"] = cookie}, nil},
}
function request()
  local step = steps[counter %% #steps + 1]
  counter = counter + 1
  local headers = {["User-Agent"] = "%(agent)s"}
  for k, v in pairs(step[3]) do headers[k] = v end
  return wrk.format(step[1], step[2], headers, step[4])
end
"""


def lua_string(value: str | None) -> str:
    return "nil" if value is None else "[[" + value + "]]"


def lua_table(headers: dict) -> str:
    return "{" + ", ".join(f'["{k}"] = [[{v}]]' for k, v in headers.items()) + "}"


def run_wrk(port: int, script: Path, duration: float, extra: list[str] | None = None) -> dict:
    cmd = [shutil.which("wrk") or "wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{max(1, round(duration))}s", "--latency",
           "--timeout", "10s", "-s", str(script), *(extra or []), f"http://127.0.0.1:{port}"]
    output = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120).stdout
    return parse_wrk(output)


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        return float("nan")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(output: str) -> dict:
    def find(pattern: str, default=None):
        match = re.search(pattern, output, re.MULTILINE)
        return match.group(1) if match else default

    requests = int(find(r"(\d+) requests in", "0"))
    errors = int(find(r"Non-2xx or 3xx responses: (\d+)", "0"))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket:
        errors += sum(int(x) for x in socket.groups())
    return {"rps": float(find(r"Requests/sec:\s+([\d.]+)", "0")), "requests": requests, "errors": errors,
            "p50": _ms(find(r"^\s+50%\s+(\S+)\s*$", "0us")), "p99": _ms(find(r"^\s+99%\s+(\S+)\s*$", "0us")),
            "maxcounter": int(find(r"MAXCOUNTER (\d+)", "0")),
            "mincounter": int(find(r"MINCOUNTER (\d+)", "0")), "raw": output}


# --- the run -----------------------------------------------------------------------------------

class Bench:
    def __init__(self, args, url: str, seed: dict, ports: dict, browser_auth: tuple[str, str], workdir: Path) -> None:
        self.url, self.args, self.seed, self.ports, self.workdir = url, args, seed, ports, workdir
        self.cookie, self.csrf = browser_auth
        self.template = session_template()
        self.checkout_offset = 0
        self.paid_offset = 0
        (workdir / "tokens.txt").write_text("\n".join(seed["tokens"]) + "\n")

    def processed_seeds(self, limit: int = 2000) -> list[dict]:
        """Seeds whose paid event was processed (their payment session is COMPLETED)."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.url)
        with engine.connect() as conn:
            done = set(conn.execute(sa.text("SELECT id FROM payment_sessions WHERE id LIKE 'ps_wh%' "
                                            "AND status = 'COMPLETED' LIMIT :n"), {"n": limit}).scalars())
        engine.dispose()
        return [s for s in self.seed["seeds"] if s["ps"] in done]

    def fixed(self, name: str, method: str, path: str, headers: dict | None = None, body: str | None = None) -> Path:
        script = self.workdir / f"{name}.lua"
        script.write_text(LUA_COMMON + LUA_FIXED % {
            "method": method, "path": path, "body": lua_string(body),
            "headers": lua_table({"User-Agent": USER_AGENT, **(headers or {})})})
        return script

    def script(self, scenario: str) -> tuple[int, Path]:
        app = self.ports["app"]
        if scenario == "hello":
            return self.ports["hello"], self.fixed(scenario, "GET", "/")
        if scenario == "fortunes":
            return self.ports["fortunes"], self.fixed(scenario, "GET", "/fortunes")
        if scenario == "floor":
            return app, self.fixed(scenario, "GET", "/bench/bare-query-ro")
        if scenario == "floor_user":
            return app, self.fixed(scenario, "GET", "/bench/bare-user", {"Cookie": self.cookie})
        if scenario == "catalog":
            return app, self.fixed(scenario, "GET", "/courses")
        if scenario == "course":
            return app, self.fixed(scenario, "GET", "/courses/bench-course-3")
        if scenario == "quote":
            return app, self.fixed(scenario, "POST", "/courses/bench-course-0", {
                "Cookie": self.cookie, "HX-Request": "true", "X-CSRFToken": self.csrf,
                "Content-Type": "application/x-www-form-urlencoded"}, "coupon_code=SAVE10")
        if scenario == "dashboard":
            return app, self.fixed(scenario, "GET", "/dashboard", {"Cookie": self.cookie})
        if scenario == "stripe_call":
            return self.ports["stripe_call"], self.fixed(scenario, "POST", "/checkout", {
                "Content-Type": "application/json"},
                '{"courseId": 1, "returnUrl": "http://127.0.0.1:5000/return", "cancelUrl": "http://127.0.0.1:5000/cancel"}')
        if scenario == "sandbox":
            form = ("mode=payment&line_items[0][quantity]=1&line_items[0][price_data][currency]=usd"
                    "&line_items[0][price_data][unit_amount]=4900&line_items[0][price_data][product_data][name]=Bench"
                    "&success_url=http%3A%2F%2F127.0.0.1%2Fok%3Fsession_id%3D%7BCHECKOUT_SESSION_ID%7D"
                    "&cancel_url=http%3A%2F%2F127.0.0.1%2Fcancel&customer_email=buyer%40example.com"
                    "&metadata[course_id]=1&payment_intent_data[metadata][course_id]=1")
            return self.ports["sandbox"], self.fixed(scenario, "POST", "/v1/checkout/sessions", {
                "Authorization": "Bearer sk_test_learnpay_sandbox", "Stripe-Version": "2026-10-28.endive",
                "Content-Type": "application/x-www-form-urlencoded"}, form)
        if scenario == "checkout":
            script = self.workdir / "checkout.lua"
            script.write_text(LUA_COMMON + LUA_CHECKOUT % {
                "tokens": self.workdir / "tokens.txt", "offset": self.checkout_offset, "threads": THREADS,
                "courses": ", ".join(str(c) for c in self.seed["course_ids"])})
            return app, script
        if scenario == "webhook_paid":
            fresh = self.seed["seeds"][self.paid_offset:self.paid_offset + self.args.events]
            write_events(self.workdir / "paid.events", [completed_event(self.template, s, "evt_" + s["ps"][3:]) for s in fresh])
            script = self.workdir / "webhook_paid.lua"
            script.write_text(LUA_COMMON + LUA_EVENTS % {"events": self.workdir / "paid.events", "wrap": "false",
                                                          "threads": THREADS})
            return app, script
        if scenario == "webhook_dup":
            processed = self.processed_seeds()
            if not processed:
                raise RuntimeError("webhook_dup needs processed events: run webhook_paid first")
            write_events(self.workdir / "dup.events", [completed_event(self.template, s, "evt_" + s["ps"][3:]) for s in processed])
            script = self.workdir / "webhook_dup.lua"
            script.write_text(LUA_COMMON + LUA_EVENTS % {"events": self.workdir / "dup.events", "wrap": "true",
                                                         "threads": THREADS})
            return app, script
        raise ValueError(scenario)

    # The processes whose CPU a scenario's requests cost (besides the PostgreSQL backends).
    SERVERS = {"hello": ["hello"], "fortunes": ["fortunes"], "sandbox": ["sandbox"],
               "stripe_call": ["stripe_call", "sandbox"], "checkout": ["app", "sandbox"]}

    def cpu(self, scenario: str) -> dict:
        trees = {}
        for server in self.SERVERS.get(scenario, ["app"]):
            trees.update(cputime.tree_snapshot(self.servers[server].pid))
        return {"servers": trees, "pg": self.backends.snapshot(),
                "client": resource.getrusage(resource.RUSAGE_CHILDREN)}

    def measure(self, scenario: str, duration: float) -> dict:
        port, script = self.script(scenario)
        before = self.cpu(scenario)
        result = run_wrk(port, script, duration)
        after = self.cpu(scenario)
        # CPU per answered request, load-independent (bench/cputime.py): the servers' processes
        # plus the PostgreSQL backends; wrk's own (the client) apart.
        answered = max(1, result["requests"])
        server = cputime.spent(before["servers"], after["servers"])
        pg = cputime.spent(before["pg"], after["pg"])
        client = (after["client"].ru_utime + after["client"].ru_stime
                  - before["client"].ru_utime - before["client"].ru_stime)
        result.update(cpu_ms=1000 * (server + pg) / answered, pg_ms=1000 * pg / answered,
                      client_ms=1000 * client / answered)
        used = THREADS * result["maxcounter"] + THREADS  # every index a thread may have sent
        if scenario == "checkout":
            self.checkout_offset += used
        elif scenario == "webhook_paid":
            self.paid_offset += used
        result["load"] = os.getloadavg()[0]
        if result["errors"] or not result["requests"] or result["p50"] != result["p50"]:
            print(f"  {scenario}: {result['errors']} errors of {result['requests']}:\n{result['raw']}", file=sys.stderr)
        return result


def probe(port: int, cookie: str, csrf: str, course_id: int, token: str) -> None:
    """One request per Learnpay scenario, checked for what it must answer, before measuring."""
    browser = Browser(port, {"User-Agent": USER_AGENT})
    status, page, headers = browser.request("GET", "/courses")
    assert status == 200 and "Bench course 11" in page, status
    print(f"  anonymous /courses sets cookie: {headers.get('Set-Cookie') is not None}", file=sys.stderr)
    status, page, _ = browser.request("GET", "/courses/bench-course-3")
    assert status == 200 and "Lecture 8" in page, status
    status, page, _ = browser.request("POST", "/courses/bench-course-0", b"coupon_code=SAVE10", {
        "Cookie": cookie, "HX-Request": "true", "X-CSRFToken": csrf,
        "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and "$44.10" in page, (status, page[:500])
    status, _, _ = browser.request("GET", "/bench/bare-user", None, {"Cookie": cookie})
    assert status == 200, status  # the floor_user scenario is signed in
    status, page, _ = browser.request("GET", "/dashboard", None, {"Cookie": cookie})
    assert status == 200 and page.count('data-testid="enrollment-card"') == DASHBOARD_ENROLLMENTS, status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per scenario")
    parser.add_argument("--only", default="", help="comma-separated scenarios (default: all)")
    parser.add_argument("--memory", type=int, default=20000, help="mixed requests for the RSS check (0: skip)")
    parser.add_argument("--sandbox-threads", type=int, default=32)
    parser.add_argument("--checkout-users", type=int, default=600, help="learners × 12 courses = fresh pairs")
    parser.add_argument("--pending", type=int, default=24000, help="PENDING sessions for paid webhooks")
    parser.add_argument("--events", type=int, default=6000, help="paid events signed per measurement")
    parser.add_argument("--profile", default="", help="py-spy the app workers during these scenarios (comma-separated)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (Debian: apt-get install -y wrk)", file=sys.stderr)
        return 2
    scenarios = [s for s in ALL if not args.only or s in args.only.split(",")]
    if "webhook_dup" in scenarios and "webhook_paid" not in scenarios:
        scenarios.insert(scenarios.index("webhook_dup"), "webhook_paid")
    if "webhook_dup" in scenarios:  # duplicates need events the paid scenario processed first
        scenarios.remove("webhook_dup")
        scenarios.insert(scenarios.index("webhook_paid") + 1, "webhook_dup")

    name, url = create_database("requests")
    servers: dict[str, subprocess.Popen] = {}
    workdir = Path(tempfile.mkdtemp(prefix="bench-requests-"))
    try:
        started = time.monotonic()
        seed = migrate_and_seed(url, args.checkout_users, args.pending)
        analyze(url)
        print(f"  seeded in {time.monotonic() - started:.0f} s", file=sys.stderr)
        ports = {k: free_port() for k in ["app", "hello", "fortunes", "stripe_call", "sandbox"]}
        sandbox_url = f"http://127.0.0.1:{ports['sandbox']}"
        env = {**os.environ, "APP_ENV": "development", "SECRET_KEY": "bench-" + secrets.token_hex(16),
               "DATABASE_URL": url, "STRIPE_API_BASE": sandbox_url, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
               "RATELIMIT_ENABLED": "0", "SANDBOX_PUBLIC_URL": sandbox_url, "SANDBOX_WEBHOOK_URLS": "",
               "FORTUNES_DSN": url.replace("postgresql+psycopg://", "postgresql://"),
               "FRONTEND_URL": "http://127.0.0.1:5000",
               # as production's gunicorn.conf.py sets it: metrics in multiprocess files
               "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics")}
        servers["sandbox"] = start("sandbox", gunicorn("stripe_sandbox:create_app()", ports["sandbox"], workers=1, extra=[
                                       "-k", "gthread", "--threads", str(args.sandbox_threads)]),
                                   env, ports["sandbox"], ("GET", "/v1/checkout/sessions/none", None))
        # create_app() plus the floor views under /bench/ (bench_cpu.floor_app)
        servers["app"] = start("app", gunicorn("bench.bench_cpu:floor_app()", ports["app"]), env, ports["app"],
                               ("GET", "/courses", None))
        servers["hello"] = start("hello", gunicorn("bench.refs.hello:app", ports["hello"]), env, ports["hello"],
                                 ("GET", "/", None))
        servers["fortunes"] = start("fortunes", gunicorn("bench.refs.fortunes:app", ports["fortunes"]), env,
                                    ports["fortunes"], ("GET", "/fortunes", None))
        servers["stripe_call"] = start("stripe_call", gunicorn("bench.refs.stripe_call:app", ports["stripe_call"]),
                                       env, ports["stripe_call"], ("GET", "/", None))
        cookie, csrf = sign_in(ports["app"], "dashboard@example.com")
        probe(ports["app"], cookie, csrf, seed["course_ids"][0], seed["tokens"][0])
        bench = Bench(args, url, seed, ports, (cookie, csrf), workdir)
        bench.servers, bench.backends = servers, cputime.Backends(url, name)

        if args.profile:
            for scenario in args.profile.split(","):
                profile(bench, servers["app"], scenario, args.duration)
            return 0

        print(f"  warm-up ({args.warmup:g} s each); load {os.getloadavg()[0]:.2f}", file=sys.stderr)
        for scenario in scenarios:
            bench.measure(scenario, args.warmup)
        rounds: list[dict[str, dict]] = []
        for number in range(args.rounds):
            results = {}
            for scenario in scenarios:
                results[scenario] = bench.measure(scenario, args.duration)
            rounds.append(results)
            print(f"  round {number + 1}: " + ", ".join(f"{s} {r['rps']:.0f}/s {r['cpu_ms']:.2f} ms" for s, r in results.items())
                  + f"; load {os.getloadavg()[0]:.2f}", file=sys.stderr)
        time.sleep(3)  # let a request still in flight when wrk stopped finish before counting
        checks = database_checks(url, seed, bench)
        memory = memory_check(bench, servers["app"], args.memory) if args.memory else None
        return report(args, scenarios, rounds, checks, memory)
    finally:
        for server in servers.values():
            stop(server)
        drop_database(name)
        shutil.rmtree(workdir, ignore_errors=True)


def database_checks(url: str, seed: dict, bench: Bench) -> dict:
    created = count_rows(url, "SELECT count(*) FROM payment_sessions WHERE stripe_session_id IS NOT NULL "
                              "AND id NOT LIKE 'ps_wh%' AND id NOT LIKE 'ps_dash%'")
    opened = count_rows(url, "SELECT count(*) FROM payment_sessions WHERE id NOT LIKE 'ps_wh%' AND id NOT LIKE 'ps_dash%'")
    enrolled = count_rows(url, "SELECT count(*) FROM enrollments WHERE payment_id LIKE 'ps_wh%'")
    processed = count_rows(url, "SELECT count(*) FROM stripe_events WHERE status = 'PROCESSED'")
    return {"checkout_sessions": opened, "stripe_sessions": created, "paid_enrollments": enrolled,
            "processed_events": processed}


def memory_check(bench: Bench, master: subprocess.Popen, total: int) -> dict:
    pids = workers_of(master)
    before = {pid: rss_kib(pid) for pid in pids}
    script = bench.workdir / "mixed.lua"
    script.write_text(LUA_COMMON + LUA_MIXED % {"cookie": bench.cookie, "csrf": bench.csrf, "agent": USER_AGENT})
    # wrk runs for a time, not a count: 10-second runs until `total` requests were answered.
    # (Stopping wrk's threads early would leave connections open that a sync worker waits on.)
    result = {"requests": 0, "errors": 0}
    while result["requests"] < total:
        part = run_wrk(bench.ports["app"], script, 10)
        result = {"requests": result["requests"] + part["requests"], "errors": result["errors"] + part["errors"]}
        if not part["requests"]:
            break
    # A worker that was replaced meanwhile (killed, timed out) has no "after": its growth is
    # unknown, and the check fails rather than reading a new worker's RSS as no growth.
    after = {pid: rss_kib(pid) for pid in pids if Path(f"/proc/{pid}").exists()}
    growth = max((after[pid] - before[pid]) / 1024 for pid in after) if after else None
    return {"requests": result["requests"], "errors": result["errors"], "before_mib": [round(v / 1024, 1) for v in before.values()],
            "after_mib": [round(v / 1024, 1) for v in after.values()],
            "growth_mib": None if growth is None else round(growth, 1), "restarted": len(after) != len(before)}


def profile(bench: Bench, master: subprocess.Popen, scenario: str, duration: float) -> int:
    """py-spy both app workers while wrk drives one scenario; folded stacks in $TMPDIR."""
    bench.measure(scenario, 2)
    port, script = bench.script(scenario)
    outputs = []
    spies = []
    for pid in workers_of(master):
        out = Path(tempfile.gettempdir()) / f"bench-profile-{scenario}-{pid}.txt"
        outputs.append(out)
        spies.append(subprocess.Popen([str(BIN / "py-spy"), "record", "-p", str(pid), "-d", str(int(duration)),
                                       "-r", "200", "-f", "raw", "-o", str(out), "--nonblocking"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    result = run_wrk(port, script, duration)
    for spy in spies:
        spy.wait(timeout=60)
    print(f"{scenario}: {result['rps']:.0f}/s; folded stacks: {' '.join(map(str, outputs))}")
    return 0


def report(args, scenarios: list[str], rounds: list[dict], checks: dict, memory: dict | None) -> int:
    def median(scenario: str, key: str) -> float:
        return statistics.median(r[scenario][key] for r in rounds)

    ok = True
    print(f"\nwrk -t{THREADS} -c{CONNECTIONS} keep-alive, {args.duration:g} s x {args.rounds} rounds "
          f"(warm-up {args.warmup:g} s), gunicorn 2 sync workers, cpus={os.cpu_count()}, "
          f"load during rounds {min(r[s]['load'] for r in rounds for s in r):.2f}-"
          f"{max(r[s]['load'] for r in rounds for s in r):.2f}\n")
    # Two verdicts per scenario: the throughput ratio (what the targets name) and the CPU ratio,
    # reference CPU per request / scenario CPU per request (servers + PostgreSQL backends), which
    # the machine's load moves much less (bench/cputime.py).
    print("| scenario | req/s (median) | p50 ms | p99 ms | errors | CPU ms/req (of it PostgreSQL) | vs | "
          "ratio per round | median ratio | CPU ratio | target |")
    print("|---|---:|---:|---:|---:|---:|---|---|---:|---:|---|")
    summary, cpu_summary = {}, {}
    for scenario in scenarios:
        errors = sum(r[scenario]["errors"] for r in rounds)
        line = (f"| {scenario} | {median(scenario, 'rps'):.0f} | {median(scenario, 'p50'):.1f} | "
                f"{median(scenario, 'p99'):.1f} | {errors} | {median(scenario, 'cpu_ms'):.2f} "
                f"({median(scenario, 'pg_ms'):.2f}) |")
        reference, target = TARGETS.get(scenario, (FLOORS.get(scenario), None))
        if reference and reference in scenarios and target is None:  # a floor: its ratios, no verdict
            ratios = [r[scenario]["rps"] / (r[reference]["rps"] or 1) for r in rounds]
            cpu_ratio = median(reference, "cpu_ms") / (median(scenario, "cpu_ms") or 1)
            summary[scenario], cpu_summary[scenario] = round(statistics.median(ratios), 3), round(cpu_ratio, 3)
            line += (f" {reference} | {', '.join(f'{x:.2f}' for x in ratios)} | {statistics.median(ratios):.2f} | "
                     f"{cpu_ratio:.2f} | (floor) |")
            ok = ok and errors == 0
        elif reference and reference in scenarios:
            ratios = [r[scenario]["rps"] / (r[reference]["rps"] or 1) for r in rounds]
            ratio = statistics.median(ratios)
            cpu_ratio = median(reference, "cpu_ms") / (median(scenario, "cpu_ms") or 1)
            met = ratio >= target and errors == 0
            if scenario in P99_LIMIT_MS:
                met = met and median(scenario, "p99") < P99_LIMIT_MS[scenario]
            ok = ok and met
            summary[scenario], cpu_summary[scenario] = round(ratio, 3), round(cpu_ratio, 3)
            line += (f" {reference} | {', '.join(f'{x:.2f}' for x in ratios)} | **{ratio:.2f}** | {cpu_ratio:.2f} | "
                     f"≥ {target}{' p99 < 100 ms' if scenario in P99_LIMIT_MS else ''}: {'met' if met else 'MISSED'} |")
        else:
            line += " | | | | |"
            ok = ok and errors == 0
        print(line)
    if "sandbox" in scenarios and "stripe_call" in scenarios:
        print(f"\nStripe stand-in alone: {median('sandbox', 'rps'):.0f} creates/s = "
              f"{median('sandbox', 'rps') / (median('stripe_call', 'rps') or 1):.1f}x stripe_call's rate")
    print(f"database: {json.dumps(checks)}")
    if "checkout" in scenarios and checks["stripe_sessions"] != checks["checkout_sessions"]:
        print("  MISMATCH: a checkout did not get its Stripe session")
        ok = False
    if memory:
        print(f"memory: {json.dumps(memory)} (target: growth < 10 MiB)")
        ok = ok and memory["growth_mib"] is not None and memory["growth_mib"] < 10 and not memory["restarted"]
    print(json.dumps({"ratios": summary, "cpu_ratios": cpu_summary,
                      "medians": {s: round(median(s, "rps"), 1) for s in scenarios},
                      "cpu_ms": {s: round(median(s, "cpu_ms"), 3) for s in scenarios}}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

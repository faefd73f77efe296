"""Proof that Learnpay scales out (issue 15): two gunicorn instances, one worker, PostgreSQL, Redis.

Two app instances (gunicorn.conf.py, two workers each) and one job worker (`flask jobs
worker`, its queue in Redis) share one PostgreSQL database and Redis-backed rate limits; the
Stripe sandbox delivers every webhook to both instances; mail goes to an SMTP sink. Forty
learners buy the same course through both instances at once, all racing for a 5-use coupon
(those refused buy at full price). One instance is killed (SIGKILL, no goodbye) once a third
of them have paid; learners on it carry on through the other, as a load balancer would send
them. Afterwards: exactly 5 redemptions, one enrollment per paid session, every receipt in the
outbox sent once and received once, nothing left pending after the reconcile job runs, and no
inbox event unprocessed.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter as Tally
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests
import sqlalchemy as sa

from extensions import db
from models import (CouponRedemption, Enrollment, MailStatus, OutboxMail, PaymentSession, PaymentSessionStatus,
                    RedemptionStatus, StripeEvent, WebhookEventStatus)
from tests import factories
from tests.fixtures_sandbox import SANDBOX_API_KEY
from tests.helpers import DEFAULT_PASSWORD
from tests.ops.servers import ROOT, GunicornApp, SmtpSink

pytestmark = pytest.mark.postgres_only

LEARNERS = 40
COUPON_USES = 5
KILL_AFTER_PAID = LEARNERS // 3
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CARD = {"card_number": "4242 4242 4242 4242", "card_expiry": "12 / 34", "card_cvc": "123", "card_name": "Learner"}


@pytest.fixture
def redis_url():
    """A Redis database of the test's own (an empty one), emptied of the keys the run wrote."""
    for number in range(15, 0, -1):
        client = redis.Redis(host="127.0.0.1", port=6379, db=number, socket_connect_timeout=2)
        try:
            if client.dbsize() == 0:
                break
        except redis.RedisError:
            pytest.skip("the scale-out test needs Redis on 127.0.0.1:6379")
    else:
        pytest.skip("no empty Redis database for the scale-out test")
    yield f"redis://127.0.0.1:6379/{number}"
    client.flushdb()  # it was empty: everything in it is this test's (limits, the job queue)
    client.close()


class Instances:
    """The balancer's view: live instances, one taken out when it dies."""

    def __init__(self, servers: list[GunicornApp]) -> None:
        self.servers = servers
        self.dead: set[str] = set()
        self.lock = threading.Lock()

    def for_learner(self, number: int) -> str:
        preferred = self.servers[number % len(self.servers)].url
        with self.lock:
            return preferred if preferred not in self.dead else next(s.url for s in self.servers
                                                                     if s.url not in self.dead)

    def kill(self, server: GunicornApp) -> None:
        with self.lock:
            self.dead.add(server.url)
        server.kill()


class Learner:
    """A browser: its own cookies, signing in and paying through whichever instance serves it."""

    def __init__(self, number: int, email: str, slug: str, instances: Instances, paid: "Counter",
                 quotes: "Quotes") -> None:
        self.number, self.email, self.slug = number, email, slug
        self.instances, self.paid, self.quotes = instances, paid, quotes
        self.checked = False
        self.http = requests.Session()
        self.signed_in = False
        self.coupon = "RACE5"
        self.log: list[str] = []

    def buy(self) -> None:
        for attempt in range(12):
            base = self.instances.for_learner(self.number)
            try:
                if self._try(base):
                    return
            except requests.ConnectionError:
                self.log.append(f"{base} unreachable")  # the balancer routes the retry elsewhere
            time.sleep(0.1 * attempt)
        raise AssertionError(f"{self.email} could not buy: {self.log}")

    def _token(self, url: str) -> str:
        page = self.http.get(url, timeout=30)
        page.raise_for_status()
        return CSRF.search(page.text).group(1)

    def _try(self, base: str) -> bool:
        if not self.signed_in:
            answer = self.http.post(f"{base}/login", timeout=30, allow_redirects=False,
                                    data={"email": self.email, "password": DEFAULT_PASSWORD,
                                          "csrf_token": self._token(f"{base}/login")})
            assert answer.status_code == 302, answer.text[:500]
            self.signed_in = True
        course_url = f"{base}/courses/{self.slug}"
        token = self._token(course_url)
        if self.coupon and not self.checked:  # the live check as the code is typed (rate limited per address)
            self.quotes.tried.add()
            self.http.post(course_url, data={"coupon_code": self.coupon}, timeout=30,
                           headers={"HX-Request": "true", "X-CSRFToken": token}).raise_for_status()
            self.quotes.answered.add()
            self.checked = True
        answer = self.http.post(f"{course_url}/checkout", timeout=30, allow_redirects=False,
                                data={"coupon_code": self.coupon, "csrf_token": token})
        # A refused code sends the learner back to the course page with it (the page says why).
        if answer.status_code == 303 and self.coupon and "coupon=" in answer.headers["Location"]:
            self.log.append("coupon refused")
            self.coupon = ""  # the code ran out: buy at the full price
            return False
        if answer.status_code == 303 and "/courses/" in answer.headers["Location"]:
            return True  # already enrolled (paid through an earlier attempt)
        assert answer.status_code == 303, (answer.status_code, answer.text[:500])
        # Stripe's hosted page posts the card to its own address.
        paid = self.http.post(answer.headers["Location"], data={**CARD, "email": self.email}, timeout=30,
                              allow_redirects=False)
        assert paid.status_code == 303, (paid.status_code, paid.text[:500])
        self.paid.add()
        try:  # back to the success page, on whichever instance made the checkout
            self.http.get(paid.headers["Location"], timeout=30)
        except requests.ConnectionError:
            self.log.append("success page unreachable")  # the webhook to the other instance enrolls
        return True


class Counter:
    def __init__(self, signal_at: int | None = None) -> None:
        self.value, self.lock, self.signal_at = 0, threading.Lock(), signal_at
        self.reached = threading.Event()

    def add(self) -> None:
        with self.lock:
            self.value += 1
            if self.signal_at is not None and self.value >= self.signal_at:
                self.reached.set()


class Quotes:
    def __init__(self) -> None:
        self.tried, self.answered = Counter(), Counter()


def _receipts(status: MailStatus) -> int:
    db.session.remove()
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail).where(
        OutboxMail.dedupe_key.like("receipt:%"), OutboxMail.status == status))


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_two_instances_one_killed_forty_learners_one_coupon(app, database_url, sandbox, sandbox_config, redis_url,
                                                            runner):
    started = time.monotonic()
    app.config.update(sandbox_config)  # the reconcile command below talks to the sandbox
    app.extensions.pop("stripe_client", None)
    course = factories.course(slug="scale-out", title="Scale Out", price=5000, currency="USD")
    factories.coupon(code="RACE5", percent=20, max_uses=COUPON_USES, per_learner_limit=1, courses=[course])
    emails = [factories.user(email=f"scale{number}@example.com").email for number in range(LEARNERS)]
    db.session.commit()
    course_id, slug = course.id, course.slug  # the objects detach when the test's session is renewed below

    common = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "scale-out-" + "s" * 32,
              "APP_ENV": "development", "STRIPE_SECRET_KEY": SANDBOX_API_KEY, "STRIPE_API_BASE": sandbox.base_url,
              "STRIPE_WEBHOOK_SECRET": sandbox.webhook_secret, "STRIPE_MAX_NETWORK_RETRIES": "1",
              "RATELIMIT_ENABLED": "1", "COUPON_CHECK_RATE_LIMIT": "1000/hour", "LOG_FORMAT": "json"}
    smtp = SmtpSink()
    common.update({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "MAIL_USE_TLS": "0",
                   "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="scale-out-metrics-")})
    servers = [GunicornApp(common, workers=2) for _ in range(2)]
    for server in servers:
        server.env["FRONTEND_URL"] = server.url
    worker_log = open(tempfile.mkstemp(prefix="scale-out-worker-", suffix=".log")[1], "w+b")
    worker = None
    try:
        for server in servers:
            server.start()
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "jobs", "worker"], cwd=ROOT,
                                  env={**servers[0].env, "FRONTEND_URL": servers[0].url}, stdout=worker_log,
                                  stderr=subprocess.STDOUT)
        sandbox.set_webhook_urls([f"{server.url}/webhooks/stripe" for server in servers])
        instances, paid, quotes = Instances(servers), Counter(signal_at=KILL_AFTER_PAID), Quotes()
        learners = [Learner(number, email, slug, instances, paid, quotes)
                    for number, email in enumerate(emails)]

        def killer():
            paid.reached.wait(timeout=90)
            instances.kill(servers[1])

        with ThreadPoolExecutor(max_workers=10) as pool:
            kill = pool.submit(killer)
            results = [pool.submit(learner.buy) for learner in learners]
            for result in results:
                result.result(timeout=110)
            kill.result(timeout=5)
        assert servers[1].process.poll() is not None  # it really died mid-run

        # Webhook deliveries to the surviving instance settle (those to the dead one fail and stop).
        _wait_for(lambda: not [d for d in sandbox.state.deliveries.values()
                               if d.url.startswith(servers[0].url) and d.status in ("pending", "in_flight")],
                  30, "the webhook deliveries")
        # Mail that reconcile causes here goes to the same SMTP server as the worker's.
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_USE_TLS=False)
        result = runner.invoke(args=["payments", "reconcile", "--older-than-minutes", "0"])
        assert result.exit_code == 0, result.output
        # The worker sends every receipt (hinted through the Redis queue at each commit).
        _wait_for(lambda: _receipts(MailStatus.SENT) >= LEARNERS, 60, "the receipts to be sent")
        assert worker.poll() is None, worker_log.name
    finally:
        sandbox.set_webhook_urls([])
        if worker is not None and worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=30)
        for server in servers:
            server.stop()
        smtp.stop()
    # Both instances took checkouts and webhooks (their JSON log lines say so).
    for server in servers:
        log = server.log()
        assert '"event": "checkout.session_created"' in log and '"event": "webhook.processed"' in log

    db.session.remove()
    sessions = db.session.scalars(sa.select(PaymentSession).where(PaymentSession.course_id == course_id)).all()
    completed = [ps for ps in sessions if ps.status == PaymentSessionStatus.COMPLETED]
    assert not [ps for ps in sessions if ps.status in (PaymentSessionStatus.PENDING, PaymentSessionStatus.PROCESSING)]
    # Every learner paid once and is enrolled once, through the payment that enrolled them.
    assert sorted(ps.user.email for ps in completed) == sorted(emails)
    enrollments = db.session.scalars(sa.select(Enrollment).where(Enrollment.course_id == course_id)).all()
    assert len(enrollments) == LEARNERS
    assert {ps.enrollment_id for ps in completed} == {enrollment.id for enrollment in enrollments}
    redeemed = db.session.scalars(sa.select(CouponRedemption).where(
        CouponRedemption.status == RedemptionStatus.REDEEMED)).all()
    assert len(redeemed) == COUPON_USES
    assert sum(1 for ps in completed if ps.coupon_id is not None) == COUPON_USES
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StripeEvent).where(
        StripeEvent.status.in_((WebhookEventStatus.RECEIVED, WebhookEventStatus.FAILED)))) == 0
    # Every receipt: one outbox row per paid session, sent, and one message at the SMTP server.
    receipts = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.dedupe_key.like("receipt:%"))).all()
    assert sorted(mail.dedupe_key for mail in receipts) == sorted(f"receipt:{ps.id}" for ps in completed)
    assert all(mail.status == MailStatus.SENT for mail in receipts)
    received = Tally(message["To"] for message in smtp.messages if message["Subject"].startswith("You're enrolled"))
    assert received == Tally({email: 1 for email in emails})
    # The coupon-check limit counted in Redis, shared by both instances and all their workers: the
    # per-address counter holds every check made (a check cut short by the kill may or may not count).
    [key] = redis.Redis.from_url(redis_url).scan_iter("*coupon-check*address*")
    counted = int(redis.Redis.from_url(redis_url).get(key))
    assert quotes.answered.value <= counted <= quotes.tried.value and counted >= LEARNERS
    assert time.monotonic() - started < 120

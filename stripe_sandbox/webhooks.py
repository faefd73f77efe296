"""Webhook delivery: signed like Stripe, from a background worker, retried with backoff.

The API only queues a delivery (under the store lock) and returns; the worker thread posts
it outside the lock. A non-2xx answer (3xx included: Stripe never follows redirects), a
timeout or a refused connection schedules a retry after RETRY_BASE_SECONDS * 2**(n-1),
until MAX_ATTEMPTS. The same worker runs the periodic `tick` (session expiry, delayed
settlements) so the sandbox has a single background thread.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from typing import Callable

import requests

from .state import Delivery, Store

log = logging.getLogger(__name__)


def signature_header(body: str, secret: str, timestamp: int | None = None) -> str:
    """`t=…,v1=…`: hex HMAC-SHA256 of f"{t}.{body}", keyed with the endpoint secret."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class Deliverer:
    def __init__(self, store: Store, settings: dict, tick: Callable[[], None] | None = None) -> None:
        self.store = store
        self.settings = settings
        self._tick = tick
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._posting = 0  # deliveries sent and not yet answered
        self._http = requests.Session()

    # --- queueing (callers hold the store lock) ---------------------------------------------
    def enqueue(self, event_id: str, urls: list[str] | None = None, delay: float = 0.0) -> list[Delivery]:
        with self.store.changed:
            targets = self.settings["WEBHOOK_URLS"] if urls is None else urls
            created = []
            for url in targets:
                delivery = Delivery(id=self.store.next_seq(), event_id=event_id, url=url,
                                    next_at=time.monotonic() + delay, seq=self.store.next_seq())
                self.store.deliveries[delivery.id] = delivery
                created.append(delivery)
            self.store.changed.notify_all()
            return created

    def wait_for_first_attempt(self, event_id: str, timeout: float) -> None:
        """Block (lock released) until every delivery of the event was tried once, or timeout.

        Stripe waits for the checkout.session.completed webhook's answer (a few seconds)
        before redirecting the customer to success_url; the hosted page does the same.
        """
        deadline = time.monotonic() + timeout
        with self.store.changed:
            while True:
                waiting = [d for d in self.store.deliveries.values()
                           if d.event_id == event_id and not d.attempts and d.status != "failed"]
                remaining = deadline - time.monotonic()
                if not waiting or remaining <= 0 or self.store.webhooks_paused:
                    return
                self.store.changed.wait(remaining)

    # --- worker ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="stripe-sandbox-worker", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self.store.changed:
            self._stopping = True
            self.store.changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        next_tick = 0.0
        while True:
            with self.store.changed:
                if self._stopping:
                    return
                now = time.monotonic()
                if self._tick and now >= next_tick:
                    try:
                        self._tick()
                    except Exception:  # the worker must survive a bug in one tick
                        log.exception("sandbox tick failed")
                    next_tick = now + float(self.settings["EXPIRY_SWEEP_SECONDS"])
                job = self._next_job()
                if job is None or job.next_at > now:
                    soonest = min(next_tick, job.next_at if job else next_tick)
                    self.store.changed.wait(max(0.005, min(soonest - now, 1.0)))
                    continue
                job.status = "in_flight"
                body = self.store.event_bodies[job.event_id]
                url, secret = job.url, self.settings["WEBHOOK_SECRET"]
                self._posting += 1
            try:
                attempt = self._post(url, body, secret)
            finally:
                with self.store.changed:
                    self._posting -= 1
                    self.store.changed.notify_all()
            with self.store.changed:
                self._record(job, attempt)
                self.store.changed.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        """Start no new delivery and wait until the one in flight, if any, is answered (False if it
        is not within `timeout`). Tests call it before emptying the app's database: a webhook
        handler still writing would deadlock with that. `Store.reset` lets deliveries run again."""
        deadline = time.monotonic() + timeout
        with self.store.changed:
            self.store.webhooks_paused = True
            while self._posting:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.store.changed.wait(remaining)
        return True

    def _next_job(self) -> Delivery | None:
        if self.store.webhooks_paused:
            return None
        pending = [d for d in self.store.deliveries.values() if d.status == "pending"]
        return min(pending, key=lambda d: (d.next_at, d.seq), default=None)

    def _post(self, url: str, body: str, secret: str) -> dict:
        started = time.time()
        # Retries are re-signed with a fresh timestamp, as Stripe does.
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                   "Stripe-Signature": signature_header(body, secret)}
        attempt = {"at": int(started), "url": url, "status": None, "error": None}
        try:
            response = self._http.post(url, data=body.encode("utf-8"), headers=headers,
                                       timeout=float(self.settings["WEBHOOK_TIMEOUT_SECONDS"]),
                                       allow_redirects=False)
            attempt["status"] = response.status_code
        except requests.Timeout:
            attempt["error"] = "timed out"
        except requests.RequestException as exc:
            attempt["error"] = type(exc).__name__
        attempt["ms"] = int((time.time() - started) * 1000)
        return attempt

    def _record(self, job: Delivery, attempt: dict) -> None:
        job.attempts.append(attempt)
        if attempt["status"] is not None and 200 <= attempt["status"] < 300:
            job.status = "succeeded"
        elif len(job.attempts) >= int(self.settings["MAX_ATTEMPTS"]):
            job.status = "failed"
        else:
            job.status = "pending"
            delay = float(self.settings["RETRY_BASE_SECONDS"]) * 2 ** (len(job.attempts) - 1)
            job.next_at = time.monotonic() + delay
        event = self.store.events.get(job.event_id)
        if event is not None:
            event["pending_webhooks"] = self.store.pending_webhooks(job.event_id)

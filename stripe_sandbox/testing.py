"""Run the sandbox on a free local port in a background thread (tests, scripts).

    handle = run_sandbox_in_thread({"WEBHOOK_URLS": [...], "RETRY_BASE_SECONDS": 0.05})
    ... stripe.StripeClient("sk_test_x", base_addresses={"api": handle.base_url}) ...
    handle.stop()
"""
from __future__ import annotations

import threading
import time

from werkzeug.serving import make_server

from . import create_app
from .state import Store
from .webhooks import signature_header

# Fast, deterministic defaults for tests; anything in `settings` wins.
TEST_SETTINGS = {
    "RETRY_BASE_SECONDS": 0.05,
    "MAX_ATTEMPTS": 4,
    "WEBHOOK_TIMEOUT_SECONDS": 2.0,
    "EXPIRY_SWEEP_SECONDS": 0.2,
    "DELAYED_SETTLE_SECONDS": None,
    "REDIRECT_WAIT_SECONDS": 2.0,
    "WEBHOOK_URLS": [],
    "APP_ENV": "test",
}


class SandboxHandle:
    def __init__(self, app, server, thread: threading.Thread) -> None:
        self.app = app
        self.sandbox = app.extensions["stripe_sandbox"]
        self._server = server
        self._thread = thread
        self.base_url = f"http://127.0.0.1:{server.server_port}"

    @property
    def state(self) -> Store:
        return self.sandbox.store

    @property
    def settings(self) -> dict:
        return self.sandbox.settings

    @property
    def webhook_secret(self) -> str:
        return self.sandbox.settings["WEBHOOK_SECRET"]

    def set_webhook_urls(self, urls: list[str]) -> None:
        self.sandbox.set_webhook_urls(urls)

    def reset(self) -> None:
        self.sandbox.reset()

    def quiesce(self, timeout: float = 10.0) -> bool:
        """No more webhook deliveries, and the one in flight answered (see Deliverer.wait_until_idle)."""
        return self.sandbox.deliverer.wait_until_idle(timeout)

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        self.sandbox.stop()

    # --- the clock (Stripe Billing) ----------------------------------------------------------
    def now(self) -> int:
        """The sandbox's clock (Unix seconds)."""
        return self.state.now()

    def advance_clock(self, days: float = 0, seconds: int = 0) -> int:
        """Move the sandbox clock on and run every renewal, retry and trial end due meanwhile
        (same as `POST /_sandbox/clock/advance`). Returns the new sandbox time."""
        from .control import advance
        return advance(self.sandbox, seconds=int(seconds + days * 86400))["now"]

    # --- helpers for tests that drive the app through Flask's test client ----------------
    def events(self, event_type: str | None = None) -> list[dict]:
        """Events so far, oldest first (copies)."""
        with self.state.lock:
            return [dict(e) for e in self.state.events.values() if event_type in (None, e["type"])]

    def signed(self, event_id: str, timestamp: int | None = None) -> tuple[bytes, dict]:
        """The exact body of an event and the headers Stripe would send with it."""
        with self.state.lock:
            body = self.state.event_bodies[event_id]
        return body.encode(), {"Content-Type": "application/json; charset=utf-8",
                               "Stripe-Signature": signature_header(body, self.webhook_secret, timestamp)}

    def wait_for(self, predicate, timeout: float = 5.0, interval: float = 0.01):
        """Poll `predicate()` until it returns something truthy; fail after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result or time.monotonic() > deadline:
                if not result:
                    raise AssertionError(f"condition not met within {timeout}s")
                return result
            time.sleep(interval)


def run_sandbox_in_thread(settings: dict | None = None) -> SandboxHandle:
    app = create_app({**TEST_SETTINGS, **(settings or {})})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    if not app.extensions["stripe_sandbox"].settings.get("PUBLIC_BASE_URL"):
        app.extensions["stripe_sandbox"].settings["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="stripe-sandbox-http", daemon=True)
    thread.start()
    app.extensions["stripe_sandbox"].start()
    return SandboxHandle(app, server, thread)

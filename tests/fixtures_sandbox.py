"""Pytest plugin: a live Stripe sandbox for the whole suite, emptied before every test.

Registered from the root conftest (`pytest_plugins = ["tests.fixtures_sandbox"]`).

    def test_something(sandbox, sandbox_config):
        app = create_app({..., **sandbox_config})     # the app now talks to the sandbox
        ... sandbox.state.sessions, sandbox.events("checkout.session.completed") ...
        body, headers = sandbox.signed(event_id)      # post it to /webhooks/stripe yourself
        sandbox.set_webhook_urls([webhook_receiver.url])  # or let the sandbox deliver over HTTP

Fixtures: `sandbox_server` (session), `sandbox` (per test, fresh state), `sandbox_config`
(app config overrides), `webhook_receiver` (a local HTTP endpoint that records deliveries).
"""
from __future__ import annotations

import json
import threading
import time

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from stripe_sandbox.testing import SandboxHandle, run_sandbox_in_thread

try:  # share the suite's webhook secret when the main helpers define one
    from tests.helpers import TEST_WEBHOOK_SECRET as SANDBOX_WEBHOOK_SECRET
except ImportError:  # pragma: no cover
    SANDBOX_WEBHOOK_SECRET = "whsec_test_secret_for_the_suite"

SANDBOX_API_KEY = "sk_test_learnpay_sandbox"


@pytest.fixture(scope="session")
def sandbox_server():
    handle = run_sandbox_in_thread({"WEBHOOK_SECRET": SANDBOX_WEBHOOK_SECRET})
    yield handle
    handle.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxHandle) -> SandboxHandle:
    sandbox_server.reset()
    yield sandbox_server
    # Stop retrying this test's deliveries before the next test starts.
    sandbox_server.reset()


@pytest.fixture
def sandbox_config(sandbox: SandboxHandle) -> dict:
    return {
        "STRIPE_API_BASE": sandbox.base_url,
        "STRIPE_SANDBOX": True,
        "STRIPE_SECRET_KEY": SANDBOX_API_KEY,
        "STRIPE_WEBHOOK_SECRETS": [sandbox.webhook_secret],
        "STRIPE_MAX_NETWORK_RETRIES": 0,
        "STRIPE_TIMEOUT_SECONDS": 5,
    }


class WebhookReceiver:
    """A real HTTP endpoint. `statuses` scripts the answers (then 200); `delay` slows them."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/webhooks/stripe"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @Request.application
    def _wsgi(self, request: Request) -> Response:
        body = request.get_data()
        with self._lock:
            status = self.statuses.pop(0) if self.statuses else 200
            self.requests.append({"body": body, "headers": dict(request.headers), "status": status,
                                  "event": json.loads(body) if body else None})
        if self.delay:
            time.sleep(self.delay)
        return Response("ok" if status < 300 else "nope", status=status)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} webhook requests, got {len(self.requests)}")
            time.sleep(0.01)
        return list(self.requests)

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def webhook_receiver(sandbox: SandboxHandle):
    receiver = WebhookReceiver()
    sandbox.set_webhook_urls([receiver.url])
    yield receiver
    sandbox.reset()
    receiver.stop()

"""A local, stateful stand-in for the part of Stripe that Learnpay uses.

`create_app(settings)` builds its own Flask app: the `/v1` API (what stripe-python calls),
the hosted checkout page (`/c/pay/<cs_id>`), Stripe Billing (subscriptions, invoices, a
clock that renews them, the hosted Customer Portal `/p/session/<bps_id>`), signed webhook delivery with retries, and
`/_sandbox/...` control endpoints. State lives in memory behind one lock. Nothing runs at
import; the background worker starts with the first request (or `Sandbox.start()`).
See docs/stripe.md for what it reproduces and what it does not.
"""
from __future__ import annotations

import os
import secrets
import threading

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from .engine import Engine
from .errors import ApiError
from .state import Store
from .webhooks import Deliverer

API_VERSION = "2026-10-28.endive"  # what stripe-python 16.1.0 pins


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def default_settings() -> dict:
    """Defaults, read from the environment when `create_app` is called (never at import)."""
    return {
        "WEBHOOK_URLS": _split(os.environ.get("SANDBOX_WEBHOOK_URLS", "")),
        "WEBHOOK_SECRET": (_split(os.environ.get("STRIPE_WEBHOOK_SECRET", "")) or [None])[0],
        "RETRY_BASE_SECONDS": 5.0,
        "MAX_ATTEMPTS": 4,
        "WEBHOOK_TIMEOUT_SECONDS": 10.0,
        "PUBLIC_BASE_URL": os.environ.get("SANDBOX_PUBLIC_URL") or None,  # None: the request's host
        "PORT": int(os.environ.get("SANDBOX_PORT", "5001")),
        "EXPIRY_SWEEP_SECONDS": 1.0,
        "DELAYED_SETTLE_SECONDS": 20,     # None: delayed payments settle only when told to
        "REDIRECT_WAIT_SECONDS": 10.0,    # how long the hosted page waits for the webhook answer
        "API_VERSION": API_VERSION,
        "BUSINESS_NAME": "Learnpay",
        "APP_ENV": os.environ.get("APP_ENV", "development"),
    }


class Sandbox:
    """The running parts: state, engine and webhook worker, shared by every blueprint."""

    def __init__(self, settings: dict) -> None:
        self.settings = settings
        self.initial_webhook_urls = list(settings["WEBHOOK_URLS"])
        self.store = Store()
        self.deliverer = Deliverer(self.store, settings, tick=self._tick)
        self.engine = Engine(self.store, self.deliverer, settings)
        self._start_lock = threading.Lock()

    def _tick(self) -> None:
        self.engine.sweep()

    def start(self) -> None:
        with self._start_lock:
            self.deliverer.start()

    def stop(self) -> None:
        self.deliverer.stop()

    def reset(self) -> None:
        """Forget every object and event (tests call this between cases)."""
        with self.store.changed:
            self.settings["WEBHOOK_URLS"] = list(self.initial_webhook_urls)
            self.store.reset()

    def set_webhook_urls(self, urls: list[str]) -> None:
        with self.store.lock:
            self.settings["WEBHOOK_URLS"] = list(urls)


def create_app(settings: dict | None = None) -> Flask:
    merged = {**default_settings(), **(settings or {})}
    if merged["APP_ENV"] == "production":
        raise RuntimeError("The Stripe sandbox refuses to run with APP_ENV=production: "
                           "use real Stripe keys there.")
    if not merged["WEBHOOK_SECRET"]:
        merged["WEBHOOK_SECRET"] = "whsec_" + secrets.token_urlsafe(32)
    merged["WEBHOOK_URLS"] = list(merged["WEBHOOK_URLS"])

    app = Flask(__name__)
    sandbox = Sandbox(merged)
    app.extensions["stripe_sandbox"] = sandbox

    from . import api, control, hosted, portal  # blueprints import `runtime`, which needs the app
    app.register_blueprint(api.bp)
    app.register_blueprint(hosted.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(control.bp)

    @app.before_request
    def ensure_worker():
        sandbox.start()  # idempotent; the first request starts delivery and expiry

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return api.api_error_response(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if not request.path.startswith("/v1"):
            return exc
        message = f"Unrecognized request URL ({request.method}: {request.path})."
        return api.api_error_response(ApiError(exc.code or 404, message))

    return app

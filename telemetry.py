"""What operators see of a running app: log format, request ids, request metrics, Sentry.

`create_app` calls `register(app)` once; nothing here changes what a request does.

- Logs go to stderr, one line per record: JSON in production (`LOG_FORMAT=json`), a readable
  line in development. Every line written while a request runs carries its request id, and the
  signed-in user's id once Flask-Login has loaded it; domain events (services/observability.py)
  add their own fields (payment session, amounts).
- The request id is the caller's `X-Request-ID` when it looks like one (a load balancer's or
  another service's; at most 128 letters, digits and `-_.:`), else a new one; it is echoed in
  the response, so gunicorn's access log and the caller can quote it.
- Request latency per endpoint goes to Prometheus (services/metrics.py).
- With `SENTRY_DSN`, unhandled errors go to Sentry, without personal data, request bodies,
  cookies, authorization headers, local variables or anything that looks like a card number or
  a secret (`scrub_event`).
"""
from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from services import metrics

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Probes and scrapes are not traffic: their latency would only blur the endpoints' figures.
_UNTIMED_ENDPOINTS = frozenset({"ops.healthz", "ops.readyz", "ops.metrics_text", "static"})
_HANDLER_NAME = "learnpay"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s%(event_fields)s"
# Attributes every LogRecord has; anything else on a record came from `extra=` (an event's fields).
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_CONTEXT_ATTRIBUTES = ("request_id", "user_id", "event_fields")


def register(app: Flask) -> None:
    configure_logging(app.config.get("LOG_FORMAT") or ("json" if app.config.get("APP_ENV") == "production" else "text"),
                      app.config.get("LOG_LEVEL") or "INFO")
    init_sentry(app)

    @app.before_request
    def start_request() -> None:
        g.request_started = time.perf_counter()
        g.request_id = incoming_request_id(request.headers.get(REQUEST_ID_HEADER))

    @app.after_request
    def finish_request(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        if started is not None and request.endpoint not in _UNTIMED_ENDPOINTS:
            metrics.observe_request(request.endpoint, request.method, response.status_code,
                                    time.perf_counter() - started)
        return response


def incoming_request_id(value: str | None) -> str:
    """The caller's request id when it is a plausible one, else a fresh one (never raw input in logs)."""
    if value and _VALID_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


# --- logs -------------------------------------------------------------------------------

class RequestContextFilter(logging.Filter):
    """Adds request_id, user_id and the record's own event fields (for the text format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = user_id = None
        if has_request_context():
            request_id = g.get("request_id")
            user = g.get("_login_user")  # only when Flask-Login already loaded it: no query here
            user_id = getattr(user, "id", None) if user is not None and user.is_authenticated else None
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id or "-"
        if getattr(record, "user_id", None) is None:
            record.user_id = user_id
        fields = {key: value for key, value in vars(record).items()
                  if key not in _STANDARD_ATTRIBUTES and key not in _CONTEXT_ATTRIBUTES and value is not None}
        if record.user_id is not None:
            fields = {"user_id": record.user_id, **fields}
        record.event_fields = "".join(f" {key}={value}" for key, value in fields.items())
        return True


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    # "time" is ISO 8601 in UTC, so lines from several machines sort and compare.
    return JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s",
                         rename_fields={"levelname": "level", "name": "logger"},
                         reserved_attrs=[*_STANDARD_ATTRIBUTES, "event_fields"], timestamp="time")


def make_handler(stream=None, log_format: str = "text") -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    return handler


def configure_logging(log_format: str, level: str) -> None:
    """One handler on the root logger (replaced, not added, when another app is created)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
    root.addHandler(make_handler(log_format=log_format))
    root.setLevel(level.upper())


# --- Sentry -------------------------------------------------------------------------------

_SECRET_PATTERNS = [
    (re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), "[card?]"),  # 13-19 digits, spaced or not
    (re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9_]+"), "[stripe-key]"),
    (re.compile(r"\bwhsec_[A-Za-z0-9_+/=-]+"), "[webhook-secret]"),
    (re.compile(r"\blp_[A-Za-z0-9_-]{8,}"), "[api-token]"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[token]"),
    (re.compile(r"(/password/reset/)[^/?#\s\"']+"), r"\1[token]"),
    (re.compile(r"(?i)((?:password|secret|token|dsn|api_key)[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,}]+"), r"\1[filtered]"),
]
_DROPPED_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "stripe-signature", "x-csrftoken",
                              "x-csrf-token", "proxy-authorization"})


def scrub_text(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(item) for item in value]
    return value


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry's before_send: no bodies, cookies or credentials; card- and secret-like text masked."""
    req = event.get("request")
    if isinstance(req, dict):
        req.pop("data", None)  # webhook payloads, sign-in and password forms: never sent
        req.pop("cookies", None)
        headers = req.get("headers")
        if isinstance(headers, dict):
            req["headers"] = {name: value for name, value in headers.items()
                              if name.lower() not in _DROPPED_HEADERS}
        req.pop("env", None)
    event.pop("user", None)
    return _scrub(event)


def init_sentry(app: Flask) -> None:
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=app.config.get("APP_ENV"),
        integrations=[FlaskIntegration()],
        # send_default_pii is left unset: off by default, and passing it is deprecated since 2.7x
        # (data_collection replaces it). The SDK's own EventScrubber then stays on as well.
        include_local_variables=False,  # a frame's locals can hold a card payload or a secret
        max_request_body_size="never",
        before_send=scrub_event,
        traces_sample_rate=float(app.config.get("SENTRY_TRACES_SAMPLE_RATE") or 0),
        **app.config.get("SENTRY_OPTIONS", {}),  # tests pass a transport here
    )


# --- background jobs ----------------------------------------------------------------------

_JOB_LOG = logging.getLogger("learnpay.jobs")
_job_started: dict[str, float] = {}


def watch_jobs(huey) -> None:
    """One "job run" line and the job metrics for every task the queue runs (once per queue)."""
    if getattr(huey, "_learnpay_watched", False):
        return
    from huey.signals import SIGNAL_COMPLETE, SIGNAL_ERROR, SIGNAL_EXECUTING

    @huey.signal(SIGNAL_EXECUTING)
    def job_started(signal, task, *args) -> None:
        _job_started[task.id] = time.perf_counter()

    @huey.signal(SIGNAL_COMPLETE, SIGNAL_ERROR)
    def job_finished(signal, task, *args) -> None:
        try:
            ok = signal == SIGNAL_COMPLETE
            started = _job_started.pop(task.id, None)
            metrics.job_run(task.name, ok)
            fields = {"event": "job.run", "job": task.name, "task_id": task.id, "result": "ok" if ok else "failed",
                      "seconds": round(time.perf_counter() - started, 3) if started is not None else None,
                      "error": type(args[0]).__name__ if args and not ok else None}
            _JOB_LOG.log(logging.INFO if ok else logging.WARNING, "job run", extra=fields)
        except Exception:  # noqa: BLE001 - reporting a job must never disturb the worker
            _JOB_LOG.debug("job run not reported", exc_info=True)

    huey._learnpay_watched = True

"""Prometheus metrics: what is counted, and the text served at /metrics.

Counters and the latency histogram live in this process (prometheus_client); under gunicorn,
`PROMETHEUS_MULTIPROC_DIR` makes every worker write them to files in that folder and a scrape
adds them up (gunicorn.conf.py empties the folder at start and drops dead workers' gauges).
Backlogs (webhook inbox, open payment sessions, outbox) are read from the database at scrape
time, so every instance reports the same figures: alert on their max, not their sum.

Every recording function swallows its own errors: a metric must never break a request, a
webhook or a job. Labels are bounded: endpoint names, event types we handle, reason codes.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timezone

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from extensions import db
from models import MailStatus, OutboxMail, PaymentSession, PaymentSessionStatus, StripeEvent, WebhookEventStatus

log = logging.getLogger(__name__)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # prometheus_client writes there from the first metric on
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

REQUEST_LATENCY = Histogram(
    "learnpay_http_request_duration_seconds", "Time to answer a request, by Flask endpoint.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
CHECKOUTS_STARTED = Counter("learnpay_checkouts_started", "Payment sessions created (a learner pressed Buy).")
CHECKOUTS_COMPLETED = Counter("learnpay_checkouts_completed", "Payment sessions that became COMPLETED (paid or free).")
CHECKOUTS_FAILED = Counter("learnpay_checkouts_failed",
                           "Payment sessions closed unpaid, by reason (expired, cancelled, failed:<code>).",
                           ["reason"])
WEBHOOK_EVENTS = Counter("learnpay_webhook_events",
                         "Verified Stripe events by type and result (processed, ignored, duplicate, failed).",
                         ["type", "result"])
WEBHOOKS_REJECTED = Counter("learnpay_webhooks_rejected", "Webhook requests refused before verification, by reason.",
                            ["reason"])
REFUNDS = Counter("learnpay_refunds", "Refunds recorded from Stripe.")
DISPUTES = Counter("learnpay_disputes", "Dispute events applied, by dispute status.", ["status"])
JOB_RUNS = Counter("learnpay_job_runs", "Background job runs, by job and result (ok, failed).", ["job", "result"])
JOB_FAILURES = Counter("learnpay_job_failures", "Background job runs that raised, by job.", ["job"])

_KNOWN_DISPUTE_STATUSES = frozenset({"warning_needs_response", "warning_under_review", "warning_closed",
                                     "needs_response", "under_review", "won", "lost", "prevented"})


def _safely(record):
    def wrapper(*args, **kwargs):
        try:
            record(*args, **kwargs)
        except Exception:  # noqa: BLE001 - see the module docstring
            log.debug("metric %s not recorded", record.__name__, exc_info=True)
    wrapper.__name__ = record.__name__
    wrapper.__doc__ = record.__doc__
    return wrapper


@_safely
def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(endpoint or "unmatched", method, str(status)).observe(seconds)


@_safely
def checkout_started() -> None:
    CHECKOUTS_STARTED.inc()


@_safely
def checkout_completed() -> None:
    CHECKOUTS_COMPLETED.inc()


@_safely
def checkout_failed(reason: str) -> None:
    CHECKOUTS_FAILED.labels(reason[:60]).inc()


@_safely
def webhook_event(event_type: str, result: str) -> None:
    WEBHOOK_EVENTS.labels(event_type, result).inc()


@_safely
def webhook_rejected(reason: str) -> None:
    WEBHOOKS_REJECTED.labels(reason).inc()


@_safely
def refund_recorded() -> None:
    REFUNDS.inc()


@_safely
def dispute(status: str | None) -> None:
    DISPUTES.labels(status if status in _KNOWN_DISPUTE_STATUSES else "other").inc()


@_safely
def job_run(job: str, ok: bool) -> None:
    JOB_RUNS.labels(job, "ok" if ok else "failed").inc()
    if not ok:
        JOB_FAILURES.labels(job).inc()


# --- exposition ---------------------------------------------------------------------------

def exposition(now: datetime) -> bytes:
    """The text format of every metric: this process's (or all workers') plus the backlogs."""
    multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiprocess_dir:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)
    else:
        from prometheus_client import REGISTRY as registry
    backlogs = CollectorRegistry(auto_describe=False)
    backlogs.register(_BacklogCollector(now))
    return generate_latest(registry) + generate_latest(backlogs)


def _aware(moment: datetime | None) -> datetime | None:
    """Core aggregates skip UTCDateTime's conversion: a naive value is UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


class _BacklogCollector:
    """Gauges read from the database when scraped (one small aggregate per table)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def collect(self):
        try:
            figures = backlog_figures(self.now)
        except Exception as error:  # noqa: BLE001 - the process's own metrics are still worth serving
            log.warning("backlog metrics unavailable: %s: %s", type(error).__name__, str(error)[:300])
            figures = []
        yield GaugeMetricFamily("learnpay_backlog_scrape_ok", "1 when the backlog gauges below could be read.",
                                value=1 if figures else 0)
        for name, documentation, value in figures:
            yield GaugeMetricFamily(name, documentation, value=value)


def backlog_figures(now: datetime) -> list[tuple[str, str, float]]:
    waiting = (WebhookEventStatus.RECEIVED, WebhookEventStatus.FAILED)
    inbox = db.session.execute(
        sa.select(sa.func.count(),
                  sa.func.count().filter(StripeEvent.status == WebhookEventStatus.FAILED),
                  sa.func.min(StripeEvent.received_at))
        .where(StripeEvent.status.in_(waiting))).one()
    open_sessions = db.session.scalar(
        sa.select(sa.func.count()).select_from(PaymentSession)
        .where(PaymentSession.status.in_((PaymentSessionStatus.PENDING, PaymentSessionStatus.PROCESSING))))
    outbox = db.session.execute(
        sa.select(sa.func.count().filter(OutboxMail.status.in_((MailStatus.PENDING, MailStatus.SENDING))),
                  sa.func.count().filter(OutboxMail.status == MailStatus.FAILED),
                  sa.func.min(OutboxMail.created_at).filter(
                      OutboxMail.status.in_((MailStatus.PENDING, MailStatus.SENDING))))
        .where(OutboxMail.status.in_((MailStatus.PENDING, MailStatus.SENDING, MailStatus.FAILED)))).one()
    oldest, oldest_mail = _aware(inbox[2]), _aware(outbox[2])
    figures = [
        ("learnpay_webhook_inbox_backlog", "Stored Stripe events not yet processed (received or failed).", inbox[0]),
        ("learnpay_webhook_inbox_failed", "Stored Stripe events whose last attempt failed.", inbox[1]),
        ("learnpay_webhook_oldest_unprocessed_age_seconds",
         "Age of the oldest stored Stripe event not yet processed (0 when none).",
         max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0),
        ("learnpay_payment_sessions_open", "Payment sessions PENDING or PROCESSING.", open_sessions or 0),
        ("learnpay_mail_outbox_backlog", "Mails in the outbox not sent yet (pending or being sent).", outbox[0]),
        ("learnpay_mail_outbox_failed", "Mails the worker gave up on (see /staff/mail).", outbox[1]),
        ("learnpay_mail_outbox_oldest_pending_age_seconds",
         "Age of the oldest mail not sent yet (0 when none).",
         max(0.0, (now - oldest_mail).total_seconds()) if oldest_mail is not None else 0.0),
    ]
    return figures

"""Domain events for operators: one log line and a metric each, once the transaction commits.

Services call `after_commit(event, **fields)` where the thing happens (a payment session is
created, a payment completes, a refund or a dispute is recorded, a webhook is processed or
its failure recorded). Nothing is written then: the event waits on the database session and is
logged and counted when that transaction commits, and dropped when it rolls back. So a line
never reports a payment that did not happen, and no metric call runs inside the money
transaction (a metric or a log line can never fail it).

Events and their metric:

| event | metric |
|---|---|
| `checkout.session_created` | learnpay_checkouts_started_total |
| `payment.completed` | learnpay_checkouts_completed_total |
| `checkout.closed_unpaid` (reason) | learnpay_checkouts_failed_total{reason} |
| `payment.refund_recorded` | learnpay_refunds_total |
| `payment.dispute` (dispute_status) | learnpay_disputes_total{status} |
| `webhook.processed` / `webhook.failed` (event_type, result) | learnpay_webhook_events_total{type,result} |
"""
from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

from extensions import db
from services import metrics

log = logging.getLogger("learnpay.events")
_PENDING = "observability_after_commit"

_MESSAGES = {
    "checkout.session_created": "checkout session created",
    "payment.completed": "payment completed",
    "checkout.closed_unpaid": "checkout closed unpaid",
    "payment.refund_recorded": "refund recorded",
    "payment.dispute": "dispute updated",
    "webhook.processed": "webhook processed",
    "webhook.failed": "webhook failed",
}


def after_commit(event_name: str, **fields) -> None:
    """Log and count `event_name` when the current transaction commits (dropped on rollback)."""
    db.session.info.setdefault(_PENDING, []).append((event_name, fields))


def emit(event_name: str, fields: dict) -> None:
    """Write the event's line and count it now (after the commit). Never raises."""
    try:
        _count(event_name, fields)
        level = logging.WARNING if event_name == "webhook.failed" else logging.INFO
        log.log(level, _MESSAGES.get(event_name, event_name), extra={"event": event_name, **fields})
    except Exception:  # noqa: BLE001 - the work is committed; reporting it must not undo the request
        log.debug("event %s not reported", event_name, exc_info=True)


def _count(event_name: str, fields: dict) -> None:
    if event_name == "checkout.session_created":
        metrics.checkout_started()
    elif event_name == "payment.completed":
        metrics.checkout_completed()
    elif event_name == "checkout.closed_unpaid":
        metrics.checkout_failed(fields.get("reason") or "unknown")
    elif event_name == "payment.refund_recorded":
        metrics.refund_recorded()
    elif event_name == "payment.dispute":
        metrics.dispute(fields.get("dispute_status"))
    elif event_name in ("webhook.processed", "webhook.failed"):
        metrics.webhook_event(fields.get("event_type") or "other", fields.get("result") or "failed")


# Savepoints fire these too: only the outermost transaction decides (as services/mail.py does).
@event.listens_for(Session, "after_commit")
def _emit_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for event_name, fields in session.info.pop(_PENDING, []):
        emit(event_name, fields)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(_PENDING, None)

"""The webhook inbox: one row per verified Stripe event, keyed by Stripe's event id.

`receive` claims the event's row (insert-if-absent, else a row lock), runs its effect through
`services.payments.stripe_events.dispatch` and marks it processed, all in the caller's transaction:
the caller commits once, so the effect and the "processed" mark land together or not at all.
A second delivery of a processed (or ignored) event finds the row done and has no effect.

When an effect fails, the caller rolls back and calls `record_failure` in a fresh, short
transaction (blueprints/webhooks/delivery.py does both for every caller), so the attempt count and the error survive the rollback and a redelivery (or
`flask webhooks retry-failed`) runs the effect again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from extensions import db
from models import StripeEvent, WebhookEventStatus
from services import observability, safe_json
from services.insert_if_absent import InsertIfAbsent
from services.payments import stripe_events

DONE = (WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED)
MAX_ERROR_CHARS = 2000


class MalformedEvent(ValueError):
    """A correctly signed body that is not a Stripe event (no id, type or data.object)."""


@dataclass(frozen=True)
class Outcome:
    event_id: str
    status: WebhookEventStatus
    duplicate: bool
    payment_session_id: str | None = None


def parse(payload: bytes) -> dict:
    """The verified body as a dict, checked to have the shape of a snapshot event.

    Nesting is bounded, and text PostgreSQL cannot store (NUL, lone surrogates, which a
    customer can type into a name on the hosted page) is rewritten as the escape it came as
    (`safe_json.storable`), so the event can be stored, applied and shown to staff.
    """
    try:
        data = safe_json.loads_storable(payload)
    except safe_json.UnsafeJSON as exc:
        raise MalformedEvent(f"payload: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedEvent("payload is not a JSON object")
    event_id, event_type, body = data.get("id"), data.get("type"), data.get("data")
    if not (isinstance(event_id, str) and event_id and len(event_id) <= 255):
        raise MalformedEvent("event has no id")
    if not (isinstance(event_type, str) and event_type and len(event_type) <= 100):
        raise MalformedEvent("event has no type")
    if not (isinstance(body, dict) and isinstance(body.get("object"), dict)):
        raise MalformedEvent("event has no data.object")
    return data


def receive(data: dict, *, now: datetime) -> Outcome:
    """Claim, apply and mark one verified event; the caller commits (or rolls back on error)."""
    event_id, event_type = data["id"], data["type"]
    values = _row_values(data, now)
    handled = stripe_events.handles(event_type)
    if not handled:  # nothing to apply: stored as done by the statement that claims it
        values.update(status=WebhookEventStatus.IGNORED, attempts=1, processed_at=now,
                      last_error=stripe_events.no_handler_note(event_type))
    if _insert_if_absent(values):
        if not handled:
            return _reported(event_type, Outcome(event_id, WebhookEventStatus.IGNORED, duplicate=False))
        return _reported(event_type, _apply(event_id, 0, data, now=now))
    # Already stored: a redelivery, a retry after a failure, or a twin delivery in flight
    # (whose transaction this lock waits for, so its outcome is what we see).
    row = db.session.execute(_locked_row(event_id)).one()
    if row.status in DONE:
        return _reported(event_type, Outcome(event_id, row.status, duplicate=True,
                                             payment_session_id=row.payment_session_id))
    return _reported(event_type, _apply(event_id, row.attempts, data, now=now))


def reprocess(event_id: str, *, now: datetime) -> Outcome | None:
    """Run a stored event again unless it is done or another worker holds it (SKIP LOCKED)."""
    row = db.session.execute(_locked_row(event_id, skip_locked=True).add_columns(INBOX.c.payload)).one_or_none()
    if row is None or row.status in DONE:
        return None
    return _reported(row.payload.get("type"), _apply(event_id, row.attempts, row.payload, now=now))


def failed_event_ids(limit: int = 100) -> list[str]:
    """Failed events, oldest first: the work list of `flask webhooks retry-failed`."""
    return list(db.session.scalars(
        db.select(StripeEvent.id).where(StripeEvent.status == WebhookEventStatus.FAILED)
        .order_by(StripeEvent.received_at).limit(limit)
    ))


def is_done(event_id: str) -> bool:
    status = db.session.scalar(db.select(StripeEvent.status).where(StripeEvent.id == event_id))
    return status in DONE


def record_failure(data: dict, error: BaseException, *, now: datetime) -> None:
    """Store the failed attempt (in the caller's fresh transaction, after the rollback).

    Whatever the event holds: its payload and the error text are made storable first, and
    missing fields leave columns empty, so recording a failure never fails on content.
    """
    data = safe_json.storable(data)
    _insert_if_absent(_row_values(data, now))
    # A twin delivery that succeeded meanwhile leaves its row done: nothing to record then.
    recorded = db.session.execute(
        sa.update(INBOX).where(INBOX.c.id == data["id"], INBOX.c.status.not_in(DONE))
        .values(status=WebhookEventStatus.FAILED, attempts=INBOX.c.attempts + 1,
                last_error=safe_json.storable(_describe(error))[:MAX_ERROR_CHARS])
    ).rowcount
    if recorded:
        observability.after_commit("webhook.failed", stripe_event_id=data["id"],
                                   event_type=_type_label(str(data.get("type") or "unknown")), result="failed",
                                   error=type(error).__name__)


def purge_processed(*, older_than_days: int, now: datetime) -> int:
    """Delete done events older than the window (Stripe retries for 3 days; keep 30+)."""
    cutoff = now - timedelta(days=older_than_days)
    result = db.session.execute(
        db.delete(StripeEvent).where(StripeEvent.status.in_(DONE), StripeEvent.received_at < cutoff)
    )
    return result.rowcount or 0


# --- internals ------------------------------------------------------------------------

def _type_label(event_type: str | None) -> str:
    """The event type as a metric label: the types we handle, else "other" (bounded)."""
    return event_type if event_type and stripe_events.handles(event_type) else "other"


def _reported(event_type: str, outcome: Outcome) -> Outcome:
    result = "duplicate" if outcome.duplicate else outcome.status.value.lower()
    observability.after_commit("webhook.processed", stripe_event_id=outcome.event_id,
                               event_type=_type_label(event_type), result=result,
                               payment_session_id=outcome.payment_session_id)
    return outcome

# The inbox is written with Core statements on the table, not ORM objects: every webhook
# passes here, and the ORM's unit of work cost more than the statements themselves.
INBOX = StripeEvent.__table__


def _apply(event_id: str, attempts: int, data: dict, *, now: datetime) -> Outcome:
    result = stripe_events.dispatch(data, now=now)
    status = WebhookEventStatus.PROCESSED if result.handled else WebhookEventStatus.IGNORED
    db.session.execute(
        sa.update(INBOX).where(INBOX.c.id == event_id)
        .values(status=status, payment_session_id=result.payment_session_id, attempts=attempts + 1,
                last_error=result.note, processed_at=now)
    )
    return Outcome(event_id, status, duplicate=False, payment_session_id=result.payment_session_id)


# Cached once from the table (services/insert_if_absent.py says why).
_INSERT_IF_ABSENT = InsertIfAbsent(INBOX, conflict=["id"], returning="id")


def _insert_if_absent(values: dict[str, Any]) -> bool:
    """Insert the event's row unless its id is stored; True when this call inserted it.

    On PostgreSQL a concurrent insert of the same id waits on the unique key until the first
    transaction ends; the row then exists and the caller locks and reads it.
    """
    return _INSERT_IF_ABSENT.run(db.session, values) is not None


def _locked_row(event_id: str, *, skip_locked: bool = False):
    return (sa.select(INBOX.c.status, INBOX.c.attempts, INBOX.c.payment_session_id)
            .where(INBOX.c.id == event_id).with_for_update(skip_locked=skip_locked))


def _describe(error: BaseException) -> str:
    try:
        return f"{type(error).__name__}: {error}"
    except Exception:  # an exception whose str() fails still gets recorded
        return type(error).__name__


def _row_values(data: dict, now: datetime) -> dict[str, Any]:
    """The inbox columns of an event; tolerant of any content (a failure must be recordable)."""
    body = data.get("data")
    obj = body.get("object") if isinstance(body, dict) else None
    obj = obj if isinstance(obj, dict) else {}
    created = data.get("created")
    created = created if isinstance(created, int) and not isinstance(created, bool) and 0 < created < 2**40 else None
    return {
        "id": str(data["id"])[:255],
        "type": str(data.get("type") or "unknown")[:100],
        "object_id": str(obj.get("id"))[:255] if obj.get("id") else None,
        "api_version": str(data.get("api_version"))[:40] if data.get("api_version") else None,
        "livemode": bool(data.get("livemode")),
        "stripe_created_at": datetime.fromtimestamp(created, timezone.utc) if created else None,
        "payload": data,
        "status": WebhookEventStatus.RECEIVED,
        "attempts": 0,
        "received_at": now,
    }

"""The webhook inbox: one row per verified Stripe event, keyed by Stripe's event id.

`receive` claims the event's row (insert-if-absent, then a row lock), runs its effect through
`services.stripe_events.dispatch` and marks it processed, all in the caller's transaction:
the caller commits once, so the effect and the "processed" mark land together or not at all.
A second delivery of a processed (or ignored) event finds the row done and has no effect.

When an effect fails, the caller rolls back and calls `record_failure` in a fresh, short
transaction, so the attempt count and the error survive the rollback and a redelivery (or
`flask webhooks retry-failed`) runs the effect again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import stripe
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from extensions import db
from models import StripeEvent, WebhookEventStatus
from services import stripe_events

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
    """The verified body as a dict, checked to have the shape of a snapshot event."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEvent("payload is not valid JSON") from exc
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


def as_event(data: dict) -> stripe.Event:
    """A stored or parsed payload as a stripe Event (objects behave as the API's objects do)."""
    return stripe.Event.construct_from(data, None)


def receive(data: dict, *, now: datetime, partial_refund_keeps_access: bool = True,
            event: stripe.Event | None = None) -> Outcome:
    """Claim, apply and mark one verified event; the caller commits (or rolls back on error).

    `event` is the same payload as a stripe Event when the caller already has one (the
    signature check builds it), which spares converting the payload a second time.
    """
    row = _claim(data, now)
    if row.status in DONE:
        return Outcome(row.id, row.status, duplicate=True, payment_session_id=row.payment_session_id)
    return _apply(row, data, now=now, partial_refund_keeps_access=partial_refund_keeps_access, event=event)


def reprocess(event_id: str, *, now: datetime, partial_refund_keeps_access: bool = True) -> Outcome | None:
    """Run a stored event again unless it is done or another worker holds it (SKIP LOCKED)."""
    row = db.session.scalar(
        db.select(StripeEvent).where(StripeEvent.id == event_id)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)
    )
    if row is None or row.status in DONE:
        return None
    return _apply(row, row.payload, now=now, partial_refund_keeps_access=partial_refund_keeps_access)


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
    """Store the failed attempt (in the caller's fresh transaction, after the rollback)."""
    row = _claim(data, now)
    if row.status in DONE:  # another delivery succeeded meanwhile: nothing to record
        return
    row.status = WebhookEventStatus.FAILED
    row.attempts = (row.attempts or 0) + 1
    row.last_error = f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
    db.session.flush()


def purge_processed(*, older_than_days: int, now: datetime) -> int:
    """Delete done events older than the window (Stripe retries for 3 days; keep 30+)."""
    cutoff = now - timedelta(days=older_than_days)
    result = db.session.execute(
        db.delete(StripeEvent).where(StripeEvent.status.in_(DONE), StripeEvent.received_at < cutoff)
    )
    return result.rowcount or 0


# --- internals ------------------------------------------------------------------------

def _apply(row: StripeEvent, data: dict, *, now: datetime, partial_refund_keeps_access: bool,
           event: stripe.Event | None = None) -> Outcome:
    result = stripe_events.dispatch(event if event is not None else as_event(data), now=now,
                                    partial_refund_keeps_access=partial_refund_keeps_access)
    row.status = WebhookEventStatus.PROCESSED if result.handled else WebhookEventStatus.IGNORED
    row.payment_session_id = result.payment_session_id
    row.attempts = (row.attempts or 0) + 1
    row.last_error = result.note
    row.processed_at = now
    db.session.flush()
    return Outcome(row.id, row.status, duplicate=False, payment_session_id=row.payment_session_id)


def _claim(data: dict, now: datetime) -> StripeEvent:
    """The event's inbox row, inserted if absent, locked for this transaction.

    Insert-or-ignore then SELECT ... FOR UPDATE: on PostgreSQL a concurrent delivery of the
    same id waits on the unique key until the first transaction ends, then sees its outcome.
    """
    values = _row_values(data, now)
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # RETURNING hands back the row we just inserted (and hold): one round trip, not two.
    inserted = db.session.scalar(
        insert(StripeEvent).values(**values).on_conflict_do_nothing(index_elements=["id"])
        .returning(StripeEvent).execution_options(populate_existing=True)
    )
    if inserted is not None:
        return inserted
    return db.session.scalar(
        db.select(StripeEvent).where(StripeEvent.id == values["id"])
        .with_for_update().execution_options(populate_existing=True)
    )


def _row_values(data: dict, now: datetime) -> dict[str, Any]:
    obj = data["data"]["object"]
    created = data.get("created")
    return {
        "id": data["id"],
        "type": data["type"][:100],
        "object_id": str(obj.get("id"))[:255] if obj.get("id") else None,
        "api_version": str(data.get("api_version"))[:40] if data.get("api_version") else None,
        "livemode": bool(data.get("livemode")),
        "stripe_created_at": (datetime.fromtimestamp(created, timezone.utc)
                              if isinstance(created, int) and created > 0 else None),
        "payload": data,
        "status": WebhookEventStatus.RECEIVED,
        "attempts": 0,
        "received_at": now,
    }

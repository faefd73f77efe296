"""The webhook protocol, written once: apply an event in one transaction; on failure roll it
back and record the failure in a second, short one.

Every way an event reaches its effect goes through here: the endpoint (both paths), the
retry-failed and reconcile runs (jobs/runs.py: `flask webhooks retry-failed`, `flask payments
reconcile` and their periodic jobs) and the staff "reprocess" button. It commits, so it lives
beside the views that own transactions, not in services/ (services/payments/webhook_inbox.py
holds the inbox's rules).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from extensions import db
from models import StripeEvent, utcnow
from services.payments import webhook_inbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """What one try did: the inbox's outcome (None: nothing to do), or the error it failed with."""

    outcome: webhook_inbox.Outcome | None = None
    error: Exception | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


def receive(data: dict) -> Attempt:
    """A verified event as Stripe (or Stripe's event list) delivered it."""
    return _attempt(data["id"], lambda: webhook_inbox.receive(data, now=utcnow()),
                    lambda: data)


def retry(event_id: str) -> Attempt:
    """A stored event again, unless it is done or another worker holds it (outcome None then)."""
    return _attempt(event_id, lambda: webhook_inbox.reprocess(event_id, now=utcnow()),
                    lambda: db.session.scalar(db.select(StripeEvent.payload).where(StripeEvent.id == event_id)))


def _attempt(event_id: str, apply: Callable[[], webhook_inbox.Outcome | None],
             payload: Callable[[], dict]) -> Attempt:
    try:
        outcome = apply()
        db.session.commit()
    except Exception as error:  # any failure: undo the effect, keep a trace, let it be retried
        db.session.rollback()
        log.exception("Stripe event %s failed", event_id)
        _record_failure(event_id, payload, error)
        return Attempt(error=error)
    return Attempt(outcome=outcome)


def _record_failure(event_id: str, payload: Callable[[], dict], error: Exception) -> None:
    try:
        webhook_inbox.record_failure(payload(), error, now=utcnow())
        db.session.commit()
    except Exception:  # the caller's answer (a 500, a line of output) is what matters; the log has the details
        db.session.rollback()
        log.exception("Could not record the failure of Stripe event %s", event_id)

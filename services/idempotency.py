"""Idempotency keys for unsafe API requests, with Stripe's semantics.

A client that may retry (a timeout, a double click) sends `Idempotency-Key: <its own unique
value>`. The first request with a key runs and its response is kept for 24 hours; the same
key with the same request again gets that response back without running anything; the same
key with a different request is refused (409 IDEMPOTENCY_KEY_REUSED); and while the first is
still running, a second is refused (409 IDEMPOTENCY_KEY_IN_USE) rather than run twice.

Keys are the caller's own (one namespace per user) and live in the database, so every app
instance agrees: a request claims its key by inserting the row, and the unique
(user, key) constraint decides the winner of a race. The caller commits the claim before the
work starts and records the response after it. A claim whose request died before recording
(a crashed worker) is taken over after IN_FLIGHT_TIMEOUT. Responses of 5xx are not kept, so a
retry after a server error runs again, as with Stripe.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from extensions import db
from models import IdempotencyKey, User
from services.errors import Conflict, DomainError

RETENTION = timedelta(hours=24)
IN_FLIGHT_TIMEOUT = timedelta(minutes=2)  # longer than any request may run (Stripe's timeouts included)
MAX_KEY_LENGTH = 255


@dataclass
class Claim:
    """The outcome of claiming a key: run the request (`replay` None) or answer `replay`."""

    row_id: int
    replay: tuple[int, dict] | None = None


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What must match for a replay: method, path and the JSON body (key order and spacing ignored)."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.hex()
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or any(not 32 < ord(char) < 127 for char in key):
        raise DomainError(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters without "
                          "spaces (a UUID is a good choice).", code="INVALID_IDEMPOTENCY_KEY")
    return key


def claim(user: User, key: str, request_fingerprint: str, now: datetime) -> Claim:
    """Claim `key` for this request, or say what to answer instead (flushes; the caller commits)."""
    check_key(key)
    row = _find(user, key)
    if row is not None and row.expires_at <= now:
        db.session.delete(row)  # kept 24 hours: after that the key is new again
        db.session.flush()
        row = None
    if row is None:
        try:
            with db.session.begin_nested():
                row = IdempotencyKey(user_id=user.id, key=key, request_fingerprint=request_fingerprint,
                                     created_at=now, expires_at=now + RETENTION)
                db.session.add(row)
            return Claim(row.id)
        except sa.exc.IntegrityError:
            row = _find(user, key)  # another instance claimed it first
            if row is None:  # and has given it up again already: the caller may simply retry
                raise _in_use() from None
    if row.request_fingerprint != request_fingerprint:
        raise Conflict("This Idempotency-Key was already used with a different request. Use a new key for a "
                       "new request.", code="IDEMPOTENCY_KEY_REUSED")
    if row.response_status is not None:
        return Claim(row.id, replay=(row.response_status, row.response_body))
    if now - row.created_at < IN_FLIGHT_TIMEOUT:
        raise _in_use()
    row.created_at = now  # its first request died without answering: this one takes over
    db.session.flush()
    return Claim(row.id)


def record(claim_: Claim, status: int, body: dict | None) -> None:
    """Keep the response of the claimed request (flushes); a 5xx frees the key instead."""
    row = db.session.get(IdempotencyKey, claim_.row_id)
    if row is None:
        return
    if status >= 500:
        db.session.delete(row)
    else:
        row.response_status, row.response_body = status, body
    db.session.flush()


def release(claim_: Claim) -> None:
    """The request failed before it had an answer: free the key for a retry (flushes)."""
    db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.id == claim_.row_id))


def purge_expired(now: datetime) -> int:
    """Delete keys older than their 24 hours (flushes); how many went."""
    return db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now)).rowcount


def _find(user: User, key: str) -> IdempotencyKey | None:
    return db.session.scalar(sa.select(IdempotencyKey).where(IdempotencyKey.user_id == user.id,
                                                              IdempotencyKey.key == key)
                             .execution_options(populate_existing=True))


def _in_use() -> Conflict:
    return Conflict("A request with this Idempotency-Key is still being processed. Retry in a moment.",
                    code="IDEMPOTENCY_KEY_IN_USE")

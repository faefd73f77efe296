"""Signed-in sessions: the server-checked half of every session and remember-me cookie.

Flask keeps the session in a signed cookie and Flask-Login keeps "remember me" in another;
both carry the same random token (what `User.get_id()` returns), and a row of `user_sessions`
named by the token's SHA-256 decides whether it still signs anybody in. Ending a session
(sign-out, "sign out of all devices", a password reset, staff) revokes the row, so every copy
of either cookie stops working at once, on every app instance sharing the database. A session
also ends after `idle_minutes` without a request (not for "remember me") and `max_days` after
sign-in whatever happens. Why this and not Flask-Session: docs/architecture.md.

This module never reads the request: the caller passes the address and user agent.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from models import User, UserSession, utcnow
from services import audit
from services.errors import NotFound
from services.people import api_tokens

# A request moves `last_seen_at` at most once a minute: a signed-in page would otherwise
# always write. The idle limit is that much coarser.
TOUCH_RESOLUTION = timedelta(minutes=1)
USER_AGENT_LENGTH = 255


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(user: User, *, remember: bool, ip: str | None, user_agent: str | None, max_days: int,
          now: datetime | None = None) -> tuple[UserSession, str]:
    """A new session for `user` and its token (for the cookies; only its digest is stored)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = UserSession(id=_key(token), user_id=user.id, created_at=now, last_seen_at=now,
                      expires_at=now + timedelta(days=max_days), remember=remember, ip=ip,
                      user_agent=(user_agent or "")[:USER_AGENT_LENGTH] or None)
    db.session.add(row)
    return row, token


def _is_live(row: UserSession, now: datetime, idle_minutes: int) -> bool:
    if row.revoked_at is not None or now >= row.expires_at:
        return False
    return row.remember or now - row.last_seen_at < timedelta(minutes=idle_minutes)


def check(token: str, *, idle_minutes: int, now: datetime | None = None) -> UserSession | None:
    """The live session this token names, with its (active) user loaded in the same statement;
    None when it is unknown, revoked, idle too long, past its maximum age, or its user is disabled."""
    if not token or len(token) > 100:
        return None
    row = db.session.scalar(db.select(UserSession).options(joinedload(UserSession.user, innerjoin=True))
                            .where(UserSession.id == _key(token)))
    if row is None or not row.user.is_active or not _is_live(row, now or utcnow(), idle_minutes):
        return None
    return row


def needs_touch(row: UserSession, now: datetime | None = None) -> bool:
    return (now or utcnow()) - row.last_seen_at >= TOUCH_RESOLUTION


def touch(session_id: str, *, ip: str | None, now: datetime | None = None) -> None:
    """Record a request of this session (its address may have moved). One UPDATE, no read."""
    db.session.execute(sa.update(UserSession).where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
                       .values(last_seen_at=now or utcnow(), ip=ip))


def active(user: User, *, idle_minutes: int, now: datetime | None = None) -> list[UserSession]:
    """The user's live sessions, most recently used first (for /account)."""
    now = now or utcnow()
    rows = db.session.scalars(db.select(UserSession)
                              .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
                                     UserSession.expires_at > now)
                              .order_by(UserSession.last_seen_at.desc(), UserSession.id))
    return [row for row in rows if _is_live(row, now, idle_minutes)]


def end(row: UserSession, *, actor: User | None, reason: str, now: datetime | None = None) -> None:
    """Revoke one session (audited). Ending an ended session changes nothing."""
    if row.revoked_at is not None:
        return
    row.revoked_at = now or utcnow()
    audit.record("session.revoked", row.user, actor=actor, message=f"Session ended: {reason}",
                 after={"session": row.id[:12], "device": describe_device(row.user_agent), "ip": row.ip})


def end_one_of(user: User, session_id: str, *, actor: User, now: datetime | None = None) -> UserSession:
    """Revoke one of `user`'s sessions by id; another account's session is NotFound, never revealed."""
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user.id:
        raise NotFound("We could not find that session.", code="SESSION_NOT_FOUND")
    end(row, actor=actor, reason="signed out from the account page", now=now)
    return row


def end_all(user: User, *, actor: User | None, reason: str, keep: str | None = None,
            now: datetime | None = None) -> int:
    """Revoke every session of `user` but `keep` (a session id), in one UPDATE; audited once.
    Every remember-me cookie dies with them: it names one of these rows."""
    query = sa.update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep)
    ended = db.session.execute(query.values(revoked_at=now or utcnow())).rowcount
    audit.record("session.revoked_all", user, actor=actor, message=f"{ended} session(s) ended: {reason}",
                 after={"sessions": ended, "kept_current": keep is not None})
    return ended


def end_all_access(user: User, *, actor: User | None, reason: str, keep: str | None = None,
                   now: datetime | None = None) -> tuple[int, int]:
    """Every way into the account ends but the session `keep`: sessions, remember-me cookies and
    personal API tokens (a password reset, a password change that asks for it, staff).
    Returns how many sessions and tokens ended."""
    return (end_all(user, actor=actor, reason=reason, keep=keep, now=now),
            api_tokens.revoke_all(user, actor=actor, reason=reason, now=now))


def describe_end_all_access(user: User, *, idle_minutes: int, now: datetime | None = None) -> str:
    """What `end_all_access` does to `user`, in words, for the confirmation staff answer."""
    signed_in = len(active(user, idle_minutes=idle_minutes, now=now))
    tokens = len(api_tokens.active_tokens(user))
    return (f"{user.email} is signed out on every device ({signed_in} signed-in session(s)) and their "
            f"{tokens} API token(s) stop working at once. They can sign in again with their password; "
            "scripts need new tokens.")


def purge_ended(*, idle_minutes: int, now: datetime | None = None) -> int:
    """Delete the rows of sessions that can no longer sign anybody in (revoked, past their
    maximum, idle too long without "remember me"); the audit trail keeps the revocations."""
    now = now or utcnow()
    idle_since = now - timedelta(minutes=idle_minutes)
    return db.session.execute(sa.delete(UserSession).where(sa.or_(
        UserSession.revoked_at.is_not(None), UserSession.expires_at <= now,
        sa.and_(UserSession.remember.is_(False), UserSession.last_seen_at <= idle_since)))).rowcount


def describe_device(user_agent: str | None) -> str:
    """"Firefox 133 on Ubuntu", from the User-Agent header as ua-parser reads it."""
    from ua_parser import parse  # its rules load on first use: only pages listing sessions pay

    if not user_agent:
        return "Unknown device"
    result = parse(user_agent)
    browser = result.user_agent
    name = " ".join(part for part in (browser.family, browser.major) if part) if browser else ""
    system = result.os.family if result.os else ""
    if name and system:
        return f"{name} on {system}"
    return name or system or user_agent[:60]

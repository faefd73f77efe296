"""Personal API tokens: created on the account page, shown once, stored as a SHA-256 hash.

Each token has scopes chosen at creation: `read` and `write` (the caller's own data),
`staff:read` and `staff:write` (the back office; offered to staff accounts only). What a token
may do is its scopes *and* what its owner's role allows at the time of use
(`effective_scopes`), so a staff member's token loses staff access when they are demoted.

The plaintext is `lp_` + 43 random URL-safe characters (256 bits), so a fast hash is enough:
there is nothing to brute-force, and a lookup by hash is one indexed query. The first
characters are kept as `prefix` so people can tell their tokens apart.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from models import ApiToken, User, utcnow
from services import audit
from services.errors import DomainError, NotFound

TOKEN_PREFIX = "lp_"
PREFIX_LENGTH = 10
MAX_ACTIVE_TOKENS = 20
# Recording every use would turn each API read into a write; a minute's precision is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)

READ, WRITE, STAFF_READ, STAFF_WRITE = "read", "write", "staff:read", "staff:write"
SCOPES = (READ, WRITE, STAFF_READ, STAFF_WRITE)
STAFF_SCOPES = frozenset({STAFF_READ, STAFF_WRITE})
DEFAULT_SCOPES = (READ, WRITE)
SCOPE_LABELS = {READ: "Read your own data", WRITE: "Buy, enroll and cancel as you",
                STAFF_READ: "Read the back office (staff)", STAFF_WRITE: "Change the back office (staff)"}


def scopes_for_role(user: User) -> frozenset[str]:
    """Every scope the user's role allows now: staff scopes only for staff and admins."""
    return frozenset(SCOPES) if user.is_staff else frozenset(SCOPES) - STAFF_SCOPES


def effective_scopes(token: ApiToken) -> frozenset[str]:
    """What the token may do now: its own scopes, never more than its owner's current role."""
    return frozenset(token.scopes.split()) & scopes_for_role(token.user)


def _checked_scopes(user: User, scopes) -> str:
    chosen = {scope for scope in scopes or ()}
    if not chosen:
        raise DomainError("Choose at least one scope.", code="SCOPES_REQUIRED", field="scopes")
    if unknown := chosen - set(SCOPES):
        raise DomainError(f"Unknown scope {sorted(unknown)[0]!r}.", code="UNKNOWN_SCOPE", field="scopes")
    if chosen - scopes_for_role(user):
        raise DomainError("Staff scopes are only for staff accounts.", code="STAFF_SCOPE_FORBIDDEN",
                          field="scopes", status=403)
    return " ".join(scope for scope in SCOPES if scope in chosen)


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def looks_like_api_token(credential: str) -> bool:
    return credential.startswith(TOKEN_PREFIX)


def active_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(
        db.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ))


def create(user: User, name: str, now: datetime | None = None,
           scopes=DEFAULT_SCOPES) -> tuple[ApiToken, str]:
    """A new token for `user` and its plaintext, which is never stored and cannot be shown again."""
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the token a name, so you can recognise it later.", code="NAME_REQUIRED",
                          field="name")
    if len(name) > 80:
        raise DomainError("Use at most 80 characters.", code="NAME_TOO_LONG", field="name")
    chosen_scopes = _checked_scopes(user, scopes)
    if len(active_tokens(user)) >= MAX_ACTIVE_TOKENS:
        raise DomainError(f"You can have at most {MAX_ACTIVE_TOKENS} tokens. Revoke one first.",
                          code="TOO_MANY_TOKENS", field="name", status=409)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(plaintext),
                     prefix=plaintext[:PREFIX_LENGTH], created_at=now or utcnow(), scopes=chosen_scopes)
    db.session.add(token)
    db.session.flush()
    audit.record("api_token.created", token, actor=user, message=f"API token {token.prefix}… created",
                 after={"scopes": chosen_scopes})
    return token, plaintext


def authenticate(plaintext: str, now: datetime | None = None) -> User | None:
    """The active user owning this unrevoked token, else None (see authenticate_token)."""
    token = authenticate_token(plaintext, now)
    return token.user if token is not None and token.user.is_active else None


def authenticate_token(plaintext: str, now: datetime | None = None) -> ApiToken | None:
    """The unrevoked token, with its owner, else None (what it may do: `effective_scopes`).

    A disabled owner's token is returned too, unused, so that the API can answer 403
    ACCOUNT_DISABLED (the caller is known) rather than call a real token unknown; the caller
    must refuse it (`user.is_active`). An active owner's use is recorded (pending in the
    session, at most once a minute: the caller commits when the session has changes)."""
    token = db.session.scalar(db.select(ApiToken).options(joinedload(ApiToken.user, innerjoin=True))
                              .where(ApiToken.token_hash == hash_token(plaintext)))
    if token is None or token.revoked_at is not None:
        return None
    if not token.user.is_active:
        return token
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token


def revoke(user: User, token_id: int, now: datetime | None = None) -> ApiToken:
    """Revoke one of `user`'s tokens; someone else's token is NotFound, never revealed."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("We could not find that token.", code="TOKEN_NOT_FOUND")
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        audit.record("api_token.revoked", token, actor=user, message=f"API token {token.prefix}… revoked")
        db.session.flush()
    return token


def revoke_all(user: User, *, actor: User | None, reason: str, now: datetime | None = None) -> int:
    """Revoke every token of `user` in one UPDATE (a password reset, staff); audited once."""
    revoked = db.session.execute(sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                 .values(revoked_at=now or utcnow())).rowcount
    audit.record("api_token.revoked_all", user, actor=actor, message=f"{revoked} API token(s) revoked: {reason}",
                 after={"tokens": revoked})
    return revoked

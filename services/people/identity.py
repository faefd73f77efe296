"""Identity from an OpenID Connect provider: JWT verification and users made from claims.

Bearer JWTs are verified with joserfc against the issuer's JSON Web Key Set, found through
OIDC discovery (`<issuer>/.well-known/openid-configuration`). The key set is cached per
issuer and fetched again when a token names a key id we do not know (the provider rotated
its keys), at most once every `JWKS_MIN_REFRESH_SECONDS` so that tokens with made-up key ids
cannot make us hammer the provider. The cache is a per-process optimisation only: every
instance can rebuild it from the provider, no rule depends on it.

Users are found by (issuer, subject) and created or updated from the claims (email, name);
an optional staff claim maps to the STAFF role. Framework-free: callers pass the settings.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import User, UserRole, utcnow
from services.people.accounts import check_email, find_by_email
from services.errors import DomainError

# Asymmetric algorithms only: a provider's public key must never be usable as an HMAC secret.
ALLOWED_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
JWKS_MIN_REFRESH_SECONDS = 30.0
CACHE_TTL_SECONDS = 3600.0
HTTP_TIMEOUT_SECONDS = 5.0
CLOCK_LEEWAY_SECONDS = 30


class InvalidToken(DomainError):
    """The bearer credential is missing, malformed, expired or not for us (answered 401)."""

    code = "INVALID_TOKEN"
    status = 401


class IdentityProviderUnavailable(DomainError):
    code = "IDENTITY_PROVIDER_UNAVAILABLE"
    status = 503


@dataclass
class _IssuerCache:
    metadata: dict[str, Any] | None = None
    metadata_at: float = 0.0
    key_set: KeySet | None = None
    keys_at: float = 0.0


_cache: dict[str, _IssuerCache] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached discovery document and key set (tests, or after reconfiguration)."""
    with _lock:
        _cache.clear()


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
        response.raise_for_status()
        body = response.json()
    except (requests.RequestException, ValueError) as error:
        raise IdentityProviderUnavailable("The identity provider could not be reached.") from error
    if not isinstance(body, dict):
        raise IdentityProviderUnavailable("The identity provider answered with something unexpected.")
    return body


def discovery(issuer: str) -> dict[str, Any]:
    """The provider's metadata (cached for an hour)."""
    issuer = issuer.rstrip("/")
    with _lock:
        entry = _cache.setdefault(issuer, _IssuerCache())
        if entry.metadata and time.monotonic() - entry.metadata_at < CACHE_TTL_SECONDS:
            return entry.metadata
    metadata = _get_json(f"{issuer}/.well-known/openid-configuration")
    if metadata.get("issuer", "").rstrip("/") != issuer or not metadata.get("jwks_uri"):
        raise IdentityProviderUnavailable("The identity provider's discovery document does not match its issuer.")
    with _lock:
        entry.metadata, entry.metadata_at = metadata, time.monotonic()
    return metadata


def _key_set(issuer: str, *, refresh: bool = False) -> KeySet:
    issuer = issuer.rstrip("/")
    metadata = discovery(issuer)
    with _lock:
        entry = _cache[issuer]
        age = time.monotonic() - entry.keys_at
        fresh_enough = entry.key_set is not None and (age < JWKS_MIN_REFRESH_SECONDS or
                                                      (not refresh and age < CACHE_TTL_SECONDS))
        if fresh_enough:
            return entry.key_set
    try:
        key_set = KeySet.import_key_set(_get_json(metadata["jwks_uri"]))
    except (JoseError, KeyError, TypeError, ValueError) as error:
        raise IdentityProviderUnavailable("The identity provider published no usable keys.") from error
    with _lock:
        entry.key_set, entry.keys_at = key_set, time.monotonic()
    return key_set


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2 and credential.startswith("eyJ")


def verify_jwt(token: str, *, issuer: str, audience: str, now: datetime | None = None) -> dict[str, Any]:
    """The claims of `token` once its signature, iss, aud, exp and nbf check out; else InvalidToken."""
    if not issuer or not audience:
        raise InvalidToken("Tokens from an identity provider are not accepted here.")
    issuer = issuer.rstrip("/")
    try:
        try:
            decoded = jwt.decode(token, _key_set(issuer), algorithms=ALLOWED_ALGORITHMS)
        except (InvalidKeyIdError, BadSignatureError):
            # The provider may have rotated its keys since we cached them (a token without a
            # `kid` shows that only as a bad signature). Refreshing is throttled in _key_set.
            decoded = jwt.decode(token, _key_set(issuer, refresh=True), algorithms=ALLOWED_ALGORITHMS)
    except InvalidKeyIdError as error:
        raise InvalidToken("The token was signed with a key the identity provider does not publish.") from error
    except (JoseError, ValueError, TypeError) as error:
        raise InvalidToken("The token is malformed or its signature is invalid.") from error

    timestamp = int((now or utcnow()).timestamp())
    registry = jwt.JWTClaimsRegistry(
        now=timestamp, leeway=CLOCK_LEEWAY_SECONDS,
        # Some providers (Auth0) put a trailing slash in `iss`; the configured issuer may lack it.
        iss={"essential": True, "values": [issuer, issuer + "/"]},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        sub={"essential": True},
    )
    claims = decoded.claims
    try:
        registry.validate(claims)
    except JoseError as error:
        raise InvalidToken(_claim_message(error)) from error
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise InvalidToken("The token names no subject.")
    return claims


def _claim_message(error: JoseError) -> str:
    text = str(error.description or error.error or "")
    if "exp" in text:
        return "The token has expired."
    if "nbf" in text:
        return "The token is not valid yet."
    if "aud" in text:
        return "The token was issued for another audience."
    if "iss" in text:
        return "The token was issued by another issuer."
    return "The token's claims are invalid."


def has_staff_claim(claims: dict[str, Any], staff_claim: str | None) -> bool:
    """Whether the claims grant staff. `staff_claim` is "name" (a true value) or "name=value"
    (equal to, or contained in a list claim such as `groups=staff`)."""
    if not staff_claim:
        return False
    name, _, wanted = staff_claim.partition("=")
    value = claims.get(name.strip())
    if not wanted:
        return value is True or (isinstance(value, str) and value.lower() in {"true", "1", "yes"})
    wanted = wanted.strip()
    if isinstance(value, list):
        return wanted in [str(item) for item in value]
    return value is not None and str(value) == wanted


def user_from_claims(issuer: str, claims: dict[str, Any], *, staff_claim: str | None = None,
                     now: datetime | None = None, record_login: bool = True) -> User:
    """The user for (issuer, sub), created or updated from the claims. Flushes, never commits.

    A new subject whose verified email belongs to an existing account not yet linked to any
    provider is linked to it; an unverified email never takes over an account.
    """
    issuer = issuer.rstrip("/")
    subject = str(claims.get("sub") or "")
    if not subject or len(subject) > 255 or _has_control_characters(subject):
        raise InvalidToken("The token names no usable subject.")
    now = now or utcnow()
    user = db.session.scalar(db.select(User).where(User.oidc_issuer == issuer, User.oidc_subject == subject))
    email = _claimed_email(claims)
    name = _claimed_name(claims, email)

    if user is None:
        if email is None:
            raise DomainError("The identity provider did not share an email address.", code="EMAIL_REQUIRED",
                              status=403)
        existing = find_by_email(email)
        if existing is not None and (existing.oidc_issuer, existing.oidc_subject) == (issuer, subject):
            user = existing  # a parallel first request for this subject created it meanwhile
        elif existing is not None:
            if existing.oidc_subject is not None or claims.get("email_verified") is not True:
                raise DomainError("An account with this email already exists. Sign in with your password.",
                                  code="EMAIL_TAKEN", status=409)
            user = existing
            user.oidc_issuer, user.oidc_subject = issuer, subject
        else:
            user = _create(User(email=email, name=name or email, password_hash=None, role=UserRole.LEARNER,
                                oidc_issuer=issuer, oidc_subject=subject))
    else:
        if email and email != user.email and find_by_email(email) is None:
            user.email = email
        if name and name != user.name:
            user.name = name

    if staff_claim and user.role != UserRole.ADMIN:
        # The provider is the source of truth for the staff role once a claim is configured.
        user.role = UserRole.STAFF if has_staff_claim(claims, staff_claim) else UserRole.LEARNER
    if user.is_disabled:
        raise DomainError("This account is disabled.", code="ACCOUNT_DISABLED", status=403)
    if record_login:  # a browser sign-in, not every API call (that would write on each request)
        user.last_login_at = now
    db.session.flush()
    return user


def _create(user: User) -> User:
    """Insert a new user; when a parallel first request for the same subject won, use its row."""
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        winner = db.session.scalar(db.select(User).where(User.oidc_issuer == user.oidc_issuer,
                                                         User.oidc_subject == user.oidc_subject))
        if winner is None:  # the email was taken in the meantime, by another account
            raise DomainError("An account with this email already exists. Sign in with your password.",
                              code="EMAIL_TAKEN", status=409) from None
        return winner
    return user


def _claimed_email(claims: dict[str, Any]) -> str | None:
    value = claims.get("email")
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return check_email(value)
    except DomainError:
        return None


def _has_control_characters(text: str) -> bool:
    return any(ord(char) < 32 or ord(char) == 127 for char in text)


def _clean(value: Any) -> str:
    """A claim as display text: control characters (NUL breaks PostgreSQL) dropped, trimmed."""
    if not isinstance(value, str):
        return ""
    return "".join(char for char in value if not _has_control_characters(char)).strip()


def _claimed_name(claims: dict[str, Any], email: str | None) -> str:
    for key in ("name", "preferred_username", "nickname"):
        if value := _clean(claims.get(key)):
            return value[:120]
    joined = " ".join(part for part in (_clean(claims.get("given_name")), _clean(claims.get("family_name"))) if part)
    return joined[:120] or (email or "")

"""Who is calling the API, and how fast.

Credentials, in order:
1. `Authorization: Bearer <credential>`: a personal API token (`lp_…`) or a JWT from the
   configured OpenID Connect issuer. A bearer request is not exposed to CSRF (browsers never
   attach the header on their own), so the blueprint is exempt from the global CSRFProtect.
2. The browser session cookie (Flask-Login). Browsers attach cookies to cross-site requests,
   so unsafe methods must carry the CSRF token in `X-CSRFToken` (as htmx does), checked here.

Missing or invalid credentials answer 401 with `WWW-Authenticate: Bearer` (RFC 6750); a
valid caller who may not do something gets 403 (or 404 for someone else's resource).

Scopes: a personal token carries the scopes chosen when it was made, cut down to what its
owner's role allows at the time of the call (services/people/api_tokens.py); a JWT or the
session cookie gets everything the role allows. Learner endpoints need `read` (GET) or
`write` (POST); staff endpoints need a staff account and `staff:read` or `staff:write`.
A missing scope is 403 INSUFFICIENT_SCOPE with `WWW-Authenticate: Bearer error="insufficient_scope"`.
"""
from __future__ import annotations

import functools
import hashlib

from flask import current_app, g, request
from flask_limiter.util import get_remote_address
from flask_login import current_user

from blueprints.api.validation import origin_of
from blueprints.errors import json_error
from extensions import csrf, db
from models import User
from services.people import api_tokens, identity
from services.errors import DomainError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REALM = "learnpay"


class Unauthenticated(Exception):
    def __init__(self, message: str, *, invalid_token: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.invalid_token = invalid_token


def _bearer_credential() -> str | None:
    """The credential of an `Authorization` header; Unauthenticated for any other scheme."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("Use `Authorization: Bearer <token>`.", invalid_token=True)
    return credential.strip()


def _user_from_bearer(credential: str) -> User:
    config = current_app.config
    if api_tokens.looks_like_api_token(credential):
        token = api_tokens.authenticate_token(credential)
        if token is None:
            raise Unauthenticated("The API token is invalid or has been revoked.", invalid_token=True)
        g.api_auth_method = "api_token"
        g.api_scopes = api_tokens.effective_scopes(token)
        return token.user
    if identity.looks_like_jwt(credential):
        try:
            claims = identity.verify_jwt(credential, issuer=config.get("OIDC_ISSUER") or "",
                                         audience=config.get("OIDC_AUDIENCE") or "")
        except identity.InvalidToken as error:
            raise Unauthenticated(error.message, invalid_token=True) from error
        user = identity.user_from_claims(config["OIDC_ISSUER"], claims, staff_claim=config.get("OIDC_STAFF_CLAIM"),
                                         record_login=False)
        g.api_auth_method = "jwt"
        return user
    raise Unauthenticated("The bearer token is not one we issue or accept.", invalid_token=True)


def _cross_origin() -> bool:
    """The browser says the call comes from a page on another origin (a CORS request)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    own = {origin_of(request.host_url), origin_of(current_app.config.get("FRONTEND_URL") or "")}
    return origin_of(origin) not in own


def _user_from_session() -> User | None:
    if not current_user.is_authenticated:
        return None
    if _cross_origin():
        # Cross-origin callers use bearer tokens: the session cookie never authenticates them,
        # whatever a browser attaches (CORS also never allows credentials).
        return None
    if request.method not in SAFE_METHODS:
        # The same check the global CSRFProtect does for pages (token from `X-CSRFToken`, and
        # the same-origin Referer check over HTTPS); raises CSRFError → 400 CSRF_FAILED.
        csrf.protect()
    g.api_auth_method = "session"
    return current_user._get_current_object()


def authenticate() -> User | None:
    """The caller, or None when no credential was sent. Raises Unauthenticated for a bad one."""
    credential = _bearer_credential()
    user = _user_from_bearer(credential) if credential is not None else _user_from_session()
    if user is not None:
        if not user.is_active:  # a disabled owner's token or cookie: known, refused (not 401)
            raise DomainError("This account is disabled.", code="ACCOUNT_DISABLED", status=403)
        if g.api_auth_method != "api_token":
            g.api_scopes = api_tokens.scopes_for_role(user)
        # Its own small transaction: a token's last use, or a user created or updated from JWT
        # claims; none when nothing changed (a commit also expires what the view goes on using).
        if g.api_auth_method == "jwt" or db.session.new or db.session.dirty:
            db.session.commit()
    g.api_user = user
    return user


def unauthenticated_response(error: Unauthenticated):
    challenge = f'Bearer realm="{REALM}"'
    if error.invalid_token:
        challenge += ', error="invalid_token"'
    return json_error(401, "UNAUTHENTICATED", error.message, headers={"WWW-Authenticate": challenge})


def insufficient_scope_response(scope: str):
    challenge = f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"'
    return json_error(403, "INSUFFICIENT_SCOPE", f"This token does not have the `{scope}` scope.",
                      headers={"WWW-Authenticate": challenge})


def requires(scope: str | None = None, *, staff: bool = False):
    """The view gets the authenticated caller as its first argument, once they may call it.

    `scope` None means `read` for GET and `write` otherwise (the learner endpoints).
    """
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            try:
                user = authenticate()
            except Unauthenticated as error:
                return unauthenticated_response(error)
            if user is None:
                return unauthenticated_response(Unauthenticated("Sign in, or send `Authorization: Bearer <token>`."))
            if staff and not user.is_staff:
                return json_error(403, "FORBIDDEN", "Only staff accounts may use the back-office API.")
            needed = scope or (api_tokens.READ if request.method in SAFE_METHODS else api_tokens.WRITE)
            if needed not in g.api_scopes:
                return insufficient_scope_response(needed)
            return view(user, *args, **kwargs)
        return wrapper
    return decorator


login_required = requires()


def rate_limit_key() -> str:
    """One bucket per bearer credential, else per signed-in user, else per address.

    Computed from the request alone (no database): Flask-Limiter checks limits before the
    view authenticates. Only a digest of the credential is kept in the limiter's storage.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        return "bearer:" + hashlib.sha256(credential.strip().encode()).hexdigest()[:32]
    if current_user.is_authenticated:
        return f"user:{current_user.id}"  # per account, whichever of its sessions
    return f"address:{get_remote_address()}"


def api_rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT") or "120/minute"


def address_rate_limit() -> str:
    """A ceiling per address whatever the credential, so rotating made-up tokens buys nothing."""
    return current_app.config["API_ADDRESS_RATE_LIMIT"]

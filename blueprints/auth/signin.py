"""Signing in and out on the web, on top of Flask-Login and services/people/sessions.py.

Every sign-in (password, sign-up, OIDC, password reset) goes through `sign_in`: the old
session's contents are dropped (a new CSRF token with them: a token from before sign-in is
refused), a new server-side session row is made, and Flask-Login keeps its token in the
session cookie and, with "remember me", in the remember cookie. `load_user` accepts a token
only while its row is live; `sign_out` revokes the row, so copies of the cookies die too.

The client's address is `request.remote_addr`: ProxyFix has applied TRUSTED_PROXIES to it,
so X-Forwarded-For counts only from proxies we trust. Flask-Login's own "strong" session
protection reads X-Forwarded-For whoever sent it, so its identifier is replaced here.
"""
from __future__ import annotations

from datetime import timedelta
from hashlib import sha512

from flask import Flask, current_app, g, request, session
from flask_login import current_user, login_user, logout_user

from extensions import db, login_manager
from models import User, UserSession, utcnow
from services.people import sessions

# Flask-Login's keys in the session, and ours.
_LOGIN_KEYS = ("_user_id", "_fresh", "_id")
_TOUCH = "session_touch"


def client_identifier() -> str:
    """What Flask-Login's "strong" protection binds a session to: address and user agent."""
    base = f"{request.remote_addr}|{request.headers.get('User-Agent')}"
    return sha512(base.encode("utf-8", errors="replace")).hexdigest()


def sign_in(user: User, *, remember: bool = False) -> UserSession:
    """Sign `user` in with a new session (the caller commits). Whatever the browser's session
    held before (an anonymous CSRF token, a fixed session, an earlier sign-in) does not carry over."""
    config = current_app.config
    # A browser already signed in (OIDC sign-in is offered to signed-in users too) ends that
    # session first: otherwise copies of its cookies would outlive the sign-in that replaced it.
    previous = current_session()
    if previous is not None:
        sessions.end(previous, actor=current_user._get_current_object(), reason="signed in again")
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF caches the request's token here
    row, token = sessions.start(user, remember=remember, ip=request.remote_addr,
                                user_agent=request.headers.get("User-Agent"),
                                max_days=config["SESSION_MAX_DAYS"])
    _attach(user, row, token)
    login_user(user, remember=remember, duration=timedelta(days=config["SESSION_MAX_DAYS"]))
    return row


def current_session() -> UserSession | None:
    """The row of the signed-in request's session, if any."""
    return getattr(current_user, "login_session", None) if current_user.is_authenticated else None


def sign_out(reason: str = "signed out") -> None:
    """End this session everywhere (the caller commits) and clear the browser's cookies."""
    row = current_session()
    if row is not None:
        sessions.end(row, actor=current_user._get_current_object(), reason=reason)
    logout_user()
    session.clear()
    session["_remember"] = "clear"  # Flask-Login deletes the remember cookie on this response


def _attach(user: User, row: UserSession, token: str) -> None:
    user.session_token = token  # User.get_id(): what Flask-Login stores in the cookies
    user.login_session = row


def load_user(token: str) -> User | None:
    """Flask-Login's loader, for the session cookie and the remember cookie alike: one statement."""
    now = utcnow()
    row = sessions.check(token, idle_minutes=current_app.config["SESSION_IDLE_MINUTES"], now=now)
    if row is None:
        # Dead (signed out, expired, revoked): forget it, so later requests do not ask again.
        for key in _LOGIN_KEYS:
            session.pop(key, None)
        if current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
            session["_remember"] = "clear"
        return None
    if "_id" not in session:
        # Restored from the remember cookie: Flask-Login (0.6) sets no "strong" identifier then,
        # so its protection would sign the browser out on the very next request.
        session["_id"] = client_identifier()
    if sessions.needs_touch(row, now):
        g.setdefault(_TOUCH, row.id)
    _attach(row.user, row, token)
    return row.user


def register(app: Flask) -> None:
    login_manager.user_loader(load_user)
    # Flask-Login has no public setting for this; its default trusts any X-Forwarded-For.
    login_manager._session_identifier_generator = client_identifier

    @app.after_request
    def record_session_use(response):
        """Move the session's last-seen time (at most once a minute), after the view's work.

        In its own transaction: the view has committed what it meant to, and anything still
        pending would be rolled back when the request ends anyway. Not in the loader, which
        may run inside a @read_only view or halfway through a view's transaction."""
        session_id = g.pop(_TOUCH, None)
        if session_id is not None and response.status_code < 500:
            db.session.rollback()
            sessions.touch(session_id, ip=request.remote_addr)
            db.session.commit()
        return response

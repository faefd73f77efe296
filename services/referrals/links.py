"""Referral links: one code per learner, the signed first-party cookie a visit through
`/r/<code>` leaves, and who referred a buyer.

The cookie (`learnpay_ref`) holds the code and the moment of the visit, signed with
SECRET_KEY (itsdangerous); it is HttpOnly, SameSite=Lax, Secure when the session cookie is,
and lasts REFERRAL_DAYS (30). The age is checked against the `now` the caller passes, so a
copied or replayed cookie older than that counts for nothing even if a browser kept it. A
later visit through another link replaces it (the last link followed counts).

Self-referral earns nothing: a buyer is never their own referrer, neither as the same account
nor as another account with the same email once normalized (`email_identity`: case folded,
and a "+tag" after the local part dropped, so Ann+x@Example.com is ann@example.com). Such a
referral is not recorded at all: the purchase is an ordinary one.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from extensions import db
from models import ReferralCode, User
from services.insert_if_absent import InsertIfAbsent

COOKIE_NAME = "learnpay_ref"
REFERRAL_DAYS = 30
COOKIE_SALT = "referral-cookie"
CODE_LENGTH = 8
CODE_MAX_LENGTH = 16
# No 0/O or 1/I/L: a code may be read aloud or typed from a screenshot.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"

_INSERT_CODE = InsertIfAbsent(ReferralCode.__table__, conflict=["user_id"], returning="code")


def existing_code(user: User) -> str | None:
    return db.session.scalar(db.select(ReferralCode.code).where(ReferralCode.user_id == user.id))


def code_for(user: User, now: datetime) -> str:
    """The learner's referral code, made on first need (insert-if-absent: two tabs make one)."""
    existing = existing_code(user)
    if existing:
        return existing
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        if db.session.scalar(db.select(ReferralCode.user_id).where(ReferralCode.code == code)) is None:
            break  # 31^8 codes: a clash is rare, and a racing clash fails on the unique code
    made = _INSERT_CODE.run(db.session, {"user_id": user.id, "code": code, "created_at": now})
    return made or existing_code(user)


def referrer_by_code(code: str | None) -> User | None:
    """The active learner whose code this is (codes are lower case; typed ones are folded)."""
    code = (code or "").strip().lower()
    if not code or len(code) > CODE_MAX_LENGTH:
        return None
    user = db.session.scalar(db.select(User).join(ReferralCode, ReferralCode.user_id == User.id)
                             .where(ReferralCode.code == code))
    return user if user is not None and user.is_active else None


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=COOKIE_SALT)


def cookie_value(code: str, now: datetime) -> str:
    """The signed cookie value for a visit through `code` at `now`."""
    return _serializer().dumps({"code": code, "at": int(now.timestamp())})


def code_from_cookie(value: str | None, now: datetime) -> str | None:
    """The code in a referral cookie if it is ours (signature) and not older than REFERRAL_DAYS."""
    if not value or len(value) > 500:
        return None
    try:
        data = _serializer().loads(value)
    except BadData:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("code"), str) or not isinstance(data.get("at"), int):
        return None
    age = now.timestamp() - data["at"]
    if age < -300 or age > timedelta(days=REFERRAL_DAYS).total_seconds():  # a little clock skew allowed
        return None
    return data["code"]


def email_identity(email: str) -> str:
    """The email with case folded and any "+tag" of the local part dropped (self-referral rule)."""
    local, _, domain = email.strip().lower().rpartition("@")
    if not local:
        return email.strip().lower()
    return f"{local.split('+', 1)[0]}@{domain}"


def is_self_referral(buyer: User, referrer: User) -> bool:
    return buyer.id == referrer.id or email_identity(buyer.email) == email_identity(referrer.email)


def referrer_for(buyer: User, cookie: str | None, now: datetime) -> int | None:
    """The id of the learner who referred `buyer`, from their referral cookie: None without a
    valid, unexpired cookie, for an unknown or disabled referrer, and for a self-referral."""
    referrer = referrer_by_code(code_from_cookie(cookie, now))
    if referrer is None or is_self_referral(buyer, referrer):
        return None
    return referrer.id

"""Counting attempts by hand against a configured limit, in Flask-Limiter's storage.

For the forms that answer "slow down" with a message on the page instead of an error page:
coupon checks, sign-in and sign-up. A setting holds one or more limits ("10/minute;30/hour"),
each applied to every key (the address, the learner, the email typed), so a caller cannot
escape a limit by varying one of them. When the storage (Redis) is down the forms stay usable:
the check fails open and says so in the log.
"""
import logging

from flask import current_app
from flask_limiter.util import get_remote_address
from limits import parse_many

from extensions import limiter

log = logging.getLogger(__name__)

Keys = list[tuple[str, str]]


def address_key() -> tuple[str, str]:
    return ("address", get_remote_address())


def hit(scope: str, setting: str, keys: Keys) -> bool:
    """Count one attempt against every key; False when any of them is over the limit."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    try:
        # Every key is hit (no short-circuit), so all counters move together.
        return all([limiter.limiter.hit(item, scope, kind, value)
                    for item in _items(setting) for kind, value in keys])
    except Exception:  # noqa: BLE001 - the limiter's storage is down: fail open, loudly
        log.exception("%s rate limit storage unavailable; allowing the attempt", scope)
        return True


def exhausted(scope: str, setting: str, keys: Keys) -> bool:
    """True when a key has no attempt left; counts nothing (callers hit on failure only)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return False
    try:
        return not all(limiter.limiter.test(item, scope, kind, value)
                       for item in _items(setting) for kind, value in keys)
    except Exception:  # noqa: BLE001
        log.exception("%s rate limit storage unavailable; allowing the attempt", scope)
        return False


def _items(setting: str):
    return parse_many(current_app.config[setting])

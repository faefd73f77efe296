"""Abandoned-checkout reminders: one mail 24 hours after a checkout expired unpaid.

A checkout qualifies when it EXPIRED between 24 hours and 7 days ago (older ones are let go,
so turning the feature on does not mail a backlog), it is the learner's latest checkout for
that course, the learner has not bought the course since (no enrollment giving access) and
still wants reminders (`User.checkout_reminders`: /account, or the mail's one-click
unsubscribe link). The mail's outbox key names the checkout, so however often and on however
many workers the hourly job runs, one checkout gets at most one reminder. The link returns to
the course with the checkout's coupon when that coupon would still apply.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from itsdangerous import BadData, URLSafeSerializer

from extensions import db
from models import OutboxMail, PaymentSession, PaymentSessionStatus, User
from services import audit, notifications
from services.coupons import pricing
from services.learning import enrollments

REMIND_AFTER = timedelta(hours=24)
GIVE_UP_AFTER = timedelta(days=7)
UNSUBSCRIBE_SALT = "checkout-reminders-unsubscribe"


def key_for(payment_session_id: str) -> str:
    return f"checkout-reminder:{payment_session_id}"


def due(*, now: datetime, limit: int = 200, after: tuple[datetime, str] | None = None) -> list[tuple[datetime, str]]:
    """(expires_at, id) of expired checkouts old enough for a reminder and not yet reminded,
    oldest first; `after` is the last pair of the previous page. Candidates `remind` turns
    down stay candidates, so a run pages past them rather than reading the first page again."""
    reminded = sa.exists().where(OutboxMail.dedupe_key == sa.literal("checkout-reminder:") + PaymentSession.id)
    query = (sa.select(PaymentSession.expires_at, PaymentSession.id).join(User, User.id == PaymentSession.user_id)
             .where(PaymentSession.status == PaymentSessionStatus.EXPIRED,
                    PaymentSession.course_id.is_not(None),  # single courses only (not bundles)
                    PaymentSession.expires_at <= now - REMIND_AFTER, PaymentSession.expires_at > now - GIVE_UP_AFTER,
                    User.checkout_reminders.is_(True), User.is_disabled.is_(False), ~reminded))
    if after is not None:
        last = sa.tuple_(sa.literal(after[0], PaymentSession.expires_at.type), sa.literal(after[1], PaymentSession.id.type))
        query = query.where(sa.tuple_(PaymentSession.expires_at, PaymentSession.id) > last)
    return [(row.expires_at, row.id) for row in
            db.session.execute(query.order_by(PaymentSession.expires_at, PaymentSession.id).limit(limit))]


def remind(payment_session_id: str, *, now: datetime) -> bool:
    """Queue the reminder for this checkout if it still qualifies; True when queued."""
    checkout = db.session.get(PaymentSession, payment_session_id)
    if checkout is None or checkout.status != PaymentSessionStatus.EXPIRED or checkout.course_id is None:
        return False
    user, course = checkout.user, checkout.course
    if not user.checkout_reminders or not user.is_active or not course.is_published:
        return False
    newer = db.session.scalar(sa.select(sa.func.count()).select_from(PaymentSession).where(
        PaymentSession.user_id == user.id, PaymentSession.course_id == course.id,
        PaymentSession.created_at > checkout.created_at))
    if newer or enrollments.with_access(user, course) is not None:
        return False  # came back since (a later checkout gets its own reminder), or owns the course
    coupon_code = None
    if checkout.coupon_code and pricing.quote(course, checkout.coupon_code, user, now).is_valid:
        coupon_code = checkout.coupon_code
    return notifications.checkout_reminder(checkout, coupon_code=coupon_code, key=key_for(checkout.id))


def unsubscribe_token(user_id: int, secret_key: str) -> str:
    """A signed id for the mail's unsubscribe link (no expiry: old mails keep working)."""
    return URLSafeSerializer(secret_key, salt=UNSUBSCRIBE_SALT).dumps(user_id)


def user_from_unsubscribe_token(token: str, secret_key: str) -> User | None:
    try:
        user_id = URLSafeSerializer(secret_key, salt=UNSUBSCRIBE_SALT).loads(token)
    except BadData:
        return None
    return db.session.get(User, user_id) if isinstance(user_id, int) else None


def set_wanted(user: User, wanted: bool, *, via: str) -> None:
    """Turn the learner's reminders on or off (audited when it changes)."""
    if user.checkout_reminders != wanted:
        user.checkout_reminders = wanted
        audit.record("user.checkout_reminders_" + ("on" if wanted else "off"), user, actor_label=via)

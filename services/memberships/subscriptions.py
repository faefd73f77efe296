"""A learner's subscriptions: finding them, and what each means now (`display`).

The rows are written from Stripe's objects by services/payments/subscription_sync.py; this
module only reads them. `display` is the one wording of a subscription's state, for the
dashboard, the memberships page, the staff pages and the API alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from models import (LIVE_SUBSCRIPTION_STATUSES, Course, Membership, MembershipInvoice, Subscription,
                    SubscriptionStatus as St, User, membership_grace_days)
from services import money


def by_stripe_id(stripe_subscription_id: str | None) -> Subscription | None:
    if not stripe_subscription_id or len(stripe_subscription_id) > 255:
        return None
    return db.session.scalar(db.select(Subscription).where(
        Subscription.stripe_subscription_id == stripe_subscription_id))


def live_for(user: User, membership: Membership) -> Subscription | None:
    """The learner's TRIALING / ACTIVE / PAST_DUE subscription to `membership`, if any (newest)."""
    return db.session.scalar(
        db.select(Subscription).where(Subscription.user_id == user.id, Subscription.membership_id == membership.id,
                                      Subscription.status.in_(LIVE_SUBSCRIPTION_STATUSES))
        .order_by(Subscription.created_at.desc(), Subscription.id.desc()).limit(1))


def for_user(user: User) -> list[Subscription]:
    """Every subscription of the learner, newest first, with its membership."""
    return list(db.session.scalars(
        db.select(Subscription).options(joinedload(Subscription.membership))
        .where(Subscription.user_id == user.id)
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())))


def current_for(user: User, membership: Membership | None = None) -> Subscription | None:
    """The subscription to show: a live one first (of `membership` when given), else the newest."""
    rows = [s for s in for_user(user) if membership is None or s.membership_id == membership.id]
    live = [s for s in rows if s.status in LIVE_SUBSCRIPTION_STATUSES]
    return (live or rows or [None])[0]


def opening(user: User, course: Course, now: datetime) -> Subscription | None:
    """A subscription of this learner that opens `course` now (the newest), or None."""
    if user is None or not course.is_published:
        return None
    for subscription in for_user(user):
        if subscription.opens(course, now):
            return subscription
    return None


def subscribers_query(membership: Membership, status: str = "") -> sa.Select:
    """The membership's subscriptions with their learners, newest first; `status` filters by a
    SubscriptionStatus name (anything else: no filter)."""
    query = (db.select(Subscription).options(joinedload(Subscription.user))
             .where(Subscription.membership_id == membership.id))
    if status in St.__members__:
        query = query.where(Subscription.status == St(status))
    return query.order_by(Subscription.created_at.desc(), Subscription.id.desc())


def invoices_of(subscription: Subscription) -> list[MembershipInvoice]:
    """The subscription's invoices, newest first."""
    return list(db.session.scalars(
        db.select(MembershipInvoice).where(MembershipInvoice.subscription_id == subscription.id)
        .order_by(MembershipInvoice.created_at.desc(), MembershipInvoice.id.desc())))


@dataclass(frozen=True)
class SubscriptionState:
    """What a subscription means now, in words (see `display`)."""

    code: str  # TRIALING | ACTIVE | CANCELING | PAST_DUE | LOCKED | UNPAID | ENDED | INCOMPLETE | REVOKED
    label: str
    message: str
    gives_access: bool
    currency: str
    renews_on: datetime | None = None
    renewal_amount: int | None = None
    trial_ends_on: datetime | None = None
    ends_on: datetime | None = None
    grace_ends_on: datetime | None = None
    needs_card_update: bool = False


def _day(value: datetime | None) -> str:
    return f"{value:%d %B %Y}".lstrip("0") if value else ""


def display(subscription: Subscription, now: datetime) -> SubscriptionState:
    """The state of `subscription` at `now` for people: a stable code, a short label, one sentence."""
    status, name = subscription.status, subscription.membership.name
    amount, currency = subscription.amount, subscription.currency
    price = money.format_money(amount, currency)
    period_end = subscription.current_period_end
    access = subscription.gives_access(now)
    common = dict(gives_access=access, currency=currency)
    if subscription.access_revoked_at is not None:
        reason = f" ({subscription.access_revoked_reason})" if subscription.access_revoked_reason else ""
        return SubscriptionState("REVOKED", "Access removed", f"Your {name} membership no longer gives access{reason}.",
                                 **common)
    if status in (St.CANCELED, St.INCOMPLETE_EXPIRED):
        ended = subscription.ended_at or subscription.canceled_at
        return SubscriptionState("ENDED", "Ended", f"Your {name} membership ended{' on ' + _day(ended) if ended else ''}. "
                                 "Subscribe again to open its courses; your progress is kept.", ends_on=ended, **common)
    if status == St.INCOMPLETE or status == St.PAUSED:
        return SubscriptionState("INCOMPLETE", "Not active yet",
                                 f"Your {name} membership starts as soon as its first payment goes through.", **common)
    if status == St.UNPAID:
        return SubscriptionState("UNPAID", "Unpaid", f"Your {name} renewal could not be charged. Update your card "
                                 "to open its courses again.", needs_card_update=True, **common)
    if status == St.PAST_DUE:
        grace_end = subscription.grace_ends_at(membership_grace_days())
        if access:
            return SubscriptionState("PAST_DUE", "Payment failed",
                                     f"Your {name} renewal payment failed. Update your card by {_day(grace_end)} to "
                                     "keep your courses open.", grace_ends_on=grace_end, renewal_amount=amount,
                                     needs_card_update=True, **common)
        return SubscriptionState("LOCKED", "Payment failed", f"Your {name} renewal payment failed and its courses are "
                                 "closed until you update your card. Your progress is kept.",
                                 grace_ends_on=grace_end, needs_card_update=True, **common)
    if subscription.cancel_at_period_end or (subscription.cancel_at is not None and status in (St.ACTIVE, St.TRIALING)):
        ends = subscription.cancel_at or period_end
        return SubscriptionState("CANCELING", f"Ends on {_day(ends)}", f"Your {name} membership ends on {_day(ends)}; "
                                 "its courses stay open until then.", ends_on=ends,
                                 trial_ends_on=subscription.trial_end if status == St.TRIALING else None, **common)
    if status == St.TRIALING:
        trial_end = subscription.trial_end or period_end
        return SubscriptionState("TRIALING", "Free trial", f"Your free trial of {name} ends on {_day(trial_end)}; "
                                 f"then {price}/{subscription.interval.stripe}.", trial_ends_on=trial_end,
                                 renews_on=trial_end, renewal_amount=amount, **common)
    return SubscriptionState("ACTIVE", "Active", f"Your {name} membership renews on {_day(period_end)} "
                             f"for {price}.", renews_on=period_end, renewal_amount=amount, **common)

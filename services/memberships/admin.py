"""Membership administration for staff (issue 16): validation, create / update / retire, the list.

One submit shows every mistake: `validate` returns {field: message} for all of them, and
`create` / `update` raise them together (MembershipInvalid). Every change is audited with the
values before and after. Retiring (`is_active` False) only stops new sign-ups: subscriptions
keep their membership, their price and their access until Stripe ends them.
Memberships are never deleted here (subscriptions and payments point at them).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from extensions import db
from models import Course, LIVE_SUBSCRIPTION_STATUSES, Membership, Subscription, User
from services import audit
from services.errors import FieldErrors, NotFound
from services.money import MAXIMUM_CHARGE, SUPPORTED_CURRENCIES, format_money, minimum_charge

MAX_TRIAL_DAYS = 730  # Stripe's limit for subscription_data.trial_period_days
MEMBERSHIP_FIELDS = ["slug", "name", "currency", "monthly_price", "yearly_price", "trial_days",
                     "unlocks_all_courses", "is_active", "course_ids"]


class MembershipInvalid(FieldErrors):
    code = "MEMBERSHIP_INVALID"


@dataclass
class MembershipInput:
    name: str
    currency: str
    monthly_price: int | None = None
    yearly_price: int | None = None
    description: str = ""
    trial_days: int | None = None
    unlocks_all_courses: bool = True
    course_ids: list[int] = field(default_factory=list)
    is_active: bool = True


@dataclass
class MembershipRow:
    membership: Membership
    active_members: int  # subscriptions that are trialing, active or past due

    @property
    def unlocks(self) -> str:
        return unlocks_label(self.membership)


def get(membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None:
        raise NotFound("We could not find that membership.", code="MEMBERSHIP_NOT_FOUND")
    return membership


def overview() -> list[MembershipRow]:
    """Every membership (active first, then by name) with its live subscriptions, one query."""
    live = (db.select(Subscription.membership_id, sa.func.count(Subscription.id).label("n"))
            .where(Subscription.status.in_(LIVE_SUBSCRIPTION_STATUSES))
            .group_by(Subscription.membership_id).subquery())
    rows = db.session.execute(db.select(Membership, sa.func.coalesce(live.c.n, 0))
                              .outerjoin(live, live.c.membership_id == Membership.id)
                              .order_by(Membership.is_active.desc(), Membership.name, Membership.id))
    return [MembershipRow(membership, int(n)) for membership, n in rows]


def unlocks_label(membership: Membership) -> str:
    if membership.unlocks_all_courses:
        return "Every published course"
    count = len(membership.courses)
    return f"{count} chosen course" + ("" if count == 1 else "s")


def slug_for(name: str) -> str:
    """"All-Access Pass!" → "all-access-pass" (ASCII letters and digits, single hyphens)."""
    ascii_name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:120]


def validate(data: MembershipInput, exclude_id: int | None = None) -> dict[str, str]:
    """Every problem with `data` at once, {field: message}; empty when it may be saved."""
    errors: dict[str, str] = {}
    name = " ".join((data.name or "").split())
    if not name:
        errors["name"] = "Give the membership a name."
    elif len(name) > 120:
        errors["name"] = "At most 120 characters."
    elif not slug_for(name):
        errors["name"] = "Use at least one letter or digit in the name."
    else:
        query = db.select(Membership.id).where(Membership.slug == slug_for(name))
        if exclude_id is not None:
            query = query.where(Membership.id != exclude_id)
        if db.session.scalar(query) is not None:
            errors["name"] = "Another membership already has this name."
    if len(data.description or "") > 2000:
        errors["description"] = "At most 2,000 characters."
    currency_ok = data.currency in SUPPORTED_CURRENCIES
    if not currency_ok:
        errors["currency"] = "Choose a supported currency."
    if data.monthly_price is None and data.yearly_price is None:
        errors["monthly_price"] = "Give a monthly or a yearly price (or both)."
    for name_, amount in (("monthly_price", data.monthly_price), ("yearly_price", data.yearly_price)):
        if amount is None:
            continue
        if amount <= 0:
            errors[name_] = "The price must be above 0."
        elif amount > MAXIMUM_CHARGE:
            errors[name_] = "That price is above what Stripe can charge."
        elif currency_ok and amount < minimum_charge(data.currency):
            errors[name_] = (f"Stripe charges at least {format_money(minimum_charge(data.currency), data.currency)} "
                             f"in {data.currency}.")
    if data.trial_days is not None and not 0 <= data.trial_days <= MAX_TRIAL_DAYS:
        errors["trial_days"] = f"Between 0 and {MAX_TRIAL_DAYS} days (empty for no trial)."
    if not data.unlocks_all_courses:
        ids = set(data.course_ids or [])
        if not ids:
            errors["course_ids"] = "Choose at least one course (or unlock every published course)."
        elif db.session.scalar(db.select(sa.func.count()).select_from(Course).where(Course.id.in_(ids))) != len(ids):
            errors["course_ids"] = "Choose courses from the list."
    return errors


def _check(data: MembershipInput, exclude_id: int | None = None) -> None:
    errors = validate(data, exclude_id)
    if errors:
        raise MembershipInvalid(errors)


def _snapshot(membership: Membership) -> dict:
    values = audit.snapshot(membership, [f for f in MEMBERSHIP_FIELDS if f != "course_ids"])
    values["course_ids"] = sorted(course.id for course in membership.courses)
    return values


def _apply(membership: Membership, data: MembershipInput, now: datetime) -> None:
    membership.name = " ".join(data.name.split())
    membership.slug = slug_for(membership.name)
    membership.description = (data.description or "").strip()
    membership.currency = data.currency
    membership.monthly_price, membership.yearly_price = data.monthly_price, data.yearly_price
    membership.trial_days = data.trial_days or 0
    membership.unlocks_all_courses = data.unlocks_all_courses
    membership.courses = ([] if data.unlocks_all_courses else
                          list(db.session.scalars(db.select(Course).where(Course.id.in_(set(data.course_ids))))))
    if membership.is_active and not data.is_active:
        membership.retired_at = now
    elif data.is_active:
        membership.retired_at = None
    membership.is_active = data.is_active


def create(data: MembershipInput, *, actor: User, now: datetime) -> Membership:
    _check(data)
    membership = Membership(is_active=True)
    _apply(membership, data, now)
    db.session.add(membership)
    db.session.flush()
    audit.record("membership.created", membership, actor=actor, after=_snapshot(membership))
    return membership


def update(membership: Membership, data: MembershipInput, *, actor: User, now: datetime) -> Membership:
    """Save the membership. New prices and trials apply to new sign-ups only: a subscription
    keeps the price Stripe charges it (its own `amount`)."""
    _check(data, exclude_id=membership.id)
    before = _snapshot(membership)
    was_active = membership.is_active
    _apply(membership, data, now)
    db.session.flush()
    action = ("membership.retired" if was_active and not membership.is_active else
              "membership.reactivated" if not was_active and membership.is_active else "membership.updated")
    audit.record(action, membership, actor=actor, before=before, after=_snapshot(membership))
    return membership


def live_subscribers(membership: Membership) -> int:
    return db.session.scalar(db.select(sa.func.count()).select_from(Subscription).where(
        Subscription.membership_id == membership.id, Subscription.status.in_(LIVE_SUBSCRIPTION_STATUSES))) or 0


def describe_retirement(membership: Membership) -> str:
    """What retiring does, for the confirmation staff answer first."""
    live = live_subscribers(membership)
    kept = (f"Its {live} current subscriber{'' if live == 1 else 's'} keep{'s' if live == 1 else ''} "
            "their subscription, price and access until it ends." if live else "It has no current subscribers.")
    return f"{membership.name} will take no new sign-ups and leave the memberships page. {kept}"

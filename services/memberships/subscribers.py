"""The staff side of subscriptions (issue 16): a membership's subscribers page and one
subscription's invoices. Reads only. (A subscription's timeline is beside the payment timeline,
in services/payments/lists.py, which has the words for Stripe's events.)
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from extensions import db
from models import Membership, MembershipInvoice, Subscription, SubscriptionStatus
from services.errors import NotFound
from services.memberships import subscriptions

PER_PAGE = 50


@dataclass
class SubscriberRow:
    subscription: Subscription
    last_invoice: MembershipInvoice | None


@dataclass
class SubscriberPage:
    """A page of subscribers, shaped like Flask-SQLAlchemy's Pagination for the staff pager."""
    items: list[SubscriberRow]
    page: int
    pages: int
    total: int
    has_prev: bool
    has_next: bool
    prev_num: int | None
    next_num: int | None


def statuses() -> list[SubscriptionStatus]:
    return list(SubscriptionStatus)


def subscribers(membership: Membership, *, status: str = "", page: int = 1) -> SubscriberPage:
    """A page of the membership's subscriptions, newest first, each with its latest invoice;
    `status` (a SubscriptionStatus name) filters. Three statements whatever the page size."""
    found = db.paginate(subscriptions.subscribers_query(membership, status), page=page, per_page=PER_PAGE,
                        error_out=False)
    latest = _latest_invoices([s.id for s in found.items])
    return SubscriberPage([SubscriberRow(s, latest.get(s.id)) for s in found.items], found.page, found.pages,
                          found.total, found.has_prev, found.has_next, found.prev_num, found.next_num)


def _latest_invoices(subscription_ids: list[int]) -> dict[int, MembershipInvoice]:
    if not subscription_ids:
        return {}
    newest = (db.select(MembershipInvoice.subscription_id, sa.func.max(MembershipInvoice.created_at).label("at"))
              .where(MembershipInvoice.subscription_id.in_(subscription_ids))
              .group_by(MembershipInvoice.subscription_id).subquery())
    rows = db.session.scalars(
        db.select(MembershipInvoice)
        .join(newest, sa.and_(newest.c.subscription_id == MembershipInvoice.subscription_id,
                              newest.c.at == MembershipInvoice.created_at))
        .order_by(MembershipInvoice.id))
    return {invoice.subscription_id: invoice for invoice in rows}


def subscription(subscription_id: int) -> Subscription:
    found = db.session.get(Subscription, subscription_id)
    if found is None:
        raise NotFound("We could not find that subscription.", code="SUBSCRIPTION_NOT_FOUND")
    return found


def invoice_of(sub: Subscription, invoice_id: str) -> MembershipInvoice:
    """The invoice with this id if it belongs to `sub` (staff URLs name both)."""
    found = db.session.get(MembershipInvoice, invoice_id)
    if found is None or found.subscription_id != sub.id:
        raise NotFound("We could not find that invoice.", code="INVOICE_NOT_FOUND")
    return found

"""Shortcuts for the membership pages' tests over tests/factories.py (membership, subscription),
plus membership invoices as the webhooks leave them (each commits, like the factories)."""
from datetime import datetime, timedelta, timezone
import secrets

from models import BillingInterval, Membership, MembershipInvoice, Subscription, User
from tests import factories


def membership(name: str, *, monthly: int | None = 2900, yearly: int | None = 29000, currency: str = "USD",
               trial_days: int = 0, courses=None, active: bool = True, **fields) -> Membership:
    """A membership named `name`, its slug made from the name ("All-Access" → all-access)."""
    slug = fields.pop("slug", name.lower().replace(" ", "-").replace("'", ""))
    return factories.membership(slug=slug, name=name, monthly=monthly, yearly=yearly, currency=currency,
                                courses=courses, trial_days=trial_days, is_active=active,
                                description=fields.pop("description", "Every course, one price."), **fields)


def subscription(user: User, plan: Membership, status: str = "ACTIVE", *, interval: str = "MONTH",
                 started_at: datetime | None = None, **fields) -> Subscription:
    """factories.subscription, started at `started_at` (3 days ago by default) with a period from then."""
    start = started_at or datetime.now(timezone.utc) - timedelta(days=3)
    days = 30 if BillingInterval(interval) == BillingInterval.MONTH else 365
    values = dict(started_at=start, created_at=start, current_period_start=start,
                  current_period_end=start + timedelta(days=days), stripe_event_at=start)
    values.update(fields)
    return factories.subscription(user, plan, status, interval=interval, **values)


def invoice(sub: Subscription, status: str = "paid", *, amount: int | None = None, paid_at: datetime | None = None,
            reason: str = "subscription_create", **fields) -> MembershipInvoice:
    amount = sub.amount if amount is None else amount
    at = paid_at or sub.started_at or datetime.now(timezone.utc)
    values = dict(id=f"in_test_{secrets.token_hex(8)}", status=status, billing_reason=reason, currency=sub.currency,
                  amount_due=amount, amount_paid=amount if status == "paid" else 0,
                  payment_intent_id=f"pi_test_{secrets.token_hex(8)}", charge_id=f"ch_test_{secrets.token_hex(8)}",
                  attempt_count=1, paid_at=at if status == "paid" else None, created_at=at,
                  period_start=sub.current_period_start, period_end=sub.current_period_end)
    values.update(fields)
    return factories.save(MembershipInvoice(subscription_id=sub.id, **values))

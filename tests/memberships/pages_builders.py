"""Builders for the membership pages' tests: memberships, subscriptions and invoices as the
webhooks leave them (each commits, like tests/factories.py)."""
from datetime import datetime, timedelta, timezone
from itertools import count
import secrets

from models import BillingInterval, Membership, MembershipInvoice, Subscription, SubscriptionStatus, User
from tests.factories import save

_sequence = count(1)


def membership(name: str | None = None, *, monthly: int | None = 2900, yearly: int | None = 29000,
               currency: str = "USD", trial_days: int = 0, courses=None, active: bool = True, **fields) -> Membership:
    number = next(_sequence)
    name = name or f"Membership {number}"
    obj = Membership(slug=fields.pop("slug", name.lower().replace(" ", "-").replace("'", "")), name=name,
                     description=fields.pop("description", "Every course, one price."), currency=currency,
                     monthly_price=monthly, yearly_price=yearly, trial_days=trial_days,
                     unlocks_all_courses=courses is None, is_active=active, **fields)
    obj.courses = list(courses or [])
    return save(obj)


def subscription(user: User, plan: Membership, status: str = "ACTIVE", *, interval: str = "MONTH",
                 started_at: datetime | None = None, **fields) -> Subscription:
    start = started_at or datetime.now(timezone.utc) - timedelta(days=3)
    kind = BillingInterval(interval)
    values = dict(stripe_subscription_id=f"sub_test_{secrets.token_hex(8)}", stripe_customer_id="cus_test",
                  amount=plan.price_for(kind), currency=plan.currency, started_at=start, created_at=start,
                  current_period_start=start,
                  current_period_end=start + (timedelta(days=30) if kind == BillingInterval.MONTH else timedelta(days=365)))
    values.update(fields)
    return save(Subscription(user_id=user.id, membership_id=plan.id, interval=kind,
                             status=SubscriptionStatus(status), **values))


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
    return save(MembershipInvoice(subscription_id=sub.id, **values))

"""Stripe Billing objects for membership tests, in the shapes of the pinned API version (periods on
the subscription item, the invoice's subscription under `parent.subscription_details`), built from
Stripe's own examples (tests/data/stripe_billing_fixtures.json) with the fields our code reads filled in.
Events and signatures come from tests/webhooks/builders.py."""
from __future__ import annotations

import copy
import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from models import Membership, User
from tests.webhooks.builders import _base as _payments_base, event, new_id  # noqa: F401  (event: re-exported)

BILLING_FIXTURES = Path(__file__).resolve().parents[1] / "data" / "stripe_billing_fixtures.json"


@lru_cache(maxsize=1)
def _billing() -> dict:
    return json.loads(BILLING_FIXTURES.read_text())["resources"]


def _base(kind: str) -> dict:
    return copy.deepcopy(_billing()[kind]) if kind in _billing() else _payments_base(kind)

DAY = 86400


def ts(value: datetime | int) -> int:
    return value if isinstance(value, int) else int(value.timestamp())


def metadata(user: User, membership: Membership, payment_session_id: str | None = None) -> dict:
    """What our checkout puts on the subscription (subscription_data.metadata)."""
    data = {"user_id": str(user.id), "membership_id": str(membership.id), "interval": "month"}
    if payment_session_id:
        data["payment_session_id"] = payment_session_id
    return data


def subscription(sub_id: str, user: User, membership: Membership, *, status: str, period_start: int,
                 period_end: int, interval: str = "month", amount: int | None = None, payment_session_id=None,
                 customer: str = "cus_test_member", **overrides) -> dict:
    obj = _base("subscription")
    item = obj["items"]["data"][0]
    item.update({"id": f"si_{sub_id[4:]}", "subscription": sub_id, "current_period_start": period_start,
                 "current_period_end": period_end, "quantity": 1})
    item["price"].update({"currency": membership.currency.lower(),
                          "unit_amount": amount if amount is not None else membership.monthly_price,
                          "recurring": {"interval": interval, "interval_count": 1, "meter": None,
                                        "usage_type": "licensed", "trial_period_days": None}})
    obj.update({"id": sub_id, "object": "subscription", "status": status, "customer": customer,
                "currency": membership.currency.lower(), "cancel_at_period_end": False, "cancel_at": None,
                "canceled_at": None, "ended_at": None, "trial_start": None, "trial_end": None,
                "start_date": period_start, "created": period_start, "latest_invoice": None,
                "metadata": metadata(user, membership, payment_session_id)})
    obj.update(overrides)
    return obj


def invoice(invoice_id: str, sub_id: str, user: User, membership: Membership, *, status: str, amount: int,
            period_start: int, period_end: int, billing_reason: str = "subscription_cycle", attempt_count: int = 1,
            paid_at: int | None = None, payment_session_id=None) -> dict:
    obj = _base("invoice")
    obj.update({"id": invoice_id, "object": "invoice", "status": status, "billing_reason": billing_reason,
                "customer": "cus_test_member", "currency": membership.currency.lower(), "amount_due": amount,
                "amount_paid": amount if status == "paid" else 0, "amount_remaining": 0 if status == "paid" else amount,
                "attempt_count": attempt_count, "subscription": None, "total_discount_amounts": [],
                "hosted_invoice_url": f"https://invoice.stripe.com/i/{invoice_id}",
                "period_start": period_start, "period_end": period_start,
                "status_transitions": {"finalized_at": period_start, "paid_at": paid_at, "marked_uncollectible_at": None,
                                       "voided_at": None},
                "parent": {"type": "subscription_details", "quote_details": None,
                           "subscription_details": {"subscription": sub_id,
                                                    "metadata": metadata(user, membership, payment_session_id)}}})
    obj["lines"]["data"][0].update({"amount": amount, "period": {"start": period_start, "end": period_end}})
    return obj


def invoice_payment(invoice_id: str, payment_intent: str, amount: int, currency: str = "usd") -> dict:
    return {"id": new_id("inpay"), "object": "invoice_payment", "invoice": invoice_id, "amount_paid": amount,
            "amount_requested": amount, "currency": currency, "is_default": True, "livemode": False,
            "payment": {"type": "payment_intent", "payment_intent": payment_intent}, "status": "paid",
            "status_transitions": {"canceled_at": None, "paid_at": None}}


def charge(charge_id: str, payment_intent: str, amount: int, *, amount_refunded: int = 0, currency: str = "usd") -> dict:
    obj = _base("charge")
    obj.pop("refunds", None)
    obj.update({"id": charge_id, "object": "charge", "amount": amount, "amount_captured": amount,
                "amount_refunded": amount_refunded, "refunded": amount_refunded >= amount, "captured": True,
                "paid": True, "status": "succeeded", "currency": currency, "payment_intent": payment_intent,
                "metadata": {}})
    return obj


def dispute(charge_id: str, payment_intent: str, amount: int, *, status: str, dispute_id: str) -> dict:
    obj = _base("dispute")
    obj.update({"id": dispute_id, "object": "dispute", "amount": amount, "charge": charge_id, "currency": "usd",
                "payment_intent": payment_intent, "reason": "fraudulent", "status": status})
    return obj

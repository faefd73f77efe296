"""Builders for webhook tests: Stripe objects and events signed as Stripe signs (payment session rows come
from tests/factories.payment_session).

Objects start from Stripe's own examples (tests/data/stripe_fixtures.json, from ../shared/stripe/fixtures3.json: the shapes the
sandbox also follows) with the fields our code reads filled in for one payment session.
"""
from __future__ import annotations

import copy
import json
import secrets
import time
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import stripe

import sqlalchemy as sa

from extensions import db
from models import PaymentSession
from tests.helpers import TEST_WEBHOOK_SECRET

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "data" / "stripe_fixtures.json"  # Stripe's own examples
API_VERSION = "2026-10-28.endive"


@lru_cache(maxsize=1)
def _resources() -> dict:
    return json.loads(FIXTURES.read_text())["resources"]


def _base(kind: str) -> dict:
    return copy.deepcopy(_resources().get(kind, {}))


def new_id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


# --- database rows --------------------------------------------------------------------------

def legacy_payment_session(user_id: int, course_id: int, *, final_amount: int = 9900, currency: str = "USD",
                           status: str = "COMPLETED", at: datetime, **columns) -> str:
    """A payment session row written with Core, for migration tests at an older revision (the
    model may have columns that schema does not have yet)."""
    ps_id = new_id("ps")[:40]
    values = {"id": ps_id, "course_id": course_id, "user_id": user_id, "status": status, "amount": final_amount,
              "currency": currency, "discount_amount": 0, "final_amount": final_amount, "amount_refunded": 0,
              "needs_review": False, "metadata": {}, "created_at": at, "updated_at": at, "completed_at": at, **columns}
    table = sa.table("payment_sessions", *(sa.column(name, sa.JSON if name == "metadata" else None)
                                           for name in values))
    db.session.execute(table.insert().values({k: v.replace(tzinfo=None) if isinstance(v, datetime) else v
                                              for k, v in values.items()}))
    db.session.commit()
    return ps_id


# --- Stripe objects -------------------------------------------------------------------------

def checkout_session(ps: PaymentSession, *, status: str = "complete", payment_status: str = "paid",
                     payment_intent: str | None = "auto", amount_total: int | None = None, **overrides) -> dict:
    obj = _base("checkout.session")
    created = int(ps.created_at.timestamp())
    obj.update({
        "id": ps.stripe_session_id, "object": "checkout.session", "mode": "payment", "livemode": False,
        "client_reference_id": ps.id, "amount_subtotal": ps.final_amount,
        "amount_total": ps.final_amount if amount_total is None else amount_total,
        "currency": ps.currency.lower(), "status": status, "payment_status": payment_status,
        "created": created, "expires_at": int(ps.expires_at.timestamp()),
        "metadata": {"payment_session_id": ps.id, "course_id": str(ps.course_id), "user_id": str(ps.user_id)},
        "payment_intent": intent_id(ps) if payment_intent == "auto" else payment_intent,
        "url": None if status != "open" else f"https://checkout.stripe.com/c/pay/{ps.stripe_session_id}",
        "success_url": "http://127.0.0.1:5000/checkout/success?session_id={CHECKOUT_SESSION_ID}",
    })
    obj.update(overrides)
    return obj


def intent_id(ps: PaymentSession) -> str:
    """A stable PaymentIntent id per payment session (as Stripe keeps one per session)."""
    return "pi_test_" + ps.id.removeprefix("ps_").replace("-", "x")[:24]


def charge_id(ps: PaymentSession) -> str:
    return "ch_test_" + ps.id.removeprefix("ps_").replace("-", "x")[:24]


def payment_intent(ps: PaymentSession, *, status: str = "succeeded", error: dict | None = None, **overrides) -> dict:
    obj = _base("payment_intent")
    obj.update({"id": intent_id(ps), "object": "payment_intent", "amount": ps.final_amount,
                "amount_received": ps.final_amount if status == "succeeded" else 0,
                "currency": ps.currency.lower(), "status": status, "latest_charge": charge_id(ps),
                "metadata": {"payment_session_id": ps.id}, "last_payment_error": error,
                "canceled_at": None, "cancellation_reason": None})
    obj.update(overrides)
    return obj


def charge(ps: PaymentSession, *, amount_refunded: int = 0, **overrides) -> dict:
    obj = _base("charge")
    obj.pop("refunds", None)  # not included since API 2022-11-15
    obj.update({"id": charge_id(ps), "object": "charge", "amount": ps.final_amount, "amount_captured": ps.final_amount,
                "amount_refunded": amount_refunded, "refunded": amount_refunded == ps.final_amount,
                "captured": True, "paid": True, "status": "succeeded", "currency": ps.currency.lower(),
                "payment_intent": intent_id(ps), "metadata": {"payment_session_id": ps.id}})
    obj.update(overrides)
    return obj


def refund(ps: PaymentSession, *, amount: int | None = None, status: str = "succeeded", refund_id: str | None = None,
           **overrides) -> dict:
    obj = _base("refund")
    obj.update({"id": refund_id or new_id("re"), "object": "refund",
                "amount": ps.final_amount if amount is None else amount, "charge": charge_id(ps),
                "currency": ps.currency.lower(), "payment_intent": intent_id(ps), "status": status, "metadata": {}})
    if status == "failed":
        obj["failure_reason"] = "expired_or_canceled_card"
    obj.update(overrides)
    return obj


def dispute(ps: PaymentSession, *, status: str = "needs_response", dispute_id: str | None = None, **overrides) -> dict:
    obj = _base("dispute")
    obj.update({"id": dispute_id or new_id("dp"), "object": "dispute", "amount": ps.final_amount,
                "charge": charge_id(ps), "currency": ps.currency.lower(), "payment_intent": intent_id(ps),
                "reason": "fraudulent", "status": status})
    obj.update(overrides)
    return obj


# --- events and signatures ------------------------------------------------------------------

def event(event_type: str, obj: dict, *, event_id: str | None = None, created: int | None = None) -> dict:
    base = _base("event")
    base.update({"id": event_id or new_id("evt"), "object": "event", "api_version": API_VERSION,
                 "created": created or int(time.time()), "livemode": False, "pending_webhooks": 1,
                 "request": {"id": None, "idempotency_key": None}, "type": event_type, "data": {"object": obj}})
    return base


def body_of(evt: dict) -> bytes:
    return json.dumps(evt, indent=2).encode()  # Stripe sends pretty-printed JSON


def signature(body: bytes, secret: str = TEST_WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=timestamp)


def post_event(client, evt: dict | bytes, *, secret: str = TEST_WEBHOOK_SECRET, timestamp: int | None = None,
               path: str = "/webhooks/stripe", header: str | None = None):
    """POST an event as Stripe does: raw JSON body, Stripe-Signature over exactly those bytes."""
    body = evt if isinstance(evt, bytes) else body_of(evt)
    headers = {"Stripe-Signature": header if header is not None else signature(body, secret, timestamp)}
    return client.post(path, data=body, headers=headers, content_type="application/json; charset=utf-8")


# --- the live sandbox -----------------------------------------------------------------------

def open_on_sandbox(ps: PaymentSession) -> dict:
    """Create ps's Checkout Session on the sandbox, as checkout does (needs sandbox_config)."""
    from services.payments import stripe_gateway

    params = {
        "mode": "payment", "client_reference_id": ps.id, "customer_email": ps.user.email,
        "line_items": [{"quantity": 1, "price_data": {"currency": ps.currency.lower(), "unit_amount": ps.final_amount,
                                                      "product_data": {"name": ps.course.title}}}],
        "success_url": "http://127.0.0.1:9/checkout/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:9/checkout/cancel",
        "expires_at": int(time.time()) + 31 * 60,
        "metadata": {"payment_session_id": ps.id, "user_id": str(ps.user_id), "course_id": str(ps.course_id)},
        "payment_intent_data": {"metadata": {"payment_session_id": ps.id}},
    }
    session = stripe_gateway.create_checkout_session(params, f"test-{ps.id}")
    ps.stripe_session_id = session["id"]
    ps.checkout_url = session["url"]
    db.session.commit()
    return session


def sandbox_control(sandbox, path: str, payload: dict | None = None, expect: int = 200) -> dict:
    import requests

    response = requests.post(f"{sandbox.base_url}/_sandbox/{path}", json=payload or {}, timeout=10)
    assert response.status_code == expect, response.text
    return response.json()

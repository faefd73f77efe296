"""Helpers for the sandbox suite: a StripeClient on the live sandbox and a paid session."""
import pytest
import requests
import stripe

from tests.fixtures_sandbox import SANDBOX_API_KEY

API_VERSION = "2026-10-28.endive"


@pytest.fixture
def stripe_client(sandbox) -> stripe.StripeClient:
    """The real library over real HTTP, as the app builds it (no retries: failures show)."""
    return stripe.StripeClient(SANDBOX_API_KEY, base_addresses={"api": sandbox.base_url},
                               stripe_version=API_VERSION, max_network_retries=0,
                               http_client=stripe.RequestsClient(timeout=5))


def session_params(**overrides) -> dict:
    params = {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 2966,
                                                      "product_data": {"name": "Python 101"}}}],
        "success_url": "http://127.0.0.1:5000/checkout/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:5000/courses/python-101",
        "client_reference_id": "ps_42",
        "customer_email": "lena@example.com",
        "metadata": {"payment_session_id": "42", "course": "python-101"},
        "payment_intent_data": {"metadata": {"payment_session_id": "42"}},
    }
    params.update(overrides)
    return params


def control(sandbox, path: str, json: dict | None = None, expect: int = 200) -> dict:
    response = requests.post(f"{sandbox.base_url}/_sandbox/{path}", json=json or {}, timeout=5)
    assert response.status_code == expect, response.text
    return response.json()


@pytest.fixture
def paid_session(sandbox, stripe_client):
    """A completed, paid Checkout Session (paid with 4242 through the control endpoint)."""
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    control(sandbox, f"checkout/sessions/{session.id}/pay", {"card": "4242424242424242"})
    return stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})

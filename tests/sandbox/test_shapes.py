"""The sandbox's objects have Stripe's shapes (keys ⊆ Stripe's published examples) and
carry every field the app reads, with the right types."""
import json
from pathlib import Path

import pytest
import requests

from tests.sandbox.conftest import control, session_params

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "data" / "stripe_fixtures.json"  # Stripe's own examples
# Where Stripe's example holds a sample rather than the full shape (a one-key placeholder).
SAMPLE_ONLY = {"last_payment_error", "metadata", "payment_method_details"}


@pytest.fixture(scope="module")
def stripe_examples() -> dict:
    return json.loads(FIXTURES.read_text())["resources"]


def extra_keys(ours: dict, theirs: dict, path: str = "") -> list[str]:
    """Keys we return that Stripe's example does not have, recursively through objects."""
    extra = []
    for key, value in ours.items():
        if key not in theirs:
            extra.append(path + key)
        elif isinstance(value, dict) and isinstance(theirs[key], dict) and theirs[key] and key not in SAMPLE_ONLY:
            extra += extra_keys(value, theirs[key], f"{path}{key}.")
    return extra


def get(sandbox, path: str) -> dict:
    response = requests.get(f"{sandbox.base_url}/v1/{path}", timeout=5,
                            headers={"Authorization": "Bearer sk_test_shapes"})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def objects(sandbox, stripe_client) -> dict:
    """One of each object in its most filled-in state (a refunded, disputed, paid session)."""
    open_session = stripe_client.v1.checkout.sessions.create(params=session_params())
    declined = stripe_client.v1.checkout.sessions.create(params=session_params())
    control(sandbox, f"checkout/sessions/{declined.id}/pay", {"card": "4000000000009995"}, expect=402)
    customer = stripe_client.v1.customers.create(params={"email": "lena@example.com", "name": "Lena"})
    params = session_params(customer=customer.id)
    del params["customer_email"]
    paid = stripe_client.v1.checkout.sessions.create(params=params)
    control(sandbox, f"checkout/sessions/{paid.id}/pay", {"card": "4242424242424242"})
    session = get(sandbox, f"checkout/sessions/{paid.id}")
    refund = control(sandbox, f"payment_intents/{session['payment_intent']}/refund", {"amount": 100})
    dispute = control(sandbox, f"payment_intents/{session['payment_intent']}/dispute", {})
    failed_intent = get(sandbox, f"payment_intents/{get(sandbox, f'checkout/sessions/{declined.id}')['payment_intent']}")
    return {
        "customer": get(sandbox, f"customers/{customer.id}"),
        "open_session": get(sandbox, f"checkout/sessions/{open_session.id}"),
        "session": session,
        "payment_intent": get(sandbox, f"payment_intents/{session['payment_intent']}"),
        "failed_intent": failed_intent,
        "charge": get(sandbox, f"charges/{refund['charge']}"),
        "refund": get(sandbox, f"refunds/{refund['id']}"),
        "dispute": get(sandbox, f"disputes/{dispute['id']}"),
        "events": get(sandbox, "events?limit=100")["data"],
    }


@pytest.mark.parametrize("name, resource", [
    ("open_session", "checkout.session"), ("session", "checkout.session"),
    ("payment_intent", "payment_intent"), ("failed_intent", "payment_intent"),
    ("charge", "charge"), ("refund", "refund"), ("dispute", "dispute"), ("customer", "customer"),
])
def test_keys_are_a_subset_of_stripes(objects, stripe_examples, name, resource):
    assert objects[name]["object"] == stripe_examples[resource]["object"]
    assert extra_keys(objects[name], stripe_examples[resource]) == []


def test_events_and_their_payloads_have_stripes_shape(objects, stripe_examples):
    types = {e["type"] for e in objects["events"]}
    assert {"checkout.session.completed", "payment_intent.payment_failed", "charge.refunded",
            "refund.created", "charge.dispute.created"} <= types
    for event in objects["events"]:
        assert extra_keys({k: v for k, v in event.items() if k != "data"}, stripe_examples["event"]) == []
        assert set(event["data"]) == {"object"}  # a snapshot event, no previous_attributes
        inner = event["data"]["object"]
        assert extra_keys(inner, stripe_examples[inner["object"]]) == [], event["type"]


ID_PREFIX = {"customer": "cus_", "session": "cs_test_", "payment_intent": "pi_", "charge": "ch_", "refund": "re_", "dispute": "dp_"}


def check_types(obj: dict, spec: dict):
    for key, kind in spec.items():
        assert key in obj, key
        assert isinstance(obj[key], kind), f"{key}={obj[key]!r} is not {kind}"


def test_fields_the_app_reads_are_present_with_the_right_types(objects):
    for name, prefix in ID_PREFIX.items():
        assert objects[name]["id"].startswith(prefix)
    assert objects["events"][0]["id"].startswith("evt_")
    nullable_str = (str, type(None))
    check_types(objects["session"], {
        "id": str, "object": str, "amount_total": int, "amount_subtotal": int, "currency": str,
        "client_reference_id": nullable_str, "customer_email": nullable_str, "customer_details": dict,
        "metadata": dict, "mode": str, "payment_intent": str, "payment_status": str, "status": str,
        "success_url": nullable_str, "cancel_url": nullable_str, "url": type(None), "expires_at": int,
        "created": int, "livemode": bool})
    assert objects["session"]["customer_details"]["email"] == "lena@example.com"
    assert objects["session"]["customer"] == objects["customer"]["id"]
    assert objects["payment_intent"]["customer"] == objects["charge"]["customer"] == objects["customer"]["id"]
    check_types(objects["customer"], {"id": str, "email": str, "name": str, "metadata": dict, "created": int})
    assert objects["open_session"]["url"].startswith("http")
    check_types(objects["payment_intent"], {
        "id": str, "amount": int, "amount_received": int, "currency": str, "status": str,
        "latest_charge": str, "last_payment_error": type(None), "metadata": dict})
    error = objects["failed_intent"]["last_payment_error"]
    check_types(error, {"message": str, "code": str, "decline_code": str})
    assert error["decline_code"] == "insufficient_funds"
    check_types(objects["charge"], {"id": str, "amount": int, "amount_refunded": int, "refunded": bool,
                                    "payment_intent": str, "currency": str, "disputed": bool})
    assert objects["charge"]["disputed"] is True and objects["charge"]["amount_refunded"] == 100
    check_types(objects["refund"], {"id": str, "amount": int, "charge": str, "payment_intent": str,
                                    "status": str, "reason": type(None), "currency": str, "metadata": dict})
    check_types(objects["dispute"], {"id": str, "amount": int, "charge": str, "payment_intent": str,
                                     "status": str, "reason": str, "currency": str})
    for event in objects["events"]:
        check_types(event, {"id": str, "object": str, "api_version": str, "data": dict, "type": str,
                            "created": int, "livemode": bool, "pending_webhooks": int, "request": dict})

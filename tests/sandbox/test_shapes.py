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


# --- Stripe Billing ----------------------------------------------------------------------
@pytest.fixture
def billing_objects(sandbox, stripe_client) -> dict:
    """A discounted subscription that renewed once, then asked to cancel at period end, and a
    portal session."""
    from tests.sandbox.test_billing import subscription_params

    clock = stripe_client.v1.test_helpers.test_clocks.create(params={"frozen_time": sandbox.now()})
    stripe_client.v1.coupons.create(params={"id": "HALF", "percent_off": 50, "duration": "repeating",
                                            "duration_in_months": 3})
    session = stripe_client.v1.checkout.sessions.create(params=subscription_params(discounts=[{"coupon": "HALF"}]))
    control(sandbox, f"checkout/sessions/{session.id}/pay", {"card": "4242424242424242"})
    session = get(sandbox, f"checkout/sessions/{session.id}")
    stripe_client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": sandbox.now() + 31 * 86400})
    stripe_client.v1.subscriptions.update(session["subscription"], params={"cancel_at_period_end": True})
    portal = stripe_client.v1.billing_portal.sessions.create(params={
        "customer": session["customer"], "return_url": "http://127.0.0.1:5000/dashboard"})
    subscription = get(sandbox, f"subscriptions/{session['subscription']}")
    invoice = get(sandbox, f"invoices/{subscription['latest_invoice']}")
    payment = get(sandbox, f"invoice_payments?invoice={invoice['id']}")["data"][0]
    return {
        "session": session, "subscription": subscription, "subscription_item": subscription["items"]["data"][0],
        "invoice": invoice, "line_item": invoice["lines"]["data"][0], "invoice_payment": payment,
        "payment_method": get(sandbox, f"payment_methods/{subscription['default_payment_method']}"),
        "billing_portal.session": portal.to_dict(),
        "price": subscription["items"]["data"][0]["price"],
        "test_helpers.test_clock": get(sandbox, f"test_helpers/test_clocks/{clock.id}"),
        "events": get(sandbox, "events?limit=100")["data"],
    }


@pytest.mark.parametrize("name", ["subscription", "subscription_item", "invoice", "line_item", "invoice_payment",
                                  "payment_method", "billing_portal.session", "price", "test_helpers.test_clock"])
def test_billing_keys_are_a_subset_of_stripes(billing_objects, stripe_examples, name):
    ours = billing_objects[name]
    assert ours["object"] == stripe_examples[name]["object"]
    # Stripe's invoice_payment example shows only `payment.type`; the API has payment.payment_intent too.
    assert [key for key in extra_keys(ours, stripe_examples[name]) if key != "payment.payment_intent"] == []


def test_billing_events_have_stripes_shape_and_previous_attributes(billing_objects, stripe_examples):
    types = [e["type"] for e in billing_objects["events"]]
    for expected in ("customer.subscription.created", "customer.subscription.updated", "invoice.paid",
                     "invoice_payment.paid", "payment_method.attached", "checkout.session.completed",
                     "test_helpers.test_clock.ready", "invoice.finalized"):
        assert expected in types
    for event in billing_objects["events"]:
        inner = event["data"]["object"]
        assert set(event["data"]) <= {"object", "previous_attributes"}
        if event["type"] == "customer.subscription.updated":
            assert event["data"]["previous_attributes"], "an update says what changed"
        extra = [key for key in extra_keys(inner, stripe_examples[inner["object"]]) if key != "payment.payment_intent"]
        assert extra == [], event["type"]


def test_billing_fields_the_app_reads(billing_objects):
    sub, invoice = billing_objects["subscription"], billing_objects["invoice"]
    nullable_int = (int, type(None))
    check_types(sub, {"id": str, "status": str, "customer": str, "cancel_at_period_end": bool,
                      "cancel_at": int, "canceled_at": int, "ended_at": type(None), "trial_end": nullable_int,
                      "latest_invoice": str, "metadata": dict, "default_payment_method": str, "discounts": list,
                      "created": int, "start_date": int})
    check_types(billing_objects["subscription_item"], {"current_period_start": int, "current_period_end": int,
                                                       "price": dict, "quantity": int})
    assert sub["id"].startswith("sub_") and sub["discounts"][0].startswith("di_")
    check_types(invoice, {"id": str, "status": str, "billing_reason": str, "amount_due": int, "amount_paid": int,
                          "amount_remaining": int, "currency": str, "customer": str, "period_start": int,
                          "period_end": int, "hosted_invoice_url": str, "parent": dict, "lines": dict,
                          "status_transitions": dict, "attempt_count": int})
    assert invoice["parent"]["subscription_details"]["subscription"] == sub["id"]
    assert (invoice["billing_reason"], invoice["amount_paid"]) == ("subscription_cycle", 1450)
    payment = billing_objects["invoice_payment"]
    assert payment["payment"]["payment_intent"].startswith("pi_") and payment["invoice"] == invoice["id"]
    portal = billing_objects["billing_portal.session"]
    assert portal["id"].startswith("bps_") and portal["url"].startswith("http")

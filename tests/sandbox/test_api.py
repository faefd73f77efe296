"""The sandbox's /v1 API through the real `stripe` library over HTTP."""
import time

import pytest
import requests
import stripe

from tests.sandbox.conftest import control, session_params


def test_create_then_retrieve_with_expanded_payment_intent(stripe_client):
    created = stripe_client.v1.checkout.sessions.create(params=session_params())

    assert created.id.startswith("cs_test_")
    assert created.status == "open" and created.payment_status == "unpaid"
    assert created.amount_total == 2966 and created.currency == "usd"
    assert created.url.endswith(f"/c/pay/{created.id}")
    assert created.payment_intent is None  # Checkout creates it when the customer pays
    assert created.metadata.to_dict() == {"payment_session_id": "42", "course": "python-101"}
    assert 1800 <= created.expires_at - created.created <= 86400

    fetched = stripe_client.v1.checkout.sessions.retrieve(created.id, params={"expand": ["payment_intent"]})
    assert fetched.id == created.id and fetched.client_reference_id == "ps_42"


def test_paid_session_expands_payment_intent_and_its_charge(paid_session, stripe_client):
    intent = paid_session.payment_intent
    assert isinstance(intent, stripe.PaymentIntent)
    assert intent.id.startswith("pi_") and intent.status == "succeeded" and intent.amount_received == 2966
    assert intent.metadata["payment_session_id"] == "42"

    deeper = stripe_client.v1.checkout.sessions.retrieve(
        paid_session.id, params={"expand": ["payment_intent", "payment_intent.latest_charge", "line_items"]})
    assert deeper.payment_intent.latest_charge.id.startswith("ch_")
    assert deeper.line_items.data[0].description == "Python 101"
    assert stripe_client.v1.payment_intents.retrieve(intent.id).latest_charge == deeper.payment_intent.latest_charge.id


def test_expire_only_while_open(stripe_client, paid_session):
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    expired = stripe_client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired" and expired.url is None

    for not_open in (session.id, paid_session.id):
        with pytest.raises(stripe.InvalidRequestError) as info:
            stripe_client.v1.checkout.sessions.expire(not_open)
        assert info.value.http_status == 400


def test_full_partial_and_excessive_refunds(paid_session, stripe_client):
    intent_id = paid_session.payment_intent.id
    partial = stripe_client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 1000,
                                                      "reason": "requested_by_customer"})
    assert partial.id.startswith("re_") and partial.amount == 1000 and partial.status == "succeeded"
    assert partial.payment_intent == intent_id

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        stripe_client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 1967})
    assert too_much.value.code == "amount_too_large"

    rest = stripe_client.v1.refunds.create(params={"payment_intent": intent_id})
    assert rest.amount == 1966
    charge = stripe_client.v1.charges.retrieve(rest.charge)
    assert charge.amount_refunded == 2966 and charge.refunded is True
    assert stripe_client.v1.refunds.retrieve(rest.id).amount == 1966

    with pytest.raises(stripe.InvalidRequestError) as again:
        stripe_client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 1})
    assert again.value.code == "charge_already_refunded"


def test_refund_of_unpaid_intent_is_refused(sandbox, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    control(sandbox, f"checkout/sessions/{session.id}/pay", {"card": "4000000000000002"}, expect=402)
    intent_id = stripe_client.v1.checkout.sessions.retrieve(session.id).payment_intent
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.refunds.create(params={"payment_intent": intent_id})


def test_idempotent_replay_returns_the_first_response(stripe_client):
    first = stripe_client.v1.checkout.sessions.create(params=session_params(), options={"idempotency_key": "ps-42-a1"})
    again = stripe_client.v1.checkout.sessions.create(params=session_params(), options={"idempotency_key": "ps-42-a1"})
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"


def test_idempotency_key_reused_with_other_params_is_a_conflict(stripe_client):
    stripe_client.v1.checkout.sessions.create(params=session_params(), options={"idempotency_key": "ps-42-a2"})
    with pytest.raises(stripe.IdempotencyError):
        stripe_client.v1.checkout.sessions.create(params=session_params(client_reference_id="ps_43"),
                                                  options={"idempotency_key": "ps-42-a2"})


def test_idempotent_error_is_replayed_too(paid_session, stripe_client):
    params = {"payment_intent": paid_session.payment_intent.id, "amount": 999999}
    for _ in range(2):
        with pytest.raises(stripe.InvalidRequestError) as info:
            stripe_client.v1.refunds.create(params=params, options={"idempotency_key": "refund-x"})
    assert info.value.headers.get("Idempotent-Replayed") == "true"


@pytest.mark.parametrize("params, param", [
    (session_params(allow_promotion_code=True), "allow_promotion_code"),
    (session_params(metadata={"a": "b"}, payment_intent_data={"metdata": {"a": "b"}}), "payment_intent_data[metdata]"),
])
def test_unknown_parameter_is_an_invalid_request(stripe_client, params, param):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.checkout.sessions.create(params=params)
    assert info.value.code == "parameter_unknown" and info.value.param == param


@pytest.mark.parametrize("overrides, param", [
    ({"expires_at": int(time.time()) + 600}, "expires_at"),
    ({"metadata": {"k" * 41: "v"}}, "metadata[" + "k" * 41 + "]"),
    ({"mode": None}, "mode"),
])
def test_invalid_parameters_are_refused(stripe_client, overrides, param):
    params = {k: v for k, v in session_params(**overrides).items() if v is not None}
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.checkout.sessions.create(params=params)
    assert info.value.param == param


def test_amount_below_minimum_charge_is_refused(stripe_client):
    params = session_params(line_items=[{"quantity": 1, "price_data": {
        "currency": "usd", "unit_amount": 20, "product_data": {"name": "Cheap"}}}])
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.checkout.sessions.create(params=params)


def test_unknown_object_is_resource_missing(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert info.value.http_status == 404 and info.value.code == "resource_missing"


@pytest.mark.parametrize("key", ["sk_live_realkey123456", "pk_test_publishable123", "nonsense"])
def test_bad_key_is_an_authentication_error(sandbox, key):
    client = stripe.StripeClient(key, base_addresses={"api": sandbox.base_url}, max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError):
        client.v1.checkout.sessions.retrieve("cs_test_x")


def test_missing_key_is_401(sandbox):
    assert requests.get(f"{sandbox.base_url}/v1/events", timeout=5).status_code == 401


def test_every_response_carries_a_request_id(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert info.value.request_id.startswith("req_")


def test_events_list_filters_undelivered_and_pages(sandbox, stripe_client, paid_session):
    everything = list(stripe_client.v1.events.list(params={"limit": 2}).auto_paging_iter())
    types = [e.type for e in everything]
    assert types[0] == "checkout.session.completed"  # newest first
    assert {"payment_intent.succeeded", "charge.succeeded"} <= set(types)
    # No endpoint configured: nothing is pending delivery.
    assert stripe_client.v1.events.list(params={"delivery_success": False}).data == []
    only = stripe_client.v1.events.list(params={"type": "charge.succeeded"}).data
    assert [e.type for e in only] == ["charge.succeeded"]
    event = stripe_client.v1.events.retrieve(everything[0].id)
    assert event.data.object.id == paid_session.id

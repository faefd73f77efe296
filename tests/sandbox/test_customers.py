"""Customers in the sandbox: created and retrieved with Stripe's shapes and validation, and a
Checkout Session for an existing customer (`customer`, not `customer_email`)."""
import pytest
import stripe

from tests.sandbox.conftest import session_params


def test_create_and_retrieve_a_customer(stripe_client):
    created = stripe_client.v1.customers.create(params={"email": "ada@example.com", "name": "Ada",
                                                        "metadata": {"user_id": "7"}})
    assert created.id.startswith("cus_") and created.object == "customer"
    fetched = stripe_client.v1.customers.retrieve(created.id)
    assert (fetched.email, fetched.name, fetched.metadata["user_id"]) == ("ada@example.com", "Ada", "7")


def test_the_same_idempotency_key_returns_the_same_customer(stripe_client):
    first = stripe_client.v1.customers.create(params={"email": "ada@example.com"},
                                              options={"idempotency_key": "customer-7"})
    again = stripe_client.v1.customers.create(params={"email": "ada@example.com"},
                                              options={"idempotency_key": "customer-7"})
    assert again.id == first.id


@pytest.mark.parametrize("params, param", [
    ({"email": "not-an-email"}, "email"),
    ({"nickname": "x"}, "nickname"),
    ({"metadata": {"k" * 41: "v"}}, "metadata[" + "k" * 41 + "]"),
])
def test_invalid_customer_parameters_are_refused_like_stripe(stripe_client, params, param):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.create(params=params)
    assert refused.value.param == param


def test_a_missing_customer_is_404(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.retrieve("cus_missing")
    assert refused.value.http_status == 404 and refused.value.code == "resource_missing"


def test_a_checkout_session_for_a_customer(stripe_client):
    customer = stripe_client.v1.customers.create(params={"email": "ada@example.com"})
    params = session_params(customer=customer.id)
    del params["customer_email"]
    session = stripe_client.v1.checkout.sessions.create(params=params)
    assert session.customer == customer.id and session.customer_email is None
    expanded = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["customer"]})
    assert expanded.customer.email == "ada@example.com"


def test_a_checkout_session_refuses_an_unknown_customer_or_both_customer_and_email(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        params = session_params(customer="cus_missing")
        del params["customer_email"]
        stripe_client.v1.checkout.sessions.create(params=params)
    assert unknown.value.param == "customer"
    customer = stripe_client.v1.customers.create(params={"email": "ada@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as both:
        stripe_client.v1.checkout.sessions.create(params=session_params(customer=customer.id))
    assert both.value.param == "customer_email"

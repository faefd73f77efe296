"""Coupons and `discounts=[{coupon}]` on Checkout Sessions, as Stripe computes, shows and refuses them."""
import pytest
import requests
import stripe

from tests.sandbox.conftest import control, session_params
from tests.sandbox.test_shapes import extra_keys, stripe_examples  # noqa: F401 (fixture)


def price(currency: str, amount: int) -> dict:
    return {"line_items": [{"quantity": 1, "price_data": {"currency": currency, "unit_amount": amount,
                                                          "product_data": {"name": "Python 101"}}}]}


def coupon(stripe_client, **params):
    return stripe_client.v1.coupons.create(params={"duration": "once", **params})


@pytest.mark.parametrize("currency, amount, off, shown_off, shown_total", [
    ("usd", 12900, 2000, "−$20.00", "$109.00"),
    ("eur", 4990, 749, "−€7.49", "€42.41"),
    ("jpy", 12000, 1800, "−¥1,800", "¥10,200"),
])
def test_amount_off_coupon_discounts_the_session_and_shows_on_the_page(
        sandbox, stripe_client, currency, amount, off, shown_off, shown_total):
    made = coupon(stripe_client, id=f"lp-{currency}", name="SAVE20", amount_off=off, currency=currency.upper())
    assert (made.amount_off, made.currency, made.valid, made.times_redeemed) == (off, currency, True, 0)
    session = stripe_client.v1.checkout.sessions.create(params=session_params(
        **price(currency, amount), discounts=[{"coupon": made.id}]))
    assert (session.amount_subtotal, session.amount_total) == (amount, amount - off)
    assert session.total_details.amount_discount == off
    assert session.discounts[0].coupon == made.id and session.discounts[0].promotion_code is None
    [item] = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items"]}).line_items.data
    assert (item.amount_subtotal, item.amount_discount, item.amount_total) == (amount, off, amount - off)

    page = requests.get(session.url, timeout=5).text
    assert "SAVE20" in page and shown_off in page and shown_total in page
    assert f"Pay {shown_total}" in page

    control(sandbox, f"checkout/sessions/{session.id}/pay", {"card": "4242424242424242"})
    paid = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent", "total_details.breakdown"]})
    assert paid.payment_intent.amount == paid.payment_intent.amount_received == amount - off
    [line] = paid.total_details.breakdown.discounts
    assert line.amount == off and line.discount.source.coupon.id == made.id
    assert stripe_client.v1.coupons.retrieve(made.id).times_redeemed == 1


def test_percent_coupon_rounds_to_the_minor_unit(stripe_client):
    made = coupon(stripe_client, percent_off="15")
    session = stripe_client.v1.checkout.sessions.create(params=session_params(
        **price("usd", 3490), discounts=[{"coupon": made.id}]))
    assert (session.total_details.amount_discount, session.amount_total) == (524, 2966)


def test_a_coupon_taking_everything_needs_no_payment(stripe_client):
    made = coupon(stripe_client, amount_off=5000, currency="usd")
    session = stripe_client.v1.checkout.sessions.create(params=session_params(
        **price("usd", 2966), discounts=[{"coupon": made.id}]))
    assert (session.amount_total, session.payment_status) == (0, "no_payment_required")


def test_coupon_and_its_deletion_have_stripes_shape(sandbox, stripe_client, stripe_examples):  # noqa: F811
    made = coupon(stripe_client, id="SHAPE", name="SAVE20", amount_off=100, currency="usd", metadata={"a": "b"})
    body = requests.get(f"{sandbox.base_url}/v1/coupons/SHAPE", timeout=5,
                        headers={"Authorization": "Bearer sk_test_shapes"}).json()
    assert extra_keys(body, stripe_examples["coupon"]) == []
    session = stripe_client.v1.checkout.sessions.create(params=session_params(discounts=[{"coupon": made.id}]))
    expanded = requests.get(f"{sandbox.base_url}/v1/checkout/sessions/{session.id}",
                            params={"expand[]": "total_details.breakdown"}, timeout=5,
                            headers={"Authorization": "Bearer sk_test_shapes"}).json()
    discount = expanded["total_details"]["breakdown"]["discounts"][0]["discount"]
    assert extra_keys(discount, stripe_examples["discount"]) == []
    deleted = stripe_client.v1.coupons.delete("SHAPE")
    assert deleted.to_dict() == stripe_examples["deleted_coupon"] | {"id": "SHAPE"}
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.coupons.retrieve("SHAPE")
    assert missing.value.code == "resource_missing"


@pytest.mark.parametrize("params, param, code", [
    ({"amount_off": 100}, "currency", "parameter_missing"),
    ({"amount_off": 100, "percent_off": "10", "currency": "usd"}, "percent_off", "parameter_invalid"),
    ({}, "amount_off", "parameter_missing"),
    ({"percent_off": "0"}, "percent_off", "parameter_invalid"),
    ({"percent_off": "100.5"}, "percent_off", "parameter_invalid"),
    ({"percent_off": "10", "currency": "usd"}, "currency", "parameter_invalid"),
    ({"amount_off": 100, "currency": "xxx"}, "currency", "parameter_invalid"),
    ({"amount_off": 0, "currency": "usd"}, "amount_off", "parameter_invalid"),
    ({"percent_off": "10", "duration": "repeating"}, "duration_in_months", "parameter_missing"),
    ({"percent_off": "10", "duration_in_months": 3}, "duration_in_months", "parameter_invalid"),
    ({"percent_off": "10", "name": "N" * 41}, "name", "parameter_invalid"),
    ({"percent_off": "10", "applies_to": {"products": ["prod_1"]}}, "applies_to", "parameter_unknown"),
])
def test_coupon_parameters_stripe_refuses(stripe_client, params, param, code):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.coupons.create(params=params)
    assert (refused.value.param, refused.value.code) == (param, code)


def test_a_coupon_id_is_taken_once(stripe_client):
    coupon(stripe_client, id="ONCE", percent_off="10")
    with pytest.raises(stripe.InvalidRequestError) as taken:
        coupon(stripe_client, id="ONCE", percent_off="10")
    assert (taken.value.code, taken.value.param) == ("resource_already_exists", "id")


@pytest.mark.parametrize("overrides, param, code", [
    ({"allow_promotion_codes": True}, "allow_promotion_codes", "parameter_invalid"),
    ({"discounts": [{"coupon": "C1"}, {"coupon": "C1"}]}, "discounts", "parameter_invalid"),
    ({"discounts": [{"coupon": "C1", "promotion_code": "promo_1"}]}, "discounts[0][coupon]", "parameter_invalid"),
    ({"discounts": [{"coupon": "NOPE"}]}, "discounts[0][coupon]", "resource_missing"),
    ({"discounts": [{"promotion_code": "promo_1"}]}, "discounts[0][promotion_code]", "resource_missing"),
    ({"discounts": [{"coupon": "EUR"}]}, "discounts[0][coupon]", "parameter_invalid"),
    ({"discounts": [{"coupon": "USED"}]}, "discounts[0][coupon]", "coupon_expired"),
    ({"discounts": [{"coupon": "C1", "amount": 5}]}, "discounts[0][amount]", "parameter_unknown"),
])
def test_discounts_stripe_refuses(sandbox, stripe_client, overrides, param, code):
    coupon(stripe_client, id="C1", percent_off="10")
    coupon(stripe_client, id="EUR", amount_off=100, currency="eur")
    coupon(stripe_client, id="USED", percent_off="10", max_redemptions=1)
    used = stripe_client.v1.checkout.sessions.create(params=session_params(discounts=[{"coupon": "USED"}]))
    control(sandbox, f"checkout/sessions/{used.id}/pay", {"card": "4242424242424242"})
    params = session_params(**overrides)
    if "discounts" not in params:
        params["discounts"] = [{"coupon": "C1"}]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.create(params=params)
    assert (refused.value.param, refused.value.code) == (param, code)


def test_the_minimum_charge_applies_after_the_discount(stripe_client):
    made = coupon(stripe_client, amount_off=2950, currency="usd")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.create(params=session_params(
            **price("usd", 2966), discounts=[{"coupon": made.id}]))
    assert refused.value.code == "amount_too_small"

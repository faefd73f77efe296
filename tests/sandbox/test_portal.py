"""The hosted Customer Portal: `billing_portal.sessions.create` gives a page that lists the
customer's plans and invoices and cancels at period end, renews, and updates the card (a
good card pays a past-due subscription's open invoice at once)."""
import pytest
import requests
import stripe

from tests.sandbox.test_billing import subscribe, types

CARD = {"card_expiry": "12 / 34", "card_cvc": "123"}


@pytest.fixture
def subscribed(sandbox, stripe_client):
    session = subscribe(sandbox, stripe_client)
    portal = stripe_client.v1.billing_portal.sessions.create(params={
        "customer": session.customer, "return_url": "http://127.0.0.1:5000/dashboard"})
    return session, portal


def post(url, **data):
    return requests.post(url, data=data, allow_redirects=False, timeout=5)


def test_portal_session_shape_and_validation(stripe_client, subscribed):
    session, portal = subscribed
    assert portal.object == "billing_portal.session" and portal.customer == session.customer
    assert portal.return_url == "http://127.0.0.1:5000/dashboard" and portal.id.startswith("bps_")
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        stripe_client.v1.billing_portal.sessions.create(params={"customer": "cus_missing"})
    assert unknown.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.billing_portal.sessions.create(params={"return_url": "http://x.test/"})
    assert missing.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as bad_url:
        stripe_client.v1.billing_portal.sessions.create(params={"customer": session.customer, "return_url": "nope"})
    assert bad_url.value.param == "return_url"


def test_the_page_lists_plans_invoices_and_the_card(subscribed):
    session, portal = subscribed
    page = requests.get(portal.url, timeout=5).text
    for text in ("All-Access", "$29.00 per month", "Renews", "Visa •••• 4242", "Cancel plan",
                 "Return to Learnpay", "http://127.0.0.1:5000/dashboard", "$29.00", "paid"):
        assert text in page, text
    assert requests.get(portal.url.replace("bps_", "bps_x"), timeout=5).status_code == 404


def test_cancel_then_renew_from_the_page(sandbox, stripe_client, subscribed):
    session, portal = subscribed
    response = post(f"{portal.url}/cancel", subscription=session.subscription)
    assert response.status_code == 303
    sub = stripe_client.v1.subscriptions.retrieve(session.subscription)
    assert sub.cancel_at_period_end and sub.cancel_at == sub["items"].data[0].current_period_end
    page = requests.get(response.headers["Location"] if response.headers["Location"].startswith("http")
                        else sandbox.base_url + response.headers["Location"], timeout=5).text
    assert "Cancels" in page and "Renew plan" in page and "will be canceled" in page
    assert post(f"{portal.url}/resume", subscription=session.subscription).status_code == 303
    assert stripe_client.v1.subscriptions.retrieve(session.subscription).cancel_at_period_end is False
    updates = [e["data"]["previous_attributes"] for e in sandbox.events("customer.subscription.updated")][-2:]
    assert [u["cancel_at_period_end"] for u in updates] == [False, True]


def test_someone_elses_subscription_is_not_found(sandbox, stripe_client, subscribed):
    _, portal = subscribed
    other = subscribe(sandbox, stripe_client, customer_email="ada@example.com")
    assert post(f"{portal.url}/cancel", subscription=other.subscription).status_code == 404
    assert stripe_client.v1.subscriptions.retrieve(other.subscription).cancel_at_period_end is False


def test_update_card_to_the_failing_card_then_renewal_fails(sandbox, stripe_client, subscribed):
    session, portal = subscribed
    response = post(f"{portal.url}/card", card_number="4000 0000 0000 0341", **CARD)
    assert response.status_code == 303
    sub = stripe_client.v1.subscriptions.retrieve(session.subscription)
    assert stripe_client.v1.payment_methods.retrieve(sub.default_payment_method).card.last4 == "0341"
    assert "payment_method.attached" in types(sandbox)
    sandbox.advance_clock(days=32)
    assert stripe_client.v1.subscriptions.retrieve(session.subscription).status == "past_due"
    page = requests.get(portal.url, timeout=5).text
    assert "past due" in page and "Your last payment failed" in page and "open" in page

    assert post(f"{portal.url}/card", card_number="4242 4242 4242 4242", **CARD).status_code == 303
    assert stripe_client.v1.subscriptions.retrieve(session.subscription).status == "active"


@pytest.mark.parametrize("card, status, message", [
    ("4000 0000 0000 0002", 402, "Your card was declined."),
    ("4242 4242 4242 4241", 402, "Your card number is incorrect."),
])
def test_cards_that_do_not_attach_show_the_error(stripe_client, subscribed, card, status, message):
    session, portal = subscribed
    before = stripe_client.v1.subscriptions.retrieve(session.subscription).default_payment_method
    response = post(f"{portal.url}/card", card_number=card, **CARD)
    assert response.status_code == status and message in response.text
    assert stripe_client.v1.subscriptions.retrieve(session.subscription).default_payment_method == before


def test_the_hosted_invoice_page(stripe_client, subscribed):
    session, _ = subscribed
    invoice = stripe_client.v1.invoices.retrieve(session.invoice)
    page = requests.get(invoice.hosted_invoice_url, timeout=5).text
    assert invoice.number in page and "All-Access" in page and "$29.00" in page and "paid" in page

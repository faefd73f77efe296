"""The hosted checkout page in subscription mode: the price per interval, the trial, a card
always asked for, and the failing card declined when something is due now."""
import requests

from tests.sandbox.test_billing import subscription_params, types

CARD = {"card_expiry": "12 / 34", "card_cvc": "123", "card_name": "Lena Learner", "method": "card"}


def test_a_trial_page_says_what_happens_and_saves_the_card(sandbox, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(params=subscription_params(
        subscription_data={"trial_period_days": 14}))
    page = requests.get(session.url, timeout=5).text
    for text in ("$29.00", "per month", "14 days free", "Card information", "Start trial",
                 "saves, but every charge fails"):
        assert text in page, text
    response = requests.post(session.url, data={**CARD, "card_number": "4000 0000 0000 0341"},
                             allow_redirects=False, timeout=5)
    assert response.status_code == 303
    done = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["subscription"]})
    assert done.subscription.status == "trialing" and done.customer_details.name == "Lena Learner"


def test_a_paid_start_without_a_card_or_with_the_failing_card_is_refused_on_the_page(sandbox, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(params=subscription_params())
    page = requests.get(session.url, timeout=5).text
    assert "Subscribe" in page and "per month" in page
    missing = requests.post(session.url, data={**CARD, "card_expiry": ""}, timeout=5)
    assert "expiration date is incomplete" in missing.text
    declined = requests.post(session.url, data={**CARD, "card_number": "4000 0000 0000 0341"}, timeout=5)
    assert "Your card was declined." in declined.text
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert "customer.subscription.created" not in types(sandbox)
    paid = requests.post(session.url, data={**CARD, "card_number": "4242 4242 4242 4242"}, allow_redirects=False,
                         timeout=5)
    assert paid.status_code == 303
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"

"""The Customer Portal page in a real browser: cancel at period end, renew, update the card."""
import pytest
from playwright.sync_api import expect

from tests.sandbox.test_billing import subscribe


@pytest.mark.browser
def test_cancel_renew_and_update_card_in_the_portal(sandbox, stripe_client, page):
    session = subscribe(sandbox, stripe_client)
    portal = stripe_client.v1.billing_portal.sessions.create(params={
        "customer": session.customer, "return_url": "http://127.0.0.1:5000/dashboard"})
    page.goto(portal.url)
    expect(page.get_by_text("$29.00 per month")).to_be_visible()
    page.get_by_role("button", name="Cancel plan").click()
    expect(page.get_by_role("status")).to_contain_text("will be canceled")
    expect(page.get_by_role("button", name="Renew plan")).to_be_visible()
    page.get_by_role("button", name="Renew plan").click()
    expect(page.get_by_role("button", name="Cancel plan")).to_be_visible()
    page.get_by_label("Card number").fill("4000 0000 0000 0341")
    page.get_by_label("Expiration (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Update payment method").click()
    expect(page.get_by_test_id("payment-method")).to_contain_text("0341")
    expect(page.get_by_role("link", name="Return to Learnpay")).to_have_attribute(
        "href", "http://127.0.0.1:5000/dashboard")


@pytest.mark.browser
def test_portal_invoice_and_subscription_checkout_pages_have_no_axe_violations(sandbox, stripe_client, page):
    from tests.a11y.test_axe import violations
    from tests.sandbox.test_billing import subscription_params

    session = subscribe(sandbox, stripe_client, card="4000000000000341", subscription_data={"trial_period_days": 3})
    sandbox.advance_clock(days=4)  # past due: the page shows the failed-payment notice too
    portal = stripe_client.v1.billing_portal.sessions.create(params={
        "customer": session.customer, "return_url": "http://127.0.0.1:5000/dashboard"})
    open_session = stripe_client.v1.checkout.sessions.create(params=subscription_params(
        subscription_data={"trial_period_days": 14}))
    invoice_url = stripe_client.v1.invoices.retrieve(session.invoice).hosted_invoice_url
    found = []
    for url in (portal.url, invoice_url, open_session.url):
        for size in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
            page.set_viewport_size(size)
            page.goto(url)
            found += [f"{url} {size['width']}: {v}" for v in violations(page)]
    assert found == []

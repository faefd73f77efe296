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

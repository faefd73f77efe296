"""A membership in a real browser against the sandbox (issue 16): the coupon's live quote on the
memberships page, Stripe's checkout in subscription mode, the course opened through the
membership, the dashboard panel, and "Manage billing" → the portal's "Cancel plan" → back on
the dashboard, "Ends on …" (the webhooks arrive over HTTP, as from Stripe)."""
import re

import pytest
from playwright.sync_api import expect

from extensions import db
from models import Subscription, SubscriptionStatus
from tests import factories
from tests.helpers import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def test_subscribe_with_a_coupon_learn_and_cancel_in_the_portal(live_server, page, sandbox):
    course = factories.course(slug="python-101", title="Python 101", price=9900, lectures=3)
    factories.membership(slug="all-access", name="All-Access", monthly=2900, yearly=29000)
    factories.coupon(code="HALF", percent=50)
    factories.user(email="mia@example.com", name="Mia Member")
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("mia@example.com")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # The course page names the membership beside its price.
    page.goto(live_server.url + "/courses/python-101")
    expect(page.get_by_test_id("membership-badge")).to_contain_text("Included in All-Access — $29.00/month")
    page.get_by_test_id("membership-badge").get_by_role("link", name="All-Access").click()

    # The memberships page: the code's live quote, then Subscribe monthly.
    expect(page).to_have_url(re.compile(r"/memberships#membership-all-access$"))
    page.get_by_label("Coupon code").fill("half")
    quote = page.get_by_test_id("membership-quote")
    expect(quote).to_contain_text("Code applied to your first payment.")
    expect(quote.locator('[data-interval="MONTH"]').get_by_test_id("final-price")).to_have_text("$14.50")
    page.get_by_role("button", name="Subscribe monthly").click()

    expect(page).to_have_url(re.compile(r"/c/pay/cs_test_"))
    page.locator("#card_number").fill("4242 4242 4242 4242")
    page.get_by_placeholder("MM / YY").fill("12 / 34")
    page.get_by_placeholder("CVC").fill("123")
    page.locator("#card_name").fill("Mia Member")
    page.get_by_role("button", name="Subscribe").click()
    expect(page).to_have_url(re.compile(r"/checkout/success\?session_id=cs_test_"))

    # The webhooks arrive: the course opens through the membership.
    sandbox.wait_for(lambda: _status() == SubscriptionStatus.ACTIVE, timeout=10)
    page.goto(live_server.url + "/courses/python-101")
    expect(page.get_by_test_id("included-for-member")).to_be_visible()
    page.get_by_role("button", name="Start the course").click()
    page.goto(f"{live_server.url}/courses/python-101/lectures/{course.lectures[1].id}")
    expect(page.get_by_role("heading", name="Lecture 2")).to_be_visible()

    page.goto(live_server.url + "/dashboard")
    panel = page.get_by_test_id("membership-panel")
    expect(panel.get_by_test_id("membership-status")).to_have_text("Active")
    expect(panel.get_by_test_id("next-renewal")).to_contain_text("$29.00")

    # Manage billing → Stripe's portal → Cancel plan → back: open until the period ends.
    panel.get_by_role("button", name=re.compile("Manage billing")).click()
    expect(page).to_have_url(re.compile(r"/p/session/bps_"))
    page.get_by_role("button", name="Cancel plan").click()
    sandbox.wait_for(lambda: _canceling(), timeout=10)
    page.get_by_role("link", name=re.compile("Return to")).click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_test_id("membership-status")).to_contain_text("Ends on")
    expect(page.get_by_test_id("ends-on")).to_be_visible()


def _subscription() -> Subscription | None:
    db.session.expire_all()
    return db.session.scalars(db.select(Subscription)).first()


def _status():
    sub = _subscription()
    return sub.status if sub else None


def _canceling() -> bool:
    sub = _subscription()
    return bool(sub and sub.cancel_at_period_end)

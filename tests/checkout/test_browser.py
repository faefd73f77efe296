"""The whole purchase in a real browser: sign up, live coupon, pay on the sandbox, enrolled."""
import re

import pytest
from playwright.sync_api import expect

from extensions import db
from models import Enrollment, PaymentSession, PaymentSessionStatus
from tests import factories
from tests.helpers import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def test_new_learner_buys_a_course_with_a_coupon(live_server, page, paid_course):
    factories.coupon(code="SAVE10", percent=10)
    page.goto(live_server.url + "/signup")
    page.get_by_label("Your name").fill("Bea Buyer")
    page.get_by_label("Email").fill("bea@example.com")
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_label("Repeat password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.goto(live_server.url + "/courses/python-101")
    expect(page.get_by_test_id("final-price")).to_have_text("$99.00")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    page.get_by_label("Coupon code").fill("nope")
    page.get_by_label("Coupon code").press("Enter")  # "submit": presses Apply, handled by htmx
    expect(page.get_by_role("alert")).to_contain_text("We don't know that code")
    page.get_by_label("Coupon code").fill("")
    page.get_by_label("Coupon code").press_sequentially("save10", delay=30)
    expect(page.get_by_test_id("final-price")).to_have_text("$89.10")
    expect(page.get_by_test_id("discount")).to_have_text("−$9.90")
    assert page.evaluate("window.__sameDocument") is True

    page.get_by_role("button", name="Buy now").click()
    expect(page).to_have_url(re.compile(r"/c/pay/cs_test_"))
    page.locator("#card_number").fill("4242 4242 4242 4242")
    page.get_by_placeholder("MM / YY").fill("12 / 34")
    page.get_by_placeholder("CVC").fill("123")
    page.locator("#card_name").fill("Bea Buyer")
    page.get_by_role("button", name=re.compile(r"Pay \$89\.10")).click()

    expect(page).to_have_url(re.compile(r"/checkout/success\?session_id=cs_test_"))
    expect(page.get_by_role("heading", name="You're enrolled!")).to_be_visible()
    page.goto(live_server.url + "/dashboard")
    expect(page.get_by_role("link", name="Python 101").first).to_be_visible()

    db.session.expire_all()
    [ps] = db.session.scalars(db.select(PaymentSession)).all()
    assert ps.status == PaymentSessionStatus.COMPLETED and ps.final_amount == 8910
    assert db.session.get(Enrollment, ps.enrollment_id).amount_paid == 8910

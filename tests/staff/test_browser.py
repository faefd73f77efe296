"""In a real browser: a staff member creates a coupon, with the live code check (htmx)."""
import pytest
from playwright.sync_api import expect

from extensions import db
from models import Coupon
from tests import factories
from tests.helpers import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def test_live_code_check_then_create_and_deactivate(live_server, page):
    factories.user(email="sam@example.com", name="Sam Staff", role="STAFF")
    factories.coupon(code="TAKEN10")
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("sam@example.com")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()  # signed in before moving on
    page.goto(live_server.url + "/staff/coupons/new")
    page.evaluate("window.__noReload = true")

    page.get_by_label("Code").fill("taken10")
    page.locator("#code-check").get_by_text("already taken").wait_for()
    page.get_by_label("Code").fill("winter-15")
    page.locator("#code-check").get_by_text("WINTER-15 is available").wait_for()
    assert page.evaluate("window.__noReload") is True  # the check swapped a fragment, no reload

    page.get_by_label("Name").fill("Winter sale")
    page.get_by_label("Value").fill("15")
    page.get_by_role("button", name="Save coupon").click()
    page.get_by_text("Coupon WINTER-15 created.").wait_for()
    page.get_by_role("button", name="Deactivate").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Learners can no longer apply WINTER-15").wait_for()
    dialog.get_by_role("button", name="Deactivate").click()
    page.get_by_text("Coupon WINTER-15 deactivated.").wait_for()
    db.session.expire_all()
    coupon = db.session.scalar(db.select(Coupon).where(Coupon.code == "WINTER-15"))
    assert coupon.percent_off == 15 and coupon.is_active is False

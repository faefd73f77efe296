"""The staff area in a real browser: at 390 px the menu collapses and nothing scrolls sideways
(document width = viewport); at 1280 px every table shows its columns without an inner
scrollbar. Also in the browser: confirmation before a refund (a <dialog> with JavaScript, a
page without) and every error of the coupon form after one submit."""
import pytest
from playwright.sync_api import expect

from tests.a11y import world

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def test_staff_pages_fit_a_phone_and_tables_fit_a_desktop(live_server, browser):
    data = world.build(live_server)
    context, page = world.signed_in(browser, live_server, world.STAFF, PHONE)
    wide = []
    for name, path in data["staff_pages"].items():
        page.goto(live_server.url + path)
        if (overflow := world.document_overflow(page)) > 0:
            wide.append(f"{name}: {overflow}px wider than the phone")
    page.goto(live_server.url + "/staff/")
    menu = page.get_by_role("navigation", name="Staff").get_by_role("link", name="Coupons", exact=True)
    expect(menu).to_be_hidden()  # collapsed...
    page.get_by_text("Staff menu").click()
    expect(menu).to_be_visible()  # ...and opens
    page.set_viewport_size(DESKTOP)
    for name, path in data["staff_pages"].items():
        page.goto(live_server.url + path)
        if tables := world.scrolling_tables(page):
            wide.append(f"{name} at 1280 px: tables scroll inside: {tables}")
    expect(page.get_by_text("Staff menu")).to_be_hidden()  # no toggle on a desktop
    context.close()
    assert not wide, "\n".join(wide)


def test_refund_asks_in_a_dialog_then_on_a_page_without_javascript(live_server, browser):
    data = world.build(live_server)
    payment_url = live_server.url + data["staff_pages"]["payment"]

    context, page = world.signed_in(browser, live_server, world.STAFF, DESKTOP)
    page.goto(payment_url)
    page.get_by_label("Amount").fill("29.00")
    page.get_by_role("button", name="Refund", exact=True).click()
    dialog = page.get_by_role("dialog", name="Refund this payment?")
    expect(dialog).to_contain_text(f"Refund $29.00 of $103.20 to {world.LEARNER}; access is kept.")
    assert page.url == payment_url  # still the payment page, under a modal dialog
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    context.close()

    context, page = world.signed_in(browser, live_server, world.STAFF, DESKTOP, javascript=False)
    page.goto(payment_url)
    page.get_by_label("Amount").fill("29.00")
    page.get_by_role("button", name="Refund", exact=True).click()
    expect(page.get_by_role("heading", name="Please confirm")).to_be_visible()
    expect(page.get_by_text(f"Refund $29.00 of $103.20 to {world.LEARNER}; access is kept.")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    assert page.url == payment_url
    context.close()


def test_coupon_form_shows_every_error_after_one_submit(live_server, browser):
    world.build(live_server)
    context, page = world.signed_in(browser, live_server, world.STAFF, DESKTOP)
    page.goto(live_server.url + "/staff/coupons/new")
    page.get_by_label("Code").fill("save20")           # taken
    page.get_by_label("Type").select_option("FIXED_AMOUNT")
    page.get_by_label("Value").fill("abc")             # not a number
    page.get_by_label("Minimum price").fill("lots")    # not a number
    page.get_by_label("Valid from (UTC)").fill("2026-05-02T00:00")
    page.get_by_label("Valid until (UTC)").fill("2026-05-01T00:00")  # before the start
    page.get_by_role("button", name="Save coupon").click()
    for field in ("code", "name", "value", "currency", "minimum_amount", "valid_until"):
        expect(page.locator(f"#{field}-error")).to_be_visible()
    context.close()

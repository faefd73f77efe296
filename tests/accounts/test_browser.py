"""A real browser manages its sessions on /account (issue 14): another device, then all of them."""
import pytest
from playwright.sync_api import expect

from tests import factories
from tests.helpers import DEFAULT_PASSWORD


def _sign_in(page, url, email):
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/courses")


@pytest.mark.browser
def test_sign_out_another_device_then_every_device(live_server, page, browser):
    factories.user(email="dev@example.com")
    url = live_server.url
    phone_context = browser.new_context(user_agent="Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
                                                   "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36")
    phone = phone_context.new_page()
    try:
        _sign_in(page, url, "dev@example.com")
        _sign_in(phone, url, "dev@example.com")

        page.goto(f"{url}/account")
        rows = page.get_by_test_id("session-row")
        assert rows.count() == 2
        assert rows.filter(has_text="this device").count() == 1
        rows.filter(has_text="Android").get_by_role("button", name="Sign out").click()
        expect(page.get_by_text("That device is signed out.")).to_be_visible()
        assert page.get_by_test_id("session-row").count() == 1

        phone.goto(f"{url}/dashboard")
        assert phone.url.startswith(f"{url}/login")

        page.get_by_role("button", name="Sign out of all devices").click()
        page.wait_for_url(f"{url}/login")
        page.goto(f"{url}/dashboard")
        assert page.url.startswith(f"{url}/login")
    finally:
        phone_context.close()

"""The catalog and sign-up in a real browser: layout, responsive grid, accessible forms."""
import pytest

from tests import factories

pytestmark = pytest.mark.browser


def test_visitor_browses_and_signs_up(live_server, page):
    factories.course(title="Python 101", price=9900)
    factories.course(title="Japanese", price=12000, currency="JPY")
    page.goto(live_server.url + "/courses")
    assert page.get_by_role("heading", name="Learn something new this week").is_visible()
    assert page.get_by_text("¥12,000").is_visible()
    assert page.get_by_text("Test mode").is_visible()

    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Your name").fill("Bea Browser")
    page.get_by_label("Email").fill("bea@example.com")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat password").fill("short")
    page.get_by_role("button", name="Create account").click()
    assert page.get_by_role("alert").first.is_visible()
    page.get_by_label("Password", exact=True).fill("long-enough-pass-1")
    page.get_by_label("Repeat password").fill("long-enough-pass-1")
    page.get_by_role("button", name="Create account").click()
    assert page.get_by_text("Your account is ready").is_visible()


def test_course_grid_collapses_on_a_phone(live_server, browser):
    factories.course(title="Python 101")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.goto(live_server.url + "/courses")
    width = phone.evaluate("document.querySelector('.course-card').getBoundingClientRect().width")
    assert width > 300  # one card per row, not squeezed
    context.close()

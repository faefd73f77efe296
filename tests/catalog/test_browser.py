"""The catalog and sign-up in a real browser: layout, responsive grid, accessible forms."""
import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.browser


def test_visitor_browses_and_signs_up(live_server, page):
    factories.course(title="Python 101", price=9900)
    factories.course(title="Japanese", price=12000, currency="JPY")
    page.goto(live_server.url + "/courses")
    expect(page.get_by_role("heading", name="Learn something new this week")).to_be_visible()
    expect(page.get_by_text("¥12,000")).to_be_visible()
    expect(page.get_by_text("Test mode")).to_be_visible()

    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Your name").fill("Bea Browser")
    page.get_by_label("Email").fill("bea@example.com")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    page.get_by_label("Password", exact=True).fill("long-enough-pass-1")
    page.get_by_label("Repeat password").fill("long-enough-pass-1")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Your account is ready")).to_be_visible()


def test_course_grid_collapses_on_a_phone(live_server, browser):
    factories.course(title="Python 101")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.goto(live_server.url + "/courses")
    width = phone.evaluate("document.querySelector('.course-card').getBoundingClientRect().width")
    assert width > 300  # one card per row, not squeezed
    context.close()


def _shelf():
    factories.course(title="Python Foundations", price=9900, topic="programming", instructor_name="Ada Byron",
                     learning_outcomes=["Write programs"], faq=[{"question": "Access?", "answer": "Forever."}])
    factories.course(title="Intro to Git", price=0, enrollment_type="FREE", topic="programming")
    factories.course(title="Data with pandas", price=7900, topic="data")


def test_anonymous_visitor_watches_the_free_preview(live_server, page):
    course = factories.course(title="Python 101", price=9900, lectures=3)
    page.goto(f"{live_server.url}/courses/{course.slug}")
    links = page.get_by_role("link", name="Watch free preview")
    assert links.count() == 1
    links.click()
    page.wait_for_url(f"**/courses/{course.slug}/lectures/*")
    expect(page.get_by_role("heading", name="Lecture 1")).to_be_visible()
    expect(page.get_by_text("Content 1")).to_be_visible()
    expect(page.get_by_text("This is a free preview")).to_be_visible()
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    assert crumbs.locator('[aria-current="page"]').inner_text() == "Lecture 1"


def test_catalog_search_updates_live_with_htmx(live_server, page):
    _shelf()
    page.goto(live_server.url + "/courses")
    page.evaluate("window.loadedOnce = true")  # gone if the page were loaded again
    cards = page.locator(".course-card h2")
    assert cards.count() == 3
    page.get_by_label("Search courses").press_sequentially("git", delay=30)
    page.wait_for_function("document.querySelectorAll('.course-card').length === 1")
    assert cards.all_inner_texts() == ["Intro to Git"]
    expect(page.get_by_role("status").filter(has_text="1 course found")).to_be_visible()
    page.wait_for_url("**/courses?q=git*")
    page.get_by_label("Search courses").fill("")
    page.get_by_label("Topic").select_option("data")
    page.wait_for_function("document.querySelectorAll('.course-card').length === 1 && "
                           "document.querySelector('.course-card h2').innerText === 'Data with pandas'")
    assert page.evaluate("window.loadedOnce") is True
    assert "topic=data" in page.url
    page.reload()  # the pushed URL shows the same results as a whole page
    assert cards.all_inner_texts() == ["Data with pandas"] and page.get_by_label("Topic").input_value() == "data"


def test_catalog_search_works_without_javascript(live_server, browser):
    _shelf()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/courses")
    page.get_by_label("Search courses").fill("python")
    page.get_by_label("Price").select_option("paid")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/courses?q=python&price=paid*")
    assert page.locator(".course-card h2").all_inner_texts() == ["Python Foundations"]
    expect(page.get_by_text("1 course found")).to_be_visible()
    page.get_by_role("link", name="Python Foundations").click()
    expect(page.get_by_role("heading", name="What you'll learn")).to_be_visible()
    page.get_by_text("Access?").click()  # <details> opens without JavaScript
    expect(page.get_by_text("Forever.")).to_be_visible()
    context.close()


def test_skip_link_is_the_first_stop_and_moves_focus_to_main(live_server, page):
    _shelf()
    page.goto(live_server.url + "/courses")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    assert skip.evaluate("element => element === document.activeElement") and skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

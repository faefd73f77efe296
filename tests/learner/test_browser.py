"""In a real browser: enroll in a free course, mark lectures complete, watch the bar move, get a certificate."""
import pytest
from playwright.sync_api import expect

from tests import factories
from tests.helpers import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def test_progress_bar_updates_in_place_up_to_a_certificate(live_server, page):
    factories.user(email="bea@example.com", name="Bea Browser")
    course = factories.course(slug="git-basics", title="Git Basics", price=0, enrollment_type="FREE", lectures=3)
    lecture_ids = [lecture.id for lecture in course.lectures]

    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("bea@example.com")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()  # signed in before moving on
    page.goto(live_server.url + "/courses/git-basics")
    page.get_by_role("button", name="Enroll for free").click()
    page.get_by_text("You're enrolled in Git Basics").wait_for()

    for number, (lecture_id, expected) in enumerate(zip(lecture_ids, ("33%", "66%", "100%")), start=1):
        page.goto(f"{live_server.url}/courses/git-basics/lectures/{lecture_id}")
        # A marker on the window survives an htmx swap but not a page load.
        page.evaluate("window.__noReload = true")
        page.get_by_role("button", name="Mark complete").click()
        page.get_by_test_id("lecture-done").wait_for()
        assert page.get_by_test_id("progress-percent").inner_text() == expected
        assert page.get_by_test_id("progress-count").inner_text() == f"{number} of 3"
        assert page.get_by_role("progressbar").get_attribute("aria-valuenow") == expected.rstrip("%")
        assert page.evaluate("window.__noReload") is True
        # The outline's check mark arrived out of band in the same response.
        assert "✓" in page.locator(f"#outline-lecture-{lecture_id}").inner_text()

    page.get_by_role("link", name="View your certificate").click()
    page.get_by_role("heading", name="Certificate of completion").wait_for()
    assert page.get_by_test_id("certificate-name").inner_text() == "Bea Browser"
    assert page.get_by_test_id("certificate-course").inner_text() == "Git Basics"
    assert "/certificates/cert_" in page.url

    page.goto(live_server.url + "/dashboard")
    expect(page.get_by_role("heading", name="Completed")).to_be_visible()
    expect(page.get_by_text("100% · 3 of 3 lectures completed")).to_be_visible()

"""In a real browser: find a path from the nav, enroll in it, see the lock, complete the free
course, continue from the dashboard, finish the path and open its certificate."""
import pytest
from playwright.sync_api import expect

from models import EnrollmentSource
from tests import factories
from tests.helpers import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def test_path_page_flow_from_enroll_to_certificate(live_server, page):
    bea = factories.user(email="bea@example.com", name="Bea Browser")
    first = factories.course(slug="git-first", title="Git First", price=0, enrollment_type="FREE", lectures=1)
    second = factories.course(slug="python-next", title="Python Next", price=5000, lectures=1)
    factories.learning_path([first, second], slug="web-developer", name="Web Developer", sequential=True)

    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("bea@example.com")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()  # signed in before moving on
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Paths").click()
    page.get_by_role("link", name="Web Developer").click()
    page.get_by_role("button", name="Enroll in path").click()
    expect(page.get_by_text("Free courses ready: Git First")).to_be_visible()
    expect(page.get_by_test_id("path-progress")).to_contain_text("0 of 2 courses completed")
    expect(page.get_by_test_id("next-course")).to_have_text("Git First")

    # The paid course, given by the path (as its checkout will), waits for the free one.
    factories.enrollment(bea, second, paid=True, source=EnrollmentSource.LEARNING_PATH)
    page.reload()
    expect(page.get_by_test_id("step-lock-reason")).to_have_text("Complete Git First first.")
    page.goto(f"{live_server.url}/dashboard")
    expect(page.get_by_test_id("dashboard-path")).to_contain_text("Locked: complete Git First first")
    page.get_by_test_id("path-next-course").click()
    page.get_by_role("button", name="Mark complete").click()
    expect(page.get_by_test_id("lecture-done")).to_be_visible()

    page.goto(f"{live_server.url}/dashboard")
    expect(page.get_by_test_id("path-next-course")).to_have_text("Next course: Python Next")
    page.get_by_test_id("path-next-course").click()
    page.get_by_role("button", name="Mark complete").click()
    expect(page.get_by_test_id("lecture-done")).to_be_visible()

    page.goto(f"{live_server.url}/paths/web-developer")
    page.get_by_test_id("path-certificate").click()
    expect(page.get_by_role("heading", name="Certificate of completion")).to_be_visible()
    expect(page.get_by_test_id("certificate-course")).to_have_text("Web Developer")
    expect(page.get_by_test_id("certificate-path-courses")).to_have_text("Git First · Python Next")
    assert "/certificates/pcert_" in page.url

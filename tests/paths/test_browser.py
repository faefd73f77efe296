"""In a real browser: find a path from the nav, enroll in it (its free course at once, its paid
course on the sandbox's Stripe page), see the lock, complete the free course, continue from the
dashboard, finish the path and open its certificate."""
import re

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.checkout.test_browser_buying import pay_with_4242, sign_in

pytestmark = pytest.mark.browser


def test_path_page_flow_from_enroll_and_pay_to_certificate(live_server, page, sandbox):
    first = factories.course(slug="git-first", title="Git First", price=0, enrollment_type="FREE", lectures=1)
    second = factories.course(slug="python-next", title="Python Next", price=5000, lectures=2)
    factories.learning_path([first, second], slug="web-developer", name="Web Developer", sequential=True,
                            price=4500, currency="USD")
    sign_in(page, live_server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Paths").click()
    page.get_by_role("link", name="Web Developer").click()
    expect(page.get_by_test_id("path-price")).to_have_text("$45.00")
    page.get_by_role("button", name="Enroll in path").click()

    expect(page).to_have_url(re.compile(r"/c/pay/cs_test_"))
    pay_with_4242(page, "$45.00")
    expect(page).to_have_url(re.compile(r"/checkout/success\?session_id=cs_test_"))
    expect(page.get_by_text("Free courses ready: Git First")).to_be_visible()

    page.goto(f"{live_server.url}/paths/web-developer")
    expect(page.get_by_test_id("path-progress")).to_contain_text("0 of 2 courses completed")
    expect(page.get_by_test_id("step-lock-reason")).to_have_text("Complete Git First first.")
    page.goto(f"{live_server.url}/courses/python-next/lectures/{second.lectures[1].id}")
    expect(page.get_by_test_id("access-reason")).to_have_text("Complete Git First first.")

    page.goto(f"{live_server.url}/dashboard")
    expect(page.get_by_test_id("dashboard-path")).to_contain_text("Locked: complete Git First first")
    page.get_by_test_id("path-next-course").click()
    page.get_by_role("button", name="Mark complete").click()
    expect(page.get_by_test_id("lecture-done")).to_be_visible()

    page.goto(f"{live_server.url}/dashboard")
    expect(page.get_by_test_id("path-next-course")).to_have_text("Next course: Python Next")
    for lecture in second.lectures:
        page.goto(f"{live_server.url}/courses/python-next/lectures/{lecture.id}")
        page.get_by_role("button", name="Mark complete").click()
        expect(page.get_by_test_id("lecture-done")).to_be_visible()

    page.goto(f"{live_server.url}/paths/web-developer")
    page.get_by_test_id("path-certificate").click()
    expect(page.get_by_role("heading", name="Certificate of completion")).to_be_visible()
    expect(page.get_by_test_id("certificate-course")).to_have_text("Web Developer")
    expect(page.get_by_test_id("certificate-path-courses")).to_have_text("Git First · Python Next")
    assert "/certificates/pcert_" in page.url

"""In a real browser (issue 19): a learner past the automatic rules asks for a refund from the
dashboard with a reason, sees it pending, withdraws it, and can ask again."""
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from extensions import db
from models import RefundRequest
from tests import factories
from tests.helpers import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def test_request_a_refund_then_withdraw_it(live_server, page):
    learner = factories.user(email="rae@example.com", name="Rae Refund")
    course = factories.course(slug="sql-deep-dive", title="SQL Deep Dive", price=4900)
    payment = factories.payment_session(learner, course, "COMPLETED", payment_intent_id="pi_browser_refund")
    factories.enrollment(learner, course, paid=True, payment_id=payment.id, progress=75.0,
                         paid_at=datetime.now(timezone.utc))

    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("rae@example.com")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()  # signed in before moving on
    page.goto(live_server.url + "/dashboard")
    assert "$49.00 back, if our staff agree" in page.get_by_test_id("refund-cell").inner_text()
    page.get_by_role("link", name="Request a refund for SQL Deep Dive").click()
    assert "More than 30% of the course is completed." in page.get_by_test_id("refund-outcome").inner_text()
    page.get_by_label("Why would you like a refund?").fill("I needed the PostgreSQL edition.")
    page.get_by_role("button", name="Send my request").click()
    page.get_by_text("Your request is with our staff").wait_for()
    assert "Refund requested" in page.get_by_test_id("refund-cell").inner_text()
    db.session.expire_all()
    [row] = db.session.scalars(db.select(RefundRequest)).all()
    assert row.reason == "I needed the PostgreSQL edition." and row.status.value == "PENDING"

    page.get_by_role("button", name="Withdraw the refund request for SQL Deep Dive").click()
    page.get_by_text("Your refund request is withdrawn.").wait_for()
    expect(page.get_by_role("link", name="Request a refund for SQL Deep Dive")).to_be_visible()

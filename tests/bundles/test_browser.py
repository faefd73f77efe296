"""Buying a bundle with a coupon in a real browser: the bundle page's saving and the code's
discount as the learner types (htmx, the course page's live quote), Stripe's hosted page charging exactly that, the success page listing the courses."""
import re

import pytest
from playwright.sync_api import expect

from extensions import db
from models import Enrollment, EnrollmentSource, PaymentSession
from tests import factories
from tests.checkout.test_browser_buying import pay_with_4242, sign_in

pytestmark = pytest.mark.browser


def test_buy_a_bundle_with_a_coupon(live_server, page, sandbox, bundle, courses):
    factories.coupon(code="BUNDLE10", percent=10)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/bundles/{bundle.slug}")
    expect(page.get_by_test_id("bundle-saving")).to_have_text("$20.00")
    page.get_by_label("Coupon code").fill("bundle10")  # the live quote: no "Apply" press needed
    expect(page.get_by_test_id("discount")).to_have_text("−$7.70")
    expect(page).to_have_url(f"{live_server.url}/bundles/{bundle.slug}")  # swapped in place, not reloaded
    expect(page.get_by_test_id("final-price")).to_have_text("$69.30")
    page.get_by_role("button", name="Buy the bundle").click()

    expect(page).to_have_url(re.compile(r"/c/pay/cs_test_"))
    expect(page.get_by_test_id("discount-line")).to_contain_text("BUNDLE10")
    pay_with_4242(page, "$69.30")

    expect(page).to_have_url(re.compile(r"/checkout/success\?session_id=cs_test_"))
    expect(page.get_by_role("heading", name="You're enrolled!")).to_be_visible()
    expect(page.get_by_test_id("paid-amount")).to_have_text("$69.30")
    for course in courses:
        expect(page.get_by_test_id("paid-courses").get_by_role("link", name=course.title)).to_be_visible()

    db.session.expire_all()
    [ps] = db.session.scalars(db.select(PaymentSession)).all()
    enrolled = list(db.session.scalars(db.select(Enrollment).where(Enrollment.payment_id == ps.id)))
    assert len(enrolled) == 3 and sum(e.amount_paid for e in enrolled) == ps.final_amount == 6930
    assert {e.source for e in enrolled} == {EnrollmentSource.BUNDLE}
    assert sandbox.state.sessions[ps.stripe_session_id]["amount_total"] == 6930

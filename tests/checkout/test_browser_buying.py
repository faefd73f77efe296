"""Buying in a real browser (issue 17, "Buying"): Stripe's page shows the code and its discount
and charges exactly our quote (USD, EUR, JPY); the busy state of a code check; one error on a
refused Buy; "Enroll for free" for a 100% code."""
import re

import pytest
from playwright.sync_api import expect

from extensions import db
from models import Enrollment, PaymentSession, PaymentSessionStatus
from tests import factories
from tests.helpers import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, live_server, email="bea@example.com"):
    factories.user(email=email, name="Bea Buyer")
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def pay_with_4242(page, amount: str):
    page.locator("#card_number").fill("4242 4242 4242 4242")
    page.get_by_placeholder("MM / YY").fill("12 / 34")
    page.get_by_placeholder("CVC").fill("123")
    page.locator("#card_name").fill("Bea Buyer")
    page.get_by_role("button", name=f"Pay {amount}").click()


@pytest.mark.parametrize("currency, price, coupon_args, list_price, discount, total", [
    ("USD", 12900, {"amount_off": 2000, "currency": "USD"}, "$129.00", "−$20.00", "$109.00"),
    ("EUR", 4990, {"percent": 15}, "€49.90", "−€7.49", "€42.41"),
    ("JPY", 12345, {"percent": "12.5"}, "¥12,345", "−¥1,543", "¥10,802"),
])
def test_stripes_page_shows_the_code_and_charges_exactly_our_quote(
        live_server, page, sandbox, currency, price, coupon_args, list_price, discount, total):
    course = factories.course(slug="course-" + currency.lower(), title="Python 101", price=price, currency=currency)
    factories.coupon(code="SAVE20", **coupon_args)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/courses/{course.slug}?coupon=SAVE20")
    expect(page.get_by_test_id("final-price")).to_have_text(total)
    expect(page.get_by_test_id("discount")).to_have_text(discount)
    page.get_by_role("button", name="Buy now").click()

    expect(page).to_have_url(re.compile(r"/c/pay/cs_test_"))
    line = page.get_by_test_id("discount-line")
    expect(line).to_contain_text("SAVE20")
    expect(line).to_contain_text(discount)
    expect(page.get_by_test_id("subtotal")).to_contain_text(list_price)
    expect(page.get_by_text("Total due")).to_be_visible()
    pay_with_4242(page, total)

    expect(page).to_have_url(re.compile(r"/checkout/success\?session_id=cs_test_"))
    expect(page.get_by_role("heading", name="You're enrolled!")).to_be_visible()
    expect(page.get_by_test_id("paid-list-price")).to_have_text(list_price)
    expect(page.get_by_test_id("paid-discount")).to_have_text(discount)
    expect(page.get_by_test_id("paid-amount")).to_have_text(total)
    page.get_by_role("link", name="View your receipt").click()
    expect(page.get_by_test_id("receipt-charged")).to_have_text(total)

    db.session.expire_all()
    [ps] = db.session.scalars(db.select(PaymentSession)).all()
    stripe_session = sandbox.state.sessions[ps.stripe_session_id]
    intent = sandbox.state.payment_intents[stripe_session["payment_intent"]]
    # To the minor unit: what Stripe charged is our quote.
    assert stripe_session["amount_total"] == intent["amount_received"] == ps.final_amount
    assert stripe_session["total_details"]["amount_discount"] == ps.discount_amount
    assert ps.status == PaymentSessionStatus.COMPLETED and not ps.needs_review
    assert db.session.get(Enrollment, ps.enrollment_id).amount_paid == ps.final_amount


def test_while_a_code_is_checked_the_price_is_busy_and_buy_waits(live_server, page, paid_course):
    factories.coupon(code="SAVE10", percent=10)
    held = []

    def hold_code_checks(route):
        if route.request.method == "POST" and route.request.headers.get("hx-request"):
            held.append(route)  # answered below, once the busy state has been seen
        else:
            route.continue_()

    page.route(re.compile(r".*/courses/python-101$"), hold_code_checks)
    page.goto(live_server.url + "/courses/python-101")
    buy, summary = page.locator("#buy-button"), page.locator("#price-summary")
    checking = page.get_by_text("Checking…")
    expect(checking).to_be_hidden()
    expect(buy).to_be_enabled()

    page.get_by_label("Coupon code").fill("save10")
    expect(checking).to_be_visible()
    expect(summary).to_have_attribute("aria-busy", "true")
    expect(buy).to_be_disabled()
    assert len(held) == 1
    held[0].continue_()

    expect(page.get_by_test_id("final-price")).to_have_text("$89.10")
    expect(checking).to_be_hidden()
    expect(page.locator("#price-summary")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#buy-button")).to_be_enabled()
    page.unroute(re.compile(r".*/courses/python-101$"))


def test_buy_with_a_refused_code_says_why_once_on_the_course_page(live_server, page, paid_course):
    sign_in(page, live_server)
    page.goto(live_server.url + "/courses/python-101")
    # Typed and bought at once, before the live check answers: the server refuses it.
    page.get_by_label("Coupon code").fill("NOPE")
    page.get_by_role("button", name="Buy now").click()
    expect(page).to_have_url(re.compile(r"/courses/python-101\?coupon=NOPE$"))
    expect(page.get_by_role("alert")).to_have_count(1)
    expect(page.get_by_role("alert")).to_contain_text("We don't know that code")
    expect(page.get_by_label("Coupon code")).to_have_value("NOPE")

    page.get_by_role("button", name="Buy now").click()  # again, with the reason already shown
    expect(page).to_have_url(re.compile(r"/courses/python-101\?coupon=NOPE$"))
    expect(page.get_by_role("alert")).to_have_count(1)
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(PaymentSession)) == 0


def test_a_full_discount_says_enroll_for_free_and_enrolls(live_server, page, paid_course, sandbox):
    factories.coupon(code="FREE100", percent=100)
    sign_in(page, live_server)
    page.goto(live_server.url + "/courses/python-101")
    expect(page.locator("#buy-button")).to_have_text("Buy now")
    page.get_by_label("Coupon code").fill("free100")
    expect(page.get_by_test_id("final-price")).to_have_text("Free")
    expect(page.locator("#buy-button")).to_have_text("Enroll for free")
    page.get_by_role("button", name="Enroll for free").click()
    expect(page.get_by_text("You're enrolled in Python 101")).to_be_visible()
    assert not sandbox.state.sessions

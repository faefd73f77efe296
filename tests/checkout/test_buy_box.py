"""The buy box and the checkout pages (issue 17, "Buying"), through the test client: the busy
state's markup, "Enroll for free", one price for an open checkout, "Try again" with the code,
and what the success page says was paid."""
import re

import pytest

from extensions import db
from models import PaymentSession
from tests import factories
from tests.helpers import post_form

HTMX = {"HX-Request": "true"}


@pytest.fixture
def app_overrides(sandbox_config):
    return sandbox_config


def _text(response) -> str:
    return response.get_data(as_text=True)


def _buy_button(page: str) -> str:
    return re.search(r'<button[^>]*id="buy-button"[^>]*>(.*?)</button>', page, re.S).group(1).strip()


def _latest() -> PaymentSession:
    db.session.expire_all()
    return db.session.scalars(db.select(PaymentSession).order_by(PaymentSession.created_at.desc())).first()


def test_the_code_check_shows_checking_marks_the_price_busy_and_disables_buy(client, paid_course):
    page = _text(client.get("/courses/python-101"))
    field = re.search(r'<input[^>]*id="coupon_code"[^>]*>', page, re.S).group(0)
    assert 'hx-indicator="#coupon-checking"' in field and 'hx-disabled-elt="#buy-button"' in field
    apply = re.search(r'<button[^>]*formaction[^>]*>Apply</button>', page, re.S).group(0)
    assert 'hx-indicator="#coupon-checking"' in apply and 'hx-disabled-elt="#buy-button"' in apply
    assert re.search(r'id="coupon-checking"[^>]*role="status"[^>]*>Checking…<', page)
    form = re.search(r'<form[^>]*id="purchase-form"[^>]*>', page, re.S).group(0)
    assert "setAttribute('aria-busy', 'true')" in form and "removeAttribute('aria-busy')" in form
    assert 'aria-busy' not in re.search(r'<div id="price-summary"[^>]*>', page).group(0)  # only while checking


def test_a_full_discount_relabels_buy_as_enroll_for_free(client, paid_course):
    factories.coupon(code="FREE100", percent=100)
    factories.coupon(code="SAVE10", percent=10)
    assert _buy_button(_text(client.get("/courses/python-101"))) == "Buy now"
    assert _buy_button(_text(client.get("/courses/python-101?coupon=FREE100"))) == "Enroll for free"
    fragment = _text(post_form(client, "/courses/python-101", {"coupon_code": "free100"}, headers=HTMX))
    assert "<html" not in fragment and "this course is free for you" in fragment
    # The fragment relabels the page's button in place (out of band).
    assert re.search(r'<button[^>]*id="buy-button"[^>]*hx-swap-oob="true"[^>]*>Enroll for free</button>', fragment)
    fragment = _text(post_form(client, "/courses/python-101", {"coupon_code": "save10"}, headers=HTMX))
    assert _buy_button(fragment) == "Buy now"
    refused = _text(post_form(client, "/courses/python-101", {"coupon_code": "nope"}, headers=HTMX))
    assert _buy_button(refused) == "Buy now" and refused.count('role="alert"') == 1


def test_a_free_course_says_enroll_for_free(client, free_course):
    page = _text(client.get("/courses/git-basics"))
    assert "Enroll for free" in page and "Buy now" not in page


def test_enroll_for_free_with_a_full_discount_enrolls(signed_in, paid_course, sandbox):
    factories.coupon(code="FREE100", percent=100)
    response = post_form(signed_in, "/courses/python-101/checkout", {"coupon_code": "FREE100"})
    assert response.status_code == 303 and not sandbox.state.sessions
    assert "You are enrolled" in _text(signed_in.get("/courses/python-101"))


def test_an_open_checkout_shows_the_one_price_being_paid_with_resume_and_cancel(signed_in, paid_course):
    factories.coupon(code="SAVE10", percent=10)
    post_form(signed_in, "/courses/python-101/checkout", {"coupon_code": "SAVE10"})
    ps = _latest()
    page = _text(signed_in.get("/courses/python-101"))
    box = page[page.index('id="purchase-box"'):]
    assert box.count('data-testid="final-price"') == 1 and "$89.10" in box
    assert "$99.00" in box and "SAVE10" in box and "−$9.90" in box  # the list price and code it was opened with
    assert f'href="{ps.checkout_url}"' in box and "Resume checkout" in box
    assert f'action="/checkout/cancel?payment_session={ps.id}"' in box and "Cancel checkout" in box
    assert 'id="buy-button"' not in box and 'id="coupon_code"' not in box
    # Even when the page is opened with another code: the open checkout is what it shows.
    other = _text(signed_in.get("/courses/python-101?coupon=NOPE"))
    assert "We don&#39;t know that code" not in other and other.count('data-testid="final-price"') == 1


def test_try_again_after_a_cancel_keeps_the_code_while_it_is_valid(signed_in, paid_course):
    coupon = factories.coupon(code="SAVE10", percent=10)
    post_form(signed_in, "/courses/python-101/checkout", {"coupon_code": "SAVE10"})
    ps = _latest()
    page = _text(post_form(signed_in, f"/checkout/cancel?payment_session={ps.id}", {}))
    assert "Checkout cancelled" in page and "your code SAVE10 is free to use again" in page
    assert 'href="/courses/python-101?coupon=SAVE10">Try again' in page
    again = _text(signed_in.get("/courses/python-101?coupon=SAVE10"))
    assert "Code applied" in again and "$89.10" in again and _buy_button(again) == "Buy now"

    coupon.is_active = False
    db.session.commit()
    page = _text(signed_in.get(f"/checkout/cancel?payment_session={ps.id}"))
    assert 'href="/courses/python-101">Try again' in page and "free to use again" not in page


def test_the_success_page_says_what_was_paid_and_links_to_the_receipt(signed_in, paid_course, sandbox):
    factories.coupon(code="SAVE10", percent=10)
    post_form(signed_in, "/courses/python-101/checkout", {"coupon_code": "SAVE10"})
    ps = _latest()
    sandbox.sandbox.engine.pay_card(ps.stripe_session_id, "4242424242424242", "learner@example.com")
    page = _text(signed_in.get(f"/checkout/success?session_id={ps.stripe_session_id}"))
    assert "You're enrolled!" in page
    summary = page[page.index('data-testid="paid-summary"'):]
    for text in ("List price", "$99.00", "Code SAVE10", "−$9.90", "Amount paid", "$89.10"):
        assert text in summary
    receipt = f"/account/purchases/{ps.id}/receipt"
    assert f'href="{receipt}">View your receipt' in page
    assert "$89.10" in _text(signed_in.get(receipt))


def test_the_success_page_without_a_code_shows_no_discount(signed_in, paid_course, sandbox):
    post_form(signed_in, "/courses/python-101/checkout", {})
    ps = _latest()
    sandbox.sandbox.engine.pay_card(ps.stripe_session_id, "4242424242424242", "learner@example.com")
    page = _text(signed_in.get(f"/checkout/success?session_id={ps.stripe_session_id}"))
    assert 'data-testid="paid-discount"' not in page and page.count("$99.00") == 2  # list price and amount paid

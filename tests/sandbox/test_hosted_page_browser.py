"""The hosted page in a real browser formats the card expiry as it is typed, as Stripe's does,
and a page without JavaScript may send the digits alone."""
import pytest
import requests

from tests.sandbox.conftest import session_params

CARD = {"email": "lena@example.com", "card_number": "4242 4242 4242 4242", "card_cvc": "123",
        "card_name": "Lena Learner", "method": "card"}


@pytest.fixture
def session(stripe_client):
    return stripe_client.v1.checkout.sessions.create(params=session_params())


@pytest.mark.browser
def test_expiry_is_formatted_while_typed(session, page):
    page.goto(session.url)
    expiry = page.get_by_label("Expiration (MM / YY)")
    expiry.press_sequentially("1234", delay=20)
    assert expiry.input_value() == "12 / 34"
    expiry.fill("")
    expiry.press_sequentially("4", delay=20)
    assert expiry.input_value() == "04 / "  # no month starts with 4: Stripe adds the 0
    expiry.press("Backspace")  # deleting through the separator is not undone by the formatting
    assert expiry.input_value() == "04"
    expiry.fill("")
    expiry.press_sequentially("12x3", delay=20)
    assert expiry.input_value() == "12 / 3"
    assert page.get_by_role("main").count() == 1 and page.get_by_role("heading", level=1).count() == 1


@pytest.mark.parametrize("typed", ["12 / 34", "1234", "12/34"])
def test_expiry_digits_alone_are_accepted(session, typed):
    response = requests.post(session.url, data={**CARD, "card_expiry": typed}, allow_redirects=False, timeout=5)
    assert response.status_code == 303

"""The hosted checkout page, test cards, the delayed method, expiry and the control endpoints."""
import time

import pytest
import requests

from tests.sandbox.conftest import control, session_params

CARD_FORM = {"email": "lena@example.com", "card_expiry": "12 / 34", "card_cvc": "123",
             "card_name": "Lena Learner", "method": "card"}


@pytest.fixture
def session(stripe_client):
    return stripe_client.v1.checkout.sessions.create(params=session_params())


def pay(session, **fields):
    return requests.post(session.url, data={**CARD_FORM, **fields}, allow_redirects=False, timeout=5)


def event_types(sandbox):
    return [e["type"] for e in sandbox.events()]


def test_page_looks_like_a_checkout(session):
    page = requests.get(session.url, timeout=5)
    assert page.status_code == 200
    for text in ("Python 101", "$29.66", "lena@example.com", "Card information", "4242 4242 4242 4242",
                 "Test mode", session.cancel_url):
        assert text in page.text


def test_4242_succeeds_and_redirects_to_success_url(sandbox, session, stripe_client):
    response = pay(session, card_number="4242 4242 4242 4242")
    assert response.status_code == 303
    assert response.headers["Location"] == session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id)
    done = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (done.status, done.payment_status, done.url) == ("complete", "paid", None)
    assert done.customer_details.name == "Lena Learner"
    assert event_types(sandbox)[-3:] == ["charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]
    assert "This checkout is complete." in requests.get(session.url, timeout=5).text


@pytest.mark.parametrize("card, message, decline_code", [
    ("4000 0000 0000 0002", "Your card was declined.", "generic_decline"),
    ("4000 0000 0000 9995", "Your card has insufficient funds.", "insufficient_funds"),
])
def test_declined_card_shows_error_and_session_stays_open(sandbox, session, stripe_client, card, message, decline_code):
    response = pay(session, card_number=card)
    assert response.status_code == 200 and message in response.text
    after = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert after.status == "open" and after.payment_status == "unpaid"
    assert after.payment_intent.last_payment_error.decline_code == decline_code
    assert "payment_intent.payment_failed" in event_types(sandbox)
    assert "checkout.session.completed" not in event_types(sandbox)
    # The learner tries again in the same session.
    assert pay(session, card_number="4242424242424242").status_code == 303


@pytest.mark.parametrize("fields, message", [
    ({"card_number": "4242 4242 4242 4241"}, "card number is incorrect"),
    ({"card_number": "4242424242424242", "card_expiry": "01/20"}, "in the past"),
    ({"card_number": "4242424242424242", "card_cvc": ""}, "security code"),
])
def test_browser_side_validation_creates_nothing(sandbox, session, fields, message):
    response = pay(session, **fields)
    assert message in response.text
    assert sandbox.events() == []


def test_email_is_asked_when_the_session_has_none(sandbox, stripe_client):
    params = session_params()
    del params["customer_email"]
    session = stripe_client.v1.checkout.sessions.create(params=params)
    assert 'name="email" value=""' in requests.get(session.url, timeout=5).text
    assert "email address is incomplete" in pay(session, card_number="4242424242424242", email="nope").text
    assert pay(session, card_number="4242424242424242", email="sam@example.com").status_code == 303
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).customer_details.email == "sam@example.com"


@pytest.mark.parametrize("iban, outcome", [("AT611904300234573201", "succeeded"), ("AT861904300235473202", "failed")])
def test_delayed_method_completes_unpaid_then_settles(sandbox, session, stripe_client, iban, outcome):
    response = requests.post(session.url, data={"email": "lena@example.com", "method": "sepa_debit", "iban": iban},
                             allow_redirects=False, timeout=5)
    assert response.status_code == 303
    pending = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (pending.status, pending.payment_status, pending.payment_intent.status) == ("complete", "unpaid", "processing")

    control(sandbox, f"checkout/sessions/{session.id}/settle")
    settled = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert event_types(sandbox)[-1] == f"checkout.session.async_payment_{outcome}"
    assert settled.payment_status == ("paid" if outcome == "succeeded" else "unpaid")
    assert settled.payment_intent.status == ("succeeded" if outcome == "succeeded" else "requires_payment_method")


def test_delayed_payment_settles_by_itself_after_its_delay(sandbox, session, stripe_client):
    sandbox.settings["DELAYED_SETTLE_SECONDS"] = 60
    try:
        control(sandbox, f"checkout/sessions/{session.id}/pay", {"method": "delayed", "outcome": "succeeded"})
        control(sandbox, "clock/advance", {"seconds": 61})
    finally:
        sandbox.settings["DELAYED_SETTLE_SECONDS"] = None
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"


def test_overdue_sessions_expire_and_say_so(sandbox, session, stripe_client):
    pay(session, card_number="4000000000000002")  # leaves a PaymentIntent to cancel
    control(sandbox, "clock/advance", {"seconds": 86401})
    expired = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert expired.status == "expired" and expired.url is None
    assert expired.payment_intent.status == "canceled"
    assert event_types(sandbox)[-2:] == ["payment_intent.canceled", "checkout.session.expired"]
    assert "expired" in requests.get(session.url, timeout=5).text


def test_a_session_made_after_the_clock_moved_expires_by_real_time_like_stripe(sandbox, stripe_client):
    """Checkout is on no test clock: the app's `expires_at` (its own, real clock) is accepted after the
    sandbox clock was advanced a month, and the session lives that long on the sandbox clock."""
    control(sandbox, "clock/advance", {"days": 30})
    session = stripe_client.v1.checkout.sessions.create(params=session_params(expires_at=int(time.time()) + 3600))
    control(sandbox, "clock/advance", {"seconds": 3000})
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "open"
    control(sandbox, "clock/advance", {"seconds": 700})
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_background_sweep_expires_without_any_request(sandbox, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(params=session_params(expires_at=int(time.time()) + 1801))
    with sandbox.state.lock:
        sandbox.state.clock_offset = 1802  # no request follows: the worker's sweep must notice
    sandbox.wait_for(lambda: "checkout.session.expired" in event_types(sandbox), timeout=3)
    assert sandbox.state.sessions[session.id]["status"] == "expired"


def test_refund_and_dispute_lifecycle_through_control_endpoints(sandbox, paid_session):
    intent_id = paid_session.payment_intent.id
    refund = control(sandbox, f"payment_intents/{intent_id}/refund", {"amount": 500, "pending": True})
    assert refund["status"] == "pending"
    failed = control(sandbox, f"refunds/{refund['id']}/settle", {"outcome": "failed"})
    assert failed["status"] == "failed"
    assert sandbox.state.charges[refund["charge"]]["amount_refunded"] == 0

    dispute = control(sandbox, f"payment_intents/{intent_id}/dispute", {"reason": "fraudulent"})
    assert dispute["status"] == "needs_response" and dispute["id"].startswith("dp_")
    closed = control(sandbox, f"disputes/{dispute['id']}/close", {"outcome": "lost"})
    assert closed["status"] == "lost"
    control(sandbox, f"disputes/{dispute['id']}/close", {"outcome": "won"}, expect=400)
    assert event_types(sandbox)[-6:] == ["refund.created", "charge.refunded", "refund.failed", "refund.updated",
                                         "charge.dispute.created", "charge.dispute.closed"]


def test_hosted_page_waits_for_the_completed_webhook_before_redirecting(sandbox, session, webhook_receiver):
    import time

    webhook_receiver.delay = 0.3
    started = time.monotonic()
    assert pay(session, card_number="4242424242424242").status_code == 303
    assert time.monotonic() - started >= 0.3
    assert any(r["event"]["type"] == "checkout.session.completed" for r in webhook_receiver.requests)


def test_unknown_session_page_is_404(sandbox):
    assert requests.get(f"{sandbox.base_url}/c/pay/cs_test_nope", timeout=5).status_code == 404

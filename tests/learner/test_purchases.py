"""Receipts: the mail of every paid checkout, refund notices, /account/purchases and the
printable receipt (its learner and staff only)."""
import pytest

from extensions import db
from models import PaymentSession
from tests import factories
from tests.helpers import TEST_WEBHOOK_SECRET
from tests.webhooks import builders as b
from tests.webhooks.conftest import Delivery


@pytest.fixture
def app_overrides(sandbox_config, sandbox):
    # Our signed test events and the sandbox's both verify.
    return {**sandbox_config, "STRIPE_WEBHOOK_SECRETS": [TEST_WEBHOOK_SECRET, sandbox.webhook_secret]}


@pytest.fixture
def deliver(client):
    return Delivery(client)


@pytest.fixture
def paid(deliver, sandbox, learner, paid_course):
    """$99.00 with SPRING15 (-$14.85), paid on the sandbox with a Mastercard, fulfilled by the webhook."""
    coupon = factories.coupon(code="SPRING15", percent=15, courses=[paid_course])
    ps = factories.payment_session(learner, paid_course, coupon=coupon, discount=1485)
    session = b.open_on_sandbox(ps)
    b.sandbox_control(sandbox, f"checkout/sessions/{session['id']}/pay", {"card": "5555555555554444"})
    deliver("checkout.session.completed", b.checkout_session(ps))  # the event carries no card
    return deliver.reload(ps)


def test_a_paid_checkout_mails_a_full_receipt(paid, outbox):
    [message] = outbox
    body = message.get_content()
    assert message["Subject"] == "You're enrolled in Python 101"
    for text in ("List price:      $99.00", "Coupon:          SPRING15 (-$14.85)", "Amount charged:  $84.15",
                 "Paid with:       Mastercard ending in 4444", f"Payment id:      {paid.id}",
                 f"Date:            {paid.completed_at:%d %B %Y}", f"/account/purchases/{paid.id}/receipt"):
        assert text in body
    # The worker asked Stripe for the card once and kept it for the receipt page.
    assert paid.extra["card"] == {"brand": "mastercard", "last4": "4444"}


def test_the_receipt_page_is_for_its_learner_and_staff_only(paid, client, sign_in, learner, staff):
    path = f"/account/purchases/{paid.id}/receipt"
    assert client.get(path).status_code == 302  # sign in first
    sign_in(client, learner)
    page = client.get(path).get_data(as_text=True)
    assert "$84.15" in page and "SPRING15" in page and "Mastercard ending in 4444" in page and paid.id in page
    sign_in(client, factories.user(email="someone@example.com"))
    assert client.get(path).status_code == 404
    assert client.get("/account/purchases/ps_nonsense/receipt").status_code == 404
    sign_in(client, staff)
    assert client.get(path).status_code == 200


def test_an_unpaid_checkout_has_no_receipt(client, sign_in, learner, paid_course):
    pending = factories.payment_session(learner, paid_course)
    sign_in(client, learner)
    assert client.get(f"/account/purchases/{pending.id}/receipt").status_code == 404
    assert "No purchases yet" in client.get("/account/purchases").get_data(as_text=True)


def test_a_refund_mails_a_notice_once_and_shows_in_purchases(paid, deliver, outbox, client, sign_in, learner):
    evt = deliver("charge.refunded", b.charge(paid, amount_refunded=2000))
    deliver.again(evt)  # redelivered: no second notice
    deliver("refund.created", b.refund(paid, amount=2000))  # the same refund reported again
    receipt, notice = outbox
    assert notice["Subject"] == "Your refund for Python 101"
    assert "We have refunded $20.00" in notice.get_content()
    deliver("charge.refunded", b.charge(paid, amount_refunded=paid.final_amount))  # the rest
    assert len(outbox) == 3 and "In all, $84.15 of $84.15 is refunded" in outbox[2].get_content()
    sign_in(client, learner)
    page = client.get("/account/purchases").get_data(as_text=True)
    assert "Python 101" in page and "$20.00" in page and "$64.15" in page
    assert f"/account/purchases/{paid.id}/receipt" in page
    db.session.expire_all()
    assert db.session.get(PaymentSession, paid.id).amount_refunded == paid.final_amount


def test_the_receipt_states_the_refund_policy_in_words(paid, outbox, client, sign_in, learner, staff, paid_course):
    """Issue 19: the terms in the mail (rendered by the worker, not the paid webhook) and on the
    printable receipt, with the coupon note."""
    from services.payments import refund_policy

    body = outbox[0].get_content()
    assert "Refunds: You can ask for a refund within 14 days of buying. Up to 30%" in body
    assert "A coupon used for the purchase is not given back by a refund." in body
    refund_policy.set_course_override(paid_course, mode="no_refunds", actor=staff)
    db.session.commit()
    sign_in(client, learner)
    page = client.get(f"/account/purchases/{paid.id}/receipt").get_data(as_text=True)
    assert 'data-testid="receipt-refund-terms"' in page and "This course cannot be refunded." in page


def test_a_refund_notice_says_what_happens_to_access_per_the_policy(paid, deliver, outbox, staff):
    from services.payments import refund_policy

    refund_policy.update(window_days=14, max_progress_percent=30, revokes_access=False, actor=staff)
    db.session.commit()
    deliver("charge.refunded", b.charge(paid, amount_refunded=paid.final_amount))
    assert "You keep your access to the course." in outbox[-1].get_content()
    [enrollment] = deliver.enrollments(paid)
    assert enrollment.status.value == "ACTIVE" and enrollment.payment_status.value == "REFUNDED"

"""The "you're enrolled" mail (the receipt): queued once per paid checkout, in the fulfillment's transaction."""
from services.payments import stripe_events
from tests.webhooks import builders as b


def test_a_paid_checkout_mails_the_learner_once(deliver, ps, outbox):
    evt = deliver("checkout.session.completed", b.checkout_session(ps))
    deliver.again(evt)  # a redelivery
    deliver("checkout.session.async_payment_succeeded", b.checkout_session(ps))  # a twin event
    [message] = outbox
    ps = deliver.reload(ps)
    assert message["To"] == ps.user.email
    assert message["Subject"] == f"You're enrolled in {ps.course.title}"
    body = message.get_content()
    assert "$84.15" in body and ps.id in body and "SPRING15" in body
    assert f"/courses/{ps.course.slug}" in body and "/dashboard" in body


def test_no_mail_while_a_delayed_payment_is_processing(deliver, ps, outbox):
    deliver("checkout.session.completed", b.checkout_session(ps, payment_status="unpaid"))
    assert outbox == []
    deliver("checkout.session.async_payment_succeeded", b.checkout_session(ps))
    assert len(outbox) == 1


def test_a_failed_delivery_sends_nothing_and_its_retry_sends_once(deliver, ps, outbox, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("injected failure after the enrollment")
    monkeypatch.setattr(stripe_events, "adopt_orphans", boom)
    evt = deliver("checkout.session.completed", b.checkout_session(ps), expect=500)
    assert outbox == []  # the transaction rolled back: nothing was announced
    monkeypatch.undo()
    deliver.again(evt)
    assert len(outbox) == 1


def test_no_mail_for_a_session_that_expired_unpaid(deliver, ps, outbox):
    deliver("checkout.session.expired", b.checkout_session(ps, status="expired", payment_status="unpaid",
                                                            payment_intent=None))
    assert outbox == []

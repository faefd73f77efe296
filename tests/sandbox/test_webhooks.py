"""Webhook delivery: Stripe's signature, background retries, resend, out-of-order batches."""
import time

import pytest
import stripe

from tests.sandbox.conftest import control, session_params


def completed_session(stripe_client, sandbox):
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    control(sandbox, f"checkout/sessions/{session.id}/pay", {"card": "4242424242424242"})
    return session


def test_delivered_webhook_verifies_with_stripe_library(sandbox, stripe_client, webhook_receiver):
    session = completed_session(stripe_client, sandbox)
    received = webhook_receiver.wait_for(4)  # payment_intent.created, charge.succeeded, pi.succeeded, completed
    completed = next(r for r in received if r["event"]["type"] == "checkout.session.completed")

    header = completed["headers"]["Stripe-Signature"]
    assert header.startswith("t=") and ",v1=" in header
    assert completed["headers"]["Content-Type"].startswith("application/json")
    event = stripe.Webhook.construct_event(completed["body"], header, sandbox.webhook_secret)
    assert event.type == "checkout.session.completed"
    assert event.data.object.id == session.id and event.data.object.payment_status == "paid"
    assert event.api_version == "2026-10-28.endive" and event.livemode is False

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(completed["body"].replace(b"paid", b"unpaid"), header,
                                       sandbox.webhook_secret)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(completed["body"], header, "whsec_not_the_right_one")


def test_delivery_retries_until_the_endpoint_answers_2xx(sandbox, stripe_client, webhook_receiver):
    webhook_receiver.statuses = [500, 503, 302, 200]  # a redirect counts as a failure too
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    stripe_client.v1.checkout.sessions.expire(session.id)

    received = webhook_receiver.wait_for(4)
    assert [r["status"] for r in received] == [500, 503, 302, 200]
    assert len({r["event"]["id"] for r in received}) == 1  # the same event each time...
    assert len({r["body"] for r in received}) == 1          # ...the same bytes, re-signed
    event_id = received[0]["event"]["id"]
    sandbox.wait_for(lambda: stripe_client.v1.events.retrieve(event_id).pending_webhooks == 0)
    assert stripe_client.v1.events.list(params={"delivery_success": False}).data == []
    [delivery] = [d for d in sandbox.state.deliveries.values() if d.event_id == event_id]
    assert delivery.status == "succeeded" and [a["status"] for a in delivery.attempts] == [500, 503, 302, 200]


def test_delivery_gives_up_after_max_attempts(sandbox, stripe_client, webhook_receiver):
    webhook_receiver.statuses = [500] * 10
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    stripe_client.v1.checkout.sessions.expire(session.id)
    webhook_receiver.wait_for(sandbox.settings["MAX_ATTEMPTS"])
    sandbox.wait_for(lambda: any(d.status == "failed" for d in sandbox.state.deliveries.values()))
    time.sleep(0.3)
    assert len(webhook_receiver.requests) == sandbox.settings["MAX_ATTEMPTS"]
    undelivered = stripe_client.v1.events.list(params={"delivery_success": False}).data
    assert [e.type for e in undelivered] == ["checkout.session.expired"]
    assert undelivered[0].pending_webhooks == 1


def test_a_slow_endpoint_never_blocks_the_api(sandbox, stripe_client, webhook_receiver):
    webhook_receiver.delay = 1.0
    started = time.monotonic()
    for _ in range(3):
        session = stripe_client.v1.checkout.sessions.create(params=session_params())
        stripe_client.v1.checkout.sessions.expire(session.id)
    assert time.monotonic() - started < 0.8


def test_resend_delivers_the_event_again(sandbox, stripe_client, webhook_receiver):
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    stripe_client.v1.checkout.sessions.expire(session.id)
    [first] = webhook_receiver.wait_for(1)
    control(sandbox, f"events/{first['event']['id']}/resend")
    second = webhook_receiver.wait_for(2)[1]
    assert second["event"]["id"] == first["event"]["id"] and second["body"] == first["body"]


def test_a_held_batch_is_delivered_out_of_order(sandbox, stripe_client, webhook_receiver):
    control(sandbox, "webhooks/pause")
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    control(sandbox, f"checkout/sessions/{session.id}/pay", {"card": "4242424242424242"})
    created_order = [e["type"] for e in sandbox.events()]
    time.sleep(0.1)
    assert webhook_receiver.requests == []  # held while paused

    control(sandbox, "events/deliver_out_of_order")
    received = webhook_receiver.wait_for(len(created_order))
    assert [r["event"]["type"] for r in received] == list(reversed(created_order))
    assert received[0]["event"]["type"] == "checkout.session.completed"


def test_events_page_lists_attempts_and_offers_resend(sandbox, stripe_client, webhook_receiver):
    import requests

    webhook_receiver.statuses = [500]
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    stripe_client.v1.checkout.sessions.expire(session.id)
    webhook_receiver.wait_for(2)
    # The receiver sees the retry before the sandbox has written down its answer: poll the page.
    deadline = time.monotonic() + 5
    while True:
        page = requests.get(f"{sandbox.base_url}/_sandbox/events", timeout=5).text
        if ("500" in page and "200" in page) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert "checkout.session.expired" in page and "500" in page and "200" in page and "Resend" in page

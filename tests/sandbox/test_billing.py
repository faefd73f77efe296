"""Stripe Billing in the sandbox through the real `stripe` library: Checkout in subscription
mode, subscriptions, invoices and invoice payments, with Stripe's shapes for API
2026-10-28.endive (the period on the item, the subscription under invoice.parent)."""
import pytest
import stripe

from tests.sandbox.conftest import control

DAY = 86400


def subscription_params(**overrides) -> dict:
    params = {
        "mode": "subscription",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": "usd", "unit_amount": 2900, "recurring": {"interval": "month"},
            "product_data": {"name": "All-Access"}}}],
        "success_url": "http://127.0.0.1:5000/memberships/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:5000/memberships",
        "customer_email": "lena@example.com",
        "client_reference_id": "ps_7",
        "metadata": {"payment_session_id": "7"},
        "subscription_data": {"metadata": {"membership_id": "3"}},
    }
    params.update(overrides)
    return params


def subscribe(sandbox, client, card="4242424242424242", expect=200, **overrides):
    session = client.v1.checkout.sessions.create(params=subscription_params(**overrides))
    control(sandbox, f"checkout/sessions/{session.id}/pay", {"card": card}, expect=expect)
    return client.v1.checkout.sessions.retrieve(session.id)


def types(sandbox) -> list[str]:
    return [e["type"] for e in sandbox.events()]


def test_a_paid_subscription_checkout_creates_subscription_invoice_and_payment(sandbox, stripe_client):
    session = subscribe(sandbox, stripe_client)
    assert (session.status, session.payment_status, session.mode) == ("complete", "paid", "subscription")
    assert session.payment_intent is None and session.subscription.startswith("sub_")
    assert session.customer.startswith("cus_") and session.invoice.startswith("in_")

    sub = stripe_client.v1.subscriptions.retrieve(session.subscription)
    assert sub.status == "active" and sub.customer == session.customer and sub.metadata["membership_id"] == "3"
    item = sub["items"].data[0]
    assert item.price.recurring.interval == "month" and item.price.unit_amount == 2900
    assert item.current_period_start == sub.start_date and item.current_period_end > item.current_period_start + 27 * DAY
    assert "current_period_end" not in sub  # API 2025-03-31+: the period lives on the item
    assert sub.latest_invoice == session.invoice and sub.default_payment_method.startswith("pm_")

    invoice = stripe_client.v1.invoices.retrieve(session.invoice, params={"expand": ["payments"]})
    assert (invoice.status, invoice.billing_reason, invoice.amount_due, invoice.amount_paid,
            invoice.amount_remaining) == ("paid", "subscription_create", 2900, 2900, 0)
    assert invoice.parent.subscription_details.subscription == sub.id
    assert invoice.parent.subscription_details.metadata["membership_id"] == "3"
    assert "payment_intent" not in invoice and "charge" not in invoice
    assert invoice.lines.data[0].period.end == item.current_period_end
    assert invoice.status_transitions.paid_at and invoice.hosted_invoice_url.startswith("http")
    [payment] = invoice.payments.data
    assert payment.status == "paid" and payment.amount_paid == 2900
    listed = stripe_client.v1.invoice_payments.list(params={"invoice": invoice.id}).data
    assert [p.id for p in listed] == [payment.id]
    intent = stripe_client.v1.payment_intents.retrieve(payment.payment.payment_intent)
    assert intent.status == "succeeded" and intent.customer == sub.customer and intent.amount == 2900

    customer = stripe_client.v1.customers.retrieve(session.customer)
    assert customer.email == "lena@example.com"
    assert customer.invoice_settings.default_payment_method == sub.default_payment_method
    assert stripe_client.v1.payment_methods.retrieve(sub.default_payment_method).card.last4 == "4242"

    assert types(sandbox) == [
        "customer.created", "payment_method.attached", "customer.updated", "customer.subscription.created",
        "invoice.created", "invoice.finalized", "payment_intent.created", "charge.succeeded",
        "payment_intent.succeeded", "invoice_payment.paid", "invoice.paid", "invoice.payment_succeeded",
        "customer.subscription.updated", "checkout.session.completed"]
    created = sandbox.events("customer.subscription.created")[0]
    assert created["data"]["object"]["status"] == "incomplete"
    updated = sandbox.events("customer.subscription.updated")[0]
    assert updated["data"]["previous_attributes"] == {"status": "incomplete"}
    completed = sandbox.events("checkout.session.completed")[0]["data"]["object"]
    assert (completed["subscription"], completed["invoice"]) == (sub.id, invoice.id)


def test_an_existing_customer_is_reused(sandbox, stripe_client):
    customer = stripe_client.v1.customers.create(params={"email": "ada@example.com"})
    params = subscription_params(customer=customer.id)
    del params["customer_email"]
    session = stripe_client.v1.checkout.sessions.create(params=params)
    control(sandbox, f"checkout/sessions/{session.id}/pay", {"card": "4242424242424242"})
    session = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["subscription"]})
    assert session.customer == customer.id and session.subscription.customer == customer.id
    assert "customer.created" not in types(sandbox)[1:]


def test_a_trial_collects_the_card_and_charges_nothing(sandbox, stripe_client):
    session = subscribe(sandbox, stripe_client, subscription_data={"trial_period_days": 14})
    assert (session.payment_status, session.amount_total) == ("no_payment_required", 0)
    sub = stripe_client.v1.subscriptions.retrieve(session.subscription)
    assert sub.status == "trialing" and sub.trial_end - sub.trial_start == 14 * DAY
    assert sub["items"].data[0].current_period_end == sub.trial_end
    invoice = stripe_client.v1.invoices.retrieve(session.invoice)
    assert (invoice.status, invoice.amount_due, invoice.amount_paid) == ("paid", 0, 0)
    assert stripe_client.v1.invoice_payments.list(params={"invoice": invoice.id}).data == []
    assert "payment_intent.created" not in types(sandbox) and "customer.subscription.updated" not in types(sandbox)
    assert sandbox.events("customer.subscription.created")[0]["data"]["object"]["status"] == "trialing"


def test_the_failing_card_is_declined_at_checkout_when_something_is_due(sandbox, stripe_client):
    session = subscribe(sandbox, stripe_client, card="4000000000000341", expect=402)
    assert session.status == "open" and session.subscription is None
    assert stripe_client.v1.subscriptions.list().data == []


def test_a_once_coupon_discounts_the_first_invoice_only(sandbox, stripe_client):
    stripe_client.v1.coupons.create(params={"id": "WELCOME", "percent_off": 50, "duration": "once"})
    session = subscribe(sandbox, stripe_client, discounts=[{"coupon": "WELCOME"}])
    assert (session.amount_subtotal, session.amount_total) == (2900, 1450)
    first = stripe_client.v1.invoices.retrieve(session.invoice)
    assert (first.subtotal, first.total, first.amount_paid) == (2900, 1450, 1450)
    assert first.total_discount_amounts[0].amount == 1450
    sandbox.advance_clock(days=32)
    renewal = stripe_client.v1.invoices.list(params={"subscription": session.subscription}).data[0]
    assert renewal.billing_reason == "subscription_cycle" and renewal.amount_paid == 2900
    assert stripe_client.v1.coupons.retrieve("WELCOME").times_redeemed == 1


@pytest.mark.parametrize("overrides, param", [
    ({"mode": "payment", "subscription_data": None}, "line_items[0][price_data][recurring]"),
    ({"payment_intent_data": {"metadata": {"x": "1"}}}, "payment_intent_data"),
    ({"customer_creation": "always"}, "customer_creation"),
    ({"subscription_data": {"trial_period_days": 7, "trial_end": 4102444800}}, "subscription_data[trial_end]"),
    ({"subscription_data": {"trial_period_days": 0}}, "subscription_data[trial_period_days]"),
    ({"line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 2900,
                                                     "product_data": {"name": "One-off"}}}]}, "line_items"),
    ({"line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 2900,
                                                     "recurring": {"interval": "fortnight"},
                                                     "product_data": {"name": "X"}}}]},
     "line_items[0][price_data][recurring][interval]"),
    ({"subscription_data": {"trial_days": 7}}, "subscription_data[trial_days]"),
])
def test_what_stripe_refuses_is_refused(stripe_client, overrides, param):
    params = subscription_params(**overrides)
    params = {k: v for k, v in params.items() if v is not None}
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.create(params=params)
    assert refused.value.param == param and refused.value.http_status == 400


def test_subscription_data_in_payment_mode_is_refused(stripe_client):
    from tests.sandbox.conftest import session_params
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.create(params=session_params(subscription_data={"trial_period_days": 7}))
    assert refused.value.param == "subscription_data"


def test_list_subscriptions_by_customer_and_status(sandbox, stripe_client):
    first = subscribe(sandbox, stripe_client)
    other = subscribe(sandbox, stripe_client, customer_email="ada@example.com")
    listed = stripe_client.v1.subscriptions.list(params={"customer": first.customer}).data
    assert [s.id for s in listed] == [first.subscription]
    stripe_client.v1.subscriptions.cancel(other.subscription)
    assert [s.id for s in stripe_client.v1.subscriptions.list().data] == [first.subscription]
    assert [s.id for s in stripe_client.v1.subscriptions.list(params={"status": "canceled"}).data] == [
        other.subscription]
    assert len(stripe_client.v1.subscriptions.list(params={"status": "all"}).data) == 2
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.subscriptions.list(params={"status": "gone"})


def test_cancel_at_period_end_and_resume_send_updated_with_previous_attributes(sandbox, stripe_client):
    session = subscribe(sandbox, stripe_client)
    sub = stripe_client.v1.subscriptions.update(session.subscription, params={"cancel_at_period_end": True})
    period_end = sub["items"].data[0].current_period_end
    assert sub.cancel_at_period_end is True and sub.cancel_at == period_end and sub.canceled_at
    assert sub.status == "active" and sub.cancellation_details.reason == "cancellation_requested"
    event = sandbox.events("customer.subscription.updated")[-1]
    assert event["data"]["previous_attributes"]["cancel_at_period_end"] is False
    sub = stripe_client.v1.subscriptions.update(session.subscription, params={"cancel_at_period_end": False})
    assert (sub.cancel_at_period_end, sub.cancel_at, sub.canceled_at) == (False, None, None)
    stripe_client.v1.subscriptions.update(session.subscription, params={"cancel_at_period_end": True})
    sandbox.advance_clock(days=40)
    sub = stripe_client.v1.subscriptions.retrieve(session.subscription)
    assert sub.status == "canceled" and sub.ended_at == period_end
    deleted = sandbox.events("customer.subscription.deleted")
    assert len(deleted) == 1 and deleted[0]["created"] == period_end
    assert len(stripe_client.v1.invoices.list(params={"subscription": sub.id}).data) == 1  # no renewal


def test_cancel_now_and_what_a_canceled_subscription_refuses(sandbox, stripe_client):
    session = subscribe(sandbox, stripe_client)
    sub = stripe_client.v1.subscriptions.cancel(session.subscription)
    assert sub.status == "canceled" and sub.ended_at and sub.canceled_at
    assert types(sandbox)[-1] == "customer.subscription.deleted"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.subscriptions.cancel(sub.id)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.subscriptions.retrieve("sub_missing")
    assert missing.value.http_status == 404


def test_default_payment_method_must_belong_to_the_customer(sandbox, stripe_client):
    mine = subscribe(sandbox, stripe_client)
    theirs = subscribe(sandbox, stripe_client, customer_email="ada@example.com")
    their_pm = stripe_client.v1.subscriptions.retrieve(theirs.subscription).default_payment_method
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.subscriptions.update(mine.subscription, params={"default_payment_method": their_pm})
    assert refused.value.param == "default_payment_method"


def test_refund_and_dispute_an_invoice_payment(sandbox, stripe_client):
    session = subscribe(sandbox, stripe_client)
    [payment] = stripe_client.v1.invoice_payments.list(params={"invoice": session.invoice}).data
    intent_id = payment.payment.payment_intent
    refund = stripe_client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 900})
    assert refund.status == "succeeded" and refund.amount == 900
    assert types(sandbox)[-2:] == ["refund.created", "charge.refunded"]
    dispute = control(sandbox, f"payment_intents/{intent_id}/dispute", {})
    assert dispute["amount"] == 2000 and types(sandbox)[-1] == "charge.dispute.created"


def test_lists_page_like_stripe(sandbox, stripe_client):
    first = subscribe(sandbox, stripe_client)
    sandbox.advance_clock(days=65)
    invoices = stripe_client.v1.invoices.list(params={"customer": first.customer, "limit": 2})
    assert len(invoices.data) == 2 and invoices.has_more
    rest = stripe_client.v1.invoices.list(params={"customer": first.customer,
                                                  "starting_after": invoices.data[-1].id})
    assert [i.id for i in rest.data] == [first.invoice] and not rest.has_more


def test_invoice_lines_list(sandbox, stripe_client):
    session = subscribe(sandbox, stripe_client)
    lines = stripe_client.v1.invoices.line_items.list(session.invoice).data
    assert len(lines) == 1 and lines[0].object == "line_item" and lines[0].amount == 2900
    assert lines[0].parent.subscription_item_details.subscription == session.subscription


def test_trial_days_count_from_when_the_customer_subscribes(sandbox, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(params=subscription_params(
        subscription_data={"trial_period_days": 7}))
    sandbox.advance_clock(seconds=3600)  # the learner takes an hour on the page
    control(sandbox, f"checkout/sessions/{session.id}/pay", {"card": "4242424242424242"})
    sub = stripe_client.v1.subscriptions.retrieve(stripe_client.v1.checkout.sessions.retrieve(session.id).subscription)
    assert sub.trial_start >= session.created + 3600 and sub.trial_end == sub.trial_start + 7 * DAY

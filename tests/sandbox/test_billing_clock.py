"""The sandbox clock drives Stripe Billing: renewals charge the saved card, the failing card
4000 0000 0000 0341 makes a subscription past_due and is retried (days 3, 8, 15) before the
subscription is canceled (or left unpaid), trials end, and every state change is a
customer.subscription.updated with previous_attributes whose `created` follows the clock."""
import requests

from tests.sandbox.conftest import control
from tests.sandbox.test_billing import DAY, subscribe, types


def invoices(client, sub_id):
    return client.v1.invoices.list(params={"subscription": sub_id}).data


def since(sandbox, mark: int) -> list[str]:
    return [e["type"] for e in sandbox.events()[mark:]]


def test_a_renewal_charges_the_saved_card(sandbox, stripe_client):
    session = subscribe(sandbox, stripe_client)
    sub = stripe_client.v1.subscriptions.retrieve(session.subscription)
    period_end = sub["items"].data[0].current_period_end
    mark = len(sandbox.events())
    sandbox.advance_clock(days=20)
    assert since(sandbox, mark) == []  # nothing due yet
    now = sandbox.advance_clock(days=15)
    assert now >= period_end + 4 * DAY
    assert since(sandbox, mark) == [
        "invoice.created", "invoice.finalized", "customer.subscription.updated", "payment_intent.created",
        "charge.succeeded", "payment_intent.succeeded", "invoice_payment.paid", "invoice.paid",
        "invoice.payment_succeeded"]
    renewed = stripe_client.v1.subscriptions.retrieve(sub.id)
    item = renewed["items"].data[0]
    assert renewed.status == "active" and item.current_period_start == period_end
    assert item.current_period_end > period_end + 27 * DAY
    latest = stripe_client.v1.invoices.retrieve(renewed.latest_invoice)
    assert (latest.billing_reason, latest.status, latest.amount_paid) == ("subscription_cycle", "paid", 2900)
    assert latest.lines.data[0].period.start == period_end and latest.created == period_end
    assert latest.period_end == period_end  # Stripe: the invoice's period is the one just ended
    updated = sandbox.events("customer.subscription.updated")[-1]
    assert updated["created"] == period_end
    assert updated["data"]["previous_attributes"]["items"]["data"][0]["current_period_end"] == period_end
    assert updated["data"]["previous_attributes"]["latest_invoice"] == session.invoice


def test_the_clock_control_endpoint_and_events_page_button(sandbox, stripe_client):
    subscribe(sandbox, stripe_client)
    before = requests.get(f"{sandbox.base_url}/_sandbox/clock", timeout=5).json()["now"]
    after = control(sandbox, "clock/advance", {"days": 31})["now"]
    assert after - before >= 31 * DAY
    page = requests.get(f"{sandbox.base_url}/_sandbox/events", timeout=5).text
    assert "Advance clock" in page and "invoice.payment_succeeded" in page
    response = requests.post(f"{sandbox.base_url}/_sandbox/clock/advance", data={"days": "1", "_back": "1"},
                             allow_redirects=False, timeout=5)
    assert response.status_code == 303
    assert control(sandbox, "clock/advance", {"to": before}, expect=400)["error"]["param"] == "to"
    assert control(sandbox, "clock/advance", {"days": 4000}, expect=400)["error"]["param"] == "days"


def test_a_trial_warns_three_days_before_and_charges_at_its_end(sandbox, stripe_client):
    session = subscribe(sandbox, stripe_client, subscription_data={"trial_period_days": 14})
    sub = stripe_client.v1.subscriptions.retrieve(session.subscription)
    sandbox.advance_clock(days=10)
    assert "customer.subscription.trial_will_end" not in types(sandbox)
    sandbox.advance_clock(days=1.5)
    [warning] = sandbox.events("customer.subscription.trial_will_end")
    assert warning["created"] == sub.trial_end - 3 * DAY
    assert "payment_intent.created" not in types(sandbox)
    sandbox.advance_clock(days=3)
    active = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert active.status == "active" and active["items"].data[0].current_period_start == sub.trial_end
    first_charge = stripe_client.v1.invoices.retrieve(active.latest_invoice)
    assert (first_charge.billing_reason, first_charge.amount_paid) == ("subscription_cycle", 2900)
    became_active = [e for e in sandbox.events("customer.subscription.updated")
                     if e["data"]["previous_attributes"].get("status") == "trialing"]
    assert len(became_active) == 1 and became_active[0]["created"] == sub.trial_end


def test_a_failing_card_makes_the_subscription_past_due_retries_then_cancels(sandbox, stripe_client):
    session = subscribe(sandbox, stripe_client, card="4000000000000341",
                        subscription_data={"trial_period_days": 7})
    sub = stripe_client.v1.subscriptions.retrieve(session.subscription)
    mark = len(sandbox.events())
    sandbox.advance_clock(days=7, seconds=60)
    assert since(sandbox, mark)[-6:] == ["payment_intent.created", "charge.failed", "payment_intent.payment_failed",
                                          "invoice.payment_failed", "invoice.updated", "customer.subscription.updated"]
    past_due = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert past_due.status == "past_due"
    invoice = stripe_client.v1.invoices.retrieve(past_due.latest_invoice)
    assert (invoice.status, invoice.attempt_count, invoice.amount_remaining) == ("open", 1, 2900)
    assert invoice.next_payment_attempt == sub.trial_end + 3 * DAY
    failed = sandbox.events("invoice.payment_failed")[-1]
    assert failed["created"] == sub.trial_end
    intent = stripe_client.v1.payment_intents.retrieve(
        stripe_client.v1.invoice_payments.list(params={"invoice": invoice.id}).data[0].payment.payment_intent)
    assert intent.last_payment_error.decline_code == "generic_decline"

    sandbox.advance_clock(days=8)  # retries on days 3 and 8
    invoice = stripe_client.v1.invoices.retrieve(invoice.id)
    assert invoice.attempt_count == 3 and invoice.next_payment_attempt == sub.trial_end + 15 * DAY
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    assert len(sandbox.events("customer.subscription.updated")) == 2  # active, then past_due: no repeats

    sandbox.advance_clock(days=7)  # last retry on day 15 fails: canceled (Stripe's default)
    ended = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled" and ended.cancellation_details.reason == "payment_failed"
    assert ended.ended_at == sub.trial_end + 15 * DAY
    invoice = stripe_client.v1.invoices.retrieve(invoice.id)
    assert (invoice.status, invoice.attempt_count, invoice.next_payment_attempt) == ("open", 4, None)
    assert types(sandbox)[-1] == "customer.subscription.deleted"
    sandbox.advance_clock(days=40)
    assert len(invoices(stripe_client, sub.id)) == 2  # a canceled subscription does not renew


def test_after_the_last_retry_the_subscription_can_be_left_unpaid(sandbox, stripe_client):
    control(sandbox, "billing/settings", {"after_final_retry": "unpaid"})
    session = subscribe(sandbox, stripe_client, card="4000000000000341",
                        subscription_data={"trial_period_days": 3})
    sandbox.advance_clock(days=3 + 15, seconds=60)
    sub = stripe_client.v1.subscriptions.retrieve(session.subscription)
    assert sub.status == "unpaid"
    statuses = [e["data"]["previous_attributes"].get("status") for e in sandbox.events("customer.subscription.updated")]
    assert statuses == ["trialing", "active", "past_due"]
    control(sandbox, "billing/settings", {"after_final_retry": "sometimes"}, expect=400)


def test_paying_the_open_invoice_with_a_good_card_makes_it_active_again(sandbox, stripe_client):
    session = subscribe(sandbox, stripe_client, card="4000000000000341",
                        subscription_data={"trial_period_days": 3})
    sandbox.advance_clock(days=3, seconds=60)
    sub = stripe_client.v1.subscriptions.retrieve(session.subscription)
    assert sub.status == "past_due"
    portal = stripe_client.v1.billing_portal.sessions.create(params={"customer": sub.customer})
    result = control(sandbox, f"portal/{portal.id}/card", {"card": "4242424242424242"})
    assert result["ok"] and result["payment_method"]["card"]["last4"] == "4242"
    sub = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active" and sub.default_payment_method == result["payment_method"]["id"]
    invoice = stripe_client.v1.invoices.retrieve(sub.latest_invoice)
    assert (invoice.status, invoice.attempt_count) == ("paid", 2)
    assert types(sandbox)[-3:] == ["invoice.paid", "invoice.payment_succeeded", "customer.subscription.updated"]
    sandbox.advance_clock(days=30)
    assert stripe_client.v1.invoices.retrieve(
        stripe_client.v1.subscriptions.retrieve(sub.id).latest_invoice).amount_paid == 2900


def test_invoice_pay_retries_now_and_reports_the_decline(sandbox, stripe_client):
    import pytest
    import stripe

    session = subscribe(sandbox, stripe_client, card="4000000000000341", subscription_data={"trial_period_days": 3})
    sandbox.advance_clock(days=3, seconds=60)
    sub = stripe_client.v1.subscriptions.retrieve(session.subscription)
    with pytest.raises(stripe.CardError) as declined:
        stripe_client.v1.invoices.pay(sub.latest_invoice)
    assert declined.value.code == "card_declined"
    assert stripe_client.v1.invoices.retrieve(sub.latest_invoice).attempt_count == 2
    paid_invoice = session.invoice
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.invoices.pay(paid_invoice)


def test_a_monthly_anchor_keeps_its_day_across_short_months(sandbox):
    from datetime import datetime, timezone

    from stripe_sandbox.billing import add_interval
    jan31 = int(datetime(2027, 1, 31, 10, 0, tzinfo=timezone.utc).timestamp())
    feb = add_interval(jan31, "month", 1, jan31)
    mar = add_interval(feb, "month", 1, jan31)
    assert datetime.fromtimestamp(feb, timezone.utc).day == 28
    assert datetime.fromtimestamp(mar, timezone.utc).day == 31
    assert add_interval(jan31, "year", 1, jan31) == int(datetime(2028, 1, 31, 10, tzinfo=timezone.utc).timestamp())


def test_stripe_test_clocks_are_views_of_the_sandbox_clock(sandbox, stripe_client):
    import pytest
    import stripe

    now = sandbox.now()
    clock = stripe_client.v1.test_helpers.test_clocks.create(params={"frozen_time": now, "name": "renewals"})
    assert clock.object == "test_helpers.test_clock" and clock.status == "ready" and clock.frozen_time >= now
    customer = stripe_client.v1.customers.create(params={"email": "ada@example.com", "test_clock": clock.id})
    assert customer.test_clock == clock.id
    from tests.sandbox.test_billing import subscription_params
    params = subscription_params(customer=customer.id)
    del params["customer_email"]
    session = stripe_client.v1.checkout.sessions.create(params=params)
    control(sandbox, f"checkout/sessions/{session.id}/pay", {"card": "4242424242424242"})
    sub_id = stripe_client.v1.checkout.sessions.retrieve(session.id).subscription

    advanced = stripe_client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": now + 32 * DAY})
    assert advanced.status == "ready" and advanced.frozen_time == now + 32 * DAY
    assert sandbox.now() >= now + 32 * DAY
    assert len(invoices(stripe_client, sub_id)) == 2
    assert {"test_helpers.test_clock.advancing", "test_helpers.test_clock.ready"} <= set(types(sandbox))
    with pytest.raises(stripe.InvalidRequestError) as back:
        stripe_client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": now})
    assert back.value.param == "frozen_time"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        stripe_client.v1.customers.create(params={"test_clock": "clock_missing"})
    assert unknown.value.param == "test_clock"
    assert stripe_client.v1.test_helpers.test_clocks.delete(clock.id).deleted is True


def test_update_a_customer(sandbox, stripe_client):
    import pytest
    import stripe

    from tests.sandbox.test_billing import subscribe
    session = subscribe(sandbox, stripe_client)
    customer = stripe_client.v1.customers.update(session.customer, params={"name": "Lena L.",
                                                                          "metadata": {"user_id": "9"}})
    assert customer.name == "Lena L." and customer.metadata["user_id"] == "9"
    assert sandbox.events("customer.updated")[-1]["data"]["previous_attributes"]["name"] is None
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.update(session.customer, params={
            "invoice_settings": {"default_payment_method": "pm_missing"}})
    assert refused.value.param == "invoice_settings[default_payment_method]"

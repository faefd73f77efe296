"""Every order (and duplicates) of one subscription's Stripe events ends in the state Stripe holds.

Stripe sends events in no particular order and more than once. Each sequence below is one
subscription's life as Stripe would report it; for every permutation the events are applied
through the webhook's dispatcher (services.payments.stripe_events.dispatch), and the row must
end as the last snapshot says. Examples are rolled back between permutations.
"""
from datetime import datetime, timedelta, timezone
from itertools import permutations

import pytest

from extensions import db
from models import StripeEvent, SubscriptionStatus
from services.payments import stripe_events
from services.memberships import subscriptions
from tests import factories
from tests.memberships import builders as b

T0 = 1_900_000_000  # Stripe time of the sign-up (seconds)
P1_END = T0 + 30 * b.DAY
P2_END = P1_END + 30 * b.DAY
NOW = datetime.fromtimestamp(T0, tz=timezone.utc) + timedelta(days=31)


def _life(user, membership, sub_id: str) -> dict[str, dict]:
    """The events of one subscription: signed up, renewed, the renewal failed, then recovered
    or canceled. Several share a second, as the sandbox's clock (and Stripe) makes them."""
    def snap(status, start, end, **extra):
        return b.subscription(sub_id, user, membership, status=status, period_start=start, period_end=end, **extra)

    def changed(evt, **previous):  # Stripe's data.previous_attributes of an *.updated event
        evt["data"]["previous_attributes"] = previous
        return evt
    return {
        "created": b.event("customer.subscription.created", snap("incomplete", T0, P1_END), created=T0),
        "activated": changed(b.event("customer.subscription.updated", snap("active", T0, P1_END), created=T0),
                             status="incomplete"),
        "renewed": changed(b.event("customer.subscription.updated", snap("active", P1_END, P2_END), created=P1_END),
                           items={"data": [{"current_period_start": T0, "current_period_end": P1_END}]}),
        "past_due": changed(b.event("customer.subscription.updated", snap("past_due", P1_END, P2_END),
                                    created=P1_END), status="active"),
        "recovered": changed(b.event("customer.subscription.updated", snap("active", P1_END, P2_END),
                                     created=P1_END + 3 * b.DAY), status="past_due"),
        "canceling": changed(b.event("customer.subscription.updated",
                                     snap("active", P1_END, P2_END, cancel_at_period_end=True, cancel_at=P2_END,
                                          canceled_at=P1_END + 4 * b.DAY), created=P1_END + 4 * b.DAY),
                             cancel_at_period_end=False, cancel_at=None, canceled_at=None),
        "deleted": b.event("customer.subscription.deleted",
                           snap("canceled", P1_END, P2_END, canceled_at=P1_END + 3 * b.DAY,
                                ended_at=P1_END + 3 * b.DAY), created=P1_END + 3 * b.DAY),
        "invoice_failed": b.event("invoice.payment_failed", b.invoice(
            "in_test_renewal", sub_id, user, membership, status="open", amount=membership.monthly_price,
            period_start=P1_END, period_end=P2_END), created=P1_END),
        "invoice_paid": b.event("invoice.paid", b.invoice(
            "in_test_renewal", sub_id, user, membership, status="paid", amount=membership.monthly_price,
            period_start=P1_END, period_end=P2_END, attempt_count=2, paid_at=P1_END + 3 * b.DAY),
            created=P1_END + 3 * b.DAY),
    }


def _deliver(evt: dict) -> None:
    """As the inbox does (services/payments/webhook_inbox.py): store the event, then apply it, in one
    transaction; a redelivery of a stored event id is not applied again."""
    if db.session.get(StripeEvent, evt["id"]) is not None:
        return
    db.session.add(StripeEvent(id=evt["id"], type=evt["type"], payload=evt, object_id=evt["data"]["object"]["id"]))
    db.session.flush()
    stripe_events.dispatch(evt, now=NOW)


def _run_every_order(app, names: list[str], check, *, duplicate_first: bool = False):
    """Apply `names` in every order (each permutation on fresh rows, rolled back), then `check`."""
    orders = 0
    for order in permutations(names):
        with factories.flushed_only():
            user, membership = factories.user(), factories.membership()
            sub_id = b.new_id("sub")
            events = _life(user, membership, sub_id)
            sequence = [events[name] for name in order]
            if duplicate_first:
                sequence = sequence + sequence[:2]  # Stripe redelivers
            for evt in sequence:
                _deliver(evt)
            db.session.flush()
            check(subscriptions.by_stripe_id(sub_id), order)
        db.session.rollback()
        orders += 1
    return orders


def test_signed_up_renewed_failed_then_recovered_in_every_order(app):
    def check(row, order):
        assert row is not None, order
        assert row.status == SubscriptionStatus.ACTIVE, order
        assert row.current_period_end == datetime.fromtimestamp(P2_END, tz=timezone.utc), order
        assert row.past_due_since is None, order
        assert row.stripe_event_at == datetime.fromtimestamp(P1_END + 3 * b.DAY, tz=timezone.utc), order
        invoice = subscriptions.invoices_of(row)
        assert [(i.id, i.status, i.amount_paid) for i in invoice] == [("in_test_renewal", "paid", 2900)], order
        assert invoice[0].failed_at is not None, order
    # "created" (incomplete, same second as "activated") is left out here to keep 6! = 720
    # orders; the canceled life below orders it against the others.
    assert _run_every_order(app, ["activated", "renewed", "past_due", "recovered", "invoice_failed",
                                  "invoice_paid"], check) == 720


def test_canceled_after_the_failed_renewal_in_every_order_with_redeliveries(app):
    def check(row, order):
        assert row.status == SubscriptionStatus.CANCELED, order
        assert row.ended_at == datetime.fromtimestamp(P1_END + 3 * b.DAY, tz=timezone.utc), order
        assert row.current_period_end == datetime.fromtimestamp(P2_END, tz=timezone.utc), order
        assert not row.gives_access(NOW), order
    assert _run_every_order(app, ["created", "activated", "renewed", "past_due", "deleted"], check,
                            duplicate_first=True) == 120


def test_cancel_at_period_end_in_every_order(app):
    def check(row, order):
        assert row.status == SubscriptionStatus.ACTIVE and row.cancel_at_period_end, order
        assert row.cancel_at == datetime.fromtimestamp(P2_END, tz=timezone.utc), order
    _run_every_order(app, ["created", "activated", "renewed", "recovered", "canceling"], check)


def test_same_second_snapshots_are_ordered_by_their_previous_status(app):
    """Same second, same period: a renewal (active) and its failure (past_due, previously active)
    arrive either way; past_due is the later state, and the grace counts from that second."""
    with factories.flushed_only():
        user, membership = factories.user(), factories.membership()
        sub_id = b.new_id("sub")
        events = _life(user, membership, sub_id)
        for name in ("past_due", "renewed", "created"):
            _deliver(events[name])
        row = subscriptions.by_stripe_id(sub_id)
        assert row.status == SubscriptionStatus.PAST_DUE
        assert row.past_due_since == datetime.fromtimestamp(P1_END, tz=timezone.utc)
    db.session.rollback()


@pytest.mark.parametrize("name", ["created", "invoice_failed"])
def test_an_event_for_a_subscription_that_is_not_ours_is_ignored(app, name):
    with factories.flushed_only():
        user, membership = factories.user(), factories.membership()
        evt = _life(user, membership, b.new_id("sub"))[name]
        obj = evt["data"]["object"]
        obj.get("parent", {}).get("subscription_details", {})["metadata"] = {}
        obj["metadata"] = {}
        assert stripe_events.dispatch(evt, now=NOW).handled is False
    db.session.rollback()

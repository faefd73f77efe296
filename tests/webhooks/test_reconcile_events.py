"""`flask payments reconcile` and `flask webhooks retry-failed` go on past a failing event.

Stripe's event list is read as Stripe's JSON (stripe-python would hand decimal-string fields
such as `currency_conversion.fx_rate` over as `Decimal`, which crashed the run on every
event after it); a failing event is recorded in the inbox and the run exits 1 only once the
rest is done. Both databases, against the live sandbox with our endpoint "down".
"""
import pytest

from extensions import db
from models import PaymentSessionStatus, StripeEvent, WebhookEventStatus
from tests import factories
from tests.webhooks import builders as b


@pytest.fixture
def app_overrides(sandbox_config):
    return sandbox_config


def _paid(sandbox, course, **session_fields) -> tuple:
    ps = factories.payment_session(factories.user(), course)
    session = b.open_on_sandbox(ps)
    sandbox.state.sessions[session["id"]].update(session_fields)
    b.sandbox_control(sandbox, f"checkout/sessions/{session['id']}/pay", {"card": "4242424242424242"})
    return ps, session


def test_reconcile_applies_decimal_events_records_the_poison_one_and_exits_1(
        runner, deliver, sandbox, webhook_receiver, paid_course):
    webhook_receiver.statuses = [500] * 500  # our endpoint "is down": nothing is delivered
    converted = {"currency_conversion": {"amount_subtotal": 9100, "amount_total": 9100, "fx_rate": "1.087912",
                                         "source_currency": "eur"}}
    first, session = _paid(sandbox, paid_course, **converted)
    # A dispute Stripe reports with an amount no integer column holds: it fails on every try.
    intent = sandbox.state.sessions[session["id"]]["payment_intent"]
    poison = sandbox.sandbox.engine.emit("charge.dispute.created", b.dispute(
        deliver.reload(first), amount=10**20, payment_intent=intent, charge=None))
    last, _ = _paid(sandbox, paid_course, **converted)

    result = runner.invoke(args=["payments", "reconcile", "--older-than-minutes", "60"])

    assert result.exit_code == 1, result.output
    assert f"{poison['id']}: failed" in result.output
    assert deliver.reload(first).status == PaymentSessionStatus.COMPLETED
    assert deliver.reload(last).status == PaymentSessionStatus.COMPLETED  # listed after the poison one
    row = db.session.get(StripeEvent, poison["id"])
    assert row.status == WebhookEventStatus.FAILED and row.last_error
    completed = db.session.scalars(db.select(StripeEvent).where(StripeEvent.type == "checkout.session.completed"))
    assert {e.payload["data"]["object"]["currency_conversion"]["fx_rate"] for e in completed} == {"1.087912"}

    again = runner.invoke(args=["webhooks", "retry-failed"])
    assert again.exit_code == 1, again.output
    assert "Retried 0, failed 1" in again.output
    db.session.expire_all()
    assert db.session.get(StripeEvent, poison["id"]).attempts == 2


def test_a_clean_run_exits_0(runner, deliver, sandbox, webhook_receiver, paid_course):
    webhook_receiver.statuses = [500] * 500
    ps, _ = _paid(sandbox, paid_course)
    result = runner.invoke(args=["payments", "reconcile", "--older-than-minutes", "60"])
    assert result.exit_code == 0, result.output
    assert deliver.reload(ps).status == PaymentSessionStatus.COMPLETED
    assert runner.invoke(args=["webhooks", "retry-failed"]).exit_code == 0

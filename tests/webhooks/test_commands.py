"""`flask payments reconcile`, `flask payments expire-stale` against the live sandbox."""
from datetime import datetime, timedelta, timezone

import pytest

from extensions import db
from models import EnrollmentStatus, PaymentSession, PaymentSessionStatus, RedemptionStatus
from tests import factories
from tests.webhooks import builders as b


@pytest.fixture
def app_overrides(sandbox_config):
    return sandbox_config


def _old_session(learner, paid_course, coupon, minutes=30, **kwargs):
    created = datetime.now(timezone.utc) - timedelta(minutes=minutes)
    return factories.payment_session(learner, paid_course, coupon=coupon, discount=1485, created_at=created, **kwargs)


def test_reconcile_fulfills_a_paid_session_without_any_webhook(runner, deliver, sandbox, learner, paid_course, coupon):
    ps = _old_session(learner, paid_course, coupon)
    session = b.open_on_sandbox(ps)
    b.sandbox_control(sandbox, f"checkout/sessions/{session['id']}/pay", {"card": "4242424242424242"})
    result = runner.invoke(args=["payments", "reconcile", "--older-than-minutes", "15", "--no-events"])
    assert result.exit_code == 0, result.output
    assert "COMPLETED 1" in result.output
    ps = deliver.reload(ps)
    assert ps.status == PaymentSessionStatus.COMPLETED and ps.payment_intent_id
    assert deliver.enrollments(ps)[0].status == EnrollmentStatus.ACTIVE
    result = runner.invoke(args=["payments", "reconcile", "--older-than-minutes", "15", "--no-events"])
    assert "none to check" in result.output  # nothing open any more


def test_reconcile_leaves_young_and_unpaid_sessions(runner, deliver, sandbox, learner, paid_course, coupon):
    young = factories.payment_session(learner, paid_course, coupon=coupon, discount=1485)
    b.open_on_sandbox(young)
    result = runner.invoke(args=["payments", "reconcile", "--older-than-minutes", "15", "--no-events"])
    assert "none to check" in result.output
    result = runner.invoke(args=["payments", "reconcile", "--older-than-minutes", "0", "--no-events"])
    assert "PENDING 1" in result.output  # asked Stripe: still open, nothing to do
    assert deliver.reload(young).status == PaymentSessionStatus.PENDING


def test_reconcile_applies_undelivered_events(runner, deliver, sandbox, webhook_receiver, learner, paid_course, coupon):
    ps = factories.payment_session(learner, paid_course, coupon=coupon, discount=1485)
    session = b.open_on_sandbox(ps)
    webhook_receiver.statuses = [500] * 200  # our endpoint "is down": every delivery fails
    b.sandbox_control(sandbox, f"checkout/sessions/{session['id']}/pay", {"card": "4242424242424242"})
    sandbox.wait_for(lambda: sandbox.events("checkout.session.completed"))
    result = runner.invoke(args=["payments", "reconcile", "--older-than-minutes", "60"])
    assert result.exit_code == 0, result.output
    assert "applied" in result.output
    ps = deliver.reload(ps)
    assert ps.status == PaymentSessionStatus.COMPLETED
    assert deliver.enrollments(ps)[0].status == EnrollmentStatus.ACTIVE


def test_expire_stale_expires_on_stripe_and_here(runner, deliver, sandbox, learner, paid_course, coupon):
    ps = _old_session(learner, paid_course, coupon, minutes=40, expires_in=timedelta(minutes=31))
    session = b.open_on_sandbox(ps)
    result = runner.invoke(args=["payments", "expire-stale"])
    assert result.exit_code == 0, result.output
    assert "EXPIRED 1" in result.output
    ps = deliver.reload(ps)
    assert ps.status == PaymentSessionStatus.EXPIRED
    assert deliver.redemption(ps).status == RedemptionStatus.RELEASED
    assert sandbox.state.sessions[session["id"]]["status"] == "expired"


def test_expire_stale_fulfills_a_session_paid_at_the_last_moment(runner, deliver, sandbox, learner, paid_course, coupon):
    ps = _old_session(learner, paid_course, coupon, minutes=40, expires_in=timedelta(minutes=31))
    session = b.open_on_sandbox(ps)
    b.sandbox_control(sandbox, f"checkout/sessions/{session['id']}/pay", {"card": "4242424242424242"})
    result = runner.invoke(args=["payments", "expire-stale"])
    assert "COMPLETED 1" in result.output, result.output
    ps = deliver.reload(ps)
    assert ps.status == PaymentSessionStatus.COMPLETED and deliver.redemption(ps).status == RedemptionStatus.REDEEMED


def test_expire_stale_without_a_stripe_session(runner, deliver, learner, paid_course, coupon):
    ps = _old_session(learner, paid_course, coupon, minutes=40, expires_in=timedelta(minutes=31),
                      stripe_session_id=None)
    result = runner.invoke(args=["payments", "expire-stale"])
    assert "EXPIRED 1" in result.output
    assert deliver.redemption(ps).status == RedemptionStatus.RELEASED


def test_expire_stale_when_stripe_is_down_keeps_the_session(runner, deliver, learner, paid_course, coupon, app):
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    app.extensions.pop("stripe_client", None)
    ps = _old_session(learner, paid_course, coupon, minutes=40, expires_in=timedelta(minutes=31),
                      stripe_session_id="cs_test_unreachable")
    result = runner.invoke(args=["payments", "expire-stale"])
    assert result.exit_code == 0 and "ERROR 1" in result.output
    assert deliver.reload(ps).status == PaymentSessionStatus.PENDING  # retried on the next run
    assert db.session.get(PaymentSession, ps.id).coupon_id is not None

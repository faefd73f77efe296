"""Crashes: an exception mid-fulfillment rolls everything back, answers 500, and a retry succeeds."""
import pytest

from extensions import db
from models import EnrollmentStatus, PaymentSessionStatus, RedemptionStatus, StripeEvent, WebhookEventStatus
from services.coupons import redemptions
from tests.webhooks import builders as b


class Boom(RuntimeError):
    pass


@pytest.fixture
def broken_redeem(monkeypatch):
    """Make fulfillment fail after it has enrolled and moved the session: the worst moment."""
    def boom(*args, **kwargs):
        raise Boom("injected failure while redeeming the coupon")
    monkeypatch.setattr(redemptions, "redeem_for", boom)
    return monkeypatch


def _assert_nothing_written(deliver, ps):
    ps = deliver.reload(ps)
    assert ps.status == PaymentSessionStatus.PENDING and ps.enrollment_id is None
    assert deliver.enrollments(ps) == []
    assert deliver.redemption(ps).status == RedemptionStatus.RESERVED
    assert ps.coupon.current_uses == 0


def test_exception_mid_fulfillment_is_500_and_leaves_nothing_half_written(deliver, ps, broken_redeem):
    evt = deliver("checkout.session.completed", b.checkout_session(ps), expect=500)
    _assert_nothing_written(deliver, ps)
    response = b.post_event(deliver.client, evt, path="/api/payments/webhooks/stripe")
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "PROCESSING_FAILED"
    row = db.session.get(StripeEvent, evt["id"])
    assert row.status == WebhookEventStatus.FAILED and row.attempts == 2
    assert "injected failure" in row.last_error
    assert row.processed_at is None


def test_redelivery_after_a_failure_succeeds(deliver, ps, broken_redeem):
    evt = deliver("checkout.session.completed", b.checkout_session(ps), expect=500)
    deliver.again(evt, expect=500)  # still broken: still a retriable failure
    broken_redeem.undo()
    body = deliver.again(evt)
    assert body == {"success": True, "received": True, "status": "PROCESSED", "duplicate": False}
    ps = deliver.reload(ps)
    assert ps.status == PaymentSessionStatus.COMPLETED
    assert deliver.enrollments(ps)[0].status == EnrollmentStatus.ACTIVE
    assert ps.coupon.current_uses == 1
    row = db.session.get(StripeEvent, evt["id"])
    assert row.status == WebhookEventStatus.PROCESSED and row.attempts == 3 and row.last_error is None


def test_retry_failed_command_reprocesses_failed_events(deliver, ps, broken_redeem, runner):
    evt = deliver("checkout.session.completed", b.checkout_session(ps), expect=500)
    result = runner.invoke(args=["webhooks", "retry-failed"])
    assert "failed again" in result.output and result.exit_code == 1  # non-zero once the run is done
    broken_redeem.undo()
    result = runner.invoke(args=["webhooks", "retry-failed"])
    assert result.exit_code == 0, result.output
    assert f"{evt['id']}: PROCESSED" in result.output
    assert deliver.enrollments(ps)[0].status == EnrollmentStatus.ACTIVE
    result = runner.invoke(args=["webhooks", "retry-failed"])  # nothing left
    assert "Retried 0, failed 0" in result.output


def test_failure_in_a_refund_rolls_back_the_refund_too(deliver, ps, monkeypatch):
    deliver("checkout.session.completed", b.checkout_session(ps))
    from services.learning import enrollments

    def boom(*args, **kwargs):
        raise Boom("injected failure while revoking")
    monkeypatch.setattr(enrollments, "revoke", boom)
    evt = deliver("charge.refunded", b.charge(ps, amount_refunded=ps.final_amount), expect=500)
    ps = deliver.reload(ps)
    assert ps.status == PaymentSessionStatus.COMPLETED and ps.amount_refunded == 0
    monkeypatch.undo()
    deliver.again(evt)
    ps = deliver.reload(ps)
    assert ps.status == PaymentSessionStatus.REFUNDED and deliver.enrollments(ps)[0].status == EnrollmentStatus.REVOKED


def test_database_error_is_a_retriable_500(deliver, ps, monkeypatch):
    import sqlalchemy as sa
    from services.payments import stripe_events

    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    monkeypatch.setattr(stripe_events.fulfillment, "apply_checkout_session", broken)
    evt = deliver("checkout.session.completed", b.checkout_session(ps), expect=500)
    assert db.session.get(StripeEvent, evt["id"]).status == WebhookEventStatus.FAILED



def test_staff_reprocess_records_a_repeated_failure_like_the_endpoint(deliver, ps, staff, sign_in, monkeypatch):
    # One protocol for every path (blueprints/webhooks/delivery.py): the effect is rolled back,
    # the failure lands in the inbox, and the staff action is audited beside it.
    from models import AuditEvent
    from services.payments import stripe_events
    from tests.helpers import post_form

    def boom(*args, **kwargs):
        raise Boom("injected failure while fulfilling")
    monkeypatch.setattr(stripe_events.fulfillment, "apply_checkout_session", boom)
    evt = deliver("checkout.session.completed", b.checkout_session(ps), expect=500)
    sign_in(deliver.client, staff)
    page = post_form(deliver.client, f"/staff/webhooks/{evt['id']}/reprocess", follow_redirects=True)
    assert "failed again" in page.get_data(as_text=True)
    _assert_nothing_written(deliver, ps)
    row = db.session.get(StripeEvent, evt["id"], populate_existing=True)
    assert row.status == WebhookEventStatus.FAILED and row.attempts == 2 and "injected failure" in row.last_error
    audited = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "staff.webhook_reprocessed"))
    assert audited.before == {"status": "FAILED", "attempts": 1} and audited.after == {"status": "FAILED", "attempts": 2}

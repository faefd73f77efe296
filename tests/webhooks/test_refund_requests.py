"""refunds.request_refund (called by the staff pages): Stripe refund with an idempotency key."""
import pytest

from extensions import db
from models import AuditEvent, EnrollmentStatus, PaymentSessionStatus, utcnow
from services.payments import refunds
from services.errors import DomainError
from tests.webhooks import builders as b


@pytest.fixture
def app_overrides(sandbox_config):
    return sandbox_config


@pytest.fixture
def paid_on_sandbox(deliver, sandbox, ps):
    session = b.open_on_sandbox(ps)
    b.sandbox_control(sandbox, f"checkout/sessions/{session['id']}/pay", {"card": "4242424242424242"})
    [completed] = sandbox.events("checkout.session.completed")
    body, headers = sandbox.signed(completed["id"])
    assert deliver.client.post("/webhooks/stripe", data=body, headers=headers).status_code == 200
    return deliver.reload(ps)


def test_full_refund_is_applied_at_once(deliver, paid_on_sandbox, staff):
    ps = paid_on_sandbox
    refund = refunds.request_refund(ps, amount=None, reason="requested_by_customer", actor=staff, now=utcnow())
    db.session.commit()
    assert refund["status"] == "succeeded" and refund["amount"] == 8415
    ps = deliver.reload(ps)
    assert ps.status == PaymentSessionStatus.REFUNDED and ps.amount_refunded == 8415
    assert deliver.enrollments(ps)[0].status == EnrollmentStatus.REVOKED
    audit = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "payment.refund_requested"))
    assert audit.actor_id == staff.id


def test_the_webhooks_that_follow_change_nothing_more(deliver, sandbox, paid_on_sandbox, staff):
    ps = paid_on_sandbox
    refunds.request_refund(ps, amount=1000, reason="goodwill", actor=staff, now=utcnow())
    db.session.commit()
    for event in sandbox.events("refund.created") + sandbox.events("charge.refunded"):
        body, headers = sandbox.signed(event["id"])
        assert deliver.client.post("/webhooks/stripe", data=body, headers=headers).status_code == 200
    ps = deliver.reload(ps)
    assert ps.amount_refunded == 1000 and ps.status == PaymentSessionStatus.COMPLETED
    assert deliver.enrollments(ps)[0].status == EnrollmentStatus.ACTIVE


def test_double_click_refunds_once(deliver, sandbox, paid_on_sandbox, staff):
    ps = paid_on_sandbox
    first = refunds.request_refund(ps, amount=1000, reason="", actor=staff, now=utcnow())
    db.session.rollback()  # as if the first request's commit never happened: same key again
    ps = deliver.reload(ps)
    second = refunds.request_refund(ps, amount=1000, reason="", actor=staff, now=utcnow())
    db.session.commit()
    assert first["id"] == second["id"]
    assert len(sandbox.events("refund.created")) == 1


def test_two_deliberate_partial_refunds(deliver, sandbox, paid_on_sandbox, staff):
    ps = paid_on_sandbox
    refunds.request_refund(ps, amount=1000, reason="", actor=staff, now=utcnow())
    db.session.commit()
    ps = deliver.reload(ps)
    refunds.request_refund(ps, amount=1000, reason="", actor=staff, now=utcnow())
    db.session.commit()
    assert deliver.reload(ps).amount_refunded == 2000
    assert len(sandbox.events("refund.created")) == 2


@pytest.mark.parametrize("amount, code", [(0, "INVALID_AMOUNT"), (-5, "INVALID_AMOUNT"), (True, "INVALID_AMOUNT"),
                                          (8416, "REFUND_TOO_LARGE")])
def test_bad_amounts_are_refused_before_stripe(deliver, sandbox, paid_on_sandbox, staff, amount, code):
    with pytest.raises(DomainError) as error:
        refunds.request_refund(paid_on_sandbox, amount=amount, reason="", actor=staff, now=utcnow())
    assert error.value.code == code and error.value.field == "amount"
    assert sandbox.events("refund.created") == []


def test_unpaid_session_cannot_be_refunded(deliver, ps, staff):
    with pytest.raises(DomainError) as error:
        refunds.request_refund(ps, amount=None, reason="", actor=staff, now=utcnow())
    assert error.value.code == "NOT_REFUNDABLE" and error.value.status == 409


def test_fully_refunded_session_cannot_be_refunded_again(deliver, paid_on_sandbox, staff):
    refunds.request_refund(paid_on_sandbox, amount=None, reason="", actor=staff, now=utcnow())
    db.session.commit()
    ps = deliver.reload(paid_on_sandbox)
    with pytest.raises(DomainError) as error:
        refunds.request_refund(ps, amount=None, reason="", actor=staff, now=utcnow())
    assert error.value.code == "ALREADY_REFUNDED"


def test_stripe_down_is_a_503_domain_error(deliver, paid_on_sandbox, staff, app):
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    app.extensions.pop("stripe_client", None)
    with pytest.raises(DomainError) as error:
        refunds.request_refund(paid_on_sandbox, amount=None, reason="", actor=staff, now=utcnow())
    assert error.value.status == 503


def test_new_try_after_a_failed_refund_is_a_new_refund(deliver, sandbox, paid_on_sandbox, staff):
    ps = paid_on_sandbox
    first = refunds.request_refund(ps, amount=1000, reason="", actor=staff, now=utcnow())
    db.session.commit()
    failed = {**first.to_dict(), "status": "failed"}
    deliver("refund.failed", failed)
    ps = deliver.reload(ps)
    assert ps.amount_refunded == 0
    second = refunds.request_refund(ps, amount=1000, reason="", actor=staff, now=utcnow())
    db.session.commit()
    assert second["id"] != first["id"]
    assert deliver.reload(ps).amount_refunded == 1000


def test_request_key_makes_a_resubmitted_form_refund_once(deliver, sandbox, paid_on_sandbox, staff):
    ps = paid_on_sandbox
    first = refunds.request_refund(ps, amount=1000, reason="", actor=staff, now=utcnow(), request_key="form-abc")
    db.session.commit()
    ps = deliver.reload(ps)
    second = refunds.request_refund(ps, amount=1000, reason="", actor=staff, now=utcnow(), request_key="form-abc")
    db.session.commit()
    assert first["id"] == second["id"] and deliver.reload(ps).amount_refunded == 1000
    assert len(sandbox.events("refund.created")) == 1


class TestPartialRefundPolicyOnTheStaffPath:
    """The staff request used to leave the policy out: access was kept until the webhook came."""

    @pytest.fixture
    def app_overrides(self, sandbox_config):
        return {**sandbox_config, "PARTIAL_REFUND_KEEPS_ACCESS": False}

    def test_a_partial_staff_refund_revokes_at_once_when_the_policy_says_so(self, deliver, paid_on_sandbox, staff):
        refunds.request_refund(paid_on_sandbox, amount=1000, reason="goodwill", actor=staff, now=utcnow())
        db.session.commit()
        ps = deliver.reload(paid_on_sandbox)
        assert ps.amount_refunded == 1000 and ps.status == PaymentSessionStatus.COMPLETED
        assert deliver.enrollments(ps)[0].status == EnrollmentStatus.REVOKED

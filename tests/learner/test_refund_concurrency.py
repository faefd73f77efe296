"""Refund requests racing each other (issue 19), with real threads on both databases: two
requests for one purchase, or a learner's request and a staff refund at once, give one refund
at Stripe and one request row (PostgreSQL: the payment row lock; SQLite: BEGIN IMMEDIATE)."""
import functools

import pytest

from extensions import db
from models import PaymentSession, Refund, RefundRequest, RefundRequestStatus, User, utcnow
from services.errors import DomainError
from services.payments import refund_requests, refunds
from tests.isolation import run_in_threads
from tests.learner.test_refund_requests import buy  # noqa: F401 - the fixture


@pytest.fixture
def app_overrides(sandbox_config):
    return sandbox_config


def _ask(user_id: int, payment_id: str, reason: str):
    row = refund_requests.request(db.session.get(User, user_id), payment_id, reason=reason, now=utcnow())
    db.session.commit()
    return row.status


def _outcomes(results) -> list:
    return sorted(result.code if isinstance(result, DomainError) else str(result) for result in results)


@pytest.mark.parametrize("round_", range(3))
def test_two_automatic_requests_at_once_refund_once(app, buy, learner, sandbox, round_):  # noqa: F811
    ps = buy(learner)
    job = functools.partial(_ask, learner.id, ps.id, "")
    results = run_in_threads(app, [job, job])
    assert _outcomes(results) == ["NOT_REFUNDABLE", str(RefundRequestStatus.REFUNDED)], results
    db.session.expire_all()
    assert len(sandbox.state.refunds) == 1
    assert [r.amount for r in db.session.scalars(db.select(Refund))] == [9900]
    assert db.session.get(PaymentSession, ps.id).amount_refunded == 9900
    assert [r.status for r in db.session.scalars(db.select(RefundRequest))] == [RefundRequestStatus.REFUNDED]


def test_two_queued_requests_at_once_leave_one_pending(app, buy, learner, sandbox):  # noqa: F811
    ps = buy(learner, progress=90)
    job = functools.partial(_ask, learner.id, ps.id, "please")
    results = run_in_threads(app, [job, job])
    assert _outcomes(results) == ["NOT_REFUNDABLE", str(RefundRequestStatus.PENDING)], results
    db.session.expire_all()
    assert [r.status for r in db.session.scalars(db.select(RefundRequest))] == [RefundRequestStatus.PENDING]
    assert sandbox.state.refunds == {}


def test_a_learner_request_and_a_staff_refund_at_once_refund_once(app, buy, learner, staff, sandbox):  # noqa: F811
    ps = buy(learner)
    staff_id, ps_id = staff.id, ps.id

    def staff_refund():
        payment = db.session.get(PaymentSession, ps_id)
        refunds.request_refund(payment, amount=None, reason="requested_by_customer",
                               actor=db.session.get(User, staff_id), now=utcnow())
        db.session.commit()
        return "staff"

    results = run_in_threads(app, [functools.partial(_ask, learner.id, ps_id, ""), staff_refund])
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, DomainError)], results
    db.session.expire_all()
    assert len(sandbox.state.refunds) == 1  # the same Stripe idempotency key, or nothing left to refund
    assert [r.amount for r in db.session.scalars(db.select(Refund))] == [9900]
    assert db.session.get(PaymentSession, ps_id).amount_refunded == 9900

"""Real threads, both databases: one event delivered 10 times at once, racing the success page.

Each thread has its own Flask test client (so its own app context and database session);
a barrier releases them together. Whatever the interleaving: one enrollment, one coupon
redemption, one processed inbox row, and no 5xx other than retriable 500s.
"""
import functools
import json
import threading

import pytest

from extensions import db
from models import CouponRedemption, Enrollment, RedemptionStatus, StripeEvent, WebhookEventStatus
from tests import factories
from tests.helpers import login
from tests.isolation import run_in_threads
from tests.webhooks import builders as b


@pytest.fixture
def app_overrides(sandbox_config):
    return sandbox_config


def _race(app, jobs):
    """Run each job(client) in its own thread with its own client, all released at once;
    returns their results. A job's `prepare(client)` (signing in) runs first, one by one."""
    clients = [app.test_client() for _ in jobs]
    for job, client in zip(jobs, clients):
        getattr(job, "prepare", lambda c: None)(client)
    return run_in_threads(app, [functools.partial(job, client) for job, client in zip(jobs, clients)])


def test_same_event_ten_times_at_once_plus_success_pages(app, sandbox, learner, paid_course, coupon, deliver):
    ps = factories.payment_session(learner, paid_course, coupon=coupon, discount=1485)
    session = b.open_on_sandbox(ps)
    b.sandbox_control(sandbox, f"checkout/sessions/{session['id']}/pay", {"card": "4242424242424242"})
    [completed] = sandbox.events("checkout.session.completed")
    body, headers = sandbox.signed(completed["id"])
    # Stripe may also send the same change as another event: same object, new id.
    twin = json.loads(body)
    twin["id"] = completed["id"] + "_twin"
    twin_body = json.dumps(twin).encode()

    def webhook(payload):
        def post(client):
            sig = b.signature(payload)
            return client.post("/webhooks/stripe", data=payload, headers={"Stripe-Signature": sig},
                               content_type="application/json").status_code
        return post

    def success_page(client):
        return client.get(f"/checkout/success?session_id={session['id']}").status_code
    success_page.prepare = lambda client: login(client, learner.email)

    jobs = [webhook(body) for _ in range(10)] + [webhook(twin_body) for _ in range(3)] + [success_page] * 3
    results = _race(app, jobs)

    crashes = [r for r in results if isinstance(r, BaseException) and not isinstance(r, threading.BrokenBarrierError)]
    assert not crashes and not [r for r in results if isinstance(r, BaseException)], crashes or results
    assert all(status in (200, 500) for status in results), results
    assert results.count(500) == 0, results  # row locks serialize them: no retry even needed
    db.session.expire_all()
    enrollments = db.session.scalars(db.select(Enrollment).where(Enrollment.user_id == learner.id)).all()
    assert len(enrollments) == 1 and enrollments[0].payment_id == ps.id
    redemptions = db.session.scalars(db.select(CouponRedemption).where(CouponRedemption.coupon_id == coupon.id)).all()
    assert [r.status for r in redemptions] == [RedemptionStatus.REDEEMED]
    db.session.refresh(coupon)
    assert coupon.current_uses == 1
    row = db.session.get(StripeEvent, completed["id"])
    assert row.status == WebhookEventStatus.PROCESSED and row.attempts == 1
    assert db.session.get(StripeEvent, twin["id"]).status == WebhookEventStatus.PROCESSED


def test_refund_events_racing_each_other(app, sandbox, learner, paid_course, coupon, deliver):
    ps = factories.payment_session(learner, paid_course, coupon=coupon, discount=1485)
    deliver("checkout.session.completed", b.checkout_session(ps))
    refund = b.refund(ps)
    payloads = [b.body_of(b.event("refund.created", refund)),
                b.body_of(b.event("charge.refunded", b.charge(ps, amount_refunded=ps.final_amount)))]

    def post(payload):
        return lambda client: client.post("/webhooks/stripe", data=payload,
                                          headers={"Stripe-Signature": b.signature(payload)},
                                          content_type="application/json").status_code

    results = _race(app, [post(payloads[i % 2]) for i in range(10)])
    assert results == [200] * 10, results
    ps = deliver.reload(ps)
    assert ps.status.value == "REFUNDED" and ps.amount_refunded == ps.final_amount
    assert deliver.enrollments(ps)[0].status.value == "REVOKED"


def test_expire_stale_on_many_instances_at_once(app, sandbox, learner, paid_course, coupon, deliver):
    """Cron on every instance: each overdue session is expired by exactly one of them."""
    from datetime import datetime, timedelta, timezone

    from models import PaymentSessionStatus, utcnow
    from services.payments import reconcile

    created = datetime.now(timezone.utc) - timedelta(minutes=40)
    sessions = [factories.payment_session(factories.user(), paid_course, coupon=coupon, discount=1485, created_at=created)
                for _ in range(4)]
    for ps in sessions:
        b.open_on_sandbox(ps)
    ids = [ps.id for ps in sessions]

    def instance(_client):
        outcomes = []
        for ps_id in ids:
            status = reconcile.expire_one(ps_id, now=utcnow())
            db.session.commit()
            outcomes.append(status)
        return outcomes

    results = _race(app, [instance] * 4)
    assert not [r for r in results if isinstance(r, BaseException)], results
    for index in range(len(ids)):
        done = [r[index] for r in results if r[index] is not None]
        assert done == [PaymentSessionStatus.EXPIRED], (index, results)
    for ps in sessions:
        ps = deliver.reload(ps)
        assert ps.status == PaymentSessionStatus.EXPIRED
        assert deliver.redemption(ps).status == RedemptionStatus.RELEASED


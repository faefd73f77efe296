"""Real threads, both databases: racing fulfilments make one reward per purchase, racing runs
of the job issue one coupon per reward, and a refund racing the job leaves a consistent reward."""
from datetime import timedelta

from extensions import db
from jobs import runs
from models import Coupon, OutboxMail, ReferralReward, ReferralRewardStatus as R, Refund
from services.payments import refunds
from tests import factories
from tests.isolation import run_in_threads
from tests.webhooks import builders as b


def _post(app, payload: bytes):
    def post():
        response = app.test_client().post("/webhooks/stripe", data=payload, content_type="application/json",
                                          headers={"Stripe-Signature": b.signature(payload)})
        return response.status_code
    return post


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def _referred_purchases(referrer, paid_course, n: int):
    return [factories.payment_session(factories.user(email=f"buyer{i}@example.com"), paid_course,
                                      referrer_id=referrer.id) for i in range(n)]


def test_two_referred_purchases_finishing_at_once_make_one_reward_each(app, referrer, paid_course, rewards_on):
    first, second = _referred_purchases(referrer, paid_course, 2)
    # Each purchase's paid event delivered four times at once (redeliveries, twin events).
    jobs = []
    for ps in (first, second):
        for copy in range(4):
            evt = b.event("checkout.session.completed", b.checkout_session(ps), event_id=f"evt_{ps.id}_{copy}")
            jobs.append(_post(app, b.body_of(evt)))
    results = run_in_threads(app, jobs)
    assert results == [200] * len(jobs), results
    rewards = db.session.scalars(db.select(ReferralReward).order_by(ReferralReward.id)).all()
    assert sorted(r.payment_session_id for r in rewards) == sorted([first.id, second.id])
    assert all(r.status == R.PENDING and r.referrer_id == referrer.id for r in rewards)


def test_the_job_running_at_once_issues_one_coupon_per_reward(app, referrer, paid_course, rewards_on):
    purchases = _referred_purchases(referrer, paid_course, 3)
    for ps in purchases:
        assert b.post_event(app.test_client(), b.event("checkout.session.completed",
                                                       b.checkout_session(ps))).status_code == 200
    db.session.expire_all()
    due = max(r.earns_at for r in db.session.scalars(db.select(ReferralReward)))
    results = run_in_threads(app, [lambda: runs.issue_referral_rewards(now=due) for _ in range(4)])
    assert results == [0] * 4, results  # no run failed
    rewards = db.session.scalars(db.select(ReferralReward)).all()
    assert [r.status for r in rewards] == [R.EARNED] * 3
    assert _count(Coupon) == 3 and len({r.coupon_id for r in rewards}) == 3
    assert _count(OutboxMail, OutboxMail.template == "referral_reward") == 3


def test_a_refund_racing_the_job_leaves_the_reward_earned_with_a_coupon_or_canceled_without(
        app, learner, referrer, paid_course, rewards_on):
    ps = factories.payment_session(learner, paid_course, referrer_id=referrer.id)
    assert b.post_event(app.test_client(), b.event("checkout.session.completed",
                                                   b.checkout_session(ps))).status_code == 200
    db.session.expire_all()
    at = db.session.scalar(db.select(ReferralReward.earns_at))
    ps_id, amount = ps.id, ps.final_amount  # read here: the threads must not touch the test's objects

    def refund_just_before_the_window_ends():
        from services.payments import fulfillment
        locked = fulfillment.locked(ps_id)
        db.session.add(Refund(id=b.new_id("re"), payment_session_id=ps_id, amount=amount, currency="USD",
                              status="succeeded"))
        refunds.enforce(locked, now=at, occurred_at=at - timedelta(seconds=1))
        db.session.commit()

    results = run_in_threads(app, [lambda: runs.issue_referral_rewards(now=at), refund_just_before_the_window_ends])
    assert not [r for r in results if isinstance(r, BaseException)], results
    db.session.expire_all()
    reward = db.session.scalar(db.select(ReferralReward))
    if reward.status == R.EARNED:
        assert reward.coupon_id is not None and _count(Coupon) == 1
    else:
        assert reward.status == R.CANCELED and reward.coupon_id is None and _count(Coupon) == 0

"""Self-referral, refunds and disputes before the reward is earned, the cookie's 30 days, and a
coupon typed with a referral (the referral adds no discount; the coupon follows its own rules)."""
from datetime import timedelta

import pytest

from extensions import db
from jobs import runs
from models import (Enrollment, EnrollmentSource, PaymentSession, ReferralReward, ReferralRewardStatus as R,
                    utcnow)
from services.referrals import links, rewards
from tests import factories
from tests.helpers import login
from tests.referrals.test_flow import _buy, _follow, _reward
from tests.webhooks import builders as b


def _completed_by_webhook(client, ps: PaymentSession) -> PaymentSession:
    assert b.post_event(client, b.event("checkout.session.completed", b.checkout_session(ps))).status_code == 200
    db.session.expire_all()
    return db.session.get(PaymentSession, ps.id)


@pytest.fixture
def referred(client, learner, referrer, paid_course, rewards_on) -> PaymentSession:
    """A referred $99.00 purchase, paid through the webhook: its reward is pending."""
    ps = _completed_by_webhook(client, factories.payment_session(learner, paid_course, referrer_id=referrer.id))
    assert _reward(ps).status == R.PENDING
    return ps


# --- self-referral ---------------------------------------------------------------------------

@pytest.mark.parametrize("buyer, referrer, same", [
    ("ann@example.com", "ann@example.com", True),
    ("ann+shop@example.com", "ann@example.com", True),
    ("ANN@Example.com", "ann+x@example.com", True),
    ("anna@example.com", "ann@example.com", False),
    ("ann@example.org", "ann@example.com", False),
])
def test_email_identity_folds_case_and_plus_tags(buyer, referrer, same):
    assert (links.email_identity(buyer) == links.email_identity(referrer)) is same


def test_following_your_own_link_sets_no_cookie(client, sign_in, referrer, referral_code, paid_course):
    sign_in(client, referrer)
    response = _follow(client, referral_code)
    assert not [v for v in response.headers.getlist("Set-Cookie") if v.startswith("learnpay_ref=")]


def test_same_email_under_a_plus_address_is_a_self_referral(client, sandbox, referrer, referral_code, paid_course,
                                                             rewards_on):
    alias = factories.user(email="rita+shopping@example.com", name="Rita again")
    _follow(client, referral_code)
    login(client, alias.email)
    ps = _buy(client, sandbox)
    assert ps.referrer_id is None and _reward(ps) is None
    assert db.session.get(Enrollment, ps.enrollment_id).source == EnrollmentSource.DIRECT


def test_a_self_referral_recorded_anyway_earns_nothing(client, referrer, paid_course, rewards_on):
    ps = _completed_by_webhook(client, factories.payment_session(referrer, paid_course, referrer_id=referrer.id))
    assert ps.status.value == "COMPLETED" and _reward(ps) is None


def test_rewards_off_record_the_referral_but_no_reward(client, learner, referrer, paid_course):
    ps = _completed_by_webhook(client, factories.payment_session(learner, paid_course, referrer_id=referrer.id))
    assert db.session.get(Enrollment, ps.enrollment_id).source == EnrollmentSource.REFERRAL
    assert _reward(ps) is None


# --- refunds and disputes --------------------------------------------------------------------

def test_a_refund_before_the_window_ends_cancels_the_reward(client, referred):
    assert b.post_event(client, b.event("refund.created", b.refund(referred, amount=1000))).status_code == 200
    reward = _reward(referred)
    assert reward.status == R.CANCELED and reward.canceled_reason == "the purchase was refunded"
    runs.issue_referral_rewards(now=reward.earns_at + timedelta(days=1))
    assert _reward(referred).status == R.CANCELED and _reward(referred).coupon_id is None


def test_a_dispute_before_the_window_ends_cancels_the_reward(client, referred):
    assert b.post_event(client, b.event("charge.dispute.created", b.dispute(referred))).status_code == 200
    reward = _reward(referred)
    assert reward.status == R.CANCELED and reward.canceled_reason == "the purchase was disputed"


def test_a_refund_after_the_reward_is_earned_keeps_it(client, referred):
    runs.issue_referral_rewards(now=_reward(referred).earns_at)
    assert _reward(referred).status == R.EARNED
    assert b.post_event(client, b.event("refund.created", b.refund(referred))).status_code == 200
    assert _reward(referred).status == R.EARNED


def test_the_job_cancels_a_reward_whose_refund_no_cancel_saw(client, referred):
    """A refund recorded but not acted on (e.g. before this code ran): the job still refuses."""
    from models import RefundMovement
    reward = _reward(referred)
    db.session.add(RefundMovement(payment_session_id=referred.id, currency="USD", amount=500,
                                  occurred_at=reward.earns_at - timedelta(days=1)))
    db.session.commit()
    runs.issue_referral_rewards(now=reward.earns_at)
    assert _reward(referred).status == R.CANCELED and _reward(referred).coupon_id is None


def test_a_disabled_referrer_earns_nothing(client, referred, referrer):
    referrer.is_disabled = True
    db.session.commit()
    runs.issue_referral_rewards(now=_reward(referred).earns_at)
    assert _reward(referred).canceled_reason == "the referrer's account is disabled"


def test_a_course_without_refunds_earns_at_once(client, learner, referrer, paid_course, rewards_on):
    from services.payments import refund_policy
    refund_policy.set_course_override(paid_course, mode="no_refunds", actor=None)
    db.session.commit()
    ps = _completed_by_webhook(client, factories.payment_session(learner, paid_course, referrer_id=referrer.id))
    assert _reward(ps).earns_at == ps.completed_at


# --- the cookie ------------------------------------------------------------------------------

def test_the_cookie_counts_for_thirty_days(app):
    now = utcnow().replace(microsecond=0)  # the cookie keeps whole seconds
    value = links.cookie_value("abc23456", now)
    assert links.code_from_cookie(value, now + timedelta(days=30)) == "abc23456"
    assert links.code_from_cookie(value, now + timedelta(days=30, seconds=1)) is None
    assert links.code_from_cookie(value[:-2] + "xx", now) is None  # tampered
    assert links.code_from_cookie("abc23456", now) is None  # a bare code is not a referral
    app.config["SECRET_KEY"] = "another-secret-key-for-this-test-only"
    assert links.code_from_cookie(value, now) is None


def test_an_expired_cookie_refers_nobody(client, sandbox, learner, referral_code, paid_course, rewards_on):
    client.set_cookie("learnpay_ref", links.cookie_value(referral_code, utcnow() - timedelta(days=31)))
    login(client, learner.email)
    ps = _buy(client, sandbox)
    assert ps.referrer_id is None and _reward(ps) is None


def test_a_coupon_with_a_referral_keeps_its_own_price_and_the_referrer_still_earns(
        client, sandbox, learner, referrer, referral_code, paid_course, rewards_on):
    factories.coupon(code="SPRING15", percent=15, courses=[paid_course])
    _follow(client, referral_code)
    login(client, learner.email)
    ps = _buy(client, sandbox, coupon_code="SPRING15")
    assert ps.final_amount == 8415 and ps.discount_amount == 1485  # the coupon's discount, nothing more
    enrollment = db.session.get(Enrollment, ps.enrollment_id)
    assert enrollment.source == EnrollmentSource.REFERRAL and enrollment.referrer_id == referrer.id
    assert _reward(ps).status == R.PENDING


def test_settings_changes_leave_pending_rewards_their_terms(client, referred):
    rewards.update_settings(rewards.SettingsInput(rewards_enabled=True, discount_type="FIXED_AMOUNT", amount_off=500,
                                                  currency="USD", validity_days=10), actor=None)
    db.session.commit()
    runs.issue_referral_rewards(now=_reward(referred).earns_at)
    reward = _reward(referred)
    assert float(reward.coupon.percent_off) == 10.0 and reward.coupon.amount_off is None
    assert db.session.scalar(db.select(db.func.count()).select_from(ReferralReward)) == 1

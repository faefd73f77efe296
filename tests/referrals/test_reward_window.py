"""A referred bundle's reward is earned once the bundle's own refund window is over (the
strictest terms among its courses, as its refunds follow), not the policy's default window."""
from datetime import timedelta

from extensions import db
from jobs import runs
from models import ReferralRewardStatus as R
from services.bundles import catalog
from services.payments import purchases, refund_policy
from tests import factories
from tests.bundles.conftest import CANCEL, SUCCESS
from tests.checkout.builders import NOW
from tests.referrals.test_flow import _reward
from tests.webhooks import builders as b


def test_a_bundle_whose_courses_refund_for_longer_earns_after_that_window(client, learner, referrer, rewards_on,
                                                                          staff):
    courses = [factories.course(slug=f"long-{n}", title=f"Long {n}", price=price) for n, price in ((1, 4900), (2, 2900))]
    for course in courses:
        refund_policy.set_course_override(course, mode="custom", window_days=30, actor=staff)
    bundle = factories.bundle(courses, 6900, slug="long-pair", name="The long pair")
    db.session.commit()
    start = purchases.prepare(catalog.product_of(bundle), learner, None, success_url=SUCCESS, cancel_url=CANCEL,
                              now=NOW, referrer_id=referrer.id)
    ps = start.payment_session
    ps.stripe_session_id = f"cs_test_{ps.id}"
    db.session.commit()
    assert b.post_event(client, b.event("checkout.session.completed", b.checkout_session(ps))).status_code == 200
    db.session.expire_all()
    assert refund_policy.terms_for_payment(ps).window_days == 30  # the learner may ask for a refund for 30 days
    reward = _reward(ps)
    assert reward.earns_at == ps.completed_at + timedelta(days=30)
    runs.issue_referral_rewards(now=ps.completed_at + timedelta(days=15))  # still refundable: not earned
    assert _reward(ps).status == R.PENDING

"""A bundle (or path) bought through a referral link: its enrollments keep their own source and
record the referrer; the referrer's reward follows the same rules as for a course."""
from datetime import timedelta

from extensions import db
from jobs import runs
from models import EnrollmentSource, ReferralRewardStatus as R
from services.bundles import catalog
from services.payments import purchases, refund_policy
from tests import factories
from tests.bundles.conftest import CANCEL, SUCCESS, paid_by
from tests.checkout.builders import NOW
from tests.referrals.test_flow import _reward
from tests.webhooks import builders as b


def _bundle_bought(client, learner, referrer_id):
    courses = [factories.course(slug=f"b-{n}", title=f"B {n}", price=price) for n, price in ((1, 4900), (2, 2900))]
    bundle = factories.bundle(courses, 6900, slug="pair", name="The pair")
    start = purchases.prepare(catalog.product_of(bundle), learner, None, success_url=SUCCESS, cancel_url=CANCEL,
                              now=NOW, referrer_id=referrer_id)
    ps = start.payment_session
    ps.stripe_session_id = f"cs_test_{ps.id}"
    db.session.commit()
    assert b.post_event(client, b.event("checkout.session.completed", b.checkout_session(ps))).status_code == 200
    db.session.expire_all()
    return ps


def test_a_referred_bundle_keeps_its_source_and_records_the_referrer(client, learner, referrer, rewards_on):
    ps = _bundle_bought(client, learner, referrer.id)
    enrolled = paid_by(ps)
    assert len(enrolled) == 2 and {e.source for e in enrolled} == {EnrollmentSource.BUNDLE}
    assert {e.referrer_id for e in enrolled} == {referrer.id}
    reward = _reward(ps)
    assert reward.status == R.PENDING and reward.referrer_id == referrer.id
    assert reward.earns_at == ps.completed_at + timedelta(days=refund_policy.window_days_of(None))
    runs.issue_referral_rewards(now=reward.earns_at)
    assert _reward(ps).status == R.EARNED and _reward(ps).coupon is not None


def test_a_bundle_without_a_referral_records_none(client, learner, rewards_on):
    ps = _bundle_bought(client, learner, None)
    assert {e.referrer_id for e in paid_by(ps)} == {None} and _reward(ps) is None


def test_a_bundle_bought_on_the_web_after_following_a_link(client, sandbox, learner, referrer, referral_code,
                                                           rewards_on):
    from models import PaymentSession
    from tests.helpers import login, post_form
    from tests.referrals.test_flow import _follow
    courses = [factories.course(slug=f"w-{n}", title=f"W {n}", price=price) for n, price in ((1, 4900), (2, 2900))]
    factories.bundle(courses, 6900, slug="web-pair", name="Web pair")
    _follow(client, referral_code, next="/bundles/web-pair")
    login(client, learner.email)
    response = post_form(client, "/bundles/web-pair/checkout", {"coupon_code": ""})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    cs_id = response.headers["Location"].rsplit("/", 1)[-1]
    sandbox.sandbox.engine.pay_card(cs_id, "4242424242424242", learner.email)
    assert client.get(f"/checkout/success?session_id={cs_id}").status_code == 200
    db.session.expire_all()
    ps = db.session.scalar(db.select(PaymentSession).where(PaymentSession.stripe_session_id == cs_id))
    assert ps.referrer_id == referrer.id and _reward(ps).status == R.PENDING
    enrolled = paid_by(ps)
    assert {e.source for e in enrolled} == {EnrollmentSource.BUNDLE} and {e.referrer_id for e in enrolled} == {referrer.id}

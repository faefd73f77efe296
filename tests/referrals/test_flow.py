"""Link → purchase through the sandbox → source REFERRAL → reward earned only after the refund
window (time moved by passing `now`) → coupon issued and mailed, listed on /account."""
from datetime import timedelta
from http.cookies import SimpleCookie

from extensions import db
from jobs import runs
from models import (Coupon, Enrollment, EnrollmentSource, PaymentSession, ReferralReward,
                    ReferralRewardStatus as R, utcnow)
from services.coupons import pricing
from tests import factories
from tests.helpers import login, post_form


def _follow(client, code: str, **query):
    response = client.get(f"/r/{code}", query_string=query)
    assert response.status_code == 303
    return response


def _cookie_header(response) -> SimpleCookie:
    [header] = [v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("learnpay_ref=")]
    cookie = SimpleCookie()
    cookie.load(header)
    return cookie["learnpay_ref"], header


def _buy(client, sandbox, slug: str = "python-101", coupon_code: str = "") -> PaymentSession:
    response = post_form(client, f"/courses/{slug}/checkout", {"coupon_code": coupon_code})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    cs_id = response.headers["Location"].rsplit("/", 1)[-1]
    sandbox.sandbox.engine.pay_card(cs_id, "4242424242424242", "learner@example.com")
    assert client.get(f"/checkout/success?session_id={cs_id}").status_code == 200
    db.session.expire_all()
    return db.session.scalar(db.select(PaymentSession).where(PaymentSession.stripe_session_id == cs_id))


def _reward(ps: PaymentSession) -> ReferralReward | None:
    db.session.expire_all()
    return db.session.scalar(db.select(ReferralReward).where(ReferralReward.payment_session_id == ps.id))


def test_link_sets_a_signed_cookie_and_redirects(client, referral_code, paid_course):
    response = _follow(client, referral_code)
    assert response.headers["Location"].endswith("/courses")
    morsel, header = _cookie_header(response)
    assert morsel["httponly"] and morsel["samesite"] == "Lax" and morsel["path"] == "/"
    assert int(morsel["max-age"]) == 30 * 24 * 3600
    assert referral_code not in morsel.value or "." in morsel.value  # signed, not the bare code
    assert "session=" not in " ".join(response.headers.getlist("Set-Cookie"))  # no session for a visitor
    assert _follow(client, referral_code, next="/courses/python-101").headers["Location"].endswith(
        "/courses/python-101")
    for unsafe in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        assert _follow(client, referral_code, next=unsafe).headers["Location"].endswith("/courses")


def test_an_unknown_code_sets_nothing(client, paid_course):
    response = _follow(client, "nosuchcode")
    assert response.headers["Location"].endswith("/courses")
    assert not [v for v in response.headers.getlist("Set-Cookie") if v.startswith("learnpay_ref=")]


def test_referred_purchase_earns_a_coupon_after_the_refund_window(client, sandbox, learner, referrer, referral_code,
                                                                 paid_course, rewards_on, outbox):
    _follow(client, referral_code)
    login(client, learner.email)
    ps = _buy(client, sandbox)
    assert ps.referrer_id == referrer.id
    enrollment = db.session.get(Enrollment, ps.enrollment_id)
    assert enrollment.source == EnrollmentSource.REFERRAL and enrollment.referrer_id == referrer.id
    assert ps.final_amount == 9900  # the referral gives the buyer no discount

    reward = _reward(ps)
    assert reward.status == R.PENDING and reward.referrer_id == referrer.id
    assert reward.earns_at == ps.completed_at + timedelta(days=14)  # the refund policy's window

    mails_before = len(outbox)
    runs.issue_referral_rewards(now=reward.earns_at - timedelta(seconds=1))  # one second early: nothing
    assert _reward(ps).status == R.PENDING and _reward(ps).coupon_id is None
    runs.issue_referral_rewards(now=reward.earns_at)
    reward = _reward(ps)
    assert reward.status == R.EARNED and reward.earned_at == reward.earns_at
    coupon = db.session.get(Coupon, reward.coupon_id)
    assert coupon.code.startswith("REF-") and coupon.max_uses == 1 and coupon.per_learner_limit == 1
    assert coupon.valid_until == reward.earns_at + timedelta(days=30) and not coupon.is_public
    assert float(coupon.percent_off) == 10.0

    runs.issue_referral_rewards(now=reward.earns_at + timedelta(days=1))  # a second run issues nothing more
    assert db.session.scalar(db.select(db.func.count()).select_from(Coupon)) == 1

    [mail] = list(outbox)[mails_before:]
    assert mail["To"] == referrer.email and coupon.code in mail.get_content() and "10% off" in mail["Subject"]

    # The coupon follows the coupon rules when it is used: valid for the referrer now.
    other_course = factories.course(slug="sql-201", title="SQL 201", price=5000)
    quote = pricing.quote(other_course, coupon.code, referrer, reward.earns_at + timedelta(days=1))
    assert quote.is_valid and quote.final_amount == 4500
    expired = pricing.quote(other_course, coupon.code, referrer, reward.earns_at + timedelta(days=31))
    assert not expired.is_valid


def test_account_lists_the_link_and_every_reward(client, sign_in, learner, referrer, referral_code, paid_course,
                                                 rewards_on):
    course = factories.course(slug="sql-201", price=5000)
    earned = factories.payment_session(learner, paid_course, "COMPLETED", referrer_id=referrer.id)
    pending = factories.payment_session(factories.user(email="b@example.com"), paid_course, "COMPLETED",
                                        referrer_id=referrer.id)
    canceled = factories.payment_session(factories.user(email="c@example.com"), course, "COMPLETED",
                                         referrer_id=referrer.id)
    from services.referrals import rewards
    now = utcnow()
    for ps in (earned, pending, canceled):
        rewards.record_purchase(ps, window_days=14, now=now)
    rewards.cancel(canceled.id, "the purchase was refunded", occurred_at=now, now=now)
    db.session.commit()
    db.session.execute(db.update(ReferralReward).where(ReferralReward.payment_session_id == earned.id)
                       .values(earns_at=now - timedelta(seconds=1)))
    db.session.commit()
    runs.issue_referral_rewards(now=now)
    sign_in(client, referrer)
    page = client.get("/account").get_data(as_text=True)
    assert f"/r/{referral_code}" in page and "10% off" in page
    code = db.session.scalar(db.select(Coupon.code))
    assert code in page and "Earned" in page
    assert f"Pending: earned on {(now + timedelta(days=14)):%d %b %Y}" in page
    assert "Canceled: the purchase was refunded" in page


def test_a_learner_gets_a_code_on_their_first_visit_to_account(client, sign_in, learner):
    sign_in(client, learner)
    page = client.get("/account").get_data(as_text=True)
    from services.referrals import links
    code = links.existing_code(learner)
    assert code and f"/r/{code}" in page
    client.get("/account")
    assert links.existing_code(learner) == code  # the same code every time

"""Staff: the reward settings page, the figures per referrer (analytics table and CSV), and the
API's enrollments (source for everyone, the referrer for staff)."""
from datetime import date, timedelta

from extensions import db
from jobs import runs
from models import ReferralSettings, utcnow
from services import analytics
from services.people import api_tokens
from services.referrals import rewards
from tests import factories
from tests.helpers import post_form


def _referred(referrer, course, buyer_email: str, *, refunded: int = 0, currency_course=None):
    ps = factories.payment_session(factories.user(email=buyer_email), currency_course or course, "COMPLETED",
                                   referrer_id=referrer.id, amount_refunded=refunded)
    rewards.record_purchase(ps, window_days=14, now=ps.completed_at)
    db.session.commit()
    return ps


def test_staff_set_the_reward_and_every_mistake_shows_at_once(client, sign_in, staff):
    sign_in(client, staff)
    page = client.get("/staff/referrals")
    assert page.status_code == 200 and "Rewards are off" in page.get_data(as_text=True)
    bad = post_form(client, "/staff/referrals", {"rewards_enabled": "y", "discount_type": "FIXED_AMOUNT",
                                                 "value": "5.00", "currency": "", "validity_days": "0"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "A fixed amount needs a currency." in body and "Between 1 and 3650" in body
    assert db.session.get(ReferralSettings, 1) is None
    bad = post_form(client, "/staff/referrals", {"rewards_enabled": "y", "discount_type": "PERCENTAGE",
                                                 "value": "150", "validity_days": "30"})
    assert bad.status_code == 422 and "at most 100" in bad.get_data(as_text=True)
    good = post_form(client, "/staff/referrals", {"rewards_enabled": "y", "discount_type": "FIXED_AMOUNT",
                                                  "value": "5.00", "currency": "USD", "validity_days": "60"})
    assert good.status_code == 302
    db.session.expire_all()
    row = db.session.get(ReferralSettings, 1)
    assert row.rewards_enabled and row.amount_off == 500 and row.currency == "USD" and row.validity_days == 60
    assert "$5.00 off" in client.get("/staff/referrals").get_data(as_text=True)


def test_learners_cannot_reach_the_settings(client, sign_in, learner):
    sign_in(client, learner)
    assert client.get("/staff/referrals").status_code == 403


def test_figures_per_referrer(app, referrer, paid_course, rewards_on):
    other = factories.user(email="otto@example.com")
    eur_course = factories.course(slug="eur-course", price=5000, currency="EUR")
    first = _referred(referrer, paid_course, "b1@example.com")
    _referred(referrer, paid_course, "b2@example.com", refunded=900)
    _referred(referrer, paid_course, "b3@example.com", currency_course=eur_course)
    _referred(other, paid_course, "b4@example.com")
    factories.payment_session(factories.user(email="b5@example.com"), paid_course, "COMPLETED")  # not referred
    runs.issue_referral_rewards(now=first.completed_at + timedelta(days=15))
    # The referrer uses one of their reward coupons.
    coupon = db.session.scalar(db.select(rewards.ReferralReward).where(
        rewards.ReferralReward.payment_session_id == first.id)).coupon
    coupon.current_uses = 1
    db.session.commit()

    later = (first.completed_at + timedelta(days=15)).date()
    table = analytics.referrals_by_referrer(date.today(), later)
    rows = {(r["referrer"], r["currency"]): r for r in table.rows}
    assert rows[("rita@example.com", "USD")] == {"referrer": "rita@example.com", "currency": "USD", "purchases": 2,
                                                  "gross": 19800, "net": 18900, "issued": 2, "redeemed": 1}
    assert rows[("rita@example.com", "EUR")]["purchases"] == 1 and rows[("rita@example.com", "EUR")]["issued"] == 1
    assert rows[("otto@example.com", "USD")]["purchases"] == 1
    assert len(rows) == 3
    # Purchases count on their day, rewards on theirs: today alone has the purchases, no rewards.
    today = {(r["referrer"], r["currency"]): r for r in analytics.referrals_by_referrer(date.today(), date.today()).rows}
    assert today[("rita@example.com", "USD")]["purchases"] == 2 and today[("rita@example.com", "USD")]["issued"] == 0


def test_the_analytics_page_and_csv_carry_the_referrals(client, sign_in, staff, referrer, paid_course, rewards_on):
    _referred(referrer, paid_course, "b1@example.com")
    sign_in(client, staff)
    page = client.get("/staff/analytics").get_data(as_text=True)
    assert 'id="table-referrals"' in page and "rita@example.com" in page
    csv = client.get("/staff/analytics/referrals.csv")
    assert csv.status_code == 200
    text = csv.get_data(as_text=True)
    assert "Referrer,Currency,Referred purchases,Revenue,Net of refunds,Rewards issued,Rewards redeemed" in text
    assert "rita@example.com,USD,1,99.00,99.00,0,0" in text


def test_the_api_shows_the_source_and_staff_see_the_referrer(client, learner, staff, referrer, paid_course):
    ps = factories.payment_session(learner, paid_course, "COMPLETED", referrer_id=referrer.id)
    factories.enrollment(learner, paid_course, paid=True, source="REFERRAL", payment_id=ps.id,
                         referrer_id=referrer.id)
    _, learner_token = api_tokens.create(learner, "t")
    _, staff_token = api_tokens.create(staff, "s", scopes=["read", "write", "staff:read"])
    db.session.commit()
    mine = client.get("/api/payments/enrollments", headers={"Authorization": f"Bearer {learner_token}"}).get_json()
    [item] = mine["enrollments"]
    assert item["source"] == "REFERRAL" and item["enrollmentSource"] == "REFERRAL" and "referrerId" not in item
    listed = client.get(f"/api/staff/enrollments?courseId={paid_course.id}",
                        headers={"Authorization": f"Bearer {staff_token}"}).get_json()
    [item] = listed["enrollments"]
    assert item["source"] == "REFERRAL" and item["referrerId"] == referrer.id

"""Existing pages keep working once a learner has a membership checkout, a subscription and a
SUBSCRIPTION enrollment (a payment session with no course, a coupon use with no course)."""
from datetime import datetime, timezone

import pytest

from extensions import db
from models import (BillingInterval, CouponRedemption, EnrollmentType, PaymentSession, PaymentSessionStatus,
                    RedemptionStatus)
from tests import factories
from tests.helpers import login

NOW = datetime.now(timezone.utc)


@pytest.fixture
def member(app):
    learner = factories.user(email="member@example.com")
    membership = factories.membership(name="All-Access")
    coupon = factories.coupon(code="MEMBER10", percent=10)
    session = factories.save(PaymentSession(
        course_id=None, membership_id=membership.id, billing_interval=BillingInterval.MONTH, user_id=learner.id,
        status=PaymentSessionStatus.COMPLETED, amount=2900, currency="USD", discount_amount=290, final_amount=2610,
        coupon_id=coupon.id, coupon_code=coupon.code, stripe_session_id="cs_test_member", created_at=NOW,
        completed_at=NOW, expires_at=NOW))
    factories.save(CouponRedemption(coupon_id=coupon.id, user_id=learner.id, membership_id=membership.id,
                                    payment_session_id=session.id, status=RedemptionStatus.REDEEMED,
                                    discount_amount=290, currency="USD", reserved_at=NOW, redeemed_at=NOW))
    subscription = factories.subscription(learner, membership, "ACTIVE", payment_session_id=session.id)
    factories.enrollment(learner, factories.course(title="Included course"), type=EnrollmentType.SUBSCRIPTION,
                         subscription_id=subscription.id)
    return learner, session, coupon


def test_learner_pages(client, member):
    learner, session, _ = member
    login(client, learner.email)
    for path in ("/dashboard", "/account/purchases", f"/account/purchases/{session.id}/receipt"):
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
    assert "Included course" in client.get("/dashboard").get_data(as_text=True)


def test_staff_pages(client, member, admin):
    learner, session, coupon = member
    login(client, admin.email)
    for path in ("/staff/payments", f"/staff/payments/{session.id}", f"/staff/coupons/{coupon.id}",
                 f"/staff/users/{learner.id}", "/staff/analytics", "/staff/"):
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
    assert "All-Access" in client.get(f"/staff/coupons/{coupon.id}").get_data(as_text=True)

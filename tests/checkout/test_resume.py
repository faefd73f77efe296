"""A checkout prepared earlier and opened on Stripe later still gets Stripe's 30-minute minimum.

`expires_at` used to be fixed when the checkout was prepared, so resuming it more than a
minute later sent Stripe a time under its minimum (Stripe refuses it).
"""
from datetime import timedelta

import pytest

from extensions import db
from models import CouponRedemption, utcnow
from services.payments import checkout
from tests import factories

SUCCESS = "http://127.0.0.1/checkout/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://127.0.0.1/checkout/cancel?payment_session={PAYMENT_SESSION_ID}"


@pytest.fixture
def app_overrides(sandbox_config):
    return sandbox_config


def test_expires_at_is_computed_when_stripe_is_called(learner, paid_course, sandbox):
    coupon = factories.coupon(code="LATER10", percent=10)
    prepared_at = utcnow() - timedelta(minutes=20)
    start = checkout.prepare_checkout(learner, paid_course, coupon.code, success_url=SUCCESS, cancel_url=CANCEL,
                                      now=prepared_at)
    db.session.commit()
    opened = checkout.open_stripe_session(start.payment_session, now=utcnow())
    db.session.commit()
    stripe_session = sandbox.state.sessions[opened.payment_session.stripe_session_id]
    assert 30 * 60 <= stripe_session["expires_at"] - stripe_session["created"] <= 24 * 3600
    ps = opened.payment_session
    assert int(ps.expires_at.timestamp()) == stripe_session["expires_at"]
    assert ps.extra["stripe_params"]["expires_at"] == stripe_session["expires_at"]  # the exact params of the call
    hold = db.session.scalar(db.select(CouponRedemption).where(CouponRedemption.payment_session_id == ps.id))
    assert hold.expires_at >= ps.expires_at  # the coupon use is held as long as the Stripe session lives

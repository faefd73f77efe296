"""Bundle races with real threads, on both databases (run with LEARNPAY_TEST_DB=sqlite and
=postgresql): a learner's double click makes one payment session and one Stripe session, and
the success page racing the webhook gives one set of enrollments and one coupon use."""
import functools

import pytest

from extensions import db
from models import (Bundle, Coupon, CouponRedemption, Enrollment, PaymentSession, PaymentSessionStatus as S,
                    RedemptionStatus, User, utcnow)
from services.bundles import catalog
from services.payments import checkout, fulfillment, purchases, stripe_gateway
from tests import factories
from tests.bundles.conftest import CANCEL, SUCCESS
from tests.isolation import run_in_threads


@pytest.fixture
def app_overrides(sandbox_config):
    return {**sandbox_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 30, "max_overflow": 30}}


def _count(query) -> int:
    db.session.expire_all()
    return db.session.scalar(query)


def _start(user_id: int, bundle_id: int, code: str | None = None):
    user, bundle = db.session.get(User, user_id), db.session.get(Bundle, bundle_id)
    return purchases.start(catalog.product_of(bundle), user, code, success_url=SUCCESS, cancel_url=CANCEL,
                           now=utcnow(), commit=db.session.commit)


def test_a_double_click_on_buy_makes_one_payment_session(app, sandbox, bundle, learner):
    factories.coupon(code="TWICE", percent=10, max_uses=1)
    user_id, bundle_id = learner.id, bundle.id
    results = run_in_threads(app, [functools.partial(lambda i: _start(user_id, bundle_id, "TWICE").redirect_url, i)
                                   for i in range(8)])
    assert all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 1
    assert _count(db.select(db.func.count()).select_from(PaymentSession)) == 1
    assert _count(db.select(db.func.count()).select_from(CouponRedemption)
                  .where(CouponRedemption.status == RedemptionStatus.RESERVED)) == 1
    assert len(sandbox.state.sessions) == 1


def test_success_page_and_webhook_race_to_one_set_of_enrollments(app, sandbox, bundle, learner):
    coupon = factories.coupon(code="RACEB", percent=10, max_uses=3)
    start = _start(learner.id, bundle.id, coupon.code)
    cs_id = start.payment_session.stripe_session_id
    assert sandbox.sandbox.engine.pay_card(cs_id, "4242424242424242")["ok"]
    user_id = learner.id

    def settle(index: int):
        now = utcnow()
        if index % 2:  # the success page
            result = checkout.confirm_success(db.session.get(User, user_id), cs_id, now)
        else:  # the webhook / reconcile
            result = fulfillment.fulfill_checkout_session(stripe_gateway.retrieve_checkout_session(cs_id),
                                                          now=now, source="webhook")
        db.session.commit()
        return result.status

    results = run_in_threads(app, [functools.partial(settle, i) for i in range(10)])
    assert results == [S.COMPLETED] * 10, results
    enrolled = list(db.session.scalars(db.select(Enrollment).where(Enrollment.user_id == user_id)))
    assert len(enrolled) == 3 and sum(e.amount_paid for e in enrolled) == start.payment_session.final_amount
    assert _count(db.select(Coupon.current_uses).where(Coupon.id == coupon.id)) == 1

"""Double-clicking "Subscribe" with real threads, on both databases, makes one Stripe checkout (so one
subscription); the learner's row lock orders the clicks (PostgreSQL: row locks; SQLite: BEGIN IMMEDIATE)."""
import functools

import pytest

from extensions import db
from models import Membership, PaymentSession, PaymentSessionStatus as S, User, BillingInterval, utcnow
from services.errors import DomainError
from services.payments import subscription_checkout
from tests import factories
from tests.isolation import run_in_threads
from tests.webhooks.builders import sandbox_control

SUCCESS = "http://127.0.0.1/checkout/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://127.0.0.1/checkout/cancel?payment_session={PAYMENT_SESSION_ID}"


@pytest.fixture
def app_overrides(sandbox_config):
    return {**sandbox_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 30, "max_overflow": 30}}


def _subscribe(user_id: int, membership_id: int, code=None, index: int = 0):
    user, membership = db.session.get(User, user_id), db.session.get(Membership, membership_id)
    return subscription_checkout.start(user, membership, BillingInterval.MONTH, code, success_url=SUCCESS,
                                       cancel_url=CANCEL, now=utcnow(), commit=db.session.commit)


def test_twenty_clicks_on_subscribe_open_one_checkout(app, learner, sandbox):
    user_id, membership_id = learner.id, factories.membership().id
    results = run_in_threads(app, [functools.partial(_subscribe, user_id, membership_id, index=i)
                                   for i in range(20)])
    assert all(not isinstance(r, Exception) for r in results), results
    assert len({r.redirect_url for r in results}) == 1
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(PaymentSession)
                             .where(PaymentSession.status == S.PENDING)) == 1
    assert len(sandbox.state.sessions) == 1


def test_once_subscribed_every_click_is_refused(app, learner, sandbox, client):
    membership = factories.membership()
    started = _subscribe(learner.id, membership.id)
    sandbox_control(sandbox, f"checkout/sessions/{started.payment_session.stripe_session_id}/pay",
                    {"card": "4242424242424242"})
    for event in sandbox.events():
        body, headers = sandbox.signed(event["id"])
        assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 200
    user_id, membership_id = learner.id, membership.id

    def click(index: int) -> str:
        try:
            return _subscribe(user_id, membership_id, index=index).kind
        except DomainError as refused:  # returned, not raised: a raising job breaks the others' barrier
            db.session.rollback()
            return refused.code

    results = run_in_threads(app, [functools.partial(click, i) for i in range(10)])
    assert results == ["ALREADY_SUBSCRIBED"] * 10, results
    assert len(sandbox.state.sessions) == 1


def test_racing_learners_share_a_capped_coupon_on_first_payments(app, sandbox):
    membership = factories.membership()
    coupon = factories.coupon(code="FIRST3", percent=50, max_uses=3)
    users = [factories.user().id for _ in range(12)]
    membership_id, code = membership.id, coupon.code

    def prepare(user_id):
        user = db.session.get(User, user_id)
        try:
            start = subscription_checkout.prepare(user, db.session.get(Membership, membership_id),
                                                  BillingInterval.MONTH, code, success_url=SUCCESS, cancel_url=CANCEL,
                                                  now=utcnow())
        except DomainError as refused:  # returned, not raised (see above)
            db.session.rollback()
            return refused.code
        db.session.commit()
        return start.kind

    results = run_in_threads(app, [functools.partial(prepare, user_id) for user_id in users])
    assert sorted(results) == ["COUPON_USED_UP"] * 9 + ["REDIRECT"] * 3, results

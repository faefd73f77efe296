"""A membership's life against the Stripe sandbox: subscribe (Checkout in subscription mode, a coupon on the
first payment, a trial), renewals and failed renewals on the sandbox's clock, the portal, the end, and
resubscribing; the sandbox's own events delivered to our webhook, in order and shuffled."""
import random
from datetime import datetime, timezone

import pytest

from extensions import db
from models import (BillingInterval, Coupon, Enrollment, EnrollmentSource, EnrollmentType, MembershipInvoice,
                    OutboxMail, PaymentSession, PaymentSessionStatus as S, Subscription, SubscriptionStatus as St,
                    utcnow)
from services.learning import access
from services.memberships import subscriptions
from services.payments import checkout, reconcile, stripe_gateway, subscription_billing, subscription_checkout
from tests import factories
from tests.webhooks.builders import sandbox_control

SUCCESS = "http://127.0.0.1:5000/checkout/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://127.0.0.1:5000/checkout/cancel?payment_session={PAYMENT_SESSION_ID}"
GOOD, FAILING = "4242424242424242", "4000000000000341"


@pytest.fixture
def app_overrides(sandbox_config):
    return {**sandbox_config, "FRONTEND_URL": "http://127.0.0.1:5000"}


class Life:
    """One learner's membership on the sandbox, with the events delivered so far."""

    def __init__(self, client, sandbox, learner, membership):
        self.client, self.sandbox, self.learner, self.membership = client, sandbox, learner, membership
        self.delivered = 0

    def subscribe(self, code=None, card=GOOD, interval=BillingInterval.MONTH) -> PaymentSession:
        started = subscription_checkout.start(self.learner, self.membership, interval, code, success_url=SUCCESS,
                                              cancel_url=CANCEL, now=utcnow(), commit=db.session.commit)
        sandbox_control(self.sandbox, f"checkout/sessions/{started.payment_session.stripe_session_id}/pay",
                        {"card": card})
        self.deliver()
        return started.payment_session

    def deliver(self, order=None):
        events = self.sandbox.events()[self.delivered:]
        self.delivered += len(events)
        if order is not None:
            order(events)
        for event in events:
            body, headers = self.sandbox.signed(event["id"])
            response = self.client.post("/webhooks/stripe", data=body, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)
        db.session.expire_all()

    def advance(self, days):
        self.sandbox.advance_clock(days=days)
        self.deliver()

    def portal(self, action, payload=None):
        url = subscription_billing.portal_url(self.learner, "http://127.0.0.1:5000/dashboard")
        sandbox_control(self.sandbox, f"portal/{url.rstrip('/').rsplit('/', 1)[1]}/{action}",
                        {"subscription": self.subscription.stripe_subscription_id, **(payload or {})})
        self.deliver()

    @property
    def subscription(self) -> Subscription:
        return subscriptions.current_for(self.learner, self.membership)

    def start(self, course) -> Enrollment:
        started = checkout.enroll_without_payment(self.learner, course, now=utcnow())
        db.session.commit()
        return started.enrollment


@pytest.fixture
def life(client, sandbox, learner):
    return Life(client, sandbox, learner, factories.membership(name="All-Access", monthly=2900, yearly=29000))


def _stripe_state(sub_id):
    stripe_sub = stripe_gateway.retrieve_subscription(sub_id)
    return stripe_sub["status"].upper(), stripe_sub["items"]["data"][0]["current_period_end"]


def test_subscribe_with_a_coupon_then_renew_at_full_price(life):
    coupon = factories.coupon(code="HALFFIRST", percent=50)
    course = factories.course(price=9900)
    payment_session = life.subscribe(code=coupon.code)
    db.session.expire_all()
    payment_session = db.session.get(PaymentSession, payment_session.id)
    assert payment_session.status == S.COMPLETED and payment_session.final_amount == 1450
    assert db.session.get(Coupon, coupon.id).current_uses == 1
    subscription = life.subscription
    assert subscription.status == St.ACTIVE and subscription.payment_session_id == payment_session.id
    assert subscription.stripe_customer_id == life.learner.stripe_customer_id  # the learner's one Customer
    [first] = subscriptions.invoices_of(subscription)
    assert (first.status, first.amount_paid, first.billing_reason) == ("paid", 1450, "subscription_create")
    assert first.payment_intent_id  # refunds and disputes find it
    enrollment = life.start(course)
    assert (enrollment.type, enrollment.source) == (EnrollmentType.SUBSCRIPTION, EnrollmentSource.PROMOTION)
    life.advance(31)
    renewal = subscriptions.invoices_of(life.subscription)[0]
    assert (renewal.billing_reason, renewal.status, renewal.amount_paid) == ("subscription_cycle", "paid", 2900)
    assert _stripe_state(life.subscription.stripe_subscription_id) == \
        (life.subscription.status.value, int(life.subscription.current_period_end.timestamp()))
    assert len(db.session.scalars(db.select(OutboxMail).where(OutboxMail.template == "membership_welcome")).all()) == 1


def test_failed_renewals_grace_card_update_cancel_end_and_resubscribe(life):
    course = factories.course()
    life.subscribe()
    enrollment = life.start(course)
    enrollment.progress = 40.0
    db.session.commit()
    life.portal("card", {"card": FAILING})
    life.advance(31)
    assert life.subscription.status == St.PAST_DUE
    assert access.describe(db.session.get(Enrollment, enrollment.id)).allowed  # inside the grace
    assert subscriptions.display(life.subscription, utcnow()).needs_card_update
    life.advance(8)  # the retries on days 3 and 8 fail; Stripe's clock is past the 7-day grace
    described = access.describe(db.session.get(Enrollment, enrollment.id))
    assert (described.allowed, described.code) == (False, "MEMBERSHIP_PAST_DUE")
    life.portal("card", {"card": GOOD})  # the open invoice is retried at once and paid
    assert life.subscription.status == St.ACTIVE
    assert access.describe(db.session.get(Enrollment, enrollment.id)).allowed
    life.portal("cancel")
    assert subscriptions.display(life.subscription, utcnow()).code == "CANCELING"
    assert access.describe(db.session.get(Enrollment, enrollment.id)).allowed  # open until the period ends
    life.advance(31)
    ended = life.subscription
    assert ended.status == St.CANCELED and ended.ended_at is not None
    described = access.describe(db.session.get(Enrollment, enrollment.id))
    assert (described.allowed, described.code) == (False, "MEMBERSHIP_ENDED")
    templates = set(db.session.scalars(db.select(OutboxMail.template)))
    assert {"membership_welcome", "membership_payment_failed", "membership_ended"} <= templates
    # Resubscribing (progress back) is tested with Stripe's events in test_sync.py: after the sandbox's
    # clock moved on, it refuses Checkout's expires_at computed from real time (/work/tools note).


def test_a_trial_charges_nothing_until_it_ends(life):
    life.membership.trial_days = 14
    db.session.commit()
    life.subscribe()
    subscription = life.subscription
    assert subscription.status == St.TRIALING and subscription.trial_end is not None
    assert [i.amount_paid for i in subscriptions.invoices_of(subscription)] == [0]
    life.advance(12)  # trial_will_end, 3 days before
    assert db.session.scalars(db.select(OutboxMail).where(OutboxMail.template == "membership_trial_ending")).all()
    life.advance(3)
    subscription = life.subscription
    assert subscription.status == St.ACTIVE
    assert [i.amount_paid for i in subscriptions.invoices_of(subscription)] == [2900, 0]


@pytest.mark.parametrize("seed", range(4))
def test_shuffled_deliveries_of_a_whole_life_end_in_stripes_state(client, sandbox, learner, seed):
    membership = factories.membership()
    life = Life(client, sandbox, learner, membership)
    started = subscription_checkout.start(learner, membership, BillingInterval.MONTH, None, success_url=SUCCESS,
                                          cancel_url=CANCEL, now=utcnow(), commit=db.session.commit)
    sandbox_control(sandbox, f"checkout/sessions/{started.payment_session.stripe_session_id}/pay", {"card": GOOD})
    customer = learner.stripe_customer_id
    portal = stripe_gateway.create_billing_portal_session(customer, "http://127.0.0.1:5000/")["url"].rsplit("/", 1)[1]
    sub_id = stripe_gateway.retrieve_checkout_session(started.payment_session.stripe_session_id)["subscription"]
    sandbox_control(sandbox, f"portal/{portal}/card", {"subscription": sub_id, "card": FAILING})
    sandbox.advance_clock(days=31 + seed * 4)  # renewal fails; the retries on days 3 and 8 too, after seed 0
    if seed % 2:
        sandbox_control(sandbox, f"portal/{portal}/cancel", {"subscription": sub_id})
    life.deliver(order=random.Random(seed).shuffle)
    row = subscriptions.by_stripe_id(sub_id)
    assert (row.status.value, int(row.current_period_end.timestamp())) == _stripe_state(sub_id)
    stripe_sub = stripe_gateway.retrieve_subscription(sub_id)
    assert row.cancel_at_period_end == stripe_sub["cancel_at_period_end"]
    assert db.session.get(PaymentSession, started.payment_session.id).status == S.COMPLETED


def test_reconcile_asks_stripe_about_a_subscription_whose_events_were_lost(life):
    life.subscribe()
    life.sandbox.advance_clock(days=31)  # the renewal's events are never delivered
    subscription = life.subscription
    subscription.current_period_end = datetime(2000, 1, 1, tzinfo=timezone.utc)
    db.session.commit()
    assert subscription.id in reconcile.stale_subscriptions(now=utcnow())
    assert reconcile.reconcile_subscription(subscription.id, now=utcnow()) == St.ACTIVE
    db.session.commit()
    assert int(life.subscription.current_period_end.timestamp()) == \
        _stripe_state(subscription.stripe_subscription_id)[1]


def test_refund_of_an_invoice_through_stripe_ends_access_under_the_default_policy(life, staff):
    course = factories.course()
    life.subscribe()
    enrollment = life.start(course)
    [invoice] = subscriptions.invoices_of(life.subscription)
    subscription_billing.refund_invoice(invoice, amount=None, actor=staff, now=utcnow())
    db.session.commit()
    life.deliver()  # charge.refunded, refund.created, customer.subscription.deleted
    invoice = db.session.get(MembershipInvoice, invoice.id)
    assert invoice.amount_refunded == invoice.amount_paid == 2900
    assert not access.describe(db.session.get(Enrollment, enrollment.id)).allowed
    assert life.subscription.status == St.CANCELED

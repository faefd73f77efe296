"""The membership tables: what the database refuses, and when a SUBSCRIPTION enrollment opens its course."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from extensions import db
from models import BillingInterval, EnrollmentType, Membership, SubscriptionStatus
from services.learning import access
from tests import factories


def _subscription_enrollment(user, course, subscription):
    return factories.enrollment(user, course, type=EnrollmentType.SUBSCRIPTION, subscription_id=subscription.id)


def test_a_membership_needs_a_price_and_positive_amounts(app):
    db.session.add(Membership(slug="none", name="No price", monthly_price=None, yearly_price=None))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(Membership(slug="zero", name="Zero", monthly_price=0))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_prices_per_interval_and_what_it_unlocks(app):
    chosen, other = factories.course(), factories.course()
    draft = factories.course(published=False)
    everything = factories.membership(monthly=2900, yearly=None)
    some = factories.membership(courses=[chosen])
    assert everything.intervals == [BillingInterval.MONTH]
    assert some.price_for(BillingInterval.YEAR) == 29000 and BillingInterval.YEAR.stripe == "year"
    assert everything.unlocks(chosen) and everything.unlocks(other) and not everything.unlocks(draft)
    assert some.unlocks(chosen) and not some.unlocks(other)


@pytest.mark.parametrize("status, past_due_days, opens, code", [
    ("ACTIVE", None, True, "ENROLLED"), ("TRIALING", None, True, "ENROLLED"),
    ("PAST_DUE", 2, True, "ENROLLED"),    # inside MEMBERSHIP_GRACE_DAYS (7)
    ("PAST_DUE", 8, False, "MEMBERSHIP_PAST_DUE"),   # grace over
    ("CANCELED", None, False, "MEMBERSHIP_ENDED"), ("UNPAID", None, False, "MEMBERSHIP_ENDED"),
    ("INCOMPLETE", None, False, "MEMBERSHIP_ENDED"), ("INCOMPLETE_EXPIRED", None, False, "MEMBERSHIP_ENDED"),
])
def test_a_subscription_enrollment_follows_its_subscription(app, status, past_due_days, opens, code):
    learner, course = factories.user(), factories.course()
    since = datetime.now(timezone.utc) - timedelta(days=past_due_days) if past_due_days else None
    subscription = factories.subscription(learner, factories.membership(), status, past_due_since=since)
    enrollment = _subscription_enrollment(learner, course, subscription)
    assert enrollment.grants_access is opens
    described = access.describe(enrollment)
    assert (described.allowed, described.code) == (opens, code)


def test_grace_days_come_from_the_config(app):
    learner, course = factories.user(), factories.course()
    subscription = factories.subscription(learner, factories.membership(), "PAST_DUE",
                                          past_due_since=datetime.now(timezone.utc) - timedelta(days=2))
    enrollment = _subscription_enrollment(learner, course, subscription)
    assert enrollment.grants_access
    app.config["MEMBERSHIP_GRACE_DAYS"] = 1
    try:
        assert not enrollment.grants_access
    finally:
        app.config["MEMBERSHIP_GRACE_DAYS"] = 7


def test_access_taken_away_here_wins_over_stripe_status(app):
    learner, course = factories.user(), factories.course()
    subscription = factories.subscription(learner, factories.membership(), "ACTIVE",
                                          access_revoked_at=datetime.now(timezone.utc),
                                          access_revoked_reason="refunded")
    assert not _subscription_enrollment(learner, course, subscription).grants_access


def test_a_course_the_membership_does_not_unlock_stays_closed(app):
    learner, course, other = factories.user(), factories.course(), factories.course()
    subscription = factories.subscription(learner, factories.membership(courses=[other]), "ACTIVE")
    enrollment = _subscription_enrollment(learner, course, subscription)
    assert not enrollment.grants_access
    assert access.describe(enrollment).code == "MEMBERSHIP_NOT_INCLUDED"


def test_deleting_a_learner_takes_their_subscriptions_and_enrollments(app):
    learner, course = factories.user(), factories.course()
    subscription = factories.subscription(learner, factories.membership(), "ACTIVE")
    _subscription_enrollment(learner, course, subscription)
    db.session.delete(learner)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.table("subscriptions"))) == 0
    assert SubscriptionStatus("PAST_DUE") == SubscriptionStatus.PAST_DUE


def test_a_trial_checkout_charged_nothing_and_the_payment_history_says_so():
    """Stripe's first invoice of a trial is $0: the learner's history, receipt and purchases must not
    show the membership's price as paid (they read charged_at_checkout)."""
    from models import PaymentSession, PaymentSessionStatus
    from services.learning import dashboard

    now = datetime.now(timezone.utc)
    trial_params = {"stripe_params": {"subscription_data": {"trial_period_days": 7}}}
    trial = PaymentSession(membership_id=1, amount=2900, final_amount=2900, currency="USD", extra=trial_params,
                           status=PaymentSessionStatus.COMPLETED, created_at=now, completed_at=now)
    paid = PaymentSession(membership_id=1, amount=2900, final_amount=2900, currency="USD", extra={"stripe_params": {}},
                          status=PaymentSessionStatus.COMPLETED, created_at=now, completed_at=now)
    assert (trial.starts_with_trial, trial.charged_at_checkout) == (True, 0)
    assert (paid.starts_with_trial, paid.charged_at_checkout) == (False, 2900)
    assert (dashboard._history_row(trial).status_label, dashboard._history_row(trial).amount_paid) == ("Free trial", 0)
    assert (dashboard._history_row(paid).status_label, dashboard._history_row(paid).amount_paid) == ("Paid", 2900)

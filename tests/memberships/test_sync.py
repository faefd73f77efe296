"""Stripe Billing events → subscriptions, invoices, access and mails (services/payments/subscription_sync.py),
posted through the webhook endpoint as Stripe sends them."""
from datetime import datetime, timedelta, timezone

import pytest

from extensions import db
from models import EnrollmentType, MembershipInvoice, OutboxMail, StripeEvent, Subscription, SubscriptionStatus
from services.learning import access
from tests import factories
from tests.memberships import builders as b
from tests.webhooks.builders import post_event

NOW = datetime.now(timezone.utc).replace(microsecond=0)
T0 = int(NOW.timestamp()) - 2 * b.DAY
P1_END = T0 + 30 * b.DAY


@pytest.fixture
def member(app):
    learner, membership = factories.user(), factories.membership()
    return learner, membership, b.new_id("sub")


def _post(client, event_type, obj, created):
    response = post_event(client, b.event(event_type, obj, created=created))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def _snap(member, status, start=T0, end=P1_END, **extra):
    learner, membership, sub_id = member
    return b.subscription(sub_id, learner, membership, status=status, period_start=start, period_end=end, **extra)


def _row(member) -> Subscription:
    db.session.expire_all()
    return db.session.scalar(db.select(Subscription).where(Subscription.stripe_subscription_id == member[2]))


def _mails(template):
    return db.session.scalars(db.select(OutboxMail).where(OutboxMail.template == template)).all()


def test_an_active_subscription_opens_its_courses_and_welcomes_once(client, member):
    learner, membership, _ = member
    _post(client, "customer.subscription.created", _snap(member, "incomplete"), T0)
    assert _row(member).status == SubscriptionStatus.INCOMPLETE and not _mails("membership_welcome")
    for _ in range(2):  # a redelivery, and a later event of the same state
        _post(client, "customer.subscription.updated", _snap(member, "active"), T0 + 1)
    row = _row(member)
    assert row.status == SubscriptionStatus.ACTIVE and row.amount == 2900 and row.interval.value == "MONTH"
    assert row.current_period_end == datetime.fromtimestamp(P1_END, tz=timezone.utc)
    assert row.user_id == learner.id and row.membership_id == membership.id
    welcome = _mails("membership_welcome")
    assert len(welcome) == 1 and welcome[0].to_address == learner.email


def test_trial_will_end_mails_once_per_trial(client, member):
    trial = dict(trial_start=T0, trial_end=T0 + 14 * b.DAY)
    _post(client, "customer.subscription.created", _snap(member, "trialing", end=T0 + 14 * b.DAY, **trial), T0)
    for _ in range(2):
        _post(client, "customer.subscription.trial_will_end",
              _snap(member, "trialing", end=T0 + 14 * b.DAY, **trial), T0 + 11 * b.DAY)
    assert len(_mails("membership_trial_ending")) == 1
    assert _row(member).gives_access(NOW)


def test_failed_renewal_keeps_courses_open_for_the_grace_then_closes_them(client, member, app):
    learner, membership, sub_id = member
    course = factories.course()
    _post(client, "customer.subscription.updated", _snap(member, "active"), T0)
    factories.enrollment(learner, course, type=EnrollmentType.SUBSCRIPTION, subscription_id=_row(member).id)
    failed_at = int(NOW.timestamp()) - 2 * b.DAY
    _post(client, "customer.subscription.updated", _snap(member, "past_due", P1_END - 30 * b.DAY, P1_END), failed_at)
    _post(client, "invoice.payment_failed", b.invoice("in_test_1", sub_id, learner, membership, status="open",
                                                      amount=2900, period_start=T0, period_end=P1_END), failed_at)
    enrollment = db.session.scalar(db.select(factories.Enrollment).where(factories.Enrollment.course_id == course.id))
    assert access.describe(enrollment).allowed  # 2 of 7 days
    assert len(_mails("membership_payment_failed")) == 1
    # The retry eight days later fails again: Stripe's clock is past the grace, so the course closes
    # even though ours is not (the sandbox's and Stripe's test clocks run ahead).
    _post(client, "invoice.payment_failed", b.invoice("in_test_1", sub_id, learner, membership, status="open",
                                                      amount=2900, period_start=T0, period_end=P1_END,
                                                      attempt_count=2), failed_at + 8 * b.DAY)
    db.session.expire_all()
    described = access.describe(db.session.get(factories.Enrollment, enrollment.id))
    assert (described.allowed, described.code) == (False, "MEMBERSHIP_PAST_DUE")
    assert len(_mails("membership_payment_failed")) == 1  # one mail per failed invoice


def test_ended_subscription_closes_courses_with_a_reason_and_resubscribing_brings_them_back(client, member):
    learner, membership, _ = member
    course = factories.course()
    _post(client, "customer.subscription.updated", _snap(member, "active"), T0)
    enrollment = factories.enrollment(learner, course, type=EnrollmentType.SUBSCRIPTION,
                                      subscription_id=_row(member).id, progress=40.0)
    _post(client, "customer.subscription.deleted",
          _snap(member, "canceled", canceled_at=T0 + b.DAY, ended_at=T0 + b.DAY), T0 + b.DAY)
    db.session.expire_all()
    described = access.describe(db.session.get(factories.Enrollment, enrollment.id))
    assert (described.allowed, described.code) == (False, "MEMBERSHIP_ENDED")
    assert "progress is kept" in described.message
    assert len(_mails("membership_ended")) == 1
    # A late "active" snapshot of the canceled subscription changes nothing.
    _post(client, "customer.subscription.updated", _snap(member, "active"), T0 + 2 * b.DAY)
    assert _row(member).status == SubscriptionStatus.CANCELED
    again = (learner, membership, b.new_id("sub"))
    _post(client, "customer.subscription.created", _snap(again, "active"), T0 + 3 * b.DAY)
    db.session.expire_all()
    back = db.session.get(factories.Enrollment, enrollment.id)
    assert back.subscription_id == _row(again).id and back.progress == 40.0 and back.grants_access


def test_refund_of_the_current_invoice_follows_the_refund_policy(client, member):
    learner, membership, sub_id = member
    _post(client, "customer.subscription.updated", _snap(member, "active", latest_invoice="in_test_first"), T0)
    paid = b.invoice("in_test_first", sub_id, learner, membership, status="paid", amount=2900, period_start=T0,
                     period_end=P1_END, billing_reason="subscription_create", paid_at=T0)
    # The refund reaches us before the invoice's payment: kept, and applied once the payment is known.
    _post(client, "charge.refunded", b.charge("ch_test_m1", "pi_test_m1", 2900, amount_refunded=2900), T0 + 5)
    assert db.session.scalar(db.select(StripeEvent.status).where(StripeEvent.type == "charge.refunded")).value \
        == "IGNORED"
    _post(client, "invoice.paid", paid, T0 + 1)
    _post(client, "invoice_payment.paid", b.invoice_payment("in_test_first", "pi_test_m1", 2900), T0 + 1)
    db.session.expire_all()
    invoice = db.session.get(MembershipInvoice, "in_test_first")
    assert (invoice.status, invoice.amount_paid, invoice.amount_refunded) == ("paid", 2900, 2900)
    row = _row(member)
    assert row.access_revoked_at is not None and not row.gives_access(NOW)  # the default policy revokes on a full refund



def test_a_renewal_paid_after_a_refund_that_closed_the_courses_opens_them_again(client, member):
    """A refund made outside the app (Stripe's Dashboard) closes the courses but leaves the
    subscription renewing: once the next period is paid, the learner has paid again and gets in."""
    learner, membership, sub_id = member
    _post(client, "customer.subscription.updated", _snap(member, "active", latest_invoice="in_test_first"), T0)
    _post(client, "invoice.paid", b.invoice("in_test_first", sub_id, learner, membership, status="paid", amount=2900,
                                            period_start=T0, period_end=P1_END, billing_reason="subscription_create",
                                            paid_at=T0), T0 + 1)
    _post(client, "invoice_payment.paid", b.invoice_payment("in_test_first", "pi_test_r1", 2900), T0 + 1)
    _post(client, "charge.refunded", b.charge("ch_test_r1", "pi_test_r1", 2900, amount_refunded=2900), T0 + 5)
    assert not _row(member).gives_access(NOW)
    # A late copy of the refunded invoice's own payment changes nothing.
    _post(client, "invoice.paid", b.invoice("in_test_first", sub_id, learner, membership, status="paid", amount=2900,
                                            period_start=T0, period_end=P1_END, billing_reason="subscription_create",
                                            paid_at=T0), T0 + 6)
    assert not _row(member).gives_access(NOW)

    p2_end = P1_END + 30 * b.DAY
    _post(client, "customer.subscription.updated",
          _snap(member, "active", start=P1_END, end=p2_end, latest_invoice="in_test_second"), P1_END)
    _post(client, "invoice.paid", b.invoice("in_test_second", sub_id, learner, membership, status="paid", amount=2900,
                                            period_start=P1_END, period_end=p2_end,
                                            billing_reason="subscription_cycle", paid_at=P1_END), P1_END + 1)
    row = _row(member)
    assert row.access_revoked_at is None and row.gives_access(NOW)


def test_a_dispute_on_an_invoice_payment_closes_then_reopens(client, member):
    learner, membership, sub_id = member
    _post(client, "customer.subscription.updated", _snap(member, "active"), T0)
    _post(client, "invoice.paid", b.invoice("in_test_d", sub_id, learner, membership, status="paid", amount=2900,
                                            period_start=T0, period_end=P1_END, paid_at=T0), T0)
    _post(client, "invoice_payment.paid", b.invoice_payment("in_test_d", "pi_test_d", 2900), T0)
    _post(client, "charge.dispute.created", b.dispute("ch_test_d", "pi_test_d", 2900, status="needs_response",
                                                      dispute_id="dp_test_d"), T0 + 10)
    assert not _row(member).gives_access(NOW)
    _post(client, "charge.dispute.closed", b.dispute("ch_test_d", "pi_test_d", 2900, status="won",
                                                     dispute_id="dp_test_d"), T0 + 20)
    assert _row(member).gives_access(NOW)


@pytest.mark.parametrize("closed", ["won", "warning_closed", "prevented"])
def test_a_late_dispute_created_after_the_close_keeps_the_courses_open(client, member, closed):
    learner, membership, sub_id = member
    _post(client, "customer.subscription.updated", _snap(member, "active"), T0)
    _post(client, "invoice.paid", b.invoice("in_test_dl", sub_id, learner, membership, status="paid", amount=2900,
                                            period_start=T0, period_end=P1_END, paid_at=T0), T0)
    _post(client, "invoice_payment.paid", b.invoice_payment("in_test_dl", "pi_test_dl", 2900), T0)
    _post(client, "charge.dispute.closed", b.dispute("ch_test_dl", "pi_test_dl", 2900, status=closed,
                                                     dispute_id="dp_test_dl"), T0 + 20)
    _post(client, "charge.dispute.created", b.dispute("ch_test_dl", "pi_test_dl", 2900, status="needs_response",
                                                      dispute_id="dp_test_dl"), T0 + 10)  # delivered late
    db.session.expire_all()
    assert db.session.get(MembershipInvoice, "in_test_dl").dispute_status == closed
    assert _row(member).gives_access(NOW)


def test_a_late_payment_failed_after_the_invoice_was_paid_sends_no_update_your_card_mail(client, member):
    learner, membership, sub_id = member
    _post(client, "customer.subscription.updated", _snap(member, "active"), T0)
    _post(client, "invoice.paid", b.invoice("in_test_lf", sub_id, learner, membership, status="paid", amount=2900,
                                            period_start=T0, period_end=P1_END, paid_at=T0 + 20), T0 + 20)
    _post(client, "invoice.payment_failed", b.invoice("in_test_lf", sub_id, learner, membership, status="open",
                                                      amount=2900, period_start=T0, period_end=P1_END), T0 + 10)
    db.session.expire_all()
    invoice = db.session.get(MembershipInvoice, "in_test_lf")
    assert invoice.status == "paid" and invoice.failed_at is not None  # the failure happened; the retry paid it
    assert _mails("membership_payment_failed") == []

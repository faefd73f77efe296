"""Starting a course a membership unlocks: SUBSCRIPTION enrollments, and what outlives the membership."""
from datetime import datetime, timezone

import pytest

from extensions import db
from models import (Enrollment, EnrollmentSource, EnrollmentStatus, EnrollmentType, SubscriptionStatus)
from services.errors import DomainError
from services.learning import access, progress
from services.payments import checkout, fulfillment
from tests import factories
from tests.webhooks.builders import checkout_session

NOW = datetime.now(timezone.utc)


@pytest.fixture
def member(app):
    learner = factories.user()
    membership = factories.membership()
    return learner, membership, factories.subscription(learner, membership, "ACTIVE")


def _start(learner, course):
    started = checkout.enroll_without_payment(learner, course, now=NOW)
    db.session.commit()
    return started


def test_a_member_starts_an_unlocked_paid_course_without_paying(member):
    learner, _, subscription = member
    course = factories.course(price=9900)
    assert checkout.offer(course, learner, None, NOW).membership_subscription.id == subscription.id
    started = _start(learner, course)
    enrollment = started.enrollment
    assert started.kind == "ENROLLED"
    assert (enrollment.type, enrollment.source, enrollment.subscription_id, enrollment.amount_paid) == \
        (EnrollmentType.SUBSCRIPTION, EnrollmentSource.DIRECT, subscription.id, 0)
    assert access.describe(enrollment).allowed
    assert _start(learner, course).enrollment.id == enrollment.id  # a second click: the same enrollment


def test_a_course_outside_the_membership_still_needs_payment(app):
    learner, chosen, other = factories.user(), factories.course(), factories.course()
    factories.subscription(learner, factories.membership(courses=[chosen]), "ACTIVE")
    with pytest.raises(DomainError) as refused:
        _start(learner, other)
    assert refused.value.code == "PAYMENT_REQUIRED"
    assert checkout.offer(other, learner, None, NOW).membership_subscription is None


@pytest.mark.parametrize("status", ["CANCELED", "UNPAID", "INCOMPLETE"])
def test_no_start_without_a_subscription_that_opens_it(app, status):
    learner = factories.user()
    factories.subscription(learner, factories.membership(), status)
    with pytest.raises(DomainError) as refused:
        _start(learner, factories.course())
    assert refused.value.code == "PAYMENT_REQUIRED"


def test_progress_and_certificates_work_as_for_paid_courses(member):
    learner, _, subscription = member
    course = factories.course(lectures=2)
    enrollment = _start(learner, course).enrollment
    for lecture in course.lectures:
        progress.mark_complete(enrollment, lecture, NOW)
    db.session.commit()
    db.session.expire_all()
    done = db.session.get(Enrollment, enrollment.id)
    assert done.progress == 100 and done.status == EnrollmentStatus.COMPLETED and done.certificate_earned
    assert done.grants_access


def test_a_course_also_bought_outright_stays_open_after_the_membership_ends(member):
    learner, _, subscription = member
    course = factories.course(price=4900)
    enrollment = _start(learner, course).enrollment
    bought = factories.payment_session(learner, course, "PENDING")
    fulfillment.apply_checkout_session(checkout_session(bought), now=NOW, source="test")
    db.session.commit()
    subscription.status = SubscriptionStatus.CANCELED
    db.session.commit()
    db.session.expire_all()
    kept = db.session.get(Enrollment, enrollment.id)
    assert kept.type == EnrollmentType.PAID and kept.payment_id == bought.id and kept.grants_access

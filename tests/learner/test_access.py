"""services.learning.access: preview lectures, granting enrollments, and the reasons for refusals."""
from datetime import timedelta

import pytest

from services.learning import access
from tests import factories
from tests.learner.builders import T0


@pytest.fixture
def lectures(paid_course):
    preview, locked = paid_course.lectures[0], paid_course.lectures[1]
    assert preview.is_preview and not locked.is_preview
    return preview, locked


def test_preview_lectures_are_open_to_everyone(app, paid_course, lectures):
    from flask_login import AnonymousUserMixin
    verdict = access.can_view_lecture(AnonymousUserMixin(), paid_course, lectures[0], T0)
    assert verdict.allowed and verdict.code == "PREVIEW"


def test_locked_lecture_asks_visitors_to_sign_in_and_learners_to_enroll(app, learner, paid_course, lectures):
    from flask_login import AnonymousUserMixin
    assert access.can_view_lecture(AnonymousUserMixin(), paid_course, lectures[1], T0).code == "SIGN_IN_REQUIRED"
    allowed, reason = access.can_view_lecture(learner, paid_course, lectures[1], T0)
    assert (allowed, reason) == (False, "You are not enrolled in this course.")


@pytest.mark.parametrize("status", ["ACTIVE", "COMPLETED"])
def test_active_and_completed_enrollments_grant_access(learner, paid_course, lectures, status):
    factories.enrollment(learner, paid_course, status=status, paid=True)
    verdict = access.can_view_lecture(learner, paid_course, lectures[1], T0)
    assert verdict.allowed and verdict.code == "ENROLLED"


@pytest.mark.parametrize("status,fields,code,words", [
    ("REVOKED", {"status_reason": "Refunded"}, "REVOKED", "revoked (Refunded)"),
    ("SUSPENDED", {}, "SUSPENDED", "dispute"),
    ("EXPIRED", {}, "EXPIRED", "expired"),
    ("ACTIVE", {"expires_at": T0 - timedelta(seconds=1)}, "EXPIRED", "expired on 20 November 2026"),
])
def test_inaccessible_enrollments_say_why(learner, paid_course, lectures, status, fields, code, words):
    enrollment = factories.enrollment(learner, paid_course, status=status, paid=True, **fields)
    verdict = access.can_view_lecture(learner, paid_course, lectures[1], T0)
    assert not verdict.allowed and verdict.code == code and words in verdict.message
    assert access.describe(enrollment, T0).code == code


def test_an_expiry_in_the_future_still_grants_access(learner, paid_course, lectures):
    factories.enrollment(learner, paid_course, paid=True, expires_at=T0 + timedelta(days=1))
    assert access.can_view_lecture(learner, paid_course, lectures[1], T0).allowed


def test_an_inaccessible_enrollment_still_opens_preview_lectures(learner, paid_course, lectures):
    factories.enrollment(learner, paid_course, status="REVOKED", paid=True)
    assert access.can_view_lecture(learner, paid_course, lectures[0], T0).code == "PREVIEW"


def test_someone_elses_enrollment_never_opens_a_lecture(learner, paid_course, lectures):
    other = factories.user()
    theirs = factories.enrollment(other, paid_course, paid=True)
    verdict = access.can_view_lecture(learner, paid_course, lectures[1], T0, enrollment=theirs)
    assert not verdict.allowed and verdict.code == "NOT_ENROLLED"

"""Who may open a lecture, and why not: the access rules of the learner side.

Preview lectures are open to everyone. Every other lecture needs an enrollment that grants
access: ACTIVE or COMPLETED and not past its expiry. When access is refused, the answer
says why in words a learner understands (expired, revoked, suspended, not enrolled), so
the dashboard and the course page can show the reason next to the course. A course a
learning path gave the learner may also be locked until the course before it in the path is
completed (services/learning/paths.py): "Complete X first."
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from types import EllipsisType

from models import Course, Enrollment, EnrollmentStatus, EnrollmentType, Lecture, SubscriptionStatus, User, utcnow
from services.learning import enrollments, paths


@dataclass(frozen=True)
class Access:
    """The answer to "may this learner study this course now?"."""

    allowed: bool
    code: str  # stable: PREVIEW, ENROLLED, SIGN_IN_REQUIRED, NOT_ENROLLED, EXPIRED, REVOKED, SUSPENDED, LOCKED,
    # MEMBERSHIP_PAST_DUE, MEMBERSHIP_ENDED, MEMBERSHIP_NOT_INCLUDED (a SUBSCRIPTION enrollment)
    message: str

    def __bool__(self) -> bool:
        return self.allowed

    def __iter__(self) -> Iterator[bool | str]:
        # So callers may write `allowed, reason = can_view_lecture(...)`.
        return iter((self.allowed, self.message))


def describe(enrollment: Enrollment | None, now: datetime | None = None) -> Access:
    """Whether an enrollment grants access at `now`, and the reason when it does not.

    Usable from templates (app.py registers it as `describe_access` for every page), e.g. in the
    course page's purchase box: `{% set access = describe_access(enrollment) %}`.
    """
    now = now or utcnow()
    if enrollment is None:
        return Access(False, "NOT_ENROLLED", "You are not enrolled in this course.")
    status = enrollment.status
    # An enrollment past its expiry gives no access even before a job flips it to EXPIRED.
    expired = status == EnrollmentStatus.EXPIRED or (
        enrollment.expires_at is not None and enrollment.expires_at <= now)
    if status == EnrollmentStatus.REVOKED:
        detail = f" ({enrollment.status_reason})" if enrollment.status_reason else ""
        return Access(False, "REVOKED", f"Your access to this course was revoked{detail}. "
                                        "Contact support if you think this is a mistake.")
    if status == EnrollmentStatus.SUSPENDED:
        return Access(False, "SUSPENDED", "Your access is paused while a payment dispute for this course is open.")
    if expired:
        when = f" on {enrollment.expires_at:%d %B %Y}" if enrollment.expires_at else ""
        return Access(False, "EXPIRED", f"Your access to this course expired{when}.")
    if enrollment.type == EnrollmentType.SUBSCRIPTION:
        return _through_membership(enrollment, now)
    return Access(True, "ENROLLED", "You are enrolled.")


def locked(before: Course) -> Access:
    """A course of a path that opens once `before` is completed."""
    return Access(False, "LOCKED", f"Complete {before.title} first.")


def course_access(enrollment: Enrollment | None, now: datetime | None = None) -> Access:
    """`describe`, and the unlock order of the learning paths the learner follows."""
    state = describe(enrollment, now)
    if state.allowed and (before := paths.lock_for(enrollment)) is not None:
        return locked(before)
    return state


def _through_membership(enrollment: Enrollment, now: datetime) -> Access:
    """A SUBSCRIPTION enrollment: open while its subscription opens the course (issue 16).

    Codes: ENROLLED (open), MEMBERSHIP_PAST_DUE (renewal failed, grace over), MEMBERSHIP_ENDED
    (canceled, unpaid, never paid, or access removed), MEMBERSHIP_NOT_INCLUDED (the membership
    no longer unlocks this course). Progress is kept in every case.
    """
    subscription = enrollment.subscription
    kept = " Your progress is kept."
    if subscription is None:
        return Access(False, "MEMBERSHIP_ENDED", "This course came with a membership that has ended." + kept)
    name = subscription.membership.name
    if subscription.access_revoked_at is not None:
        reason = f" ({subscription.access_revoked_reason})" if subscription.access_revoked_reason else ""
        return Access(False, "MEMBERSHIP_ENDED", f"Your {name} membership no longer gives access{reason}.")
    if not subscription.membership.unlocks(enrollment.course):
        return Access(False, "MEMBERSHIP_NOT_INCLUDED", f"Your {name} membership no longer includes this course.")
    if subscription.gives_access(now):
        if subscription.status == SubscriptionStatus.PAST_DUE:
            return Access(True, "ENROLLED", f"Your {name} renewal failed: update your card to keep access.")
        return Access(True, "ENROLLED", f"Included in your {name} membership.")
    if subscription.status == SubscriptionStatus.PAST_DUE:
        return Access(False, "MEMBERSHIP_PAST_DUE", f"Your {name} renewal payment failed and the grace period "
                                                    "is over. Update your card to open this course again." + kept)
    if subscription.status == SubscriptionStatus.UNPAID:
        return Access(False, "MEMBERSHIP_ENDED", f"Your {name} membership is unpaid. Update your card "
                                                 "to open this course again." + kept)
    if subscription.status in (SubscriptionStatus.INCOMPLETE, SubscriptionStatus.PAUSED):
        return Access(False, "MEMBERSHIP_ENDED", f"Your {name} membership is not active yet." + kept)
    when = subscription.ended_at or subscription.canceled_at
    on = f" on {when:%d %B %Y}" if when else ""
    return Access(False, "MEMBERSHIP_ENDED", f"Your {name} membership ended{on}. Subscribe again to "
                                             "continue." + kept)


def can_view_lecture(user: User | None, course: Course, lecture: Lecture, now: datetime | None = None,
                     enrollment: Enrollment | None | EllipsisType = ...) -> Access:
    """Preview lectures for everyone; any other lecture only through an enrollment that grants access.

    Pass `enrollment` when the caller has already loaded the user's enrollment in `course`
    (None for "not enrolled"); by default it is looked up. The result unpacks as
    `allowed, reason = can_view_lecture(...)`.
    """
    if enrollment is ...:
        authenticated = user is not None and getattr(user, "is_authenticated", False)
        enrollment = enrollments.find(user, course) if authenticated else None
    if lecture.course_id != course.id:
        return Access(False, "NOT_ENROLLED", "This lecture belongs to another course.")
    if enrollment is not None and enrollment.user_id != getattr(user, "id", None):
        # Defence in depth: someone else's enrollment never opens a lecture.
        enrollment = None
    state = course_access(enrollment, now)
    if state.allowed:
        return state
    if lecture.is_preview:
        return Access(True, "PREVIEW", "This lecture is a free preview.")
    if user is None or not getattr(user, "is_authenticated", False):
        return Access(False, "SIGN_IN_REQUIRED", "Please sign in to watch this lecture.")
    return state

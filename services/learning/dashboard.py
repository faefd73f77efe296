"""The learner's dashboard, built with a constant number of SQL statements.

`for_learner` reads everything the page shows in four statements, however many
enrollments and payments the learner has: enrollments with their courses (joined), the
lectures of those courses (id, course, title only) each with whether the learner completed
it, payment sessions with their courses (joined), and the learner's membership
subscriptions with their memberships (joined; issue 16). Templates must use
only what is returned here (no lazy relationship access), or the count would grow again.

Only the given learner's rows are ever read: every statement filters on the user's id.
The learning paths the learner follows (issue 20) are one more statement (paths, their steps
and courses joined); their courses are grouped under each path with the next course to
continue, and the paths' unlock order is applied to the cards without another statement.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from models import (LIVE_SUBSCRIPTION_STATUSES, Course, Enrollment, EnrollmentStatus, Lecture, LectureProgress,
                    PaymentSession, PaymentSessionStatus, Subscription, SubscriptionStatus, User)
from services.learning import access, paths, progress
from services.learning.access import Access
from services.memberships import subscriptions

PENDING_STATES = (PaymentSessionStatus.PENDING, PaymentSessionStatus.PROCESSING)


@dataclass(frozen=True)
class LectureRef:
    id: int
    title: str


@dataclass
class CourseCard:
    enrollment: Enrollment
    course: Course
    access: Access
    completed: int
    total: int
    exact: float
    continue_lecture: LectureRef | None
    streak: int

    @property
    def percent(self) -> int:
        return math.floor(self.exact)

    @property
    def is_completed(self) -> bool:
        return self.enrollment.status == EnrollmentStatus.COMPLETED

    @property
    def time_spent_label(self) -> str:
        minutes = (self.enrollment.total_time_spent or 0) // 60
        if minutes < 1:
            return ""
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes} min" if hours else f"{minutes} min"

    @property
    def certificate_id(self) -> str | None:
        return self.enrollment.certificate_id if self.enrollment.certificate_earned else None


@dataclass
class PendingPayment:
    session: PaymentSession
    can_resume: bool
    can_cancel: bool
    is_expired: bool


@dataclass
class PaymentRow:
    session: PaymentSession
    date: datetime
    status_label: str
    status_tone: str  # ok, warn, err: the tag's colour
    amount_paid: int
    failure_message: str | None


@dataclass
class MembershipPanel:
    """One membership on the dashboard: the subscription shown and its state in words."""
    subscription: Subscription
    state: subscriptions.SubscriptionState


@dataclass
class Dashboard:
    cards: list[CourseCard] = field(default_factory=list)
    pending: list[PendingPayment] = field(default_factory=list)
    history: list[PaymentRow] = field(default_factory=list)
    paths: list[paths.PathProgress] = field(default_factory=list)  # the learning paths followed
    memberships: list[MembershipPanel] = field(default_factory=list)

    @property
    def path_course_ids(self) -> set[int]:
        return {step.course.id for path in self.paths for step in path.steps}

    def card_for(self, course_id: int) -> CourseCard | None:
        return next((card for card in self.cards if card.course.id == course_id), None)

    @property
    def in_progress(self) -> list[CourseCard]:
        return [card for card in self.cards if not card.is_completed]

    @property
    def completed(self) -> list[CourseCard]:
        return [card for card in self.cards if card.is_completed]

    @property
    def is_empty(self) -> bool:
        return not (self.cards or self.pending or self.history or self.paths or self.memberships)


def for_learner(user: User, now: datetime) -> Dashboard:
    """Everything /dashboard shows for `user`, in five SQL statements (three, the paths followed, and the
    membership subscriptions)."""
    enrollments = list(db.session.scalars(
        db.select(Enrollment).options(joinedload(Enrollment.course),
                                      joinedload(Enrollment.subscription).joinedload(Subscription.membership))
        .where(Enrollment.user_id == user.id)
        .order_by(Enrollment.last_accessed_at.desc().nulls_last(), Enrollment.enrolled_at.desc(),
                  Enrollment.id.desc())))
    lectures_by_course, completed_by_course = _lectures_and_completions(user)
    sessions = list(db.session.scalars(
        db.select(PaymentSession).options(joinedload(PaymentSession.course), joinedload(PaymentSession.bundle))
        .where(PaymentSession.user_id == user.id)
        .order_by(PaymentSession.created_at.desc(), PaymentSession.id)))

    followed = paths.followed_paths(user.id)
    locks = paths.locked_courses(enrollments, followed)

    board = Dashboard(memberships=_membership_panels(user, now))
    today = now.date()
    for enrollment in enrollments:
        lectures = lectures_by_course.get(enrollment.course_id, [])
        total = len(lectures)
        completed = completed_by_course.get(enrollment.course_id, 0)
        state = access.describe(enrollment, now)
        if state.allowed and enrollment.course_id in locks:
            state = access.locked(locks[enrollment.course_id])
        board.cards.append(CourseCard(
            enrollment=enrollment, course=enrollment.course, access=state,
            completed=completed, total=total, exact=progress.percent(completed, total),
            continue_lecture=_continue_lecture(enrollment, lectures),
            streak=progress.current_streak(enrollment, today)))
    by_course = {enrollment.course_id: enrollment for enrollment in enrollments}
    board.paths = [paths.progress_of(row.path, row, by_course, locks) for row in followed]
    for session in sessions:
        if session.status in PENDING_STATES:
            board.pending.append(_pending(session, now))
        else:
            board.history.append(_history_row(session))
    return board


# A subscription Stripe never started (the first payment never went through) is not shown.
NEVER_STARTED = (SubscriptionStatus.INCOMPLETE, SubscriptionStatus.INCOMPLETE_EXPIRED)


def _membership_panels(user: User, now: datetime) -> list[MembershipPanel]:
    """Per membership, the subscription to show: a live one, else the newest (which says how it
    ended and offers to subscribe again)."""
    rows = db.session.scalars(
        db.select(Subscription).options(joinedload(Subscription.membership))
        .where(Subscription.user_id == user.id, Subscription.status.not_in(NEVER_STARTED))
        .order_by(Subscription.created_at.desc(), Subscription.id.desc()))
    shown: dict[int, Subscription] = {}
    for sub in rows:
        current = shown.get(sub.membership_id)
        if current is None or (sub.status in LIVE_SUBSCRIPTION_STATUSES
                               and current.status not in LIVE_SUBSCRIPTION_STATUSES):
            shown[sub.membership_id] = sub
    return [MembershipPanel(sub, subscriptions.display(sub, now)) for sub in shown.values()]


def _lectures_and_completions(user: User) -> tuple[dict[int, list[LectureRef]], dict[int, int]]:
    """The lectures of the learner's courses in order, and how many of each course's the
    learner completed. One enrollment per (learner, course) and one progress row per
    (enrollment, lecture) (unique constraints), so each lecture comes once. Only completions
    of lectures that still belong to the enrollment's course count, so the dashboard agrees
    with services.learning.progress when lectures were added or removed."""
    done = sa.and_(LectureProgress.enrollment_id == Enrollment.id, LectureProgress.lecture_id == Lecture.id,
                   LectureProgress.completed_at.is_not(None))
    rows = db.session.execute(
        db.select(Lecture.id, Lecture.course_id, Lecture.title, LectureProgress.id.is_not(None))
        .join(Enrollment, Enrollment.course_id == Lecture.course_id)
        .outerjoin(LectureProgress, done)
        .where(Enrollment.user_id == user.id)
        .order_by(Lecture.course_id, Lecture.position, Lecture.id))
    grouped: dict[int, list[LectureRef]] = defaultdict(list)
    completed: dict[int, int] = defaultdict(int)
    for lecture_id, course_id, title, is_done in rows:
        grouped[course_id].append(LectureRef(lecture_id, title))
        completed[course_id] += bool(is_done)
    return grouped, completed


def _continue_lecture(enrollment: Enrollment, lectures: list[LectureRef]) -> LectureRef | None:
    for lecture in lectures:
        if lecture.id == enrollment.current_lecture_id:
            return lecture
    return lectures[0] if lectures else None


def _pending(session: PaymentSession, now: datetime) -> PendingPayment:
    is_pending = session.status == PaymentSessionStatus.PENDING
    expired = session.expires_at is not None and session.expires_at <= now
    # Only a web address is ever put in a link (never e.g. a javascript: URL from bad data).
    url_ok = (session.checkout_url or "").startswith(("https://", "http://"))
    return PendingPayment(session=session, can_resume=is_pending and url_ok and not expired,
                          can_cancel=is_pending, is_expired=expired)


def _history_row(session: PaymentSession) -> PaymentRow:
    status = session.status
    paid = session.charged_at_checkout if status in (PaymentSessionStatus.COMPLETED, PaymentSessionStatus.REFUNDED) else 0
    refunded = session.amount_refunded or 0
    if status == PaymentSessionStatus.REFUNDED or (status == PaymentSessionStatus.COMPLETED and paid and refunded >= paid):
        label, tone = "Refunded", "warn"
    elif status == PaymentSessionStatus.COMPLETED and refunded > 0:
        label, tone = "Partially refunded", "warn"
    elif status == PaymentSessionStatus.COMPLETED and session.starts_with_trial:
        label, tone = "Free trial", "ok"
    elif status == PaymentSessionStatus.COMPLETED:
        label, tone = "Paid", "ok"
    elif status == PaymentSessionStatus.FAILED:
        label, tone = "Failed", "err"
    elif status == PaymentSessionStatus.CANCELLED:
        label, tone = "Cancelled", ""
    else:
        label, tone = "Expired", ""
    return PaymentRow(session=session, date=session.completed_at or session.created_at, status_label=label,
                      status_tone=tone, amount_paid=paid,
                      failure_message=session.failure_message if status == PaymentSessionStatus.FAILED else None)

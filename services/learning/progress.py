"""Learning progress: viewing and completing lectures, time spent, streaks and certificates.

The rules (docs/learner.md explains them for people):

- Progress = completed lectures that still belong to the course / lectures the course has
  now, as a percent clamped to 0..100. It is recomputed from the rows on every change, so
  lectures added or removed later can never push it past 100 or below 0, and marking the
  same lecture twice counts once (one LectureProgress row per enrollment and lecture).
- Time spent: the interval between two consecutive activity events of an enrollment (a
  lecture view, a heartbeat the lecture page sends every HEARTBEAT_SECONDS while the tab is
  visible, a completion) is credited to the lecture the learner was on, but only when it is
  at most IDLE_CUTOFF long; a longer gap means the learner walked away and counts nothing.
- Streak: consecutive UTC calendar days with at least one activity event. The same day
  keeps it, the next day adds one, a gap of a day or more starts again at 1.
- At 100% an ACTIVE enrollment becomes COMPLETED with its completion time, and earns a
  certificate with an unguessable public id. Certificates are never taken back by a later
  change of the lecture list.

Every function takes `now`, so tests control time. Functions flush, never commit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from extensions import db
from models import Course, Enrollment, EnrollmentStatus, Lecture, LectureProgress, User, new_public_id
from services.courses import catalog
from services.learning import access, paths
from services.learning.access import Access
from services.errors import Forbidden, NotFound

HEARTBEAT_SECONDS = 60
IDLE_CUTOFF = timedelta(minutes=5)


@dataclass(frozen=True)
class ProgressSummary:
    """What a progress bar shows."""

    completed: int
    total: int
    exact: float  # percent, 0..100, two decimals: what Enrollment.progress stores
    status: EnrollmentStatus | None = None
    certificate_id: str | None = None

    @property
    def percent(self) -> int:
        # Rounded down, so "100%" appears only when every lecture is done.
        return math.floor(self.exact)

    @property
    def is_complete(self) -> bool:
        return self.total > 0 and self.completed >= self.total


@dataclass
class LecturePage:
    """Everything the lecture page needs: the lecture, its neighbours, access and progress."""

    course: Course
    lecture: Lecture
    access: Access
    enrollment: Enrollment | None
    previous: Lecture | None
    next: Lecture | None
    lectures: list[Lecture]
    completed_ids: set[int] = field(default_factory=set)
    summary: ProgressSummary | None = None

    @property
    def lecture_completed(self) -> bool:
        return self.lecture.id in self.completed_ids


def percent(completed: int, total: int) -> float:
    """Completed over total as a percent with two decimals, clamped to 0..100."""
    if total <= 0:
        return 0.0
    completed = max(0, min(completed, total))
    return round(min(100.0, max(0.0, completed * 100 / total)), 2)


def next_streak(last_day: date | None, streak: int, today: date) -> int:
    """The streak after an activity on `today`, given the previous active day and streak."""
    if last_day is None or streak <= 0:
        return 1
    if today == last_day:
        return streak
    if today < last_day:  # an event that arrives late (clock skew) does not break anything
        return streak
    if today - last_day == timedelta(days=1):
        return streak + 1
    return 1


def current_streak(enrollment: Enrollment, today: date) -> int:
    """The streak as it stands today: it lapses once a whole UTC day passes without activity."""
    last = enrollment.last_activity_on
    if last is None or today - last > timedelta(days=1):
        return 0
    return enrollment.streak_days


def touch(enrollment: Enrollment, now: datetime) -> int:
    """Record an activity event: time spent since the previous one, streak, last access.

    Returns the seconds credited. The interval goes to the lecture the learner was on
    (enrollment.current_lecture_id) before this event.
    """
    credited = 0
    last = enrollment.last_accessed_at
    if last is not None:
        gap = (now - last).total_seconds()
        if 0 < gap <= IDLE_CUTOFF.total_seconds():
            credited = int(gap)
    if credited:
        enrollment.total_time_spent = (enrollment.total_time_spent or 0) + credited
        row = _progress_row(enrollment, enrollment.current_lecture_id) if enrollment.current_lecture_id else None
        if row is not None:
            row.time_spent_seconds = (row.time_spent_seconds or 0) + credited
    today = now.date()
    enrollment.streak_days = next_streak(enrollment.last_activity_on, enrollment.streak_days or 0, today)
    if enrollment.last_activity_on is None or today > enrollment.last_activity_on:
        enrollment.last_activity_on = today
    if last is None or now > last:
        enrollment.last_accessed_at = now
    return credited


def record_view(enrollment: Enrollment, lecture: Lecture, now: datetime) -> LectureProgress:
    """The learner opened `lecture`: it becomes the current lecture; time and streak move on."""
    _require_same_course(enrollment, lecture)
    touch(enrollment, now)
    row = _progress_row(enrollment, lecture.id)
    if row is None:
        row = LectureProgress(enrollment_id=enrollment.id, lecture_id=lecture.id,
                              first_viewed_at=now, last_viewed_at=now, time_spent_seconds=0)
        db.session.add(row)
    else:
        row.last_viewed_at = max(row.last_viewed_at, now)
    enrollment.current_lecture_id = lecture.id
    db.session.flush()
    recompute(enrollment, now)
    return row


def mark_complete(enrollment: Enrollment, lecture: Lecture, now: datetime) -> bool:
    """Mark `lecture` complete; True if it was not complete before. Idempotent."""
    _require_same_course(enrollment, lecture)
    touch(enrollment, now)
    row = _progress_row(enrollment, lecture.id)
    newly = False
    if row is None:
        row = LectureProgress(enrollment_id=enrollment.id, lecture_id=lecture.id, first_viewed_at=now,
                              last_viewed_at=now, completed_at=now, time_spent_seconds=0)
        db.session.add(row)
        newly = True
    elif row.completed_at is None:
        row.completed_at = now
        newly = True
    enrollment.current_lecture_id = lecture.id
    db.session.flush()
    recompute(enrollment, now)
    return newly


def recompute(enrollment: Enrollment, now: datetime) -> ProgressSummary:
    """Recount progress from the rows; at 100% complete the enrollment and issue its certificate."""
    completed, total = _counts(enrollment)
    enrollment.completed_lectures = completed
    enrollment.total_lectures = total
    enrollment.progress = percent(completed, total)
    if total > 0 and completed >= total:
        _complete(enrollment, now)
    db.session.flush()
    return summarize(enrollment)


def summarize(enrollment: Enrollment) -> ProgressSummary:
    return ProgressSummary(completed=enrollment.completed_lectures, total=enrollment.total_lectures,
                           exact=enrollment.progress or 0.0, status=enrollment.status,
                           certificate_id=enrollment.certificate_id if enrollment.certificate_earned else None)


def completed_lecture_ids(enrollment: Enrollment) -> set[int]:
    return set(db.session.scalars(
        db.select(LectureProgress.lecture_id).where(LectureProgress.enrollment_id == enrollment.id,
                                                    LectureProgress.completed_at.is_not(None))))


# -- What the lecture views call ------------------------------------------------------------

def lecture_page(user: User | None, slug: str, lecture_id: int, now: datetime) -> LecturePage:
    """Open a lecture: check access and, for an enrolled learner, record the view.

    A refused page is returned with `access.allowed` False (the view shows why); the
    lecture's content must then not be shown.
    """
    course, lecture, enrollment = _load(user, slug, lecture_id)
    verdict = access.can_view_lecture(user, course, lecture, now, enrollment=enrollment)
    page = _page(course, lecture, verdict, enrollment)
    if verdict.allowed and enrollment is not None and verdict.code == "ENROLLED":
        record_view(enrollment, lecture, now)
        page.completed_ids = completed_lecture_ids(enrollment)
        page.summary = summarize(enrollment)
    return page


def complete_lecture(user: User, slug: str, lecture_id: int, now: datetime) -> LecturePage:
    """Mark a lecture complete for the signed-in learner; Forbidden without a granting enrollment."""
    course, lecture, enrollment = _load(user, slug, lecture_id)
    verdict = access.course_access(enrollment, now)
    if not verdict.allowed:
        if verdict.code == "NOT_ENROLLED":
            raise Forbidden("Enroll in this course to track your progress.", code="NOT_ENROLLED")
        raise Forbidden(verdict.message, code=verdict.code)
    mark_complete(enrollment, lecture, now)
    page = _page(course, lecture, verdict, enrollment)
    page.completed_ids = completed_lecture_ids(enrollment)
    page.summary = summarize(enrollment)
    return page


def heartbeat(user: User, slug: str, lecture_id: int, now: datetime) -> bool:
    """The lecture page is still open and visible: count the time. False when nothing counted."""
    course, lecture, enrollment = _load(user, slug, lecture_id)
    if enrollment is None or not access.course_access(enrollment, now).allowed:
        return False
    if enrollment.current_lecture_id != lecture.id:
        # The learner is on another tab of another lecture; a view there will count.
        record_view(enrollment, lecture, now)
    else:
        touch(enrollment, now)
        db.session.flush()
    return True


# -- Helpers ------------------------------------------------------------------------------

def _load(user: User | None, slug: str, lecture_id: int) -> tuple[Course, Lecture, Enrollment | None]:
    if "\x00" in slug:  # PostgreSQL refuses NUL in text; such a slug names no course
        raise NotFound("We could not find that course.", code="COURSE_NOT_FOUND")
    course = catalog.course_by_slug(slug, include_unpublished=True)
    lecture = catalog.lecture_in_course(course, lecture_id)
    enrollment = None
    if user is not None and getattr(user, "is_authenticated", False):
        # Locked, so two tabs (or two app instances) updating one enrollment do not lose
        # each other's time or completions. SQLite ignores FOR UPDATE; it serializes writers.
        enrollment = db.session.scalar(
            db.select(Enrollment).where(Enrollment.user_id == user.id, Enrollment.course_id == course.id)
            .with_for_update().execution_options(populate_existing=True))
    if not course.is_published and enrollment is None:
        # Unpublished courses stay open to the learners who already have them, hidden from others.
        raise NotFound("We could not find that course.", code="COURSE_NOT_FOUND")
    return course, lecture, enrollment


def _page(course: Course, lecture: Lecture, verdict: Access, enrollment: Enrollment | None) -> LecturePage:
    lectures = sorted(course.lectures, key=lambda item: (item.position, item.id))
    index = next(i for i, item in enumerate(lectures) if item.id == lecture.id)
    return LecturePage(course=course, lecture=lecture, access=verdict, enrollment=enrollment,
                       previous=lectures[index - 1] if index > 0 else None,
                       next=lectures[index + 1] if index + 1 < len(lectures) else None, lectures=lectures)


def _counts(enrollment: Enrollment) -> tuple[int, int]:
    total = db.session.scalar(
        db.select(sa.func.count(Lecture.id)).where(Lecture.course_id == enrollment.course_id)) or 0
    # Joined to the course's current lectures: a completion of a lecture moved to another
    # course (or deleted) no longer counts.
    completed = db.session.scalar(
        db.select(sa.func.count(LectureProgress.id))
        .join(Lecture, Lecture.id == LectureProgress.lecture_id)
        .where(LectureProgress.enrollment_id == enrollment.id, LectureProgress.completed_at.is_not(None),
               Lecture.course_id == enrollment.course_id)) or 0
    return min(completed, total), total


def _complete(enrollment: Enrollment, now: datetime) -> None:
    newly = enrollment.status == EnrollmentStatus.ACTIVE
    if newly:
        enrollment.status = EnrollmentStatus.COMPLETED
        enrollment.completed_at = now
    if not enrollment.certificate_earned:
        enrollment.certificate_earned = True
        enrollment.certificate_earned_at = now
        enrollment.certificate_id = new_public_id("cert")
    if newly:
        db.session.flush()
        paths.award_for_course(enrollment, now)  # the certificate of a path this course completes


def _progress_row(enrollment: Enrollment, lecture_id: int) -> LectureProgress | None:
    return db.session.scalar(db.select(LectureProgress).where(
        LectureProgress.enrollment_id == enrollment.id, LectureProgress.lecture_id == lecture_id))


def _require_same_course(enrollment: Enrollment, lecture: Lecture) -> None:
    if lecture.course_id != enrollment.course_id:
        raise NotFound("We could not find that lecture.", code="LECTURE_NOT_FOUND")

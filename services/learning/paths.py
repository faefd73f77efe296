"""A learner following a learning path: joining it, the unlock order, progress, the path certificate.

The rules (docs/learner.md explains them for people):

- "Enroll in path" (`join`) records that the learner follows the path and enrolls them at once
  in its free courses (source LEARNING_PATH, through `enrollments.enroll`, so idempotent and
  under the seat cap). Paid courses come through the path's checkout when the path has a price
  (services/payments), else each is bought on its own course page.
- Unlock order: in a path with `sequential` set, a course the path gave the learner (an
  enrollment with source LEARNING_PATH) opens once the learner completed the course before it
  in the path. A course bought on its own is never locked (it was bought, not given by the
  path). A course in several followed paths opens when any of them opens it, so two paths
  ordering the same courses differently can never lock both.
- Progress: each course's own progress; the path's is their average (every course weighs the
  same), and the next course is the first in order not completed.
- Completing every course of a followed path earns one path certificate (an unguessable public
  id on the path enrollment). It is awarded under a lock on the learner's path enrollment row,
  re-counting completions after the lock is held, so the last two courses completed at once
  award it exactly once (PostgreSQL: the second waits and then sees the first's commit;
  SQLite serializes writers).

Functions flush, never commit.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from extensions import db
from models import (Course, Enrollment, EnrollmentSource, EnrollmentStatus, EnrollmentType, LearningPath,
                    LearningPathCourse, LearningPathEnrollment, User, new_public_id)
from services import audit
from services.errors import Conflict
from services.learning import enrollments


# -- Who follows what ------------------------------------------------------------------------

def following(user: User | None, path: LearningPath) -> LearningPathEnrollment | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(db.select(LearningPathEnrollment).where(
        LearningPathEnrollment.user_id == user.id, LearningPathEnrollment.path_id == path.id))


def followed_paths(user_id: int) -> list[LearningPathEnrollment]:
    """The learner's path enrollments with their paths, steps and courses: one statement."""
    return list(db.session.scalars(
        db.select(LearningPathEnrollment)
        .options(joinedload(LearningPathEnrollment.path).joinedload(LearningPath.steps)
                 .joinedload(LearningPathCourse.course))
        .where(LearningPathEnrollment.user_id == user_id)
        .order_by(LearningPathEnrollment.enrolled_at, LearningPathEnrollment.id)).unique())


def _lock_following(user: User, path: LearningPath) -> LearningPathEnrollment | None:
    return db.session.execute(
        db.select(LearningPathEnrollment).where(LearningPathEnrollment.user_id == user.id,
                                                LearningPathEnrollment.path_id == path.id)
        .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()


def _follow(user: User, path: LearningPath, now: datetime) -> LearningPathEnrollment:
    """The learner's path enrollment, created once whatever races (unique (user, path))."""
    existing = _lock_following(user, path)
    if existing is not None:
        return existing
    row = LearningPathEnrollment(user_id=user.id, path_id=path.id, enrolled_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        winner = _lock_following(user, path)
        if winner is None:
            raise
        return winner
    audit.record("path.joined", row, actor=user, after={"path_id": path.id, "user_id": user.id})
    return row


@dataclass
class Joined:
    """What "Enroll in path" did."""

    path_enrollment: LearningPathEnrollment
    enrolled: list[Course] = field(default_factory=list)  # free courses enrolled now (or already)
    full: list[Course] = field(default_factory=list)  # free courses with no seat left
    to_buy: list[Course] = field(default_factory=list)  # paid courses the learner has no access to


def join(user: User, path: LearningPath, now: datetime) -> Joined:
    """Enroll in a path: follow it and enroll in its free courses now (source LEARNING_PATH).

    Idempotent: joining again enrolls in nothing new (a free course added since is enrolled).
    A free course that is full is reported, not fatal (the learner keeps the rest).
    """
    result = Joined(path_enrollment=_follow(user, path, now))
    for course in path.courses:
        if not course.is_published:
            continue
        if course.is_free:
            try:
                enrollments.enroll(user, course, type=EnrollmentType.FREE, source=EnrollmentSource.LEARNING_PATH,
                                   now=now, actor=user)
            except Conflict as error:
                if error.code != "COURSE_FULL":
                    raise
                result.full.append(course)
            else:
                result.enrolled.append(course)
        elif enrollments.with_access(user, course) is None:
            result.to_buy.append(course)
    award(user, path, now)
    return result


# -- Unlock order ----------------------------------------------------------------------------

def locked_courses(enrolled: Iterable[Enrollment], followed: Iterable[LearningPathEnrollment]) -> dict[int, Course]:
    """{course id: the course to complete first} for the learner's locked courses.

    `enrolled` are the learner's enrollments, `followed` their path enrollments with paths and
    steps loaded (`followed_paths`): no statement is sent here.
    """
    by_course = {enrollment.course_id: enrollment for enrollment in enrolled}
    completed = {course_id for course_id, enrollment in by_course.items() if enrollment.completed_at is not None}
    verdicts: dict[int, list[Course | None]] = {}
    for row in followed:
        path = row.path
        if not path.sequential:  # a path without unlock order opens each of its courses
            for step in path.steps:
                verdicts.setdefault(step.course_id, []).append(None)
            continue
        steps = sorted(path.steps, key=lambda step: (step.position, step.course_id))
        for index, step in enumerate(steps):
            enrollment = by_course.get(step.course_id)
            if enrollment is None or enrollment.source != EnrollmentSource.LEARNING_PATH:
                continue
            before = steps[index - 1].course if index > 0 else None
            verdicts.setdefault(step.course_id, []).append(
                before if before is not None and before.id not in completed else None)
    return {course_id: next(before for before in befores if before is not None)
            for course_id, befores in verdicts.items() if all(before is not None for before in befores)}


def lock_for(enrollment: Enrollment) -> Course | None:
    """The course to complete before `enrollment`'s course opens, or None when it is open."""
    if enrollment.source != EnrollmentSource.LEARNING_PATH:
        return None  # bought or granted on its own: never locked (and no statement sent)
    followed = [row for row in followed_paths(enrollment.user_id)
                if any(step.course_id == enrollment.course_id for step in row.path.steps)]
    if not any(row.path.sequential for row in followed):
        return None
    course_ids = {step.course_id for row in followed for step in row.path.steps}
    mine = db.session.scalars(db.select(Enrollment).where(Enrollment.user_id == enrollment.user_id,
                                                          Enrollment.course_id.in_(course_ids)))
    return locked_courses(list(mine), followed).get(enrollment.course_id)


# -- Progress --------------------------------------------------------------------------------

@dataclass
class Step:
    position: int
    course: Course
    enrollment: Enrollment | None
    locked_by: Course | None = None

    @property
    def has_access(self) -> bool:
        return self.enrollment is not None and self.enrollment.grants_access

    @property
    def is_completed(self) -> bool:
        return self.enrollment is not None and self.enrollment.completed_at is not None \
            and self.enrollment.status != EnrollmentStatus.REVOKED

    @property
    def percent(self) -> int:
        if self.enrollment is None or self.enrollment.status == EnrollmentStatus.REVOKED:
            return 0
        return 100 if self.is_completed else math.floor(self.enrollment.progress or 0)


@dataclass
class PathProgress:
    path: LearningPath
    steps: list[Step]
    path_enrollment: LearningPathEnrollment | None

    @property
    def completed_count(self) -> int:
        return sum(step.is_completed for step in self.steps)

    @property
    def percent(self) -> int:
        if not self.steps:
            return 0
        return math.floor(sum(step.percent for step in self.steps) / len(self.steps))

    @property
    def next_step(self) -> Step | None:
        """The first course in order the learner has not completed."""
        return next((step for step in self.steps if not step.is_completed), None)

    @property
    def certificate_id(self) -> str | None:
        return self.path_enrollment.certificate_id if self.path_enrollment is not None else None

    @property
    def to_buy(self) -> list[Course]:
        """Paid courses the learner has no access to, in the path's order."""
        return [step.course for step in self.steps if not step.course.is_free and not step.has_access]


def progress_of(path: LearningPath, path_enrollment: LearningPathEnrollment | None,
                enrolled: dict[int, Enrollment], locks: dict[int, Course]) -> PathProgress:
    steps = [Step(position=step.position, course=step.course, enrollment=enrolled.get(step.course_id),
                  locked_by=locks.get(step.course_id))
             for step in sorted(path.steps, key=lambda step: (step.position, step.course_id))]
    return PathProgress(path=path, steps=steps, path_enrollment=path_enrollment)


def for_page(user: User | None, path: LearningPath) -> PathProgress:
    """The path page: its courses in order with the learner's progress, locks and certificate."""
    if user is None or not getattr(user, "is_authenticated", False):
        return progress_of(path, None, {}, {})
    followed = followed_paths(user.id)
    mine = {row.course_id: row for row in db.session.scalars(
        db.select(Enrollment).where(Enrollment.user_id == user.id))}
    this = next((row for row in followed if row.path_id == path.id), None)
    return progress_of(path, this, mine, locked_courses(mine.values(), followed))


# -- The path certificate --------------------------------------------------------------------

def award(user: User, path: LearningPath, now: datetime) -> LearningPathEnrollment | None:
    """Award the path certificate when the learner follows the path and completed every course.

    Idempotent and race-safe: decided under the path enrollment's row lock, with the
    completions counted after the lock is held.
    """
    row = _lock_following(user, path)
    if row is None or row.certificate_id is not None:
        return row
    course_ids = [step.course_id for step in path.steps]
    if not course_ids:
        return row
    done = db.session.scalar(db.select(db.func.count(Enrollment.id)).where(
        Enrollment.user_id == user.id, Enrollment.course_id.in_(course_ids), Enrollment.completed_at.is_not(None),
        Enrollment.status != EnrollmentStatus.REVOKED)) or 0
    if done < len(course_ids):
        return row
    row.completed_at = now
    row.certificate_id = new_public_id("pcert")
    db.session.flush()
    audit.record("path.completed", row, actor=user, after={"path_id": path.id, "certificate_id": row.certificate_id})
    return row


def award_for_course(enrollment: Enrollment, now: datetime) -> None:
    """A course was just completed: award the certificate of every followed path that contains it."""
    paths = db.session.scalars(
        db.select(LearningPath).join(LearningPathEnrollment, LearningPathEnrollment.path_id == LearningPath.id)
        .join(LearningPathCourse, LearningPathCourse.path_id == LearningPath.id)
        .where(LearningPathEnrollment.user_id == enrollment.user_id,
               LearningPathCourse.course_id == enrollment.course_id)
        .order_by(LearningPath.id)).all()
    for path in paths:  # in id order: two completions lock a learner's path rows in the same order
        award(enrollment.user, path, now)

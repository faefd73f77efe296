"""The waitlist of a course that is full: learners join, staff admit them when a seat opens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from extensions import db
from models import Course, Enrollment, EnrollmentType, User, WaitlistEntry, WaitlistStatus
from services import audit
from services.learning import enrollments


def find(user: User, course: Course) -> WaitlistEntry | None:
    return db.session.scalar(db.select(WaitlistEntry).where(WaitlistEntry.user_id == user.id,
                                                            WaitlistEntry.course_id == course.id))


def join(user: User, course: Course, now: datetime) -> WaitlistEntry:
    """Put the learner on the list (idempotent: one entry per learner and course)."""
    entry = find(user, course)
    if entry is None:
        entry = WaitlistEntry(user_id=user.id, course_id=course.id, status=WaitlistStatus.WAITING, created_at=now)
        try:
            with db.session.begin_nested():  # a double click racing itself: the unique key decides
                db.session.add(entry)
        except IntegrityError:
            return find(user, course)
        audit.record("waitlist.joined", entry, actor=user)
    elif entry.status == WaitlistStatus.LEFT:
        entry.status = WaitlistStatus.WAITING
        entry.created_at = now  # back of the queue
        audit.record("waitlist.rejoined", entry, actor=user)
    return entry


def leave(entry: WaitlistEntry) -> WaitlistEntry:
    if entry.status == WaitlistStatus.WAITING:
        entry.status = WaitlistStatus.LEFT
        audit.record("waitlist.left", entry, actor=entry.user)
    return entry


def admit(entry: WaitlistEntry, now: datetime, actor: User | None) -> Enrollment:
    """Enroll a waiting learner (free of charge, staff's decision) if a seat is free now."""
    enrollment = enrollments.enroll(entry.user, entry.course, type=EnrollmentType.WAITLIST, now=now, actor=actor)
    entry.status = WaitlistStatus.ADMITTED
    entry.admitted_at = now
    audit.record("waitlist.admitted", entry, actor=actor)
    return enrollment


def entries(course: Course, status: WaitlistStatus | None = WaitlistStatus.WAITING) -> list[WaitlistEntry]:
    """The course's list, first come first served (with the learners, which the staff page shows)."""
    query = db.select(WaitlistEntry).options(joinedload(WaitlistEntry.user)).where(WaitlistEntry.course_id == course.id)
    if status is not None:
        query = query.where(WaitlistEntry.status == status)
    return list(db.session.scalars(query.order_by(WaitlistEntry.created_at, WaitlistEntry.id)))


def entry_in_course(course: Course, entry_id: int) -> WaitlistEntry | None:
    """The entry with this id if it is on `course`'s list (ids in staff URLs name both)."""
    found = db.session.get(WaitlistEntry, entry_id)
    return found if found is not None and found.course_id == course.id else None


def position(entry: WaitlistEntry) -> int:
    """1 for the first learner waiting."""
    waiting = entries(entry.course)
    return next((i for i, e in enumerate(waiting, start=1) if e.id == entry.id), 0)

"""Builders for the learner tests: a fixed clock, lectures and progress rows, committed like tests/factories."""
from datetime import datetime, timedelta, timezone

from extensions import db
from models import Course, Enrollment, Lecture, LectureProgress

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def add_lecture(course: Course, title: str = "Bonus lecture", position: int = 99) -> Lecture:
    lecture = Lecture(course_id=course.id, title=title, position=position, content="More content")
    db.session.add(lecture)
    db.session.commit()
    return lecture


def completed_rows(enrollment: Enrollment) -> int:
    return len(db.session.scalars(db.select(LectureProgress).where(
        LectureProgress.enrollment_id == enrollment.id, LectureProgress.completed_at.is_not(None))).all())


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)

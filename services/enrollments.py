"""Enrollments: looking them up and creating the one enrollment per (learner, course)."""
from extensions import db
from models import Course, Enrollment, User


def find(user: User, course: Course) -> Enrollment | None:
    return db.session.scalar(
        db.select(Enrollment).where(Enrollment.user_id == user.id, Enrollment.course_id == course.id)
    )

"""Concurrent completions of one enrollment lose nothing (PostgreSQL: the enrollment row is locked;
SQLite: one writer at a time, BEGIN IMMEDIATE)."""
import functools

from extensions import db
from models import Enrollment, EnrollmentStatus, User
from services.learning import progress
from tests import factories
from tests.isolation import run_in_threads
from tests.learner.builders import T0


def test_completing_every_lecture_at_once_counts_all_and_issues_one_certificate(app, learner, paid_course):
    enrollment = factories.enrollment(learner, paid_course, paid=True)
    user_id, slug = learner.id, paid_course.slug
    lecture_ids = [lecture.id for lecture in paid_course.lectures]

    def complete(lecture_id: int) -> None:
        progress.complete_lecture(db.session.get(User, user_id), slug, lecture_id, T0)
        db.session.commit()

    assert run_in_threads(app, [functools.partial(complete, lecture_id) for lecture_id in lecture_ids]) == [None] * 3
    db.session.expire_all()
    result = db.session.get(Enrollment, enrollment.id)
    assert (result.completed_lectures, result.total_lectures, result.progress) == (3, 3, 100)
    assert result.status == EnrollmentStatus.COMPLETED and result.certificate_id.startswith("cert_")

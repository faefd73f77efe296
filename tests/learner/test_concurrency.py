"""PostgreSQL: concurrent completions of one enrollment lose nothing (the enrollment row is locked)."""
import threading

import pytest

from extensions import db
from models import Enrollment, EnrollmentStatus, User
from services.learning import progress
from tests import factories
from tests.learner.builders import T0

pytestmark = pytest.mark.postgres_only


def test_completing_every_lecture_at_once_counts_all_and_issues_one_certificate(app, learner, paid_course):
    enrollment = factories.enrollment(learner, paid_course, paid=True)
    user_id, slug = learner.id, paid_course.slug
    lecture_ids = [lecture.id for lecture in paid_course.lectures]
    barrier = threading.Barrier(len(lecture_ids))
    errors: list[BaseException] = []

    def complete(lecture_id: int) -> None:
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                barrier.wait(timeout=10)
                progress.complete_lecture(user, slug, lecture_id, T0)
                db.session.commit()
            except BaseException as error:  # reported to the main thread below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=complete, args=(lecture_id,)) for lecture_id in lecture_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    db.session.expire_all()
    result = db.session.get(Enrollment, enrollment.id)
    assert (result.completed_lectures, result.total_lectures, result.progress) == (3, 3, 100)
    assert result.status == EnrollmentStatus.COMPLETED and result.certificate_id.startswith("cert_")

"""Completing a path's last two courses at once awards exactly one path certificate, and
joining a path twice at once follows it once (runs on SQLite and, in the PostgreSQL pass, with
row locks on PostgreSQL)."""
import functools
import threading

from extensions import db
from models import AuditEvent, Enrollment, EnrollmentSource, LearningPath, LearningPathEnrollment, User
from services.learning import paths, progress
from tests import factories
from tests.isolation import run_in_threads
from tests.paths.builders import T0, complete_course


def test_the_last_two_courses_completed_at_once_award_one_certificate(app, learner, courses, monkeypatch):
    path = factories.learning_path(courses, sequential=False)
    paths.join(learner, path, T0)
    db.session.commit()
    for course in courses[1:]:
        factories.enrollment(learner, course, paid=True, source=EnrollmentSource.LEARNING_PATH)
    complete_course(learner, courses[0])
    for course in courses[1:]:  # all but each course's last lecture
        for lecture in course.lectures[:-1]:
            progress.complete_lecture(learner, course.slug, lecture.id, T0)
    db.session.commit()
    user_id = learner.id
    last = [(course.slug, course.lectures[-1].id) for course in courses[1:]]

    # Forced interleaving: each completion is flushed before either decides about the
    # certificate, so each sees the other's course as not completed yet unless the decision
    # waits for the other's commit (the path enrollment's row lock). On SQLite the second
    # transaction cannot begin before the first commits: the wait times out and they run in turn.
    flushed, mine = [threading.Event(), threading.Event()], threading.local()
    real_award = paths.award

    def award(user, path_, now):
        index = mine.index
        flushed[index].set()
        flushed[1 - index].wait(3)
        return real_award(user, path_, now)

    monkeypatch.setattr(paths, "award", award)

    def complete(index: int, slug: str, lecture_id: int) -> None:
        mine.index = index
        progress.complete_lecture(db.session.get(User, user_id), slug, lecture_id, T0)
        db.session.commit()

    assert run_in_threads(app, [functools.partial(complete, i, *pair) for i, pair in enumerate(last)]) == [None, None]
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Enrollment)
                             .where(Enrollment.completed_at.is_not(None))) == 3
    row = db.session.scalar(db.select(LearningPathEnrollment))
    assert row.certificate_id is not None and row.certificate_id.startswith("pcert_")
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "path.completed")) == 1


def test_joining_twice_at_once_follows_once_and_enrolls_once(app, learner, courses):
    path = factories.learning_path(courses)
    user_id, path_id = learner.id, path.id

    def join() -> int:
        row = paths.join(db.session.get(User, user_id), db.session.get(LearningPath, path_id), T0).path_enrollment
        db.session.commit()
        return row.id

    first, second = run_in_threads(app, [join, join])
    assert first == second
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(LearningPathEnrollment)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(Enrollment)) == 1

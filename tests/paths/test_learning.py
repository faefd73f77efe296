"""services/learning/paths.py: joining a path, the unlock order, progress, the path certificate."""
import pytest

from extensions import db
from models import AuditEvent, Enrollment, EnrollmentSource, EnrollmentType, LearningPathEnrollment
from services.errors import Forbidden
from services.learning import access, certificates, paths, progress
from tests import factories
from tests.paths.builders import T0, complete_course


def _join(user, path):
    joined = paths.join(user, path, T0)
    db.session.commit()
    return joined


def _enrollment(user, course) -> Enrollment | None:
    return db.session.scalar(db.select(Enrollment).where(Enrollment.user_id == user.id,
                                                         Enrollment.course_id == course.id))


def test_joining_enrolls_in_the_free_courses_at_once_with_source_learning_path(learner, path, courses):
    joined = _join(learner, path)
    assert [c.slug for c in joined.enrolled] == ["git-first"]
    assert [c.slug for c in joined.to_buy] == ["python-next", "flask-last"]
    free = _enrollment(learner, courses[0])
    assert (free.source, free.type, free.amount_paid) == (EnrollmentSource.LEARNING_PATH, EnrollmentType.FREE, 0)
    assert _enrollment(learner, courses[1]) is None and _enrollment(learner, courses[2]) is None


def test_joining_twice_is_idempotent(learner, path, courses):
    _join(learner, path)
    _join(learner, path)
    assert db.session.scalar(db.select(db.func.count()).select_from(LearningPathEnrollment)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(Enrollment)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "enrollment.created")) == 1


def test_a_full_free_course_is_reported_and_the_rest_enrolled(learner, courses):
    crowded = factories.course(slug="crowded", title="Crowded", price=0, enrollment_type="FREE", capacity=1)
    factories.enrollment(factories.user(), crowded)
    path = factories.learning_path([courses[0], crowded])
    joined = _join(learner, path)
    assert [c.slug for c in joined.full] == ["crowded"] and [c.slug for c in joined.enrolled] == ["git-first"]


def test_a_course_the_path_gave_opens_only_after_the_one_before(learner, path, courses):
    _join(learner, path)
    second = factories.enrollment(learner, courses[1], paid=True, source=EnrollmentSource.LEARNING_PATH)
    lecture = courses[1].lectures[1]
    verdict = access.can_view_lecture(learner, courses[1], lecture, T0)
    assert (verdict.allowed, verdict.code, verdict.message) == (False, "LOCKED", "Complete Git First first.")
    with pytest.raises(Forbidden):  # marking complete is refused the same way
        progress.complete_lecture(learner, courses[1].slug, lecture.id, T0)
    db.session.rollback()
    assert access.can_view_lecture(learner, courses[1], courses[1].lectures[0], T0).code == "PREVIEW"
    complete_course(learner, courses[0])
    assert access.can_view_lecture(learner, courses[1], lecture, T0).code == "ENROLLED"
    assert access.course_access(second, T0).allowed


def test_a_course_bought_on_its_own_is_never_locked(learner, path, courses):
    _join(learner, path)
    factories.enrollment(learner, courses[2], paid=True)  # source DIRECT
    assert access.can_view_lecture(learner, courses[2], courses[2].lectures[1], T0).code == "ENROLLED"


def test_without_unlock_order_every_course_is_open(learner, courses):
    path = factories.learning_path(courses, sequential=False)
    _join(learner, path)
    factories.enrollment(learner, courses[2], paid=True, source=EnrollmentSource.LEARNING_PATH)
    assert access.can_view_lecture(learner, courses[2], courses[2].lectures[1], T0).allowed


def test_two_paths_ordering_the_same_courses_differently_never_lock_both(learner, courses):
    a, b = courses[1], courses[2]
    first = factories.learning_path([a, b], sequential=True)
    second = factories.learning_path([b, a], sequential=True)
    _join(learner, first)
    _join(learner, second)
    for course in (a, b):
        factories.enrollment(learner, course, paid=True, source=EnrollmentSource.LEARNING_PATH)
    assert all(access.can_view_lecture(learner, c, c.lectures[1], T0).allowed for c in (a, b))


def test_progress_overall_and_next_course(learner, path, courses):
    _join(learner, path)
    view = paths.for_page(learner, path)
    assert (view.percent, view.completed_count, view.next_step.course.slug) == (0, 0, "git-first")
    complete_course(learner, courses[0])
    factories.enrollment(learner, courses[1], paid=True, source=EnrollmentSource.LEARNING_PATH, progress=50.0)
    view = paths.for_page(learner, path)
    assert [step.percent for step in view.steps] == [100, 50, 0]
    assert (view.percent, view.completed_count, view.next_step.course.slug) == (50, 1, "python-next")
    assert [step.locked_by for step in view.steps] == [None, None, None]
    assert [c.slug for c in view.to_buy] == ["flask-last"]


def test_completing_every_course_earns_one_path_certificate(learner, path, courses):
    _join(learner, path)
    for course in courses[1:]:
        factories.enrollment(learner, course, paid=True, source=EnrollmentSource.LEARNING_PATH)
    complete_course(learner, courses[0])
    complete_course(learner, courses[1])
    assert paths.following(learner, path).certificate_id is None
    complete_course(learner, courses[2])
    row = paths.following(learner, path)
    assert row.certificate_id.startswith("pcert_") and row.completed_at == T0
    cert = certificates.by_public_id(row.certificate_id)
    assert (cert.kind, cert.course_title, cert.learner_name) == ("path", "Web Developer", "Lena Learner")
    assert cert.course_titles == ("Git First", "Python Next", "Flask Last")
    paths.award(learner, path, T0)  # idempotent
    db.session.commit()
    assert paths.following(learner, path).certificate_id == row.certificate_id


def test_courses_completed_before_joining_earn_the_certificate_on_joining(learner, courses):
    path = factories.learning_path(courses[:1] + [factories.course(price=0, enrollment_type="FREE", lectures=1)])
    for course in path.courses:
        factories.enrollment(learner, course)
        complete_course(learner, course)
    assert _join(learner, path).path_enrollment.certificate_id.startswith("pcert_")


def test_completing_courses_without_following_the_path_earns_no_path_certificate(learner, path, courses):
    for course in courses:
        factories.enrollment(learner, course)
        complete_course(learner, course)
    assert paths.following(learner, path) is None

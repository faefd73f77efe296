"""A learner never sees another learner's enrollments, payments or progress."""
import pytest

from extensions import db
from models import Enrollment, LectureProgress
from services.learning import dashboard, progress
from tests import factories
from tests.helpers import csrf_token
from tests.learner.builders import T0


@pytest.fixture
def alice_world(paid_course):
    """Alice: an enrollment with progress, a pending and a failed payment, and a certificate."""
    alice = factories.user(email="alice@example.com", name="Alice Private")
    secret_course = factories.course(title="Alice's Secret Course", price=12345)
    enrollment = factories.enrollment(alice, secret_course, paid=True)
    for lecture in secret_course.lectures:
        progress.mark_complete(enrollment, lecture, T0)
    mine = factories.enrollment(alice, paid_course, paid=True)
    progress.mark_complete(mine, paid_course.lectures[1], T0)
    factories.payment_session(alice, secret_course, "COMPLETED", coupon_code="ALICE50", completed_at=T0)
    factories.payment_session(alice, paid_course, "PENDING", checkout_url="https://checkout.example/c/alice-only")
    factories.payment_session(alice, paid_course, "FAILED", failure_message="Alice's card was declined.")
    db.session.commit()
    return alice, secret_course, enrollment


def test_dashboard_shows_none_of_another_learners_data(client, learner, alice_world, sign_in):
    sign_in(client, learner)
    page = client.get("/dashboard").get_data(as_text=True)
    for secret in ("Alice's Secret Course", "ALICE50", "alice-only", "Alice's card was declined", "$123.45",
                   alice_world[2].certificate_id):
        assert secret not in page
    assert "You have no courses yet" in page


def test_dashboard_service_reads_only_the_given_learner(learner, alice_world):
    board = dashboard.for_learner(learner, T0)
    assert board.cards == [] and board.pending == [] and board.history == []


def test_lecture_page_never_shows_another_learners_progress(client, learner, paid_course, alice_world, sign_in):
    factories.enrollment(learner, paid_course, paid=True)
    sign_in(client, learner)
    page = client.get(f"/courses/{paid_course.slug}/lectures/{paid_course.lectures[1].id}").get_data(as_text=True)
    assert "0 of 3" in page and "You completed this lecture" not in page


def test_completing_a_lecture_touches_only_the_learners_own_enrollment(client, learner, paid_course, alice_world, sign_in):
    mine = factories.enrollment(learner, paid_course, paid=True)
    alice_enrollment = db.session.scalar(db.select(Enrollment).where(
        Enrollment.user_id == alice_world[0].id, Enrollment.course_id == paid_course.id))
    before = (alice_enrollment.completed_lectures, alice_enrollment.last_accessed_at)
    sign_in(client, learner)
    client.post(f"/courses/{paid_course.slug}/lectures/{paid_course.lectures[0].id}/complete",
                data={"csrf_token": csrf_token(client)})
    db.session.expire_all()
    assert (alice_enrollment.completed_lectures, alice_enrollment.last_accessed_at) == before
    rows = db.session.scalars(db.select(LectureProgress).where(LectureProgress.enrollment_id == mine.id)).all()
    assert len(rows) == 1


def test_another_learners_course_stays_locked(client, learner, alice_world, sign_in):
    _, secret_course, _ = alice_world
    sign_in(client, learner)
    response = client.get(f"/courses/{secret_course.slug}/lectures/{secret_course.lectures[2].id}")
    assert response.status_code == 403 and "Content 3" not in response.get_data(as_text=True)
    complete = client.post(f"/courses/{secret_course.slug}/lectures/{secret_course.lectures[2].id}/complete",
                           data={"csrf_token": csrf_token(client)})
    assert complete.status_code == 403


def test_signed_out_visitors_get_no_dashboard(client, alice_world):
    response = client.get("/dashboard")
    assert response.status_code == 302 and "Alice" not in response.get_data(as_text=True)

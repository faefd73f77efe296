"""Enrolling in a free course from its page (checkout.enroll_free, issue 4) as the learner side sees it."""
from extensions import db
from models import Enrollment
from tests.helpers import csrf_token


def test_enrolling_twice_changes_nothing_and_the_dashboard_shows_one_card(client, learner, free_course, sign_in):
    sign_in(client, learner)
    url = f"/courses/{free_course.slug}/enroll"
    assert client.post(url, data={"csrf_token": csrf_token(client)}).status_code in (302, 303)
    first = db.session.scalar(db.select(Enrollment).where(Enrollment.user_id == learner.id))
    snapshot = (first.id, first.status, first.enrolled_at, first.progress)
    assert client.post(url, data={"csrf_token": csrf_token(client)}).status_code in (302, 303)
    db.session.expire_all()
    rows = db.session.scalars(db.select(Enrollment).where(Enrollment.user_id == learner.id)).all()
    assert len(rows) == 1
    assert (rows[0].id, rows[0].status, rows[0].enrolled_at, rows[0].progress) == snapshot
    page = client.get("/dashboard").get_data(as_text=True)
    assert page.count('data-testid="enrollment-card"') == 1 and "Git Basics" in page


def test_enroll_without_csrf_is_refused(client, learner, free_course, sign_in):
    sign_in(client, learner)
    assert client.post(f"/courses/{free_course.slug}/enroll").status_code == 400
    assert db.session.scalar(db.select(db.func.count(Enrollment.id))) == 0

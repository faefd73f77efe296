"""Public certificates: verifiable by anyone with the link, nothing personal beyond name, course, date."""
from extensions import db
from services.learning import progress
from tests import factories
from tests.learner.builders import T0


def _earned(learner, course):
    enrollment = factories.enrollment(learner, course, paid=True, notes="private note")
    for lecture in course.lectures:
        progress.mark_complete(enrollment, lecture, T0)
    db.session.commit()
    return enrollment


def test_anyone_can_verify_a_certificate(client, learner, paid_course):
    enrollment = _earned(learner, paid_course)
    response = client.get(f"/certificates/{enrollment.certificate_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Lena Learner" in page and "Python 101" in page and "20 November 2026" in page
    assert "Certificate of completion" in page and 'name="robots" content="noindex"' in page
    assert "@media print" in client.get("/static/css/app.css").get_data(as_text=True)


def test_certificate_shows_nothing_else_personal(client, learner, paid_course):
    enrollment = _earned(learner, paid_course)
    page = client.get(f"/certificates/{enrollment.certificate_id}").get_data(as_text=True)
    for private in (learner.email, "private note", "$99.00", "learner@"):
        assert private not in page


def test_unknown_or_malformed_ids_are_404(client, learner, paid_course):
    _earned(learner, paid_course)
    for bad in ("cert_nope", "x" * 500, "1"):
        assert client.get(f"/certificates/{bad}").status_code == 404
    assert client.get("/certificates/%00").status_code == 400  # refused before any lookup


def test_an_enrollment_without_a_certificate_is_not_found_by_empty_id(client, learner, paid_course):
    factories.enrollment(learner, paid_course)
    assert client.get("/certificates/None").status_code == 404


def test_a_revoked_enrollment_shows_the_certificate_as_void(client, learner, paid_course):
    enrollment = _earned(learner, paid_course)
    enrollment.status = "REVOKED"
    db.session.commit()
    page = client.get(f"/certificates/{enrollment.certificate_id}").get_data(as_text=True)
    assert "no longer valid" in page

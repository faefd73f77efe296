"""The unlock order where it was reported or applied inconsistently (review): a course that a
followed path without unlock order also contains is open, and the API's enrollment says LOCKED
for a course the lecture pages refuse."""
from models import EnrollmentSource
from services.learning import access, paths
from tests import factories
from tests.helpers import login
from tests.paths.builders import T0
from extensions import db


def test_a_course_also_in_a_followed_path_without_unlock_order_is_open(learner, courses):
    a, b = courses[1], courses[2]
    ordered = factories.learning_path([a, b], sequential=True)
    free_order = factories.learning_path([b], sequential=False)
    paths.join(learner, ordered, T0)
    paths.join(learner, free_order, T0)
    db.session.commit()
    factories.enrollment(learner, b, paid=True, source=EnrollmentSource.LEARNING_PATH)
    # docs: "A course in several followed paths opens when any of them opens it"
    assert access.can_view_lecture(learner, b, b.lectures[1], T0).allowed
    assert paths.for_page(learner, ordered).steps[1].locked_by is None


def test_the_api_enrollment_of_a_locked_course_has_no_access(client, learner, path, courses):
    paths.join(learner, path, T0)
    db.session.commit()
    factories.enrollment(learner, courses[1], paid=True, source=EnrollmentSource.LEARNING_PATH)
    login(client, learner.email)
    response = client.get(f"/api/payments/enrollments/course/{courses[1].id}")
    assert response.status_code == 200
    body = response.get_json()["enrollment"]
    assert body["hasAccess"] is False and body["access"]["code"] == "LOCKED"
    listed = client.get("/api/payments/enrollments").get_json()["enrollments"]
    assert {item["courseId"]: item["hasAccess"] for item in listed}[courses[1].id] is False

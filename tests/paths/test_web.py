"""The path pages through the test client: list, page, "Enroll in path", locks, dashboard, certificate."""
from extensions import db
from models import Enrollment, EnrollmentSource, LearningPathEnrollment
from tests import factories
from tests.helpers import post_form
from tests.paths.builders import complete_course


def test_visitors_see_published_paths_and_the_path_page(client, path, courses):
    factories.learning_path(courses[:2], name="Hidden Draft", published=False, slug="hidden")
    listing = client.get("/paths").get_data(as_text=True)
    assert "Web Developer" in listing and "Hidden Draft" not in listing
    assert client.get("/paths/hidden").status_code == 404
    page = client.get("/paths/web-developer").get_data(as_text=True)
    assert [title in page for title in ("Git First", "Python Next", "Flask Last")] == [True] * 3
    assert page.index("Git First") < page.index("Python Next") < page.index("Flask Last")
    assert "Sign in to enroll" in page
    fresh = client.application.test_client()  # a visitor gets no session, so no cookie
    assert [fresh.get(url).headers.get("Set-Cookie") for url in ("/paths", "/paths/web-developer")] == [None, None]
    assert 'href="/paths"' in client.get("/courses").get_data(as_text=True)  # the nav and the catalog link


def test_enroll_in_path_enrolls_free_courses_and_points_to_the_paid_ones(client, learner, sign_in, path, courses):
    sign_in(client, learner)
    response = post_form(client, "/paths/web-developer/enroll", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Free courses ready: Git First" in page
    assert "Buy the paid courses on their pages: Python Next, Flask Last" in page
    assert page.count("Buy this course") == 2 and 'data-testid="path-progress"' in page
    [enrollment] = db.session.scalars(db.select(Enrollment)).all()
    assert (enrollment.course_id, enrollment.source) == (courses[0].id, EnrollmentSource.LEARNING_PATH)
    post_form(client, "/paths/web-developer/enroll")  # again: nothing new
    assert db.session.scalar(db.select(db.func.count()).select_from(Enrollment)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(LearningPathEnrollment)) == 1


def test_anonymous_enroll_goes_to_sign_in(client, path):
    from tests.helpers import csrf_token
    response = client.post("/paths/web-developer/enroll", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_locked_course_says_complete_the_previous_one_first_everywhere(client, learner, sign_in, path, courses):
    sign_in(client, learner)
    post_form(client, "/paths/web-developer/enroll")
    factories.enrollment(learner, courses[1], paid=True, source=EnrollmentSource.LEARNING_PATH)
    lecture = courses[1].lectures[1]
    response = client.get(f"/courses/python-next/lectures/{lecture.id}")
    assert response.status_code == 403 and "Complete Git First first." in response.get_data(as_text=True)
    page = client.get("/paths/web-developer").get_data(as_text=True)
    assert 'data-testid="step-locked"' in page and "Complete Git First first." in page
    board = client.get("/dashboard").get_data(as_text=True)
    assert 'data-testid="dashboard-path"' in board and "Locked: complete Git First first" in board
    assert "Next course: Git First" in board
    complete_course(learner, courses[0])
    assert client.get(f"/courses/python-next/lectures/{lecture.id}").status_code == 200
    board = client.get("/dashboard").get_data(as_text=True)
    assert "Next course: Python Next" in board and "1 of 3 courses completed" in board


def test_the_path_certificate_page(client, learner, sign_in, courses):
    path = factories.learning_path(courses[:1] + [factories.course(title="Free Two", price=0,
                                                                   enrollment_type="FREE", lectures=1)])
    sign_in(client, learner)
    post_form(client, f"/paths/{path.slug}/enroll")
    for course in path.courses:
        complete_course(learner, course)
    db.session.expire_all()
    row = db.session.scalar(db.select(LearningPathEnrollment))
    page = client.get(f"/paths/{path.slug}").get_data(as_text=True)
    assert f"/certificates/{row.certificate_id}" in page
    certificate = client.application.test_client().get(f"/certificates/{row.certificate_id}")
    text = certificate.get_data(as_text=True)
    assert certificate.status_code == 200 and "has completed the learning path" in text
    assert path.name in text and "Lena Learner" in text and "learner@example.com" not in text
    assert client.get("/certificates/pcert_nope").status_code == 404


def test_the_dashboard_reads_paths_in_a_fixed_number_of_statements(client, learner, sign_in, courses):
    from tests.helpers import StatementCounter

    sign_in(client, learner)
    for index in range(3):
        path = factories.learning_path(courses, slug=f"p{index}")
        post_form(client, f"/paths/{path.slug}/enroll")
    with StatementCounter(db.engine) as counter:
        assert client.get("/dashboard").status_code == 200
    assert counter.count == 6  # as with no path: tests/perf pins it

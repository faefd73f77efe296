"""What each hot request costs in SQL statements and session writes (issue 22).

bench/bench_requests.py measures these requests against reference servers; their throughput
follows the round trips to the database, so the counts are pinned here, as
tests/webhooks/test_endpoint.py pins the webhook's. A count that grew with the data (one
query per course, lecture or enrollment) would fail these tests: the fixtures hold several.
"""
import pytest

from extensions import db
from tests import factories
from tests.helpers import StatementCounter, csrf_token


def _count(client, method: str, path: str, **kwargs):
    db.session.expunge_all()  # the test's own objects must not answer for the request
    with StatementCounter(db.engine) as counter:
        response = client.open(path, method=method, **kwargs)
    return counter.count, response


@pytest.fixture
def slugs(app):
    """Six published courses of four lectures and an unpublished one; a 10% code."""
    courses = [factories.course(lectures=4) for _ in range(6)]
    factories.course(published=False)
    factories.coupon(code="SAVE10", percent=10)
    return [course.slug for course in courses]


def test_catalog_is_one_statement_and_no_session_for_visitors(client, slugs):
    count, response = _count(client, "GET", "/courses")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and all(slug in page for slug in slugs)
    assert count == 1  # the listed columns of the published courses
    # The layout renders no CSRF token here, so a visitor gets no session and no cookie.
    assert "Set-Cookie" not in response.headers
    assert 'name="csrf-token"' not in page and "hx-headers" not in page


@pytest.mark.parametrize("query,headers", [("?q=course+test&price=paid&topic=data", {}),
                                           ("?q=course", {"HX-Request": "true"})])
def test_catalog_search_is_still_one_statement_and_no_session(client, slugs, query, headers):
    count, response = _count(client, "GET", "/courses" + query, headers=headers)
    assert response.status_code == 200
    assert count == 1  # the search, the filters and each course's length are one SELECT
    assert "Set-Cookie" not in response.headers


def test_course_page_is_four_statements_for_a_visitor(client, slugs):
    count, response = _count(client, "GET", f"/courses/{slugs[0]}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Lecture 4" in page
    # The course with its lectures joined; its refund terms (policy and override); the bundles on
    # sale it is in (issue 20: the page names them); the memberships that include it ("Included in
    # All-Access", issue 16).
    assert count == 4
    # Its purchase form and htmx coupon check need the token (so a session) even for visitors.
    assert 'name="csrf-token"' in page and "hx-headers" in page


def test_quote_fragment_is_two_statements_signed_in(client, slugs, learner, sign_in):
    sign_in(client, learner)
    token = csrf_token(client)
    count, response = _count(client, "POST", f"/courses/{slugs[0]}", data={"coupon_code": "save10"},
                             headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200 and "Code applied" in response.get_data(as_text=True)
    # the signed-in learner; course + coupon + its course list + the learner's uses of the code
    assert count == 2


def _autocommit(dbapi_connection) -> bool:
    # psycopg: .autocommit; sqlite3 (Python 3.11): isolation_level None
    return getattr(dbapi_connection, "autocommit", None) is True or \
        getattr(dbapi_connection, "isolation_level", "") is None


def test_read_only_views_send_no_begin_and_leave_the_pool_transactional(client, slugs, learner, sign_in):
    from sqlalchemy import event

    seen = []

    def record(conn, *args):
        seen.append(_autocommit(conn.connection.dbapi_connection))

    signed_in = client.application.test_client()
    sign_in(signed_in, learner)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get("/courses").status_code == 200
        assert client.get(f"/courses/{slugs[0]}").status_code == 200
        assert signed_in.get("/dashboard").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert seen and all(seen)  # no BEGIN before, no ROLLBACK after: each read is its own
    # The connections went back to the pool as they came: the next user gets transactions.
    db.session.remove()
    assert not _autocommit(db.session.connection().connection.dbapi_connection)


def test_a_read_only_view_that_writes_fails_before_sending_anything(app):
    from blueprints.read_only import ReadOnlyViolation, read_only
    from models import User

    @read_only
    def writes():
        db.session.add(User(email="nobody@example.com", name="Nobody"))
        db.session.flush()

    db.session.remove()
    with app.test_request_context():
        with pytest.raises(ReadOnlyViolation):
            writes()
        db.session.rollback()
    db.session.remove()
    assert db.session.scalar(db.select(User).where(User.email == "nobody@example.com")) is None


def test_dashboard_statements_do_not_grow_with_enrollments(client, slugs, learner, sign_in):
    from models import Course

    for slug in slugs[:4]:
        course = db.session.scalar(db.select(Course).where(Course.slug == slug))
        factories.enrollment(learner, course, paid=True)
    sign_in(client, learner)
    count, response = _count(client, "GET", "/dashboard")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('data-testid="enrollment-card"') == 4
    # the learner; enrollments with courses (and subscriptions); their lectures with completions; the
    # learning paths followed (issue 20); payment sessions; membership subscriptions (issue 16)
    assert count == 6

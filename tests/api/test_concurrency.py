"""Real threads, both databases: parallel first calls never duplicate a user or an enrollment."""
from extensions import db
from models import Enrollment, User
from tests.isolation import run_in_threads

THREADS = 6


def _parallel(app, request_fn):
    """The same request from THREADS clients at once; their status codes."""
    results = run_in_threads(app, [lambda: request_fn(app.test_client()).status_code] * THREADS)
    assert not [r for r in results if isinstance(r, BaseException)], results
    return results


def test_parallel_first_calls_with_a_new_jwt_create_one_user(app, oidc_provider, free_course):
    headers = {"Authorization": f"Bearer {oidc_provider.id_token('bob-sub')}"}
    statuses = _parallel(app, lambda client: client.get("/api/payments/enrollments", headers=headers))
    assert statuses == [200] * THREADS
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(User.id)).where(User.oidc_subject == "bob-sub")) == 1


def test_parallel_free_enrollments_create_one(app, auth, free_course):
    slug = free_course.slug  # read here: the test's session must not be used from the threads
    statuses = _parallel(app, lambda client: client.post(
        "/api/payments/enrollments", json={"courseId": slug}, headers=auth))
    # Every caller succeeds (201, or 200 once the row is visible); the row exists once.
    assert len(statuses) == THREADS and set(statuses) <= {200, 201} and 201 in statuses
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Enrollment.id))) == 1

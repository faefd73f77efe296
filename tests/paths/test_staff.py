"""Staff learning path pages: create, edit and reorder, every mistake shown after one submit."""
import re

import pytest

from extensions import db
from models import AuditEvent, LearningPath
from tests import factories
from tests.helpers import post_form

FORM = {"name": "Web Developer", "slug": "web-developer", "description": "From Git to Flask.",
        "courses": "git-first\npython-next\nflask-last", "price": "99.00", "currency": "USD",
        "sequential": "y", "is_published": "y"}


@pytest.fixture
def staff_client(client, staff, sign_in):
    sign_in(client, staff)
    return client


def _errors(page: str) -> set[str]:
    return set(re.findall(r'id="([a-z_]+)-error"', page))


def _path() -> LearningPath:
    return db.session.scalar(db.select(LearningPath))


def test_staff_create_a_path_with_ordered_courses_and_a_price(staff_client, courses):
    response = post_form(staff_client, "/staff/paths/new", FORM)
    assert response.status_code == 302
    path = _path()
    assert [c.slug for c in path.courses] == ["git-first", "python-next", "flask-last"]
    assert [s.position for s in path.steps] == [1, 2, 3]
    assert (path.price_amount, path.currency, path.sequential, path.is_published) == (9900, "USD", True, True)
    assert db.session.scalar(db.select(AuditEvent.action)) == "path.created"
    listing = staff_client.get("/staff/paths").get_data(as_text=True)
    assert "Web Developer" in listing and "$99.00" in listing


def test_staff_reorder_drop_a_course_and_remove_the_price(staff_client, courses):
    post_form(staff_client, "/staff/paths/new", FORM)
    path = _path()
    page = staff_client.get(f"/staff/paths/{path.id}").get_data(as_text=True)
    assert "git-first\npython-next\nflask-last" in page and 'value="99.00"' in page
    response = post_form(staff_client, f"/staff/paths/{path.id}",
                         {**FORM, "courses": "flask-last\ngit-first", "price": "", "currency": "", "sequential": ""})
    assert response.status_code == 302
    db.session.expire_all()
    path = _path()
    assert [c.slug for c in path.courses] == ["flask-last", "git-first"]
    assert (path.price_amount, path.currency, path.sequential) == (None, None, False)
    [entry] = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "path.updated")).all()
    assert entry.before["price_amount"] == 9900 and entry.after["course_ids"] == f"{courses[2].id},{courses[0].id}"


def test_one_submit_shows_every_mistake(staff_client, courses):
    factories.learning_path(courses[:2], slug="taken")
    factories.course(slug="euro-course", title="Euro Course", price=3000, currency="EUR")
    response = post_form(staff_client, "/staff/paths/new", {
        "name": "",                                       # the form: required
        "slug": "taken",                                  # the service: taken
        "courses": "git-first\nnope\ngit-first\neuro-course",  # the service: unknown, twice
        "price": "ten", "currency": "USD"})               # the form: not a number
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _errors(page) >= {"name", "slug", "courses", "price"}
    assert "already uses this slug" in page and "no course has the slug “nope”" in page
    assert "Git First is listed twice" in page
    assert db.session.scalar(db.select(db.func.count()).select_from(LearningPath)) == 1


@pytest.mark.parametrize("changes,field,words", [
    ({"courses": "git-first"}, "courses", "at least 2 courses"),
    ({"price": "99", "currency": ""}, "currency", "Choose the currency"),
    ({"price": "99", "currency": "EUR"}, "currency", "must be priced in EUR: Python Next, Flask Last"),
    ({"price": "0.10"}, "price", "smallest charge"),
    ({"slug": "Bad Slug"}, "slug", "Lower-case"),
    ({"courses": "git-first\nfree-two", "price": "10"}, "price", "Every course of this path is free"),
    ({"courses": "git-first\ndraft"}, "courses", "Draft is not published"),
    ({"courses": "git-first\ninvited"}, "courses", "Invited is not free or paid"),
])
def test_path_rules(staff_client, courses, changes, field, words):
    factories.course(slug="free-two", price=0, enrollment_type="FREE")
    factories.course(slug="draft", title="Draft", published=False)
    factories.course(slug="invited", title="Invited", enrollment_type="INVITATION_ONLY")
    response = post_form(staff_client, "/staff/paths/new", {**FORM, **changes})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field in _errors(page) and words in page


def test_an_unpublished_path_may_hold_unpublished_courses(staff_client, courses):
    factories.course(slug="draft", title="Draft", published=False)
    response = post_form(staff_client, "/staff/paths/new",
                         {**FORM, "courses": "git-first\ndraft", "price": "", "is_published": ""})
    assert response.status_code == 302


def test_learners_cannot_use_the_staff_path_pages(client, learner, sign_in):
    sign_in(client, learner)
    assert client.get("/staff/paths").status_code == 403

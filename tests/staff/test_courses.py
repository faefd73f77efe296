"""Staff course pages: create and edit with validation, lectures added, edited, moved, deleted."""
import pytest

from extensions import db
from models import AuditEvent, Course, EnrollmentType, Lecture
from tests import factories
from tests.helpers import post_confirmed, post_form

COURSE = {"title": "Rust for Pythonistas", "slug": "rust-for-pythonistas", "short_description": "Fast",
          "description": "Long text", "price": "49.90", "currency": "USD", "enrollment_type": "PAID",
          "capacity": "", "is_published": "y"}


def _actions():
    return [e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]


def test_create_course_in_minor_units_and_audit(staff_client):
    response = post_form(staff_client, "/staff/courses/new", COURSE)
    assert response.status_code == 302
    course = db.session.scalar(db.select(Course))
    assert (course.price_amount, course.currency, course.is_published, course.capacity) == (4990, "USD", True, None)
    assert _actions() == ["course.created"]


@pytest.mark.parametrize("changes,field", [
    ({"slug": "Bad Slug"}, "slug"), ({"slug": "taken"}, "slug"), ({"title": ""}, "title"),
    ({"price": "-1"}, "price"), ({"price": "ten"}, "price"), ({"price": "0", "enrollment_type": "PAID"}, "price"),
    ({"price": "12.5", "currency": "JPY"}, "price"), ({"capacity": "-3"}, "capacity"),
    ({"enrollment_type": "SOMETIMES"}, "enrollment_type"), ({"currency": "XXX"}, "currency"),
    ({"price": "99999999999"}, "price"), ({"price": "9e999"}, "price"), ({"capacity": "1" * 30}, "capacity"),
])
def test_course_validation(staff_client, changes, field):
    factories.course(slug="taken")
    response = post_form(staff_client, "/staff/courses/new", {**COURSE, **changes})
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)


def test_free_course_with_zero_price_and_edit_keeps_slug_check_for_itself(staff_client):
    course = factories.course(slug="keep-me", price=1000)
    page = staff_client.get(f"/staff/courses/{course.id}").get_data(as_text=True)
    assert 'value="10.00"' in page and 'value="keep-me"' in page
    response = post_form(staff_client, f"/staff/courses/{course.id}",
                         {**COURSE, "slug": "keep-me", "price": "0", "enrollment_type": "FREE", "capacity": "20"})
    assert response.status_code == 302
    db.session.refresh(course)
    assert (course.price_amount, course.enrollment_type, course.capacity) == (0, EnrollmentType.FREE, 20)
    [entry] = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "course.updated")).all()
    assert entry.before["price_amount"] == 1000 and entry.after["price_amount"] == 0


def test_lectures_add_edit_reorder_delete(staff_client):
    course = factories.course(slug="lectures", lectures=3)
    base = f"/staff/courses/{course.id}/lectures"
    assert post_form(staff_client, base, {"title": "Four", "duration_minutes": "7", "is_preview": "y"}).status_code == 302
    titles = lambda: [l.title for l in db.session.scalars(  # noqa: E731
        db.select(Lecture).where(Lecture.course_id == course.id).order_by(Lecture.position))]
    assert titles() == ["Lecture 1", "Lecture 2", "Lecture 3", "Four"]
    four = db.session.scalar(db.select(Lecture).where(Lecture.title == "Four"))
    assert four.is_preview and four.duration_minutes == 7
    post_form(staff_client, f"{base}/{four.id}/move", {"direction": "up"})
    db.session.expire_all()
    assert titles() == ["Lecture 1", "Lecture 2", "Four", "Lecture 3"]
    first = db.session.scalar(db.select(Lecture).where(Lecture.title == "Lecture 1"))
    post_form(staff_client, f"{base}/{first.id}/move", {"direction": "up"})  # already first: no change
    post_form(staff_client, f"{base}/{first.id}", {"title": "Intro", "duration_minutes": "2"})
    db.session.expire_all()
    assert titles() == ["Intro", "Lecture 2", "Four", "Lecture 3"]
    assert db.session.get(Lecture, first.id).is_preview is False
    two = db.session.scalar(db.select(Lecture).where(Lecture.title == "Lecture 2"))
    post_confirmed(staff_client, f"{base}/{two.id}/delete")
    db.session.expire_all()
    assert titles() == ["Intro", "Four", "Lecture 3"]
    positions = [l.position for l in db.session.scalars(db.select(Lecture).where(Lecture.course_id == course.id)
                                                        .order_by(Lecture.position))]
    assert positions == [1, 2, 3]
    assert {"lecture.created", "lecture.moved", "lecture.updated", "lecture.deleted"} <= set(_actions())


def test_lecture_of_another_course_is_404_and_bad_input_is_no_500(staff_client):
    mine, other = factories.course(slug="mine"), factories.course(slug="other")
    foreign = other.lectures[0].id
    assert staff_client.get(f"/staff/courses/{mine.id}/lectures/{foreign}").status_code == 404
    assert post_form(staff_client, f"/staff/courses/{mine.id}/lectures", {"title": ""}).status_code == 422
    assert post_form(staff_client, f"/staff/courses/{mine.id}/lectures/{mine.lectures[0].id}/move",
                     {"direction": "sideways"}).status_code == 400
    assert staff_client.get("/staff/courses/999999").status_code == 404


def test_failed_lecture_add_shows_the_saved_course_not_the_lecture_input(staff_client):
    course = factories.course(slug="mine", title="Saved Title")
    page = post_form(staff_client, f"/staff/courses/{course.id}/lectures",
                     {"title": "", "content": "x"}).get_data(as_text=True)
    assert 'value="Saved Title"' in page
    assert '<input checked id="is_published" name="is_published"' in page  # still published

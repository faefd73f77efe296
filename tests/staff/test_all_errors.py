"""One submit shows every mistake: the form's own checks and the service's rules together, each
next to its field (the coupon form once needed three submits for five mistakes); sign-up too."""
import sqlalchemy as sa

from extensions import db
from models import Coupon, Course, Enrollment, Invitation, User
from services.payments import refund_policy
from tests import factories
from tests.helpers import csrf_token, post_form


def _errors(page: str) -> set[str]:
    import re
    return set(re.findall(r'id="([a-z_]+)-error"', page))


def test_coupon_form_shows_five_mistakes_after_one_submit(staff_client):
    factories.coupon(code="TAKEN")
    response = post_form(staff_client, "/staff/coupons/new", {
        "code": "taken",                 # the service: already taken
        "name": "",                      # the form: required
        "discount_type": "FIXED_AMOUNT",
        "value": "abc",                  # the form: not a number
        "currency": "",                  # the service: a fixed amount needs a currency
        "minimum_amount": "lots",        # the form: not a number
        "valid_from": "2026-05-02T00:00", "valid_until": "2026-05-01T00:00",  # the service: until before from
        "per_learner_limit": "1"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _errors(page) >= {"code", "name", "value", "currency", "minimum_amount", "valid_until"}
    assert "already taken" in page and "needs a currency" in page and "after the start" in page
    # The form's message, not the service's as well, on a field both would refuse.
    assert "Give the coupon a name" not in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Coupon)) == 1


def test_coupon_edit_shows_every_mistake_too(staff_client):
    coupon = factories.coupon(code="EDITME")
    factories.coupon(code="OTHER")
    response = post_form(staff_client, f"/staff/coupons/{coupon.id}/edit", {
        "code": "other", "name": "", "discount_type": "PERCENTAGE", "value": "150", "currency": "",
        "per_learner_limit": "0"})
    assert response.status_code == 422
    assert _errors(response.get_data(as_text=True)) >= {"code", "name", "value", "per_learner_limit"}


def test_course_form_shows_every_mistake_after_one_submit(staff_client):
    factories.course(slug="taken-slug")
    response = post_form(staff_client, "/staff/courses/new", {
        "title": "", "slug": "taken-slug", "price": "abc", "currency": "USD", "enrollment_type": "PAID",
        "capacity": "-3"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _errors(page) >= {"title", "slug", "price", "capacity"}
    assert "already uses this slug" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Course)) == 1


def test_sign_up_shows_every_mistake_after_one_submit(client):
    factories.user(email="taken@example.com")
    response = client.post("/signup", data={"csrf_token": csrf_token(client, "/signup"), "name": "",
                                            "email": "taken@example.com", "password": "short",
                                            "confirm": "different"})
    page = response.get_data(as_text=True)
    assert _errors(page) >= {"name", "email", "password", "confirm"}
    assert "already exists" in page and "at least 10 characters" in page and "do not match" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_sign_up_with_an_invalid_email_and_a_weak_password_names_both(client):
    response = client.post("/signup", data={"csrf_token": csrf_token(client, "/signup"), "name": "Ann",
                                            "email": "not-an-email", "password": "onlyletters",
                                            "confirm": "onlyletters"})
    assert _errors(response.get_data(as_text=True)) == {"email", "password"}


def test_refund_policy_form_shows_both_mistakes_after_one_submit(staff_client):
    response = post_form(staff_client, "/staff/refund-policy", {"window_days": "", "max_progress_percent": "150"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _errors(page) == {"window_days", "max_progress_percent"}
    assert "whole percentage from 0 to 100" in page


def test_course_refund_terms_show_the_forms_and_the_services_mistakes_after_one_submit(staff_client, paid_course):
    response = post_form(staff_client, "/staff/refund-policy/courses", {
        "course_id": str(paid_course.id), "mode": "custom",
        "window_days": "two weeks",          # the form: not a whole number
        "max_progress_percent": "150"})      # the service: 0 to 100
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _errors(page) == {"window_days", "max_progress_percent"}
    assert "Not a valid integer value" in page and "whole percentage from 0 to 100" in page
    # The form's message alone on the field it refused, not "give the course's own window" as well.
    assert "Give the course&#39;s own window" not in page and "Give the course's own window" not in page
    assert refund_policy.override_for(paid_course) is None


def test_new_lecture_shows_the_forms_and_the_services_mistakes_after_one_submit(staff_client, paid_course):
    before = len(paid_course.lectures)
    response = post_form(staff_client, f"/staff/courses/{paid_course.id}/lectures", {
        "title": "",                   # the form: required
        "content": "x" * 100_001,      # the form: too long
        "duration_minutes": "-5"})     # the service: 0 to 10,000
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _errors(page) >= {"title", "content", "duration_minutes"}
    assert "Between 0 and 10,000 minutes" in page
    db.session.expire_all()
    assert len(db.session.get(Course, paid_course.id).lectures) == before


def test_lecture_edit_shows_every_mistake_too(staff_client, paid_course):
    lecture = paid_course.lectures[0]
    response = post_form(staff_client, f"/staff/courses/{paid_course.id}/lectures/{lecture.id}", {
        "title": "t" * 201,            # the service: at most 200 characters
        "duration_minutes": "ten"})    # the form: not a whole number
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _errors(page) == {"title", "duration_minutes"}
    assert "At most 200 characters" in page and "Not a valid integer value" in page


def test_bulk_codes_show_the_forms_and_the_services_mistakes_after_one_submit(staff_client):
    template = factories.coupon(code="TPL")
    response = post_form(staff_client, f"/staff/coupons/{template.id}/bulk", {
        "prefix": "bad prefix!",       # the service: letters, digits, _ and -
        "count": "lots",               # the form: not a whole number
        "max_uses": "0"})              # the service: at least 1
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _errors(page) >= {"prefix", "count", "max_uses"}
    assert "letters A–Z, digits, _ and -" in page and "Not a valid integer value" in page
    assert "Between 1 and 10,000,000" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Coupon)) == 1


def test_invitations_show_the_forms_and_the_services_mistakes_after_one_submit(staff_client):
    course = factories.course(slug="by-invitation", enrollment_type="INVITATION_ONLY", price=0)
    response = post_form(staff_client, f"/staff/enrollments/{course.id}/invitations", {
        "count": "600",                                # the service: 1 to 500
        "email": "a" * 250 + "@example.com",           # the service: at most 254 characters
        "expires_at": "next week"})                    # the form: not a date
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _errors(page) >= {"count", "email", "expires_at"}
    assert "between 1 and 500 invitations" in page and "at most 254 characters" in page
    assert "Not a valid datetime value" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


def test_grant_shows_the_forms_and_the_services_mistakes_after_one_submit(staff_client, paid_course):
    response = post_form(staff_client, f"/staff/enrollments/{paid_course.id}/grant", {
        "email": "nobody@example.com",   # the service: no account has it
        "source": "BOGUS"})              # the form: not one of the choices
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _errors(page) >= {"email", "source"}
    assert "No account has this email" in page and "Not a valid choice" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment)) == 0

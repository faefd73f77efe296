"""Refund, deactivate, revoke, delete and role changes ask first, saying what will happen: a
confirmation page without JavaScript, the same question as a fragment for the <dialog>
(X-Confirm-Preview); nothing happens until the answer comes back confirmed."""
import pytest

from extensions import db
from models import Coupon, Enrollment, EnrollmentStatus, Lecture, User, UserRole
from tests import factories
from tests.helpers import post_confirmed, post_form


def _fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def test_refund_asks_first_with_amounts_email_and_access(staff_client, learner, paid_course):
    payment = factories.payment_session(learner, paid_course, "COMPLETED", final_amount=12900, payment_intent_id="pi_confirm")
    response = post_form(staff_client, f"/staff/payments/{payment.id}/refund",
                         {"amount": "29.00", "reason": "requested_by_customer"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Please confirm" in page
    assert f"Refund $29.00 of $129.00 to {learner.email}; access is kept." in page
    # The answer repeats the fields, confirmed, to the same action.
    assert 'name="amount" value="29.00"' in page and 'name="confirmed" value="yes"' in page
    assert f'action="/staff/payments/{payment.id}/refund"' in page


def test_full_refund_says_access_is_removed(staff_client, learner, paid_course):
    payment = factories.payment_session(learner, paid_course, "COMPLETED", payment_intent_id="pi_confirm_full")
    page = post_form(staff_client, f"/staff/payments/{payment.id}/refund",
                     {"amount": "", "reason": "duplicate"}).get_data(as_text=True)
    assert f"Refund $99.00 of $99.00 to {learner.email}; access to the course is removed." in page


def test_refund_errors_come_before_the_question(staff_client, learner, paid_course):
    payment = factories.payment_session(learner, paid_course, "COMPLETED", payment_intent_id="pi_confirm_err")
    response = post_form(staff_client, f"/staff/payments/{payment.id}/refund",
                         {"amount": "500.00", "reason": "duplicate"}, headers={"X-Confirm-Preview": "1"})
    assert response.status_code == 400 and "X-Confirm" not in response.headers
    assert "larger than what is left" in response.get_data(as_text=True)


def test_the_dialog_gets_the_question_as_a_fragment(staff_client):
    coupon = factories.coupon(code="DIALOG10")
    response = post_form(staff_client, f"/staff/coupons/{coupon.id}/deactivate", headers={"X-Confirm-Preview": "1"})
    page = response.get_data(as_text=True)
    assert response.headers["X-Confirm"] == "ask" and "<html" not in page
    assert "Learners can no longer apply DIALOG10" in page and 'id="confirm-title"' in page
    assert _fresh(Coupon, coupon.id).is_active is True


@pytest.mark.parametrize("what", ["deactivate", "delete"])
def test_coupon_deactivate_and_delete_wait_for_the_answer(staff_client, what):
    coupon_id = factories.coupon(code="ASKME").id
    page = post_form(staff_client, f"/staff/coupons/{coupon_id}/{what}").get_data(as_text=True)
    assert "Please confirm" in page and "ASKME" in page
    assert _fresh(Coupon, coupon_id).is_active
    assert post_confirmed(staff_client, f"/staff/coupons/{coupon_id}/{what}").status_code == 302
    done = _fresh(Coupon, coupon_id)
    assert done is None if what == "delete" else done.is_active is False


def test_revoke_asks_first_and_says_no_money_is_refunded(staff_client, learner, paid_course):
    enrollment = factories.enrollment(learner, paid_course)
    url = f"/staff/enrollments/{paid_course.id}/{enrollment.id}/revoke"
    page = post_form(staff_client, url, {"reason": "chargeback"}).get_data(as_text=True)
    assert f"{learner.email} loses access to {paid_course.title}" in page and "No money is refunded" in page
    assert _fresh(Enrollment, enrollment.id).status == EnrollmentStatus.ACTIVE
    post_confirmed(staff_client, url, {"reason": "chargeback"})
    assert _fresh(Enrollment, enrollment.id).status == EnrollmentStatus.REVOKED


def test_lecture_delete_asks_first(staff_client, paid_course):
    lecture_id = paid_course.lectures[0].id
    url = f"/staff/courses/{paid_course.id}/lectures/{lecture_id}/delete"
    assert "cannot be undone" in post_form(staff_client, url).get_data(as_text=True)
    assert _fresh(Lecture, lecture_id) is not None
    post_confirmed(staff_client, url)
    assert _fresh(Lecture, lecture_id) is None


def test_role_change_asks_first_saying_what_the_role_gives(admin_client, learner):
    page = post_form(admin_client, f"/staff/users/{learner.id}/role", {"role": "STAFF"}).get_data(as_text=True)
    assert f"{learner.email} goes from learner to staff: the staff area" in page
    assert _fresh(User, learner.id).role == UserRole.LEARNER
    post_confirmed(admin_client, f"/staff/users/{learner.id}/role", {"role": "STAFF"})
    assert _fresh(User, learner.id).role == UserRole.STAFF


def test_ending_a_users_sessions_and_tokens_asks_first(app, admin_client, learner, sign_in):
    from services.people import api_tokens
    api_tokens.create(learner, "script")
    db.session.commit()
    browser = app.test_client()
    sign_in(browser, learner)
    url = f"/staff/users/{learner.id}/sessions/revoke"
    page = admin_client.get(f"/staff/users/{learner.id}").get_data(as_text=True)
    assert f'action="{url}" class="inline" data-confirm' in page
    page = post_form(admin_client, url).get_data(as_text=True)
    assert "Please confirm" in page
    assert f"{learner.email} is signed out on every device (1 signed-in session(s)) and their 1 API token(s)" in page
    assert browser.get("/account").status_code == 200  # nothing ended yet
    post_confirmed(admin_client, url)
    assert browser.get("/account").status_code == 302

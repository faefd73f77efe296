"""Staff operations: payments list and timeline, enrollments by hand, invitations, waitlist,
the webhook inbox, users & roles, and the audit page. Every action leaves an audit entry."""
from datetime import datetime, timezone

import pytest

from extensions import db
from models import (AuditEvent, Enrollment, EnrollmentSource, EnrollmentStatus, Invitation, StripeEvent, User,
                    UserRole, WaitlistEntry, WaitlistStatus, WebhookEventStatus)
from tests import factories
from tests.helpers import post_confirmed, post_form
from tests.staff import builders


def _audit(action):
    return db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action)).all()


# --- payments ---------------------------------------------------------------------------

def test_payments_filters_and_search(staff_client, learner, paid_course, free_course):
    other = factories.user(email="zoe@example.com")
    coupon = factories.coupon(code="TENOFF")
    paid = factories.payment_session(learner, paid_course, "COMPLETED", stripe_session_id="cs_test_abc",
                                     payment_intent_id="pi_test_abc")
    failed = factories.payment_session(other, paid_course, "FAILED", failure_code="card_declined", coupon=coupon,
                                       hold=False, created_at=datetime(2026, 1, 5, tzinfo=timezone.utc))
    flagged = factories.payment_session(other, paid_course, "COMPLETED", needs_review=True,
                                        review_reason="amount mismatch")

    def shown(query, path="/staff/payments"):
        page = staff_client.get(f"{path}?{query}").get_data(as_text=True)
        return {ps.id for ps in (paid, failed, flagged) if ps.id in page}

    assert shown("") == {paid.id, failed.id, flagged.id}
    assert shown("status=FAILED") == {failed.id}
    assert shown("coupon=tenoff") == {failed.id}
    assert shown("q=zoe@") == {failed.id, flagged.id}
    assert shown("q=cs_test_abc") == {paid.id} and shown("q=pi_test_abc") == {paid.id}
    assert shown("start=2026-01-01&end=2026-01-31") == {failed.id}
    assert shown(f"course_id={free_course.id}") == set()
    assert shown("", "/staff/payments/flagged") == {flagged.id}
    assert "amount mismatch" in staff_client.get(f"/staff/payments/{flagged.id}").get_data(as_text=True)
    assert staff_client.get("/staff/payments?status=WHATEVER&start=nope&course_id=x&page=0").status_code == 200
    assert staff_client.get("/staff/payments/ps_missing").status_code == 404


def test_payment_timeline_merges_audit_and_stripe_events(staff_client, learner, paid_course):
    from services import audit

    ps = factories.payment_session(learner, paid_course, "COMPLETED")
    audit.record("payment.completed", ps, message="paid")
    db.session.commit()
    builders.stripe_event("evt_tl_1", "checkout.session.completed", payment_session_id=ps.id)
    page = staff_client.get(f"/staff/payments/{ps.id}").get_data(as_text=True)
    assert "payment.completed" in page and "checkout.session.completed" in page


# --- enrollments ------------------------------------------------------------------------

def test_grant_by_hand_with_a_source_then_revoke(staff_client, staff, learner, paid_course):
    response = post_form(staff_client, f"/staff/enrollments/{paid_course.id}/grant",
                         {"email": "LEARNER@example.com", "source": "PROMOTION"})
    assert response.status_code == 302
    enrollment = db.session.scalar(db.select(Enrollment).where(Enrollment.user_id == learner.id))
    assert enrollment.source == EnrollmentSource.PROMOTION and enrollment.status == EnrollmentStatus.ACTIVE
    assert enrollment.amount_paid == 0
    assert _audit("enrollment.created")[0].actor_id == staff.id
    page = staff_client.get(f"/staff/enrollments/{paid_course.id}").get_data(as_text=True)
    assert "learner@example.com" in page and "promotion" in page
    post_confirmed(staff_client, f"/staff/enrollments/{paid_course.id}/{enrollment.id}/revoke", {"reason": "chargeback"})
    db.session.refresh(enrollment)
    assert enrollment.status == EnrollmentStatus.REVOKED
    assert _audit("enrollment.revoked")[0].actor_id == staff.id


@pytest.mark.parametrize("data,message", [
    ({"email": "ghost@example.com", "source": "DIRECT"}, "No account has this email"),
    ({"email": "learner@example.com", "source": "GIFT"}, "Not a valid choice"),
    ({"email": "", "source": "DIRECT"}, "required"),
])
def test_grant_errors_show_on_the_form(staff_client, learner, paid_course, data, message):
    response = post_form(staff_client, f"/staff/enrollments/{paid_course.id}/grant", data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_grant_into_a_full_course_is_refused(staff_client, learner):
    full = factories.course(slug="full", capacity=1)
    factories.enrollment(factories.user(email="first@example.com"), full)
    response = post_form(staff_client, f"/staff/enrollments/{full.id}/grant",
                         {"email": learner.email, "source": "DIRECT"})
    assert response.status_code == 422 and "full" in response.get_data(as_text=True)


def test_revoke_needs_a_reason_and_the_right_course(staff_client, learner, paid_course, free_course):
    enrollment = factories.enrollment(learner, paid_course)
    post_form(staff_client, f"/staff/enrollments/{paid_course.id}/{enrollment.id}/revoke", {"reason": ""})
    db.session.refresh(enrollment)
    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert post_confirmed(staff_client, f"/staff/enrollments/{free_course.id}/{enrollment.id}/revoke",
                     {"reason": "x"}).status_code == 404


def test_issue_invitation_codes(staff_client, staff):
    course = factories.course(slug="secret", enrollment_type="INVITATION_ONLY", price=0)
    response = post_form(staff_client, f"/staff/enrollments/{course.id}/invitations",
                         {"count": "3", "email": "", "expires_at": "2027-01-01T00:00"}, follow_redirects=True)
    invitations = db.session.scalars(db.select(Invitation).where(Invitation.course_id == course.id)).all()
    assert len(invitations) == 3
    assert all(i.expires_at == datetime(2027, 1, 1, tzinfo=timezone.utc) for i in invitations)
    page = response.get_data(as_text=True)
    assert all(i.code in page for i in invitations)
    assert _audit("invitation.issued")[0].actor_id == staff.id
    assert post_form(staff_client, f"/staff/enrollments/{course.id}/invitations", {"count": "0"}).status_code == 422


def test_admit_from_the_waitlist(staff_client, staff, learner):
    course = factories.course(slug="queue", enrollment_type="WAITLIST", capacity=2, price=0)
    entry = builders.waitlist_entry(learner, course)
    assert "learner@example.com" in staff_client.get(f"/staff/enrollments/{course.id}").get_data(as_text=True)
    post_form(staff_client, f"/staff/enrollments/{course.id}/waitlist/{entry.id}/admit")
    db.session.expire_all()
    assert db.session.get(WaitlistEntry, entry.id).status == WaitlistStatus.ADMITTED
    assert db.session.scalar(db.select(Enrollment).where(Enrollment.user_id == learner.id)).status == EnrollmentStatus.ACTIVE
    assert _audit("waitlist.admitted")[0].actor_id == staff.id


# --- webhook inbox ----------------------------------------------------------------------

def test_inbox_lists_and_filters_events(staff_client):
    builders.stripe_event("evt_ok", "checkout.session.completed")
    builders.stripe_event("evt_bad", "charge.refunded", status="FAILED", last_error="KeyError: charge")
    page = staff_client.get("/staff/webhooks").get_data(as_text=True)
    assert "evt_ok" in page and "evt_bad" in page and "KeyError: charge" in page
    failed = staff_client.get("/staff/webhooks?status=FAILED").get_data(as_text=True)
    assert "evt_bad" in failed and "evt_ok" not in failed
    assert "evt_ok" in staff_client.get("/staff/webhooks?type=checkout").get_data(as_text=True)


def test_reprocess_a_failed_event(staff_client, staff):
    event = builders.stripe_event("evt_retry", "customer.created", status="FAILED", last_error="boom",
                                  payload={"id": "evt_retry", "object": "event", "type": "customer.created",
                                           "created": 1700000000, "livemode": False, "api_version": "2026-10-28.endive",
                                           "data": {"object": {"id": "cus_1", "object": "customer"}}})
    response = post_form(staff_client, f"/staff/webhooks/{event.id}/reprocess", follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    event = db.session.get(StripeEvent, "evt_retry")
    assert event.status in (WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED) and event.attempts == 2
    [entry] = _audit("staff.webhook_reprocessed")
    assert entry.actor_id == staff.id and entry.before["status"] == "FAILED"
    again = post_form(staff_client, f"/staff/webhooks/{event.id}/reprocess", follow_redirects=True)
    assert "Nothing to do" in again.get_data(as_text=True)


# --- users & roles ----------------------------------------------------------------------

def test_admin_changes_a_role_and_it_is_audited(admin_client, admin, learner):
    assert post_confirmed(admin_client, f"/staff/users/{learner.id}/role", {"role": "STAFF"}).status_code == 302
    db.session.refresh(learner)
    assert learner.role == UserRole.STAFF
    [entry] = _audit("user.role_changed")
    assert (entry.actor_id, entry.before, entry.after) == (admin.id, {"role": "LEARNER"}, {"role": "STAFF"})
    page = admin_client.get("/staff/users?q=learner").get_data(as_text=True)
    assert "learner@example.com" in page and "admin@example.com" not in page


def test_admin_cannot_change_own_role_and_bad_roles_are_refused(admin_client, admin, learner):
    assert post_confirmed(admin_client, f"/staff/users/{admin.id}/role", {"role": "LEARNER"}).status_code == 409
    post_confirmed(admin_client, f"/staff/users/{learner.id}/role", {"role": "OWNER"})
    db.session.expire_all()
    assert db.session.get(User, admin.id).role == UserRole.ADMIN
    assert db.session.get(User, learner.id).role == UserRole.LEARNER
    assert admin_client.get("/staff/users/999/role").status_code == 405


def test_set_role_command_goes_through_the_service_and_is_audited(runner, learner):
    result = runner.invoke(args=["users", "set-role", "--email", " Learner@Example.com ", "--role", "staff"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(User, learner.id).role == UserRole.STAFF
    [entry] = _audit("user.role_changed")
    assert (entry.actor_id, entry.actor_label, entry.before, entry.after) == (
        None, "command line", {"role": "LEARNER"}, {"role": "STAFF"})
    missing = runner.invoke(args=["users", "set-role", "--email", "nobody@example.com", "--role", "admin"])
    assert missing.exit_code != 0 and "No account has this email" in missing.output


def test_service_refuses_role_changes_by_non_admins(app, staff, learner):
    from services.people import admin as user_admin
    from services.errors import Forbidden

    with pytest.raises(Forbidden):
        user_admin.change_role(learner, "ADMIN", actor=staff)
    with pytest.raises(Forbidden):  # no account and not the command line: nobody
        user_admin.change_role(learner, "ADMIN", actor=None)


# --- audit page -------------------------------------------------------------------------

def test_audit_page_lists_and_filters_staff_actions(staff_client):
    coupon = factories.coupon(code="AUDITME")
    post_confirmed(staff_client, f"/staff/coupons/{coupon.id}/deactivate")
    page = staff_client.get("/staff/audit?action=coupon.").get_data(as_text=True)
    assert "coupon.deactivated" in page and "staff@example.com" in page and "is_active" in page
    assert "coupon.deactivated" not in staff_client.get("/staff/audit?action=user.").get_data(as_text=True)
    assert "coupon.deactivated" in staff_client.get(f"/staff/audit?subject=Coupon:{coupon.id}").get_data(as_text=True)
    assert "coupon.deactivated" in staff_client.get("/staff/audit?actor=STAFF@").get_data(as_text=True)

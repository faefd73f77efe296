"""The refund policy (issue 19): defaults, staff edits (audited, bad input as field errors),
per-course overrides, and the words on the course page."""
import pytest

from extensions import db
from models import AuditEvent, CourseRefundOverride, RefundPolicy
from services.errors import FieldErrors
from services.payments import refund_policy
from tests import factories
from tests.helpers import post_form


def _audit(action):
    return db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action)).all()


def _course_page(client, course) -> str:
    return client.get(f"/courses/{course.slug}").get_data(as_text=True)


def test_defaults_are_in_words_on_the_course_page(client, paid_course, free_course):
    page = _course_page(client, paid_course)
    assert "within 14 days of buying. Up to 30% of the course completed, you get it without questions" in page
    assert "A refunded course is no longer available to you; after a partial refund you keep access" in page
    assert refund_policy.COUPON_NOTE in page
    assert "Refunds</h2>" not in _course_page(client, free_course)  # nothing to refund


def test_staff_change_the_policy_and_it_is_audited(staff_client, staff, client, paid_course):
    response = post_form(staff_client, "/staff/refund-policy",
                         {"window_days": "30", "max_progress_percent": "50"})  # box unticked: keep access
    assert response.status_code == 302
    row = db.session.get(RefundPolicy, 1)
    assert (row.window_days, row.max_progress_percent, row.revokes_access) == (30, 50, False)
    [entry] = _audit("refund_policy.updated")
    assert entry.actor_id == staff.id
    assert entry.before == {"window_days": 14, "max_progress_percent": 30, "revokes_access": True}
    assert entry.after == {"window_days": 30, "max_progress_percent": 50, "revokes_access": False}
    page = _course_page(client, paid_course)
    assert "within 30 days" in page and "Up to 50%" in page and "You keep access to a refunded course." in page


@pytest.mark.parametrize("form, field_message", [
    ({"window_days": "-1", "max_progress_percent": "30"}, "whole number of days from 0 to 365"),
    ({"window_days": "14", "max_progress_percent": "101"}, "whole percentage from 0 to 100"),
    ({"window_days": "two weeks", "max_progress_percent": "30"}, "Not a valid integer value"),
])
def test_bad_policy_values_are_field_errors_and_nothing_changes(staff_client, form, field_message):
    response = post_form(staff_client, "/staff/refund-policy", {**form, "revokes_access": "y"})
    assert response.status_code == 422 and field_message in response.get_data(as_text=True)
    assert db.session.get(RefundPolicy, 1) is None and _audit("refund_policy.updated") == []


def test_window_zero_means_no_self_service(staff_client, client, paid_course):
    post_form(staff_client, "/staff/refund-policy", {"window_days": "0", "max_progress_percent": "30",
                                                     "revokes_access": "y"})
    terms = refund_policy.terms_for(paid_course)
    assert not terms.self_service
    assert "Refunds are not self-service" in _course_page(client, paid_course)


def test_a_course_override_applies_to_that_course_only_and_is_audited(staff_client, staff, client, paid_course):
    cohort = factories.course(title="Live cohort", price=50000)
    response = post_form(staff_client, "/staff/refund-policy/courses", {"course_id": cohort.id, "mode": "no_refunds"})
    assert response.status_code == 302
    assert "This course cannot be refunded." in _course_page(client, cohort)
    assert "within 14 days" in _course_page(client, paid_course)
    [entry] = _audit("refund_policy.course_override_set")
    assert entry.subject_id == str(cohort.id) and entry.before is None and entry.after["no_refunds"] is True

    post_form(staff_client, "/staff/refund-policy/courses", {"course_id": cohort.id, "mode": "custom",
                                                             "window_days": "7"})
    terms = refund_policy.terms_for(cohort)
    assert (terms.no_refunds, terms.window_days, terms.max_progress_percent, terms.overridden) == (False, 7, 30, True)
    assert "Live cohort" in staff_client.get("/staff/refund-policy").get_data(as_text=True)

    post_form(staff_client, "/staff/refund-policy/courses", {"course_id": cohort.id, "mode": "policy"})
    assert db.session.get(CourseRefundOverride, cohort.id) is None
    assert len(_audit("refund_policy.course_override_removed")) == 1
    assert refund_policy.terms_for(cohort) == refund_policy.terms_for_policy()


def test_own_terms_need_a_value_and_unknown_courses_are_a_form_error(staff_client, paid_course):
    empty = post_form(staff_client, "/staff/refund-policy/courses", {"course_id": paid_course.id, "mode": "custom"})
    assert empty.status_code == 422 and "Give the course" in empty.get_data(as_text=True)
    missing = post_form(staff_client, "/staff/refund-policy/courses", {"course_id": "999999", "mode": "no_refunds"})
    assert missing.status_code == 422 and "We could not find that course." in missing.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(CourseRefundOverride)) == 0


def test_the_service_refuses_what_the_form_cannot_send(staff, paid_course):
    with pytest.raises(FieldErrors) as refused:
        refund_policy.update(window_days=True, max_progress_percent=30, revokes_access=True, actor=staff)
    assert "window_days" in refused.value.errors
    with pytest.raises(FieldErrors):
        refund_policy.set_course_override(paid_course, mode="sometimes", actor=staff)


def test_learners_cannot_change_it(client, sign_in, learner):
    sign_in(client, learner)
    assert post_form(client, "/staff/refund-policy", {"window_days": "365", "max_progress_percent": "100"}).status_code == 403


@pytest.mark.parametrize("revokes, partial_keeps, full, partial", [
    (True, True, True, False), (True, False, True, True), (False, True, False, False), (False, False, False, False)])
def test_access_after_a_refund_is_one_rule_and_its_words(app, revokes, partial_keeps, full, partial):
    """Issue 19: full → revokes iff the policy says so; partial → only if the policy revokes and
    PARTIAL_REFUND_KEEPS_ACCESS is off. The text learners read says the same."""
    app.config["PARTIAL_REFUND_KEEPS_ACCESS"] = partial_keeps
    terms = refund_policy.Terms(14, 30, revokes)
    assert refund_policy.revokes_access(terms, full=True) is full
    assert refund_policy.revokes_access(terms, full=False) is partial
    text = refund_policy.describe(terms)
    assert refund_policy.COUPON_NOTE in text
    if not revokes:
        assert "You keep access to a refunded course." in text
    elif partial_keeps:
        assert "after a partial refund you keep access" in text
    else:
        assert "in full or in part, is no longer available to you" in text

"""A bundle's refund terms (issue 20): the strictest terms among its courses apply to the whole
(a "no refunds" course makes the bundle non-refundable through self-service; the smallest window
and progress limit; a course with its own terms sends every request to staff), and the progress
that counts is the average over the bundle's enrollments. One function
(refund_policy.terms_for_payment) answers for the learner's self-service, the dashboard, staff's
queue, the receipt and its mail; the bundle page states the same terms."""
from datetime import timedelta

import pytest

from extensions import db
from models import Enrollment, OutboxMail, PaymentSession, RefundRequest
from services import notifications
from services.payments import refund_policy, refund_requests
from tests.bundles.conftest import paid_by, prepare
from tests.helpers import post_form
from tests.webhooks import builders as b


def _paid(bundle, learner, deliver, progress=(0, 0, 0)) -> PaymentSession:
    ps = prepare(bundle, learner).payment_session
    ps.stripe_session_id = f"cs_test_{ps.id}"
    db.session.commit()
    deliver("checkout.session.completed", b.checkout_session(ps))
    enrollments = paid_by(ps)
    for enrollment, percent in zip(enrollments, progress):
        enrollment.progress = percent
    db.session.commit()
    return deliver.reload(ps)


def _assessment(learner, ps):
    db.session.expire_all()
    ps = db.session.get(PaymentSession, ps.id)
    now = (ps.completed_at or ps.created_at) + timedelta(days=1)
    _, asked = refund_requests.offer(learner, ps.id, now)
    progress = {e.course_id: e.progress for e in db.session.scalars(
        db.select(Enrollment).where(Enrollment.payment_id == ps.id))}
    dashboard = refund_requests.offers([ps], progress, now)[ps.id].assessment
    assert dashboard == asked  # the dashboard and the request page say the same
    return asked


# --- the rule, without a request -------------------------------------------------------------

def test_the_strictest_terms_among_the_courses_apply(app, bundle, courses, staff):
    assert refund_policy.terms_for_courses(courses) == refund_policy.Terms(14, 30, True, noun="bundle")
    refund_policy.set_course_override(courses[0], mode="custom", window_days=30, max_progress_percent=10, actor=staff)
    refund_policy.set_course_override(courses[2], mode="custom", window_days=7, actor=staff)
    terms = refund_policy.terms_for_courses(courses)
    assert (terms.window_days, terms.max_progress_percent, terms.no_refunds, terms.overridden) == (7, 10, False, True)
    assert terms.strict_course == courses[0].title and terms.revokes_access
    refund_policy.set_course_override(courses[1], mode="no_refunds", actor=staff)
    terms = refund_policy.terms_for_courses(courses)
    assert terms.no_refunds and not terms.self_service and terms.strict_course == courses[1].title
    assert refund_policy.describe(terms).startswith(
        f"This bundle cannot be refunded: the course “{courses[1].title}” in it cannot be refunded")


def test_progress_is_the_average_over_the_bundles_enrollments():
    assert refund_policy.progress_of([60.0, 0.0, 0.0]) == 20.0
    assert refund_policy.progress_of([100.0, 100.0, 0.0]) == pytest.approx(66.67, abs=0.01)
    assert refund_policy.progress_of([42.0]) == 42.0 and refund_policy.progress_of([]) == 0.0


# --- the learner's self-service, the dashboard and staff -------------------------------------

def test_a_no_refunds_course_makes_the_bundle_non_refundable_through_self_service(
        client, sign_in, bundle, courses, learner, staff, deliver):
    refund_policy.set_course_override(courses[1], mode="no_refunds", actor=staff)
    db.session.commit()
    ps = _paid(bundle, learner, deliver)
    asked = _assessment(learner, ps)
    assert not asked.allowed and asked.why == "This bundle cannot be refunded."
    sign_in(client, learner)
    page = client.get(f"/account/purchases/{ps.id}/refund").get_data(as_text=True)
    assert "This bundle cannot be refunded" in page and courses[1].title in page
    assert "Request a refund" not in client.get("/dashboard").get_data(as_text=True)
    assert post_form(client, f"/account/purchases/{ps.id}/refund", {"reason": "please"}).status_code == 409
    assert db.session.scalar(db.select(db.func.count()).select_from(RefundRequest)) == 0
    receipt = client.get(f"/account/purchases/{ps.id}/receipt").get_data(as_text=True)
    assert 'data-testid="receipt-refund-terms"' in receipt and "This bundle cannot be refunded" in receipt
    [mail] = db.session.scalars(db.select(OutboxMail).where(OutboxMail.template == "receipt")).all()
    assert "This bundle cannot be refunded" in notifications.message_for(mail).get_content()


def test_progress_over_the_bundle_decides_automatic_or_staff(bundle, learner, deliver):
    # 60% of one course out of three is 20% of the bundle: inside the policy's 30%.
    ps = _paid(bundle, learner, deliver, progress=(60, 0, 0))
    asked = _assessment(learner, ps)
    assert asked.allowed and asked.automatic and asked.amount == ps.final_amount


def test_two_courses_finished_is_more_than_the_limit_of_the_bundle(bundle, learner, deliver):
    ps = _paid(bundle, learner, deliver, progress=(100, 100, 0))
    asked = _assessment(learner, ps)
    assert asked.allowed and not asked.automatic and asked.why == "More than 30% of the bundle is completed."


def test_a_course_with_its_own_terms_sends_the_bundles_requests_to_staff(
        client, sign_in, bundle, courses, learner, staff, deliver):
    refund_policy.set_course_override(courses[2], mode="custom", window_days=30, actor=staff)
    db.session.commit()
    ps = _paid(bundle, learner, deliver)
    asked = _assessment(learner, ps)
    assert asked.allowed and not asked.automatic
    assert asked.why == "A course in this bundle has its own refund terms, so our staff look at each request."
    sign_in(client, learner)
    assert post_form(client, f"/account/purchases/{ps.id}/refund", {"reason": "not for me"}).status_code == 302
    row = db.session.scalar(db.select(RefundRequest))
    assert row.queue_reason.startswith("A course in this bundle has its own refund terms")
    sign_in(client, staff)
    detail = client.get(f"/staff/refund-requests/{row.id}").get_data(as_text=True)
    assert f"The course “{courses[2].title}” in it has its own refund terms" in detail


def test_the_bundle_page_states_its_terms(client, bundle, courses, staff):
    page = client.get("/bundles/starter").get_data(as_text=True)
    assert 'data-testid="refund-policy"' in page
    assert "You can ask for a refund within 14 days of buying. Up to 30% of the bundle completed" in page
    refund_policy.set_course_override(courses[0], mode="custom", window_days=5, actor=staff)
    db.session.commit()
    page = client.get("/bundles/starter").get_data(as_text=True)
    assert "within 5 days of buying" in page and f"The course “{courses[0].title}” in it has its own refund terms" in page

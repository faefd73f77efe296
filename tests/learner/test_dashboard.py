"""/dashboard: cards, pending payments, payment history, empty state, and a constant statement count."""
from datetime import timedelta

import pytest

from extensions import db
from models import utcnow
from services.learning import progress
from tests import factories
from tests.helpers import StatementCounter, login
from tests.learner.builders import T0


def test_dashboard_requires_sign_in(client, learner):
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, learner.email)  # through the real sign-in form once
    assert client.get("/dashboard").status_code == 200


def test_empty_dashboard_points_to_the_catalog(client, learner, sign_in):
    sign_in(client, learner)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "You have no courses yet" in page and 'href="/courses"' in page


def test_card_shows_status_progress_last_access_and_continue(client, learner, paid_course, sign_in):
    enrollment = factories.enrollment(learner, paid_course, paid=True)
    second = paid_course.lectures[1]
    progress.mark_complete(enrollment, paid_course.lectures[0], T0)
    progress.record_view(enrollment, second, T0 + timedelta(minutes=3))
    db.session.commit()
    sign_in(client, learner)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Python 101" in page and "Active" in page
    assert "33% · 1 of 3 lectures completed" in page and 'aria-valuenow="33"' in page
    assert "Last accessed 20 Nov 2026, 09:03 UTC" in page and "3 min spent" in page
    assert f'href="/courses/python-101/lectures/{second.id}"' in page and "Continue" in page


def test_a_fresh_enrollment_starts_at_the_first_lecture(client, learner, paid_course, sign_in):
    factories.enrollment(learner, paid_course, paid=True)
    sign_in(client, learner)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Not started yet" in page and f"/lectures/{paid_course.lectures[0].id}" in page and "Start" in page


def test_completed_course_is_listed_with_its_certificate(client, learner, paid_course, sign_in):
    enrollment = factories.enrollment(learner, paid_course, paid=True)
    for lecture in paid_course.lectures:
        progress.mark_complete(enrollment, lecture, T0)
    db.session.commit()
    sign_in(client, learner)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Completed" in page and "100% · 3 of 3" in page
    assert f'href="/certificates/{enrollment.certificate_id}"' in page


@pytest.mark.parametrize("status,fields,words", [
    ("REVOKED", {"status_reason": "Refunded"}, "was revoked (Refunded)"),
    ("SUSPENDED", {}, "dispute for this course is open"),
    ("ACTIVE", {"expires_at": T0}, "expired on 20 November 2026"),
])
def test_inaccessible_enrollments_say_why_on_the_dashboard(client, learner, paid_course, status, fields, words, sign_in):
    factories.enrollment(learner, paid_course, status=status, paid=True, **fields)
    sign_in(client, learner)
    page = client.get("/dashboard").get_data(as_text=True)
    assert words in page and "Continue" not in page and "Start" not in page


def test_pending_payments_offer_resume_only_while_open_and_always_cancel(client, learner, paid_course, sign_in):
    now = utcnow()
    open_one = factories.payment_session(learner, paid_course, "PENDING", checkout_url="https://checkout.example/c/open",
                                         expires_at=now + timedelta(minutes=20), created_at=now)
    stale = factories.payment_session(learner, factories.course(title="Stale course"), "PENDING",
                                      checkout_url="https://checkout.example/c/stale", expires_at=now - timedelta(minutes=1))
    factories.payment_session(learner, factories.course(title="Bank transfer course"), "PROCESSING",
                              checkout_url="https://checkout.example/c/processing")
    sign_in(client, learner)
    page = client.get("/dashboard").get_data(as_text=True)
    assert page.count('data-testid="pending-payment"') == 3
    assert 'href="https://checkout.example/c/open"' in page and "Resume checkout" in page
    assert "checkout.example/c/stale" not in page and "This checkout has expired" in page
    assert "checkout.example/c/processing" not in page and "Waiting for your bank" in page
    for session in (open_one, stale):
        assert f"/checkout/cancel?payment_session={session.id}" in page
    assert page.count(">Cancel</a>") == 2


def test_a_non_web_checkout_url_is_never_linked(client, learner, paid_course, sign_in):
    factories.payment_session(learner, paid_course, "PENDING", checkout_url="javascript:alert(1)",
                              expires_at=utcnow() + timedelta(minutes=20))
    sign_in(client, learner)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "javascript:alert" not in page and "Resume checkout" not in page


def test_payment_history_shows_prices_coupons_refunds_and_failures(client, learner, paid_course, sign_in):
    factories.payment_session(learner, paid_course, "COMPLETED", coupon_code="SAVE20", discount_amount=1980,
                              final_amount=7920, completed_at=T0)
    factories.payment_session(learner, factories.course(title="Refunded course", price=5000), "REFUNDED",
                              amount=5000, final_amount=5000, amount_refunded=5000, completed_at=T0)
    factories.payment_session(learner, factories.course(title="Half back", price=4000), "COMPLETED",
                              amount=4000, final_amount=4000, amount_refunded=1500, completed_at=T0)
    factories.payment_session(learner, factories.course(title="Declined course"), "FAILED",
                              failure_message="Your card was declined.")
    factories.payment_session(learner, factories.course(title="Abandoned course"), "EXPIRED")
    sign_in(client, learner)
    page = client.get("/dashboard").get_data(as_text=True)
    assert page.count('data-testid="payment-row"') == 5
    assert "$99.00" in page and "SAVE20 (−$19.80)" in page and "$79.20" in page and ">Paid<" in page
    assert ">Refunded<" in page and "$50.00 refunded" in page
    assert ">Partially refunded<" in page and "$15.00 refunded" in page
    assert ">Failed<" in page and "Your card was declined." in page
    assert ">Expired<" in page


def _fill(user, n: int) -> None:
    for i in range(n):
        course = factories.course(lectures=3)
        enrollment = factories.enrollment(user, course, paid=True, status="COMPLETED" if i % 5 == 0 else "ACTIVE")
        progress.record_view(enrollment, course.lectures[i % 3], T0)
        progress.mark_complete(enrollment, course.lectures[0], T0)
        factories.payment_session(user, course, "COMPLETED" if i % 2 else "PENDING", coupon_code="TEN" if i % 3 else None,
                                  checkout_url="https://checkout.example/c", expires_at=utcnow() + timedelta(minutes=5))
    db.session.commit()


def _dashboard_statements(client) -> tuple[int, str]:
    with StatementCounter(db.engine) as counter:
        page = client.get("/dashboard").get_data(as_text=True)
    return counter.count, page


def test_dashboard_statement_count_does_not_grow_with_enrollments(client, sign_in):
    one, fifty = factories.user(email="one@example.com"), factories.user(email="fifty@example.com")
    _fill(one, 1)
    _fill(fifty, 50)
    fifty_id = fifty.id
    sign_in(client, one)
    count_one, page_one = _dashboard_statements(client)
    sign_in(client, fifty_id)
    count_fifty, page_fifty = _dashboard_statements(client)
    assert page_one.count('data-testid="enrollment-card"') == 1
    assert page_fifty.count('data-testid="enrollment-card"') == 50
    assert count_one == count_fifty
    assert count_fifty <= 8  # user load + four dashboard reads, with room for the session machinery

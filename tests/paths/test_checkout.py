"""A path's paid courses through the path's own checkout, against the sandbox (issue 20): one
Stripe Checkout Session through the purchase engine, enrollments with source LEARNING_PATH whose
amounts sum to the charge, a reduced price for paid courses already owned, the unlock order on
what the path sold; the API's `{learningPathId}`; a path without a price sells nothing."""
import pytest

from extensions import db
from models import (Enrollment, EnrollmentSource, EnrollmentStatus, LearningPathEnrollment, PaymentSession,
                    PaymentSessionStatus as S)
from services import products
from tests import factories
from tests.api.builders import bearer
from tests.api.test_openapi import conforms
from tests.helpers import post_form
from tests.paths.builders import complete_course


@pytest.fixture
def app_overrides(sandbox_config):
    return sandbox_config


@pytest.fixture
def priced(courses):
    return factories.learning_path(courses, slug="web-developer", name="Web Developer", sequential=True,
                                   price=9900, currency="USD")


def _sessions() -> list[PaymentSession]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(PaymentSession).order_by(PaymentSession.created_at)))


def _enrollments() -> dict[str, Enrollment]:
    db.session.expire_all()
    return {e.course.slug: e for e in db.session.scalars(db.select(Enrollment))}


def _pay(sandbox, location: str) -> str:
    cs_id = location.rsplit("/", 1)[-1]
    sandbox.sandbox.engine.pay_card(cs_id, "4242424242424242", "learner@example.com")
    return cs_id


def test_enroll_in_a_priced_path_pays_its_paid_courses_in_one_checkout(client, learner, sign_in, priced, courses,
                                                                       sandbox):
    sign_in(client, learner)
    page = client.get("/paths/web-developer").get_data(as_text=True)
    assert 'data-testid="path-price">$99.00<' in page and "bought one by one: $120.00" in page
    response = post_form(client, "/paths/web-developer/enroll")
    assert response.status_code == 303 and response.headers["Location"].startswith(sandbox.base_url)
    assert _enrollments()["git-first"].source == EnrollmentSource.LEARNING_PATH  # the free one at once
    [ps] = _sessions()
    assert (ps.course_id, ps.learning_path_id, ps.final_amount, ps.status) == (None, priced.id, 9900, S.PENDING)
    assert [item.course.slug for item in ps.items] == ["python-next", "flask-last"]
    assert products.sold(ps).kind == "LEARNING_PATH" and products.sold(ps).title == "Web Developer"
    stripe_session = sandbox.state.sessions[ps.stripe_session_id]
    assert stripe_session["amount_total"] == 9900 and stripe_session["metadata"]["product_kind"] == "LEARNING_PATH"

    cs_id = _pay(sandbox, response.headers["Location"])
    success = client.get(f"/checkout/success?session_id={cs_id}")
    assert success.status_code == 200 and "Web Developer" in success.get_data(as_text=True)
    enrolled = _enrollments()
    paid = [enrolled["python-next"], enrolled["flask-last"]]
    assert {e.source for e in paid} == {EnrollmentSource.LEARNING_PATH}
    assert [e.amount_paid for e in paid] == [4125, 5775] and sum(e.amount_paid for e in paid) == 9900
    assert _sessions()[0].status == S.COMPLETED

    # What the path sold follows its order: Python Next waits for Git First.
    lecture = priced.courses[1].lectures[1]
    assert client.get(f"/courses/python-next/lectures/{lecture.id}").status_code == 403
    complete_course(learner, courses[0])
    assert client.get(f"/courses/python-next/lectures/{lecture.id}").status_code == 200
    page = client.get("/paths/web-developer").get_data(as_text=True)
    assert "You have every paid course of this path." in page and "Buy the paid courses" not in page
    assert post_form(client, "/paths/web-developer/enroll").status_code == 302  # nothing more to buy
    assert len(_sessions()) == 1


def test_paid_courses_already_owned_lower_the_price(client, learner, sign_in, priced, courses, sandbox):
    factories.enrollment(learner, courses[1], paid=True)  # Python Next bought on its own
    sign_in(client, learner)
    page = client.get("/paths/web-developer").get_data(as_text=True)
    # 9900 × 7000 / 12000 = 5775 for Flask Last alone; 4125 off for Python Next.
    assert 'data-testid="path-price">$57.75<' in page and "$41.25 off for Python Next" in page
    response = post_form(client, "/paths/web-developer/enroll")
    [ps] = _sessions()
    assert ps.final_amount == 5775 and [item.course.slug for item in ps.items] == ["flask-last"]
    _pay(sandbox, response.headers["Location"])
    client.get(f"/checkout/success?session_id={ps.stripe_session_id}")
    enrolled = _enrollments()
    assert enrolled["flask-last"].amount_paid == 5775 and enrolled["python-next"].source == EnrollmentSource.DIRECT


def test_a_path_without_a_price_opens_no_checkout(client, learner, sign_in, path, sandbox):
    sign_in(client, learner)
    response = post_form(client, f"/paths/{path.slug}/enroll", follow_redirects=True)
    assert "Buy the paid courses on their pages" in response.get_data(as_text=True)
    assert _sessions() == [] and not sandbox.state.sessions


def test_a_full_paid_course_blocks_the_path_checkout_but_not_the_free_courses(client, learner, sign_in, courses,
                                                                              sandbox):
    crowded = factories.course(slug="crowded", title="Crowded", price=3000, capacity=1)
    factories.enrollment(factories.user(), crowded, paid=True)
    path = factories.learning_path([courses[0], crowded], price=2500, currency="USD")
    sign_in(client, learner)
    response = post_form(client, f"/paths/{path.slug}/enroll", follow_redirects=True)
    assert "“Crowded” is full" in response.get_data(as_text=True)
    mine = db.session.scalars(db.select(Enrollment).where(Enrollment.user_id == learner.id)).all()
    assert [e.course.slug for e in mine] == ["git-first"] and _sessions() == []
    assert db.session.scalar(db.select(db.func.count()).select_from(LearningPathEnrollment)) == 1


def test_the_api_buys_a_path_with_learning_path_id(client, learner, priced, sandbox):
    spec = client.get("/api/openapi.json").get_json()
    headers = bearer(learner)
    response = client.post("/api/payments/sessions", json={"learningPathId": "web-developer"}, headers=headers)
    conforms(spec, "POST", "/api/payments/sessions", response)
    body = response.get_json()
    assert response.status_code == 201 and body["status"] == "REDIRECT"
    assert body["session"]["learningPathId"] == priced.id and body["session"]["product"]["kind"] == "LEARNING_PATH"
    assert body["session"]["finalAmount"] == 9900 and body["redirectUrl"].startswith(sandbox.base_url)
    assert _enrollments()["git-first"].status == EnrollmentStatus.ACTIVE
    again = client.post("/api/payments/sessions", json={"learningPathId": priced.id}, headers=headers)
    assert again.get_json()["session"]["id"] == body["session"]["id"]  # the open session is reused


@pytest.mark.parametrize("payload, status, code", [
    ({"learningPathId": "plain"}, 409, "PATH_NOT_FOR_SALE"),
    ({"learningPathId": "nope"}, 404, "PATH_NOT_FOUND"),
    ({"learningPathId": "web-developer", "couponCode": "SAVE10"}, 400, "VALIDATION_ERROR"),
    ({"learningPathId": True}, 400, "VALIDATION_ERROR"),
])
def test_the_api_refuses_what_cannot_be_bought(client, learner, priced, courses, payload, status, code):
    factories.learning_path(courses, slug="plain")
    spec = client.get("/api/openapi.json").get_json()
    response = client.post("/api/payments/sessions", json=payload, headers=bearer(learner))
    conforms(spec, "POST", "/api/payments/sessions", response)
    assert (response.status_code, response.get_json()["error"]["code"]) == (status, code)


def test_the_api_says_already_owned_when_nothing_is_left_to_buy(client, learner, priced, courses):
    for course in courses[1:]:
        factories.enrollment(learner, course, paid=True)
    response = client.post("/api/payments/sessions", json={"learningPathId": priced.id}, headers=bearer(learner))
    assert (response.status_code, response.get_json()["error"]["code"]) == (409, "ALREADY_OWNED")

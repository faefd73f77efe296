"""The course page, checkout, success and cancel through the test client, against the sandbox."""
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from extensions import db
from models import (CouponRedemption, Enrollment, PaymentSession, PaymentSessionStatus as S, RedemptionStatus,
                    WaitlistEntry)
from services.learning import invitations
from tests import factories
from tests.helpers import csrf_token, login, post_form

HTMX = {"HX-Request": "true"}


@pytest.fixture
def app_overrides(sandbox_config):
    return sandbox_config


def _sessions() -> list[PaymentSession]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(PaymentSession).order_by(PaymentSession.created_at)))


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def _stripe_id(location: str) -> str:
    return location.rsplit("/", 1)[-1]


def _pay(sandbox, cs_id: str, method: str = "card"):
    engine = sandbox.sandbox.engine
    if method == "delayed":
        return engine.pay_delayed(cs_id, "succeeded", "learner@example.com")
    return engine.pay_card(cs_id, "4242424242424242", "learner@example.com")


# --- course page and live coupon quotes ---------------------------------------------------

def test_course_page_has_the_live_coupon_form(client, paid_course):
    response = client.get("/courses/python-101")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert 'hx-post="/courses/python-101"' in page and 'hx-trigger="input changed delay:400ms"' in page
    assert 'action="/courses/python-101/checkout"' in page and "$99.00" in page


def test_htmx_coupon_check_returns_only_the_fragment(client, paid_course):
    factories.coupon(code="SAVE10", percent=10)
    response = post_form(client, "/courses/python-101", {"coupon_code": " save10 "}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert body.lstrip().startswith("<div id=\"price-summary\"") and "<html" not in body
    assert "$89.10" in body and "−$9.90" in body


def test_refused_code_is_a_200_fragment_with_the_reason(client, paid_course):
    response = post_form(client, "/courses/python-101", {"coupon_code": "NOPE"}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-code="COUPON_NOT_FOUND"' in body and "$99.00" in body


def test_without_javascript_the_same_post_renders_the_full_page(client, paid_course):
    factories.coupon(code="SAVE10", percent=10)
    response = post_form(client, "/courses/python-101", {"coupon_code": "SAVE10"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in page and "$89.10" in page and 'value="SAVE10"' in page


def test_boosted_requests_get_the_full_page(client, paid_course):
    response = client.get("/courses/python-101", headers={**HTMX, "HX-Boosted": "true"})
    assert "<html" in response.get_data(as_text=True)


def test_code_in_the_address_is_applied(client, paid_course):
    factories.coupon(code="SAVE10", percent=10)
    page = client.get("/courses/python-101?coupon=save10").get_data(as_text=True)
    assert "$89.10" in page


def test_absurd_code_is_not_found_not_an_error(client, paid_course):
    response = post_form(client, "/courses/python-101", {"coupon_code": "X" * 5000}, headers=HTMX)
    assert response.status_code == 200 and "COUPON_NOT_FOUND" in response.get_data(as_text=True)


def test_csrf_is_enforced_for_htmx_and_checkout(client, paid_course, learner):
    assert client.post("/courses/python-101", data={"coupon_code": "X"}, headers=HTMX).status_code == 400
    login(client, learner.email)
    assert client.post("/courses/python-101/checkout", data={}).status_code == 400
    assert client.post("/courses/python-101", data={"coupon_code": "X"},
                       headers={**HTMX, "X-CSRFToken": csrf_token(client)}).status_code == 200
    assert _count(PaymentSession) == 0


# --- checkout --------------------------------------------------------------------------

def test_anonymous_checkout_signs_in_first_and_comes_back(client, paid_course):
    response = post_form(client, "/courses/python-101/checkout", {"coupon_code": "SAVE10"})
    assert response.status_code == 302
    target = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
    assert target == "/courses/python-101?coupon=SAVE10"


def test_checkout_redirects_to_stripe_with_our_price(signed_in, paid_course, learner, sandbox):
    factories.coupon(code="SAVE10", percent=10)
    response = post_form(signed_in, "/courses/python-101/checkout", {"coupon_code": "save10"})
    assert response.status_code == 303 and response.headers["Location"].startswith(sandbox.base_url)
    [ps] = _sessions()
    assert (ps.status, ps.amount, ps.discount_amount, ps.final_amount) == (S.PENDING, 9900, 990, 8910)
    stripe_session = sandbox.state.sessions[ps.stripe_session_id]
    assert stripe_session["client_reference_id"] == ps.id and stripe_session["amount_total"] == 8910
    assert stripe_session["metadata"]["user_id"] == str(learner.id)
    assert stripe_session["metadata"]["coupon_code"] == "SAVE10"
    assert stripe_session["success_url"].endswith("/checkout/success?session_id={CHECKOUT_SESSION_ID}")
    assert stripe_session["cancel_url"].endswith(f"/checkout/cancel?payment_session={ps.id}")
    assert 30 * 60 < stripe_session["expires_at"] - stripe_session["created"] <= 24 * 3600
    assert db.session.scalar(db.select(CouponRedemption)).status == RedemptionStatus.RESERVED


def test_an_open_session_with_the_same_price_is_reused(signed_in, paid_course, sandbox):
    first = post_form(signed_in, "/courses/python-101/checkout", {})
    second = post_form(signed_in, "/courses/python-101/checkout", {})
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_sessions()) == 1 and len(sandbox.state.sessions) == 1


def test_another_price_expires_the_earlier_session_first(signed_in, paid_course, sandbox):
    factories.coupon(code="SAVE10", percent=10)
    first = post_form(signed_in, "/courses/python-101/checkout", {"coupon_code": "SAVE10"})
    second = post_form(signed_in, "/courses/python-101/checkout", {})
    assert first.headers["Location"] != second.headers["Location"]
    old, new = _sessions()
    assert old.status == S.CANCELLED and new.status == S.PENDING
    assert sandbox.state.sessions[old.stripe_session_id]["status"] == "expired"
    assert db.session.scalar(db.select(CouponRedemption)).status == RedemptionStatus.RELEASED


def test_refused_code_at_checkout_goes_back_to_the_course_page_saying_why_once(signed_in, paid_course):
    response = post_form(signed_in, "/courses/python-101/checkout", {"coupon_code": "NOPE"})
    # The address stays the course page's (and a reload does not post again).
    assert response.status_code == 303 and response.headers["Location"] == "/courses/python-101?coupon=NOPE"
    assert _count(PaymentSession) == 0
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert page.count("We don&#39;t know that code") == 1 and page.count('role="alert"') == 1
    assert 'value="NOPE"' in page


def test_stripe_down_fails_the_session_and_releases_the_code(signed_in, paid_course, app):
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # nothing listens here
    app.extensions.pop("stripe_client", None)
    factories.coupon(code="SAVE10", percent=10, max_uses=1)
    response = post_form(signed_in, "/courses/python-101/checkout", {"coupon_code": "SAVE10"})
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and "temporarily unavailable" in page and "Try again" in page
    [ps] = _sessions()
    assert ps.status == S.FAILED and ps.failure_code == "stripe_unavailable"
    assert db.session.scalar(db.select(CouponRedemption)).status == RedemptionStatus.RELEASED


def test_already_enrolled_goes_to_the_course(signed_in, paid_course, learner):
    factories.enrollment(learner, paid_course, paid=True)
    response = post_form(signed_in, "/courses/python-101/checkout", {})
    assert response.status_code == 303 and "/lectures/" in response.headers["Location"]
    assert _count(PaymentSession) == 0


# --- free path, invitations, waitlist -------------------------------------------------------

def test_free_course_enrolls_with_one_button_idempotently(signed_in, free_course, sandbox):
    for _ in range(2):
        response = post_form(signed_in, "/courses/git-basics/enroll", {})
        assert response.status_code == 303
    assert _count(Enrollment) == 1 and not sandbox.state.sessions
    assert "You are enrolled" in signed_in.get("/courses/git-basics").get_data(as_text=True)


def test_free_course_through_checkout_needs_no_stripe(signed_in, free_course, sandbox):
    response = post_form(signed_in, "/courses/git-basics/checkout", {})
    assert response.status_code == 303 and _count(Enrollment) == 1 and not sandbox.state.sessions


def test_enroll_button_refuses_paid_courses(signed_in, paid_course):
    assert post_form(signed_in, "/courses/python-101/enroll", {}).status_code == 402
    assert _count(Enrollment) == 0


def test_full_discount_enrolls_without_stripe_and_redeems(signed_in, paid_course, sandbox):
    coupon = factories.coupon(code="FREEBIE", percent=100, max_uses=1)
    response = post_form(signed_in, "/courses/python-101/checkout", {"coupon_code": "freebie"})
    assert response.status_code == 303 and not sandbox.state.sessions
    [ps] = _sessions()
    assert ps.status == S.COMPLETED and ps.final_amount == 0 and ps.enrollment_id
    db.session.refresh(coupon)
    assert coupon.current_uses == 1


def test_invitation_only_course(signed_in, learner, staff):
    course = factories.course(slug="secret", enrollment_type="INVITATION_ONLY", price=0)
    [invitation] = invitations.issue(course, actor=staff)
    db.session.commit()
    page = signed_in.get("/courses/secret").get_data(as_text=True)
    assert "by invitation only" in page and 'name="invitation_code"' in page
    refused = post_form(signed_in, "/courses/secret/enroll", {"invitation_code": "INV-WRONG"})
    assert refused.status_code == 400 and "not valid" in refused.get_data(as_text=True)
    assert post_form(signed_in, "/courses/secret/checkout", {}).status_code == 403
    assert post_form(signed_in, "/courses/secret/enroll", {"invitation_code": invitation.code}).status_code == 303
    assert _count(Enrollment) == 1


def test_full_course_offers_the_waitlist(signed_in, learner):
    course = factories.course(slug="tiny", capacity=1)
    factories.enrollment(factories.user(), course)
    assert "Join the waitlist" in signed_in.get("/courses/tiny").get_data(as_text=True)
    response = post_form(signed_in, "/courses/tiny/checkout", {})
    assert response.status_code == 303 and _count(WaitlistEntry) == 1 and _count(PaymentSession) == 0
    assert "You are on the waitlist" in signed_in.get("/courses/tiny").get_data(as_text=True)


# --- success and cancel ----------------------------------------------------------------

def test_success_page_enrolls_after_payment(signed_in, paid_course, sandbox, outbox):
    coupon = factories.coupon(code="SAVE10", percent=10)
    location = post_form(signed_in, "/courses/python-101/checkout", {"coupon_code": "SAVE10"}).headers["Location"]
    cs_id = _stripe_id(location)
    _pay(sandbox, cs_id)
    response = signed_in.get(f"/checkout/success?session_id={cs_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "You're enrolled" in page and "$89.10" in page
    [ps] = _sessions()
    assert ps.status == S.COMPLETED and ps.payment_intent_id
    enrollment = db.session.get(Enrollment, ps.enrollment_id)
    assert enrollment.amount_paid == 8910 and enrollment.discount_applied == 990
    db.session.refresh(coupon)
    assert coupon.current_uses == 1
    assert signed_in.get(f"/checkout/success?session_id={cs_id}").status_code == 200  # reload is harmless
    assert _count(Enrollment) == 1
    [mail] = outbox  # one "you're enrolled" mail, whoever fulfilled
    assert "$89.10" in mail.get_content()


def test_success_page_of_someone_else_is_404(client, paid_course, learner, sandbox):
    login(client, learner.email)
    cs_id = _stripe_id(post_form(client, "/courses/python-101/checkout", {}).headers["Location"])
    _pay(sandbox, cs_id)
    other = factories.user(email="other@example.com")
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, other.email)
    assert client.get(f"/checkout/success?session_id={cs_id}").status_code == 404
    assert client.get("/checkout/success?session_id=cs_test_unknown").status_code == 404
    assert _count(Enrollment) == 0


@pytest.mark.parametrize("query", ["?session_id={CHECKOUT_SESSION_ID}", "?session_id=%7BCHECKOUT_SESSION_ID%7D", ""])
def test_success_page_with_a_bad_session_id_is_400(signed_in, query):
    assert signed_in.get(f"/checkout/success{query}").status_code == 400


def test_success_page_polls_while_a_bank_payment_settles(signed_in, paid_course, sandbox):
    cs_id = _stripe_id(post_form(signed_in, "/courses/python-101/checkout", {}).headers["Location"])
    _pay(sandbox, cs_id, method="delayed")
    page = signed_in.get(f"/checkout/success?session_id={cs_id}").get_data(as_text=True)
    assert "processing" in page and 'hx-trigger="every 2s"' in page
    sandbox.sandbox.engine.settle(cs_id)
    fragment = signed_in.get(f"/checkout/success?session_id={cs_id}", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and "You're enrolled" in fragment and "every 2s" not in fragment


def test_cancel_page_asks_then_cancel_releases_the_reservation(signed_in, paid_course, sandbox):
    factories.coupon(code="SAVE10", percent=10, max_uses=1)
    post_form(signed_in, "/courses/python-101/checkout", {"coupon_code": "SAVE10"})
    [ps] = _sessions()
    page = signed_in.get(f"/checkout/cancel?payment_session={ps.id}").get_data(as_text=True)
    assert "Resume checkout" in page and "Cancel this checkout" in page
    assert _sessions()[0].status == S.PENDING  # a GET changes nothing
    response = post_form(signed_in, f"/checkout/cancel?payment_session={ps.id}", {})
    assert response.status_code == 200 and "Checkout cancelled" in response.get_data(as_text=True)
    [ps] = _sessions()
    assert ps.status == S.CANCELLED
    assert sandbox.state.sessions[ps.stripe_session_id]["status"] == "expired"
    assert db.session.scalar(db.select(CouponRedemption)).status == RedemptionStatus.RELEASED
    assert post_form(signed_in, f"/checkout/cancel?payment_session={ps.id}", {}).status_code == 200  # again: fine


def test_cancel_after_payment_fulfills_instead(signed_in, paid_course, sandbox):
    cs_id = _stripe_id(post_form(signed_in, "/courses/python-101/checkout", {}).headers["Location"])
    _pay(sandbox, cs_id)
    [ps] = _sessions()
    response = post_form(signed_in, f"/checkout/cancel?payment_session={ps.id}", {})
    assert "Your payment went through" in response.get_data(as_text=True)
    assert _sessions()[0].status == S.COMPLETED and _count(Enrollment) == 1


def test_cancel_of_someone_elses_session_is_404(client, paid_course, learner, sandbox):
    login(client, learner.email)
    post_form(client, "/courses/python-101/checkout", {})
    [ps] = _sessions()
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, factories.user(email="other@example.com").email)
    assert client.get(f"/checkout/cancel?payment_session={ps.id}").status_code == 404
    assert post_form(client, f"/checkout/cancel?payment_session={ps.id}", {}).status_code == 404
    assert _sessions()[0].status == S.PENDING


def test_open_checkout_can_be_resumed_from_the_course_page(signed_in, paid_course, sandbox):
    location = post_form(signed_in, "/courses/python-101/checkout", {}).headers["Location"]
    page = signed_in.get("/courses/python-101").get_data(as_text=True)
    assert "Resume checkout" in page and location in page


def test_course_page_marks_enrolled_learners(signed_in, paid_course, learner):
    factories.enrollment(learner, paid_course, paid=True)
    page = signed_in.get("/courses/python-101").get_data(as_text=True)
    assert "You are enrolled" in page and not re.search(r'id="buy-button"', page)


def test_paid_in_another_tab_enrolls_instead_of_opening_a_second_session(signed_in, paid_course, sandbox):
    factories.coupon(code="SAVE10", percent=10)
    first = post_form(signed_in, "/courses/python-101/checkout", {"coupon_code": "SAVE10"})
    _pay(sandbox, _stripe_id(first.headers["Location"]))  # no webhook reaches the app in this test
    second = post_form(signed_in, "/courses/python-101/checkout", {})
    assert second.status_code == 303 and "/lectures/" in second.headers["Location"]
    paid, spare = _sessions()
    assert paid.status == S.COMPLETED and spare.status == S.CANCELLED and spare.stripe_session_id is None
    assert _count(Enrollment) == 1 and len(sandbox.state.sessions) == 1


def test_stripe_down_while_replacing_a_session_fails_the_new_one(signed_in, paid_course, sandbox, app):
    factories.coupon(code="SAVE10", percent=10)
    post_form(signed_in, "/courses/python-101/checkout", {"coupon_code": "SAVE10"})
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    app.extensions.pop("stripe_client", None)
    response = post_form(signed_in, "/courses/python-101/checkout", {})
    assert response.status_code == 503
    old, new = _sessions()
    assert old.status == S.PENDING and new.status == S.FAILED  # the old one is still open on Stripe


def test_a_free_type_course_never_goes_to_stripe_whatever_its_price(signed_in, sandbox):
    factories.course(slug="free-priced", enrollment_type="FREE", price=1500)
    response = post_form(signed_in, "/courses/free-priced/checkout", {})
    assert response.status_code == 303 and _count(Enrollment) == 1 and not sandbox.state.sessions


@pytest.mark.parametrize("status, reason", [("REVOKED", "revoked"), ("SUSPENDED", "dispute"),
                                            ("EXPIRED", "expired")])
def test_course_page_says_why_a_lapsed_enrollment_gives_no_access(signed_in, paid_course, learner, status, reason):
    factories.enrollment(learner, paid_course, status=status, paid=True)
    page = signed_in.get(f"/courses/{paid_course.slug}").get_data(as_text=True)
    assert reason in page and "You are enrolled" not in page

"""POST /api/payments/coupons/validate and GET /api/payments/coupons/active."""
from datetime import timedelta

import pytest

from models import utcnow
from tests import factories

VALIDATE = "/api/payments/coupons/validate"


def test_validate_prices_the_course_on_the_server(client, auth, paid_course):
    factories.coupon(code="WELCOME10", percent=10, maximum_discount=500)
    response = client.post(VALIDATE, json={"code": "welcome10", "courseId": paid_course.slug, "amount": 1},
                           headers=auth)
    assert response.status_code == 200
    assert response.get_json() == {
        "success": True, "isValid": True, "code": "WELCOME10", "courseId": paid_course.id,
        "originalAmount": 9900, "discountAmount": 500, "finalAmount": 9400, "currency": "USD",
        "refusalCode": None, "message": None}


@pytest.mark.parametrize("setup, code, refusal", [
    (lambda course: None, "NOPE", "COUPON_NOT_FOUND"),
    (lambda course: factories.coupon(code="GONE", valid_until=utcnow() - timedelta(days=1)), "GONE", "COUPON_EXPIRED"),
    (lambda course: factories.coupon(code="OTHER", courses=[factories.course()]), "OTHER", "COUPON_NOT_APPLICABLE"),
    (lambda course: factories.coupon(code="EUROS", amount_off=500, currency="EUR"), "EUROS",
     "COUPON_CURRENCY_MISMATCH"),
])
def test_refused_codes_are_200_with_is_valid_false(client, auth, paid_course, setup, code, refusal):
    setup(paid_course)
    body = client.post(VALIDATE, json={"code": code, "courseId": paid_course.id}, headers=auth).get_json()
    assert body["success"] is True and body["isValid"] is False and body["refusalCode"] == refusal
    assert body["message"] and (body["discountAmount"], body["finalAmount"]) == (0, 9900)


INVALID_BODIES = [
    ({}, {"code", "courseId"}),
    ({"code": "", "courseId": "python-101"}, {"code"}),
    ({"code": 10, "courseId": "python-101"}, {"code"}),
    ({"code": "A" * 33, "courseId": "python-101"}, {"code"}),
    ({"code": "X", "courseId": None}, {"courseId"}),
]


def test_validate_field_errors(client, auth, paid_course):
    for body, fields in INVALID_BODIES:
        response = client.post(VALIDATE, json=body, headers=auth)
        assert response.status_code == 400, body
        assert set(response.get_json()["error"]["fields"]) == fields, body


def test_validate_requires_authentication_and_a_known_course(client, auth, paid_course):
    assert client.post(VALIDATE, json={"code": "X", "courseId": paid_course.slug}).status_code == 401
    missing = client.post(VALIDATE, json={"code": "X", "courseId": "nope"}, headers=auth)
    assert missing.status_code == 404 and missing.get_json()["error"]["fields"] == {
        "courseId": "We could not find that course."}


def test_active_lists_public_coupons_only(client, paid_course):
    factories.coupon(code="PUBLIC10", percent=10, is_public=True, name="Ten off", courses=[paid_course])
    factories.coupon(code="FIVEBUCKS", amount_off=500, currency="USD", is_public=True)
    factories.coupon(code="SECRET50", percent=50, is_public=False)
    factories.coupon(code="OLDPUBLIC", percent=5, is_public=True, valid_until=utcnow() - timedelta(days=1))
    factories.coupon(code="OFFPUBLIC", percent=5, is_public=True, is_active=False)
    factories.coupon(code="USEDUP", percent=5, is_public=True, max_uses=1, current_uses=1)
    response = client.get("/api/payments/coupons/active")  # public: no credentials
    assert response.status_code == 200
    coupons = response.get_json()["coupons"]
    assert [coupon["code"] for coupon in coupons] == ["FIVEBUCKS", "PUBLIC10"]
    assert "SECRET50" not in response.get_data(as_text=True)
    five, ten = coupons
    assert (five["discountType"], five["amountOff"], five["currency"], five["percentOff"]) == \
        ("FIXED_AMOUNT", 500, "USD", None)
    assert (ten["discountType"], ten["percentOff"], ten["amountOff"], ten["applicableCourses"]) == \
        ("PERCENTAGE", 10, None, ["python-101"])

"""The JSON API for memberships: the list, subscription checkouts, SUBSCRIPTION enrollments with their access."""
import pytest

from models import EnrollmentType
from tests import factories
from tests.api.builders import bearer
from tests.api.test_openapi import conforms


@pytest.fixture
def auth(learner):
    return bearer(learner)


@pytest.fixture
def spec(client):
    return client.get("/api/openapi.json").get_json()


def test_active_memberships_are_listed_publicly(client, spec):
    chosen = factories.course()
    factories.membership(name="All-Access", monthly=2900, yearly=29000, trial_days=7)
    factories.membership(name="Python only", monthly=900, yearly=None, courses=[chosen])
    factories.membership(name="Old", is_active=False)
    response = client.get("/api/memberships")
    assert response.status_code == 200
    memberships = response.get_json()["memberships"]
    assert [(m["name"], m["prices"], m["trialDays"], m["unlocksAllCourses"], m["courseIds"]) for m in memberships] == [
        ("All-Access", {"month": 2900, "year": 29000}, 7, True, []),
        ("Python only", {"month": 900}, 0, False, [chosen.id])]
    conforms(spec, "GET", "/api/memberships", response)


def test_subscription_enrollments_show_their_access(client, learner, auth, spec):
    membership = factories.membership(name="All-Access")
    subscription = factories.subscription(learner, membership, "CANCELED")
    course = factories.course()
    factories.enrollment(learner, course, type=EnrollmentType.SUBSCRIPTION, subscription_id=subscription.id)
    response = client.get("/api/payments/enrollments", headers=auth)
    [item] = response.get_json()["enrollments"]
    assert (item["type"], item["subscriptionId"], item["hasAccess"], item["access"]["code"]) == \
        ("SUBSCRIPTION", subscription.id, False, "MEMBERSHIP_ENDED")
    conforms(spec, "GET", "/api/payments/enrollments", response)


@pytest.mark.parametrize("body, status, code, field", [
    ({"membershipId": "nope", "interval": "month"}, 404, "MEMBERSHIP_NOT_FOUND", "membershipId"),
    ({"membershipId": "all-access"}, 400, "VALIDATION_ERROR", "interval"),
    ({"membershipId": "all-access", "interval": "week"}, 400, "VALIDATION_ERROR", "interval"),
    ({"membershipId": "all-access", "interval": "year"}, 422, "INTERVAL_NOT_OFFERED", "interval"),
    ({"membershipId": "", "interval": "month"}, 400, "VALIDATION_ERROR", "membershipId"),
    ({"membershipId": "\u00b2", "interval": "month"}, 404, "MEMBERSHIP_NOT_FOUND", "membershipId"),  # isdigit()
    ({"membershipId": "\u0663", "interval": "month"}, 404, "MEMBERSHIP_NOT_FOUND", "membershipId"),  # Arabic 3
    ({"membershipId": "9" * 30, "interval": "month"}, 404, "MEMBERSHIP_NOT_FOUND", "membershipId"),
    ({"membershipId": ["x"], "interval": "month"}, 400, "VALIDATION_ERROR", "membershipId"),
    ({"membershipId": "all-access", "interval": 12}, 400, "VALIDATION_ERROR", "interval"),
    ({"membershipId": "all-access", "interval": "month", "couponCode": {"a": 1}}, 400, "VALIDATION_ERROR",
     "couponCode"),
])
def test_subscription_checkout_input_is_checked(client, auth, spec, body, status, code, field):
    factories.membership(slug="all-access", yearly=None)
    response = client.post("/api/payments/sessions", json=body, headers=auth)
    payload = response.get_json()
    assert response.status_code == status, payload
    assert payload["error"]["code"] == code and field in payload["error"]["fields"]
    conforms(spec, "POST", "/api/payments/sessions", response)


def test_a_live_subscription_refuses_a_second_one(client, learner, auth):
    membership = factories.membership(slug="all-access")
    factories.subscription(learner, membership, "PAST_DUE")
    response = client.post("/api/payments/sessions", json={"membershipId": membership.id, "interval": "month"},
                           headers=auth)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "ALREADY_SUBSCRIBED"


def test_a_member_starts_a_paid_course_through_the_enroll_endpoint(client, learner, auth):
    factories.subscription(learner, factories.membership(), "TRIALING")
    course = factories.course(price=9900)
    response = client.post("/api/payments/enrollments", json={"courseId": course.slug}, headers=auth)
    assert response.status_code == 201, response.get_json()
    enrollment = response.get_json()["enrollment"]
    assert (enrollment["type"], enrollment["hasAccess"], enrollment["amountPaid"]) == ("SUBSCRIPTION", True, 0)

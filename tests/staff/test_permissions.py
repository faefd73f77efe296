"""The permission matrix: anonymous, learner, staff and admin × every staff page and action.

Anonymous visitors are sent to sign-in, learners get 403, staff get every page except users &
roles (admin only), admins get everything. "Allowed" means the guard let the request through:
not 401/403, not a sign-in redirect, and never a 500.
"""
import pytest

from tests import factories
from tests.helpers import csrf_token, login
from tests.staff import builders

PAGES = [
    "/staff/", "/staff/audit", "/staff/coupons", "/staff/coupons/new", "/staff/coupons/{coupon}",
    "/staff/coupons/{coupon}/edit", "/staff/coupons/check-code?code=ABC", "/staff/coupons/batches/{batch}",
    "/staff/coupons/batches/{batch}.csv", "/staff/courses", "/staff/courses/new", "/staff/courses/{course}",
    "/staff/courses/{course}/lectures/{lecture}", "/staff/payments", "/staff/payments/flagged",
    "/staff/payments/{payment}", "/staff/enrollments", "/staff/enrollments/{course}", "/staff/webhooks",
    "/staff/analytics", "/staff/analytics/revenue.csv",
]
ACTIONS = [
    ("/staff/coupons/new", {"code": "NEWCODE", "name": "N", "discount_type": "PERCENTAGE", "value": "10"}),
    ("/staff/coupons/{coupon}/edit", {"code": "PERM10", "name": "Perm", "discount_type": "PERCENTAGE", "value": "12"}),
    ("/staff/coupons/{coupon}/deactivate", {}),
    ("/staff/coupons/{coupon}/reactivate", {}),
    ("/staff/coupons/{spare_coupon}/delete", {}),
    ("/staff/coupons/{coupon}/bulk", {"prefix": "P-", "count": "3", "max_uses": "1"}),
    ("/staff/courses/new", {"title": "New", "slug": "new-course", "price": "10", "currency": "USD",
                            "enrollment_type": "PAID"}),
    ("/staff/courses/{course}", {"title": "Renamed", "slug": "perm-course", "price": "99", "currency": "USD",
                                 "enrollment_type": "PAID"}),
    ("/staff/courses/{course}/lectures", {"title": "Added lecture", "duration_minutes": "3"}),
    ("/staff/courses/{course}/lectures/{lecture}", {"title": "Edited lecture", "duration_minutes": "4"}),
    ("/staff/courses/{course}/lectures/{lecture}/move", {"direction": "down"}),
    ("/staff/courses/{course}/lectures/{lecture}/delete", {}),
    ("/staff/payments/{payment}/refund", {"amount": "1.00", "reason": "requested_by_customer"}),
    ("/staff/payments/{payment}/reconcile", {}),
    ("/staff/enrollments/{course}/grant", {"email": "nobody@example.com", "source": "PROMOTION"}),
    ("/staff/enrollments/{course}/{enrollment}/revoke", {"reason": "matrix"}),
    ("/staff/enrollments/{course}/invitations", {"count": "1"}),
    ("/staff/enrollments/{course}/waitlist/{entry}/admit", {}),
    ("/staff/webhooks/{event}/reprocess", {}),
]
ADMIN_PAGES = ["/staff/users"]
ADMIN_ACTIONS = [("/staff/users/{target}/role", {"role": "STAFF"})]


@pytest.fixture
def world(app, learner, staff, admin):
    from services import staff_coupons

    course = factories.course(slug="perm-course", title="Perm course", price=9900)
    coupon = factories.coupon(code="PERM10", percent=10)
    spare = factories.coupon(code="SPARE10", percent=10)
    batch = staff_coupons.generate_bulk(coupon, prefix="B-", count=2, actor=staff)
    from extensions import db
    db.session.commit()
    other = factories.user(email="other@example.com")
    enrollment = factories.enrollment(other, course)
    payment = builders.payment(learner, course, status="PENDING")
    event = builders.stripe_event("evt_matrix", "customer.created", status="FAILED", last_error="boom")
    entry = builders.waitlist_entry(factories.user(email="waiting@example.com"), course)
    target = factories.user(email="target@example.com")
    return {"course": course.id, "coupon": coupon.id, "spare_coupon": spare.id, "batch": batch,
            "lecture": course.lectures[0].id, "payment": payment.id, "enrollment": enrollment.id,
            "event": event.id, "entry": entry.id, "target": target.id}


def _sign_in(client, role, learner, staff, admin):
    users = {"learner": learner, "staff": staff, "admin": admin}
    if role != "anonymous":
        login(client, users[role].email)


def _request(client, method, url, data):
    if method == "GET":
        return client.get(url)
    return client.post(url, data={**data, "csrf_token": csrf_token(client, "/courses")})


def _cases():
    for role in ("anonymous", "learner", "staff", "admin"):
        for page in PAGES:
            yield pytest.param(role, "GET", page, {}, True, id=f"{role}-GET-{page}")
        for action, data in ACTIONS:
            yield pytest.param(role, "POST", action, data, True, id=f"{role}-POST-{action}")
        for page in ADMIN_PAGES:
            yield pytest.param(role, "GET", page, {}, False, id=f"{role}-GET-{page}")
        for action, data in ADMIN_ACTIONS:
            yield pytest.param(role, "POST", action, data, False, id=f"{role}-POST-{action}")


@pytest.mark.parametrize("role,method,path,data,staff_allowed", list(_cases()))
def test_permission_matrix(client, world, learner, staff, admin, role, method, path, data, staff_allowed):
    _sign_in(client, role, learner, staff, admin)
    response = _request(client, method, path.format(**world), data)
    if role == "anonymous":
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    elif role == "learner" or (role == "staff" and not staff_allowed):
        assert response.status_code == 403
    else:
        assert response.status_code not in (401, 403, 500), response.get_data(as_text=True)[:500]
        assert "/login" not in response.headers.get("Location", "")


def test_staff_link_shows_in_the_main_nav_for_staff_only(client, learner, staff):
    login(client, learner.email)
    assert 'href="/staff/"' not in client.get("/courses").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, staff.email)
    page = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/"' in page and "Users &amp; roles" not in page


def test_admin_sees_users_link(client, admin):
    login(client, admin.email)
    assert "Users &amp; roles" in client.get("/staff/").get_data(as_text=True)

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
    "/staff/analytics", "/staff/analytics/revenue.csv", "/staff/mail", "/staff/mail?show=1",
    "/staff/users/{target}", "/staff/refund-policy", "/staff/refund-requests", "/staff/refund-requests/{refund_request}",
    "/staff/bundles", "/staff/bundles/new", "/staff/bundles/{bundle}",
    "/staff/paths", "/staff/paths/new", "/staff/paths/{path}",
    "/staff/referrals",
    "/staff/memberships", "/staff/memberships/new", "/staff/memberships/{membership}",
    "/staff/memberships/{membership}/edit", "/staff/subscriptions/{subscription}",
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
    ("/staff/refund-policy", {"window_days": "10", "max_progress_percent": "20", "revokes_access": "y"}),
    ("/staff/refund-policy/courses", {"course_id": "1", "mode": "no_refunds"}),
    ("/staff/refund-requests/{refund_request}/approve", {"amount": "0.5"}),  # no Stripe here: refused, not a 500
    ("/staff/refund-requests/{refund_request}/decline", {"message": "matrix"}),
    ("/staff/bundles/new", {"name": "New", "slug": "new-bundle", "price": "10", "currency": "USD"}),
    ("/staff/bundles/{bundle}", {"name": "Renamed", "slug": "perm-bundle", "price": "99", "currency": "USD"}),
    ("/staff/bundles/{bundle}/retire", {}),
    ("/staff/paths/new", {"name": "New path", "slug": "new-path", "courses": "perm-course\nperm-free"}),
    ("/staff/paths/{path}", {"name": "Renamed path", "slug": "perm-path", "courses": "perm-free\nperm-course"}),
    ("/staff/referrals", {"rewards_enabled": "y", "discount_type": "PERCENTAGE", "value": "10", "validity_days": "30"}),
    ("/staff/memberships/new", {"name": "Matrix Club", "currency": "USD", "monthly_price": "9", "unlocks": "all",
                                "is_active": "y"}),
    ("/staff/memberships/{membership}/edit", {"name": "Perm Club", "currency": "USD", "monthly_price": "19",
                                              "unlocks": "all", "is_active": "y"}),
    # no Stripe here: refused, not a 500
    ("/staff/subscriptions/{subscription}/invoices/{invoice}/refund", {"amount": "1.00", "reason": "duplicate"}),
]
ADMIN_PAGES = ["/staff/users"]
ADMIN_ACTIONS = [("/staff/users/{target}/role", {"role": "STAFF"}), ("/staff/users/{target}/sessions/revoke", {})]


@pytest.fixture
def world(app, learner, staff, admin):
    from services.coupons import admin as coupon_admin

    course = factories.course(slug="perm-course", title="Perm course", price=9900)
    coupon = factories.coupon(code="PERM10", percent=10)
    spare = factories.coupon(code="SPARE10", percent=10)
    batch = coupon_admin.generate_bulk(coupon, prefix="B-", count=2, actor=staff)
    from extensions import db
    db.session.commit()
    other = factories.user(email="other@example.com")
    enrollment = factories.enrollment(other, course)
    payment = factories.payment_session(learner, course)
    event = builders.stripe_event("evt_matrix", "customer.created", status="FAILED", last_error="boom")
    entry = builders.waitlist_entry(factories.user(email="waiting@example.com"), course)
    target = factories.user(email="target@example.com")
    refund_request = builders.refund_request(factories.payment_session(other, course, "COMPLETED"))
    bundle = factories.bundle([course, factories.course(price=4900)], slug="perm-bundle")
    path = factories.learning_path([course, factories.course(slug="perm-free", price=0, enrollment_type="FREE")],
                                   slug="perm-path")
    from tests.memberships import pages_builders
    membership = pages_builders.membership("Perm Club")
    subscription = pages_builders.subscription(other, membership)
    invoice = pages_builders.invoice(subscription)
    return {"membership": membership.id, "subscription": subscription.id, "invoice": invoice.id,
            "path": path.id, "bundle": bundle.id, "refund_request": refund_request.id, "course": course.id, "coupon": coupon.id, "spare_coupon": spare.id, "batch": batch,
            "lecture": course.lectures[0].id, "payment": payment.id, "enrollment": enrollment.id,
            "event": event.id, "entry": entry.id, "target": target.id}


def _request(client, method, url, data, token):
    if method == "GET":
        return client.get(url)
    return client.post(url, data={**data, "csrf_token": token})


def _entries():
    for page in PAGES:
        yield "GET", page, {}, True
    for page in ADMIN_PAGES:
        yield "GET", page, {}, False
    # Actions last, deleting ones at the very end, so earlier requests find their objects.
    for action, data in sorted(ACTIONS, key=lambda item: item[0].endswith("/delete")):
        yield "POST", action, data, True
    for action, data in ADMIN_ACTIONS:
        yield "POST", action, data, False


@pytest.mark.parametrize("role", ["anonymous", "learner", "staff", "admin"])
def test_permission_matrix(client, world, sign_in, learner, staff, admin, role):
    """One test per role walks every staff URL and action (a fresh world each time); each
    entry is checked and every mismatch is reported together."""
    if role != "anonymous":
        sign_in(client, {"learner": learner, "staff": staff, "admin": admin}[role])
    token = csrf_token(client)
    problems = []
    for method, path, data, staff_allowed in _entries():
        response = _request(client, method, path.format(**world), data, token)
        location = response.headers.get("Location", "")
        if role == "anonymous":
            ok = response.status_code == 302 and "/login" in location
        elif role == "learner" or (role == "staff" and not staff_allowed):
            ok = response.status_code == 403
        else:
            ok = response.status_code not in (401, 403, 500) and "/login" not in location
        if not ok:
            problems.append(f"{role} {method} {path}: {response.status_code} {location}")
    assert not problems, "\n".join(problems)


def test_the_matrix_covers_every_staff_endpoint(app, world):
    adapter = app.url_map.bind("localhost")
    covered = {adapter.match(path.format(**world).split("?")[0], method=method)[0]
               for method, path, _, _ in _entries()}
    every = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("staff.")}
    assert every - covered == set()


def test_real_sign_in_reaches_the_staff_area(client, staff):
    login(client, staff.email)
    assert client.get("/staff/").status_code == 200


def test_staff_link_shows_in_the_main_nav_for_staff_only(client, sign_in, learner, staff):
    sign_in(client, learner)
    assert 'href="/staff/"' not in client.get("/courses").get_data(as_text=True)
    sign_in(client, staff)
    page = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/"' in page and "Users &amp; roles" not in page


def test_admin_sees_users_link(client, sign_in, admin):
    sign_in(client, admin)
    assert "Users &amp; roles" in client.get("/staff/").get_data(as_text=True)

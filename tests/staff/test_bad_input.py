"""Bad input never gives a 500: every staff page and action with junk in every parameter and
field, absurd ids and NUL bytes in paths (PostgreSQL refuses NUL in text)."""
from tests import factories
from tests.helpers import csrf_token
from tests.staff import builders
from tests.staff.test_permissions import ACTIONS, ADMIN_ACTIONS, ADMIN_PAGES, PAGES

JUNK = ["", "0", "-1", "abc", "1e999", "\x00", "9" * 40, "2026-13-45", "<script>", "NaN", " ", "%", "x" * 400]
QUERY_KEYS = ["q", "status", "sort", "dir", "page", "start", "end", "course_id", "coupon", "type", "role", "action",
              "subject", "actor", "code", "coupon_id"]
FORM_FIELDS = ["code", "name", "value", "currency", "discount_type", "max_uses", "per_learner_limit", "valid_from",
               "valid_until", "minimum_amount", "maximum_discount", "course_ids", "prefix", "count", "title", "slug",
               "price", "capacity", "enrollment_type", "duration_minutes", "amount", "reason", "email", "source",
               "expires_at", "role", "direction", "message", "courses", "description", "sequential", "is_published",
               "monthly_price", "yearly_price", "trial_days", "unlocks", "is_active"]
ODD_PATHS = ["/staff/courses/99999999999999999999", "/staff/coupons/2147483648", "/staff/payments/ps_%00",
             "/staff/payments/" + "x" * 300, "/staff/coupons/batches/%00", "/staff/coupons/batches/%00.csv",
             "/staff/enrollments/99999999999999999999", "/staff/courses/1/lectures/99999999999999999999",
             "/staff/analytics/%00.csv", "/staff/refund-requests/99999999999999999999",
             "/staff/refund-requests?status=%00&page=-1", "/staff/paths/99999999999999999999",
             "/staff/memberships/99999999999999999999", "/staff/subscriptions/2147483648",
             "/staff/memberships/1?status=%00&page=-1"]
ODD_POSTS = ["/staff/webhooks/%00/reprocess", "/staff/payments/%00/refund", "/staff/payments/%00/reconcile",
             "/staff/coupons/99999999999999999999/deactivate", "/staff/users/99999999999999999999/role",
             "/staff/refund-requests/99999999999999999999/approve", "/staff/refund-requests/2147483647/decline",
             "/staff/subscriptions/1/invoices/%00/refund", "/staff/subscriptions/1/invoices/" + "x" * 300 + "/refund"]


def test_no_junk_makes_a_500(admin_client, learner):
    course = factories.course(slug="perm-course")
    coupon = factories.coupon(code="PERM10")
    world = {"course": course.id, "coupon": coupon.id, "spare_coupon": coupon.id, "batch": "batch_none",
             "lecture": course.lectures[0].id, "payment": factories.payment_session(learner, course, "COMPLETED").id, "enrollment": 1,
             "event": builders.stripe_event("evt_junk", "x.y", status="FAILED").id, "entry": 1, "target": learner.id}
    world["refund_request"] = builders.refund_request(factories.payment_session(learner, course, "COMPLETED")).id
    world["bundle"] = factories.bundle([course, factories.course(price=4900)]).id
    world["path"] = factories.learning_path([course, factories.course()]).id
    from tests.memberships import pages_builders
    membership = pages_builders.membership("Junk Club")
    subscription = pages_builders.subscription(learner, membership)
    world.update(membership=membership.id, subscription=subscription.id,
                 invoice=pages_builders.invoice(subscription).id)
    token = csrf_token(admin_client, "/courses")
    failures = []
    for page in PAGES + ADMIN_PAGES:
        url = page.format(**world)
        for junk in JUNK:
            query = "&".join(f"{key}={junk}" for key in QUERY_KEYS)
            response = admin_client.get(url + ("&" if "?" in url else "?") + query)
            if response.status_code >= 500:
                failures.append(f"GET {url} {junk!r}: {response.status_code}")
    for action, data in ACTIONS + ADMIN_ACTIONS:
        for junk in JUNK:
            response = admin_client.post(action.format(**world),
                                         data={**{name: junk for name in FORM_FIELDS}, "csrf_token": token})
            if response.status_code >= 500:
                failures.append(f"POST {action} {junk!r}: {response.status_code}")
    for path in ODD_PATHS:
        if (status := admin_client.get(path).status_code) >= 500:
            failures.append(f"GET {path}: {status}")
    for path in ODD_POSTS:
        if (status := admin_client.post(path, data={"csrf_token": token, "role": "STAFF"}).status_code) >= 500:
            failures.append(f"POST {path}: {status}")
    assert not failures, "\n".join(failures)

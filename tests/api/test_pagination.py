"""Cursor pagination (limit, startingAfter, hasMore) over 250 rows: every row once, in order,
stable while rows are added, and bad cursors refused."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from extensions import db
from models import Coupon, Course, DiscountType, Enrollment

ROWS = 250
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def many_enrollments(app, learner):
    """250 enrollments of the learner, some sharing a timestamp (the id must break the tie)."""
    courses = [Course(slug=f"bulk-{n:03}", title=f"Bulk {n}", price_amount=0) for n in range(ROWS)]
    db.session.add_all(courses)
    db.session.flush()
    db.session.add_all([Enrollment(user_id=learner.id, course_id=course.id, enrolled_at=START + timedelta(hours=n // 3))
                        for n, course in enumerate(courses)])
    db.session.commit()


def _walk(client, path, headers=None, limit=None):
    items, cursor, pages = [], None, 0
    while True:
        query = {key: value for key, value in (("limit", limit), ("startingAfter", cursor)) if value is not None}
        body = client.get(path, query_string=query, headers=headers).get_json()
        assert body["success"] is True, body
        key = next(name for name in ("enrollments", "coupons") if name in body)
        items += body[key]
        pages += 1
        if not body["hasMore"]:
            return items, pages
        cursor = body[key][-1]["id" if key == "enrollments" else "code"]


def test_enrollments_page_through_every_row_once_newest_first(client, auth, many_enrollments):
    items, pages = _walk(client, "/api/payments/enrollments", auth, limit=100)
    assert pages == 3 and len(items) == ROWS and len({item["id"] for item in items}) == ROWS
    keys = [(item["enrolledAt"], item["id"]) for item in items]
    assert keys == sorted(keys, reverse=True)
    assert len(client.get("/api/payments/enrollments", headers=auth).get_json()["enrollments"]) == 20


def test_a_page_is_stable_while_new_rows_arrive(client, auth, learner, many_enrollments):
    first = client.get("/api/payments/enrollments?limit=50", headers=auth).get_json()
    newest = Course(slug="brand-new", title="Brand new", price_amount=0)
    db.session.add(newest)
    db.session.flush()
    db.session.add(Enrollment(user_id=learner.id, course_id=newest.id, enrolled_at=START + timedelta(days=400)))
    db.session.commit()
    second = client.get(f"/api/payments/enrollments?limit=50&startingAfter={first['enrollments'][-1]['id']}",
                        headers=auth).get_json()
    seen = {item["id"] for item in first["enrollments"]}
    assert not seen & {item["id"] for item in second["enrollments"]} and len(second["enrollments"]) == 50


def test_public_coupons_page_by_code(client):
    db.session.add_all([Coupon(code=f"PUB{n:03}", name=f"Public {n}", discount_type=DiscountType.PERCENTAGE,
                               percent_off=Decimal(10), is_public=True) for n in range(ROWS)])
    db.session.commit()
    items, pages = _walk(client, "/api/payments/coupons/active", limit=60)
    assert pages == 5 and [item["code"] for item in items] == [f"PUB{n:03}" for n in range(ROWS)]


@pytest.mark.parametrize("query, field", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"), ("limit=-1", "limit"),
    ("startingAfter=abc", "startingAfter"), ("startingAfter=999999", "startingAfter"),
])
def test_bad_limits_and_cursors_are_400(client, auth, query, field):
    response = client.get(f"/api/payments/enrollments?{query}", headers=auth)
    assert response.status_code == 400 and field in response.get_json()["error"]["fields"]


def test_someone_elses_enrollment_is_not_a_cursor(client, auth, other_learner, free_course):
    from tests import factories

    theirs = factories.enrollment(other_learner, free_course)
    response = client.get(f"/api/payments/enrollments?startingAfter={theirs.id}", headers=auth)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "INVALID_CURSOR"

"""Analytics figures against a small dataset whose answers are worked out by hand.

Runs on SQLite and PostgreSQL (the day buckets use date(), which both understand).
Range: 2026-03-01 … 2026-03-03. Rows just outside it (02-28 23:59:59, 03-04 00:00) must not count.
Refunds count on the day they were made, not on their sale's day.
"""
import csv
import io
from datetime import date, datetime, timezone

import pytest

from extensions import db
from services import analytics
from services.payments import refunds
from tests import factories
from tests.staff import builders
from tests.staff.builders import at

RANGE = "start=2026-03-01&end=2026-03-03"


@pytest.fixture
def dataset(app):
    alpha = factories.course(slug="alpha", title="Alpha", price=10000, currency="USD")
    beta = factories.course(slug="beta", title="Beta", price=5000, currency="EUR")
    u1, u2, u3, u4, u5 = (factories.user(email=f"u{i}@example.com") for i in range(1, 6))
    c1 = factories.coupon(code="ALPHA20", percent=20)
    c2 = factories.coupon(code="BETA10", amount_off=1000, currency="EUR")

    def pay(user, course, status="COMPLETED", **fields):  # sales whose coupon uses are counted below
        return factories.payment_session(user, course, status, hold=False, **fields)

    s1 = pay(u1, alpha, created_at=at("2026-03-01", 10))
    s2 = pay(u2, alpha, created_at=at("2026-03-01", 11), discount=2000, coupon=c1)
    s3 = pay(u3, alpha, status="REFUNDED", created_at=at("2026-03-02"))
    s4 = pay(u4, beta, created_at=at("2026-03-02"), discount=1000, coupon=c2)
    pay(u5, alpha, status="FAILED", created_at=at("2026-03-02"), failure_code="card_declined")
    pay(u5, alpha, status="FAILED", created_at=at("2026-03-03"), failure_code="card_declined")
    pay(u4, alpha, status="FAILED", created_at=at("2026-03-03"))
    pay(u1, beta, status="EXPIRED", created_at=at("2026-03-03"))
    pay(u2, alpha, status="PENDING", created_at=at("2026-03-03"))
    # Started in the range, paid after it: conversion counts it, revenue of the range does not.
    late = pay(u3, beta, created_at=at("2026-03-03", 23), completed_at=datetime(2026, 3, 4, 1, tzinfo=timezone.utc))
    # Outside the range on both sides.
    february = pay(u1, alpha, created_at=datetime(2026, 2, 28, 23, 59, 59, tzinfo=timezone.utc))
    pay(u2, beta, created_at=datetime(2026, 3, 4, 0, 0, 0, tzinfo=timezone.utc))
    # Refunds, on the day they were made: s2's (sold 03-01) on 03-03, s3's the day of its sale,
    # one for a February sale inside the range (and one outside it), one made after the range;
    # s1's refund of 03-02 failed on 03-03 (a negative movement).
    refund = builders.refund
    refund(s2, 3000, at("2026-03-03", 9))
    refund(s3, 10000, at("2026-03-02", 15))
    refund(february, 500, datetime(2026, 2, 28, 23, 59, 59, tzinfo=timezone.utc))
    refund(february, 2500, at("2026-03-02", 8))
    refund(s1, 4000, at("2026-03-02", 16))
    refund(s1, -4000, at("2026-03-03", 10))
    refund(late, 1000, datetime(2026, 3, 4, 0, 0, 0, tzinfo=timezone.utc))
    builders.redemption(c1, u2, alpha, discount=2000, payment_session=s2, when=at("2026-03-01", 11))
    builders.redemption(c2, u4, beta, discount=1000, payment_session=s4, when=at("2026-03-02"))
    builders.redemption(c1, u5, alpha, status="RELEASED", discount=2000, when=at("2026-03-02"))
    builders.redemption(c1, u3, alpha, discount=2000, when=at("2026-03-05"))
    enroll = factories.enrollment
    enroll(u1, alpha, status="COMPLETED", source="DIRECT", enrolled_at=at("2026-03-01"), completed_at=at("2026-03-02"))
    enroll(u2, alpha, source="PROMOTION", enrolled_at=at("2026-03-01"))
    enroll(u3, alpha, status="REVOKED", source="DIRECT", enrolled_at=at("2026-03-02"))
    enroll(u4, beta, source="REFERRAL", enrolled_at=at("2026-03-02"))
    enroll(u5, beta, status="COMPLETED", source="REFERRAL", enrolled_at=at("2026-03-03"), completed_at=at("2026-03-03"))
    enroll(u5, alpha, source="BUNDLE", enrolled_at=at("2026-02-20"))
    return date(2026, 3, 1), date(2026, 3, 3)


def test_net_revenue_per_day_counts_refunds_on_the_day_they_were_made(dataset):
    rows = analytics.revenue_by_day(*dataset).rows
    assert rows == [
        {"day": date(2026, 3, 1), "currency": "USD", "payments": 2, "gross": 18000, "refunded": 0, "net": 18000},
        {"day": date(2026, 3, 2), "currency": "EUR", "payments": 1, "gross": 4000, "refunded": 0, "net": 4000},
        {"day": date(2026, 3, 2), "currency": "USD", "payments": 1, "gross": 10000, "refunded": 16500, "net": -6500},
        {"day": date(2026, 3, 3), "currency": "USD", "payments": 0, "gross": 0, "refunded": -1000, "net": 1000},
    ]
    assert analytics.totals(*dataset) == [
        {"currency": "EUR", "payments": 1, "gross": 4000, "refunded": 0, "net": 4000},
        {"currency": "USD", "payments": 3, "gross": 28000, "refunded": 15500, "net": 12500},
    ]


def test_a_refund_made_later_moves_the_later_day_not_the_sale_day(app):
    course = factories.course(slug="gamma", title="Gamma", price=8000, currency="USD")
    sale = factories.payment_session(factories.user(email="g@example.com"), course, "COMPLETED",
                                     created_at=at("2026-04-01"))
    sale.payment_intent_id = "pi_test_gamma"
    refunds.apply_refund({"id": "re_test_gamma", "object": "refund", "amount": 3000, "status": "succeeded",
                          "payment_intent": "pi_test_gamma"}, now=at("2026-04-10"))
    db.session.commit()
    day_a, day_b = date(2026, 4, 1), date(2026, 4, 10)
    assert analytics.revenue_by_day(day_a, day_a).rows == [
        {"day": day_a, "currency": "USD", "payments": 1, "gross": 8000, "refunded": 0, "net": 8000}]
    assert analytics.revenue_by_day(day_b, day_b).rows == [
        {"day": day_b, "currency": "USD", "payments": 0, "gross": 0, "refunded": 3000, "net": -3000}]
    assert analytics.totals(day_a, day_b) == [
        {"currency": "USD", "payments": 1, "gross": 8000, "refunded": 3000, "net": 5000}]


def test_conversion_per_course(dataset):
    assert analytics.conversion_by_course(*dataset).rows == [
        {"course": "Alpha", "started": 7, "paid": 3, "rate": 42.9},
        {"course": "Beta", "started": 3, "paid": 2, "rate": 66.7},
    ]


def test_failures_by_reason(dataset):
    # Sessions that ended failed (this dataset has no failed attempts: tests/webhooks/test_failed_attempts.py).
    assert analytics.failures_by_reason(*dataset).rows == [{"reason": "card_declined", "attempts": 0, "sessions": 2},
                                                           {"reason": "unknown", "attempts": 0, "sessions": 1}]


def test_coupon_usage(dataset):
    assert analytics.coupon_usage(*dataset).rows == [
        {"code": "ALPHA20", "currency": "USD", "uses": 1, "discount": 2000, "revenue": 5000},
        {"code": "BETA10", "currency": "EUR", "uses": 1, "discount": 1000, "revenue": 4000},
    ]


def test_enrollments_per_course_and_source_and_completion(dataset):
    assert analytics.enrollments_by_course_and_source(*dataset).rows == [
        {"course": "Alpha", "source": "DIRECT", "count": 2},
        {"course": "Alpha", "source": "PROMOTION", "count": 1},
        {"course": "Beta", "source": "REFERRAL", "count": 2},
    ]
    assert analytics.completion_by_course(*dataset).rows == [
        {"course": "Alpha", "enrolled": 3, "completed": 1, "rate": 33.3},
        {"course": "Beta", "enrolled": 2, "completed": 1, "rate": 50.0},
    ]


def test_page_draws_an_svg_chart_per_currency(staff_client, dataset):
    page = staff_client.get(f"/staff/analytics?{RANGE}").get_data(as_text=True)
    assert page.count("<svg") == 2
    assert "2026-03-01: $180.00" in page and "2026-03-02: €40.00" in page and "2026-03-02: -$65.00" in page
    assert "2026-03-03: $10.00" in page
    assert "$125.00" in page and "42.9%" in page and "card_declined" in page and "ALPHA20" in page
    assert "cdn" not in page.lower()


def test_every_table_exports_to_csv(staff_client, dataset):
    for name in analytics.TABLES:
        response = staff_client.get(f"/staff/analytics/{name}.csv?{RANGE}")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert f"{name}-2026-03-01-2026-03-03.csv" in response.headers["Content-Disposition"]
    revenue = list(csv.reader(io.StringIO(staff_client.get(f"/staff/analytics/revenue.csv?{RANGE}").data.decode("utf-8-sig"))))
    assert revenue == [["Day", "Currency", "Payments", "Gross", "Refunded", "Net"],
                       ["2026-03-01", "USD", "2", "180.00", "0.00", "180.00"],
                       ["2026-03-02", "EUR", "1", "40.00", "0.00", "40.00"],
                       ["2026-03-02", "USD", "1", "100.00", "165.00", "-65.00"],
                       ["2026-03-03", "USD", "0", "0.00", "-10.00", "10.00"]]
    assert staff_client.get(f"/staff/analytics/nope.csv?{RANGE}").status_code == 404


def test_chart_geometry_puts_negative_days_below_zero():
    table = analytics.Table("revenue", "", [], [
        {"day": date(2026, 3, 1), "currency": "USD", "net": 1000},
        {"day": date(2026, 3, 2), "currency": "USD", "net": -500},
    ])
    [chart] = analytics.revenue_charts(table, date(2026, 3, 1), date(2026, 3, 3))
    up, down, empty = chart["bars"]
    assert up["y"] + up["h"] == pytest.approx(chart["zero_y"], abs=0.02) and down["y"] == chart["zero_y"]
    assert up["h"] == pytest.approx(2 * down["h"], abs=0.02) and empty["h"] == 0 and chart["total"] == 500


@pytest.mark.parametrize("query,message", [("start=banana", "Dates must look like"),
                                           ("start=2020-01-01&end=2026-01-01", "at most 366 days"),
                                           ("start=2026-03-05&end=2026-03-01", None)])
def test_bad_or_odd_ranges_never_fail(staff_client, query, message):
    response = staff_client.get(f"/staff/analytics?{query}")
    assert response.status_code == 200
    if message:
        assert message in response.get_data(as_text=True)
    else:
        assert 'value="2026-03-01"' in response.get_data(as_text=True)

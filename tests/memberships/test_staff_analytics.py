"""Membership analytics against a small dataset whose answers are worked out by hand.

Range: 2026-03-01 … 2026-03-03 (its end: 2026-03-04 00:00 UTC). Rows just outside it must
not count. Members and MRR are as of the end of the range; yearly prices count ÷ 12.
"""
import csv
import io
from datetime import date, datetime, timezone

import pytest

from extensions import db
from services import analytics
from tests import factories
from tests.memberships import pages_builders as build
from tests.staff.builders import at

RANGE = "start=2026-03-01&end=2026-03-03"


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.fixture
def dataset(app):
    usd = build.membership("All-Access", monthly=2900, yearly=29000, currency="USD")
    eur = build.membership("Euro Club", monthly=1000, yearly=None, currency="EUR")
    u = [factories.user(email=f"m{i}@example.com") for i in range(1, 11)]
    sub = build.subscription
    s1 = sub(u[0], usd, "ACTIVE", started_at=utc(2026, 2, 10))                     # member, 29.00
    s2 = sub(u[1], usd, "ACTIVE", interval="YEAR", started_at=at("2026-03-01", 10))  # new 03-01, 290.00 ÷ 12
    s3 = sub(u[2], usd, "TRIALING", started_at=at("2026-03-02"), trial_end=at("2026-03-16"))  # new 03-02, trial
    sub(u[3], usd, "CANCELED", started_at=utc(2026, 1, 5), ended_at=at("2026-03-03"))  # churned 03-03
    s5 = sub(u[4], usd, "CANCELED", started_at=utc(2026, 1, 5), ended_at=utc(2026, 3, 5))  # ended after: member
    sub(u[5], usd, "INCOMPLETE_EXPIRED", started_at=at("2026-03-02"))               # never live
    s7 = sub(u[6], eur, "PAST_DUE", started_at=utc(2026, 2, 1))                      # member, 10.00 EUR
    sub(u[7], usd, "UNPAID", started_at=utc(2026, 2, 1))                             # not a member
    sub(u[8], usd, "ACTIVE", started_at=utc(2026, 3, 4))                             # after the range
    s10 = sub(u[0], eur, "ACTIVE", started_at=utc(2026, 2, 28, 23, 59, 59))          # member, not new
    invoice = build.invoice
    invoice(s1, "paid", amount=2900, paid_at=at("2026-03-01"), reason="subscription_cycle")
    invoice(s2, "paid", amount=29000, paid_at=at("2026-03-01", 10))
    invoice(s3, "paid", amount=0, paid_at=at("2026-03-02"))
    invoice(s7, "paid", amount=1000, paid_at=utc(2026, 2, 28, 23, 59, 59))
    invoice(s7, "open", amount=1000, reason="subscription_cycle", failed_at=at("2026-03-02"), attempt_count=2)
    invoice(s7, "open", amount=1000, reason="subscription_cycle", failed_at=utc(2026, 3, 4))
    invoice(s3, "open", amount=2900, reason="subscription_create", failed_at=at("2026-03-02"))
    invoice(s10, "paid", amount=1000, paid_at=at("2026-03-03", 8), amount_refunded=1000, refunded_at=at("2026-03-03", 9))
    invoice(s5, "paid", amount=2900, paid_at=utc(2026, 2, 20), amount_refunded=500, refunded_at=at("2026-03-02"))
    # One-off sales: a course sale counts; a subscription checkout's own session does not
    # (its money is the invoice's).
    course = factories.course(price=10000, currency="USD")
    factories.payment_session(u[9], course, "COMPLETED", created_at=at("2026-03-02"))
    factories.payment_session(u[1], course, "COMPLETED", created_at=at("2026-03-01", 10), membership_id=usd.id)
    return date(2026, 3, 1), date(2026, 3, 3)


def test_members_and_mrr_at_the_end_of_the_range(dataset):
    assert analytics.members_and_mrr(*dataset).rows == [
        {"membership": "All-Access", "currency": "USD", "members": 4, "trialing": 1, "mrr": 2900 + 2417 + 2900},
        {"membership": "Euro Club", "currency": "EUR", "members": 2, "trialing": 0, "mrr": 2000},
    ]
    assert analytics.membership_totals(*dataset) == [
        {"currency": "EUR", "members": 2, "trialing": 0, "mrr": 2000},
        {"currency": "USD", "members": 4, "trialing": 1, "mrr": 8217},
    ]


def test_new_churned_and_failed_renewals_per_day(dataset):
    assert analytics.members_by_day(*dataset).rows == [
        {"day": date(2026, 3, 1), "new": 1, "churned": 0, "failed": 0},
        {"day": date(2026, 3, 2), "new": 1, "churned": 0, "failed": 1},
        {"day": date(2026, 3, 3), "new": 0, "churned": 1, "failed": 0},
    ]


def test_membership_revenue_beside_one_off_sales(dataset):
    assert analytics.revenue_by_product(*dataset).rows == [
        {"currency": "EUR", "one_off": 0, "memberships_gross": 1000, "memberships_refunded": 1000, "memberships": 0,
         "total": 0, "share": None},
        {"currency": "USD", "one_off": 10000, "memberships_gross": 31900, "memberships_refunded": 500,
         "memberships": 31400, "total": 41400, "share": 75.8},
    ]
    # One-off totals leave the subscription checkout out.
    assert [(t["currency"], t["gross"]) for t in analytics.totals(*dataset)] == [("USD", 10000)]


def test_the_page_and_its_csv_files(dataset, client, staff, sign_in):
    sign_in(client, staff)
    page = client.get(f"/staff/analytics?{RANGE}").get_data(as_text=True)
    assert "$82.17" in page and "4 members on 2026-03-03" in page and "1 in a trial" in page
    for name in ("mrr", "members", "products"):
        assert f"/staff/analytics/{name}.csv?" in page
    response = client.get(f"/staff/analytics/mrr.csv?{RANGE}")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert response.headers["Content-Disposition"] == 'attachment; filename="mrr-2026-03-01-2026-03-03.csv"'
    assert rows == [["Membership", "Currency", "Members", "In a trial", "MRR"],
                    ["All-Access", "USD", "4", "1", "82.17"], ["Euro Club", "EUR", "2", "0", "20.00"]]
    products = list(csv.reader(io.StringIO(client.get(f"/staff/analytics/products.csv?{RANGE}")
                                           .get_data(as_text=True).lstrip("\ufeff"))))
    assert products[2] == ["USD", "100.00", "319.00", "5.00", "314.00", "414.00", "75.8"]


def test_an_empty_range_says_so(app, client, staff, sign_in):
    sign_in(client, staff)
    page = client.get(f"/staff/analytics?{RANGE}").get_data(as_text=True)
    assert "No members at the end of this range." in page
    assert db.session.scalar(db.select(db.func.count()).select_from(analytics.Subscription)) == 0

"""Staff analytics per bundle against a small dataset worked out by hand (issue 20): sales
completed in the range, their gross and discounts, refunds made in the range (whatever the
sale's day), net; the page and the CSV; the per-course conversion says bundle sales are counted
separately (and does not count them). Range 2026-03-01 … 2026-03-03."""
import csv
import io
from datetime import date, datetime, timezone

import pytest

from extensions import db
from services import analytics
from tests import factories
from tests.staff import builders
from tests.staff.builders import at

RANGE = "start=2026-03-01&end=2026-03-03"


def _bundle_sale(user, bundle, status, when, *, discount=0, **fields):
    first = bundle.courses[0]
    ps = factories.payment_session(user, first, status, hold=False, created_at=when, amount=bundle.price_amount,
                                   currency=bundle.currency, discount_amount=discount,
                                   final_amount=bundle.price_amount - discount, **fields)
    ps.course_id, ps.bundle_id = None, bundle.id
    db.session.commit()
    return ps


@pytest.fixture
def dataset(bundle, jpy_bundle, courses):
    u1, u2, u3, u4 = (factories.user(email=f"b{i}@example.com") for i in range(1, 5))
    _bundle_sale(u1, bundle, "COMPLETED", at("2026-03-01"))
    _bundle_sale(u2, bundle, "COMPLETED", at("2026-03-02"), discount=770)
    refunded = _bundle_sale(u3, bundle, "REFUNDED", at("2026-03-02"))
    builders.refund(refunded, 7700, at("2026-03-03"))
    # Sold just before the range, refunded in part inside it: the refund counts, the sale does not.
    february = _bundle_sale(u4, bundle, "COMPLETED", datetime(2026, 2, 28, 23, 59, 59, tzinfo=timezone.utc))
    builders.refund(february, 2000, at("2026-03-02", 8))
    _bundle_sale(u4, bundle, "PENDING", at("2026-03-02"))  # not paid
    _bundle_sale(u1, bundle, "COMPLETED", datetime(2026, 3, 4, tzinfo=timezone.utc))  # after the range
    _bundle_sale(u2, jpy_bundle, "COMPLETED", at("2026-03-03"))
    # A single-course sale: in the per-course conversion, not in the bundle table.
    factories.payment_session(u4, courses[0], "COMPLETED", hold=False, created_at=at("2026-03-01"))
    db.session.commit()
    return date(2026, 3, 1), date(2026, 3, 3)


def test_sales_per_bundle(dataset):
    assert analytics.sales_by_bundle(*dataset).rows == [
        {"bundle": "JP bundle", "currency": "JPY", "sales": 1, "gross": 5000, "discount": 0, "refunded": 0,
         "net": 5000},
        {"bundle": "Starter bundle", "currency": "USD", "sales": 3, "gross": 22330, "discount": 770,
         "refunded": 9700, "net": 12630},
    ]


def test_conversion_per_course_counts_single_course_checkouts_and_says_so(dataset, courses):
    table = analytics.conversion_by_course(*dataset)
    assert table.rows == [{"course": courses[0].title, "started": 1, "paid": 1, "rate": 100.0}]
    assert "bundle sales are counted separately" in table.note


def test_the_page_and_the_csv(client, sign_in, staff, dataset):
    sign_in(client, staff)
    page = client.get(f"/staff/analytics?{RANGE}").get_data(as_text=True)
    section = page[page.index('id="table-bundles"'):]
    section = section[:section.index("</section>")]
    assert "Sales per bundle" in section and "Starter bundle" in section and "$223.30" in section
    assert "$97.00" in section and "$126.30" in section and "¥5,000" in section
    assert 'href="/staff/analytics/bundles.csv?start=2026-03-01&amp;end=2026-03-03"' in section
    note = page[page.index('data-testid="table-note-conversion"'):]
    assert "bundle sales are counted separately, in “Sales per bundle”" in note[:300]
    response = client.get(f"/staff/analytics/bundles.csv?{RANGE}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))  # Excel's BOM, as every CSV
    assert rows == [
        ["Bundle", "Currency", "Sales", "Gross", "Discount given", "Refunded", "Net"],
        ["JP bundle", "JPY", "1", "5000", "0", "0", "5000"],
        ["Starter bundle", "USD", "3", "223.30", "7.70", "97.00", "126.30"],
    ]

"""CSV exports: formula-looking cells are neutralised (OWASP CSV injection), UTF-8 with BOM."""
import csv
import io
import pytest

from services import csv_export
from tests import factories
from tests.staff import builders
from tests.staff.builders import at


@pytest.mark.parametrize("cell, expected", [
    ("=HYPERLINK(\"http://evil.example\",\"x\")", "'=HYPERLINK(\"http://evil.example\",\"x\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("-65.00", "-65.00"),  # a plain number stays a number
    ("+3", "+3"),
    ("12", "12"),
    ("Python 101", "Python 101"),
    ("a=b", "a=b"),
    (None, ""),
    (7, "7"),
])
def test_cells_that_a_spreadsheet_would_evaluate_are_prefixed(cell, expected):
    assert csv_export.safe_cell(cell) == expected


def test_files_are_utf8_with_a_byte_order_mark():
    data = csv_export.to_bytes([["Name"], ["Zoë"], ["=1+1"]])
    assert data.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [["Name"], ["Zoë"], ["'=1+1"]]


def test_a_course_named_like_a_formula_is_exported_as_text(staff_client):
    course = factories.course(slug="evil", title='=HYPERLINK("http://evil.example","Zoë")', price=1000)
    factories.payment_session(factories.user(email="buyer@example.com"), course, "COMPLETED",
                              created_at=at("2026-03-01", 10))
    response = staff_client.get("/staff/analytics/conversion.csv?start=2026-03-01&end=2026-03-01")
    assert response.status_code == 200 and response.content_type == "text/csv; charset=utf-8"
    assert response.data.startswith(b"\xef\xbb\xbf")
    header, row = csv.reader(io.StringIO(response.data.decode("utf-8-sig")))
    assert header[0] == "Course" and row[:3] == ['\'=HYPERLINK("http://evil.example","Zoë")', "1", "1"]

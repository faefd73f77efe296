"""CSV files for spreadsheets: formula-looking cells neutralised, UTF-8 with a byte-order mark.

Spreadsheet programs run a cell that begins with `=`, `+`, `-` or `@` (and, in some, a tab or
carriage return) as a formula, so a course named `=HYPERLINK(…)` would become a live link or
worse on a staff member's machine (OWASP "CSV injection"). Such cells get a leading `'`, which
spreadsheets show as text and do not display. Plain numbers (`-65.00`, refunds in analytics)
are left alone: a number cannot be a formula, and prefixing it would turn it into text.
The byte-order mark makes Excel read the file as UTF-8, so names like "Zoë" show right.
"""
import csv
import io
import re
from collections.abc import Iterable

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
BOM = "\ufeff"


def safe_cell(value: object) -> str:
    """`value` as text a spreadsheet shows as it is, never evaluates."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def to_bytes(rows: Iterable[Iterable[object]]) -> bytes:
    """The rows (header first) as a UTF-8 CSV file with a byte-order mark."""
    buffer = io.StringIO()
    buffer.write(BOM)
    csv.writer(buffer).writerows([safe_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8")

"""The one test of whether a request wants an htmx fragment rather than a whole page."""
from flask import request


def wants_fragment() -> bool:
    """An htmx request for a fragment; hx-boost navigation also sends HX-Request but wants
    the whole page (STYLE.md), and so does htmx restoring a pushed URL it no longer has in
    its history cache (HX-History-Restore-Request). Views that branch on this add
    `Vary: HX-Request`."""
    headers = request.headers
    return (headers.get("HX-Request") == "true" and headers.get("HX-Boosted") != "true"
            and headers.get("HX-History-Restore-Request") != "true")

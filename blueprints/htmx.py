"""The one test of whether a request wants an htmx fragment rather than a whole page."""
from flask import request


def wants_fragment() -> bool:
    """An htmx request for a fragment; hx-boost navigation also sends HX-Request but wants
    the whole page (STYLE.md). Views that branch on this add `Vary: HX-Request`."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"

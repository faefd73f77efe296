"""Staff pages under /staff: coupons, courses, payments, enrollments, webhooks, analytics, audit, users.

`bp` is defined here so the page modules import it without importing each other; `routes`
(the module the app registers) guards the whole blueprint and loads every page module.
Shared view helpers live in `helpers`, the staff forms in `forms`.
"""
from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

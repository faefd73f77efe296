"""The "what would this learner pay?" panel both the learner page and the coupon page show.

Parsing only: the answer is `services/coupons/dry_run.what_would_pay` for a course, and for a
bundle (`bundle_id`, issue 20) `services/bundles/catalog.offer` — `purchases.offer`, the price the
bundle page and its checkout give, with the learner's owned courses taken off. A course, bundle
or learner that does not exist is a message in the panel, never an error page.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import request

from blueprints.staff.helpers import int_arg
from models import User, utcnow
from services.bundles import admin as bundle_admin, catalog as bundle_catalog
from services.coupons import dry_run
from services.courses import admin as course_admin
from services.errors import NotFound
from services.people import accounts


@dataclass
class Panel:
    courses: list
    course_id: int | None = None
    code: str = ""
    email: str = ""
    result: dry_run.DryRun | None = None
    problem: str | None = None
    bundles: list = ()
    bundle_id: int | None = None
    bundle_offer: object | None = None  # purchases.PurchaseOffer for a bundle


def panel(*, learner: User | None = None, code: str | None = None) -> Panel:
    """The panel from the query string (course_id, code, email); a learner or code given by the page wins."""
    shown = Panel(courses=course_admin.all_courses(), course_id=int_arg("course_id"),
                  code=code if code is not None else request.args.get("code", "")[:64],
                  email=learner.email if learner else request.args.get("email", "")[:254].strip(),
                  bundles=[bundle for bundle, _ in bundle_admin.list_with_sales()], bundle_id=int_arg("bundle_id"))
    wants_bundle = bool(request.args.get("bundle_id"))
    if "course_id" not in request.args and not wants_bundle:
        return shown
    try:
        if wants_bundle:  # a bundle chosen wins over the course select
            bundle = bundle_admin.get(shown.bundle_id or 0)
        else:
            course = course_admin.get(shown.course_id or 0)
        if learner is None and shown.email:
            learner = accounts.require_by_email(shown.email)
    except NotFound as error:
        shown.problem = error.message
        return shown
    if wants_bundle:
        shown.course_id = None
        shown.bundle_offer = bundle_catalog.offer(bundle, learner, shown.code, utcnow())
    else:
        shown.result = dry_run.what_would_pay(course, shown.code, learner, utcnow())
    return shown

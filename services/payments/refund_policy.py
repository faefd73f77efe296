"""The refund policy: what staff set, how it applies to one course, and the words learners read.

One policy (the `refund_policy` row; absent = the defaults below) and per-course overrides
(`course_refund_overrides`: "no refunds", or a course's own window and progress limit). Every
change is audited with before and after. `terms_for(course)` is the one answer to "what are the
refund terms of this course?", `terms_for_payment(payment)` to "…of this purchase?" (a course's,
or a bundle's: `terms_for_courses`, the strictest terms among its courses, issue 20), and
`progress_of` to "how much of it has the learner used?"; `describe(terms)` turns terms into the
sentences shown on the course and bundle pages, the receipt and the refund request page. `revokes_access(terms, full=…)` is the one rule for
access after a refund. Whatever the terms, a coupon use is not given back by a refund.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

import sqlalchemy as sa
from flask import current_app

from extensions import db
from models import Course, CourseRefundOverride, PaymentSession, RefundPolicy, User
from services import audit, products
from services.errors import FieldErrors

DEFAULT_WINDOW_DAYS = 14
DEFAULT_MAX_PROGRESS_PERCENT = 30
MAX_WINDOW_DAYS = 365
POLICY_ID = 1
COUPON_NOTE = "A coupon used for the purchase is not given back by a refund."


@dataclass(frozen=True)
class Terms:
    """The refund terms of one course: the policy, or the course's override where it has one."""
    window_days: int            # 0: no self-service refunds
    max_progress_percent: int   # automatic up to this progress; above it staff decide
    revokes_access: bool
    no_refunds: bool = False
    overridden: bool = False
    noun: str = "course"        # what they are the terms of: "course", "bundle", "learning path"
    strict_course: str | None = None  # several courses: the title of the one whose own terms apply

    @property
    def self_service(self) -> bool:
        return not self.no_refunds and self.window_days > 0


def policy() -> RefundPolicy:
    """The policy row, or an unsaved one holding the defaults."""
    return db.session.get(RefundPolicy, POLICY_ID) or RefundPolicy(
        id=POLICY_ID, window_days=DEFAULT_WINDOW_DAYS, max_progress_percent=DEFAULT_MAX_PROGRESS_PERCENT,
        revokes_access=True)


def override_for(course: Course) -> CourseRefundOverride | None:
    return db.session.get(CourseRefundOverride, course.id)


def terms_for_policy() -> Terms:
    """The policy's own terms (a course without an override)."""
    base = policy()
    return Terms(base.window_days, base.max_progress_percent, base.revokes_access)


TERMS_COLUMNS = (RefundPolicy.window_days, RefundPolicy.max_progress_percent, RefundPolicy.revokes_access,
                 CourseRefundOverride.course_id.label("override"), CourseRefundOverride.no_refunds,
                 CourseRefundOverride.window_days.label("own_window"),
                 CourseRefundOverride.max_progress_percent.label("own_progress"))


def with_terms(query: sa.Select, course_id) -> sa.Select:
    """`query` outer-joined to the policy row and the override of `course_id` (a value or a
    column), so that TERMS_COLUMNS can be selected with it: a page listing purchases reads the
    terms of all their courses in its own statement (`terms_from` turns each row into Terms)."""
    return (query.outerjoin(RefundPolicy, RefundPolicy.id == POLICY_ID)
            .outerjoin(CourseRefundOverride, CourseRefundOverride.course_id == course_id))


def terms_for(course: Course | int | None) -> Terms:
    """The terms of a course (or course id). None: the policy's own terms (a purchase of
    several courses has the strictest of theirs: `terms_for_payment`)."""
    course_id = course if course is None or isinstance(course, int) else course.id
    # One statement (every paid course page asks): the policy row and the course's override,
    # each outer-joined to a one-row anchor so that either may be missing.
    anchor = sa.select(sa.literal(1).label("one")).subquery("anchor")
    return terms_from(db.session.execute(with_terms(sa.select(*TERMS_COLUMNS).select_from(anchor), course_id)).one())


def window_days_of(course_id: int | None) -> int:
    """Days after payment during which a purchase of the course can be refunded by the learner
    (0 when the course takes no refunds): a referral reward is earned when they are over."""
    terms = terms_for(course_id)  # None (a bundle's payment): the policy's terms, as its refunds
    return 0 if terms.no_refunds else terms.window_days


def window_days_of_payment(payment: PaymentSession) -> int:
    """`window_days_of` for one purchase, with its own terms (`terms_for_payment`): a bundle's or
    a path's are the strictest among its courses, so its reward waits for its real window."""
    terms = terms_for_payment(payment)
    return 0 if terms.no_refunds else terms.window_days


def terms_for_courses(courses: Iterable[Course], noun: str = "bundle") -> Terms:
    """The refund terms of a purchase of several courses (a bundle, a path's paid courses): the
    strictest terms among them, so that a course's own terms are never loosened by buying it in
    a bundle. One statement (the policy and the courses' overrides).

    - any course with "no refunds" → the purchase cannot be refunded through self-service;
    - window and progress limit: the smallest among the courses (the policy's for a course
      without an override);
    - any course with its own terms → `overridden` (staff look at each request, as for that
      course alone); access after a refund: the policy's, as for every course.
    No courses (nothing sold course by course): the policy's terms."""
    courses = list(courses)
    base = terms_for_policy()
    if not courses:
        return replace(base, noun=noun)
    overrides = {row.course_id: row for row in db.session.scalars(db.select(CourseRefundOverride).where(
        CourseRefundOverride.course_id.in_([course.id for course in courses])))}
    each = [(course, base if course.id not in overrides else Terms(
        window_days=base.window_days if overrides[course.id].window_days is None else overrides[course.id].window_days,
        max_progress_percent=(base.max_progress_percent if overrides[course.id].max_progress_percent is None
                              else overrides[course.id].max_progress_percent),
        revokes_access=base.revokes_access, no_refunds=overrides[course.id].no_refunds, overridden=True))
        for course in courses]
    strict = next((course for course, terms in each if terms.no_refunds), None) or \
        next((course for course, terms in each if terms.overridden), None)
    return Terms(window_days=min(terms.window_days for _, terms in each),
                 max_progress_percent=min(terms.max_progress_percent for _, terms in each),
                 revokes_access=base.revokes_access, no_refunds=any(terms.no_refunds for _, terms in each),
                 overridden=any(terms.overridden for _, terms in each), noun=noun,
                 strict_course=strict.title if strict is not None else None)


def terms_for_payment(payment: PaymentSession) -> Terms:
    """The refund terms of one purchase: its course's (`terms_for`), or for a product sold
    course by course its courses' strictest (`terms_for_courses`). The one function the
    learner's self-service, staff's refunds and refund queue, the receipt and its mail ask."""
    if payment.course_id is not None:
        return terms_for(payment.course_id)
    return terms_for_courses(products.courses_of(payment), noun=products.sold(payment).kind.lower().replace("_", " "))


def progress_of(progresses: Iterable[float]) -> float:
    """How much of a purchase the learner has completed, in percent, from the progress of each
    enrollment it paid for: a course's own progress; a bundle's is the average over its courses
    (each course counts once; one course finished out of four is 25% of the bundle). 0 with none."""
    values = list(progresses)
    return sum(values) / len(values) if values else 0.0


def terms_from(row) -> Terms:
    """Terms from a row holding TERMS_COLUMNS (NULL policy columns: the defaults)."""
    window = DEFAULT_WINDOW_DAYS if row.window_days is None else row.window_days
    progress = DEFAULT_MAX_PROGRESS_PERCENT if row.max_progress_percent is None else row.max_progress_percent
    revokes = True if row.revokes_access is None else row.revokes_access
    if row.override is None:
        return Terms(window, progress, revokes)
    return Terms(window_days=window if row.own_window is None else row.own_window,
                 max_progress_percent=progress if row.own_progress is None else row.own_progress,
                 revokes_access=revokes, no_refunds=row.no_refunds, overridden=True)


def update(*, window_days, max_progress_percent, revokes_access: bool, actor: User) -> RefundPolicy:
    """Change the policy (FieldErrors on window_days / max_progress_percent); audited."""
    _check(window_days, max_progress_percent, allow_none=False)
    row = db.session.get(RefundPolicy, POLICY_ID, with_for_update=True)
    before = _snapshot(row or policy())
    if row is None:
        row = policy()
        db.session.add(row)
    row.window_days, row.max_progress_percent, row.revokes_access = window_days, max_progress_percent, bool(revokes_access)
    db.session.flush()
    audit.record("refund_policy.updated", row, actor=actor, before=before, after=_snapshot(row))
    return row


def set_course_override(course: Course, *, mode: str, window_days=None, max_progress_percent=None,
                        actor: User) -> CourseRefundOverride | None:
    """mode "policy" (remove the override), "no_refunds", or "custom" (own window and/or progress limit)."""
    if errors := override_problems(mode, window_days, max_progress_percent):
        raise FieldErrors(errors)
    override = override_for(course)
    before = _override_snapshot(override)
    if mode == "policy":
        if override is not None:
            db.session.delete(override)
            db.session.flush()
            audit.record("refund_policy.course_override_removed", course, actor=actor, before=before)
        return None
    if mode != "custom":
        window_days = max_progress_percent = None
    if override is None:
        override = CourseRefundOverride(course_id=course.id)
        db.session.add(override)
    override.no_refunds = mode == "no_refunds"
    override.window_days, override.max_progress_percent = window_days, max_progress_percent
    db.session.flush()
    audit.record("refund_policy.course_override_set", course, actor=actor, before=before,
                 after=_override_snapshot(override))
    return override


def describe(terms: Terms) -> str:
    """The terms in words, for the course and bundle pages, the receipt and the refund request page."""
    several = terms.noun != "course"
    if terms.no_refunds:
        if several and terms.strict_course:
            return (f"This {terms.noun} cannot be refunded: the course “{terms.strict_course}” in it cannot be "
                    "refunded, and the strictest terms of its courses apply to the whole.")
        return f"This {terms.noun} cannot be refunded."
    completed = (f"of the {terms.noun} completed (the average of its courses' progress)" if several
                 else "of the course completed")
    if terms.window_days == 0:
        first = ("Refunds are not self-service: write to us and staff will look at your request, taking into "
                 f"account how much of the {terms.noun} you have completed.")
    else:
        days = "1 day" if terms.window_days == 1 else f"{terms.window_days} days"
        first = (f"You can ask for a refund within {days} of buying. Up to {terms.max_progress_percent}% "
                 f"{completed}, you get it without questions; beyond that, staff look at your request.")
    if several and terms.overridden and terms.strict_course:
        first += (f" The course “{terms.strict_course}” in it has its own refund terms, so staff look at every "
                  "request, and the strictest terms of its courses apply to the whole.")
    if several:  # the same rule, said of every course the purchase gave
        if not terms.revokes_access:
            access = f" You keep access to the courses of a refunded {terms.noun}."
        elif partial_refund_keeps_access():
            access = (f" The courses of a refunded {terms.noun} are no longer available to you; after a partial "
                      "refund you keep access to them.")
        else:
            access = f" The courses of a {terms.noun} refunded in full or in part are no longer available to you."
    elif not terms.revokes_access:
        access = " You keep access to a refunded course."
    elif partial_refund_keeps_access():
        access = (" A refunded course is no longer available to you; after a partial refund you keep access "
                  "to it.")
    else:
        access = " A refunded course, in full or in part, is no longer available to you."
    return f"{first}{access} {COUPON_NOTE}"


def partial_refund_keeps_access() -> bool:
    """The PARTIAL_REFUND_KEEPS_ACCESS setting: the one place it is read (default: keep access)."""
    return bool(current_app.config.get("PARTIAL_REFUND_KEEPS_ACCESS", True))


def revokes_access(terms: Terms, *, full: bool) -> bool:
    """Whether a refund ends the learner's access: the one rule (issue 19), applied by
    refunds.enforce to every refund (staff, learners' self-service, refunds made on Stripe).

    - full refund: revokes exactly when the terms say so (the policy's "a refund revokes
      access"; a course's override keeps the policy's answer);
    - partial refund: revokes only when the terms revoke AND the operator turned
      PARTIAL_REFUND_KEEPS_ACCESS off. A partial refund is a goodwill gesture by default; the
      setting can make it stricter, never revoke where the policy promises access.
    `describe` words the same rule for learners.
    """
    return terms.revokes_access and (full or not partial_refund_keeps_access())


def problems(window_days, max_progress_percent, *, allow_none: bool = False) -> dict[str, str]:
    """{field: message} for a window or progress limit out of range (empty when both are fine)."""
    errors = {}
    if not _whole_in(window_days, 0, MAX_WINDOW_DAYS, allow_none):
        errors["window_days"] = f"The refund window is a whole number of days from 0 to {MAX_WINDOW_DAYS}."
    if not _whole_in(max_progress_percent, 0, 100, allow_none):
        errors["max_progress_percent"] = "The progress limit is a whole percentage from 0 to 100."
    return errors


def override_problems(mode: str, window_days=None, max_progress_percent=None) -> dict[str, str]:
    """{field: message} for every reason `set_course_override` would refuse these terms (empty
    when none), for a form that also has errors of its own to show with them."""
    if mode not in ("policy", "no_refunds", "custom"):
        return {"mode": "Choose the policy, no refunds, or the course's own terms."}
    if mode != "custom":
        return {}
    errors = problems(window_days, max_progress_percent, allow_none=True)
    if window_days is None and max_progress_percent is None:
        errors["window_days"] = "Give the course's own window or progress limit, or choose the policy."
    return errors


def _check(window_days, max_progress_percent, *, allow_none: bool) -> None:
    if errors := problems(window_days, max_progress_percent, allow_none=allow_none):
        raise FieldErrors(errors)


def _whole_in(value, low: int, high: int, allow_none: bool) -> bool:
    if value is None:
        return allow_none
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _snapshot(row: RefundPolicy) -> dict:
    return {"window_days": row.window_days, "max_progress_percent": row.max_progress_percent,
            "revokes_access": row.revokes_access}


def _override_snapshot(override: CourseRefundOverride | None) -> dict | None:
    if override is None:
        return None
    return {"no_refunds": override.no_refunds, "window_days": override.window_days,
            "max_progress_percent": override.max_progress_percent}

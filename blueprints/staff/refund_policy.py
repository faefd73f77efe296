"""The refund policy page: the policy's settings and the courses with their own terms (issue 19)."""
from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from blueprints.forms import errors_onto, rule_errors_onto
from blueprints.staff import bp
from blueprints.staff.forms import CourseRefundOverrideForm, RefundPolicyForm, choices
from extensions import db
from services.courses import admin as course_admin
from services.errors import DomainError
from services.payments import refund_policy


def _override_form(*, posted: bool) -> CourseRefundOverrideForm:
    form = CourseRefundOverrideForm() if posted else CourseRefundOverrideForm(formdata=None)
    form.course_id.choices = choices((c.id, c.title) for c in course_admin.all_courses())
    return form


def _page(policy_form: RefundPolicyForm | None = None, override_form: CourseRefundOverrideForm | None = None):
    policy = refund_policy.policy()
    courses = course_admin.all_courses()
    terms = {c.id: refund_policy.terms_for(c) for c in courses}
    page = render_template(
        "staff/refund_policy.html", policy=policy,
        policy_form=policy_form or RefundPolicyForm(formdata=None, obj=policy),
        override_form=override_form or _override_form(posted=False),
        courses=[c for c in courses if terms[c.id].overridden], terms=terms,
        text=refund_policy.describe(refund_policy.terms_for_policy()))
    failed = (policy_form and policy_form.errors) or (override_form and override_form.errors)
    return page, 422 if failed else 200


@bp.route("/refund-policy")
def refund_policy_page():
    return _page()


@bp.route("/refund-policy", methods=["POST"])
def refund_policy_save():
    form = RefundPolicyForm()
    if form.is_submitted() and not form.validate():
        # One submit shows every mistake: the service's ranges for what the form could read.
        rule_errors_onto(form, refund_policy.problems(form.window_days.data, form.max_progress_percent.data),
                         "window_days")
    elif form.is_submitted():
        try:
            refund_policy.update(window_days=form.window_days.data, max_progress_percent=form.max_progress_percent.data,
                                 revokes_access=form.revokes_access.data, actor=current_user)
        except DomainError as error:
            db.session.rollback()
            errors_onto(form, error, "window_days")
        else:
            db.session.commit()
            flash("Refund policy saved.", "success")
            return redirect(url_for("staff.refund_policy_page"))
    return _page(policy_form=form)


@bp.route("/refund-policy/courses", methods=["POST"])
def refund_policy_course():
    form = _override_form(posted=True)
    if form.is_submitted() and not form.validate():
        # One submit shows every mistake: the service's verdict on the terms the form could read.
        rule_errors_onto(form, refund_policy.override_problems(form.mode.data, form.window_days.data,
                                                               form.max_progress_percent.data), "course_id")
    elif form.is_submitted():
        try:
            course = course_admin.get(form.course_id.data or 0)
            refund_policy.set_course_override(course, mode=form.mode.data, window_days=form.window_days.data,
                                              max_progress_percent=form.max_progress_percent.data, actor=current_user)
        except DomainError as error:
            db.session.rollback()
            errors_onto(form, error, "course_id", rename={"mode": "mode"})
        else:
            db.session.commit()
            flash(f"Refund terms of “{course.title}” saved.", "success")
            return redirect(url_for("staff.refund_policy_page"))
    return _page(override_form=form)

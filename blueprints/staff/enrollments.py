"""Staff enrollment pages, per course: list, grant by hand, revoke, invitations, waitlist."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.forms import EmptyForm, errors_onto, rule_errors_onto
from blueprints.staff.forms import GrantForm, IssueInvitationsForm, RevokeForm, utc
from blueprints.staff import bp, confirm
from blueprints.staff.helpers import page_arg
from extensions import db
from models import Course, EnrollmentSource, EnrollmentStatus, utcnow
from services.courses import admin as course_admin
from services.people import accounts
from services.learning import enrollments as enrollment_service, invitations, waitlist
from services.errors import DomainError

def _back(course: Course):
    return redirect(url_for("staff.course_enrollments", course_id=course.id))


@bp.route("/enrollments")
def enrollments():
    return render_template("staff/enrollments/index.html", rows=course_admin.list_with_counts())


@bp.route("/enrollments/<int(max=2147483647):course_id>")
def course_enrollments(course_id: int, grant_form=None, invitation_form=None, status_code: int = 200):
    course = course_admin.get(course_id)
    status = request.args.get("status", "")
    return render_template(
        "staff/enrollments/course.html", course=course, status=status, statuses=list(EnrollmentStatus),
        rows=enrollment_service.for_course(course, status=status, page=page_arg()),
        invitations=invitations.for_course(course), waitlist=waitlist.entries(course),
        grant_form=grant_form or GrantForm(formdata=None),
        invitation_form=invitation_form or IssueInvitationsForm(formdata=None),
        revoke_form=RevokeForm(formdata=None), action_form=EmptyForm()), status_code


@bp.route("/enrollments/<int(max=2147483647):course_id>/grant", methods=["POST"])
def enrollment_grant(course_id: int):
    course = course_admin.get(course_id)
    form = GrantForm()
    if form.is_submitted() and not form.validate():
        # One submit shows every mistake: whether the email names an account, beside the form's own.
        rule_errors_onto(form, accounts.require_by_email_problems(form.email.data), "email")
    elif form.is_submitted():
        try:
            user = accounts.require_by_email(form.email.data)
            enrollment_service.grant(user, course, source=EnrollmentSource(form.source.data), now=utcnow(),
                                     actor=current_user)
        except DomainError as error:
            db.session.rollback()
            errors_onto(form, error, "email")
        else:
            db.session.commit()
            flash(f"{user.email} is enrolled in {course.title}.", "success")
            return _back(course)
    return course_enrollments(course_id, grant_form=form, status_code=422)


@bp.route("/enrollments/<int(max=2147483647):course_id>/<int(max=2147483647):enrollment_id>/revoke", methods=["POST"])
def enrollment_revoke(course_id: int, enrollment_id: int):
    course = course_admin.get(course_id)
    enrollment = enrollment_service.in_course(course, enrollment_id) or abort(404)
    form = RevokeForm()
    if not form.validate_on_submit():
        flash("Give a reason to revoke an enrollment.", "error")
        return _back(course)
    if not confirm.given():
        return confirm.ask(title=f"Revoke {enrollment.user.email}'s enrollment?", action="Revoke",
                           message=enrollment_service.describe_revoke(enrollment)
                           + f" Reason recorded: “{form.reason.data.strip()}”.",
                           cancel_url=url_for("staff.course_enrollments", course_id=course.id))
    try:
        enrollment_service.revoke(enrollment, form.reason.data.strip(), utcnow(), actor=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"Enrollment of {enrollment.user.email} revoked.", "success")
    return _back(course)


@bp.route("/enrollments/<int(max=2147483647):course_id>/invitations", methods=["POST"])
def invitations_issue(course_id: int):
    course = course_admin.get(course_id)
    form = IssueInvitationsForm()
    if form.is_submitted() and not form.validate():
        # One submit shows every mistake: the service's verdict on what the form could read.
        rule_errors_onto(form, invitations.issue_problems(form.count.data, form.email.data), "count")
    elif form.is_submitted():
        try:
            issued = invitations.issue(course, count=form.count.data, email=form.email.data,
                                       expires_at=utc(form.expires_at.data), actor=current_user)
        except DomainError as error:
            db.session.rollback()
            errors_onto(form, error, "count")
        else:
            db.session.commit()
            flash(f"{len(issued)} invitation code(s) issued: " + ", ".join(i.code for i in issued[:20])
                  + (" …" if len(issued) > 20 else ""), "success")
            return _back(course)
    return course_enrollments(course_id, invitation_form=form, status_code=422)


@bp.route("/enrollments/<int(max=2147483647):course_id>/waitlist/<int(max=2147483647):entry_id>/admit", methods=["POST"])
def waitlist_admit(course_id: int, entry_id: int):
    course = course_admin.get(course_id)
    entry = waitlist.entry_in_course(course, entry_id) or abort(404)
    if EmptyForm().validate_on_submit():
        try:
            waitlist.admit(entry, utcnow(), actor=current_user)
        except DomainError as error:  # e.g. COURSE_FULL
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(f"{entry.user.email} admitted from the waitlist.", "success")
    return _back(course)

"""Staff course pages: list, create/edit courses, and their lectures (add, edit, move, delete)."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from blueprints.forms import EmptyForm, errors_onto, rule_errors_onto
from blueprints.staff.forms import CourseForm, LectureForm
from blueprints.staff import bp, confirm
from extensions import db
from models import Course
from services.courses import admin as course_admin
from services.courses import covers, details
from services.courses.admin import CourseInput, CourseInvalid, LectureInput
from services.money import to_major


def _course_input(form: CourseForm, course: Course | None = None) -> CourseInput | None:
    """The parsed course when the form has no error of its own; else None, with the service's
    verdict on the rest added, so one submit shows every mistake."""
    if not form.is_submitted():
        return None
    form.validate()
    data = CourseInput(slug=form.slug.data or "", title=form.title.data or "", price_amount=form.price_minor(),
                       currency=form.currency.data, enrollment_type=form.enrollment_type.data,
                       short_description=form.short_description.data or "", description=form.description.data or "",
                       is_published=form.is_published.data, capacity=form.capacity.data,
                       topic=form.topic.data or "", instructor_name=form.instructor_name.data or "",
                       instructor_bio=form.instructor_bio.data or "",
                       learning_outcomes=form.learning_outcomes.data or "", requirements=form.requirements.data or "",
                       faq=form.faq.data or "", cover=form.uploaded_cover(), cover_alt=form.cover_alt.data or "",
                       remove_cover=form.remove_cover.data)
    if not form.errors:
        return data
    rule_errors_onto(form, course_admin.problems(data, exclude_id=course.id if course else None), "title")
    return None


# The course form may carry a cover: its requests may be larger than MAX_CONTENT_LENGTH.
COURSE_FORM_ENDPOINTS = {"staff.course_new", "staff.course_edit"}
COVER_FORM_ENDPOINTS = COURSE_FORM_ENDPOINTS | {"staff.bundle_new", "staff.bundle_edit"}  # bundles' covers too


@bp.url_value_preprocessor
def allow_cover_uploads(endpoint: str | None, values: dict | None) -> None:
    """Room for the text fields beside the largest cover, and as much again, so a file somewhat
    over the limit reaches the service and gets its message next to the field. Set here because
    URL preprocessors run before every before_request hook, the CSRF check's included, which is
    the first to read the body."""
    # Staff only: anyone else would make the server parse a body five times the site's limit
    # (the NUL and CSRF checks read it before the staff guard runs).
    if endpoint in COVER_FORM_ENDPOINTS and current_user.is_authenticated and current_user.is_staff:
        request.max_content_length = 2 * covers.limits()[0] + 1024 * 1024


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error: RequestEntityTooLarge):
    """A body over even that limit: the course form again, with the error on the cover field
    (for staff only: the staff guard may not have run yet), else the site's error page."""
    course_id = (request.view_args or {}).get("course_id")
    course = db.session.get(Course, course_id) if course_id else None
    if request.endpoint not in COURSE_FORM_ENDPOINTS or not (current_user.is_authenticated and current_user.is_staff) \
            or (course_id and course is None):
        return render_template("errors/error.html", status=413, title=error.name,
                               description="What you sent is too large."), 413
    form = _filled_course_form(course) if course else CourseForm(formdata=None)
    form.cover.errors = [f"The file is too large: a cover can be at most {covers.size_in_words(covers.limits()[0])}."]
    if course is None:
        return render_template("staff/courses/form.html", form=form, course=None), 413
    return _edit_page(course, form), 413


@bp.route("/courses")
def courses():
    return render_template("staff/courses/list.html", rows=course_admin.list_with_counts())


@bp.route("/courses/new", methods=["GET", "POST"])
def course_new():
    form = CourseForm()
    if (data := _course_input(form)) is not None:
        try:
            course = course_admin.create(data, actor=current_user)
        except CourseInvalid as error:
            errors_onto(form, error, "title")
        else:
            db.session.commit()
            flash(f"Course “{course.title}” created.", "success")
            return redirect(url_for("staff.course_edit", course_id=course.id))
    return render_template("staff/courses/form.html", form=form, course=None), 422 if form.errors else 200


@bp.route("/courses/<int(max=2147483647):course_id>", methods=["GET", "POST"])
def course_edit(course_id: int):
    course = course_admin.get(course_id)
    form = _filled_course_form(course) if request.method == "GET" else CourseForm()
    old_cover = course.cover_image
    if (data := _course_input(form, course)) is not None:
        try:
            course_admin.update(course, data, actor=current_user)
        except CourseInvalid as error:
            db.session.rollback()
            errors_onto(form, error, "title")
        else:
            db.session.commit()
            if old_cover != course.cover_image:
                course_admin.release_cover(old_cover)
            flash("Course saved.", "success")
            return redirect(url_for("staff.course_edit", course_id=course.id))
    return _edit_page(course, form), 422 if form.errors else 200


def _filled_course_form(course: Course) -> CourseForm:
    """The course form showing the saved course (the price in major units).

    Never from the request's form data: on a failed lecture POST that data is the lecture's."""
    form = CourseForm(formdata=None, obj=course)
    form.price.data = str(to_major(course.price_amount, course.currency))
    form.enrollment_type.data = course.enrollment_type.value
    form.learning_outcomes.data = details.bullets_text(course.learning_outcomes)
    form.requirements.data = details.bullets_text(course.requirements)
    form.faq.data = details.faq_text(course.faq)
    return form


def _edit_page(course: Course, form: CourseForm, lecture_form: LectureForm | None = None):
    return render_template("staff/courses/form.html", form=form, course=course,
                           lecture_form=lecture_form or LectureForm(formdata=None), action_form=EmptyForm())


@bp.route("/courses/<int(max=2147483647):course_id>/lectures", methods=["POST"])
def lecture_add(course_id: int):
    course = course_admin.get(course_id)
    form = LectureForm()
    if (data := _checked_lecture(form)) is not None:
        try:
            course_admin.add_lecture(course, data, actor=current_user)
        except CourseInvalid as error:
            errors_onto(form, error, "title")
        else:
            db.session.commit()
            flash("Lecture added.", "success")
            return redirect(url_for("staff.course_edit", course_id=course.id) + "#lectures")
    return _edit_page(course, _filled_course_form(course), form), 422


def _checked_lecture(form: LectureForm) -> LectureInput | None:
    """The parsed lecture when the form has no error of its own; else None, with the service's
    verdict on the rest added, so one submit shows every mistake."""
    if not form.is_submitted():
        return None
    form.validate()
    data = LectureInput(title=form.title.data or "", content=form.content.data or "",
                        duration_minutes=form.duration_minutes.data or 0, is_preview=form.is_preview.data)
    if not form.errors:
        return data
    rule_errors_onto(form, course_admin.lecture_problems(data), "title")
    return None


@bp.route("/courses/<int(max=2147483647):course_id>/lectures/<int(max=2147483647):lecture_id>", methods=["GET", "POST"])
def lecture_edit(course_id: int, lecture_id: int):
    course = course_admin.get(course_id)
    lecture = course_admin.get_lecture(course, lecture_id)
    form = LectureForm(obj=lecture) if request.method == "GET" else LectureForm()
    if (data := _checked_lecture(form)) is not None:
        try:
            course_admin.update_lecture(lecture, data, actor=current_user)
        except CourseInvalid as error:
            errors_onto(form, error, "title")
        else:
            db.session.commit()
            flash("Lecture saved.", "success")
            return redirect(url_for("staff.course_edit", course_id=course.id) + "#lectures")
    return render_template("staff/courses/lecture.html", form=form, course=course,
                           lecture=lecture), 422 if form.errors else 200


@bp.route("/courses/<int(max=2147483647):course_id>/lectures/<int(max=2147483647):lecture_id>/move", methods=["POST"])
def lecture_move(course_id: int, lecture_id: int):
    course = course_admin.get(course_id)
    lecture = course_admin.get_lecture(course, lecture_id)
    if EmptyForm().validate_on_submit():
        course_admin.move_lecture(lecture, request.form.get("direction", ""), actor=current_user)
        db.session.commit()
    return redirect(url_for("staff.course_edit", course_id=course.id) + "#lectures")


@bp.route("/courses/<int(max=2147483647):course_id>/lectures/<int(max=2147483647):lecture_id>/delete", methods=["POST"])
def lecture_delete(course_id: int, lecture_id: int):
    course = course_admin.get(course_id)
    lecture = course_admin.get_lecture(course, lecture_id)
    if EmptyForm().validate_on_submit():
        if not confirm.given():
            return confirm.ask(title=f"Delete lecture “{lecture.title}”?", action="Delete lecture",
                               message=course_admin.describe_lecture_deletion(lecture),
                               cancel_url=url_for("staff.course_edit", course_id=course.id) + "#lectures")
        course_admin.delete_lecture(lecture, actor=current_user)
        db.session.commit()
        flash("Lecture deleted.", "success")
    return redirect(url_for("staff.course_edit", course_id=course.id) + "#lectures")


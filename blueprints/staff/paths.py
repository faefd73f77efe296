"""Staff learning path pages (issue 20): list, create and edit (one submit shows every mistake)."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.forms import errors_onto, rule_errors_onto
from blueprints.staff import bp
from blueprints.staff.forms import PathForm
from extensions import db
from models import LearningPath
from services.courses import admin as course_admin
from services.money import to_major
from services.paths import admin as path_admin, catalog as path_catalog
from services.paths.admin import PathInput, PathInvalid


def _path_input(form: PathForm, path: LearningPath | None = None) -> PathInput | None:
    """The parsed path when the form has no error of its own; else None, with the service's
    verdict on the rest added, so one submit shows every mistake."""
    if not form.is_submitted():
        return None
    form.validate()
    price = form.price_minor()
    data = PathInput(slug=form.slug.data or "", name=form.name.data or "", courses=form.courses.data or "",
                     description=form.description.data or "", price_amount=price,
                     currency=form.currency.data or None, sequential=form.sequential.data,
                     is_published=form.is_published.data)
    if not form.errors:
        return data
    rule_errors_onto(form, path_admin.problems(data, exclude_id=path.id if path else None), "name")
    return None


def _page(form: PathForm, path: LearningPath | None):
    return render_template("staff/paths/form.html", form=form, path=path,
                           courses=course_admin.all_courses()), 422 if form.errors else 200


@bp.route("/paths")
def paths():
    return render_template("staff/paths/list.html", paths=path_catalog.all_paths())


@bp.route("/paths/new", methods=["GET", "POST"])
def path_new():
    form = PathForm()
    if (data := _path_input(form)) is not None:
        try:
            path = path_admin.create(data, actor=current_user)
        except PathInvalid as error:
            errors_onto(form, error, "name")
        else:
            db.session.commit()
            flash(f"Path “{path.name}” created.", "success")
            return redirect(url_for("staff.path_edit", path_id=path.id))
    return _page(form, None)


@bp.route("/paths/<int(max=2147483647):path_id>", methods=["GET", "POST"])
def path_edit(path_id: int):
    path = path_admin.get(path_id)
    form = _filled(path) if request.method == "GET" else PathForm()
    if (data := _path_input(form, path)) is not None:
        try:
            path_admin.update(path, data, actor=current_user)
        except PathInvalid as error:
            db.session.rollback()
            errors_onto(form, error, "name")
        else:
            db.session.commit()
            flash("Path saved.", "success")
            return redirect(url_for("staff.path_edit", path_id=path.id))
    return _page(form, path)


def _filled(path: LearningPath) -> PathForm:
    form = PathForm(formdata=None, obj=path)
    form.courses.data = path_admin.courses_text(path)
    form.currency.data = path.currency or ""
    form.price.data = "" if path.price_amount is None else str(to_major(path.price_amount, path.currency))
    return form

"""Staff bundle pages (issue 20): list, create, edit, retire. The rules are services/bundles/admin's."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.forms import EmptyForm, errors_onto, rule_errors_onto
from blueprints.staff import bp, confirm
from blueprints.staff.forms import BundleForm
from extensions import db
from models import Bundle, utcnow
from services.bundles import admin as bundle_admin
from services.bundles.admin import BundleInput, BundleInvalid
from services.money import to_major


def _form_choices(form: BundleForm) -> None:
    form.course_ids.choices = [(course.id, f"{course.title} ({course.currency} "
                                           f"{to_major(course.price_amount, course.currency)})")
                               for course in bundle_admin.sellable_courses()]


def _bundle_input(form: BundleForm, bundle: Bundle | None = None) -> BundleInput | None:
    """The parsed bundle when the form has no error of its own; else None with the service's
    verdict on the rest, so one submit shows every mistake."""
    if not form.is_submitted():
        return None
    form.validate()
    data = BundleInput(slug=form.slug.data or "", name=form.name.data or "", price_amount=form.price_minor(),
                       currency=form.currency.data, course_ids=list(form.course_ids.data or []),
                       description=form.description.data or "", is_published=form.is_published.data,
                       cover=form.uploaded_cover(), cover_alt=form.cover_alt.data or "",
                       remove_cover=form.remove_cover.data)
    if not form.errors:
        return data
    rule_errors_onto(form, bundle_admin.problems(data, exclude_id=bundle.id if bundle else None), "name")
    return None


@bp.route("/bundles")
def bundles():
    return render_template("staff/bundles/list.html", rows=bundle_admin.list_with_sales())


@bp.route("/bundles/new", methods=["GET", "POST"])
def bundle_new():
    form = BundleForm()
    _form_choices(form)
    if (data := _bundle_input(form)) is not None:
        try:
            bundle = bundle_admin.create(data, actor=current_user)
        except BundleInvalid as error:
            db.session.rollback()
            errors_onto(form, error, "name")
        else:
            db.session.commit()
            flash(f"Bundle “{bundle.name}” created.", "success")
            return redirect(url_for("staff.bundle_edit", bundle_id=bundle.id))
    return render_template("staff/bundles/form.html", form=form, bundle=None), 422 if form.errors else 200


@bp.route("/bundles/<int(max=2147483647):bundle_id>", methods=["GET", "POST"])
def bundle_edit(bundle_id: int):
    bundle = bundle_admin.get(bundle_id)
    if request.method == "GET":
        form = BundleForm(formdata=None, obj=bundle)
        form.price.data = str(to_major(bundle.price_amount, bundle.currency))
        form.course_ids.data = [course.id for course in bundle.courses]
    else:
        form = BundleForm()
    _form_choices(form)
    old_cover = bundle.cover_image
    if bundle.retired_at is None and (data := _bundle_input(form, bundle)) is not None:
        try:
            bundle_admin.update(bundle, data, actor=current_user)
        except BundleInvalid as error:
            db.session.rollback()
            errors_onto(form, error, "name")
        else:
            db.session.commit()
            if old_cover != bundle.cover_image:
                bundle_admin.release_cover(old_cover)
            flash("Bundle saved.", "success")
            return redirect(url_for("staff.bundle_edit", bundle_id=bundle.id))
    return (render_template("staff/bundles/form.html", form=form, bundle=bundle, retire_form=EmptyForm()),
            422 if form.errors else 200)


@bp.route("/bundles/<int(max=2147483647):bundle_id>/retire", methods=["POST"])
def bundle_retire(bundle_id: int):
    bundle = bundle_admin.get(bundle_id)
    if EmptyForm().validate_on_submit():
        if not confirm.given():
            return confirm.ask(title=f"Retire the bundle {bundle.name}?", action="Retire",
                               message=bundle_admin.describe_retirement(bundle),
                               cancel_url=url_for("staff.bundle_edit", bundle_id=bundle.id))
        bundle_admin.retire(bundle, actor=current_user, now=utcnow())
        db.session.commit()
        flash(f"Bundle “{bundle.name}” retired.", "success")
    return redirect(url_for("staff.bundle_edit", bundle_id=bundle.id))

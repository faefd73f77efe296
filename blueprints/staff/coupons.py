"""Staff coupon pages: list, create/edit, live code check, (de)activate, delete, bulk codes."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.forms import EmptyForm, errors_onto, rule_errors_onto
from blueprints.staff.forms import BulkCouponForm, CouponEditForm, choices, utc
from blueprints.staff import bp, confirm, quote_panel
from blueprints.staff.helpers import csv_download, int_arg, page_arg
from extensions import db
from models import Coupon, utcnow
from services.coupons import admin as coupon_admin, redemptions
from services.bundles import admin as bundle_admin
from services.courses import admin as course_admin
from services.money import to_major
from services.coupons.admin import CouponInput, CouponInvalid

# The service names the parsed amounts; the form has one text field for either.
FORM_FIELD_FOR = {"percent_off": "value", "amount_off": "value"}


def _coupon_form(coupon: Coupon | None = None) -> CouponEditForm:
    """The coupon form; on a GET for an existing coupon, filled from it (amounts in major units)."""
    fill = coupon is not None and request.method == "GET"
    form = CouponEditForm(obj=coupon) if fill else CouponEditForm()
    form.course_ids.choices = choices((c.id, f"{c.title} ({c.currency})") for c in course_admin.all_courses())
    form.bundle_ids.choices = choices((b.id, f"{b.name} ({b.currency})") for b, _ in bundle_admin.list_with_sales())
    if fill:
        form.bundle_ids.data = [b.id for b in coupon.applicable_bundles]
        form.discount_type.data = coupon.discount_type.value
        form.currency.data = coupon.currency or ""
        form.course_ids.data = [c.id for c in coupon.applicable_courses]
        currency = coupon.currency or "USD"
        form.value.data = (f"{coupon.percent_off.normalize():f}" if coupon.percent_off is not None
                           else str(to_major(coupon.amount_off or 0, currency)))
        form.minimum_amount.data = "" if coupon.minimum_amount is None else str(to_major(coupon.minimum_amount, currency))
        form.maximum_discount.data = ("" if coupon.maximum_discount is None
                                      else str(to_major(coupon.maximum_discount, currency)))
    return form


def _input(form: CouponEditForm) -> CouponInput:
    """What was typed, parsed; what does not parse is None, with its error on its field."""
    amounts = form.amounts()
    return CouponInput(code=form.code.data or "", name=form.name.data or "", description=form.description.data,
                       discount_type=form.discount_type.data, currency=form.currency.data or None,
                       max_uses=form.max_uses.data, per_learner_limit=form.per_learner_limit.data,
                       valid_from=utc(form.valid_from.data), valid_until=utc(form.valid_until.data),
                       course_ids=form.course_ids.data or [], bundle_ids=form.bundle_ids.data or [],
                       is_public=form.is_public.data,
                       is_active=form.is_active.data, **amounts)


@bp.route("/coupons")
def coupons():
    args = {"q": request.args.get("q", ""), "status": request.args.get("status", ""),
            "sort": request.args.get("sort", "created"), "descending": request.args.get("dir", "desc") != "asc"}
    now = utcnow()
    rows, reserved = coupon_admin.search(page=page_arg(), now=now, **args)
    return render_template("staff/coupons/list.html", rows=rows, reserved=reserved, args=args, now=now,
                           status_of=coupon_admin.status_of, statuses=coupon_admin.STATUSES)


def _checked_input(form: CouponEditForm, coupon: Coupon | None = None) -> CouponInput | None:
    """The parsed input when the form has no error of its own; else None, with the service's
    verdict on the rest added, so one submit shows every mistake."""
    if not form.is_submitted():
        return None
    form.validate()
    data = _input(form)
    if not form.errors:
        return data
    rule_errors_onto(form, coupon_admin.validate(data, exclude_id=coupon.id if coupon else None), "code",
                     FORM_FIELD_FOR)
    return None


@bp.route("/coupons/new", methods=["GET", "POST"])
def coupon_new():
    form = _coupon_form()
    if (data := _checked_input(form)) is not None:
        try:
            coupon = coupon_admin.create(data, actor=current_user)
        except CouponInvalid as error:
            errors_onto(form, error, "code", FORM_FIELD_FOR)
        else:
            db.session.commit()
            flash(f"Coupon {coupon.code} created.", "success")
            return redirect(url_for("staff.coupon_detail", coupon_id=coupon.id))
    return render_template("staff/coupons/form.html", form=form, coupon=None), 422 if form.errors else 200


@bp.route("/coupons/<int(max=2147483647):coupon_id>/edit", methods=["GET", "POST"])
def coupon_edit(coupon_id: int):
    coupon = coupon_admin.get(coupon_id)
    form = _coupon_form(coupon)
    if (data := _checked_input(form, coupon)) is not None:
        try:
            coupon_admin.update(coupon, data, actor=current_user)
        except CouponInvalid as error:
            db.session.rollback()
            errors_onto(form, error, "code", FORM_FIELD_FOR)
        else:
            db.session.commit()
            flash(f"Coupon {coupon.code} saved.", "success")
            return redirect(url_for("staff.coupon_detail", coupon_id=coupon.id))
    return render_template("staff/coupons/form.html", form=form, coupon=coupon), 422 if form.errors else 200


@bp.route("/coupons/check-code")
def coupon_check_code():
    """The htmx live check under the code field (200 with a message, so htmx swaps it)."""
    code = request.args.get("code", "")
    problem = coupon_admin.code_problem(code, exclude_id=int_arg("coupon_id")) if code else None
    # Always the fragment: the page itself renders it with the form, so nothing branches on HX-Request.
    return render_template("staff/coupons/_code_check.html", code=redemptions.normalize_code(code), problem=problem)


@bp.route("/coupons/<int(max=2147483647):coupon_id>")
def coupon_detail(coupon_id: int):
    return _detail_page(coupon_admin.get(coupon_id), BulkCouponForm(formdata=None))


def _detail_page(coupon: Coupon, bulk_form: BulkCouponForm, status_code: int = 200):
    now = utcnow()
    return render_template("staff/coupons/detail.html", coupon=coupon, now=now,
                           status=coupon_admin.status_of(coupon, now),
                           reserved=redemptions.live_reservations(coupon, now),
                           totals=redemptions.usage_totals(coupon), redemptions=coupon_admin.recent_redemptions(coupon),
                           bulk_form=bulk_form, action_form=EmptyForm(),
                           panel=quote_panel.panel(code=coupon.code)), status_code


@bp.route("/coupons/<int(max=2147483647):coupon_id>/deactivate", methods=["POST"])
def coupon_deactivate(coupon_id: int):
    return _set_active(coupon_id, False)


@bp.route("/coupons/<int(max=2147483647):coupon_id>/reactivate", methods=["POST"])
def coupon_reactivate(coupon_id: int):
    return _set_active(coupon_id, True)


def _set_active(coupon_id: int, active: bool):
    coupon = coupon_admin.get(coupon_id)
    if EmptyForm().validate_on_submit():
        if not active and not confirm.given():
            return confirm.ask(title=f"Deactivate coupon {coupon.code}?", action="Deactivate",
                               message=coupon_admin.describe_deactivation(coupon),
                               cancel_url=url_for("staff.coupon_detail", coupon_id=coupon.id))
        coupon_admin.set_active(coupon, active, actor=current_user)
        db.session.commit()
        flash(f"Coupon {coupon.code} {'reactivated' if active else 'deactivated'}.", "success")
    return redirect(url_for("staff.coupon_detail", coupon_id=coupon.id))


@bp.route("/coupons/<int(max=2147483647):coupon_id>/delete", methods=["POST"])
def coupon_delete(coupon_id: int):
    coupon = coupon_admin.get(coupon_id)
    if EmptyForm().validate_on_submit():
        if not confirm.given():
            return confirm.ask(title=f"Delete coupon {coupon.code}?", action="Delete",
                               message=coupon_admin.describe_deletion(coupon),
                               cancel_url=url_for("staff.coupon_detail", coupon_id=coupon.id))
        code = coupon.code
        coupon_admin.delete(coupon, actor=current_user)  # Conflict (409 page) when it was used
        db.session.commit()
        flash(f"Coupon {code} deleted.", "success")
    return redirect(url_for("staff.coupons"))


@bp.route("/coupons/<int(max=2147483647):coupon_id>/bulk", methods=["POST"])
def coupon_bulk(coupon_id: int):
    coupon = coupon_admin.get(coupon_id)
    form = BulkCouponForm()
    if form.is_submitted() and not form.validate():
        # One submit shows every mistake: the service's verdict on the settings the form could read.
        rule_errors_onto(form, coupon_admin.bulk_problems(form.prefix.data or "", form.count.data, form.max_uses.data),
                         "count")
    elif form.is_submitted():
        try:
            batch_id = coupon_admin.generate_bulk(coupon, prefix=form.prefix.data or "", count=form.count.data,
                                                   max_uses=form.max_uses.data, actor=current_user)
        except CouponInvalid as error:
            errors_onto(form, error, "count")
        else:
            db.session.commit()
            flash(f"{form.count.data:,} codes generated.", "success")
            return redirect(url_for("staff.coupon_batch", batch_id=batch_id))
    return _detail_page(coupon, form, 422)


@bp.route("/coupons/batches/<batch_id>")
def coupon_batch(batch_id: str):
    codes = coupon_admin.batch_codes(batch_id)
    return render_template("staff/coupons/batch.html", batch_id=batch_id, codes=codes[:50], total=len(codes))


@bp.route("/coupons/batches/<batch_id>.csv")
def coupon_batch_csv(batch_id: str):
    codes = coupon_admin.batch_codes(batch_id)
    return csv_download([["code", "max_uses", "uses"]]
                        + [[code, "" if max_uses is None else max_uses, uses] for code, max_uses, uses in codes],
                        f"{batch_id}.csv")

"""The referrals page (issue 20): the referrer's reward settings and the latest rewards. The
figures per referrer are a table of the analytics page (`referrals`, with its CSV)."""
from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from blueprints.forms import errors_onto, rule_errors_onto
from blueprints.staff import bp
from blueprints.staff.forms import ReferralSettingsForm
from extensions import db
from services.errors import DomainError
from services.money import to_major
from services.referrals import rewards


def _form_for(row) -> ReferralSettingsForm:
    form = ReferralSettingsForm(formdata=None, obj=row)
    form.discount_type.data = row.discount_type.value
    form.value.data = (f"{row.percent_off.normalize():f}" if row.percent_off is not None
                       else str(to_major(row.amount_off, row.currency)) if row.amount_off else "")
    form.currency.data = row.currency or ""
    return form


def _page(form: ReferralSettingsForm | None = None):
    row = rewards.settings()
    page = render_template("staff/referrals.html", form=form or _form_for(row), settings=row,
                           offer=rewards.offer(), recent=rewards.recent(), describe=rewards.describe)
    return page, 422 if form is not None and form.errors else 200


@bp.route("/referrals")
def referrals_page():
    return _page()


@bp.route("/referrals", methods=["POST"])
def referrals_save():
    form = ReferralSettingsForm()
    valid = form.validate()
    values = form.parsed_value()
    data = rewards.SettingsInput(rewards_enabled=form.rewards_enabled.data, discount_type=form.discount_type.data,
                                 currency=form.currency.data or None, validity_days=form.validity_days.data, **values)
    if not valid or form.errors:
        # One submit shows every mistake: the service's rules for what the form could read.
        rule_errors_onto(form, rewards.settings_problems(data), "value")
        return _page(form)
    try:
        rewards.update_settings(data, actor=current_user)
    except DomainError as error:
        db.session.rollback()
        errors_onto(form, error, "value")
        return _page(form)
    db.session.commit()
    flash("Referral reward saved.", "success")
    return redirect(url_for("staff.referrals_page"))

"""Staff membership pages (issue 16): list, create / edit / retire, subscribers per membership,
a subscription's invoices and timeline, refund an invoice."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.validators import ValidationError

from blueprints.forms import EmptyForm, errors_onto, rule_errors_onto
from blueprints.staff import bp, confirm
from blueprints.staff.forms import REFUND_REASONS, MembershipForm, RefundForm, amount_in_minor, choices
from blueprints.staff.helpers import page_arg
from extensions import db
from models import Membership, utcnow
from services.courses import admin as course_admin
from services.errors import DomainError
from services.memberships import admin as membership_admin, subscribers, subscriptions
from services.payments import invoice_refunds, lists as payment_lists, subscription_billing
from services.memberships.admin import MembershipInput, MembershipInvalid
from services.money import format_money, to_major


def _form(membership: Membership | None = None) -> MembershipForm:
    """The membership form; on a GET for an existing membership, filled from it (prices in major units)."""
    fill = membership is not None and request.method == "GET"
    form = MembershipForm(obj=membership) if fill else MembershipForm()
    form.course_ids.choices = choices((c.id, c.title + ("" if c.is_published else " (unpublished)"))
                                      for c in course_admin.all_courses())
    if fill:
        for name in ("monthly_price", "yearly_price"):
            amount = getattr(membership, name)
            getattr(form, name).data = "" if amount is None else str(to_major(amount, membership.currency))
        form.unlocks.data = "all" if membership.unlocks_all_courses else "chosen"
        form.course_ids.data = [c.id for c in membership.courses]
    return form


def _input(form: MembershipForm) -> MembershipInput:
    return MembershipInput(name=form.name.data or "", description=form.description.data or "",
                           currency=form.currency.data, trial_days=form.trial_days.data,
                           unlocks_all_courses=form.unlocks.data != "chosen", course_ids=form.course_ids.data or [],
                           is_active=form.is_active.data, **form.prices())


def _checked_input(form: MembershipForm, membership: Membership | None = None) -> MembershipInput | None:
    """The parsed input when the form has no error of its own; else None, with the service's
    verdict on the rest added, so one submit shows every mistake."""
    if not form.is_submitted():
        return None
    form.validate()
    data = _input(form)
    if not form.errors:
        return data
    rule_errors_onto(form, membership_admin.validate(data, exclude_id=membership.id if membership else None), "name")
    return None


@bp.route("/memberships")
def memberships():
    return render_template("staff/memberships/list.html", rows=membership_admin.overview())


@bp.route("/memberships/new", methods=["GET", "POST"])
def membership_new():
    form = _form()
    if (data := _checked_input(form)) is not None:
        try:
            membership = membership_admin.create(data, actor=current_user, now=utcnow())
        except MembershipInvalid as error:
            db.session.rollback()
            errors_onto(form, error, "name")
        else:
            db.session.commit()
            flash(f"Membership {membership.name} created.", "success")
            return redirect(url_for("staff.membership_subscribers", membership_id=membership.id))
    return render_template("staff/memberships/form.html", form=form, membership=None), 422 if form.errors else 200


@bp.route("/memberships/<int(max=2147483647):membership_id>/edit", methods=["GET", "POST"])
def membership_edit(membership_id: int):
    membership = membership_admin.get(membership_id)
    form = _form(membership)
    if (data := _checked_input(form, membership)) is not None:
        if membership.is_active and not data.is_active and not confirm.given():
            return confirm.ask(title=f"Retire {membership.name}?", action="Retire",
                               message=membership_admin.describe_retirement(membership),
                               cancel_url=url_for("staff.membership_edit", membership_id=membership.id))
        try:
            membership_admin.update(membership, data, actor=current_user, now=utcnow())
        except MembershipInvalid as error:
            db.session.rollback()
            errors_onto(form, error, "name")
        else:
            db.session.commit()
            flash(f"Membership {membership.name} saved" + ("" if membership.is_active else " (retired)") + ".",
                  "success")
            return redirect(url_for("staff.membership_subscribers", membership_id=membership.id))
    return render_template("staff/memberships/form.html", form=form, membership=membership,
                           live_subscribers=membership_admin.live_subscribers(membership)), 422 if form.errors else 200


@bp.route("/memberships/<int(max=2147483647):membership_id>")
def membership_subscribers(membership_id: int):
    membership = membership_admin.get(membership_id)
    status = request.args.get("status", "")
    return render_template("staff/memberships/subscribers.html", membership=membership, status=status,
                           statuses=subscribers.statuses(), unlocks=membership_admin.unlocks_label(membership),
                           rows=subscribers.subscribers(membership, status=status, page=page_arg()))


@bp.route("/subscriptions/<int(max=2147483647):subscription_id>")
def subscription_detail(subscription_id: int, refund_form: RefundForm | None = None, refund_invoice: str | None = None):
    sub = subscribers.subscription(subscription_id)
    return render_template("staff/memberships/subscription.html", sub=sub, invoices=subscriptions.invoices_of(sub),
                           timeline=payment_lists.subscription_timeline(sub), refundable=subscription_billing.refundable_amount,
                           refund_form=refund_form or RefundForm(formdata=None), refund_invoice=refund_invoice,
                           action_form=EmptyForm(), reasons=REFUND_REASONS, now=utcnow())


@bp.route("/subscriptions/<int(max=2147483647):subscription_id>/invoices/<invoice_id>/refund", methods=["POST"])
def subscription_invoice_refund(subscription_id: int, invoice_id: str):
    sub = subscribers.subscription(subscription_id)
    invoice = subscribers.invoice_of(sub, invoice_id)
    form = RefundForm()
    back = url_for("staff.subscription_detail", subscription_id=sub.id)
    if not form.validate_on_submit():
        return subscription_detail(sub.id, refund_form=form, refund_invoice=invoice.id), 422
    try:
        amount = amount_in_minor(form.amount.data, invoice.currency)
        if not confirm.given():
            return confirm.ask(title=f"Refund invoice {invoice.id}?", action="Refund",
                               message=invoice_refunds.describe_refund(invoice, amount), cancel_url=back)
        subscription_billing.refund_invoice(invoice, amount=amount, reason=form.reason.data, actor=current_user,
                                            now=utcnow())
    except ValidationError as error:
        form.amount.errors.append(str(error))
        return subscription_detail(sub.id, refund_form=form, refund_invoice=invoice.id), 422
    except DomainError as error:
        db.session.rollback()
        errors_onto(form, error, "amount")
        return subscription_detail(sub.id, refund_form=form, refund_invoice=invoice.id), error.status
    db.session.commit()
    shown = format_money(amount, invoice.currency) if amount is not None else "the remaining amount"
    flash(f"Refund of {shown} sent to Stripe. The invoice and access change when Stripe's webhook confirms it.",
          "success")
    return redirect(back)

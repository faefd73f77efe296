"""Staff payment pages: list with filters and search, a session's timeline, refund, reconcile."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.validators import ValidationError

from blueprints.forms import EmptyForm, errors_onto
from blueprints.staff.forms import RefundForm, amount_in_minor
from blueprints.staff import bp, confirm
from blueprints.staff.helpers import int_arg, page_arg
from extensions import db
from models import PaymentSessionStatus, utcnow
from services import audit
from services.courses import admin as course_admin
from services.payments import lists as payment_lists, reconcile, refunds, stripe_gateway
from services.errors import DomainError
from services.money import format_money


@bp.route("/payments")
def payments():
    return _list_page(flagged_only=False)


@bp.route("/payments/flagged")
def payments_flagged():
    return _list_page(flagged_only=True)


def _list_page(flagged_only: bool):
    filters = {"status": request.args.get("status", ""), "course_id": int_arg("course_id"),
               "coupon": request.args.get("coupon", ""), "start": request.args.get("start", ""),
               "end": request.args.get("end", ""), "q": request.args.get("q", "")}
    rows = payment_lists.payments(page=page_arg(), flagged=flagged_only, **filters)
    return render_template("staff/payments/list.html", rows=rows, filters=filters, courses=course_admin.all_courses(),
                           shown_status=payment_lists.shown_status,
                           statuses=list(PaymentSessionStatus), flagged_only=flagged_only)


def _payment(payment_id: str):
    return payment_lists.payment(payment_id) or abort(404)


@bp.route("/payments/<payment_id>")
def payment_detail(payment_id: str, refund_form: RefundForm | None = None):
    payment = _payment(payment_id)
    return render_template("staff/payments/detail.html", payment=payment, timeline=payment_lists.timeline(payment),
                           status=payment_lists.shown_status(payment),
                           refund_form=refund_form or RefundForm(formdata=None), action_form=EmptyForm(),
                           refundable=refunds.refundable_amount(payment))


@bp.route("/payments/<payment_id>/refund", methods=["POST"])
def payment_refund(payment_id: str):
    payment = _payment(payment_id)
    form = RefundForm()
    if not form.validate_on_submit():
        return payment_detail(payment_id, refund_form=form), 422
    try:
        amount = amount_in_minor(form.amount.data, payment.currency)
        if not confirm.given():
            refunds.check_refund(payment, amount)
            return confirm.ask(title="Refund this payment?", action="Refund",
                               message=refunds.describe_refund(payment, amount),
                               cancel_url=url_for("staff.payment_detail", payment_id=payment.id))
        refunds.request_refund(payment, amount=amount, reason=form.reason.data, actor=current_user, now=utcnow())
    except ValidationError as error:
        form.amount.errors.append(str(error))
        return payment_detail(payment_id, refund_form=form), 422
    except DomainError as error:
        db.session.rollback()
        errors_onto(form, error, "amount")
        return payment_detail(payment_id, refund_form=form), error.status
    db.session.commit()  # request_refund wrote the audit entry (actor, amount, Stripe's refund id)
    shown = format_money(amount, payment.currency) if amount is not None else "the remaining amount"
    flash(f"Refund of {shown} sent to Stripe. The payment and the enrollment change when Stripe's "
          "webhook confirms it (usually within seconds).", "success")
    return redirect(url_for("staff.payment_detail", payment_id=payment.id))


@bp.route("/payments/<payment_id>/reconcile", methods=["POST"])
def payment_reconcile(payment_id: str):
    payment = _payment(payment_id)
    if EmptyForm().validate_on_submit():
        before = {"status": payment.status.value}
        try:
            result = reconcile.reconcile_one(payment.id, now=utcnow())
        except stripe_gateway.StripeGatewayError as error:
            db.session.rollback()
            flash(error.user_message, "error")
            return redirect(url_for("staff.payment_detail", payment_id=payment_id))
        payment = _payment(payment_id)
        audit.record("staff.reconciled", payment, actor=current_user, before=before,
                     after={"status": payment.status.value})
        db.session.commit()
        if result is None:
            flash("Nothing to reconcile: only open sessions with a Stripe checkout are asked again "
                  "(or another worker is on it).", "info")
        else:
            flash(f"Reconciled with Stripe: the session is {payment.status.value.lower()}.", "success")
    return redirect(url_for("staff.payment_detail", payment_id=payment_id))

"""The "Refund requests" queue: learners' requests outside the automatic rules (issue 19).

Parsing and rendering only: the rules and the Stripe refund are services/payments/refund_requests.py.
"""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.validators import ValidationError

from blueprints.forms import errors_onto
from blueprints.staff import bp
from blueprints.staff.forms import ApproveRefundRequestForm, DeclineRefundRequestForm, amount_in_minor
from blueprints.staff.helpers import page_arg
from extensions import db
from models import RefundRequestStatus, utcnow
from services.errors import DomainError
from services.money import format_money
from services.payments import refund_policy, refund_requests, refunds


@bp.route("/refund-requests")
def refund_requests_page():
    status = request.args.get("status", "PENDING")
    status = status if status in refund_requests.STATUSES or status == "" else "PENDING"
    rows = db.paginate(refund_requests.queue_query(status), page=page_arg(), per_page=50, error_out=False)
    return render_template("staff/refund_requests/list.html", rows=rows, status=status,
                           statuses=list(RefundRequestStatus))


@bp.route("/refund-requests/<int(max=2147483647):request_id>")
def refund_request_detail(request_id: int, approve_form=None, decline_form=None, status: int = 422):
    row = refund_requests.get(request_id)
    page = render_template(
        "staff/refund_requests/detail.html", row=row, payment=row.payment,
        terms=refund_policy.describe(refund_policy.terms_for_payment(row.payment)),
        refundable=refunds.refundable_amount(row.payment),
        approve_form=approve_form or ApproveRefundRequestForm(formdata=None),
        decline_form=decline_form or DeclineRefundRequestForm(formdata=None))
    failed = (approve_form and approve_form.errors) or (decline_form and decline_form.errors)
    return page, status if failed else 200


@bp.route("/refund-requests/<int(max=2147483647):request_id>/approve", methods=["POST"])
def refund_request_approve(request_id: int):
    row = refund_requests.get(request_id)
    form = ApproveRefundRequestForm()
    if form.validate_on_submit():
        try:
            amount = amount_in_minor(form.amount.data, row.currency)
            row = refund_requests.approve(request_id, amount=amount, message=form.message.data or "",
                                          actor=current_user, now=utcnow())
        except ValidationError as error:
            form.amount.errors.append(str(error))
        except DomainError as error:
            db.session.rollback()
            errors_onto(form, error, "amount")
            return refund_request_detail(request_id, approve_form=form, status=error.status)
        else:
            db.session.commit()
            flash(f"Approved: {format_money(row.amount_refunded or 0, row.currency)} sent to Stripe; "
                  "the learner is told by mail.", "success")
            return redirect(url_for("staff.refund_requests_page"))
    return refund_request_detail(request_id, approve_form=form)


@bp.route("/refund-requests/<int(max=2147483647):request_id>/decline", methods=["POST"])
def refund_request_decline(request_id: int):
    refund_requests.get(request_id)
    form = DeclineRefundRequestForm()
    if form.validate_on_submit():
        try:
            refund_requests.decline(request_id, message=form.message.data, actor=current_user, now=utcnow())
        except DomainError as error:
            db.session.rollback()
            errors_onto(form, error, "message")
            return refund_request_detail(request_id, decline_form=form, status=error.status)
        else:
            db.session.commit()
            flash("Declined; the learner is told by mail with your message.", "success")
            return redirect(url_for("staff.refund_requests_page"))
    return refund_request_detail(request_id, decline_form=form)

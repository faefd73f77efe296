"""Routes of the learner blueprint: /dashboard, lecture pages, marking complete, certificates,
purchases and printable receipts."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from blueprints.forms import EmptyForm, errors_onto
from blueprints.htmx import wants_fragment
from blueprints.learner.forms import RefundRequestForm
from blueprints.read_only import read_only
from extensions import csrf, db, login_manager
from models import utcnow
from services.learning import certificates, progress
from services.learning import dashboard as dashboard_service
from models import RefundRequestStatus
from services.errors import DomainError
from services.money import format_money
from services.payments import receipts, refund_policy, refund_requests, reminders

bp = Blueprint("learner", __name__)


@bp.route("/dashboard")
@read_only
@login_required
def dashboard():
    now = utcnow()
    board = dashboard_service.for_learner(current_user, now)
    offers = refund_requests.offers([row.session for row in board.history],
                                    {card.course.id: card.enrollment.progress for card in board.cards}, now)
    return render_template("learner/dashboard.html", board=board, offers=offers, withdraw_form=EmptyForm())


@bp.route("/account/purchases/<payment_session_id>/refund", methods=["GET", "POST"])
@login_required
def refund_request(payment_session_id: str):
    """Ask for a refund: automatic inside the policy's rules, else the staff queue."""
    now, status = utcnow(), 200
    form = RefundRequestForm()
    if form.validate_on_submit():
        try:
            row = refund_requests.request(current_user, payment_session_id, reason=form.reason.data or "", now=now)
        except DomainError as error:
            db.session.rollback()
            if error.status == 404:
                raise
            errors_onto(form, error, "reason")
            status = error.status
        else:
            db.session.commit()
            if row.status == RefundRequestStatus.REFUNDED:
                flash(f"Refund of {format_money(row.amount_refunded or 0, row.currency)} issued. It goes back to the "
                      "card or account you paid with; banks usually take 5 to 10 days to show it. We have sent you "
                      "an email.", "success")
            else:
                flash("Your request is with our staff. We will email you their answer; until then you can "
                      "withdraw it here.", "success")
            return redirect(url_for("learner.dashboard"))
    payment, assessment = refund_requests.offer(current_user, payment_session_id, now)
    page = render_template("learner/refund_request.html", payment=payment, assessment=assessment, form=form,
                           terms=refund_policy.describe(refund_policy.terms_for_payment(payment)))
    return page, status if status != 200 else (422 if form.errors else 200)


@bp.route("/account/refund-requests/<int(max=2147483647):request_id>/withdraw", methods=["POST"])
@login_required
def withdraw_refund_request(request_id: int):
    if EmptyForm().validate_on_submit():
        try:
            refund_requests.withdraw(current_user, request_id, utcnow())
        except DomainError as error:
            db.session.rollback()
            if error.status == 404:
                raise
            flash(error.message, "error")
        else:
            db.session.commit()
            flash("Your refund request is withdrawn.", "success")
    return redirect(url_for("learner.dashboard"))


@bp.route("/courses/<slug>/lectures/<int:lecture_id>")
def lecture(slug: str, lecture_id: int):
    page = progress.lecture_page(current_user, slug, lecture_id, utcnow())
    if page.access.code == "SIGN_IN_REQUIRED":
        return login_manager.unauthorized()
    db.session.commit()
    return render_template("learner/lecture.html", page=page), 200 if page.access.allowed else 403


@bp.route("/courses/<slug>/lectures/<int:lecture_id>/complete", methods=["POST"])
@login_required
def complete(slug: str, lecture_id: int):
    page = progress.complete_lecture(current_user, slug, lecture_id, utcnow())
    db.session.commit()
    if wants_fragment():
        return render_template("learner/_progress.html", page=page, oob=True)
    flash("Course completed: your certificate is ready." if page.summary.certificate_id and page.summary.is_complete
          else "Lecture marked complete.", "success")
    return redirect(url_for("learner.lecture", slug=slug, lecture_id=lecture_id))


@bp.route("/courses/<slug>/lectures/<int:lecture_id>/heartbeat", methods=["POST"])
def heartbeat(slug: str, lecture_id: int):
    progress.heartbeat(current_user, slug, lecture_id, utcnow())
    db.session.commit()
    return "", 204


@bp.route("/certificates/<public_id>")
def certificate(public_id: str):
    return render_template("learner/certificate.html", certificate=certificates.by_public_id(public_id))



@bp.route("/account/purchases")
@login_required
def purchases():
    return render_template("learner/purchases.html", purchases=receipts.purchases(current_user))


@bp.route("/account/purchases/<payment_session_id>/receipt")
@login_required
def receipt(payment_session_id: str):
    """Printable; only its learner and staff see it (404 for anyone else)."""
    purchase = receipts.receipt(payment_session_id, current_user)
    return render_template("learner/receipt.html", purchase=purchase,
                           refund_terms=refund_policy.describe(refund_policy.terms_for_payment(purchase.payment)))


@bp.route("/account/reminders", methods=["POST"])
@login_required
def reminder_setting():
    """The /account checkbox: checkout reminders on or off."""
    reminders.set_wanted(current_user, request.form.get("checkout_reminders") == "on", via=current_user.email)
    db.session.commit()
    flash("Your reminder setting is saved.", "success")
    return redirect(url_for("auth.account") + "#reminders")


@bp.route("/unsubscribe/checkout-reminders/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the proof; mail programs POST here for one-click (RFC 8058)
def unsubscribe_reminders(token: str):
    """From the reminder mail, no sign-in: GET asks, POST (our button, or a mail program's
    one-click POST) unsubscribes. Opening the link changes nothing, because mail scanners open
    every link in a mail (the reason RFC 8058 made one-click a POST)."""
    user = reminders.user_from_unsubscribe_token(token, current_app.config["SECRET_KEY"])
    if user is None:
        abort(404)
    if request.method == "GET":
        return render_template("learner/unsubscribe_confirm.html", token=token)
    reminders.set_wanted(user, False, via="unsubscribe link")
    db.session.commit()
    if request.form.get("List-Unsubscribe") == "One-Click":
        return "", 204
    return render_template("learner/unsubscribed.html")

"""Routes of the learner blueprint: /dashboard, lecture pages, marking complete, certificates,
purchases and printable receipts."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from blueprints.htmx import wants_fragment
from extensions import db, login_manager
from models import utcnow
from services.learning import certificates, progress
from services.learning import dashboard as dashboard_service
from services.payments import receipts

bp = Blueprint("learner", __name__)


@bp.route("/dashboard")
@login_required
def dashboard():
    board = dashboard_service.for_learner(current_user, utcnow())
    return render_template("learner/dashboard.html", board=board)


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
    return render_template("learner/receipt.html", purchase=receipts.receipt(payment_session_id, current_user))

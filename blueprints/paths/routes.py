"""Routes of the paths blueprint (issue 20): the published learning paths and "Enroll in path".

GET  /paths               the published paths
GET  /paths/<slug>        a path: its courses in order, the learner's progress, locks, certificate,
                          and what its paid courses cost this learner when it has a price
POST /paths/<slug>/enroll follow the path: its free courses at once; then, when the path has a
                          price, its paid courses through the path's own checkout (303 to
                          Stripe); without a price each is bought on its own course page
"""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from blueprints.checkout.routes import _checkout_urls, _referrer_id
from blueprints.forms import EmptyForm
from blueprints.read_only import read_only
from extensions import db
from models import utcnow
from services.errors import DomainError
from services.learning import paths as learning_paths
from services.paths import catalog
from services.payments import checkout, path_checkout

bp = Blueprint("paths", __name__)


@bp.route("/paths")
@read_only
def index():
    return render_template("paths/index.html", paths=catalog.published_paths())


@bp.route("/paths/<slug>")
@read_only
def show(slug: str):
    path = catalog.path_by_slug(slug)
    user = current_user if current_user.is_authenticated else None
    # A visitor gets a sign-in link, not a form: no CSRF token, so no session or cookie.
    return render_template("paths/show.html", path=path, view=learning_paths.for_page(user, path),
                           offer=path_checkout.offer(path, user, utcnow()),
                           enroll_form=EmptyForm() if user is not None else None)


@bp.post("/paths/<slug>/enroll")
def enroll(slug: str):
    path = catalog.path_by_slug(slug)
    back = url_for("paths.show", slug=slug)
    if not current_user.is_authenticated:
        flash("Please sign in to enroll in this path.", "info")
        return redirect(url_for("auth.login", next=back))
    if not EmptyForm().validate_on_submit():
        return redirect(back)
    success_url, cancel_url = _checkout_urls()
    now = utcnow()
    try:
        result = path_checkout.enroll(path, current_user, success_url=success_url, cancel_url=cancel_url,
                                      now=now, commit=db.session.commit, referrer_id=_referrer_id(now))
    except checkout.CheckoutUnavailable as error:
        db.session.commit()  # keep the FAILED session (the path itself is followed already)
        flash(f"{error.message} Nothing was charged; try again in a moment.", "error")
        return redirect(back)
    except DomainError as error:  # e.g. a paid course is full, a bank payment still settling
        db.session.rollback()
        flash(f"You follow this path, but its paid courses cannot be bought now: {error.message}", "error")
        return redirect(back)
    flash(_joined_message(result.joined, paying=result.checkout is not None), "success")
    if result.checkout is not None and result.checkout.kind == "REDIRECT":
        return redirect(result.checkout.redirect_url, code=303)
    return redirect(back)


def _joined_message(joined: learning_paths.Joined, paying: bool) -> str:
    parts = ["You are enrolled in this path."]
    if joined.enrolled:
        parts.append("Free courses ready: " + ", ".join(course.title for course in joined.enrolled) + ".")
    if joined.full:
        parts.append("No seat left in: " + ", ".join(course.title for course in joined.full) + ".")
    if joined.to_buy and not paying:
        parts.append("Buy the paid courses on their pages: " + ", ".join(course.title for course in joined.to_buy)
                     + ".")
    return " ".join(parts)

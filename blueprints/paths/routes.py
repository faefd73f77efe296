"""Routes of the paths blueprint (issue 20): the published learning paths and "Enroll in path".

GET  /paths               the published paths
GET  /paths/<slug>        a path: its courses in order, the learner's progress, locks, certificate
POST /paths/<slug>/enroll follow the path: its free courses at once; the paid ones through the
                          path's checkout when the path has a price (303 to Stripe), else each
                          on its own course page
"""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from blueprints.forms import EmptyForm
from blueprints.read_only import read_only
from extensions import db
from models import utcnow
from services.learning import paths as learning_paths
from services.paths import catalog

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
                           enroll_form=EmptyForm() if user is not None else None)


@bp.post("/paths/<slug>/enroll")
def enroll(slug: str):
    path = catalog.path_by_slug(slug)
    if not current_user.is_authenticated:
        flash("Please sign in to enroll in this path.", "info")
        return redirect(url_for("auth.login", next=url_for("paths.show", slug=slug)))
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("paths.show", slug=slug))
    joined = learning_paths.join(current_user, path, utcnow())
    db.session.commit()
    flash(_joined_message(joined), "success")
    return redirect(url_for("paths.show", slug=slug))


def _joined_message(joined: learning_paths.Joined) -> str:
    parts = ["You are enrolled in this path."]
    if joined.enrolled:
        parts.append("Free courses ready: " + ", ".join(course.title for course in joined.enrolled) + ".")
    if joined.full:
        parts.append("No seat left in: " + ", ".join(course.title for course in joined.full) + ".")
    if joined.to_buy:
        parts.append("Buy the paid courses on their pages: " + ", ".join(course.title for course in joined.to_buy)
                     + ".")
    return " ".join(parts)

"""Routes of the catalog blueprint: /, /courses, /courses/<slug>."""
from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from services import catalog, enrollments

bp = Blueprint("catalog", __name__)


@bp.route("/")
def home():
    return redirect(url_for("catalog.index"))


@bp.route("/courses")
def index():
    return render_template("catalog/index.html", courses=catalog.published_courses())


@bp.route("/courses/<slug>")
def course(slug: str):
    course = catalog.course_by_slug(slug)
    enrollment = enrollments.find(current_user, course) if current_user.is_authenticated else None
    return render_template("catalog/course.html", course=course, enrollment=enrollment)

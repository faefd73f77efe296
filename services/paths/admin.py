"""Path administration for staff: validation (every mistake at once), create and update.

The courses arrive as the staff form's text, one course slug a line, in the path's order, so
reordering is moving lines. Every change is audited with the values before and after. Paths
are not deleted (learners follow them and hold their certificates): unpublish instead.
"""
from __future__ import annotations

from dataclasses import dataclass

from extensions import db
from models import Course, EnrollmentType, LearningPath, LearningPathCourse, User
from services import audit
from services.courses.admin import slug_problem
from services.errors import FieldErrors, NotFound
from services.money import MAXIMUM_CHARGE, SUPPORTED_CURRENCIES, format_money, minimum_charge

PATH_FIELDS = ["slug", "name", "price_amount", "currency", "sequential", "is_published", "course_ids"]
MIN_COURSES, MAX_COURSES = 2, 50
MAX_DESCRIPTION = 5000
# What a path can sell or give: free courses and courses with a price. Invitation-only and
# membership courses are reached their own way.
PATH_COURSE_TYPES = (EnrollmentType.FREE, EnrollmentType.PAID)


class PathInvalid(FieldErrors):
    code = "PATH_INVALID"


@dataclass
class PathInput:
    slug: str
    name: str
    courses: str  # one course slug a line, in order
    description: str = ""
    price_amount: int | None = None  # minor units; None: no price for the whole path
    currency: str | None = None
    sequential: bool = False
    is_published: bool = False


def get(path_id: int) -> LearningPath:
    path = db.session.get(LearningPath, path_id)
    if path is None:
        raise NotFound("We could not find that learning path.", code="PATH_NOT_FOUND")
    return path


def courses_text(path: LearningPath) -> str:
    """The form's text for the path's courses (one slug a line, in order)."""
    return "\n".join(course.slug for course in path.courses)


def course_slugs(text: str) -> list[str]:
    return [line.strip().lower() for line in (text or "").splitlines() if line.strip()]


def problems(data: PathInput, exclude_id: int | None = None) -> dict[str, str]:
    """Every error `create`/`update` would report for `data` ({field: message}, empty when none)."""
    return _check(data, exclude_id)[1]


def _check(data: PathInput, exclude_id: int | None) -> tuple[list[Course], dict[str, str]]:
    errors: dict[str, str] = {}
    if problem := slug_problem(LearningPath, data.slug, exclude_id, noun="path", example="python-developer"):
        errors["slug"] = problem
    name = (data.name or "").strip()
    if not name:
        errors["name"] = "Give the path a name."
    elif len(name) > 200:
        errors["name"] = "At most 200 characters."
    if len(data.description or "") > MAX_DESCRIPTION:
        errors["description"] = f"At most {MAX_DESCRIPTION:,} characters."
    courses, course_error = _courses(data)
    if course_error:
        errors["courses"] = course_error
    price_error = _price_problem(data, courses)
    if price_error:
        errors[price_error[0]] = price_error[1]
    return courses, errors


def _courses(data: PathInput) -> tuple[list[Course], str | None]:
    slugs = course_slugs(data.courses)
    if len(slugs) < MIN_COURSES:
        return [], f"List at least {MIN_COURSES} courses, one slug a line."
    if len(slugs) > MAX_COURSES:
        return [], f"At most {MAX_COURSES} courses."
    found = {course.slug: course for course in db.session.scalars(db.select(Course).where(Course.slug.in_(slugs)))}
    mistakes: list[str] = []
    seen: set[str] = set()
    for number, slug in enumerate(slugs, start=1):
        course = found.get(slug)
        if course is None:
            mistakes.append(f"line {number}: no course has the slug “{slug[:120]}”")
        elif slug in seen:
            mistakes.append(f"line {number}: {course.title} is listed twice")
        elif course.enrollment_type not in PATH_COURSE_TYPES:
            mistakes.append(f"line {number}: {course.title} is not free or paid (a path cannot include it)")
        elif data.is_published and not course.is_published:
            mistakes.append(f"line {number}: {course.title} is not published (publish it, or keep the path "
                            "unpublished)")
        seen.add(slug)
    if mistakes:
        return [], "Check the courses: " + "; ".join(mistakes) + "."
    return [found[slug] for slug in slugs], None


def _price_problem(data: PathInput, courses: list[Course]) -> tuple[str, str] | None:
    if data.price_amount is None:
        return None
    if data.currency not in SUPPORTED_CURRENCIES:
        return "currency", "Choose the currency of the path's price."
    if data.price_amount <= 0:
        return "price", "The price must be above 0 (leave it empty for no path price)."
    if data.price_amount > MAXIMUM_CHARGE:
        return "price", "That price is above what Stripe can charge."
    if data.price_amount < minimum_charge(data.currency):
        return "price", f"Stripe's smallest charge in {data.currency} is " \
                        f"{format_money(minimum_charge(data.currency), data.currency)}."
    paid = [course for course in courses if not course.is_free]
    if courses and not paid:
        return "price", "Every course of this path is free: leave the price empty."
    others = [course.title for course in paid if course.currency != data.currency]
    if others:
        return "currency", f"The path's paid courses must be priced in {data.currency}: " + ", ".join(others) + "."
    return None


def create(data: PathInput, actor: User) -> LearningPath:
    courses, errors = _check(data, None)
    if errors:
        raise PathInvalid(errors)
    path = LearningPath()
    _apply(path, data, courses)
    db.session.add(path)
    db.session.flush()
    audit.record("path.created", path, actor=actor, after=snapshot(path))
    return path


def update(path: LearningPath, data: PathInput, actor: User) -> LearningPath:
    courses, errors = _check(data, path.id)
    if errors:
        raise PathInvalid(errors)
    before = snapshot(path)
    _apply(path, data, courses)
    db.session.flush()
    audit.record("path.updated", path, actor=actor, before=before, after=snapshot(path))
    return path


def snapshot(path: LearningPath) -> dict:
    values = audit.snapshot(path, PATH_FIELDS[:-1])
    values["course_ids"] = ",".join(str(step.course_id) for step in path.steps)
    return values


def _apply(path: LearningPath, data: PathInput, courses: list[Course]) -> None:
    path.slug = data.slug.strip().lower()
    path.name = data.name.strip()
    path.description = (data.description or "").strip()
    path.price_amount = data.price_amount
    path.currency = data.currency if data.price_amount is not None else None
    path.sequential = bool(data.sequential)
    path.is_published = bool(data.is_published)
    set_courses(path, courses)


def set_courses(path: LearningPath, courses: list[Course]) -> None:
    """The path's courses become `courses`, in that order (positions 1, 2, …); rows of courses
    left out are deleted (delete-orphan), those kept are reused. No checks: callers validated."""
    current = {step.course_id: step for step in path.steps}
    steps = []
    for position, course in enumerate(courses, start=1):
        step = current.get(course.id) or LearningPathCourse(course=course)
        step.position = position
        steps.append(step)
    path.steps = steps

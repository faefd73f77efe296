"""Course and lecture administration for staff: validation, create/update, lecture order.

Every change is audited with the values before and after. Courses are never deleted here:
payments and enrollments point at them (unpublish instead).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from extensions import db
from models import Course, Enrollment, EnrollmentType, Lecture, User
from services import audit
from services.courses import covers, details
from services.errors import DomainError, FieldErrors, NotFound
from services.money import MAXIMUM_CHARGE, SUPPORTED_CURRENCIES

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
COURSE_FIELDS = ["slug", "title", "short_description", "price_amount", "currency", "is_published",
                 "enrollment_type", "capacity", "topic", "instructor_name", "cover_image", "cover_alt"]
LECTURE_FIELDS = ["title", "position", "duration_minutes", "is_preview"]
MAX_LECTURE_MINUTES = 10_000


class CourseInvalid(FieldErrors):
    code = "COURSE_INVALID"


@dataclass
class CourseInput:
    slug: str
    title: str
    price_amount: int
    currency: str
    enrollment_type: str
    short_description: str = ""
    description: str = ""
    is_published: bool = False
    capacity: int | None = None
    # The course page's details (issue 17). None leaves the saved value as it is (the API
    # does not send them); the lists come as the staff form's text (services/courses/details).
    topic: str | None = None
    instructor_name: str | None = None
    instructor_bio: str | None = None
    learning_outcomes: str | None = None
    requirements: str | None = None
    faq: str | None = None
    cover: bytes | None = None  # a new cover's upload, checked and resized by services/courses/covers
    cover_alt: str | None = None
    remove_cover: bool = False


@dataclass
class LectureInput:
    title: str
    content: str = ""
    duration_minutes: int = 0
    is_preview: bool = False


def get(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        raise NotFound("We could not find that course.", code="COURSE_NOT_FOUND")
    return course


def all_courses() -> list[Course]:
    return list(db.session.scalars(db.select(Course).order_by(Course.title, Course.id)))


def list_with_counts() -> list[tuple[Course, int]]:
    """Courses with their number of enrollments, one query."""
    counts = (db.select(Enrollment.course_id, sa.func.count(Enrollment.id).label("n"))
              .group_by(Enrollment.course_id).subquery())
    rows = db.session.execute(db.select(Course, sa.func.coalesce(counts.c.n, 0))
                              .outerjoin(counts, counts.c.course_id == Course.id).order_by(Course.title, Course.id))
    return [(course, int(n)) for course, n in rows]


def slug_problem(model, slug: str | None, exclude_id: int | None, *, noun: str, example: str) -> str | None:
    """The one rule for a URL slug (courses, learning paths, bundles): its shape, at most 120 characters,
    unique among `model`'s rows (the row `exclude_id` being edited aside). None when it is fine."""
    slug = (slug or "").strip().lower()
    if not SLUG_PATTERN.match(slug) or len(slug) > 120:
        return f"Lower-case letters, digits and single hyphens (e.g. {example})."
    query = db.select(model.id).where(model.slug == slug)
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    if db.session.scalar(query) is not None:
        return f"Another {noun} already uses this slug."
    return None


def validate(data: CourseInput, exclude_id: int | None = None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if problem := slug_problem(Course, data.slug, exclude_id, noun="course", example="python-101"):
        errors["slug"] = problem
    if not (data.title or "").strip():
        errors["title"] = "Give the course a title."
    elif len(data.title.strip()) > 200:
        errors["title"] = "At most 200 characters."
    if len(data.short_description or "") > 300:
        errors["short_description"] = "At most 300 characters."
    if data.currency not in SUPPORTED_CURRENCIES:
        errors["currency"] = "Choose a supported currency."
    try:
        kind = EnrollmentType(data.enrollment_type)
    except ValueError:
        errors["enrollment_type"] = "Choose an enrollment type."
        kind = None
    if data.price_amount is None or data.price_amount < 0:
        errors["price"] = "The price cannot be negative."
    elif data.price_amount > MAXIMUM_CHARGE:
        errors["price"] = "That price is above what Stripe can charge."
    elif kind == EnrollmentType.PAID and data.price_amount == 0:
        errors["price"] = "A paid course needs a price above 0 (or choose Free)."
    if data.capacity is not None and data.capacity < 0:
        errors["capacity"] = "Capacity cannot be negative (leave empty for unlimited)."
    return errors


def problems(data: CourseInput, exclude_id: int | None = None) -> dict[str, str]:
    """Every error `create`/`update` would report for `data` ({field: message}, empty when none),
    for a form that also has errors of its own to show with them."""
    try:
        _check(data, exclude_id)
    except CourseInvalid as error:
        return error.errors
    return {}


def _check(data: CourseInput, exclude_id: int | None = None) -> tuple[dict, covers.PreparedCover | None]:
    """Every error of the form at once (fields, details, the cover), or the values to save."""
    errors = validate(data, exclude_id)
    values, detail_errors = _details(data)
    errors.update(detail_errors)
    prepared = covers.prepare_upload(data.cover, errors)
    if errors:
        raise CourseInvalid(errors)
    return values, prepared


def _details(data: CourseInput) -> tuple[dict, dict[str, str]]:
    values: dict = {}
    errors: dict[str, str] = {}
    if data.topic is not None:
        values["topic"] = data.topic.strip()
        if values["topic"] and values["topic"] not in details.TOPICS:
            errors["topic"] = "Choose one of the topics."
    for name, limit in (("instructor_name", details.MAX_INSTRUCTOR_NAME),
                        ("instructor_bio", details.MAX_INSTRUCTOR_BIO), ("cover_alt", 200)):
        text = getattr(data, name)
        if text is not None:
            values[name] = " ".join(text.split()) if name != "instructor_bio" else text.strip()
            if len(values[name]) > limit:
                errors[name] = f"At most {limit} characters."
    for name, label in (("learning_outcomes", "points"), ("requirements", "requirements")):
        text = getattr(data, name)
        if text is not None:
            values[name], error = details.parse_bullets(text, label)
            if error:
                errors[name] = error
    if data.faq is not None:
        values["faq"], error = details.parse_faq(data.faq)
        if error:
            errors["faq"] = error
    return values, errors


def _apply(course: Course, data: CourseInput, values: dict | None = None,
           cover: covers.PreparedCover | None = None) -> None:
    course.slug = data.slug.strip().lower()
    course.title = data.title.strip()
    course.short_description = (data.short_description or "").strip()
    course.description = data.description or ""
    course.price_amount = data.price_amount
    course.currency = data.currency
    course.enrollment_type = EnrollmentType(data.enrollment_type)
    course.is_published = data.is_published
    course.capacity = data.capacity
    for name, value in (values or {}).items():
        setattr(course, name, value)
    if cover is not None:
        course.cover_image = covers.store(cover)
    elif data.remove_cover:
        course.cover_image = None


def create(data: CourseInput, *, actor: User) -> Course:
    values, cover = _check(data)
    course = Course()
    _apply(course, data, values, cover)
    db.session.add(course)
    db.session.flush()
    audit.record("course.created", course, actor=actor, after=audit.snapshot(course, COURSE_FIELDS))
    return course


def update(course: Course, data: CourseInput, *, actor: User) -> Course:
    """Save the course. A cover it no longer uses is left on disk: the caller passes the old
    key to `release_cover` after its commit (a rolled-back change must still find its files)."""
    values, cover = _check(data, exclude_id=course.id)
    before = audit.snapshot(course, COURSE_FIELDS)
    _apply(course, data, values, cover)
    db.session.flush()
    audit.record("course.updated", course, actor=actor, before=before, after=audit.snapshot(course, COURSE_FIELDS))
    return course


def release_cover(key: str | None) -> None:
    """Delete a cover's files once no course uses them (call after the commit that replaced it)."""
    if key and db.session.scalar(db.select(Course.id).where(Course.cover_image == key).limit(1)) is None:
        covers.discard(key)


def set_published(course: Course, published: bool, *, actor: User) -> Course:
    """Publish (shown in the catalog, on sale) or unpublish a course; audited."""
    if course.is_published != published:
        before = {"is_published": course.is_published}
        course.is_published = published
        db.session.flush()
        audit.record("course.published" if published else "course.unpublished", course, actor=actor,
                     before=before, after={"is_published": published})
    return course


def list_query(*, published: bool | None = None) -> sa.Select:
    """Courses for staff lists, optionally only (un)published ones (unordered)."""
    query = db.select(Course)
    if published is not None:
        query = query.where(Course.is_published.is_(published))
    return query


def get_lecture(course: Course, lecture_id: int) -> Lecture:
    lecture = db.session.get(Lecture, lecture_id)
    if lecture is None or lecture.course_id != course.id:
        raise NotFound("We could not find that lecture.", code="LECTURE_NOT_FOUND")
    return lecture


def lecture_problems(data: LectureInput) -> dict[str, str]:
    """{field: message} for every reason `add_lecture`/`update_lecture` would refuse `data`
    (empty when none), for a form that also has errors of its own to show with them."""
    errors = {}
    if not (data.title or "").strip():
        errors["title"] = "Give the lecture a title."
    elif len(data.title.strip()) > 200:
        errors["title"] = "At most 200 characters."
    if data.duration_minutes is None or not 0 <= data.duration_minutes <= MAX_LECTURE_MINUTES:
        errors["duration_minutes"] = f"Between 0 and {MAX_LECTURE_MINUTES:,} minutes."
    return errors


def _validate_lecture(data: LectureInput) -> None:
    if errors := lecture_problems(data):
        raise CourseInvalid(errors)


def add_lecture(course: Course, data: LectureInput, *, actor: User) -> Lecture:
    _validate_lecture(data)
    position = max((lecture.position for lecture in course.lectures), default=0) + 1
    lecture = Lecture(course=course, position=position, title=data.title.strip(), content=data.content or "",
                      duration_minutes=data.duration_minutes or 0, is_preview=data.is_preview)
    db.session.add(lecture)
    db.session.flush()
    audit.record("lecture.created", lecture, actor=actor, after=audit.snapshot(lecture, LECTURE_FIELDS))
    return lecture


def update_lecture(lecture: Lecture, data: LectureInput, *, actor: User) -> Lecture:
    _validate_lecture(data)
    before = audit.snapshot(lecture, LECTURE_FIELDS)
    lecture.title = data.title.strip()
    lecture.content = data.content or ""
    lecture.duration_minutes = data.duration_minutes or 0
    lecture.is_preview = data.is_preview
    db.session.flush()
    audit.record("lecture.updated", lecture, actor=actor, before=before, after=audit.snapshot(lecture, LECTURE_FIELDS))
    return lecture


def describe_lecture_deletion(lecture: Lecture) -> str:
    """What deleting `lecture` does, in words, for the confirmation staff answer."""
    return f"“{lecture.title}” is removed from {lecture.course.title} for good. This cannot be undone."


def delete_lecture(lecture: Lecture, *, actor: User) -> None:
    course = lecture.course
    audit.record("lecture.deleted", lecture, actor=actor, before=audit.snapshot(lecture, LECTURE_FIELDS))
    course.lectures.remove(lecture)
    db.session.flush()
    _renumber(course)


def move_lecture(lecture: Lecture, direction: str, *, actor: User) -> None:
    """Swap a lecture with its neighbour ("up" or "down"); positions stay 1..n."""
    if direction not in ("up", "down"):
        raise DomainError("Move a lecture up or down.", code="INVALID_DIRECTION", field="direction")
    course = lecture.course
    ordered = sorted(course.lectures, key=lambda item: (item.position, item.id))
    index = ordered.index(lecture)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ordered):
        before = {"position": index + 1}
        ordered[index], ordered[other] = ordered[other], ordered[index]
        for number, item in enumerate(ordered, start=1):
            item.position = number
        db.session.flush()
        audit.record("lecture.moved", lecture, actor=actor, before=before, after={"position": other + 1})


def _renumber(course: Course) -> None:
    for number, item in enumerate(sorted(course.lectures, key=lambda x: (x.position, x.id)), start=1):
        item.position = number
    db.session.flush()

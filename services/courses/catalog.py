"""The course catalog as visitors see it: published courses and their outlines."""
import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from models import Course, Lecture
from services.errors import NotFound

MAX_ID = 2**31 - 1  # the integer primary key's range on PostgreSQL


# What the catalog list shows of each course: rows of these columns, not whole Course objects
# (loading and tracking full ORM objects for a read-only list cost more than the query).
_LISTING = (db.select(Course.id, Course.slug, Course.title, Course.short_description, Course.price_amount,
                      Course.currency, Course.enrollment_type)
            .where(Course.is_published.is_(True)).order_by(Course.created_at, Course.id))


def published_courses() -> list[sa.Row]:
    """The published courses as the catalog lists them: one row each, oldest first."""
    return list(db.session.execute(_LISTING))


def course_by_slug(slug: str, include_unpublished: bool = False) -> Course:
    """The course with this slug and its lectures; NotFound for unknown or unpublished ones."""
    # One statement: the lectures joined (ordered by the relationship's position), not a
    # second SELECT … IN; `unique()` folds the joined rows back into one course.
    course = db.session.scalars(
        db.select(Course).options(joinedload(Course.lectures)).where(Course.slug == slug)
    ).unique().one_or_none()
    if course is None or not (course.is_published or include_unpublished):
        raise NotFound("We could not find that course.", code="COURSE_NOT_FOUND")
    return course


def course_by_id_or_slug(key: str | int, include_unpublished: bool = False) -> Course:
    """For the API, where `courseId` may be a course's id or its slug."""
    course = None
    if isinstance(key, str) and key.isascii() and key.isdigit():  # not "¹", which isdigit() accepts
        key = int(key)
    if isinstance(key, int) and 0 < key <= MAX_ID:  # larger ids make the database raise, not miss
        course = db.session.get(Course, key)
    if course is None and isinstance(key, str):
        course = db.session.scalar(db.select(Course).where(Course.slug == key))
    if course is None or not (course.is_published or include_unpublished):
        raise NotFound("We could not find that course.", code="COURSE_NOT_FOUND", field="courseId")
    return course


def lecture_in_course(course: Course, lecture_id: int) -> Lecture:
    for lecture in course.lectures:
        if lecture.id == lecture_id:
            return lecture
    raise NotFound("We could not find that lecture.", code="LECTURE_NOT_FOUND")

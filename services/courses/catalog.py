"""The course catalog as visitors see it: published courses, searched and filtered, and
their outlines.

The catalog list is one statement whatever is asked (tests/perf pins it): the search, the
filters and each course's lecture count and length are parts of that one SELECT.
"""
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from models import Course, EnrollmentType, Lecture
from services.courses.details import TOPICS
from services.errors import NotFound

MAX_ID = 2**31 - 1  # the integer primary key's range on PostgreSQL


# How a course is sold, as the catalog's price filter names it. "membership" is the
# SUBSCRIPTION enrollment type (courses that come with a membership rather than a price).
PRICE_FILTERS = {"free": "Free", "paid": "Paid", "membership": "Membership"}
MAX_QUERY_LENGTH = 100
MAX_TERMS = 8

_lectures = sa.select(Lecture.course_id, sa.func.count(Lecture.id).label("lecture_count"),
                      sa.func.coalesce(sa.func.sum(Lecture.duration_minutes), 0).label("total_minutes")) \
    .group_by(Lecture.course_id).subquery()

# What the catalog list shows of each course: rows of these columns, not whole Course objects
# (loading and tracking full ORM objects for a read-only list cost more than the query).
_LISTING = (db.select(Course.id, Course.slug, Course.title, Course.short_description, Course.price_amount,
                      Course.currency, Course.enrollment_type, Course.topic, Course.instructor_name,
                      Course.cover_image, Course.cover_alt,
                      sa.func.coalesce(_lectures.c.lecture_count, 0).label("lecture_count"),
                      sa.func.coalesce(_lectures.c.total_minutes, 0).label("total_minutes"))
            .outerjoin(_lectures, _lectures.c.course_id == Course.id)
            .where(Course.is_published.is_(True)).order_by(Course.created_at, Course.id))


@dataclass(frozen=True)
class CatalogQuery:
    """What a visitor asked the catalog for, cleaned: words to find, a price kind, a topic."""

    text: str = ""
    price: str = ""  # "" or a key of PRICE_FILTERS
    topic: str = ""  # "" or a key of details.TOPICS

    @property
    def terms(self) -> list[str]:
        return self.text.split()[:MAX_TERMS]

    @property
    def is_filtered(self) -> bool:
        return bool(self.terms or self.price or self.topic)


def catalog_query(text: str | None = None, price: str | None = None, topic: str | None = None) -> CatalogQuery:
    """The query from the catalog form's raw values; unknown filter values are ignored (a
    shared link with an old topic still lists courses), long text is cut."""
    text = " ".join((text or "").split())[:MAX_QUERY_LENGTH]
    price = price if price in PRICE_FILTERS else ""
    topic = topic if topic in TOPICS else ""
    return CatalogQuery(text=text, price=price, topic=topic)


def published_courses(query: CatalogQuery | None = None) -> list[sa.Row]:
    """The published courses as the catalog lists them, oldest first: one row each, one
    statement. With a query: every word in the title or a description, of the price kind
    and topic asked."""
    statement = _LISTING
    query = query or CatalogQuery()
    for term in query.terms:
        # autoescape: a visitor's "%" or "_" is a character to find, not a wildcard.
        statement = statement.where(sa.or_(Course.title.icontains(term, autoescape=True),
                                           Course.short_description.icontains(term, autoescape=True),
                                           Course.description.icontains(term, autoescape=True)))
    if query.price:
        statement = statement.where(_price_filter(query.price))
    if query.topic:
        statement = statement.where(Course.topic == query.topic)
    return list(db.session.execute(statement))


def _price_filter(kind: str) -> sa.ColumnElement[bool]:
    free = sa.or_(Course.enrollment_type == EnrollmentType.FREE, Course.price_amount == 0)  # as Course.is_free
    if kind == "free":
        return free
    if kind == "membership":
        return Course.enrollment_type == EnrollmentType.SUBSCRIPTION
    return sa.and_(sa.not_(free), Course.enrollment_type != EnrollmentType.SUBSCRIPTION)


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

"""Paths as visitors see them: the published paths, one path by slug with its courses in order."""
from __future__ import annotations

from sqlalchemy.orm import selectinload

from extensions import db
from models import Course, LearningPath, LearningPathCourse
from services.errors import NotFound

MAX_ID = 2**31 - 1


def _with_courses():
    return selectinload(LearningPath.steps).joinedload(LearningPathCourse.course)


def published_paths() -> list[LearningPath]:
    """Published paths with their courses (two statements), oldest first."""
    return list(db.session.scalars(db.select(LearningPath).options(_with_courses())
                                   .where(LearningPath.is_published.is_(True))
                                   .order_by(LearningPath.created_at, LearningPath.id)))


def path_by_slug(slug: str, include_unpublished: bool = False) -> LearningPath:
    """The path with this slug and its courses; NotFound for unknown or unpublished ones."""
    path = None
    if "\x00" not in (slug or ""):  # PostgreSQL refuses NUL in text; such a slug names no path
        path = db.session.scalar(db.select(LearningPath).options(_with_courses()).where(LearningPath.slug == slug))
    if path is None or not (path.is_published or include_unpublished):
        raise NotFound("We could not find that learning path.", code="PATH_NOT_FOUND")
    return path


def path_by_id(path_id: int | str, include_unpublished: bool = False, field: str | None = None) -> LearningPath:
    """For the API, where `learningPathId` may be a path's id or its slug."""
    path = None
    if isinstance(path_id, str) and path_id.isascii() and path_id.isdigit():
        path_id = int(path_id)
    if isinstance(path_id, int) and not isinstance(path_id, bool) and 0 < path_id <= MAX_ID:
        path = db.session.get(LearningPath, path_id)
    elif isinstance(path_id, str):
        try:
            return path_by_slug(path_id, include_unpublished)
        except NotFound:
            path = None
    if path is None or not (path.is_published or include_unpublished):
        raise NotFound("We could not find that learning path.", code="PATH_NOT_FOUND", field=field)
    return path


def paths_with_course(course: Course) -> list[LearningPath]:
    """The published paths a course belongs to (the course page mentions them)."""
    return list(db.session.scalars(
        db.select(LearningPath).join(LearningPathCourse, LearningPathCourse.path_id == LearningPath.id)
        .where(LearningPathCourse.course_id == course.id, LearningPath.is_published.is_(True))
        .order_by(LearningPath.name, LearningPath.id)))


def paid_courses(path: LearningPath) -> list[Course]:
    """The path's courses that cost money, in the path's order."""
    return [course for course in path.courses if not course.is_free]


def all_paths() -> list[LearningPath]:
    """Every path with its courses, for staff."""
    return list(db.session.scalars(db.select(LearningPath).options(_with_courses())
                                   .order_by(LearningPath.name, LearningPath.id)))



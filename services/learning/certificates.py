"""Certificates: what anyone holding a certificate's link may verify.

A certificate is identified by its unguessable public id (Enrollment.certificate_id). The
lookup returns only the learner's name, the course title and the date it was earned;
nothing else personal (no email, no payment, no progress details). A learning path's
certificate (issue 20: LearningPathEnrollment.certificate_id, "pcert_…") is looked up the same
way and names the path and its courses.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import joinedload

from extensions import db
from models import Enrollment, EnrollmentStatus, LearningPath, LearningPathEnrollment
from services.errors import NotFound

# Public ids look like "cert_" + 22 url-safe characters; anything else is not looked up
# (PostgreSQL also rejects NUL bytes in text, which would otherwise be a 500).
_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")


@dataclass(frozen=True)
class Certificate:
    public_id: str
    learner_name: str
    course_title: str
    issued_on: date
    valid: bool  # False once the enrollment was revoked (a refund or a lost dispute)
    kind: str = "course"  # or "path": `course_title` is then the path's name
    course_titles: tuple[str, ...] = ()  # a path's courses, in order


def by_public_id(public_id: str) -> Certificate:
    """The certificate with this public id; NotFound for unknown ids."""
    if not _PUBLIC_ID.fullmatch(public_id or ""):
        raise _not_found()
    if public_id.startswith("pcert_"):
        return _path_certificate(public_id)
    enrollment = db.session.scalar(
        db.select(Enrollment).options(joinedload(Enrollment.user), joinedload(Enrollment.course))
        .where(Enrollment.certificate_id == public_id, Enrollment.certificate_earned.is_(True)))
    if enrollment is None or enrollment.certificate_earned_at is None:
        raise _not_found()
    return Certificate(public_id=public_id, learner_name=enrollment.user.name,
                       course_title=enrollment.course.title, issued_on=enrollment.certificate_earned_at.date(),
                       valid=enrollment.status != EnrollmentStatus.REVOKED)


def _path_certificate(public_id: str) -> Certificate:
    row = db.session.scalar(
        db.select(LearningPathEnrollment)
        .options(joinedload(LearningPathEnrollment.user), joinedload(LearningPathEnrollment.path)
                 .selectinload(LearningPath.steps))
        .where(LearningPathEnrollment.certificate_id == public_id))
    if row is None or row.completed_at is None:
        raise _not_found()
    return Certificate(public_id=public_id, learner_name=row.user.name, course_title=row.path.name,
                       issued_on=row.completed_at.date(), valid=True, kind="path",
                       course_titles=tuple(course.title for course in row.path.courses))


def _not_found() -> NotFound:
    return NotFound("We could not find a certificate with that id.", code="CERTIFICATE_NOT_FOUND")

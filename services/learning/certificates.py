"""Certificates: what anyone holding a certificate's link may verify.

A certificate is identified by its unguessable public id (Enrollment.certificate_id). The
lookup returns only the learner's name, the course title and the date it was earned;
nothing else personal (no email, no payment, no progress details).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import joinedload

from extensions import db
from models import Enrollment, EnrollmentStatus
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


def by_public_id(public_id: str) -> Certificate:
    """The certificate with this public id; NotFound for unknown ids."""
    if not _PUBLIC_ID.fullmatch(public_id or ""):
        raise _not_found()
    enrollment = db.session.scalar(
        db.select(Enrollment).options(joinedload(Enrollment.user), joinedload(Enrollment.course))
        .where(Enrollment.certificate_id == public_id, Enrollment.certificate_earned.is_(True)))
    if enrollment is None or enrollment.certificate_earned_at is None:
        raise _not_found()
    return Certificate(public_id=public_id, learner_name=enrollment.user.name,
                       course_title=enrollment.course.title, issued_on=enrollment.certificate_earned_at.date(),
                       valid=enrollment.status != EnrollmentStatus.REVOKED)


def _not_found() -> NotFound:
    return NotFound("We could not find a certificate with that id.", code="CERTIFICATE_NOT_FOUND")

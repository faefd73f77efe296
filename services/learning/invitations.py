"""Invitations to INVITATION_ONLY courses: staff issue single-use codes, learners redeem them."""
from __future__ import annotations

import secrets
from datetime import datetime

from extensions import db
from models import Course, Invitation, User
from services import audit
from services.coupons.redemptions import normalize_code  # typed by hand like coupon codes: same rule
from services.errors import DomainError, FieldErrors

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are typed by hand
INVALID_MESSAGE = "This invitation code is not valid for this course."
MAX_AT_ONCE = 500
MAX_EMAIL_LENGTH = 254  # the column's length


def _new_code() -> str:
    return "INV-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def issue_problems(count: int | None, email: str | None) -> dict[str, str]:
    """{field: message} for every reason `issue` would refuse (empty when none), for a form that
    also has errors of its own to show with them."""
    errors = {}
    if count is None or not 1 <= count <= MAX_AT_ONCE:
        errors["count"] = f"Issue between 1 and {MAX_AT_ONCE} invitations at a time."
    if len((email or "").strip()) > MAX_EMAIL_LENGTH:
        errors["email"] = f"An email address has at most {MAX_EMAIL_LENGTH} characters."
    return errors


def issue(course: Course, *, count: int = 1, email: str | None = None, expires_at: datetime | None = None,
          actor: User | None) -> list[Invitation]:
    """Create `count` single-use codes for `course` (optionally only for `email`)."""
    if errors := issue_problems(count, email):
        raise FieldErrors(errors)
    email = (email or "").strip().lower() or None
    invitations = [Invitation(course_id=course.id, code=_new_code(), email=email,
                              expires_at=expires_at, created_by_id=actor.id if actor else None)
                   for _ in range(count)]
    db.session.add_all(invitations)
    db.session.flush()
    audit.record("invitation.issued", course, actor=actor, message=f"{count} invitation(s)"
                 + (f" for {email}" if email else ""))
    return invitations


def for_course(course: Course, limit: int = 200) -> list[Invitation]:
    """The course's invitations for staff, newest first."""
    return list(db.session.scalars(db.select(Invitation).where(Invitation.course_id == course.id)
                                   .order_by(Invitation.created_at.desc(), Invitation.id.desc()).limit(limit)))


def redeem(code: str, user: User, course: Course, now: datetime) -> Invitation:
    """Use the code for `user` (locked row; the same learner may present it again)."""
    normalized = normalize_code(code)
    invitation = None
    if normalized and len(normalized) <= 40:
        invitation = db.session.execute(
            db.select(Invitation).where(Invitation.code == normalized).with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
    if (invitation is None or invitation.course_id != course.id or invitation.revoked_at is not None
            or (invitation.expires_at is not None and invitation.expires_at <= now)
            or (invitation.email and invitation.email != user.email.lower())
            or (invitation.redeemed_by_id not in (None, user.id))):
        raise DomainError(INVALID_MESSAGE, code="INVITATION_INVALID", field="invitation_code")
    if invitation.redeemed_by_id is None:
        invitation.redeemed_by_id = user.id
        invitation.redeemed_at = now
        db.session.flush()
        audit.record("invitation.redeemed", invitation, actor=user)
    return invitation


def revoke(invitation: Invitation, now: datetime, actor: User | None) -> Invitation:
    if invitation.revoked_at is None and invitation.redeemed_at is None:
        invitation.revoked_at = now
        audit.record("invitation.revoked", invitation, actor=actor)
    return invitation

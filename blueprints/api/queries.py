"""Read-only lookups the API needs that no service offers yet (plain selects, no rules).

Kept here rather than in services/enrollments.py and services/checkout.py, which belong to
other issues; they can move there unchanged.
"""
from __future__ import annotations

from sqlalchemy.orm import selectinload

from extensions import db
from models import Enrollment, PaymentSession, User


def enrollments_of(user: User) -> list[Enrollment]:
    return list(db.session.scalars(
        db.select(Enrollment).options(selectinload(Enrollment.course))
        .where(Enrollment.user_id == user.id).order_by(Enrollment.enrolled_at.desc(), Enrollment.id.desc())
    ))


def payment_session_by_stripe_id(stripe_session_id: str) -> PaymentSession | None:
    if not stripe_session_id or len(stripe_session_id) > 255:
        return None
    return db.session.scalar(db.select(PaymentSession).where(PaymentSession.stripe_session_id == stripe_session_id))

"""Read-only queries behind the staff lists (payments, webhook inbox, enrollments, audit).

No rules live here, only filtering, search and paging; every state change goes through a
service. Only the staff pages use them; they live in services/ so views hold no data access.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from models import (AuditEvent, Coupon, Course, Enrollment, EnrollmentStatus, Invitation, PaymentSession, PaymentSessionStatus,
                    StripeEvent, User, WaitlistEntry, WaitlistStatus, WebhookEventStatus)

PER_PAGE = 25


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def dashboard_summary() -> dict:
    count = lambda model, *where: db.session.scalar(db.select(sa.func.count()).select_from(model).where(*where))  # noqa: E731
    return {
        "courses": count(Course),
        "coupons": count(Coupon, Coupon.is_active.is_(True)),
        "pending": count(PaymentSession, PaymentSession.status == PaymentSessionStatus.PENDING),
        "flagged": count(PaymentSession, PaymentSession.needs_review.is_(True)),
        "failed_events": count(StripeEvent, StripeEvent.status == WebhookEventStatus.FAILED),
        "enrollments": count(Enrollment),
    }


def audit_events(*, action: str = "", subject: str = "", actor: str = "", page: int = 1):
    query = db.select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action.like(f"{action}%"))
    if subject:
        kind, _, ident = subject.partition(":")
        query = query.where(AuditEvent.subject_type == kind)
        if ident:
            query = query.where(AuditEvent.subject_id == ident)
    if actor:
        query = query.where(AuditEvent.actor_label.like(f"%{actor.lower()}%"))
    return db.paginate(query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()), page=page,
                       per_page=50, error_out=False)


def payments(*, status: str = "", course_id: int | None = None, coupon: str = "", start: str = "",
             end: str = "", q: str = "", flagged: bool = False, page: int = 1):
    query = db.select(PaymentSession).options(joinedload(PaymentSession.user), joinedload(PaymentSession.course))
    if status in PaymentSessionStatus.__members__:
        query = query.where(PaymentSession.status == PaymentSessionStatus(status))
    if course_id:
        query = query.where(PaymentSession.course_id == course_id)
    if coupon.strip():
        query = query.where(PaymentSession.coupon_code == coupon.strip().upper())
    if (low := _day(start)) is not None:
        query = query.where(PaymentSession.created_at >= datetime.combine(low, time.min, tzinfo=timezone.utc))
    if (high := _day(end)) is not None:
        query = query.where(PaymentSession.created_at < datetime.combine(high + timedelta(days=1), time.min,
                                                                         tzinfo=timezone.utc))
    if flagged:
        query = query.where(PaymentSession.needs_review.is_(True))
    if q.strip():
        term = q.strip()
        query = query.join(User, User.id == PaymentSession.user_id).where(sa.or_(
            User.email.like(f"%{term.lower()}%"), PaymentSession.id == term,
            PaymentSession.stripe_session_id == term, PaymentSession.payment_intent_id == term,
            PaymentSession.latest_charge_id == term))
    return db.paginate(query.order_by(PaymentSession.created_at.desc(), PaymentSession.id), page=page,
                       per_page=PER_PAGE, error_out=False)


def payment(payment_id: str) -> PaymentSession | None:
    return db.session.get(PaymentSession, payment_id)


def timeline(payment: PaymentSession) -> list[dict]:
    """Our audit entries and Stripe's events for one payment session, oldest first."""
    audits = db.session.scalars(db.select(AuditEvent).where(AuditEvent.subject_type == "PaymentSession",
                                                            AuditEvent.subject_id == payment.id))
    events = db.session.scalars(db.select(StripeEvent).where(StripeEvent.payment_session_id == payment.id))
    items = [{"at": a.occurred_at, "kind": "audit", "title": a.action, "who": a.actor_label,
              "detail": a.message, "before": a.before, "after": a.after} for a in audits]
    items += [{"at": e.received_at, "kind": "stripe", "title": e.type, "who": "stripe", "detail": e.last_error,
               "status": e.status.value, "event_id": e.id} for e in events]
    return sorted(items, key=lambda item: item["at"])


def webhook_events(*, status: str = "", type_: str = "", page: int = 1):
    query = db.select(StripeEvent)
    if status in WebhookEventStatus.__members__:
        query = query.where(StripeEvent.status == WebhookEventStatus(status))
    if type_.strip():
        query = query.where(StripeEvent.type.like(f"{type_.strip()}%"))
    return db.paginate(query.order_by(StripeEvent.received_at.desc(), StripeEvent.id), page=page,
                       per_page=50, error_out=False)


def course_enrollments(course: Course, *, status: str = "", page: int = 1):
    query = db.select(Enrollment).options(joinedload(Enrollment.user)).where(Enrollment.course_id == course.id)
    if status in EnrollmentStatus.__members__:
        query = query.where(Enrollment.status == EnrollmentStatus(status))
    return db.paginate(query.order_by(Enrollment.enrolled_at.desc(), Enrollment.id.desc()), page=page,
                       per_page=50, error_out=False)


def enrollment(course: Course, enrollment_id: int) -> Enrollment | None:
    found = db.session.get(Enrollment, enrollment_id)
    return found if found is not None and found.course_id == course.id else None


def user_by_email(email: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == email.strip().lower()))


def invitations(course: Course, limit: int = 200) -> list[Invitation]:
    return list(db.session.scalars(db.select(Invitation).where(Invitation.course_id == course.id)
                                   .order_by(Invitation.created_at.desc(), Invitation.id.desc()).limit(limit)))


def waitlist(course: Course) -> list[WaitlistEntry]:
    return list(db.session.scalars(
        db.select(WaitlistEntry).options(joinedload(WaitlistEntry.user))
        .where(WaitlistEntry.course_id == course.id, WaitlistEntry.status == WaitlistStatus.WAITING)
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)))


def waitlist_entry(course: Course, entry_id: int) -> WaitlistEntry | None:
    found = db.session.get(WaitlistEntry, entry_id)
    return found if found is not None and found.course_id == course.id else None

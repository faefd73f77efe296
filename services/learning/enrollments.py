"""Enrollments: the one enrollment per (learner, course), created, reactivated and revoked here.

`enroll` is the only function that creates an enrollment. It relies on the database for the
rules that must hold across app instances: the unique (user, course) constraint (a racing
insert becomes a lookup of the winner's row) and, for courses with a capacity, a lock on the
course row while counting seats, so two learners cannot both take the last seat.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models import (Course, Enrollment, EnrollmentSource, EnrollmentStatus, EnrollmentType, Lecture,
                    PaymentSession, PaymentSessionCourse, PaymentSessionStatus, PaymentStatus, Subscription, User,
                    utcnow)
from services import audit
from services.learning import invitations
from services.errors import Conflict, DomainError

# Nothing is paid for a grant by hand: on a paid or subscription course it is recorded as FREE.
UNPAID_TYPES = (EnrollmentType.FREE, EnrollmentType.INVITATION_ONLY, EnrollmentType.WAITLIST)
_LOOK_UP = object()  # enroll's default for `current`: lock and read the enrollment itself
SEAT_STATUSES = (EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED, EnrollmentStatus.SUSPENDED)
# A checkout holds its seat (and its coupon use) until its Stripe session expires plus this
# grace, so a payment made in the session's last second still finds it.
HOLD_GRACE = timedelta(minutes=10)
_FIELDS = ["status", "type", "payment_status", "amount_paid", "payment_id"]


def find(user: User, course: Course) -> Enrollment | None:
    return db.session.scalar(
        db.select(Enrollment).where(Enrollment.user_id == user.id, Enrollment.course_id == course.id)
    )


def with_access(user: User, course: Course) -> Enrollment | None:
    """The learner's enrollment in `course` if it grants access now (active or completed, not expired)."""
    enrollment = find(user, course)
    return enrollment if enrollment is not None and enrollment.grants_access else None


def for_user_query(user: User) -> sa.Select:
    """The learner's enrollments with their courses (unordered: for_user and the API's pages order it)."""
    return db.select(Enrollment).options(selectinload(Enrollment.course)).where(Enrollment.user_id == user.id)


def for_user(user: User) -> list[Enrollment]:
    """The learner's enrollments with their courses, newest first."""
    return list(db.session.scalars(
        for_user_query(user).order_by(Enrollment.enrolled_at.desc(), Enrollment.id.desc())))


def for_course_query(course: Course, *, status: str = "") -> sa.Select:
    """The course's enrollments with their learners (unordered); `status` filters by name."""
    query = db.select(Enrollment).options(joinedload(Enrollment.user)).where(Enrollment.course_id == course.id)
    if status in EnrollmentStatus.__members__:
        query = query.where(Enrollment.status == EnrollmentStatus(status))
    return query


def for_course(course: Course, *, status: str = "", page: int = 1):
    """A page of the course's enrollments for staff, newest first; `status` filters by name."""
    return db.paginate(for_course_query(course, status=status).order_by(Enrollment.enrolled_at.desc(),
                                                                       Enrollment.id.desc()),
                       page=page, per_page=50, error_out=False)


def in_course(course: Course, enrollment_id: int) -> Enrollment | None:
    """The enrollment with this id if it belongs to `course` (ids in staff URLs name both)."""
    found = db.session.get(Enrollment, enrollment_id)
    return found if found is not None and found.course_id == course.id else None


def seats_taken(course: Course) -> int:
    return db.session.scalar(
        db.select(sa.func.count()).select_from(Enrollment)
        .where(Enrollment.course_id == course.id, Enrollment.status.in_(SEAT_STATUSES))
    ) or 0


def seats_held(course: Course, now: datetime, *, exclude_user: User | None = None) -> int:
    """Seats held by other learners' checkouts in progress, as coupon uses are held.

    A PENDING payment session holds one until its expiry plus HOLD_GRACE (released at once
    when it is cancelled, fails or expires: its status changes); a PROCESSING one (a bank
    payment on its way) holds it until it settles. The learner's own checkouts do not count
    against them: a new one replaces them.
    """
    live = sa.or_(PaymentSession.status == PaymentSessionStatus.PROCESSING,
                  sa.and_(PaymentSession.status == PaymentSessionStatus.PENDING,
                          sa.or_(PaymentSession.expires_at.is_(None), PaymentSession.expires_at > now - HOLD_GRACE)))
    # A product's checkout (a bundle: course_id NULL) holds a seat of each course it lists.
    in_product = PaymentSession.id.in_(db.select(PaymentSessionCourse.payment_session_id)
                                       .where(PaymentSessionCourse.course_id == course.id))
    query = db.select(sa.func.count()).select_from(PaymentSession).where(
        sa.or_(PaymentSession.course_id == course.id, in_product), live)
    if exclude_user is not None:
        query = query.where(PaymentSession.user_id != exclude_user.id)
    return db.session.scalar(query) or 0


def is_full(course: Course, user: User | None = None, now: datetime | None = None) -> bool:
    """No seat for `user`: enrollments plus other learners' checkouts in progress fill the course.

    A read for display and early checks; `enroll` and `hold_seat` re-check under the course
    row lock.
    """
    if course.capacity is None:
        return False
    return seats_taken(course) + seats_held(course, now or utcnow(), exclude_user=user) >= course.capacity


def every_seat_enrolled(course: Course) -> bool:
    """Enrollments alone fill a capped course (holds aside): a payment that arrives now is
    enrolled over capacity (fulfillment flags it: the money is taken)."""
    return course.capacity is not None and seats_taken(course) >= course.capacity


def hold_seat(user: User, course: Course, now: datetime) -> bool:
    """Whether a checkout by `user` may hold a seat of `course`, decided under the course row
    lock (kept until the transaction ends, so racers queue and count each other's holds). The
    caller's new PENDING payment session is the hold. Always True without a capacity."""
    if course.capacity is None:
        return True
    _lock_course(course)
    return not is_full(course, user, now)


def _lock_course(course: Course) -> None:
    db.session.execute(db.select(Course.id).where(Course.id == course.id).with_for_update(key_share=True))


def _lecture_count(course: Course) -> int | sa.ScalarSelect:
    if "lectures" not in sa.inspect(course).unloaded:
        return len(course.lectures)
    # Counted by the database inside the INSERT/UPDATE: no need to load every lecture's text.
    return sa.select(sa.func.count()).where(Lecture.course_id == course.id).scalar_subquery()


def lock(user: User, course: Course) -> Enrollment | None:
    """The learner's enrollment in `course`, read under a key-share row lock (or None).

    For a course with a capacity the course row is locked first (seats are counted under it):
    always course, then enrollment, whoever calls, so two enrollers cannot deadlock.
    """
    if course.capacity is not None:
        _lock_course(course)
    return db.session.execute(
        db.select(Enrollment).where(Enrollment.user_id == user.id, Enrollment.course_id == course.id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)
    ).scalar_one_or_none()


def enroll(user: User, course: Course, *, type: EnrollmentType, source: EnrollmentSource = EnrollmentSource.DIRECT,
           now: datetime, payment_session: PaymentSession | None = None, amount_paid: int = 0, discount: int = 0,
           actor: User | None = None, enforce_capacity: bool = True, current: Enrollment | None | object = _LOOK_UP
           ) -> Enrollment:
    """Create or reactivate the learner's enrollment; an enrollment that grants access is returned as is.

    `current` is the learner's enrollment as `lock` returned it, when the caller already
    holds it (fulfillment looks at it first); by default enroll looks it up itself.

    Raises Conflict COURSE_FULL when the course has no seat left (checked under a lock on the
    course row). Fulfillment of a paid session passes `enforce_capacity=False`: money taken
    always gives access, and the session is flagged for staff instead.
    """
    existing = lock(user, course) if current is _LOOK_UP else current
    if existing is not None and existing.status in (EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED) \
            and existing.grants_access and not _leaves_membership(existing, type):
        return existing
    if enforce_capacity and is_full(course, user, now):
        raise Conflict("This course is full. Join the waitlist to be told when a seat opens.", code="COURSE_FULL")
    values = dict(status=EnrollmentStatus.ACTIVE, status_reason=None, type=type, source=source,
                  payment_status=PaymentStatus.PAID if payment_session is not None and amount_paid > 0
                  else PaymentStatus.FREE,
                  payment_id=payment_session.id if payment_session is not None else None,
                  amount_paid=amount_paid, discount_applied=discount, currency=course.currency,
                  paid_at=now if amount_paid > 0 else None, revoked_at=None, expires_at=None,
                  total_lectures=_lecture_count(course))
    if existing is not None:
        before = audit.snapshot(existing, _FIELDS)
        if _leaves_membership(existing, type) and existing.status == EnrollmentStatus.COMPLETED:
            values["status"] = EnrollmentStatus.COMPLETED  # bought outright after finishing it as a member
        for key, value in values.items():
            setattr(existing, key, value)
        existing.enrolled_at = now
        db.session.flush()
        audit.record("enrollment.reactivated", existing, actor=actor, before=before,
                     after=audit.snapshot(existing, _FIELDS))
        return existing
    enrollment = Enrollment(user_id=user.id, course_id=course.id, enrolled_at=now, **values)
    try:
        with db.session.begin_nested():  # a racing insert for the same pair loses here…
            db.session.add(enrollment)
    except IntegrityError:
        winner = lock(user, course)  # …and finds the winner's row
        if winner is None:
            raise
        return winner if winner.grants_access else enroll(
            user, course, type=type, source=source, now=now, payment_session=payment_session,
            amount_paid=amount_paid, discount=discount, actor=actor, enforce_capacity=enforce_capacity)
    audit.record("enrollment.created", enrollment, actor=actor, after=audit.snapshot(enrollment, _FIELDS))
    return enrollment


def _leaves_membership(existing: Enrollment, type: EnrollmentType) -> bool:
    """A course opened through a membership, now bought (or granted) on its own: the enrollment
    becomes that, keeping its progress, so it outlives the subscription (issue 16)."""
    return existing.type == EnrollmentType.SUBSCRIPTION and type != EnrollmentType.SUBSCRIPTION


def enroll_with_subscription(user: User, course: Course, subscription: Subscription, *, now: datetime,
                             actor: User | None = None) -> Enrollment:
    """Start a course a membership opens: a SUBSCRIPTION enrollment through `subscription` (issue 16).

    Source PROMOTION when the subscription began with a coupon, else DIRECT. An enrollment that
    already grants access (bought outright, free, or through a membership) is returned as is; a
    SUBSCRIPTION one whose membership ended is pointed at this subscription, its progress kept.
    The caller checks that `subscription` opens `course` (memberships.subscriptions.opening).
    """
    existing = lock(user, course)
    if existing is not None and existing.grants_access:
        return existing
    if existing is not None and existing.type == EnrollmentType.SUBSCRIPTION \
            and existing.status in (EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED):
        existing.subscription_id = subscription.id
        existing.subscription = subscription
        db.session.flush()
        audit.record("enrollment.resubscribed", existing, actor=actor, message=f"subscription {subscription.id}")
        return existing
    checkout = subscription.payment_session
    source = EnrollmentSource.PROMOTION if checkout is not None and checkout.coupon_id else EnrollmentSource.DIRECT
    enrollment = enroll(user, course, type=EnrollmentType.SUBSCRIPTION, source=source, now=now, actor=actor,
                        current=existing)
    enrollment.subscription_id = subscription.id
    enrollment.subscription = subscription
    db.session.flush()
    return enrollment


def grant(user: User, course: Course, *, source: EnrollmentSource, now: datetime, actor: User) -> Enrollment:
    """Staff enroll a learner by hand, without payment (the course's own type when it is unpaid)."""
    kind = course.enrollment_type if course.enrollment_type in UNPAID_TYPES else EnrollmentType.FREE
    return enroll(user, course, type=kind, source=source, now=now, actor=actor)


def enroll_free(user: User, course: Course, now: datetime, invitation_code: str | None = None) -> Enrollment:
    """One-button enrollment: FREE courses, or INVITATION_ONLY ones with a valid invitation.

    Idempotent: an enrolled learner gets their enrollment back. Paid courses raise
    PAYMENT_REQUIRED (402): they go through checkout (where a 100% coupon also enrolls).
    """
    existing = with_access(user, course)
    if existing is not None:
        return existing
    if course.enrollment_type == EnrollmentType.INVITATION_ONLY:
        if not (invitation_code or "").strip():
            raise DomainError("This course is by invitation only. Enter the code from your invitation.",
                              code="INVITATION_REQUIRED", field="invitation_code", status=403)
        invitations.redeem(invitation_code, user, course, now)
        return enroll(user, course, type=EnrollmentType.INVITATION_ONLY, now=now, actor=user)
    if not course.is_free:
        raise DomainError("This course is not free: buy it through checkout.", code="PAYMENT_REQUIRED", status=402)
    return enroll(user, course, type=EnrollmentType.FREE, now=now, actor=user)


def describe_revoke(enrollment: Enrollment) -> str:
    """What revoking `enrollment` does, in words, for the confirmation staff answer."""
    return (f"{enrollment.user.email} loses access to {enrollment.course.title} at once. "
            "No money is refunded (refund the payment for that).")


def revoke(enrollment: Enrollment, reason: str, now: datetime, actor: User | None = None) -> Enrollment:
    return _set_status(enrollment, EnrollmentStatus.REVOKED, reason, now, actor, "enrollment.revoked")


def suspend(enrollment: Enrollment, reason: str, now: datetime) -> Enrollment:
    if enrollment.status == EnrollmentStatus.REVOKED:
        return enrollment  # a revoked enrollment stays revoked; suspension would not add anything
    return _set_status(enrollment, EnrollmentStatus.SUSPENDED, reason, now, None, "enrollment.suspended")


def restore(enrollment: Enrollment, now: datetime) -> Enrollment:
    if enrollment.status != EnrollmentStatus.SUSPENDED:
        return enrollment
    status = EnrollmentStatus.COMPLETED if enrollment.completed_at else EnrollmentStatus.ACTIVE
    return _set_status(enrollment, status, None, now, None, "enrollment.restored")


def _set_status(enrollment: Enrollment, status: EnrollmentStatus, reason: str | None, now: datetime,
                actor: User | None, action: str) -> Enrollment:
    if enrollment.status == status:
        return enrollment
    before = {"status": enrollment.status.value}
    enrollment.status = status
    enrollment.status_reason = reason[:300] if reason else None
    if status == EnrollmentStatus.REVOKED:
        enrollment.revoked_at = now
    db.session.flush()
    audit.record(action, enrollment, actor=actor, message=reason, before=before, after={"status": status.value})
    return enrollment

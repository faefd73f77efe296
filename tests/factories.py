"""Builders for test data. Each commits, so the rows are visible to every connection
(inside `flushed_only()` they only flush, for a test that rolls its examples back)."""
from contextlib import contextmanager
import secrets
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import count

from extensions import db
from models import (BillingInterval, Bundle, bundle_courses, Coupon, CouponRedemption, Course, DiscountType, Enrollment,
                    EnrollmentStatus, EnrollmentType, LearningPath, LearningPathCourse, Lecture, Membership,
                    PaymentSession, PaymentSessionStatus, PaymentStatus, RedemptionStatus, Subscription,
                    SubscriptionStatus, User, UserRole)
from services.people.accounts import hash_password
from tests.helpers import DEFAULT_PASSWORD

_sequence = count(1)
_commit = True
# Hashing with Argon2 is slow by design; one hash serves every test user.
_PASSWORD_HASH = hash_password(DEFAULT_PASSWORD)


def user(email: str | None = None, name: str = "Test Learner", role: str = "LEARNER", **fields) -> User:
    number = next(_sequence)
    obj = User(email=(email or f"user{number}@example.com").lower(), name=name, role=UserRole(role),
               password_hash=_PASSWORD_HASH, **fields)
    return save(obj)


def course(slug: str | None = None, title: str | None = None, price: int = 4900, currency: str = "USD",
           enrollment_type: str = "PAID", published: bool = True, lectures: int = 3, **fields) -> Course:
    number = next(_sequence)
    fields = {"short_description": "A test course.", "description": "A course made by the test suite.", **fields}
    obj = Course(slug=slug or f"course-{number}", title=title or f"Course {number}", price_amount=price,
                 currency=currency, enrollment_type=EnrollmentType(enrollment_type), is_published=published, **fields)
    obj.lectures = [Lecture(position=i, title=f"Lecture {i}", content=f"Content {i}", duration_minutes=5,
                            is_preview=(i == 1)) for i in range(1, lectures + 1)]
    return save(obj)


def coupon(code: str | None = None, percent: int | str | None = 10, amount_off: int | None = None,
           currency: str | None = None, courses: list[Course] | None = None, **fields) -> Coupon:
    number = next(_sequence)
    fixed = amount_off is not None
    obj = Coupon(code=(code or f"CODE{number}").upper(), name=fields.pop("name", f"Coupon {number}"),
                 discount_type=DiscountType.FIXED_AMOUNT if fixed else DiscountType.PERCENTAGE,
                 percent_off=None if fixed else Decimal(str(percent)), amount_off=amount_off,
                 currency=currency or ("USD" if fixed else None), **fields)
    obj.applicable_courses = courses or []
    return save(obj)


def enrollment(user: User, course: Course, status: str = "ACTIVE", paid: bool = False, **fields) -> Enrollment:
    values = dict(type=EnrollmentType.PAID if paid else EnrollmentType.FREE,
                  payment_status=PaymentStatus.PAID if paid else PaymentStatus.FREE,
                  amount_paid=course.price_amount if paid else 0, currency=course.currency,
                  total_lectures=len(course.lectures), paid_at=datetime.now(timezone.utc) if paid else None)
    values.update(fields)
    obj = Enrollment(user_id=user.id, course_id=course.id, status=EnrollmentStatus(status), **values)
    return save(obj)


def payment_session(user: User, course: Course, status: str = "PENDING", *, coupon: Coupon | None = None,
                    discount: int = 0, hold: bool = True, created_at: datetime | None = None,
                    expires_in: timedelta = timedelta(minutes=31), stripe_session_id: str | None = "auto",
                    **fields) -> PaymentSession:
    """A checkout attempt as checkout leaves it: the course's price less `discount`, a Stripe session id,
    an expiry `expires_in` after `created_at` (now), and with a `coupon` its use held by a RESERVED
    redemption (`hold=False` for none: a test that reserves itself, or a row whose use was counted).
    COMPLETED and REFUNDED ones were completed when created. `fields` set any other column."""
    now = created_at or datetime.now(timezone.utc)
    values = dict(amount=course.price_amount, currency=course.currency, discount_amount=discount,
                  final_amount=course.price_amount - discount, created_at=now, expires_at=now + expires_in,
                  stripe_session_id=f"cs_test_{secrets.token_hex(12)}" if stripe_session_id == "auto"
                  else stripe_session_id,
                  coupon_id=coupon.id if coupon else None, coupon_code=coupon.code if coupon else None,
                  completed_at=now if status in ("COMPLETED", "REFUNDED") else None)
    values.update(fields)
    obj = PaymentSession(user_id=user.id, course_id=course.id, status=PaymentSessionStatus(status), **values)
    db.session.add(obj)
    db.session.flush()  # the redemption names the session's id
    if coupon is not None and hold:
        db.session.add(CouponRedemption(coupon_id=coupon.id, user_id=user.id, course_id=course.id,
                                        payment_session_id=obj.id, status=RedemptionStatus.RESERVED,
                                        discount_amount=discount, currency=course.currency,
                                        reserved_at=now, expires_at=obj.expires_at))
    return save(obj)


def bundle(courses: list[Course], price: int | None = None, *, slug: str | None = None, name: str | None = None,
           published: bool = True, **fields) -> Bundle:
    """A bundle of `courses` (their currency), priced `price` (default: 80% of their sum)."""
    number = next(_sequence)
    currency = courses[0].currency if courses else "USD"
    total = sum(course.price_amount for course in courses)
    obj = Bundle(slug=slug or f"bundle-{number}", name=name or f"Bundle {number}", description="A test bundle.",
                 price_amount=total * 8 // 10 if price is None else price, currency=currency,
                 is_published=published, **fields)
    obj.courses = list(courses)
    save(obj)
    for position, course in enumerate(courses):  # the relationship writes the default position
        db.session.execute(bundle_courses.update().where(bundle_courses.c.bundle_id == obj.id,
                                                         bundle_courses.c.course_id == course.id)
                           .values(position=position))
    if _commit:
        db.session.commit()
    return obj


def learning_path(courses: list[Course], slug: str | None = None, name: str | None = None,
                  price: int | None = None, currency: str | None = None, sequential: bool = False,
                  published: bool = True, **fields) -> LearningPath:
    """A learning path of `courses` in that order (a `price` needs a `currency`, default USD)."""
    number = next(_sequence)
    obj = LearningPath(slug=slug or f"path-{number}", name=name or f"Path {number}",
                       description=fields.pop("description", "A path made by the test suite."),
                       price_amount=price, currency=(currency or "USD") if price is not None else None,
                       sequential=sequential, is_published=published, **fields)
    obj.steps = [LearningPathCourse(course=course, position=i) for i, course in enumerate(courses, start=1)]
    return save(obj)


def membership(slug: str | None = None, name: str | None = None, monthly: int | None = 2900,
               yearly: int | None = 29000, currency: str = "USD", courses: list[Course] | None = None,
               **fields) -> Membership:
    """A membership (issue 16): all published courses, or only `courses` when given."""
    number = next(_sequence)
    obj = Membership(slug=slug or f"membership-{number}", name=name or f"Membership {number}",
                     monthly_price=monthly, yearly_price=yearly, currency=currency,
                     unlocks_all_courses=courses is None, **fields)
    obj.courses = courses or []
    return save(obj)


def subscription(user: User, membership: Membership, status: str = "ACTIVE", *, interval: str = "MONTH",
                 period_days: int = 30, **fields) -> Subscription:
    """A subscription as the webhooks leave it: Stripe ids, the membership's price, a current period
    around now. `fields` set any other column (past_due_since, cancel_at_period_end, ...)."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    billing = BillingInterval(interval)
    values = dict(stripe_subscription_id=f"sub_test_{secrets.token_hex(10)}",
                  stripe_customer_id=user.stripe_customer_id or f"cus_test_{secrets.token_hex(8)}",
                  interval=billing, amount=membership.price_for(billing) or 0, currency=membership.currency,
                  current_period_start=now - timedelta(days=1),
                  current_period_end=now - timedelta(days=1) + timedelta(days=period_days),
                  started_at=now - timedelta(days=1), stripe_event_at=now - timedelta(days=1))
    values.update(fields)
    obj = Subscription(user_id=user.id, membership_id=membership.id, status=SubscriptionStatus(status), **values)
    return save(obj)


@contextmanager
def flushed_only():
    """Builders inside flush instead of committing: the caller rolls the rows back (Hypothesis examples)."""
    global _commit
    _commit = False
    try:
        yield
    finally:
        _commit = True


def save(obj):
    """Add `obj` and commit (flush inside `flushed_only()`)."""
    db.session.add(obj)
    if _commit:
        db.session.commit()
    else:
        db.session.flush()
    return obj

"""Builders for test data. Each commits, so the rows are visible to every connection
(inside `flushed_only()` they only flush, for a test that rolls its examples back)."""
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from itertools import count

from extensions import db
from models import (Coupon, Course, DiscountType, Enrollment, EnrollmentStatus, EnrollmentType, Lecture,
                    PaymentStatus, User, UserRole)
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
    obj = Course(slug=slug or f"course-{number}", title=title or f"Course {number}", price_amount=price,
                 currency=currency, enrollment_type=EnrollmentType(enrollment_type), is_published=published,
                 short_description="A test course.", description="A course made by the test suite.", **fields)
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

"""Demo data for `flask demo seed`: courses, lectures, coupons and two accounts.

Idempotent: every record is found by its natural key (slug, code, email) and updated,
so seeding twice leaves the same data.
"""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from extensions import db
from models import Coupon, Course, DiscountType, EnrollmentType, Lecture, User, UserRole
from services.people import accounts

STAFF_EMAIL, STAFF_PASSWORD = "staff@learnpay.dev", "staff-pass-123"
LEARNER_EMAIL, LEARNER_PASSWORD = "learner@learnpay.dev", "learner-pass-123"

COURSES = [
    # slug, title, short description, price, currency, type, published, capacity, lectures
    ("python-foundations", "Python Foundations", "Write real programs from your first line of Python.",
     9900, "USD", EnrollmentType.PAID, True, None, 6),
    ("web-apps-with-flask", "Web Apps with Flask", "Build, test and deploy a server-rendered web app.",
     14900, "USD", EnrollmentType.PAID, True, None, 8),
    ("intro-to-git", "Intro to Git", "Version control without fear, in one afternoon.",
     0, "USD", EnrollmentType.FREE, True, None, 4),
    ("data-analysis-pandas", "Data Analysis with pandas", "Clean, reshape and chart real data sets.",
     7900, "EUR", EnrollmentType.PAID, True, None, 5),
    ("japanese-for-travelers", "Japanese for Travelers", "Phrases and manners for your first trip to Japan.",
     12000, "JPY", EnrollmentType.PAID, True, None, 5),
    ("sql-masterclass", "SQL Masterclass", "Joins, window functions and query plans, hands on.",
     4900, "USD", EnrollmentType.PAID, True, 25, 6),
    ("founders-circle", "Founders' Circle", "An invitation-only cohort on building a course business.",
     29900, "USD", EnrollmentType.INVITATION_ONLY, True, None, 4),
    ("rust-preview", "Rust for Pythonistas (coming soon)", "Systems programming for Python developers.",
     11900, "USD", EnrollmentType.PAID, False, None, 3),
]


def _course_description(title: str) -> str:
    return (f"{title} is a self-paced course with short lectures and exercises. "
            "Learn at your own pace, track your progress on your dashboard, and earn a "
            "certificate when you complete every lecture.")


def seed(now: datetime | None = None) -> dict:
    """Create or update the demo data; returns the accounts' credentials for printing."""
    now = now or datetime.now(timezone.utc)
    courses = {spec[0]: _upsert_course(*spec) for spec in COURSES}
    _upsert_coupons(now, courses)
    _upsert_user(STAFF_EMAIL, "Sam Staff", STAFF_PASSWORD, UserRole.STAFF)
    _upsert_user(LEARNER_EMAIL, "Lee Learner", LEARNER_PASSWORD, UserRole.LEARNER)
    db.session.flush()
    return {"staff": (STAFF_EMAIL, STAFF_PASSWORD), "learner": (LEARNER_EMAIL, LEARNER_PASSWORD)}


def is_empty() -> bool:
    return db.session.scalar(db.select(db.func.count(Course.id))) == 0


def _upsert_course(slug, title, short, price, currency, kind, published, capacity, lecture_count) -> Course:
    course = db.session.scalar(db.select(Course).where(Course.slug == slug)) or Course(slug=slug)
    course.title, course.short_description = title, short
    course.description = _course_description(title)
    course.price_amount, course.currency = price, currency
    course.enrollment_type, course.is_published, course.capacity = kind, published, capacity
    db.session.add(course)
    db.session.flush()
    existing = {lecture.position: lecture for lecture in course.lectures}
    for position in range(1, lecture_count + 1):
        lecture = existing.get(position) or Lecture(course=course, position=position)
        lecture.title = f"Lesson {position}: " + ("Welcome and setup" if position == 1 else f"Part {position}")
        lecture.content = f"In this lesson of {title} we work through part {position} step by step."
        lecture.duration_minutes = 8 + position
        lecture.is_preview = position == 1
        db.session.add(lecture)
    return course


def _upsert_coupons(now: datetime, courses: dict[str, Course]) -> None:
    specs = [
        dict(code="WELCOME10", name="Welcome discount", description="10% off for new learners",
             discount_type=DiscountType.PERCENTAGE, percent_off=Decimal(10), maximum_discount=2000,
             is_public=True, max_uses=1000, valid_from=now - timedelta(days=1),
             valid_until=now + timedelta(days=365)),
        dict(code="SAVE20", name="$20 off", description="$20 off orders of $50 or more",
             discount_type=DiscountType.FIXED_AMOUNT, amount_off=2000, currency="USD",
             minimum_amount=5000, is_public=True),
        dict(code="SUMMER2020", name="Summer sale 2020", description="An old summer promotion",
             discount_type=DiscountType.PERCENTAGE, percent_off=Decimal(30),
             valid_from=datetime(2020, 6, 1, tzinfo=timezone.utc),
             valid_until=datetime(2020, 9, 1, tzinfo=timezone.utc)),
        dict(code="FLASKFAN", name="Flask fans", description="25% off Web Apps with Flask only",
             discount_type=DiscountType.PERCENTAGE, percent_off=Decimal(25),
             courses=[courses["web-apps-with-flask"]]),
        dict(code="LAUNCH50", name="Launch week", description="50% off, first five learners",
             discount_type=DiscountType.PERCENTAGE, percent_off=Decimal(50), max_uses=5, current_uses=5),
        dict(code="FREEPASS", name="Full scholarship", description="100% off any course",
             discount_type=DiscountType.PERCENTAGE, percent_off=Decimal(100), max_uses=3),
    ]
    for spec in specs:
        restricted = spec.pop("courses", [])
        coupon = db.session.scalar(db.select(Coupon).where(Coupon.code == spec["code"])) or Coupon()
        for key, value in spec.items():
            setattr(coupon, key, value)
        coupon.applicable_courses = restricted
        db.session.add(coupon)


def _upsert_user(email: str, name: str, password: str, role: UserRole) -> User:
    user = accounts.find_by_email(email)
    if user is None:
        return accounts.create_user(email, name, password, role)
    user.name, user.role = name, role
    return user

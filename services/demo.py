"""Demo data for `flask demo seed`: courses (with covers, instructors, outcomes, FAQ),
lectures, coupons, a bundle of three courses and a learning path (issue 20), two accounts, and a third learner whose refund request waits in the staff
queue (issue 19); referral rewards on, the demo learner's referral code, and two purchases
made through their link by a fourth learner: one past its refund window (reward earned:
a coupon, mailed), one still inside it (pending) (issue 20); and the "All-Access" membership (issue 16).

Idempotent: every record is found by its natural key (slug, code, email) and updated,
so seeding twice leaves the same data. Covers are drawn with Pillow here (the same drawing
gives the same bytes, so the same cover key) and stored as staff uploads are.
"""
import io
import textwrap
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from PIL import Image, ImageChops, ImageDraw, ImageFont

from extensions import db
from models import (Bundle, bundle_courses, Coupon, Course, DiscountType, Enrollment, EnrollmentSource, EnrollmentType,
                    LearningPath, Lecture, Membership, PaymentSession, PaymentSessionStatus, PaymentStatus,
                    ReferralSettings, RefundRequest, RefundRequestStatus, User, UserRole)
from services.courses import covers
from services.paths import admin as path_admin
from services.payments import refund_policy
from services.people import accounts
from services.referrals import links, rewards

STAFF_EMAIL, STAFF_PASSWORD = "staff@learnpay.dev", "staff-pass-123"
LEARNER_EMAIL, LEARNER_PASSWORD = "learner@learnpay.dev", "learner-pass-123"
REFUNDER_EMAIL, REFUNDER_PASSWORD = "rita@learnpay.dev", "rita-pass-123"
REFERRED_EMAIL, REFERRED_PASSWORD = "ben@learnpay.dev", "ben-pass-123"
REFERRED_PURCHASES = [("ps_demo_referral_earned", "python-foundations", 20),  # id, course, days ago
                      ("ps_demo_referral_pending", "web-apps-with-flask", 3)]
DEMO_PAYMENT_ID = "ps_demo_refund_request"

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


# slug → topic, instructor, bio, what you'll learn, requirements, two colours for the cover.
DETAILS = {
    "python-foundations": ("programming", "Ada Byron", "Ada has taught Python to beginners for twelve years, "
                           "at night schools and at three startups.",
                           ["Write and run Python programs", "Use lists, dictionaries and functions",
                            "Read and write files", "Debug with confidence"],
                           ["A computer that runs Python 3.12", "No programming experience needed"],
                           ("#4f46e5", "#0ea5e9")),
    "web-apps-with-flask": ("web", "Miguel Ortega", "Miguel builds server-rendered apps for a living and "
                            "maintains two Flask extensions.",
                            ["Structure a Flask app with blueprints", "Store data with SQLAlchemy",
                             "Test views and services", "Deploy behind gunicorn"],
                            ["Python basics (functions, classes)", "Some HTML"], ("#0f766e", "#22c55e")),
    "intro-to-git": ("programming", "Linus Park", "Linus has untangled merge conflicts for teams of two to two hundred.",
                     ["Commit, branch and merge", "Undo mistakes safely", "Work with a remote"],
                     ["A terminal you can type in"], ("#b45309", "#f59e0b")),
    "data-analysis-pandas": ("data", "Grace Müller", "Grace is a data analyst who turns messy spreadsheets into "
                             "clear charts.",
                             ["Load CSV and Excel data", "Clean and reshape tables", "Group, aggregate and chart"],
                             ["Python basics", "A spreadsheet you are curious about"], ("#be185d", "#f472b6")),
    "japanese-for-travelers": ("languages", "Yuki Tanaka", "Yuki grew up in Osaka and has taught Japanese to "
                               "travellers for a decade.",
                               ["Greet, order and ask for directions", "Read hiragana on signs and menus",
                                "Avoid the classic etiquette mistakes"],
                               ["No Japanese needed"], ("#b91c1c", "#fb7185")),
    "sql-masterclass": ("data", "Edgar Codd Jr.", "Edgar tunes databases for a living and still enjoys a good join.",
                        ["Write joins and subqueries", "Use window functions", "Read a query plan"],
                        ["Basic SELECT statements"], ("#1e3a8a", "#6366f1")),
    "founders-circle": ("business", "Priya Raman", "Priya runs a course business with 40,000 learners.",
                        ["Price and launch a course", "Grow an audience", "Run cohorts"],
                        ["An idea for a course"], ("#334155", "#94a3b8")),
    "rust-preview": ("programming", "Ferris Crab", "Ferris writes Rust and Python, often on the same day.",
                     ["Ownership and borrowing", "Call Rust from Python"], ["Python experience"],
                     ("#9a3412", "#fb923c")),
}
FAQ = [
    {"question": "How long do I have access?", "answer": "For as long as the course exists, at your own pace."},
    {"question": "Do I get a certificate?", "answer": "Yes: complete every lecture and your certificate is ready "
                                                       "to print or share."},
    {"question": "Can I watch before buying?", "answer": "The first lecture is a free preview, no account needed."},
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
    _upsert_bundle(courses)
    _upsert_paths(courses)
    _upsert_membership(courses)
    _upsert_user(STAFF_EMAIL, "Sam Staff", STAFF_PASSWORD, UserRole.STAFF)
    _upsert_user(LEARNER_EMAIL, "Lee Learner", LEARNER_PASSWORD, UserRole.LEARNER)
    _upsert_refund_request(now, courses["sql-masterclass"],
                           _upsert_user(REFUNDER_EMAIL, "Rita Refund", REFUNDER_PASSWORD, UserRole.LEARNER))
    _upsert_referrals(now, courses, accounts.find_by_email(LEARNER_EMAIL),
                      _upsert_user(REFERRED_EMAIL, "Ben Referred", REFERRED_PASSWORD, UserRole.LEARNER))
    db.session.flush()
    return {"staff": (STAFF_EMAIL, STAFF_PASSWORD), "learner": (LEARNER_EMAIL, LEARNER_PASSWORD),
            "learner with a refund request": (REFUNDER_EMAIL, REFUNDER_PASSWORD),
            "learner referred by the demo learner": (REFERRED_EMAIL, REFERRED_PASSWORD)}


def is_empty() -> bool:
    return db.session.scalar(db.select(db.func.count(Course.id))) == 0


def _upsert_course(slug, title, short, price, currency, kind, published, capacity, lecture_count) -> Course:
    course = db.session.scalar(db.select(Course).where(Course.slug == slug)) or Course(slug=slug)
    course.title, course.short_description = title, short
    course.description = _course_description(title)
    course.price_amount, course.currency = price, currency
    course.enrollment_type, course.is_published, course.capacity = kind, published, capacity
    topic, instructor, bio, outcomes, requirements, colours = DETAILS[slug]
    course.topic, course.instructor_name, course.instructor_bio = topic, instructor, bio
    course.learning_outcomes, course.requirements, course.faq = outcomes, requirements, FAQ
    course.cover_image = covers.store(covers.prepare(_cover(title, colours), max_bytes=covers.limits()[0],
                                                     max_pixels=covers.limits()[1]))
    course.cover_alt = ""  # the drawing only repeats the title beside it: decoration
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


def _cover(title: str, colours: tuple[str, str]) -> bytes:
    """A 1280×720 PNG: a diagonal gradient of the two colours and the title in white."""
    width, height = covers.SIZES["large"]
    start, end = (Image.new("RGB", (1, 1), colour).getpixel((0, 0)) for colour in colours)
    vertical = Image.linear_gradient("L").resize((width, height))
    gradient = ImageChops.add(vertical, vertical.transpose(Image.Transpose.ROTATE_90).resize((width, height)), scale=2)
    image = Image.composite(Image.new("RGB", (width, height), end), Image.new("RGB", (width, height), start),
                            gradient)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=72)
    lines = textwrap.wrap(title.replace("(coming soon)", ""), 22)
    draw.multiline_text((80, height - 100 - 90 * len(lines)), "\n".join(lines), font=font, fill="white", spacing=18)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


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


BUNDLE = ("python-web-starter", "Python Web Starter",
          "From your first line of Python to a deployed web app with a real database: three courses, one price.",
          21900, "USD", ["python-foundations", "web-apps-with-flask", "sql-masterclass"], ("#7c3aed", "#f59e0b"))


def _upsert_bundle(courses: dict[str, Course]) -> Bundle:
    """A published bundle of three published USD courses, and BUNDLE15, a code for bundles only (issue 20)."""
    slug, name, description, price, currency, course_slugs, colours = BUNDLE
    bundle = db.session.scalar(db.select(Bundle).where(Bundle.slug == slug)) or Bundle(slug=slug)
    bundle.name, bundle.description, bundle.price_amount, bundle.currency = name, description, price, currency
    bundle.is_published, bundle.retired_at = True, None
    bundle.cover_image = covers.store(covers.prepare(_cover(name, colours), max_bytes=covers.limits()[0],
                                                     max_pixels=covers.limits()[1]))
    bundle.cover_alt = f"The title “{name}” on a violet and amber gradient"
    db.session.add(bundle)
    db.session.flush()
    db.session.execute(bundle_courses.delete().where(bundle_courses.c.bundle_id == bundle.id))
    db.session.execute(bundle_courses.insert(), [{"bundle_id": bundle.id, "course_id": courses[s].id, "position": i}
                                                 for i, s in enumerate(course_slugs)])
    coupon = db.session.scalar(db.select(Coupon).where(Coupon.code == "BUNDLE15")) or Coupon(code="BUNDLE15")
    coupon.name, coupon.description = "Bundle saver", "15% off any bundle (not single courses)"
    coupon.discount_type, coupon.percent_off, coupon.is_public = DiscountType.PERCENTAGE, Decimal(15), True
    coupon.applicable_courses, coupon.applicable_bundles = [], [bundle]
    db.session.add(coupon)
    return bundle


# Learning paths (issue 20): slug, name, description, price (minor units, currency) or None,
# unlock in order, the courses' slugs in order (a free course first).
PATHS = [
    ("python-web-developer", "Python Web Developer",
     "From your first commit to a deployed web app: Git, then Python, then Flask. Each course "
     "unlocks when you complete the one before it.", (19900, "USD"), True,
     ["intro-to-git", "python-foundations", "web-apps-with-flask"]),
]


def _upsert_paths(courses: dict[str, Course]) -> None:
    for slug, name, description, price, sequential, course_slugs in PATHS:
        path = db.session.scalar(db.select(LearningPath).where(LearningPath.slug == slug)) or LearningPath(slug=slug)
        path.name, path.description, path.sequential, path.is_published = name, description, sequential, True
        path.price_amount, path.currency = price if price is not None else (None, None)
        path_admin.set_courses(path, [courses[course_slug] for course_slug in course_slugs])
        db.session.add(path)


def _upsert_user(email: str, name: str, password: str, role: UserRole) -> User:
    user = accounts.find_by_email(email)
    if user is None:
        return accounts.create_user(email, name, password, role)
    user.name, user.role = name, role
    return user


def _upsert_refund_request(now: datetime, course: Course, learner: User) -> None:
    """Rita bought the SQL Masterclass three weeks ago, is 60% through, and asks for a refund:
    outside the automatic rules, so it waits for staff. The payment exists only here (not on
    Stripe): declining works; approving shows Stripe's refusal of an unknown payment."""
    db.session.flush()
    if db.session.get(PaymentSession, DEMO_PAYMENT_ID) is not None:
        return
    paid_at = now - timedelta(days=21)
    payment = PaymentSession(id=DEMO_PAYMENT_ID, course_id=course.id, user_id=learner.id,
                             status=PaymentSessionStatus.COMPLETED, amount=course.price_amount, currency=course.currency,
                             discount_amount=0, final_amount=course.price_amount, created_at=paid_at,
                             completed_at=paid_at, payment_intent_id="pi_demo_refund_request")
    db.session.add(payment)
    db.session.flush()
    enrollment = Enrollment(user_id=learner.id, course_id=course.id, type=EnrollmentType.PAID,
                            payment_status=PaymentStatus.PAID, payment_id=payment.id, amount_paid=payment.final_amount,
                            currency=course.currency, enrolled_at=paid_at, paid_at=paid_at, progress=60.0)
    db.session.add(enrollment)
    db.session.flush()
    payment.enrollment_id = enrollment.id
    db.session.add(RefundRequest(payment_session_id=payment.id, user_id=learner.id, course_id=course.id,
                                 status=RefundRequestStatus.PENDING, amount_requested=payment.final_amount,
                                 currency=payment.currency, created_at=now - timedelta(hours=5),
                                 reason="The window functions part was too advanced for my job, sorry.",
                                 queue_reason="The 14-day refund window has passed."))


def _upsert_referrals(now: datetime, courses: dict[str, Course], referrer: User, buyer: User) -> None:
    """Rewards on (10% off, valid 90 days) unless staff changed them; the demo learner's code;
    Ben's two purchases through it, earned and pending. Like the refund request's payment, the
    purchases exist only here (not on Stripe)."""
    db.session.flush()
    if db.session.get(ReferralSettings, rewards.SETTINGS_ID) is None:
        rewards.update_settings(rewards.SettingsInput(rewards_enabled=True, discount_type="PERCENTAGE",
                                                      percent_off=Decimal("10"), validity_days=90), actor=None)
    links.code_for(referrer, now)
    for payment_id, slug, days_ago in REFERRED_PURCHASES:
        course = courses.get(slug)
        if course is None or db.session.get(PaymentSession, payment_id) is not None:
            continue
        paid_at = now - timedelta(days=days_ago)
        payment = PaymentSession(id=payment_id, course_id=course.id, user_id=buyer.id, referrer_id=referrer.id,
                                 status=PaymentSessionStatus.COMPLETED, amount=course.price_amount,
                                 currency=course.currency, discount_amount=0, final_amount=course.price_amount,
                                 created_at=paid_at, completed_at=paid_at, payment_intent_id=f"pi_{payment_id}")
        db.session.add(payment)
        db.session.flush()
        enrollment = Enrollment(user_id=buyer.id, course_id=course.id, type=EnrollmentType.PAID,
                                source=EnrollmentSource.REFERRAL, referrer_id=referrer.id,
                                payment_status=PaymentStatus.PAID, payment_id=payment.id,
                                amount_paid=payment.final_amount, currency=course.currency, enrolled_at=paid_at,
                                paid_at=paid_at)
        db.session.add(enrollment)
        db.session.flush()
        payment.enrollment_id = enrollment.id
        reward_id = rewards.record_purchase(payment, window_days=refund_policy.window_days_of(course.id), now=paid_at)
        if reward_id is not None:
            rewards.issue(reward_id, now=now)  # earned if past the window, else it stays pending


ALL_ACCESS = dict(slug="all-access", name="All-Access", currency="USD", monthly_price=2900, yearly_price=29000,
                  trial_days=7, description="Every paid course in the catalog, and every new one we add to it, "
                                            "for one monthly or yearly price. Cancel any time.")


def _upsert_membership(courses: dict[str, Course]) -> Membership:
    """All-Access (issue 16): $29.00 a month or $290.00 a year, a 7-day trial, unlocking every
    published paid course (by name, so invitation-only and free courses stay as they are)."""
    membership = db.session.scalar(db.select(Membership).where(Membership.slug == ALL_ACCESS["slug"])) or Membership()
    for key, value in ALL_ACCESS.items():
        setattr(membership, key, value)
    membership.is_active, membership.retired_at, membership.unlocks_all_courses = True, None, False
    membership.courses = [course for course in courses.values()
                          if course.is_published and course.enrollment_type == EnrollmentType.PAID
                          and course.price_amount > 0]
    db.session.add(membership)
    return membership

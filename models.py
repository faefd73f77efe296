"""The data model: SQLAlchemy 2 typed models and their enums.

Money is always an integer amount of minor units (cents; yen has none) with an ISO 4217
currency code beside it. Times are timezone-aware UTC in Python; `UTCDateTime` stores them
naive-UTC so SQLite and PostgreSQL behave the same. How the spec's fields map onto these
columns is written down in docs/architecture.md.
"""
from __future__ import annotations

import enum
import secrets
from datetime import date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_public_id(prefix: str) -> str:
    """An unguessable id with a readable prefix, for ids that appear in URLs."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


class UTCDateTime(sa.TypeDecorator):
    """Aware UTC datetimes in Python, naive UTC in the database (SQLite keeps no zone)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def _enum(enum_class: type[enum.Enum]) -> sa.Enum:
    # Stored as VARCHAR, so adding a member needs no database-specific type migration.
    return sa.Enum(enum_class, native_enum=False, length=32, validate_strings=True)


class UserRole(enum.StrEnum):
    LEARNER = "LEARNER"
    STAFF = "STAFF"
    ADMIN = "ADMIN"


class EnrollmentType(enum.StrEnum):
    FREE = "FREE"
    PAID = "PAID"
    SUBSCRIPTION = "SUBSCRIPTION"
    INVITATION_ONLY = "INVITATION_ONLY"
    WAITLIST = "WAITLIST"


class EnrollmentSource(enum.StrEnum):
    DIRECT = "DIRECT"
    REFERRAL = "REFERRAL"
    PROMOTION = "PROMOTION"
    BUNDLE = "BUNDLE"
    LEARNING_PATH = "LEARNING_PATH"


class EnrollmentStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    SUSPENDED = "SUSPENDED"  # a dispute is open
    REVOKED = "REVOKED"  # refunded, lost dispute, or revoked by staff
    EXPIRED = "EXPIRED"  # past expires_at


class PaymentStatus(enum.StrEnum):
    FREE = "FREE"
    PENDING = "PENDING"
    PAID = "PAID"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    FAILED = "FAILED"


class PaymentSessionStatus(enum.StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"  # completed on Stripe with a delayed method, not yet paid
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"
    REFUNDED = "REFUNDED"


# Read by payments (refunds, disputes) and coupons (revenue brought by a code) alike, so the
# fact lives beside the enum rather than in either domain. Transitions: payments/payment_states.
PAID_STATUSES = frozenset({PaymentSessionStatus.COMPLETED, PaymentSessionStatus.REFUNDED})
OPEN_STATUSES = frozenset({PaymentSessionStatus.PENDING, PaymentSessionStatus.PROCESSING})


class DiscountType(enum.StrEnum):
    PERCENTAGE = "PERCENTAGE"
    FIXED_AMOUNT = "FIXED_AMOUNT"


class RedemptionStatus(enum.StrEnum):
    RESERVED = "RESERVED"  # a checkout holds one use of the coupon
    REDEEMED = "REDEEMED"  # the checkout was paid (or was free)
    RELEASED = "RELEASED"  # the checkout expired, was cancelled or failed


class WebhookEventStatus(enum.StrEnum):
    RECEIVED = "RECEIVED"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"
    IGNORED = "IGNORED"  # verified but not ours, or a type we do not act on


class MailStatus(enum.StrEnum):
    PENDING = "PENDING"  # to be sent at next_attempt_at (the first time, or again after a failure)
    SENDING = "SENDING"  # claimed by a worker until next_attempt_at (its lease)
    SENT = "SENT"
    FAILED = "FAILED"  # gave up after the last attempt; staff see it on /staff/mail
    CANCELLED = "CANCELLED"  # its reason went away before it was sent (e.g. the account was disabled)


class RefundRequestStatus(enum.StrEnum):
    PENDING = "PENDING"      # waiting in the staff queue
    REFUNDED = "REFUNDED"    # inside the automatic rules: refunded through Stripe at once
    APPROVED = "APPROVED"    # staff refunded all or part of it
    DECLINED = "DECLINED"    # staff said no, with a message to the learner
    WITHDRAWN = "WITHDRAWN"  # the learner took it back while pending


class WaitlistStatus(enum.StrEnum):
    WAITING = "WAITING"
    ADMITTED = "ADMITTED"
    LEFT = "LEFT"


class BillingInterval(enum.StrEnum):
    """How often a membership renews; `stripe` is Stripe's word for it (`recurring.interval`)."""

    MONTH = "MONTH"
    YEAR = "YEAR"

    @property
    def stripe(self) -> str:
        return self.value.lower()


class SubscriptionStatus(enum.StrEnum):
    """Stripe's subscription statuses, upper-cased (`SubscriptionStatus(stripe_status.upper())`)."""

    INCOMPLETE = "INCOMPLETE"
    INCOMPLETE_EXPIRED = "INCOMPLETE_EXPIRED"
    TRIALING = "TRIALING"
    ACTIVE = "ACTIVE"
    PAST_DUE = "PAST_DUE"
    CANCELED = "CANCELED"
    UNPAID = "UNPAID"
    PAUSED = "PAUSED"


# A learner holding one of these cannot start a second subscription to the same membership
# (services/memberships/subscriptions.py). PAST_DUE too: they should update their card instead.
LIVE_SUBSCRIPTION_STATUSES = frozenset({SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE,
                                        SubscriptionStatus.PAST_DUE})
# Stripe never moves a subscription out of these.
FINAL_SUBSCRIPTION_STATUSES = frozenset({SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED})


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique constraint is case-insensitive.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[UserRole] = mapped_column(_enum(UserRole), default=UserRole.LEARNER)
    is_disabled: Mapped[bool] = mapped_column(default=False)
    oidc_issuer: Mapped[str | None] = mapped_column(sa.String(255))
    oidc_subject: Mapped[str | None] = mapped_column(sa.String(255))
    # One Stripe Customer per learner, never shared (services/payments/stripe_customers.py). A
    # unique index, not a constraint: adding it needs no rebuild of `users` on SQLite.
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "Still thinking about it?" mails after an abandoned checkout (a setting on /account and
    # a one-click unsubscribe link in the mail).
    checkout_reminders: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    __table_args__ = (sa.UniqueConstraint("oidc_issuer", "oidc_subject"),)

    @property
    def is_staff(self) -> bool:
        return self.role in (UserRole.STAFF, UserRole.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN

    @property
    def is_active(self) -> bool:  # Flask-Login: a disabled account cannot sign in
        return not self.is_disabled

    # UserMixin compares get_id(), a session token here: two objects are the same user when
    # they are the same row.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, User):
            return NotImplemented
        return self is other or (self.id is not None and self.id == other.id)

    __hash__ = object.__hash__

    def get_id(self) -> str:
        # What Flask-Login keeps in the session and the remember-me cookie: the token of the
        # server-side session this object was signed in with or loaded for (blueprints/auth/
        # signin.py), never the user's id, so ending that session ends every copy of the cookies.
        token = getattr(self, "session_token", None)
        if token is None:
            raise RuntimeError("A user signs in through blueprints.auth.signin.sign_in (it makes the session).")
        return token

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class ApiToken(db.Model):
    """A personal API token: shown once, stored as a SHA-256 hash.

    `scopes` (space-separated: read, write, staff:read, staff:write) are chosen at creation; the
    owner's role is checked again at every use, so a token never does more than its owner may.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scopes: Mapped[str] = mapped_column(sa.String(100), default="read write", server_default="read write")

    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """One signed-in browser: the server-side half of a session cookie (services/people/sessions.py).

    The signed cookie (and the remember-me cookie) carries a random token; `id` is its SHA-256,
    so the table alone opens no session. A request is signed in only while the row is neither
    revoked nor expired (idle or absolute), so ending a session here ends it for every copy of
    its cookies, on every instance.
    """

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Written at most once a minute (sessions.TOUCH_RESOLUTION): the idle limit is counted from it.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # absolute: created_at + SESSION_MAX_DAYS
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remember: Mapped[bool] = mapped_column(default=False)  # "remember me": no idle limit, same maximum
    ip: Mapped[str | None] = mapped_column(sa.String(45))  # request.remote_addr (TRUSTED_PROXIES applied)
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))

    user: Mapped[User] = relationship()


class IdempotencyKey(db.Model):
    """An API request made with an `Idempotency-Key` header, and the response it got.

    One row per (caller, key), claimed by inserting it before the work starts (the unique
    constraint makes every instance agree on who runs it); `response_status` stays NULL while
    the first request is in flight. Kept 24 hours, as Stripe keeps its keys.
    """

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(255))
    request_fingerprint: Mapped[str] = mapped_column(sa.String(64))  # SHA-256 of method, path and body
    response_status: Mapped[int | None] = mapped_column()
    response_body: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)


class Course(db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    short_description: Mapped[str] = mapped_column(sa.String(300), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    price_amount: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    is_published: Mapped[bool] = mapped_column(default=False)
    enrollment_type: Mapped[EnrollmentType] = mapped_column(_enum(EnrollmentType), default=EnrollmentType.PAID)
    capacity: Mapped[int | None] = mapped_column()
    # What the course page tells a buyer (issue 17; services/courses/details.py parses the
    # staff form's text into these lists). `topic` is one of services.courses.details.TOPICS.
    topic: Mapped[str] = mapped_column(sa.String(40), default="", server_default="", index=True)
    instructor_name: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    instructor_bio: Mapped[str] = mapped_column(sa.String(600), default="", server_default="")
    learning_outcomes: Mapped[list] = mapped_column(JSONType, default=list, server_default="[]")
    requirements: Mapped[list] = mapped_column(JSONType, default=list, server_default="[]")
    faq: Mapped[list] = mapped_column(JSONType, default=list, server_default="[]")  # [{"question", "answer"}]
    # The cover's key in COURSE_COVER_DIR (services/courses/covers.py); it names the image's
    # content, so its URL never serves another image and is cached for good.
    cover_image: Mapped[str | None] = mapped_column(sa.String(80))
    cover_alt: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lectures: Mapped[list[Lecture]] = relationship(
        back_populates="course", order_by="Lecture.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("price_amount >= 0", name="price_non_negative"),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_non_negative"),
    )

    @property
    def is_free(self) -> bool:
        return self.enrollment_type == EnrollmentType.FREE or self.price_amount == 0

    def __repr__(self) -> str:
        return f"<Course {self.slug}>"


class Lecture(db.Model):
    __tablename__ = "lectures"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(sa.String(200))
    content: Mapped[str] = mapped_column(sa.Text, default="")
    duration_minutes: Mapped[int] = mapped_column(default=0)
    is_preview: Mapped[bool] = mapped_column(default=False)

    course: Mapped[Course] = relationship(back_populates="lectures")


coupon_courses = sa.Table(
    "coupon_courses",
    db.Model.metadata,
    sa.Column("coupon_id", sa.ForeignKey("coupons.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("course_id", sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
)


# A coupon limited to memberships lists them here (like coupon_courses for courses). A coupon
# with neither list applies to every course and every membership's first payment.
coupon_memberships = sa.Table(
    "coupon_memberships",
    db.Model.metadata,
    sa.Column("coupon_id", sa.ForeignKey("coupons.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("membership_id", sa.ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True),
)


class Coupon(db.Model):
    """A discount code. The spec's `discountValue` is `percent_off` or `amount_off` by type."""

    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored upper-cased and trimmed, so the unique constraint is case-insensitive.
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str | None] = mapped_column(sa.Text)
    discount_type: Mapped[DiscountType] = mapped_column(_enum(DiscountType), default=DiscountType.PERCENTAGE)
    percent_off: Mapped[Any | None] = mapped_column(sa.Numeric(5, 2))
    amount_off: Mapped[int | None] = mapped_column()
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    max_uses: Mapped[int | None] = mapped_column()
    current_uses: Mapped[int] = mapped_column(default=0)
    per_learner_limit: Mapped[int | None] = mapped_column(default=1)
    is_active: Mapped[bool] = mapped_column(default=True)
    is_public: Mapped[bool] = mapped_column(default=False)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    minimum_amount: Mapped[int | None] = mapped_column()
    maximum_discount: Mapped[int | None] = mapped_column()
    batch_id: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    extra: Mapped[dict] = mapped_column("metadata", JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    applicable_courses: Mapped[list[Course]] = relationship(secondary=coupon_courses)
    # Limited to these bundles (issue 20). A coupon with neither list applies to everything; with
    # either, only to what is listed.
    applicable_bundles: Mapped[list[Bundle]] = relationship(secondary="coupon_bundles")
    applicable_memberships: Mapped[list[Membership]] = relationship(secondary=coupon_memberships)

    __table_args__ = (
        sa.CheckConstraint("current_uses >= 0", name="current_uses_non_negative"),
        sa.CheckConstraint("max_uses IS NULL OR max_uses >= 0", name="max_uses_non_negative"),
        sa.CheckConstraint("amount_off IS NULL OR amount_off > 0", name="amount_off_positive"),
        sa.CheckConstraint("percent_off IS NULL OR (percent_off > 0 AND percent_off <= 100)", name="percent_range"),
        sa.CheckConstraint("minimum_amount IS NULL OR minimum_amount >= 0", name="minimum_non_negative"),
        sa.CheckConstraint("maximum_discount IS NULL OR maximum_discount >= 0", name="maximum_non_negative"),
    )

    def __repr__(self) -> str:
        return f"<Coupon {self.code}>"


# --- issue 20: bundles and multi-course purchases -------------------------------------------

bundle_courses = sa.Table(
    "bundle_courses",
    db.Model.metadata,
    sa.Column("bundle_id", sa.ForeignKey("bundles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("course_id", sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False, default=0),
)

coupon_bundles = sa.Table(
    "coupon_bundles",
    db.Model.metadata,
    sa.Column("coupon_id", sa.ForeignKey("coupons.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("bundle_id", sa.ForeignKey("bundles.id", ondelete="CASCADE"), primary_key=True),
)


class Bundle(db.Model):
    """Two or more courses of one currency sold together for one price (services/bundles/)."""

    __tablename__ = "bundles"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    price_amount: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    is_published: Mapped[bool] = mapped_column(default=False)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # retired: never sold again, kept for receipts
    cover_image: Mapped[str | None] = mapped_column(sa.String(80))
    cover_alt: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    courses: Mapped[list[Course]] = relationship(secondary=bundle_courses, order_by=bundle_courses.c.position)

    __table_args__ = (sa.CheckConstraint("price_amount >= 0", name="price_non_negative"),)

    @property
    def title(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Bundle {self.slug}>"


class PaymentSessionCourse(db.Model):
    """A course a multi-course payment session enrolls, with its share of the charge (decided at
    checkout; the shares sum to the session's final amount). services/payments/purchases.py."""

    __tablename__ = "payment_session_courses"

    payment_session_id: Mapped[str] = mapped_column(
        sa.ForeignKey("payment_sessions.id", ondelete="CASCADE"), primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True,
                                           index=True)
    position: Mapped[int] = mapped_column(default=0)
    list_amount: Mapped[int] = mapped_column()  # the course's own price when the session began
    amount: Mapped[int] = mapped_column()  # its share of final_amount
    discount: Mapped[int] = mapped_column(default=0)  # its share of discount_amount (coupon)

    course: Mapped[Course] = relationship()

    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_non_negative"),
        sa.CheckConstraint("list_amount >= 0", name="list_amount_non_negative"),
        sa.CheckConstraint("discount >= 0", name="discount_non_negative"),
    )


class StripeCoupon(db.Model):
    """A Stripe Coupon made for one of our coupons at one discount amount and currency, created
    once and reused by every checkout that discounts the same way (services/payments/stripe_coupons.py).

    The discount is ours (computed by pricing, exact to the minor unit); the Stripe coupon only
    carries it to Stripe's page as an `amount_off`, so that page shows the code and the discount.
    """

    __tablename__ = "stripe_coupons"

    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(sa.ForeignKey("coupons.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32))  # the name Stripe shows; a renamed code gets a new one
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount_off: Mapped[int] = mapped_column()
    stripe_coupon_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("coupon_id", "code", "currency", "amount_off"),
        sa.CheckConstraint("amount_off > 0", name="amount_off_positive"),
    )


class PaymentSession(db.Model):
    """One checkout attempt: our quote, its Stripe Checkout Session and what became of it.

    It sells one course (`course_id`) or another product (`bundle_id`, ...: course_id NULL);
    `services/payments/products.py` says what, and `payment_session_courses` lists the courses
    a multi-course purchase enrolls (issue 20)."""

    __tablename__ = "payment_sessions"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_public_id("ps"))
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    bundle_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bundles.id", ondelete="SET NULL"), index=True)
    # A learning path's paid courses (issue 20; services/payments/path_checkout.py), course_id NULL.
    learning_path_id: Mapped[int | None] = mapped_column(sa.ForeignKey("learning_paths.id", ondelete="SET NULL"),
                                                         index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[PaymentSessionStatus] = mapped_column(
        _enum(PaymentSessionStatus), default=PaymentSessionStatus.PENDING, index=True
    )
    amount: Mapped[int] = mapped_column()  # the course's list price when the session began
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    discount_amount: Mapped[int] = mapped_column(default=0)
    final_amount: Mapped[int] = mapped_column()
    # Derived from the `refunds` ledger (and Stripe's cumulative charge report below) by
    # services.payments.refunds.enforce; kept as a column for listings and analytics.
    amount_refunded: Mapped[int] = mapped_column(default=0)
    # The newest `charge.refunded` report: Stripe's cumulative refunded amount for the charge,
    # which counts refunds whose own refund.* event has not reached us yet.
    charge_amount_refunded: Mapped[int] = mapped_column(default=0, server_default="0")
    charge_refunds_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    coupon_id: Mapped[int | None] = mapped_column(sa.ForeignKey("coupons.id", ondelete="SET NULL"), index=True)
    coupon_code: Mapped[str | None] = mapped_column(sa.String(32))
    payment_intent_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    latest_charge_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    stripe_session_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(255))
    checkout_url: Mapped[str | None] = mapped_column(sa.Text)
    enrollment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enrollments.id", ondelete="SET NULL"))
    # A subscription checkout (issue 16): the membership and interval bought instead of a course.
    membership_id: Mapped[int | None] = mapped_column(sa.ForeignKey("memberships.id"), index=True)
    billing_interval: Mapped[BillingInterval | None] = mapped_column(_enum(BillingInterval))
    extra: Mapped[dict] = mapped_column("metadata", JSONType, default=dict)
    failure_code: Mapped[str | None] = mapped_column(sa.String(100))
    failure_message: Mapped[str | None] = mapped_column(sa.String(500))
    needs_review: Mapped[bool] = mapped_column(default=False, index=True)
    review_reason: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Indexed for the staff analytics (revenue per day over a date range).
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # The learner whose referral link brought the buyer (issue 20), recorded at prepare time
    # from the referral cookie and copied to the enrollment at fulfilment (services/referrals).
    # A plain integer, no foreign key: SQLite can add a column in place only without a named
    # constraint, and rebuilding this table would cascade into every row that references it.
    referrer_id: Mapped[int | None] = mapped_column(index=True)

    course: Mapped[Course | None] = relationship()
    bundle: Mapped[Bundle | None] = relationship()
    learning_path: Mapped[LearningPath | None] = relationship()
    user: Mapped[User] = relationship()
    coupon: Mapped[Coupon | None] = relationship()
    enrollment: Mapped[Enrollment | None] = relationship(foreign_keys=[enrollment_id])
    items: Mapped[list[PaymentSessionCourse]] = relationship(
        order_by="PaymentSessionCourse.position", cascade="all, delete-orphan", passive_deletes=True)
    membership: Mapped[Membership | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_non_negative"),
        sa.CheckConstraint("discount_amount >= 0", name="discount_non_negative"),
        sa.CheckConstraint("final_amount >= 0", name="final_non_negative"),
        sa.CheckConstraint("amount_refunded >= 0", name="refunded_non_negative"),
        sa.Index("ix_payment_sessions_user_course_status", "user_id", "course_id", "status"),
    )

    @property
    def starts_with_trial(self) -> bool:
        """A membership checkout with a trial: Stripe's first invoice is $0, so the checkout
        charges nothing (the renewals are membership invoices)."""
        params = (self.extra or {}).get("stripe_params") or {}
        return self.membership_id is not None and bool((params.get("subscription_data") or {}).get("trial_period_days"))

    @property
    def charged_at_checkout(self) -> int:
        """What Stripe charged when this checkout completed: the quote, or nothing for a trial."""
        return 0 if self.starts_with_trial else self.final_amount


class RefundPolicy(db.Model):
    """The refund policy staff set (one row, id 1; absent = the defaults). Issue 19.

    `window_days` 0 means no self-service refunds; `max_progress_percent` is the progress up to
    which a refund inside the window is automatic. `services/payments/refund_policy.py` reads and
    changes it.
    """

    __tablename__ = "refund_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    window_days: Mapped[int] = mapped_column(default=14)
    max_progress_percent: Mapped[int] = mapped_column(default=30)
    revokes_access: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint("id = 1", name="single_row"),
        sa.CheckConstraint("window_days >= 0 AND window_days <= 365", name="window_days_range"),
        sa.CheckConstraint("max_progress_percent >= 0 AND max_progress_percent <= 100", name="max_progress_range"),
    )


class CourseRefundOverride(db.Model):
    """A course's own refund terms instead of the policy: no refunds at all, or its own window
    and progress limit (NULL = the policy's)."""

    __tablename__ = "course_refund_overrides"

    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    no_refunds: Mapped[bool] = mapped_column(default=False)
    window_days: Mapped[int | None] = mapped_column()
    max_progress_percent: Mapped[int | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    course: Mapped["Course"] = relationship()

    __table_args__ = (
        sa.CheckConstraint("window_days IS NULL OR (window_days >= 0 AND window_days <= 365)",
                           name="window_days_range"),
        sa.CheckConstraint("max_progress_percent IS NULL OR (max_progress_percent >= 0 AND max_progress_percent <= 100)",
                           name="max_progress_range"),
    )


class Refund(db.Model):
    """One Stripe refund, keyed by Stripe's refund id: the staff request, `refund.*` and
    `charge.refunded` all write this one row (services.payments.refunds)."""

    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)  # Stripe's re_…
    payment_session_id: Mapped[str] = mapped_column(
        sa.ForeignKey("payment_sessions.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[str] = mapped_column(sa.String(32))  # Stripe's: pending, succeeded, failed, canceled, …
    failure_reason: Mapped[str | None] = mapped_column(sa.String(100))
    stripe_event_id: Mapped[str | None] = mapped_column(sa.String(255))  # the event that last changed it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_non_negative"),)


class RefundRequest(db.Model):
    """A learner's request for a refund of one purchase (issue 19; services/payments/refund_requests.py).

    At most one PENDING request per payment (partial unique index). `queue_reason` says why it
    went to staff instead of being refunded at once; `amount_refunded` is what the decision
    gave back (automatic: everything left; staff: all or part).
    """

    __tablename__ = "refund_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_session_id: Mapped[str] = mapped_column(
        sa.ForeignKey("payment_sessions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"))  # NULL: a bundle
    status: Mapped[RefundRequestStatus] = mapped_column(_enum(RefundRequestStatus),
                                                        default=RefundRequestStatus.PENDING)
    reason: Mapped[str | None] = mapped_column(sa.String(1000))           # the learner's words
    queue_reason: Mapped[str | None] = mapped_column(sa.String(300))      # why staff decide
    amount_requested: Mapped[int] = mapped_column()                       # what was left to refund
    amount_refunded: Mapped[int | None] = mapped_column()
    currency: Mapped[str] = mapped_column(sa.String(3))
    staff_message: Mapped[str | None] = mapped_column(sa.String(1000))
    stripe_refund_id: Mapped[str | None] = mapped_column(sa.String(255))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    payment: Mapped[PaymentSession] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    course: Mapped[Course] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        sa.CheckConstraint("amount_requested >= 0", name="amount_requested_non_negative"),
        sa.CheckConstraint("amount_refunded IS NULL OR amount_refunded >= 0", name="amount_refunded_non_negative"),
        # The queue lists by status, oldest first.
        sa.Index("ix_refund_requests_status_created", "status", "created_at"),
        # One pending request per purchase, whatever races (both databases support partial indexes).
        sa.Index("uq_refund_requests_one_pending", "payment_session_id", unique=True,
                 sqlite_where=sa.text("status = 'PENDING'"), postgresql_where=sa.text("status = 'PENDING'")),
    )


class Dispute(db.Model):
    """One Stripe dispute (chargeback), keyed by Stripe's dispute id (services.payments.disputes)."""

    __tablename__ = "disputes"

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)  # Stripe's dp_… / du_…
    payment_session_id: Mapped[str] = mapped_column(
        sa.ForeignKey("payment_sessions.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[str] = mapped_column(sa.String(40))  # Stripe's status, as received
    reason: Mapped[str | None] = mapped_column(sa.String(100))
    stripe_event_id: Mapped[str | None] = mapped_column(sa.String(255))  # the event that last changed it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RefundMovement(db.Model):
    """One change of a payment session's refunded total, on the day it happened (append-only).

    Written by `services.payments.refunds.enforce` exactly when it changes `amount_refunded`: `amount`
    is the new total minus the old one, so it is negative when a recorded refund later fails,
    and a session's movements add up to its `amount_refunded`. The staff analytics count
    refunds per day from here.
    """

    __tablename__ = "refund_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_session_id: Mapped[str] = mapped_column(
        sa.ForeignKey("payment_sessions.id", ondelete="CASCADE"), index=True
    )
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount: Mapped[int] = mapped_column()  # signed minor units
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # analytics ranges

    __table_args__ = (sa.CheckConstraint("amount <> 0", name="amount_not_zero"),)


class PaymentFailure(db.Model):
    """One failed payment attempt (a declined card, a bank refusal), as Stripe reported it.

    Written by `services.payments.stripe_events` for every `payment_intent.payment_failed`,
    keyed by the event's id (a redelivery adds none). Under Checkout a learner may try again in
    the same session, and the session later completes or expires: its own `failure_code` is
    then cleared or overwritten, so the staff analytics count failures by reason from here.
    """

    __tablename__ = "payment_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_session_id: Mapped[str] = mapped_column(
        sa.ForeignKey("payment_sessions.id", ondelete="CASCADE"), index=True
    )
    stripe_event_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    reason: Mapped[str] = mapped_column(sa.String(100))  # Stripe's decline_code, else its error code
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # analytics ranges


class Enrollment(db.Model):
    """A learner's place in a course. One per (user, course), reactivated rather than duplicated.

    The spec's duplicate fields collapse here: `amount`/`amountPaid` → `amount_paid`,
    `source`/`enrollmentSource` → `source`, `progress`/`completionPercentage` → `progress`.
    """

    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    status: Mapped[EnrollmentStatus] = mapped_column(_enum(EnrollmentStatus), default=EnrollmentStatus.ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(sa.String(300))
    type: Mapped[EnrollmentType] = mapped_column(_enum(EnrollmentType), default=EnrollmentType.FREE)
    source: Mapped[EnrollmentSource] = mapped_column(_enum(EnrollmentSource), default=EnrollmentSource.DIRECT)
    payment_status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus), default=PaymentStatus.FREE)
    payment_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("payment_sessions.id", ondelete="SET NULL", use_alter=True)
    )
    amount_paid: Mapped[int] = mapped_column(default=0)
    discount_applied: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # analytics ranges
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    progress: Mapped[float] = mapped_column(default=0.0)  # percent, 0..100
    current_lecture_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lectures.id", ondelete="SET NULL"))
    completed_lectures: Mapped[int] = mapped_column(default=0)
    total_lectures: Mapped[int] = mapped_column(default=0)
    total_time_spent: Mapped[int] = mapped_column(default=0)  # seconds
    streak_days: Mapped[int] = mapped_column(default=0)
    last_activity_on: Mapped[date | None] = mapped_column(sa.Date)  # UTC day, for streaks
    last_accessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    certificate_earned: Mapped[bool] = mapped_column(default=False)
    certificate_earned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    certificate_id: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    # Copied from the payment session at fulfilment (issue 20, services/referrals); a plain
    # integer like payment_sessions.referrer_id (why: there).
    referrer_id: Mapped[int | None] = mapped_column()
    # A SUBSCRIPTION enrollment: the subscription that last opened the course (issue 16). Access
    # follows it while the enrollment's type is SUBSCRIPTION (see `grants_access`).
    subscription_id: Mapped[int | None] = mapped_column(sa.ForeignKey("subscriptions.id", use_alter=True), index=True)

    user: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()
    payment: Mapped[PaymentSession | None] = relationship(foreign_keys=[payment_id])
    current_lecture: Mapped[Lecture | None] = relationship()
    subscription: Mapped[Subscription | None] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("user_id", "course_id"),
        sa.CheckConstraint("amount_paid >= 0", name="amount_paid_non_negative"),
        sa.CheckConstraint("discount_applied >= 0", name="discount_non_negative"),
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
    )

    @property
    def grants_access(self) -> bool:
        if self.status not in (EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED):
            return False
        if self.expires_at is not None and self.expires_at <= utcnow():
            return False
        if self.type == EnrollmentType.SUBSCRIPTION:
            # Open while the subscription that opened it opens this course (services/memberships).
            return self.subscription is not None and self.subscription.opens(self.course, utcnow())
        return True


class LectureProgress(db.Model):
    __tablename__ = "lecture_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrollments.id", ondelete="CASCADE"), index=True)
    lecture_id: Mapped[int] = mapped_column(sa.ForeignKey("lectures.id", ondelete="CASCADE"), index=True)
    first_viewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_viewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    time_spent_seconds: Mapped[int] = mapped_column(default=0)

    __table_args__ = (sa.UniqueConstraint("enrollment_id", "lecture_id"),)


class CouponRedemption(db.Model):
    """One use of a coupon: reserved by a checkout, then redeemed or released."""

    __tablename__ = "coupon_redemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(sa.ForeignKey("coupons.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # What the use was for: a course, or a bundle (course_id NULL).
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"))
    bundle_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bundles.id", ondelete="CASCADE"), index=True)
    # A membership's first payment (issue 16): what the use was for instead of a course.
    membership_id: Mapped[int | None] = mapped_column(sa.ForeignKey("memberships.id"), index=True)
    payment_session_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("payment_sessions.id", ondelete="SET NULL"), unique=True
    )
    enrollment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enrollments.id", ondelete="SET NULL"))
    status: Mapped[RedemptionStatus] = mapped_column(_enum(RedemptionStatus), default=RedemptionStatus.RESERVED)
    discount_amount: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(sa.String(3))
    reserved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # analytics ranges
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    coupon: Mapped[Coupon] = relationship()
    user: Mapped[User] = relationship()
    course: Mapped[Course | None] = relationship()
    bundle: Mapped[Bundle | None] = relationship()
    membership: Mapped[Membership | None] = relationship()

    __table_args__ = (
        sa.Index("ix_coupon_redemptions_coupon_status", "coupon_id", "status"),
        sa.CheckConstraint("discount_amount >= 0", name="discount_non_negative"),
    )


class Invitation(db.Model):
    """A single-use code that admits one learner to an INVITATION_ONLY course."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    email: Mapped[str | None] = mapped_column(sa.String(254))  # when set, only this learner may use it
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redeemed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    course: Mapped[Course] = relationship()


class WaitlistEntry(db.Model):
    __tablename__ = "waitlist_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[WaitlistStatus] = mapped_column(_enum(WaitlistStatus), default=WaitlistStatus.WAITING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    admitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()

    __table_args__ = (sa.UniqueConstraint("course_id", "user_id"),)


class StripeEvent(db.Model):
    """The webhook inbox: every verified Stripe event, keyed by Stripe's event id."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100), index=True)
    object_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    api_version: Mapped[str | None] = mapped_column(sa.String(40))
    livemode: Mapped[bool] = mapped_column(default=False)
    stripe_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payload: Mapped[dict] = mapped_column(JSONType)
    status: Mapped[WebhookEventStatus] = mapped_column(
        _enum(WebhookEventStatus), default=WebhookEventStatus.RECEIVED, index=True
    )
    payment_session_id: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMail(db.Model):
    """A mail to send: written in the transaction of the change that causes it (the outbox).

    `dedupe_key` (unique) names that cause, e.g. `receipt:<payment session id>`, so the same
    change never queues it twice; the worker sends it after the commit, retries with backoff
    and marks it SENT (services/mail.py). `context` holds what the template needs, as it was
    when the change happened; the text is rendered when the mail is sent.
    """

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    template: Mapped[str] = mapped_column(sa.String(40))
    to_address: Mapped[str] = mapped_column(sa.String(254))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    context: Mapped[dict] = mapped_column(JSONType, default=dict)
    status: Mapped[MailStatus] = mapped_column(_enum(MailStatus), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.Index("ix_mail_outbox_status_next_attempt_at", "status", "next_attempt_at"),  # the sweep
        sa.CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    )


class AuditEvent(db.Model):
    """Who did what to which record, with the values before and after."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_label: Mapped[str] = mapped_column(sa.String(100), default="system")  # "system", "stripe", an email
    action: Mapped[str] = mapped_column(sa.String(100), index=True)
    subject_type: Mapped[str] = mapped_column(sa.String(50))
    subject_id: Mapped[str] = mapped_column(sa.String(64))
    message: Mapped[str | None] = mapped_column(sa.String(500))
    before: Mapped[dict | None] = mapped_column(JSONType)
    after: Mapped[dict | None] = mapped_column(JSONType)

    actor: Mapped[User | None] = relationship()

    __table_args__ = (sa.Index("ix_audit_events_subject", "subject_type", "subject_id"),)


# -- Learning paths (issue 20) ---------------------------------------------------------------

class LearningPath(db.Model):
    """An ordered list of courses learners follow together (services/paths/, services/learning/paths.py).

    A path may carry a price for its paid courses (sold like a bundle: one checkout for the
    paid courses the learner does not own yet); `price_amount` and `currency` are both set or
    both NULL. With `sequential`, a course the path gave the learner opens only once the course
    before it in the path is completed.
    """

    __tablename__ = "learning_paths"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    price_amount: Mapped[int | None] = mapped_column()
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    sequential: Mapped[bool] = mapped_column(default=False)
    is_published: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    steps: Mapped[list[LearningPathCourse]] = relationship(
        back_populates="path", order_by="LearningPathCourse.position", cascade="all, delete-orphan")

    __table_args__ = (
        sa.CheckConstraint("price_amount IS NULL OR price_amount > 0", name="price_positive"),
        sa.CheckConstraint("(price_amount IS NULL) = (currency IS NULL)", name="price_with_currency"),
    )

    @property
    def courses(self) -> list[Course]:
        return [step.course for step in self.steps]

    def __repr__(self) -> str:
        return f"<LearningPath {self.slug}>"


class LearningPathCourse(db.Model):
    """One course of a path, at its place in the path's order (1, 2, …)."""

    __tablename__ = "learning_path_courses"

    path_id: Mapped[int] = mapped_column(sa.ForeignKey("learning_paths.id", ondelete="CASCADE"), primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True,
                                           index=True)
    position: Mapped[int] = mapped_column()

    path: Mapped[LearningPath] = relationship(back_populates="steps")
    course: Mapped[Course] = relationship()


class LearningPathEnrollment(db.Model):
    """A learner following a path ("Enroll in path"), and the path certificate once every course
    of the path is completed. One per (learner, path); its row is the lock under which the
    certificate is awarded, so two courses completed at once award it once."""

    __tablename__ = "learning_path_enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    path_id: Mapped[int] = mapped_column(sa.ForeignKey("learning_paths.id", ondelete="CASCADE"), index=True)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    certificate_id: Mapped[str | None] = mapped_column(sa.String(40), unique=True)

    user: Mapped[User] = relationship()
    path: Mapped[LearningPath] = relationship()

    __table_args__ = (sa.UniqueConstraint("user_id", "path_id"),)



# --- referrals (issue 20; services/referrals) ----------------------------------------------

class ReferralRewardStatus(enum.StrEnum):
    PENDING = "PENDING"    # the referred purchase is inside its refund window
    EARNED = "EARNED"      # past the window, not refunded or disputed: the coupon is issued and mailed
    CANCELED = "CANCELED"  # refunded or disputed before it was earned (reason in `canceled_reason`)


class ReferralCode(db.Model):
    """A learner's referral code, the `<code>` of `/r/<code>` (one per learner, made on first
    need). Its own table: per-user data never goes into `users` (no rebuild of it on SQLite)."""

    __tablename__ = "referral_codes"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferralSettings(db.Model):
    """The reward staff set on /staff/referrals (one row, id 1; absent = rewards off).

    The reward is a single-use coupon for the referrer: `percent_off` or `amount_off` +
    `currency` by `discount_type`, valid `validity_days` from the day it is issued.
    """

    __tablename__ = "referral_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    rewards_enabled: Mapped[bool] = mapped_column(default=False)
    discount_type: Mapped[DiscountType] = mapped_column(_enum(DiscountType), default=DiscountType.PERCENTAGE)
    percent_off: Mapped[Any | None] = mapped_column(sa.Numeric(5, 2))
    amount_off: Mapped[int | None] = mapped_column()
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    validity_days: Mapped[int] = mapped_column(default=90)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint("id = 1", name="single_row"),
        sa.CheckConstraint("validity_days >= 1 AND validity_days <= 3650", name="validity_days_range"),
        sa.CheckConstraint("amount_off IS NULL OR amount_off > 0", name="amount_off_positive"),
        sa.CheckConstraint("percent_off IS NULL OR (percent_off > 0 AND percent_off <= 100)", name="percent_range"),
    )


class ReferralReward(db.Model):
    """The referrer's reward for one referred purchase: at most one per payment session (unique,
    written insert-if-absent at fulfilment). Its terms are the settings' when the purchase was
    made; it is earned at `earns_at` (the end of the purchase's refund window) unless the
    purchase was refunded or disputed first, and then issued as a single-use coupon."""

    __tablename__ = "referral_rewards"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_session_id: Mapped[str] = mapped_column(
        sa.ForeignKey("payment_sessions.id", ondelete="CASCADE"), unique=True)
    referrer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    referred_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[ReferralRewardStatus] = mapped_column(_enum(ReferralRewardStatus),
                                                         default=ReferralRewardStatus.PENDING)
    discount_type: Mapped[DiscountType] = mapped_column(_enum(DiscountType))
    percent_off: Mapped[Any | None] = mapped_column(sa.Numeric(5, 2))
    amount_off: Mapped[int | None] = mapped_column()
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    validity_days: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    earns_at: Mapped[datetime] = mapped_column(UTCDateTime)
    earned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    coupon_id: Mapped[int | None] = mapped_column(sa.ForeignKey("coupons.id", ondelete="SET NULL"), unique=True)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    canceled_reason: Mapped[str | None] = mapped_column(sa.String(200))

    payment: Mapped[PaymentSession] = relationship()
    referrer: Mapped[User] = relationship(foreign_keys=[referrer_id])
    referred_user: Mapped[User] = relationship(foreign_keys=[referred_user_id])
    coupon: Mapped[Coupon | None] = relationship()

    __table_args__ = (
        # The job's sweep: pending rewards whose window is over.
        sa.Index("ix_referral_rewards_status_earns_at", "status", "earns_at"),
        sa.CheckConstraint("amount_off IS NULL OR amount_off > 0", name="amount_off_positive"),
        sa.CheckConstraint("percent_off IS NULL OR (percent_off > 0 AND percent_off <= 100)", name="percent_range"),
    )


# --- Memberships (issue 16): SUBSCRIPTION enrollments on Stripe Billing ------------------------

membership_courses = sa.Table(
    "membership_courses",
    db.Model.metadata,
    sa.Column("membership_id", sa.ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("course_id", sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
)


def membership_grace_days() -> int:
    """MEMBERSHIP_GRACE_DAYS (default 7): how long a PAST_DUE subscription keeps its courses open."""
    from flask import current_app, has_app_context
    return int(current_app.config.get("MEMBERSHIP_GRACE_DAYS", 7)) if has_app_context() else 7


class Membership(db.Model):
    """An all-access plan sold as a Stripe subscription: a monthly and/or yearly price.

    It unlocks every published course (`unlocks_all_courses`) or the courses in
    `membership_courses`. Retiring (`is_active` False) stops new sign-ups and never touches
    existing subscribers. services/memberships/catalog.py reads and changes it.
    """

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    monthly_price: Mapped[int | None] = mapped_column()  # minor units; NULL = not sold monthly
    yearly_price: Mapped[int | None] = mapped_column()   # minor units; NULL = not sold yearly
    trial_days: Mapped[int] = mapped_column(default=0, server_default="0")
    unlocks_all_courses: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true(), index=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    courses: Mapped[list[Course]] = relationship(secondary=membership_courses, order_by="Course.title")

    __table_args__ = (
        sa.CheckConstraint("monthly_price IS NULL OR monthly_price > 0", name="monthly_price_positive"),
        sa.CheckConstraint("yearly_price IS NULL OR yearly_price > 0", name="yearly_price_positive"),
        sa.CheckConstraint("monthly_price IS NOT NULL OR yearly_price IS NOT NULL", name="has_a_price"),
        sa.CheckConstraint("trial_days >= 0 AND trial_days <= 730", name="trial_days_range"),
    )

    @property
    def title(self) -> str:  # what product lists show (like Bundle.title)
        return self.name

    def price_for(self, interval: BillingInterval) -> int | None:
        return self.monthly_price if interval == BillingInterval.MONTH else self.yearly_price

    @property
    def intervals(self) -> list[BillingInterval]:
        return [i for i in BillingInterval if self.price_for(i) is not None]

    def unlocks(self, course: Course) -> bool:
        """Whether this membership opens `course` (a published course, in its set or all of them)."""
        if not course.is_published:
            return False
        return self.unlocks_all_courses or any(c.id == course.id for c in self.courses)

    def __repr__(self) -> str:
        return f"<Membership {self.slug}>"


class Subscription(db.Model):
    """A learner's Stripe subscription to a membership, as Stripe last told us (webhooks, reconcile).

    Written by services/memberships/subscriptions.py (`apply_stripe_subscription`) only. Older
    Stripe events never move it backwards: `stripe_event_at` is the `created` time of the
    event (or retrieval) last applied, and an event older than it is ignored.
    """

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    membership_id: Mapped[int] = mapped_column(sa.ForeignKey("memberships.id"), index=True)
    stripe_subscription_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    interval: Mapped[BillingInterval] = mapped_column(_enum(BillingInterval))
    status: Mapped[SubscriptionStatus] = mapped_column(_enum(SubscriptionStatus), index=True)
    amount: Mapped[int] = mapped_column(default=0)  # the recurring price per interval, minor units
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    current_period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    cancel_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    trial_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    trial_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # churn per day
    past_due_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latest_invoice_id: Mapped[str | None] = mapped_column(sa.String(255))
    # Access taken away here whatever Stripe's status says (a refund under a policy that removes
    # access, a lost dispute); NULL = access follows the status.
    access_revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    access_revoked_reason: Mapped[str | None] = mapped_column(sa.String(300))
    # The Stripe event (or retrieval) last applied, so an older one never moves it backwards.
    stripe_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stripe_event_id: Mapped[str | None] = mapped_column(sa.String(255))
    # The newest Stripe time seen for it (any event: invoices too). With Stripe's test clocks (and
    # the sandbox's clock) time on Stripe's side runs ahead of ours; the grace period is counted
    # on whichever clock is further on, so an advanced clock ends it as it would in real time.
    stripe_clock_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payment_session_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("payment_sessions.id", ondelete="SET NULL"), index=True)  # the checkout that began it
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # Stripe's start_date
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
    membership: Mapped[Membership] = relationship()
    payment_session: Mapped[PaymentSession | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_non_negative"),
        sa.Index("ix_subscriptions_user_membership_status", "user_id", "membership_id", "status"),
    )

    def gives_access(self, now: datetime, grace_days: int | None = None) -> bool:
        """Active or trialing, or past due for less than the grace period; not revoked here."""
        if self.access_revoked_at is not None:
            return False
        if self.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
            return True
        if self.status == SubscriptionStatus.PAST_DUE:
            grace = membership_grace_days() if grace_days is None else grace_days
            since = self.past_due_since or now
            clock = max(now, self.stripe_clock_at) if self.stripe_clock_at else now
            return clock < since + timedelta(days=grace)
        return False

    def grace_ends_at(self, grace_days: int | None = None) -> datetime | None:
        """When a PAST_DUE subscription stops opening its courses (None unless past due)."""
        if self.status != SubscriptionStatus.PAST_DUE or self.past_due_since is None:
            return None
        return self.past_due_since + timedelta(days=membership_grace_days() if grace_days is None else grace_days)

    def opens(self, course: Course, now: datetime) -> bool:
        return self.gives_access(now) and self.membership.unlocks(course)


class MembershipInvoice(db.Model):
    """One Stripe invoice of a subscription, keyed by Stripe's invoice id (in_…).

    Refunds and disputes of its charge are found through `payment_intent_id` / `charge_id`;
    `amount_refunded` is Stripe's cumulative report for that charge.
    """

    __tablename__ = "membership_invoices"

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)  # Stripe's in_…
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(32))  # Stripe's: draft, open, paid, uncollectible, void
    billing_reason: Mapped[str | None] = mapped_column(sa.String(40))  # subscription_create, subscription_cycle, …
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount_due: Mapped[int] = mapped_column(default=0)
    amount_paid: Mapped[int] = mapped_column(default=0)
    amount_refunded: Mapped[int] = mapped_column(default=0)
    discount_amount: Mapped[int] = mapped_column(default=0)
    payment_intent_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    charge_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    attempt_count: Mapped[int] = mapped_column(default=0)
    hosted_invoice_url: Mapped[str | None] = mapped_column(sa.Text)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # revenue per day
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # the latest refund seen
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # failed renewals per day
    dispute_id: Mapped[str | None] = mapped_column(sa.String(255))
    dispute_status: Mapped[str | None] = mapped_column(sa.String(40))  # Stripe's, as received
    stripe_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    subscription: Mapped[Subscription] = relationship()

    __table_args__ = (
        sa.CheckConstraint("amount_due >= 0", name="amount_due_non_negative"),
        sa.CheckConstraint("amount_paid >= 0", name="amount_paid_non_negative"),
        sa.CheckConstraint("amount_refunded >= 0", name="amount_refunded_non_negative"),
    )

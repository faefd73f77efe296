"""Coupon administration for staff: validation, create/update, (de)activation, bulk codes, usage.

The rules a coupon must satisfy live here, not in the form: the form only parses text into
values, this module decides what is allowed and reports every problem at once, by field.
Codes, live reservations and usage totals are read through `redemptions` (one definition
each); applying a coupon to a price is `pricing`'s.
"""
from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from models import (Bundle, Coupon, coupon_bundles, CouponRedemption, Course, DiscountType, PaymentSession, User,
                    coupon_courses, utcnow)
from services import audit
from services.coupons import redemptions
from services.errors import Conflict, FieldErrors, NotFound
from services.money import SUPPORTED_CURRENCIES

CODE_PATTERN = re.compile(r"^[A-Z0-9_-]{3,32}$")
CODE_RULE = "3–32 characters: letters A–Z, digits, _ and -."
MAX_BULK = 10_000
MAX_USES_PER_CODE = 10_000_000  # a bulk code's uses, within the column's integer
MAX_ID = 2_147_483_647  # PostgreSQL's integer: a larger id is no course (and no query parameter SQLite takes)
# No 0/O or 1/I/L: bulk codes get typed in by people.
BULK_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
STATUSES = ("active", "scheduled", "expired", "used_up", "inactive")
SORTS = {"code": Coupon.code, "created": Coupon.created_at, "uses": Coupon.current_uses,
         "until": Coupon.valid_until, "name": Coupon.name}
AUDIT_FIELDS = ["code", "name", "description", "discount_type", "percent_off", "amount_off", "currency",
                "max_uses", "per_learner_limit", "valid_from", "valid_until", "minimum_amount",
                "maximum_discount", "is_public", "is_active"]


class CouponInvalid(FieldErrors):
    code = "COUPON_INVALID"


@dataclass
class CouponInput:
    """What staff typed, already parsed into Python values (amounts in minor units)."""

    code: str
    name: str
    discount_type: str
    percent_off: Decimal | None = None
    amount_off: int | None = None
    currency: str | None = None
    description: str | None = None
    max_uses: int | None = None
    per_learner_limit: int | None = 1
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    minimum_amount: int | None = None
    maximum_discount: int | None = None
    course_ids: list[int] = field(default_factory=list)
    # Limited to these bundles (issue 20); with neither list the coupon applies to everything.
    bundle_ids: list[int] | None = None  # None: leave the saved list as it is (the API does not send it)
    is_public: bool = False
    is_active: bool = True


def code_problem(code: str, exclude_id: int | None = None) -> str | None:
    """Why `code` cannot be used (format or taken), or None. Used by the live htmx check too."""
    code = redemptions.normalize_code(code)
    if not CODE_PATTERN.match(code):
        return f"Use {CODE_RULE}"
    query = db.select(Coupon.id).where(Coupon.code == code)
    if exclude_id is not None:
        query = query.where(Coupon.id != exclude_id)
    if db.session.scalar(query) is not None:
        return f"The code {code} is already taken."
    return None


def validate(data: CouponInput, exclude_id: int | None = None) -> dict[str, str]:
    """Every rule a coupon must follow; returns {field: message} (empty when valid)."""
    errors: dict[str, str] = {}
    problem = code_problem(data.code, exclude_id)
    if problem:
        errors["code"] = problem
    if not (data.name or "").strip():
        errors["name"] = "Give the coupon a name."
    elif len(data.name.strip()) > 120:
        errors["name"] = "At most 120 characters."
    try:
        kind = DiscountType(data.discount_type)
    except ValueError:
        errors["discount_type"] = "Choose percentage or fixed amount."
        kind = None
    currency = (data.currency or "").strip().upper() or None
    if currency and currency not in SUPPORTED_CURRENCIES:
        errors["currency"] = "Choose a supported currency."
    if kind == DiscountType.PERCENTAGE:
        if data.percent_off is None:
            errors["value"] = "Enter a percentage."
        elif not data.percent_off.is_finite() or not (Decimal(0) < data.percent_off <= Decimal(100)):
            errors["value"] = "A percentage must be more than 0 and at most 100."
        elif data.percent_off != data.percent_off.quantize(Decimal("0.01")):
            errors["value"] = "Use at most two decimals."
    elif kind == DiscountType.FIXED_AMOUNT:
        if data.amount_off is None or data.amount_off <= 0:
            errors["value"] = "A fixed amount must be more than 0."
        if not currency:
            errors["currency"] = "A fixed amount needs a currency."
    for name in ("max_uses", "minimum_amount", "maximum_discount"):
        value = getattr(data, name)
        if value is not None and value < 0:
            errors[name] = "Cannot be negative."
    if data.per_learner_limit is not None and data.per_learner_limit < 1:
        errors["per_learner_limit"] = "At least 1 (or empty for no limit)."
    if data.valid_from and data.valid_until and data.valid_from >= data.valid_until:
        errors["valid_until"] = "Must be after the start of validity."
    if any(not 0 < course_id <= MAX_ID for course_id in data.course_ids):
        errors["course_ids"] = "Choose courses from the list."
    elif data.course_ids:
        found = set(db.session.scalars(db.select(Course.id).where(Course.id.in_(data.course_ids))))
        if found != set(data.course_ids):
            errors["course_ids"] = "Choose courses from the list."
    if data.bundle_ids:
        found = set(db.session.scalars(db.select(Bundle.id).where(Bundle.id.in_(
            [i for i in data.bundle_ids if 0 < i <= MAX_ID]))))
        if found != set(data.bundle_ids):
            errors["bundle_ids"] = "Choose bundles from the list."
    return errors


def _apply(coupon: Coupon, data: CouponInput) -> None:
    kind = DiscountType(data.discount_type)
    coupon.code = redemptions.normalize_code(data.code)
    coupon.name = data.name.strip()
    coupon.description = (data.description or "").strip() or None
    coupon.discount_type = kind
    coupon.percent_off = data.percent_off if kind == DiscountType.PERCENTAGE else None
    coupon.amount_off = data.amount_off if kind == DiscountType.FIXED_AMOUNT else None
    coupon.currency = (data.currency or "").strip().upper() or None
    coupon.max_uses = data.max_uses
    coupon.per_learner_limit = data.per_learner_limit
    coupon.valid_from = data.valid_from
    coupon.valid_until = data.valid_until
    coupon.minimum_amount = data.minimum_amount
    coupon.maximum_discount = data.maximum_discount
    coupon.is_public = data.is_public
    coupon.is_active = data.is_active
    coupon.applicable_courses = list(db.session.scalars(
        db.select(Course).where(Course.id.in_(data.course_ids)))) if data.course_ids else []
    if data.bundle_ids is not None:
        coupon.applicable_bundles = list(db.session.scalars(
            db.select(Bundle).where(Bundle.id.in_(data.bundle_ids)))) if data.bundle_ids else []


def create(data: CouponInput, *, actor: User) -> Coupon:
    errors = validate(data)
    if errors:
        raise CouponInvalid(errors)
    coupon = Coupon()
    _apply(coupon, data)
    db.session.add(coupon)
    db.session.flush()
    audit.record("coupon.created", coupon, actor=actor, after=audit.snapshot(coupon, AUDIT_FIELDS))
    return coupon


def update(coupon: Coupon, data: CouponInput, *, actor: User) -> Coupon:
    # The same row lock checkout takes to reserve a use: a reservation cannot slip in between
    # counting the uses held and lowering max_uses under them.
    coupon = redemptions.lock(coupon.id)
    errors = validate(data, exclude_id=coupon.id)
    if coupon.max_uses is not None or data.max_uses is not None:
        # Lowering max_uses under what is already used or held would break invariant 2.
        held = coupon.current_uses + redemptions.live_reservations(coupon, utcnow())
        if data.max_uses is not None and data.max_uses < held:
            errors["max_uses"] = f"Already {held} used or reserved; max uses cannot go below that."
    if errors:
        raise CouponInvalid(errors)
    before = audit.snapshot(coupon, AUDIT_FIELDS)
    _apply(coupon, data)
    db.session.flush()
    audit.record("coupon.updated", coupon, actor=actor, before=before, after=audit.snapshot(coupon, AUDIT_FIELDS))
    return coupon


def describe_deactivation(coupon: Coupon) -> str:
    """What deactivating `coupon` does, in words, for the confirmation staff answer."""
    return f"Learners can no longer apply {coupon.code} to a new checkout. You can reactivate it later."


def describe_deletion(coupon: Coupon) -> str:
    return f"{coupon.code} ({coupon.name}) is deleted for good. This cannot be undone."


def set_active(coupon: Coupon, active: bool, *, actor: User) -> Coupon:
    before = {"is_active": coupon.is_active}
    coupon.is_active = active
    db.session.flush()
    audit.record("coupon.reactivated" if active else "coupon.deactivated", coupon, actor=actor,
                 before=before, after={"is_active": active})
    return coupon


def delete(coupon: Coupon, *, actor: User) -> None:
    """Only a coupon nobody ever used or reserved can go; the others are deactivated instead."""
    used = db.session.scalar(db.select(sa.func.count()).select_from(CouponRedemption)
                             .where(CouponRedemption.coupon_id == coupon.id))
    sessions = db.session.scalar(db.select(sa.func.count()).select_from(PaymentSession)
                                 .where(PaymentSession.coupon_id == coupon.id))
    if used or sessions or coupon.current_uses:
        raise Conflict("This coupon has been used, so it cannot be deleted. Deactivate it instead.",
                       code="COUPON_IN_USE")
    audit.record("coupon.deleted", coupon, actor=actor, before=audit.snapshot(coupon, AUDIT_FIELDS))
    db.session.delete(coupon)
    db.session.flush()


def get(coupon_id: int) -> Coupon:
    coupon = db.session.get(Coupon, coupon_id)
    if coupon is None:
        raise NotFound("We could not find that coupon.", code="COUPON_NOT_FOUND")
    return coupon


# --- lists ---------------------------------------------------------------------------------

def status_condition(status: str, now: datetime):
    """SQL for one list filter; the statuses exclude each other, in the order of `status_of`."""
    used_up = sa.and_(Coupon.max_uses.is_not(None), Coupon.current_uses >= Coupon.max_uses)
    expired = Coupon.valid_until <= now
    not_expired = sa.or_(Coupon.valid_until.is_(None), Coupon.valid_until > now)
    started = sa.or_(Coupon.valid_from.is_(None), Coupon.valid_from <= now)
    active = Coupon.is_active.is_(True)
    conditions = {
        "inactive": Coupon.is_active.is_(False),
        "expired": sa.and_(active, expired),
        "scheduled": sa.and_(active, not_expired, Coupon.valid_from > now),
        "used_up": sa.and_(active, not_expired, started, used_up),
        "active": sa.and_(active, not_expired, started, sa.not_(used_up)),
    }
    return conditions[status]


def status_of(coupon: Coupon, now: datetime) -> str:
    """The label the list shows; the same order of precedence as `status_condition`."""
    if not coupon.is_active:
        return "inactive"
    if coupon.valid_until is not None and coupon.valid_until <= now:
        return "expired"
    if coupon.valid_from is not None and coupon.valid_from > now:
        return "scheduled"
    if coupon.max_uses is not None and coupon.current_uses >= coupon.max_uses:
        return "used_up"
    return "active"


def search_query(*, q: str = "", status: str = "", now: datetime) -> sa.Select:
    """The coupons matching the staff list's search text and status filter (unordered)."""
    query = db.select(Coupon)
    if q.strip():
        pattern = f"%{q.strip().lower()}%"
        query = query.where(sa.or_(sa.func.lower(Coupon.code).like(pattern), sa.func.lower(Coupon.name).like(pattern)))
    if status in STATUSES:
        query = query.where(status_condition(status, now))
    return query


def search(*, q: str = "", status: str = "", sort: str = "created", descending: bool = True,
           page: int = 1, per_page: int = 25, now: datetime):
    """A page of coupons for the staff list, and {coupon id: live reservations} for that page."""
    query = search_query(q=q, status=status, now=now)
    column = SORTS.get(sort, Coupon.created_at)
    query = query.order_by(column.desc() if descending else column.asc(), Coupon.id.desc())
    rows = db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
    return rows, redemptions.live_reservations_by_coupon([coupon.id for coupon in rows.items], now)


def recent_redemptions(coupon: Coupon, limit: int = 200) -> list[CouponRedemption]:
    return list(db.session.scalars(
        db.select(CouponRedemption).options(joinedload(CouponRedemption.user), joinedload(CouponRedemption.course))
        .where(CouponRedemption.coupon_id == coupon.id)
        .order_by(CouponRedemption.reserved_at.desc(), CouponRedemption.id.desc()).limit(limit)))


# --- bulk generation -------------------------------------------------------------------------

def _random_codes(prefix: str, count: int, length: int, codes: set[str] | None = None) -> set[str]:
    codes = codes if codes is not None else set()
    while len(codes) < count:
        codes.add(prefix + "".join(secrets.choice(BULK_ALPHABET) for _ in range(length)))
    return codes


def bulk_problems(prefix: str, count: int | None, max_uses: int | None) -> dict[str, str]:
    """{field: message} for every reason `generate_bulk` would refuse these settings (empty when
    none), for a form that also has errors of its own to show with them."""
    errors = {}
    if not re.match(r"^[A-Z0-9_-]{0,20}$", redemptions.normalize_code(prefix or "")):
        errors["prefix"] = "At most 20 characters: letters A–Z, digits, _ and -."
    if count is None or not 1 <= count <= MAX_BULK:
        errors["count"] = f"Between 1 and {MAX_BULK:,}."
    if max_uses is not None and not 1 <= max_uses <= MAX_USES_PER_CODE:
        errors["max_uses"] = f"Between 1 and {MAX_USES_PER_CODE:,} (or empty for unlimited)."
    return errors


def generate_bulk(template: Coupon, *, prefix: str, count: int, max_uses: int | None = 1,
                  actor: User) -> str:
    """Create `count` coupons with unique random codes and `template`'s settings, in the caller's
    transaction (one commit for all). Returns the batch id, which names the CSV download."""
    if errors := bulk_problems(prefix, count, max_uses):
        raise CouponInvalid(errors)
    prefix = redemptions.normalize_code(prefix)
    # 31^8 ≈ 8.5e11 codes: collisions are rare, but checked against the table all the same.
    length = max(8, min(12, 32 - len(prefix)))
    codes = _random_codes(prefix, count, length)
    while True:
        taken = set()
        batch = list(codes)
        for start in range(0, len(batch), 1000):
            taken.update(db.session.scalars(db.select(Coupon.code).where(Coupon.code.in_(batch[start:start + 1000]))))
        if not taken:
            break
        codes = _random_codes(prefix, count, length, codes - taken)
    batch_id = f"batch_{uuid.uuid4().hex[:16]}"
    now = utcnow()
    shared = dict(name=template.name, description=template.description, discount_type=template.discount_type,
                  percent_off=template.percent_off, amount_off=template.amount_off, currency=template.currency,
                  max_uses=max_uses, current_uses=0, per_learner_limit=template.per_learner_limit,
                  is_active=template.is_active, is_public=False, valid_from=template.valid_from,
                  valid_until=template.valid_until, minimum_amount=template.minimum_amount,
                  maximum_discount=template.maximum_discount, batch_id=batch_id,
                  extra={"template_coupon_id": template.id}, created_at=now, updated_at=now)
    # One multi-row INSERT (executemany) instead of 10,000 ORM objects: seconds → a fraction.
    db.session.execute(sa.insert(Coupon), [{**shared, "code": code} for code in sorted(codes)])
    course_ids = [course.id for course in template.applicable_courses]
    for course_id in course_ids:
        db.session.execute(coupon_courses.insert().from_select(
            ["coupon_id", "course_id"],
            db.select(Coupon.id, sa.literal(course_id)).where(Coupon.batch_id == batch_id)))
    for bundle_id in [bundle.id for bundle in template.applicable_bundles]:  # limited to bundles too (issue 20)
        db.session.execute(coupon_bundles.insert().from_select(
            ["coupon_id", "bundle_id"],
            db.select(Coupon.id, sa.literal(bundle_id)).where(Coupon.batch_id == batch_id)))
    audit.record("coupon.bulk_generated", template, actor=actor,
                 after={"batch_id": batch_id, "count": count, "prefix": prefix, "max_uses": max_uses})
    return batch_id


def batch_codes(batch_id: str) -> list[tuple[str, int | None, int]]:
    rows = db.session.execute(db.select(Coupon.code, Coupon.max_uses, Coupon.current_uses)
                              .where(Coupon.batch_id == batch_id).order_by(Coupon.code)).all()
    if not rows:
        raise NotFound("We could not find that batch of codes.", code="BATCH_NOT_FOUND")
    return [tuple(row) for row in rows]

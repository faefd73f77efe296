"""The referrer's reward: what staff set, and each reward from pending to earned or canceled.

Settings (`referral_settings`, one row; absent = no rewards) say what a reward is: a coupon of
a percentage or a fixed amount (with its currency), single use (max 1 use, 1 per learner),
valid `validity_days` from the moment it is issued. Their values are checked by the coupon
rules themselves (`coupons.admin.validate`), so a setting that would make an invalid coupon
is refused on the form, not by the job.

A referred purchase (a paid payment session with `referrer_id`) gets one reward row when it is
fulfilled (`record_purchase`: insert-if-absent on the unique payment session, so racing
fulfilments and redelivered webhooks make one), carrying the settings' terms of that moment
and `earns_at` = payment time + the purchase's refund window (services/payments/refund_policy.py;
a course with no refunds earns at once). A refund (full or partial) or a dispute that happens
before `earns_at` cancels it (`cancel`, called by payments under the payment's row lock). The
periodic job (`issue_due`) then issues each pending reward past `earns_at`: a compare-and-set
UPDATE PENDING → EARNED claims it (a second worker, or a cancel, finds nothing to claim), the
coupon is created through `coupons.admin.create` (every coupon rule applies when it is used)
and the mail queued, all in one transaction.

The reward is for the referrer only; the referred buyer gets no discount from the referral
(any coupon they type follows its own rules, and a coupon purchase made through a link is
still a referred purchase). The reward coupon is a code mailed to the referrer and listed on
their /account, like a bulk code: whoever types it uses it, once.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from models import (Coupon, DiscountType, Dispute, PaymentSession, ReferralReward, ReferralRewardStatus as R,
                    ReferralSettings, RefundMovement, User)
from services import audit, notifications
from services.coupons import admin as coupon_admin
from services.errors import FieldErrors
from services.insert_if_absent import InsertIfAbsent
from services.money import format_money
from services.referrals import links

SETTINGS_ID = 1
DEFAULT_PERCENT = Decimal("10")
DEFAULT_VALIDITY_DAYS = 90
MAX_VALIDITY_DAYS = 3650
CODE_PREFIX = "REF-"
CODE_ALPHABET = coupon_admin.BULK_ALPHABET
SETTINGS_FIELDS = ["rewards_enabled", "discount_type", "percent_off", "amount_off", "currency", "validity_days"]

_INSERT_REWARD = InsertIfAbsent(ReferralReward.__table__, conflict=["payment_session_id"], returning="id",
                                skip=("id",))


class SettingsInvalid(FieldErrors):
    code = "REFERRAL_SETTINGS_INVALID"


# --- settings -----------------------------------------------------------------------------

def settings() -> ReferralSettings:
    """The settings row, or an unsaved one holding the defaults (rewards off)."""
    return db.session.get(ReferralSettings, SETTINGS_ID) or ReferralSettings(
        id=SETTINGS_ID, rewards_enabled=False, discount_type=DiscountType.PERCENTAGE, percent_off=DEFAULT_PERCENT,
        amount_off=None, currency=None, validity_days=DEFAULT_VALIDITY_DAYS)


@dataclass
class SettingsInput:
    rewards_enabled: bool
    discount_type: str
    percent_off: Decimal | None = None
    amount_off: int | None = None
    currency: str | None = None
    validity_days: int | None = DEFAULT_VALIDITY_DAYS


def settings_problems(data: SettingsInput) -> dict[str, str]:
    """{field: message} for every reason these settings cannot be saved (empty when none).
    The discount is checked by the coupon rules, as the coupon it will become."""
    errors = {}
    if data.validity_days is None or not 1 <= data.validity_days <= MAX_VALIDITY_DAYS:
        errors["validity_days"] = f"Between 1 and {MAX_VALIDITY_DAYS} days."
    problems = coupon_admin.validate(_coupon_input(data, code=CODE_PREFIX + "CHECK"))
    errors.update({name: problems[name] for name in ("discount_type", "value", "currency") if name in problems})
    return errors


def update_settings(data: SettingsInput, *, actor: User | None) -> ReferralSettings:
    """Save the reward settings (audited); SettingsInvalid with every problem at once."""
    if errors := settings_problems(data):
        raise SettingsInvalid(errors)
    row = db.session.get(ReferralSettings, SETTINGS_ID)
    before = audit.snapshot(row, SETTINGS_FIELDS) if row is not None else None
    if row is None:
        row = ReferralSettings(id=SETTINGS_ID)
        db.session.add(row)
    kind = DiscountType(data.discount_type)
    row.rewards_enabled = data.rewards_enabled
    row.discount_type = kind
    row.percent_off = data.percent_off if kind == DiscountType.PERCENTAGE else None
    row.amount_off = data.amount_off if kind == DiscountType.FIXED_AMOUNT else None
    row.currency = (data.currency or "").strip().upper() or None if kind == DiscountType.FIXED_AMOUNT else None
    row.validity_days = data.validity_days
    db.session.flush()
    audit.record("referral_settings.updated", row, actor=actor, before=before,
                 after=audit.snapshot(row, SETTINGS_FIELDS))
    return row


def offer() -> str | None:
    """What a referrer earns now, in words ("10% off"), or None when rewards are off."""
    terms = settings()
    return describe(terms) if terms.rewards_enabled else None


def _coupon_input(terms, *, code: str, valid_from: datetime | None = None,
                  valid_until: datetime | None = None) -> coupon_admin.CouponInput:
    kind = getattr(terms.discount_type, "value", terms.discount_type)
    return coupon_admin.CouponInput(
        code=code, name="Referral reward", discount_type=kind,
        percent_off=terms.percent_off if kind == DiscountType.PERCENTAGE else None,
        amount_off=terms.amount_off if kind == DiscountType.FIXED_AMOUNT else None,
        currency=terms.currency if kind == DiscountType.FIXED_AMOUNT else None,
        description="Thank you for referring a friend.", max_uses=1, per_learner_limit=1,
        valid_from=valid_from, valid_until=valid_until, is_public=False, is_active=True)


def describe(terms) -> str:
    """"10% off" / "$5.00 off" (a reward's or the settings' discount)."""
    if terms.discount_type == DiscountType.PERCENTAGE:
        return f"{Decimal(terms.percent_off).normalize():f}% off"
    return f"{format_money(terms.amount_off, terms.currency)} off"


# --- one reward per referred purchase -------------------------------------------------------

def record_purchase(payment_session: PaymentSession, *, window_days: int, now: datetime) -> int | None:
    """The pending reward of a referred paid purchase, made once (insert-if-absent); None when
    the purchase earns nothing (no referrer, nothing paid, rewards off, self-referral)."""
    if payment_session.referrer_id is None or payment_session.final_amount <= 0:
        return None
    terms = settings()
    if not terms.rewards_enabled:
        return None
    referrer = db.session.get(User, payment_session.referrer_id)
    if referrer is None or links.is_self_referral(payment_session.user, referrer):
        return None
    paid_at = payment_session.completed_at or now
    return _INSERT_REWARD.run(db.session, {
        "payment_session_id": payment_session.id, "referrer_id": referrer.id,
        "referred_user_id": payment_session.user_id, "status": R.PENDING,
        "discount_type": terms.discount_type, "percent_off": terms.percent_off, "amount_off": terms.amount_off,
        "currency": terms.currency, "validity_days": terms.validity_days, "created_at": now,
        "earns_at": paid_at + timedelta(days=max(window_days, 0))})


def cancel(payment_session_id: str, reason: str, *, occurred_at: datetime, now: datetime) -> bool:
    """Cancel the purchase's reward if it is still pending and `occurred_at` (the refund or
    dispute) is before it is earned. A compare-and-set: an issue racing it wins or loses whole."""
    return _cancel_where(reason, now, ReferralReward.payment_session_id == payment_session_id,
                         ReferralReward.earns_at > occurred_at)


def _cancel_where(reason: str, now: datetime, *conditions) -> bool:
    result = db.session.execute(
        sa.update(ReferralReward).where(ReferralReward.status == R.PENDING, *conditions)
        .values(status=R.CANCELED, canceled_at=now, canceled_reason=reason[:200])
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


# --- the job ---------------------------------------------------------------------------------

def due(*, now: datetime, limit: int = 200) -> list[int]:
    """Ids of pending rewards past their `earns_at`, oldest first."""
    return list(db.session.scalars(
        sa.select(ReferralReward.id).where(ReferralReward.status == R.PENDING, ReferralReward.earns_at <= now)
        .order_by(ReferralReward.earns_at, ReferralReward.id).limit(limit)))


def _taken_back_before(reward: ReferralReward) -> str | None:
    """Why the purchase earns nothing after all (a refund or dispute before `earns_at` that no
    cancel has seen yet, e.g. recorded before this code ran), or None."""
    refunded = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(RefundMovement.amount), 0)).where(
        RefundMovement.payment_session_id == reward.payment_session_id,
        RefundMovement.occurred_at < reward.earns_at))
    if refunded:
        return "the purchase was refunded"
    disputed = db.session.scalar(sa.select(sa.func.count()).select_from(Dispute).where(
        Dispute.payment_session_id == reward.payment_session_id, Dispute.created_at < reward.earns_at))
    return "the purchase was disputed" if disputed else None


def issue(reward_id: int, *, now: datetime) -> str:
    """Issue one due reward (caller commits): "EARNED", "CANCELED", or "SKIPPED" when it is not
    (or no longer) pending and due, e.g. another worker issued it first."""
    reward = db.session.get(ReferralReward, reward_id, populate_existing=True)
    if reward is None or reward.status != R.PENDING or reward.earns_at > now:
        return "SKIPPED"
    why_not = _taken_back_before(reward)
    if why_not is None and not reward.referrer.is_active:
        why_not = "the referrer's account is disabled"
    if why_not is not None:
        return "CANCELED" if _cancel_where(why_not, now, ReferralReward.id == reward_id) else "SKIPPED"
    claimed = db.session.execute(
        sa.update(ReferralReward).where(ReferralReward.id == reward_id, ReferralReward.status == R.PENDING)
        .values(status=R.EARNED, earned_at=now).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return "SKIPPED"  # a second worker, or a cancel, got there first
    coupon = coupon_admin.create(_coupon_input(reward, code=_new_code(), valid_from=now,
                                               valid_until=now + timedelta(days=reward.validity_days)), actor=None)
    coupon.extra = {"referral_reward_id": reward.id}
    db.session.execute(sa.update(ReferralReward).where(ReferralReward.id == reward_id)
                       .values(coupon_id=coupon.id).execution_options(synchronize_session=False))
    db.session.refresh(reward)
    audit.record("referral_reward.earned", reward, actor_label="system",
                 message=f"coupon {coupon.code} for purchase {reward.payment_session_id}")
    notifications.referral_reward_earned(reward, coupon)
    return "EARNED"


def _new_code() -> str:
    while True:
        code = CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
        if db.session.scalar(sa.select(Coupon.id).where(Coupon.code == code)) is None:
            return code


# --- the learner's list ---------------------------------------------------------------------

def for_referrer(user: User) -> list[ReferralReward]:
    """The learner's rewards, newest first, with their purchase (course) and coupon loaded."""
    return list(db.session.scalars(
        sa.select(ReferralReward).where(ReferralReward.referrer_id == user.id)
        .options(joinedload(ReferralReward.payment).joinedload(PaymentSession.course),
                 joinedload(ReferralReward.payment).joinedload(PaymentSession.bundle),
                 joinedload(ReferralReward.coupon))
        .order_by(ReferralReward.created_at.desc(), ReferralReward.id.desc())))


def recent(limit: int = 100) -> list[ReferralReward]:
    """The latest rewards for the staff page, with referrer, buyer and coupon loaded."""
    return list(db.session.scalars(
        sa.select(ReferralReward).options(joinedload(ReferralReward.referrer), joinedload(ReferralReward.referred_user),
                                          joinedload(ReferralReward.coupon))
        .order_by(ReferralReward.created_at.desc(), ReferralReward.id.desc()).limit(limit)))

"""Staff analytics (and the staff home page's counts): every figure is one SQL aggregate, never rows in Python.

A date range is inclusive UTC days [start, end]. All queries filter on an indexed timestamp
column with a half-open range [start 00:00, end+1 00:00), so their cost follows the number of
rows in the range, not the size of the table (see bench/bench_analytics.py).
Day buckets use `date(column)`, which SQLite and PostgreSQL both understand (SQLite returns a
'YYYY-MM-DD' string, PostgreSQL a date; `_day` makes them the same).

Definitions (also in docs/staff.md):
- paid session: status COMPLETED or REFUNDED; gross = final_amount, counted on the day the
  session completed;
- refunded: the sum of refund movements (models.RefundMovement, each change of a session's
  refunded total, negative when a refund failed) on the day they happened, whatever the
  sale's day; net per day = gross that day − refunded that day, so it can be negative;
- conversion: sessions created in the range, and how many of them are paid; per course, only
  single-course checkouts (a bundle's sale is counted once, per bundle, not per course);
- sales per bundle: the bundle's paid sessions completed in the range (gross, discounts) and the
  refund movements of bundle sessions made in the range, per bundle and currency (the revenue
  rules above; a bundle's sale is also in the totals and the revenue per day);
- failures: failed payment attempts in the range by reason (models.PaymentFailure, one per
  `payment_intent.payment_failed`: a declined card counts even when its session later
  completes or expires), beside sessions created in the range that ended FAILED, by failure_code;
- coupon usage: redemptions REDEEMED in the range; revenue = their sessions' net amounts;
- enrollments and completion: enrollments whose enrolled_at is in the range;
- referrals, per referrer and currency (issue 20): referred purchases = paid sessions with a
  referrer completed in the range, their gross and net (minus refunds so far) revenue; rewards
  issued = rewards earned in the range (in the currency of the purchase they reward), redeemed
  = those of them whose coupon has been used.

Memberships (issue 16; one-off sales above leave out subscription checkouts, whose money is
counted from their invoices):
- members at the end of the range: subscriptions started before the range's end and not ended
  by then (ended_at NULL or later), leaving out those Stripe never made live (INCOMPLETE,
  INCOMPLETE_EXPIRED) and UNPAID ones; "paying" leaves out those still in their trial then;
- MRR: the paying members' recurring prices per month, a yearly price counted as ÷ 12 (rounded
  half up per membership and currency), at the price each subscription pays;
- new members per day: subscriptions by Stripe's start date (not INCOMPLETE ones); churned: by ended_at; failed
  renewals: renewal invoices (billing_reason subscription_cycle) by their latest failed attempt
  (failed_at), so an invoice retried three times counts once;
- membership revenue: invoices' amount_paid on the day they were paid, and refunds of invoices on
  the day of the latest refund seen (refunded_at), beside one-off sales.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from extensions import db
from models import (PAID_STATUSES, BillingInterval, Bundle, Coupon, CouponRedemption, Course, Enrollment, EnrollmentStatus,
                    Membership, MembershipInvoice, PaymentFailure, PaymentSession, PaymentSessionStatus,
                    RedemptionStatus, ReferralReward, ReferralRewardStatus, RefundMovement, StripeEvent, Subscription,
                    SubscriptionStatus, User, WebhookEventStatus)
from services.money import to_major

MAX_DAYS = 366
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | int | money | percent


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict]
    note: str = ""  # shown under the title: what the table counts and what it leaves out


def dashboard_summary() -> dict:
    """The counts on the staff home page: what exists, and what waits for someone."""
    count = lambda model, *where: db.session.scalar(db.select(sa.func.count()).select_from(model).where(*where))  # noqa: E731
    return {
        "courses": count(Course),
        "coupons": count(Coupon, Coupon.is_active.is_(True)),
        "pending": count(PaymentSession, PaymentSession.status == PaymentSessionStatus.PENDING),
        "flagged": count(PaymentSession, PaymentSession.needs_review.is_(True)),
        "failed_events": count(StripeEvent, StripeEvent.status == WebhookEventStatus.FAILED),
        "enrollments": count(Enrollment),
    }


def parse_range(start_text: str | None, end_text: str | None, today: date) -> tuple[date, date, str | None]:
    """The inclusive day range asked for, defaulting to the last 30 days; bad input → default
    plus a message (never an error page)."""
    message = None
    try:
        end = date.fromisoformat(end_text) if end_text else today
        start = date.fromisoformat(start_text) if start_text else end - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        end, start = today, today - timedelta(days=DEFAULT_DAYS - 1)
        message = "Dates must look like 2026-11-26; showing the last 30 days."
    if start > end:
        start, end = end, start
    if (end - start).days + 1 > MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS - 1)
        message = f"A range covers at most {MAX_DAYS} days; showing the last {MAX_DAYS} of it."
    return start, end, message


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, time.min, tzinfo=timezone.utc),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=timezone.utc))


def _day(value) -> date:
    return value if isinstance(value, date) and not isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def _rate(part: int, whole: int) -> float | None:
    # A display ratio, not money: floats are fine here.
    return round(100.0 * part / whole, 1) if whole else None


def _sales_and_refunds(start: date, end: date) -> sa.Subquery:
    """Per day and currency: sales on the sale's day, refund movements on the refund's day.

    Two aggregates, each on its own indexed timestamp, stacked with UNION ALL (columns:
    day, currency, payments, gross, refunded); the callers sum them up per bucket.
    """
    low, high = _bounds(start, end)
    zero = sa.literal_column("0")
    sale_day = sa.func.date(PaymentSession.completed_at)
    sales = (db.select(sale_day.label("day"), PaymentSession.currency.label("currency"),
                       sa.func.count().label("payments"), sa.func.sum(PaymentSession.final_amount).label("gross"),
                       zero.label("refunded"))
             .where(PaymentSession.completed_at >= low, PaymentSession.completed_at < high,
                    PaymentSession.status.in_(PAID_STATUSES), PaymentSession.membership_id.is_(None))
             .group_by(sale_day, PaymentSession.currency))
    refund_day = sa.func.date(RefundMovement.occurred_at)
    refunds = (db.select(refund_day.label("day"), RefundMovement.currency.label("currency"), zero.label("payments"),
                         zero.label("gross"), sa.func.sum(RefundMovement.amount).label("refunded"))
               .where(RefundMovement.occurred_at >= low, RefundMovement.occurred_at < high)
               .group_by(refund_day, RefundMovement.currency))
    return sa.union_all(sales, refunds).subquery("sales_and_refunds")


def _money_row(currency: str, payments, gross, refunded) -> dict:
    return {"currency": currency, "payments": int(payments), "gross": int(gross), "refunded": int(refunded),
            "net": int(gross) - int(refunded)}


def revenue_by_day(start: date, end: date) -> Table:
    parts = _sales_and_refunds(start, end)
    rows = db.session.execute(
        db.select(parts.c.day, parts.c.currency, sa.func.sum(parts.c.payments), sa.func.sum(parts.c.gross),
                  sa.func.sum(parts.c.refunded))
        .group_by(parts.c.day, parts.c.currency).order_by(parts.c.day, parts.c.currency))
    return Table("revenue", "Net revenue per day", [
        Column("day", "Day"), Column("currency", "Currency"), Column("payments", "Payments", "int"),
        Column("gross", "Gross", "money"), Column("refunded", "Refunded", "money"), Column("net", "Net", "money"),
    ], [{"day": _day(d), **_money_row(c, n, g, r)} for d, c, n, g, r in rows])


def totals(start: date, end: date) -> list[dict]:
    """Gross (sales in the range), refunded (refunds made in the range) and net per currency."""
    parts = _sales_and_refunds(start, end)
    rows = db.session.execute(
        db.select(parts.c.currency, sa.func.sum(parts.c.payments), sa.func.sum(parts.c.gross),
                  sa.func.sum(parts.c.refunded))
        .group_by(parts.c.currency).order_by(parts.c.currency))
    return [_money_row(c, n, g, r) for c, n, g, r in rows]


def conversion_by_course(start: date, end: date) -> Table:
    low, high = _bounds(start, end)
    paid = sa.func.sum(sa.case((PaymentSession.status.in_(PAID_STATUSES), 1), else_=0))
    rows = db.session.execute(
        db.select(Course.title, sa.func.count(PaymentSession.id), paid)
        .join(Course, Course.id == PaymentSession.course_id)
        .where(PaymentSession.created_at >= low, PaymentSession.created_at < high)
        .group_by(Course.id, Course.title).order_by(Course.title))
    return Table("conversion", "Checkout conversion per course", [
        Column("course", "Course"), Column("started", "Sessions started", "int"), Column("paid", "Paid", "int"),
        Column("rate", "Conversion", "percent"),
    ], [{"course": t, "started": int(s), "paid": int(p or 0), "rate": _rate(int(p or 0), int(s))} for t, s, p in rows],
        note="Checkouts of a single course only: bundle sales are counted separately, in “Sales per bundle”.")


def failures_by_reason(start: date, end: date) -> Table:
    """Failed attempts in the range by reason (a declined card stays "card_declined" whatever
    its session did next), beside the sessions created in the range that ended FAILED."""
    low, high = _bounds(start, end)
    zero = sa.literal_column("0")
    session_reason = sa.func.coalesce(PaymentSession.failure_code, "unknown")
    attempts = (db.select(PaymentFailure.reason.label("reason"), sa.func.count().label("attempts"),
                          zero.label("sessions"))
                .where(PaymentFailure.occurred_at >= low, PaymentFailure.occurred_at < high)
                .group_by(PaymentFailure.reason))
    sessions = (db.select(session_reason.label("reason"), zero.label("attempts"), sa.func.count().label("sessions"))
                .where(PaymentSession.created_at >= low, PaymentSession.created_at < high,
                       PaymentSession.status == PaymentSessionStatus.FAILED)
                .group_by(session_reason))
    both = sa.union_all(attempts, sessions).subquery("failures")
    attempts_total, sessions_total = sa.func.sum(both.c.attempts), sa.func.sum(both.c.sessions)
    rows = db.session.execute(
        db.select(both.c.reason, attempts_total, sessions_total)
        .group_by(both.c.reason).order_by(attempts_total.desc(), sessions_total.desc(), both.c.reason))
    return Table("failures", "Payment failures by reason", [
        Column("reason", "Reason"), Column("attempts", "Failed attempts", "int"),
        Column("sessions", "Sessions that ended failed", "int"),
    ], [{"reason": r, "attempts": int(a or 0), "sessions": int(s or 0)} for r, a, s in rows])


def coupon_usage(start: date, end: date) -> Table:
    low, high = _bounds(start, end)
    rows = db.session.execute(
        db.select(Coupon.code, CouponRedemption.currency, sa.func.count(CouponRedemption.id),
                  sa.func.sum(CouponRedemption.discount_amount),
                  sa.func.coalesce(sa.func.sum(PaymentSession.final_amount - PaymentSession.amount_refunded), 0))
        .join(Coupon, Coupon.id == CouponRedemption.coupon_id)
        .outerjoin(PaymentSession, PaymentSession.id == CouponRedemption.payment_session_id)
        .where(CouponRedemption.redeemed_at >= low, CouponRedemption.redeemed_at < high,
               CouponRedemption.status == RedemptionStatus.REDEEMED)
        .group_by(Coupon.id, Coupon.code, CouponRedemption.currency)
        .order_by(sa.func.count(CouponRedemption.id).desc(), Coupon.code))
    return Table("coupons", "Coupon usage", [
        Column("code", "Coupon"), Column("currency", "Currency"), Column("uses", "Uses", "int"),
        Column("discount", "Discount given", "money"), Column("revenue", "Revenue", "money"),
    ], [{"code": code, "currency": c, "uses": int(n), "discount": int(d or 0), "revenue": int(r or 0)}
        for code, c, n, d, r in rows])


def enrollments_by_course_and_source(start: date, end: date) -> Table:
    low, high = _bounds(start, end)
    rows = db.session.execute(
        db.select(Course.title, Enrollment.source, sa.func.count(Enrollment.id))
        .join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.enrolled_at >= low, Enrollment.enrolled_at < high)
        .group_by(Course.id, Course.title, Enrollment.source).order_by(Course.title, Enrollment.source))
    return Table("enrollments", "Enrollments per course and source", [
        Column("course", "Course"), Column("source", "Source"), Column("count", "Enrollments", "int"),
    ], [{"course": t, "source": getattr(s, "value", s), "count": int(n)} for t, s, n in rows])


def completion_by_course(start: date, end: date) -> Table:
    low, high = _bounds(start, end)
    completed = sa.func.sum(sa.case((sa.or_(Enrollment.status == EnrollmentStatus.COMPLETED,
                                            Enrollment.completed_at.is_not(None)), 1), else_=0))
    rows = db.session.execute(
        db.select(Course.title, sa.func.count(Enrollment.id), completed)
        .join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.enrolled_at >= low, Enrollment.enrolled_at < high)
        .group_by(Course.id, Course.title).order_by(Course.title))
    return Table("completion", "Completion rate per course", [
        Column("course", "Course"), Column("enrolled", "Enrolled", "int"), Column("completed", "Completed", "int"),
        Column("rate", "Completion", "percent"),
    ], [{"course": t, "enrolled": int(n), "completed": int(c or 0), "rate": _rate(int(c or 0), int(n))}
        for t, n, c in rows])


def referrals_by_referrer(start: date, end: date) -> Table:
    """Referred purchases and rewards per referrer and currency: two aggregates on their own
    timestamps (completed_at, earned_at), stacked and summed like the revenue."""
    low, high = _bounds(start, end)
    zero = sa.literal_column("0")
    sales = (db.select(PaymentSession.referrer_id.label("referrer_id"), PaymentSession.currency.label("currency"),
                       sa.func.count().label("purchases"), sa.func.sum(PaymentSession.final_amount).label("gross"),
                       sa.func.sum(PaymentSession.final_amount - PaymentSession.amount_refunded).label("net"),
                       zero.label("issued"), zero.label("redeemed"))
             .where(PaymentSession.completed_at >= low, PaymentSession.completed_at < high,
                    PaymentSession.status.in_(PAID_STATUSES), PaymentSession.referrer_id.is_not(None))
             .group_by(PaymentSession.referrer_id, PaymentSession.currency))
    redeemed = sa.case((Coupon.current_uses > 0, 1), else_=0)
    rewards = (db.select(ReferralReward.referrer_id.label("referrer_id"), PaymentSession.currency.label("currency"),
                         zero.label("purchases"), zero.label("gross"), zero.label("net"),
                         sa.func.count().label("issued"), sa.func.coalesce(sa.func.sum(redeemed), 0).label("redeemed"))
               .join(PaymentSession, PaymentSession.id == ReferralReward.payment_session_id)
               .outerjoin(Coupon, Coupon.id == ReferralReward.coupon_id)
               .where(ReferralReward.status == ReferralRewardStatus.EARNED, ReferralReward.earned_at >= low,
                      ReferralReward.earned_at < high)
               .group_by(ReferralReward.referrer_id, PaymentSession.currency))
    parts = sa.union_all(sales, rewards).subquery("referrals")
    rows = db.session.execute(
        db.select(User.email, parts.c.currency, sa.func.sum(parts.c.purchases), sa.func.sum(parts.c.gross),
                  sa.func.sum(parts.c.net), sa.func.sum(parts.c.issued), sa.func.sum(parts.c.redeemed))
        .join(User, User.id == parts.c.referrer_id)
        .group_by(User.id, User.email, parts.c.currency)
        .order_by(sa.func.sum(parts.c.gross).desc(), User.email, parts.c.currency))
    return Table("referrals", "Referrals per referrer", [
        Column("referrer", "Referrer"), Column("currency", "Currency"), Column("purchases", "Referred purchases", "int"),
        Column("gross", "Revenue", "money"), Column("net", "Net of refunds", "money"),
        Column("issued", "Rewards issued", "int"), Column("redeemed", "Rewards redeemed", "int"),
    ], [{"referrer": email, "currency": c, "purchases": int(n or 0), "gross": int(g or 0), "net": int(net or 0),
         "issued": int(i or 0), "redeemed": int(r or 0)} for email, c, n, g, net, i, r in rows])


def sales_by_bundle(start: date, end: date) -> Table:
    """Per bundle and currency: paid sales completed in the range (gross, discount given) and the
    refund movements of bundle sales made in the range (whatever the sale's day); net = gross −
    refunded, as for revenue per day."""
    low, high = _bounds(start, end)
    zero = sa.literal_column("0")
    sales = (db.select(PaymentSession.bundle_id.label("bundle_id"), PaymentSession.currency.label("currency"),
                       sa.func.count().label("sales"), sa.func.sum(PaymentSession.final_amount).label("gross"),
                       sa.func.sum(PaymentSession.discount_amount).label("discount"), zero.label("refunded"))
             .where(PaymentSession.completed_at >= low, PaymentSession.completed_at < high,
                    PaymentSession.status.in_(PAID_STATUSES), PaymentSession.bundle_id.is_not(None))
             .group_by(PaymentSession.bundle_id, PaymentSession.currency))
    refunded = (db.select(PaymentSession.bundle_id.label("bundle_id"), RefundMovement.currency.label("currency"),
                          zero.label("sales"), zero.label("gross"), zero.label("discount"),
                          sa.func.sum(RefundMovement.amount).label("refunded"))
                .join(PaymentSession, PaymentSession.id == RefundMovement.payment_session_id)
                .where(RefundMovement.occurred_at >= low, RefundMovement.occurred_at < high,
                       PaymentSession.bundle_id.is_not(None))
                .group_by(PaymentSession.bundle_id, RefundMovement.currency))
    both = sa.union_all(sales, refunded).subquery("bundle_sales")
    rows = db.session.execute(
        db.select(Bundle.name, both.c.currency, sa.func.sum(both.c.sales), sa.func.sum(both.c.gross),
                  sa.func.sum(both.c.discount), sa.func.sum(both.c.refunded))
        .join(Bundle, Bundle.id == both.c.bundle_id)
        .group_by(Bundle.id, Bundle.name, both.c.currency).order_by(Bundle.name, both.c.currency))
    return Table("bundles", "Sales per bundle", [
        Column("bundle", "Bundle"), Column("currency", "Currency"), Column("sales", "Sales", "int"),
        Column("gross", "Gross", "money"), Column("discount", "Discount given", "money"),
        Column("refunded", "Refunded", "money"), Column("net", "Net", "money"),
    ], [{"bundle": name, "currency": c, "sales": int(n or 0), "gross": int(g or 0), "discount": int(d or 0),
         "refunded": int(r or 0), "net": int(g or 0) - int(r or 0)} for name, c, n, g, d, r in rows],
        note="One row per bundle and currency; a bundle's sales are also in the revenue above, not in the "
             "per-course conversion.")


# --- memberships (issue 16) -------------------------------------------------------------

NEVER_STARTED = (SubscriptionStatus.INCOMPLETE, SubscriptionStatus.INCOMPLETE_EXPIRED)
NEVER_LIVE = (*NEVER_STARTED, SubscriptionStatus.UNPAID)


def _members_at(moment: datetime):
    """Subscriptions that were members at `moment` (see the module docstring)."""
    return sa.and_(Subscription.started_at < moment,
                   sa.or_(Subscription.ended_at.is_(None), Subscription.ended_at >= moment),
                   Subscription.status.not_in(NEVER_LIVE))


def _monthly(amount_per_month: int, amount_per_year: int) -> int:
    """Monthly prices plus yearly ones ÷ 12, rounded once, half up."""
    return int(amount_per_month) + int((Decimal(int(amount_per_year)) / 12).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def members_and_mrr(start: date, end: date) -> Table:
    """Per membership and currency at the end of the range: members, of them in a trial, and MRR."""
    _, high = _bounds(start, end)
    trialing = sa.and_(Subscription.trial_end.is_not(None), Subscription.trial_end > high)
    paying = sa.not_(trialing)
    monthly = sa.func.sum(sa.case((sa.and_(paying, Subscription.interval == BillingInterval.MONTH),
                                   Subscription.amount), else_=0))
    yearly = sa.func.sum(sa.case((sa.and_(paying, Subscription.interval == BillingInterval.YEAR),
                                  Subscription.amount), else_=0))
    rows = db.session.execute(
        db.select(Membership.name, Subscription.currency, sa.func.count(Subscription.id),
                  sa.func.sum(sa.case((trialing, 1), else_=0)), monthly, yearly)
        .join(Membership, Membership.id == Subscription.membership_id)
        .where(_members_at(high))
        .group_by(Membership.id, Membership.name, Subscription.currency).order_by(Membership.name, Subscription.currency))
    return Table("mrr", "Members and MRR at the end of the range", [
        Column("membership", "Membership"), Column("currency", "Currency"), Column("members", "Members", "int"),
        Column("trialing", "In a trial", "int"), Column("mrr", "MRR", "money"),
    ], [{"membership": name, "currency": c, "members": int(n), "trialing": int(t or 0),
         "mrr": _monthly(m or 0, y or 0)} for name, c, n, t, m, y in rows])


def members_by_day(start: date, end: date) -> Table:
    """New members, churned members and failed renewals per day (three indexed counts, stacked)."""
    low, high = _bounds(start, end)
    zero = sa.literal_column("0")
    one = sa.func.count()
    new_day, end_day, fail_day = (sa.func.date(Subscription.started_at), sa.func.date(Subscription.ended_at),
                                  sa.func.date(MembershipInvoice.failed_at))
    new = (db.select(new_day.label("day"), one.label("new"), zero.label("churned"), zero.label("failed"))
           .where(Subscription.started_at >= low, Subscription.started_at < high,
                  Subscription.status.not_in(NEVER_STARTED)).group_by(new_day))
    churned = (db.select(end_day.label("day"), zero.label("new"), one.label("churned"), zero.label("failed"))
               .where(Subscription.ended_at >= low, Subscription.ended_at < high).group_by(end_day))
    failed = (db.select(fail_day.label("day"), zero.label("new"), zero.label("churned"), one.label("failed"))
              .where(MembershipInvoice.failed_at >= low, MembershipInvoice.failed_at < high,
                     MembershipInvoice.billing_reason == "subscription_cycle").group_by(fail_day))
    parts = sa.union_all(new, churned, failed).subquery("members")
    rows = db.session.execute(db.select(parts.c.day, sa.func.sum(parts.c.new), sa.func.sum(parts.c.churned),
                                        sa.func.sum(parts.c.failed)).group_by(parts.c.day).order_by(parts.c.day))
    return Table("members", "New and churned members, failed renewals per day", [
        Column("day", "Day"), Column("new", "New members", "int"), Column("churned", "Churned", "int"),
        Column("failed", "Failed renewals", "int"),
    ], [{"day": _day(d), "new": int(n or 0), "churned": int(c or 0), "failed": int(f or 0)} for d, n, c, f in rows])


def revenue_by_product(start: date, end: date) -> Table:
    """Per currency: one-off sales and membership invoices side by side (gross, refunded, net)."""
    low, high = _bounds(start, end)
    zero = sa.literal_column("0")
    one_off = _sales_and_refunds(start, end)
    sales = db.select(one_off.c.currency.label("currency"), one_off.c.gross.label("sales_gross"),
                      one_off.c.refunded.label("sales_refunded"), zero.label("members_gross"),
                      zero.label("members_refunded"))
    paid = (db.select(MembershipInvoice.currency.label("currency"), zero.label("sales_gross"),
                      zero.label("sales_refunded"), sa.func.sum(MembershipInvoice.amount_paid).label("members_gross"),
                      zero.label("members_refunded"))
            .where(MembershipInvoice.paid_at >= low, MembershipInvoice.paid_at < high)
            .group_by(MembershipInvoice.currency))
    refunded = (db.select(MembershipInvoice.currency.label("currency"), zero.label("sales_gross"),
                          zero.label("sales_refunded"), zero.label("members_gross"),
                          sa.func.sum(MembershipInvoice.amount_refunded).label("members_refunded"))
                .where(MembershipInvoice.refunded_at >= low, MembershipInvoice.refunded_at < high)
                .group_by(MembershipInvoice.currency))
    parts = sa.union_all(sales, paid, refunded).subquery("by_product")
    rows = db.session.execute(
        db.select(parts.c.currency, sa.func.sum(parts.c.sales_gross), sa.func.sum(parts.c.sales_refunded),
                  sa.func.sum(parts.c.members_gross), sa.func.sum(parts.c.members_refunded))
        .group_by(parts.c.currency).order_by(parts.c.currency))
    table_rows = []
    for currency, sales_gross, sales_refunded, members_gross, members_refunded in rows:
        one_off_net = int(sales_gross or 0) - int(sales_refunded or 0)
        members_net = int(members_gross or 0) - int(members_refunded or 0)
        table_rows.append({"currency": currency, "one_off": one_off_net, "memberships": members_net,
                           "memberships_gross": int(members_gross or 0), "memberships_refunded": int(members_refunded or 0),
                           "total": one_off_net + members_net,
                           "share": _rate(members_net, one_off_net + members_net) if one_off_net + members_net > 0 else None})
    return Table("products", "Revenue: memberships beside one-off sales", [
        Column("currency", "Currency"), Column("one_off", "One-off sales (net)", "money"),
        Column("memberships_gross", "Membership invoices paid", "money"),
        Column("memberships_refunded", "Membership refunds", "money"),
        Column("memberships", "Memberships (net)", "money"), Column("total", "Total (net)", "money"),
        Column("share", "Memberships' share", "percent"),
    ], table_rows)


def membership_totals(start: date, end: date, mrr: Table | None = None) -> list[dict]:
    """The headline figures per currency: members and paying members at the end of the range, MRR."""
    mrr = mrr or members_and_mrr(start, end)
    totals_by_currency: dict[str, dict] = {}
    for row in mrr.rows:
        entry = totals_by_currency.setdefault(row["currency"], {"currency": row["currency"], "members": 0,
                                                                "trialing": 0, "mrr": 0})
        for key in ("members", "trialing", "mrr"):
            entry[key] += row[key]
    return [totals_by_currency[c] for c in sorted(totals_by_currency)]


TABLES = {
    "revenue": revenue_by_day,
    "conversion": conversion_by_course,
    "bundles": sales_by_bundle,
    "failures": failures_by_reason,
    "coupons": coupon_usage,
    "enrollments": enrollments_by_course_and_source,
    "completion": completion_by_course,
    "referrals": referrals_by_referrer,
    "mrr": members_and_mrr,
    "members": members_by_day,
    "products": revenue_by_product,
}


def report(start: date, end: date) -> dict:
    """Everything the analytics page shows."""
    tables = {name: build(start, end) for name, build in TABLES.items()}
    return {"start": start, "end": end, "totals": totals(start, end), "tables": tables,
            "charts": revenue_charts(tables["revenue"], start, end),
            "membership_totals": membership_totals(start, end, tables["mrr"])}


def table(name: str, start: date, end: date) -> Table | None:
    build = TABLES.get(name)
    return build(start, end) if build else None


def csv_rows(table: Table) -> list[list[str]]:
    """Header + rows as text; money in major units with the currency beside it (exact decimals)."""
    out = [[column.label for column in table.columns]]
    for row in table.rows:
        line = []
        for column in table.columns:
            value = row[column.key]
            if column.kind == "money":
                value = str(to_major(value, row["currency"]))
            elif value is None:
                value = ""
            line.append(str(value))
        out.append(line)
    return out


def revenue_charts(revenue: Table, start: date, end: date, width: int = 720, height: int = 220) -> list[dict]:
    """Bar-chart geometry of net revenue per day, one chart per currency (the SVG is drawn by
    the template). Negative days (refunds above sales) go below the zero line."""
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    by_currency: dict[str, dict[date, int]] = {}
    for row in revenue.rows:
        by_currency.setdefault(row["currency"], {})[row["day"]] = row["net"]
    charts = []
    pad_left, pad_bottom, pad_top = 64, 24, 12
    plot_w, plot_h = width - pad_left - 8, height - pad_bottom - pad_top
    for currency, values in sorted(by_currency.items()):
        series = [values.get(day, 0) for day in days]
        top, bottom = max(max(series), 0), min(min(series), 0)
        span = (top - bottom) or 1
        zero_y = pad_top + plot_h * top / span
        slot = plot_w / len(days)
        bars = []
        for i, (day, value) in enumerate(zip(days, series)):
            bar_h = plot_h * abs(value) / span
            bars.append({"x": round(pad_left + i * slot + slot * 0.1, 2), "w": round(max(slot * 0.8, 1), 2),
                         "y": round(zero_y - bar_h if value >= 0 else zero_y, 2), "h": round(bar_h, 2),
                         "day": day, "value": value})
        step = max(1, len(days) // 6)
        labels = [{"x": round(pad_left + i * slot + slot / 2, 2), "text": day.strftime("%b %d")}
                  for i, day in enumerate(days) if i % step == 0]
        charts.append({"currency": currency, "width": width, "height": height, "bars": bars, "labels": labels,
                       "zero_y": round(zero_y, 2), "top": top, "bottom": bottom, "pad_left": pad_left,
                       "pad_top": pad_top, "plot_bottom": pad_top + plot_h, "total": sum(series)})
    return charts

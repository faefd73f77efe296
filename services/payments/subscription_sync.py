"""Stripe Billing → our subscriptions and membership invoices (issue 16).

The one writer of `subscriptions` and `membership_invoices`: the webhook (customer.subscription.*,
invoice.*, invoice_payment.paid, charges, refunds and disputes of invoice payments), the
success page and reconcile all come through here, in the caller's transaction (flush, never
commit), each on the subscription's row lock.

Stripe sends events in no particular order and more than once; each carries a snapshot of the
object at the event's `created` time. A snapshot is applied only when it is not older than
the one applied last (`Subscription.stripe_event_at`; `_newer`): a later event always wins.
Two events of the same second (a renewal and its failure, a card update and the retry it
pays) are ordered by the subscription's own progress: the later period first; then the
event's `previous_attributes.status` (an event whose previous status is ours follows ours;
ours, whose previous status is theirs, follows theirs); what that cannot tell is asked of
Stripe (a retrieval is its state now), and only when Stripe cannot answer, by the status
order incomplete → trialing → active → past_due → unpaid → canceled. A canceled subscription
never comes back (Stripe never revives one). So every order of one subscription's events
ends in the state Stripe holds.

An event may name a subscription we have not seen yet (its `customer.subscription.created`
is late): the subscription's metadata (set by our checkout, copied by Stripe onto the
subscription and its invoices) names the learner, the membership and the payment session, so
the row is created from whichever event comes first.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy.exc import IntegrityError

from extensions import db
from models import (FINAL_SUBSCRIPTION_STATUSES, BillingInterval, EnrollmentType, Enrollment, Membership,
                    MembershipInvoice, PaymentSession, PaymentSessionStatus as S, StripeEvent, Subscription,
                    SubscriptionStatus as St, User, WebhookEventStatus)
from services import audit, notifications, observability
from services.coupons import redemptions
from services.learning import enrollments
from services.payments import disputes, payment_states, refund_policy, stripe_gateway
from services.payments.stripe_objects import field, object_id

# Within one second, a subscription only moves forward along this order.
_RANK = {St.INCOMPLETE: 0, St.TRIALING: 1, St.ACTIVE: 2, St.PAST_DUE: 3, St.UNPAID: 4, St.PAUSED: 4,
         St.CANCELED: 5, St.INCOMPLETE_EXPIRED: 5}
# An invoice only moves forward along this order (paid, void and uncollectible are final).
_INVOICE_RANK = {"draft": 0, "open": 1, "paid": 2, "uncollectible": 2, "void": 2}
GRANTING = (St.ACTIVE, St.TRIALING)
DISPUTE_OPEN = frozenset({"warning_needs_response", "warning_under_review", "needs_response", "under_review",
                          "appeal_needs_response", "appeal_under_review"})
DISPUTE_REASON = "a payment dispute is open"
LOST_REASON = "a payment dispute was lost"
REFUND_REASON = "its payment was refunded"


def stripe_time(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=timezone.utc) if value else None


# --- finding and creating the row ---------------------------------------------------------

def locked(stripe_subscription_id: str | None) -> Subscription | None:
    if not stripe_subscription_id or not isinstance(stripe_subscription_id, str) or len(stripe_subscription_id) > 255:
        return None
    return db.session.execute(
        db.select(Subscription).where(Subscription.stripe_subscription_id == stripe_subscription_id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)).scalar_one_or_none()


def _owner(metadata: Any) -> tuple[User, Membership, PaymentSession | None] | None:
    """The learner, membership and checkout our metadata names; None when it is not ours."""
    payment_session_id = field(metadata, "payment_session_id")
    payment_session = db.session.get(PaymentSession, payment_session_id) \
        if isinstance(payment_session_id, str) and len(payment_session_id) <= 40 else None
    if payment_session is not None and payment_session.membership_id is not None:
        if str(field(metadata, "user_id") or payment_session.user_id) != str(payment_session.user_id):
            return None  # our id in somebody else's subscription
        return payment_session.user, payment_session.membership, payment_session
    user_id, membership_id = field(metadata, "user_id"), field(metadata, "membership_id")
    if not (str(user_id or "").isdigit() and str(membership_id or "").isdigit()):
        return None
    user, membership = db.session.get(User, int(user_id)), db.session.get(Membership, int(membership_id))
    return (user, membership, None) if user is not None and membership is not None else None


def _find_or_create(stripe_id: str | None, metadata: Any, *, customer: str | None,
                    interval: BillingInterval | None = None) -> tuple[Subscription | None, bool]:
    """(the locked row, whether it was made now); (None, False) when the subscription is not ours."""
    row = locked(stripe_id)
    if row is not None:
        return row, False
    owner = _owner(metadata)
    if owner is None or not stripe_id:
        return None, False
    user, membership, payment_session = owner
    interval = interval or (payment_session.billing_interval if payment_session else None) or BillingInterval.MONTH
    row = Subscription(user_id=user.id, membership_id=membership.id, stripe_subscription_id=stripe_id,
                       stripe_customer_id=customer, interval=interval, status=St.INCOMPLETE,
                       amount=membership.price_for(interval) or 0, currency=membership.currency,
                       payment_session_id=payment_session.id if payment_session else None)
    try:
        with db.session.begin_nested():  # a racing delivery of another event may insert it first
            db.session.add(row)
    except IntegrityError:
        return locked(stripe_id), False
    return row, True


# --- subscriptions ------------------------------------------------------------------------

def apply_subscription(obj: Any, *, event_at: datetime | None, event_id: str | None, now: datetime,
                       source: str = "webhook", previous: Any = None) -> Subscription | None:
    """Apply Stripe's subscription object (an event's snapshot, or a retrieval when `event_at` is
    None; `previous`: the event's previous_attributes); None when it is not one of ours. Older
    snapshots than the last applied are ignored."""
    item = _item(obj)
    interval = _interval(item)
    row, made = _find_or_create(field(obj, "id"), field(obj, "metadata"),
                                customer=object_id(field(obj, "customer")), interval=interval)
    if row is None:
        return None
    _tick(row, event_at)
    status = _status(field(obj, "status"))
    if status is None:
        return row
    if not made:
        order = _newer(row, obj, status, item, event_at, previous)
        if order is None:  # the same second, another status, nothing tells which is later: ask Stripe
            fresh = _retrieved(row)
            if fresh is not None and _status(field(fresh, "status")) is not None:
                obj, previous = fresh, None
                item = _item(obj)
                interval, status = _interval(item), _status(field(obj, "status"))
            elif _RANK[status] < _RANK[row.status]:
                return row
        elif not order:
            return row
    before = row.status if not made else None
    was_open = row.gives_access(now) if not made else False
    _write(row, obj, status, item, interval, event_at, event_id, now)
    db.session.flush()
    _after_change(row, before, was_open, now, source)
    return row


def _item(obj: Any) -> Any:
    data = field(field(obj, "items"), "data") or []
    return data[0] if data else None


def _interval(item: Any) -> BillingInterval | None:
    recurring = field(field(item, "price"), "recurring") or field(item, "plan")
    name = (field(recurring, "interval") or "").upper()
    return BillingInterval.__members__.get(name)


def _status(value: Any) -> St | None:
    return St.__members__.get(str(value or "").upper())


def _period_end(obj: Any, item: Any) -> datetime | None:
    return stripe_time(field(item, "current_period_end") or field(obj, "current_period_end"))


def _newer(row: Subscription, obj: Any, status: St, item: Any, event_at: datetime | None,
           previous: Any = None) -> bool | None:
    """Whether this snapshot may replace the row's (see the module docstring); None when only
    Stripe can tell (the same second, another status, nothing to order them by)."""
    if row.status in FINAL_SUBSCRIPTION_STATUSES and status not in FINAL_SUBSCRIPTION_STATUSES:
        return False  # Stripe never revives a canceled subscription: this snapshot is older
    if event_at is None or row.stripe_event_at is None:
        return True  # a retrieval is Stripe's state now; a row made from an invoice has no snapshot yet
    if event_at != row.stripe_event_at:
        return event_at > row.stripe_event_at
    old_end, new_end = row.current_period_end, _period_end(obj, item)
    if old_end and new_end and new_end != old_end:
        return new_end > old_end
    if status == row.status:
        return True
    before = _status(field(previous, "status"))
    if before == row.status:
        return True  # this event is the change out of our state
    if _previous_status_of(row.stripe_event_id) == status:
        return False  # ours is the change out of theirs
    return None


def _previous_status_of(event_id: str | None) -> St | None:
    """The status the event last applied says the subscription had before it (from the inbox)."""
    if not event_id:
        return None
    payload = db.session.scalar(db.select(StripeEvent.payload).where(StripeEvent.id == event_id))
    return _status(field(field(field(payload, "data"), "previous_attributes"), "status"))


def _retrieved(row: Subscription) -> Any:
    try:
        return stripe_gateway.retrieve_subscription(row.stripe_subscription_id)
    except stripe_gateway.StripeGatewayError:
        return None



def _write(row: Subscription, obj: Any, status: St, item: Any, interval: BillingInterval | None,
           event_at: datetime | None, event_id: str | None, now: datetime) -> None:
    row.status = status
    if interval is not None:
        row.interval = interval
    price = field(item, "price")
    if field(price, "unit_amount") is not None:
        row.amount = int(field(price, "unit_amount"))
    if field(obj, "currency") or field(price, "currency"):
        row.currency = (field(obj, "currency") or field(price, "currency")).upper()
    row.current_period_start = stripe_time(field(item, "current_period_start") or field(obj, "current_period_start"))
    row.current_period_end = _period_end(obj, item)
    row.cancel_at_period_end = bool(field(obj, "cancel_at_period_end"))
    row.cancel_at = stripe_time(field(obj, "cancel_at"))
    row.canceled_at = stripe_time(field(obj, "canceled_at"))
    row.ended_at = stripe_time(field(obj, "ended_at"))
    row.trial_start = stripe_time(field(obj, "trial_start"))
    row.trial_end = stripe_time(field(obj, "trial_end"))
    row.started_at = stripe_time(field(obj, "start_date")) or row.started_at
    row.latest_invoice_id = object_id(field(obj, "latest_invoice")) or row.latest_invoice_id
    row.stripe_customer_id = object_id(field(obj, "customer")) or row.stripe_customer_id
    if status == St.PAST_DUE:
        # Stripe time of the first failure (the grace period counts from it; Subscription.gives_access).
        row.past_due_since = row.past_due_since or event_at or row.stripe_clock_at or now
    else:
        row.past_due_since = None
    if event_at is not None:
        row.stripe_event_at = max(filter(None, (row.stripe_event_at, event_at)))
        row.stripe_event_id = event_id


def _tick(row: Subscription, event_at: datetime | None) -> None:
    """The newest Stripe time seen for this subscription (its grace period reads it)."""
    if event_at is not None and (row.stripe_clock_at is None or event_at > row.stripe_clock_at):
        row.stripe_clock_at = event_at


def _after_change(row: Subscription, before: St | None, was_open: bool, now: datetime, source: str) -> None:
    """What a change of status means: courses reopened, mails, the audit trail."""
    if before != row.status:
        audit.record("subscription.status_changed", row, actor_label=source,
                     before={"status": before.value if before else None}, after={"status": row.status.value})
        observability.after_commit("membership.subscription_status", subscription_id=row.id, user_id=row.user_id,
                                   membership_id=row.membership_id, status=row.status.value)
    if row.status in GRANTING:
        attach_enrollments(row, now)
        notifications.membership_welcome(row)
    elif row.status in FINAL_SUBSCRIPTION_STATUSES or row.status == St.UNPAID:
        if before in (St.ACTIVE, St.TRIALING, St.PAST_DUE) or was_open:
            notifications.membership_ended(row)


def attach_enrollments(subscription: Subscription, now: datetime) -> int:
    """Point the learner's SUBSCRIPTION enrollments in courses this subscription opens at it,
    unless another subscription still opens them: resubscribing brings them (and their
    progress) back. Returns how many changed."""
    rows = db.session.scalars(db.select(Enrollment).where(
        Enrollment.user_id == subscription.user_id, Enrollment.type == EnrollmentType.SUBSCRIPTION)).all()
    changed = 0
    for enrollment in rows:
        if enrollment.subscription_id == subscription.id or not subscription.opens(enrollment.course, now):
            continue
        current = enrollment.subscription
        if current is not None and current.opens(enrollment.course, now):
            continue
        enrollment.subscription_id = subscription.id
        changed += 1
    if changed:
        db.session.flush()
    return changed


def trial_will_end(obj: Any, *, event_at: datetime | None, event_id: str | None, now: datetime,
                   previous: Any = None) -> Subscription | None:
    """customer.subscription.trial_will_end: the snapshot, and the "trial ends in 3 days" mail."""
    row = apply_subscription(obj, event_at=event_at, event_id=event_id, now=now, previous=previous)
    if row is not None and row.status == St.TRIALING and row.trial_end is not None:
        notifications.membership_trial_ending(row)
    return row


# --- checkout in subscription mode --------------------------------------------------------

def apply_checkout_session(payment_session: PaymentSession, stripe_session: Any, *, now: datetime,
                           source: str) -> PaymentSession:
    """A membership's Checkout Session (locked payment session): complete → COMPLETED, the
    coupon redeemed, the subscription linked (made from Stripe's object when expanded, else
    from our metadata until its own events fill it); expired → EXPIRED, the coupon released."""
    status = field(stripe_session, "status")
    if status == "expired":
        if payment_states.move(payment_session, S.EXPIRED, now=now, reason=f"expired on Stripe ({source})",
                               actor_label=source) or payment_session.status in (S.EXPIRED, S.CANCELLED):
            redemptions.release_for(payment_session, now, "checkout session expired")
        return payment_session
    if status != "complete":
        return payment_session
    payment_session.stripe_session_id = payment_session.stripe_session_id or field(stripe_session, "id")
    customer = object_id(field(stripe_session, "customer"))
    payment_session.stripe_customer_id = customer or payment_session.stripe_customer_id
    subscription_obj = field(stripe_session, "subscription")
    stripe_id = object_id(subscription_obj)
    problem = _mismatch(payment_session, stripe_session)
    if problem:
        _flag(payment_session, problem, source)
        return payment_session
    if isinstance(subscription_obj, str) or subscription_obj is None:
        row, _ = _find_or_create(stripe_id, {"payment_session_id": payment_session.id}, customer=customer,
                                 interval=payment_session.billing_interval)
    else:
        row = apply_subscription(subscription_obj, event_at=None, event_id=None, now=now, source=source)
    if row is not None and row.payment_session_id is None:
        row.payment_session_id = payment_session.id
    if payment_session.status == S.COMPLETED:
        return payment_session
    extra = dict(payment_session.extra or {})
    extra["stripe_subscription_id"] = stripe_id
    payment_session.extra = extra
    if payment_states.move(payment_session, S.COMPLETED, now=now, reason=f"subscribed ({source})", actor_label=source):
        redemptions.redeem_for(payment_session, None, now)
        audit.record("payment_session.subscribed", payment_session, actor_label=source,
                     message=f"subscription {stripe_id}")
    db.session.flush()
    return payment_session


def _mismatch(payment_session: PaymentSession, stripe_session: Any) -> str | None:
    if field(stripe_session, "mode") not in (None, "subscription"):
        return f"unexpected mode {field(stripe_session, 'mode')}"
    expected = payment_session.charged_at_checkout
    amount_total = field(stripe_session, "amount_total")
    if amount_total is not None and amount_total != expected:
        return f"Stripe's first invoice is {amount_total} but we quoted {expected}"
    currency = (field(stripe_session, "currency") or payment_session.currency).upper()
    if currency != payment_session.currency.upper():
        return f"Stripe charged in {currency} but we quoted in {payment_session.currency}"
    user_id = field(field(stripe_session, "metadata"), "user_id")
    if user_id is not None and str(user_id) != str(payment_session.user_id):
        return "the session's metadata names another learner"
    return None


def _flag(payment_session: PaymentSession, reason: str, source: str) -> None:
    if not payment_session.needs_review:
        payment_session.needs_review = True
        payment_session.review_reason = reason[:500]
        audit.record("payment_session.flagged", payment_session, actor_label=source, message=reason[:500])


# --- invoices -----------------------------------------------------------------------------

def _invoice_subscription_id(invoice: Any) -> str | None:
    details = field(field(invoice, "parent"), "subscription_details")
    return object_id(field(details, "subscription")) or object_id(field(invoice, "subscription"))


def _invoice_metadata(invoice: Any) -> Any:
    return field(field(field(invoice, "parent"), "subscription_details"), "metadata")


def apply_invoice(invoice: Any, *, event_type: str, event_at: datetime | None, event_id: str | None,
                  now: datetime) -> Subscription | None:
    """invoice.*: the invoice row (never moved back to an earlier status), a failed renewal's
    time and mail. None when the invoice is not of one of our subscriptions."""
    stripe_id = _invoice_subscription_id(invoice)
    row, _ = _find_or_create(stripe_id, _invoice_metadata(invoice), customer=object_id(field(invoice, "customer")))
    if row is None:
        return None
    _tick(row, event_at)
    record = _invoice_row(field(invoice, "id"), row)
    status = field(invoice, "status") or record.status
    stale = record.stripe_event_at is not None and event_at is not None and (
        event_at < record.stripe_event_at
        or (event_at == record.stripe_event_at and _INVOICE_RANK.get(status, 0) < _INVOICE_RANK.get(record.status, 0)))
    if not stale and not (_INVOICE_RANK.get(record.status, 0) == 2 and _INVOICE_RANK.get(status, 0) < 2):
        record.status = status
        record.billing_reason = field(invoice, "billing_reason") or record.billing_reason
        record.currency = (field(invoice, "currency") or record.currency or row.currency).upper()
        record.amount_due = int(field(invoice, "amount_due") or 0)
        record.amount_paid = int(field(invoice, "amount_paid") or 0)
        record.discount_amount = sum(int(field(d, "amount") or 0) for d in field(invoice, "total_discount_amounts") or [])
        record.attempt_count = int(field(invoice, "attempt_count") or 0)
        record.hosted_invoice_url = field(invoice, "hosted_invoice_url") or record.hosted_invoice_url
        line = (field(field(invoice, "lines"), "data") or [None])[0]
        period = field(line, "period")
        record.period_start = stripe_time(field(period, "start") or field(invoice, "period_start"))
        record.period_end = stripe_time(field(period, "end") or field(invoice, "period_end"))
        paid_at = field(field(invoice, "status_transitions"), "paid_at")
        if status == "paid":
            record.paid_at = stripe_time(paid_at) or record.paid_at or event_at or now
        for payment in field(field(invoice, "payments"), "data") or []:
            _remember_intent(record, object_id(field(field(payment, "payment"), "payment_intent")), now)
        if event_at is not None:
            record.stripe_event_at = event_at
        if _pays_again_after_refund(row, record):
            row.access_revoked_at = row.access_revoked_reason = None
            audit.record("subscription.access_restored", row, actor_label="stripe",
                         message=f"invoice {record.id} paid after a refund had closed the courses")
    if event_type == "invoice.payment_failed":
        record.failed_at = record.failed_at or event_at or now
        if record.status != "paid":  # a late failure of an invoice a retry has paid asks for no new card
            notifications.membership_payment_failed(row, record)
    db.session.flush()
    return row


def _pays_again_after_refund(subscription: Subscription, record: MembershipInvoice) -> bool:
    """A refund made outside the app (Stripe's Dashboard) closes the courses but the subscription
    keeps renewing: a later period paid and not refunded means the learner has paid again."""
    if subscription.access_revoked_reason != REFUND_REASON or record.status != "paid" \
            or record.amount_paid <= 0 or record.amount_refunded or record.period_start is None:
        return False
    refunded_up_to = db.session.scalar(db.select(db.func.max(MembershipInvoice.period_start)).where(
        MembershipInvoice.subscription_id == subscription.id, MembershipInvoice.amount_refunded > 0))
    return refunded_up_to is not None and record.period_start > refunded_up_to


def _invoice_row(invoice_id: str, subscription: Subscription) -> MembershipInvoice:
    record = db.session.execute(db.select(MembershipInvoice).where(MembershipInvoice.id == invoice_id)
                                .with_for_update(key_share=True)).scalar_one_or_none()
    if record is None:
        record = MembershipInvoice(id=invoice_id, subscription_id=subscription.id, status="draft",
                                   currency=subscription.currency)
        db.session.add(record)
        db.session.flush()
    return record


def apply_invoice_payment(payment: Any, *, event_at: datetime | None, now: datetime) -> Subscription | None:
    """invoice_payment.paid: which PaymentIntent paid the invoice (refunds and disputes name it)."""
    invoice_id = object_id(field(payment, "invoice"))
    record = db.session.get(MembershipInvoice, invoice_id) if invoice_id else None
    if record is None:
        try:  # the invoice's own events are late: ask Stripe, so the payment is not lost
            invoice = stripe_gateway.retrieve_invoice(invoice_id) if invoice_id else None
        except stripe_gateway.StripeGatewayError:
            invoice = None
        if invoice is None or apply_invoice(invoice, event_type="invoice.retrieved", event_at=None, event_id=None,
                                            now=now) is None:
            return None
        record = db.session.get(MembershipInvoice, invoice_id)
    _remember_intent(record, object_id(field(field(payment, "payment"), "payment_intent")), now)
    return record.subscription


def _remember_intent(record: MembershipInvoice, intent_id: str | None, now: datetime) -> None:
    if intent_id and record.payment_intent_id != intent_id:
        record.payment_intent_id = intent_id
        db.session.flush()
        adopt_orphans(record, now=now)


def invoice_for_payment(*, payment_intent_id: str | None = None, charge_id: str | None = None) -> MembershipInvoice | None:
    if payment_intent_id:
        found = db.session.scalar(db.select(MembershipInvoice).where(
            MembershipInvoice.payment_intent_id == payment_intent_id))
        if found is not None:
            return found
    if charge_id:
        return db.session.scalar(db.select(MembershipInvoice).where(MembershipInvoice.charge_id == charge_id))
    return None


# --- refunds and disputes of invoice payments -----------------------------------------------

def apply_charge(charge: Any, *, event_at: datetime | None, now: datetime) -> Subscription | None:
    """charge.* of an invoice payment: its charge id, and Stripe's cumulative refunded amount."""
    record = invoice_for_payment(payment_intent_id=object_id(field(charge, "payment_intent")),
                                 charge_id=field(charge, "id"))
    if record is None:
        return None
    record.charge_id = record.charge_id or field(charge, "id")
    refunded = int(field(charge, "amount_refunded") or 0)
    if refunded > record.amount_refunded:
        record_refund(record, refunded, at=event_at or now, now=now)
    db.session.flush()
    return record.subscription


def apply_refund(refund: Any, *, event_at: datetime | None, now: datetime) -> Subscription | None:
    """refund.* of an invoice payment: a succeeded refund counts (charge.refunded carries the total)."""
    record = invoice_for_payment(payment_intent_id=object_id(field(refund, "payment_intent")),
                                 charge_id=object_id(field(refund, "charge")))
    if record is None:
        return None
    return record.subscription


def refund_removes_access(invoice: MembershipInvoice, refunded_total: int) -> bool:
    """Whether the invoice refunded up to `refunded_total` closes the subscription's courses: it is
    the subscription's current invoice and the refund policy courses follow says such a refund
    (full or partial) removes access. The webhook applies it; the staff confirmation words it."""
    full = refunded_total >= invoice.amount_paid > 0
    current = invoice.subscription.latest_invoice_id in (None, invoice.id)
    return current and refund_policy.revokes_access(refund_policy.terms_for_policy(), full=full)


def record_refund(record: MembershipInvoice, refunded_total: int, *, at: datetime, now: datetime) -> None:
    """The invoice's refunded total rose to `refunded_total`: the refund policy decides access
    (the rule courses follow, refund_policy.revokes_access), for the subscription's current invoice."""
    if refunded_total <= record.amount_refunded:
        return
    record.amount_refunded = refunded_total
    record.refunded_at = at
    subscription = record.subscription
    if refund_removes_access(record, record.amount_refunded) and subscription.access_revoked_at is None:
        subscription.access_revoked_at = now
        subscription.access_revoked_reason = REFUND_REASON
        audit.record("subscription.access_revoked", subscription, actor_label="stripe",
                     message=f"invoice {record.id} refunded ({record.amount_refunded} {record.currency})")
    db.session.flush()


def apply_dispute(dispute: Any, *, event_at: datetime | None, now: datetime) -> Subscription | None:
    """charge.dispute.* of an invoice payment: open → courses closed; lost → closed for good;
    won / closed without loss → open again (unless something else closed them)."""
    record = invoice_for_payment(payment_intent_id=object_id(field(dispute, "payment_intent")),
                                 charge_id=object_id(field(dispute, "charge")))
    if record is None:
        return None
    status = str(field(dispute, "status") or "")[:40]
    if record.dispute_status == "lost" and status != "lost" and status not in disputes.APPEALS:
        return record.subscription  # a late event: a lost dispute stays lost
    if record.dispute_status in disputes.CLOSED and status not in disputes.CLOSED and status not in disputes.APPEALS:
        return record.subscription  # a late "open" report after the close (as for courses, disputes.py)
    record.dispute_id, record.dispute_status = field(dispute, "id"), status
    subscription = record.subscription
    if status == "lost":
        subscription.access_revoked_at = subscription.access_revoked_at or now
        subscription.access_revoked_reason = LOST_REASON
    elif status in DISPUTE_OPEN:
        if subscription.access_revoked_at is None:
            subscription.access_revoked_at, subscription.access_revoked_reason = now, DISPUTE_REASON
    elif subscription.access_revoked_reason == DISPUTE_REASON:
        subscription.access_revoked_at = subscription.access_revoked_reason = None
    audit.record("subscription.dispute", subscription, actor_label="stripe", message=f"{record.id}: {status}")
    db.session.flush()
    return subscription


ORPHAN_TYPES = ("charge.refunded", "charge.succeeded", "refund.created", "refund.updated",
                "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed")


def adopt_orphans(record: MembershipInvoice, *, now: datetime) -> int:
    """Apply charge, refund and dispute events of this invoice's PaymentIntent that arrived
    before we knew it (stored as IGNORED), oldest first."""
    from services.payments import stripe_events  # stripe_events dispatches to this module
    referenced = StripeEvent.payload["data"]["object"]["payment_intent"].as_string()
    rows = db.session.scalars(
        db.select(StripeEvent).where(StripeEvent.type.in_(ORPHAN_TYPES),
                                     StripeEvent.status == WebhookEventStatus.IGNORED,
                                     referenced == record.payment_intent_id)
        .order_by(StripeEvent.stripe_created_at, StripeEvent.received_at)
        .with_for_update().execution_options(populate_existing=True)).all()
    for row in rows:
        if stripe_events.apply_stored(row, now=now):
            row.status = WebhookEventStatus.PROCESSED
            row.processed_at = now
            row.last_error = "applied once its invoice payment was known"
    return len(rows)

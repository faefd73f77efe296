"""Subscribing to a membership: Stripe Checkout in subscription mode (issue 16).

A subscription checkout is a payment session like a course's (course_id NULL, membership_id and
billing_interval set), so coupon reservations, open-session reuse, expiry, cancel, the success
page, reminders and the staff lists work for it unchanged. Two steps, as for courses
(services/payments/checkout.py):

1. `prepare(...)` — database only; the caller commits. Under a lock on the learner's row it
   refuses a second subscription (a TRIALING / ACTIVE / PAST_DUE one to the same membership:
   ALREADY_SUBSCRIBED), a checkout still being processed, a retired membership or an interval
   it is not sold at; quotes the first payment with the coupon (pricing.quote_membership: every
   coupon rule, the use held during checkout by a reservation); reuses the learner's open
   session for the same membership, interval and price; or makes a PENDING payment session
   with the exact Stripe parameters (`mode=subscription`, recurring `price_data`, the
   learner's Stripe Customer, `subscription_data.trial_period_days`, our discount as a
   once-only Stripe coupon, and metadata naming the session, learner and membership, which
   Stripe copies onto the subscription and its invoices).
2. `checkout.open_stripe_session(...)` — the same step 2 as courses: the learner's other open
   session for the membership is expired on Stripe first, so two tabs can never both subscribe.

`start(...)` runs both, committing with the caller's `commit`.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from extensions import db
from models import BillingInterval, Membership, PaymentSession, PaymentSessionStatus as S, User, new_public_id
from services import observability
from services.coupons import pricing, redemptions
from services.errors import Conflict, DomainError
from services.memberships import subscriptions
from services.payments import checkout, stripe_coupons
from services.payments.checkout import CheckoutStart


def open_sessions(user: User, membership: Membership, statuses=(S.PENDING, S.PROCESSING)) -> list[PaymentSession]:
    """The learner's checkouts of `membership` in `statuses`, newest first."""
    return list(db.session.scalars(
        db.select(PaymentSession).where(PaymentSession.user_id == user.id,
                                        PaymentSession.membership_id == membership.id,
                                        PaymentSession.status.in_(statuses))
        .order_by(PaymentSession.created_at.desc())))


def already_subscribed(user: User, membership: Membership):
    """Conflict ALREADY_SUBSCRIBED (409) when the learner holds a live subscription to it."""
    live = subscriptions.live_for(user, membership)
    if live is not None:
        raise Conflict(f"You are already a member of {membership.name}. Manage your membership from your dashboard.",
                       code="ALREADY_SUBSCRIBED")


def prepare(user: User, membership: Membership, interval: BillingInterval, coupon_code: str | None, *,
            success_url: str, cancel_url: str, now: datetime,
            session_minutes: int = checkout.DEFAULT_SESSION_MINUTES) -> CheckoutStart:
    """Step 1 (database only; the caller commits). See the module docstring."""
    if checkout.SESSION_ID_PLACEHOLDER not in success_url:
        raise ValueError("success_url must contain the literal {CHECKOUT_SESSION_ID}")
    if not membership.is_active:
        raise Conflict(f"{membership.name} is no longer open to new members.", code="MEMBERSHIP_RETIRED")
    if membership.price_for(interval) is None:
        raise DomainError(f"{membership.name} is not sold per {interval.stripe}.", code="INTERVAL_NOT_OFFERED",
                          field="interval", status=422)
    checkout.lock_user(user)  # first: the learner's other tabs queue here, and see what this one did
    already_subscribed(user, membership)
    pending = open_sessions(user, membership)
    if any(payment_session.status == S.PROCESSING for payment_session in pending):
        raise Conflict("Your payment for this membership is still being processed.", code="PAYMENT_PROCESSING")
    quote = pricing.quote_membership(membership, interval, coupon_code, user, now)
    if not quote.is_valid:
        raise DomainError(quote.refusal_message, code=quote.refusal_code, field="coupon_code", status=422)
    for payment_session in pending:
        if _reusable(payment_session, quote, now):
            return CheckoutStart("REDIRECT", payment_session=payment_session, redirect_url=payment_session.checkout_url)
    return CheckoutStart("REDIRECT", payment_session=_new_payment_session(
        user, membership, quote, success_url, cancel_url, now, session_minutes))


def _reusable(payment_session: PaymentSession, quote: pricing.Quote, now: datetime) -> bool:
    return (payment_session.billing_interval == quote.interval and checkout.reusable(payment_session, quote, now))


def _new_payment_session(user: User, membership: Membership, quote: pricing.Quote, success_url: str,
                         cancel_url: str, now: datetime, session_minutes: int) -> PaymentSession:
    expires_at = (now + timedelta(minutes=session_minutes)).replace(microsecond=0)
    coupon = redemptions.lock(quote.coupon_id) if quote.coupon_id is not None else None  # the coupon first
    payment_session = PaymentSession(
        id=new_public_id("ps"), course_id=None, membership_id=membership.id, billing_interval=quote.interval,
        user_id=user.id, status=S.PENDING, amount=quote.original_amount, currency=quote.currency,
        discount_amount=quote.discount_amount, final_amount=quote.final_amount, coupon_id=quote.coupon_id,
        coupon_code=quote.coupon_code, created_at=now, expires_at=expires_at)
    payment_session.membership = membership
    payment_session.user = user
    payment_session.extra = {"stripe_params": stripe_params(payment_session, user, membership, success_url,
                                                            cancel_url, expires_at),
                             "session_minutes": session_minutes}
    db.session.add(payment_session)
    db.session.flush()
    if coupon is not None:
        redemptions.reserve(coupon, payment_session, now, expires_at + checkout.RESERVATION_GRACE)
    observability.after_commit("checkout.session_created", payment_session_id=payment_session.id, user_id=user.id,
                               membership_id=membership.id, amount=payment_session.final_amount,
                               currency=payment_session.currency, coupon_code=payment_session.coupon_code)
    return payment_session


def stripe_params(payment_session: PaymentSession, user: User, membership: Membership, success_url: str,
                  cancel_url: str, expires_at: datetime) -> dict:
    """The Checkout Session's parameters: the recurring list price, our first-payment discount as a
    once-only Stripe coupon (stripe_coupons.py), the trial, and metadata Stripe copies onto the
    subscription and its invoices (subscription_sync finds the learner and membership by it)."""
    metadata = {"payment_session_id": payment_session.id, "membership_id": str(membership.id),
                "membership_slug": membership.slug[:500], "user_id": str(user.id),
                "interval": payment_session.billing_interval.stripe, "coupon_code": payment_session.coupon_code or ""}
    discounts = stripe_coupons.discounts_param(payment_session)
    subscription_data: dict = {"metadata": metadata, "description": membership.name[:500]}
    if membership.trial_days:
        subscription_data["trial_period_days"] = membership.trial_days
    return {
        "mode": "subscription",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": payment_session.currency.lower(), "unit_amount": payment_session.amount,
            "recurring": {"interval": payment_session.billing_interval.stripe},
            "product_data": {"name": membership.name[:250]}}}],
        **({"discounts": discounts} if discounts else {}),
        "subscription_data": subscription_data,
        "client_reference_id": payment_session.id,
        "success_url": success_url,
        "cancel_url": cancel_url.replace(checkout.PAYMENT_SESSION_PLACEHOLDER, payment_session.id),
        "expires_at": int(expires_at.timestamp()),
        "metadata": metadata,
    }


def start(user: User, membership: Membership, interval: BillingInterval, coupon_code: str | None, *,
          success_url: str, cancel_url: str, now: datetime, commit: Callable[[], None]) -> CheckoutStart:
    """Both steps, committing between them with the caller's `commit` (e.g. db.session.commit).

    Kinds: "REDIRECT" (redirect_url: Stripe's page) or "ALREADY_SUBSCRIBED" (paid in another tab
    meanwhile). On CheckoutUnavailable the FAILED state is committed before the error propagates."""
    started = prepare(user, membership, interval, coupon_code, success_url=success_url, cancel_url=cancel_url,
                      now=now)
    return checkout.open_prepared(started, now=now, commit=commit)

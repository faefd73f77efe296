"""The Stripe Coupon that shows our discount on Stripe's checkout page (issue 17, "Buying").

We compute every discount ourselves (pricing.quote: percentages rounded once, caps, minimum
charge). Stripe only has to *show* it: the Checkout Session gets the list price as its line
item and `discounts=[{coupon}]` naming a Stripe Coupon whose `amount_off` is exactly our
discount, in the session's currency, so the hosted page reads "SAVE20 −$20.00" and Stripe's
`amount_total` (list price − amount_off) is our final amount to the minor unit, in every
currency (no percentage is ever re-rounded by Stripe).

One Stripe Coupon per (our coupon, its code, currency, amount), created the first time a
checkout needs it and reused afterwards; `stripe_coupons` remembers which exist. Its id is
derived from those four values, so it is known before the Stripe call (it is part of the
stored, idempotent Checkout parameters), two checkouts racing to create it make one (the
second is refused with "already exists", which means done), and a renamed code gets a new
coupon named after it. If Stripe no longer has it (deleted in the dashboard, a restarted
sandbox, other keys), `recreate` makes it again.
"""
from __future__ import annotations

import hashlib
import logging

from sqlalchemy.dialects import postgresql, sqlite

from extensions import db
from models import PaymentSession, StripeCoupon, utcnow
from services.payments import stripe_gateway

log = logging.getLogger(__name__)


def stripe_coupon_id(coupon_id: int, code: str, currency: str, amount_off: int) -> str:
    """The Stripe Coupon id for a discount: readable, and unique to the four values."""
    digest = hashlib.sha256(f"{coupon_id}:{code}:{currency.upper()}:{amount_off}".encode()).hexdigest()[:10]
    return f"learnpay-{coupon_id}-{amount_off}{currency.lower()}-{digest}"


def discounts_param(payment_session: PaymentSession) -> list[dict]:
    """Checkout's `discounts` for a payment session: [] when nothing is taken off."""
    if not payment_session.discount_amount or payment_session.coupon_id is None:
        return []
    return [{"coupon": _id_of(payment_session)}]


def _id_of(payment_session: PaymentSession) -> str:
    return stripe_coupon_id(payment_session.coupon_id, payment_session.coupon_code or "",
                            payment_session.currency, payment_session.discount_amount)


def ensure(payment_session: PaymentSession) -> None:
    """Make sure Stripe has the coupon the session's parameters name (one SELECT when it was
    made before; otherwise a Stripe call and an INSERT). Raises StripeGatewayError."""
    if not discounts_param(payment_session):
        return
    known = db.session.scalar(db.select(StripeCoupon.id).where(
        StripeCoupon.stripe_coupon_id == _id_of(payment_session)))
    if known is None:
        _create_on_stripe(payment_session)
        _remember(payment_session)


def recreate(payment_session: PaymentSession) -> None:
    """Stripe said "No such coupon" for a coupon we had made: make it again."""
    log.warning("Stripe no longer has coupon %s: creating it again", _id_of(payment_session))
    _create_on_stripe(payment_session)
    _remember(payment_session)


def _create_on_stripe(payment_session: PaymentSession) -> None:
    coupon_id, code = _id_of(payment_session), (payment_session.coupon_code or "")[:40]
    currency, amount = payment_session.currency.lower(), payment_session.discount_amount
    try:
        stripe_gateway.create_coupon({
            "id": coupon_id, "name": code, "amount_off": amount, "currency": currency, "duration": "once",
            "metadata": {"learnpay_coupon_id": str(payment_session.coupon_id), "code": code}})
    except stripe_gateway.StripeGatewayError as error:
        if error.code != "already_exists":
            raise
        # Made by a racing checkout (or before the row was saved): the same, unless someone
        # made a coupon of that id by hand.
        existing = stripe_gateway.retrieve_coupon(coupon_id)
        if (existing["amount_off"], existing["currency"]) != (amount, currency):
            raise stripe_gateway.StripeGatewayError(stripe_gateway.MSG_GENERIC, "coupon_mismatch") from error


def _remember(payment_session: PaymentSession) -> None:
    """Record the coupon as made; a racing checkout's row for the same coupon wins quietly."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    db.session.execute(insert(StripeCoupon).values(
        coupon_id=payment_session.coupon_id, code=payment_session.coupon_code or "",
        currency=payment_session.currency.upper(), amount_off=payment_session.discount_amount,
        stripe_coupon_id=_id_of(payment_session), created_at=utcnow()).on_conflict_do_nothing())

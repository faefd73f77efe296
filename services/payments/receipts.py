"""Receipts: a learner's purchases and refunds, and the card a payment was made with.

A receipt is a paid payment session (COMPLETED or REFUNDED) seen by its learner or by staff;
to anyone else it does not exist (NotFound, so a 404 tells nothing). The card (brand and last
4) is kept on the payment session (`extra["card"]`) when Stripe shows it: on the Checkout
Session expanded with its PaymentIntent's latest charge (`payment_method_details.card`),
which the success page and reconcile fetch; webhook payloads do not expand it, so the worker
asks Stripe once when it sends the receipt (`card_from_stripe`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import joinedload

from extensions import db
from models import PAID_STATUSES, PaymentSession, RefundMovement, User
from services.errors import NotFound
from services.payments import stripe_gateway
from services.payments.stripe_objects import field

_PAYMENT_ID = re.compile(r"ps_[A-Za-z0-9_-]{1,37}")


@dataclass(frozen=True)
class Purchase:
    payment: PaymentSession
    refunds: list[RefundMovement]

    @property
    def card(self) -> dict | None:
        return card_of(self.payment)


def purchases(user: User) -> list[Purchase]:
    """The learner's paid payments, newest first, each with its refunds (two statements)."""
    payments = list(db.session.scalars(
        db.select(PaymentSession).where(PaymentSession.user_id == user.id, PaymentSession.status.in_(PAID_STATUSES))
        .options(joinedload(PaymentSession.course), joinedload(PaymentSession.bundle))
        .order_by(PaymentSession.completed_at.desc())))
    movements: dict[str, list[RefundMovement]] = {}
    if payments:
        for movement in db.session.scalars(
                db.select(RefundMovement).where(RefundMovement.payment_session_id.in_([p.id for p in payments]))
                .order_by(RefundMovement.occurred_at)):
            movements.setdefault(movement.payment_session_id, []).append(movement)
    return [Purchase(payment, movements.get(payment.id, [])) for payment in payments]


def receipt(payment_session_id: str, viewer: User) -> Purchase:
    """One paid payment, for its learner or staff; NotFound for anyone else or anything else."""
    payment = None
    if _PAYMENT_ID.fullmatch(payment_session_id or ""):
        payment = db.session.get(PaymentSession, payment_session_id)
    if payment is None or payment.status not in PAID_STATUSES or not (viewer.is_staff or payment.user_id == viewer.id):
        raise NotFound("We could not find that receipt.", code="RECEIPT_NOT_FOUND")
    refunds = list(db.session.scalars(db.select(RefundMovement).where(RefundMovement.payment_session_id == payment.id)
                                      .order_by(RefundMovement.occurred_at)))
    return Purchase(payment, refunds)


def card_of(payment: PaymentSession) -> dict | None:
    card = (payment.extra or {}).get("card")
    return card if isinstance(card, dict) and card.get("last4") else None


def card_details(stripe_session) -> dict | None:
    """{"brand", "last4"} from a Checkout Session whose PaymentIntent and latest charge are
    expanded; None when Stripe does not show a card (not expanded, or another method)."""
    charge = field(field(stripe_session, "payment_intent"), "latest_charge")
    card = field(field(charge, "payment_method_details"), "card")
    last4 = field(card, "last4")
    if not isinstance(last4, str) or not last4:
        return None
    brand = field(card, "brand")
    return {"brand": brand if isinstance(brand, str) else None, "last4": last4[-4:]}


def remember_card(payment: PaymentSession, stripe_session) -> None:
    """Keep the card Stripe shows on this session (when it shows one)."""
    card = card_details(stripe_session)
    if card and card_of(payment) != card:
        payment.extra = {**(payment.extra or {}), "card": card}


def record_card(payment_session_id: str, card: dict) -> None:
    """Keep a card learned after the fact (the worker, sending the receipt); row-locked, as
    refunds and disputes write the same JSON column."""
    payment = db.session.execute(
        db.select(PaymentSession).where(PaymentSession.id == payment_session_id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)).scalar_one_or_none()
    if payment is not None and card_of(payment) is None:
        payment.extra = {**(payment.extra or {}), "card": card}


def card_from_stripe(stripe_session_id: str | None) -> dict | None:
    """Ask Stripe for the card of a Checkout Session (a network call: no transaction may be
    open). None when Stripe cannot say."""
    if not stripe_session_id:
        return None
    try:
        return card_details(stripe_gateway.retrieve_checkout_session(stripe_session_id))
    except stripe_gateway.StripeGatewayError:
        return None

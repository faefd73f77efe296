"""A member's billing on Stripe: the Customer Portal, and staff refunds of membership invoices (issue 16).

- `portal_url`: a Stripe Customer Portal session for the learner's Stripe Customer (cancel at
  period end, resume, change card, invoices); what the learner does there reaches us as
  `customer.subscription.updated` / `deleted` events.
- `refund_invoice`: refund all or part of a paid invoice through Stripe, on its PaymentIntent.
  Access follows the refund policy courses follow (`refund_policy.revokes_access`, read in
  subscription_sync.record_refund, which the `charge.refunded` webhook calls too); when it
  removes access, the subscription is also canceled on Stripe so it is not charged again.
"""
from __future__ import annotations

from datetime import datetime

from extensions import db
from models import FINAL_SUBSCRIPTION_STATUSES, MembershipInvoice, Subscription, User
from services import audit
from services.errors import Conflict, DomainError, NotFound
from services.payments import stripe_gateway, subscription_sync


def portal_url(user: User, return_url: str) -> str:
    """A one-use Customer Portal URL for the learner; Conflict NO_BILLING_ACCOUNT (409) when the
    learner never subscribed (no Stripe Customer), DomainError STRIPE_UNAVAILABLE (503) on failure."""
    customer = user.stripe_customer_id or db.session.scalar(
        db.select(Subscription.stripe_customer_id).where(Subscription.user_id == user.id,
                                                         Subscription.stripe_customer_id.is_not(None))
        .order_by(Subscription.created_at.desc()).limit(1))
    if not customer:
        raise Conflict("You have no membership billing to manage yet.", code="NO_BILLING_ACCOUNT")
    try:
        return stripe_gateway.create_billing_portal_session(customer, return_url)["url"]
    except stripe_gateway.StripeGatewayError as error:
        raise DomainError(error.user_message, code="STRIPE_UNAVAILABLE", status=503) from error


def get_invoice(invoice_id: str | None) -> MembershipInvoice:
    invoice = db.session.get(MembershipInvoice, invoice_id) if invoice_id and len(invoice_id) <= 255 else None
    if invoice is None:
        raise NotFound("We could not find that invoice.", code="INVOICE_NOT_FOUND")
    return invoice


def refundable_amount(invoice: MembershipInvoice) -> int:
    """What may still be refunded: paid, less refunded (0 unless the invoice was paid by card)."""
    if invoice.status != "paid" or not invoice.payment_intent_id:
        return 0
    return max(0, invoice.amount_paid - invoice.amount_refunded)


def check_refund(invoice: MembershipInvoice, amount: int | None) -> int:
    """The amount a refund of `amount` (None = all that is left) would give back; DomainError if none."""
    left = refundable_amount(invoice)
    if left <= 0:
        raise Conflict("This invoice has nothing left to refund.", code="NOTHING_TO_REFUND")
    if amount is None:
        return left
    if amount <= 0 or amount > left:
        raise DomainError("Enter an amount between 1 and what is left to refund.", code="INVALID_REFUND_AMOUNT",
                          field="amount", status=422)
    return amount


def refund_invoice(invoice: MembershipInvoice, *, amount: int | None, actor: User, now: datetime,
                   reason: str = "requested_by_customer") -> MembershipInvoice:
    """Refund `amount` (None = all that is left) of a paid membership invoice (caller commits).

    Idempotent per state: the Stripe key names the invoice, the amount refunded so far and this
    amount, so a retried request gets Stripe's same refund back. Access follows the refund
    policy; a subscription whose access the refund removes is canceled on Stripe too."""
    invoice = db.session.execute(db.select(MembershipInvoice).where(MembershipInvoice.id == invoice.id)
                                 .with_for_update(key_share=True).execution_options(populate_existing=True)
                                 ).scalar_one()
    amount = check_refund(invoice, amount)
    key = f"learnpay-invoice-refund-{invoice.id}-{invoice.amount_refunded}-{amount}"
    try:
        stripe_gateway.create_refund(invoice.payment_intent_id, amount, reason, key,
                                     metadata={"invoice_id": invoice.id, "staff_user_id": str(actor.id)})
    except stripe_gateway.StripeGatewayError as error:
        raise DomainError(error.user_message, code="REFUND_FAILED", status=502) from error
    subscription_sync.record_refund(invoice, invoice.amount_refunded + amount, at=now, now=now)
    audit.record("membership_invoice.refunded", invoice.subscription, actor=actor,
                 message=f"invoice {invoice.id}: {amount} {invoice.currency}")
    subscription = invoice.subscription
    if subscription.access_revoked_at is not None and subscription.status not in FINAL_SUBSCRIPTION_STATUSES:
        try:
            stripe_gateway.cancel_subscription(subscription.stripe_subscription_id)
        except stripe_gateway.StripeGatewayError:
            audit.record("subscription.cancel_failed", subscription, actor=actor,
                         message="refunded, but Stripe could not cancel it: cancel it in Stripe's dashboard")
    return invoice


def cancel_now(subscription: Subscription, *, actor: User, now: datetime) -> Subscription:
    """Staff: cancel a subscription on Stripe at once (the deleted event updates the row)."""
    if subscription.status in FINAL_SUBSCRIPTION_STATUSES:
        return subscription
    try:
        stripe_subscription = stripe_gateway.cancel_subscription(subscription.stripe_subscription_id)
    except stripe_gateway.StripeGatewayError as error:
        raise DomainError(error.user_message, code="STRIPE_UNAVAILABLE", status=503) from error
    audit.record("subscription.canceled_by_staff", subscription, actor=actor)
    return subscription_sync.apply_subscription(stripe_subscription, event_at=None, event_id=None, now=now,
                                                source=actor.email) or subscription

"""What refunding a membership invoice does, in words, for the staff confirmation (issue 16).

The access part is `subscription_sync.refund_removes_access`, the rule the webhook's
`record_refund` applies (the subscription's current invoice, and the refund policy courses follow,
full or partial as for a course). The refund itself is `subscription_billing.refund_invoice`.
"""
from __future__ import annotations

from models import MembershipInvoice
from services.money import format_money
from services.payments import subscription_billing, subscription_sync


def describe_refund(invoice: MembershipInvoice, amount: int | None) -> str:
    """"Refund $29.00 of $29.00 to a@b.c (invoice in_…); access to All-Access's courses ends."."""
    amount = subscription_billing.check_refund(invoice, amount)
    subscription = invoice.subscription
    name = subscription.membership.name
    if subscription.access_revoked_at is not None:
        access = f"access to {name}'s courses is already removed"
    elif subscription_sync.refund_removes_access(invoice, invoice.amount_refunded + amount):
        access = f"access to {name}'s courses ends and the subscription is canceled on Stripe"
    else:
        access = "access is kept"
    return (f"Refund {format_money(amount, invoice.currency)} of {format_money(invoice.amount_paid, invoice.currency)} "
            f"to {subscription.user.email} (invoice {invoice.id}); {access}.")

"""What refunding a membership invoice does, in words, for the staff confirmation (issue 16).

`removes_access` is the rule: a refund takes the subscription's courses away when it refunds the
subscription's current invoice and the refund policy courses follow says such a refund removes
access (`refund_policy.revokes_access`, full or partial as for a course). The refund itself is
`subscription_billing.refund_invoice`; the webhook's `subscription_sync.record_refund` applies it.
"""
from __future__ import annotations

from models import MembershipInvoice
from services.money import format_money
from services.payments import refund_policy, subscription_billing


def removes_access(invoice: MembershipInvoice, refunded_total: int) -> bool:
    """Whether the invoice refunded up to `refunded_total` closes the subscription's courses."""
    subscription = invoice.subscription
    full = refunded_total >= invoice.amount_paid > 0
    current = subscription.latest_invoice_id in (None, invoice.id)
    return current and refund_policy.revokes_access(refund_policy.terms_for_policy(), full=full)


def describe_refund(invoice: MembershipInvoice, amount: int | None) -> str:
    """"Refund $29.00 of $29.00 to a@b.c (invoice in_…); access to All-Access's courses ends."."""
    amount = subscription_billing.check_refund(invoice, amount)
    subscription = invoice.subscription
    name = subscription.membership.name
    if subscription.access_revoked_at is not None:
        access = f"access to {name}'s courses is already removed"
    elif removes_access(invoice, invoice.amount_refunded + amount):
        access = f"access to {name}'s courses ends and the subscription is canceled on Stripe"
    else:
        access = "access is kept"
    return (f"Refund {format_money(amount, invoice.currency)} of {format_money(invoice.amount_paid, invoice.currency)} "
            f"to {subscription.user.email} (invoice {invoice.id}); {access}.")

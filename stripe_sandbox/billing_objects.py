"""Builders for Stripe Billing objects (API 2026-10-28.endive shapes): payment methods,
subscriptions and their items, invoices and their lines, invoice payments, discounts and
Customer Portal sessions.

As in `objects.py`, every key exists on the same object in Stripe's published examples
(tests/data/stripe_fixtures.json); values we do not simulate are null or empty. Since API
2025-03-31 the billing period lives on the subscription ITEM (`current_period_start/end`),
an invoice names its subscription in `parent.subscription_details.subscription`, and its
payments are `invoice_payment` objects (no `invoice.payment_intent` / `invoice.charge`).
"""
from __future__ import annotations

from .objects import new_id


def payment_method(*, number: str, customer: str | None, email: str | None, name: str | None,
                   created: int) -> dict:
    brand = {"4": "visa", "5": "mastercard", "3": "amex"}.get(number[:1], "unknown")
    return {
        "id": new_id("pm_"),
        "object": "payment_method",
        "allow_redisplay": "always",
        "billing_details": {"address": None, "email": email, "name": name or None, "phone": None,
                            "tax_id": None},
        "card": {"brand": brand, "checks": {"address_line1_check": None, "address_postal_code_check": None,
                                            "cvc_check": "pass"},
                 "country": "US", "display_brand": brand, "exp_month": 12, "exp_year": 2034,
                 "fingerprint": new_id("", 16), "funding": "credit", "generated_from": None,
                 "last4": number[-4:], "networks": {"available": [brand], "preferred": None},
                 "three_d_secure_usage": {"supported": True}, "wallet": None, "regulated_status": None},
        "created": created,
        "customer": customer,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def recurring_price(price_data: dict, created: int, price_id: str | None = None,
                    product_id: str | None = None) -> dict:
    recurring = price_data.get("recurring")
    return {
        "id": price_id or new_id("price_"),
        "object": "price",
        "active": False,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": price_data["currency"],
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": product_id or new_id("prod_", 14),
        "recurring": None if recurring is None else {
            "interval": recurring["interval"], "interval_count": recurring.get("interval_count", 1),
            "meter": None, "trial_period_days": None, "usage_type": "licensed"},
        "tax_behavior": price_data.get("tax_behavior", "unspecified"),
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time" if recurring is None else "recurring",
        "unit_amount": price_data["unit_amount"],
        "unit_amount_decimal": str(price_data["unit_amount"]),
    }


def plan(price: dict) -> dict:
    """The legacy `plan` mirror of a recurring price, still present on subscription items."""
    return {
        "id": price["id"], "object": "plan", "active": price["active"], "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"], "billing_scheme": "per_unit",
        "created": price["created"], "currency": price["currency"],
        "interval": price["recurring"]["interval"], "interval_count": price["recurring"]["interval_count"],
        "livemode": False, "metadata": {}, "meter": None, "nickname": None, "product": price["product"],
        "tiers_mode": None, "transform_usage": None, "trial_period_days": None, "usage_type": "licensed",
    }


def subscription_item(*, subscription_id: str, price: dict, quantity: int, created: int,
                      period_start: int, period_end: int) -> dict:
    return {
        "id": new_id("si_", 14),
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": created,
        "current_period_end": period_end,
        "current_period_start": period_start,
        "discounts": [],
        "metadata": {},
        "plan": plan(price),
        "price": price,
        "quantity": quantity,
        "subscription": subscription_id,
        "tax_rates": [],
    }


def subscription(*, customer: str, currency: str, created: int, status: str, metadata: dict,
                 description: str | None, trial_start: int | None, trial_end: int | None,
                 default_payment_method: str | None, discounts: list[str]) -> dict:
    subscription_id = new_id("sub_")
    return {
        "id": subscription_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": trial_end or created,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"type": "classic"},
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": created,
        "currency": currency,
        "customer": customer,
        "days_until_due": None,
        "default_payment_method": default_payment_method,
        "default_source": None,
        "default_tax_rates": [],
        "description": description,
        "discounts": list(discounts),
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {"object": "list", "data": [], "has_more": False,
                  "url": f"/v1/subscription_items?subscription={subscription_id}"},
        "latest_invoice": None,
        "livemode": False,
        "metadata": dict(metadata),
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                             "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": created,
        "status": status,
        "test_clock": None,
        "transfer_data": None,
        "trial_end": trial_end,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": trial_start,
    }


def discount(*, coupon_obj: dict, customer: str, subscription_id: str | None, session_id: str | None,
             start: int, end: int | None) -> dict:
    return {
        "id": new_id("di_"),
        "object": "discount",
        "checkout_session": session_id,
        "customer": customer,
        "end": end,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": None,
        "source": {"coupon": coupon_obj, "type": "coupon"},
        "start": start,
        "subscription": subscription_id,
        "subscription_item": None,
    }


def invoice_line(*, invoice_id: str, subscription: dict, item: dict, amount: int, discount_amounts: list[dict],
                 period_start: int, period_end: int, description: str) -> dict:
    return {
        "id": new_id("il_"),
        "object": "line_item",
        "amount": amount,
        "currency": subscription["currency"],
        "description": description,
        "discount_amounts": discount_amounts,
        "discountable": True,
        "discounts": [d["discount"] for d in discount_amounts],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None, "proration": False, "proration_details": {"credited_items": None},
                "subscription": subscription["id"], "subscription_item": item["id"]},
            "type": "subscription_item_details",
        },
        "period": {"end": period_end, "start": period_start},
        "pretax_credit_amounts": [],
        "pricing": {"type": "price_details", "unit_amount_decimal": item["price"]["unit_amount_decimal"]},
        "quantity": item["quantity"],
        "subscription": subscription["id"],
        "taxes": [],
    }


def invoice(*, customer: dict, subscription: dict, billing_reason: str, created: int,
            period_start: int, period_end: int, number: str, hosted_url: str) -> dict:
    invoice_id = new_id("in_")
    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": None,
        "account_tax_ids": None,
        "amount_due": 0,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None, "provider": None,
                          "status": None},
        "automatically_finalizes_at": None,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": subscription["currency"],
        "custom_fields": None,
        "customer": customer["id"],
        "customer_address": None,
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": hosted_url.replace("{id}", invoice_id),
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {"object": "list", "data": [], "has_more": False, "url": f"/v1/invoices/{invoice_id}/lines"},
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": number,
        "on_behalf_of": None,
        "parent": {
            "quote_details": None,
            "subscription_details": {"metadata": dict(subscription["metadata"]),
                                     "subscription": subscription["id"]},
            "type": "subscription_details",
        },
        "payment_settings": {"default_mandate": None, "payment_method_options": None,
                             "payment_method_types": None},
        "period_end": period_end,
        "period_start": period_start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None, "paid_at": None,
                               "voided_at": None},
        "subtotal": 0,
        "subtotal_excluding_tax": 0,
        "test_clock": None,
        "total": 0,
        "total_discount_amounts": [],
        "total_excluding_tax": 0,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": created,
    }


def invoice_payment(*, invoice_obj: dict, intent_id: str, created: int) -> dict:
    return {
        "id": new_id("inpay_"),
        "object": "invoice_payment",
        "amount_paid": None,
        "amount_requested": invoice_obj["amount_remaining"],
        "created": created,
        "currency": invoice_obj["currency"],
        "invoice": invoice_obj["id"],
        "is_default": True,
        "livemode": False,
        "payment": {"payment_intent": intent_id, "type": "payment_intent"},
        "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }


def portal_session(*, customer: str, return_url: str | None, locale: str | None, created: int,
                   base_url: str) -> dict:
    session_id = new_id("bps_")
    return {
        "id": session_id,
        "object": "billing_portal.session",
        "configuration": "bpc_sandbox_default",
        "created": created,
        "customer": customer,
        "flow": None,
        "livemode": False,
        "locale": locale,
        "on_behalf_of": None,
        "return_url": return_url,
        "url": f"{base_url}/p/session/{session_id}",
    }

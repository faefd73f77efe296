"""Builders for Stripe-shaped objects (plain dicts, the JSON the API returns).

Every key used here exists on the same object in Stripe's published examples
(`shared/stripe/fixtures3.json`, the subset we use copied to `tests/data/stripe_fixtures.json`); the tests hold us to that. Values we do not simulate are
null or empty, as Stripe shows them when a feature is not in use.
"""
from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def checkout_session(*, session_id: str, params: dict, amount: int, currency: str,
                     created: int, expires_at: int, url: str, discount: int = 0,
                     coupon_id: str | None = None) -> dict:
    """`amount` is the line items' subtotal; `discount` what the coupon `coupon_id` takes off it."""
    total = amount - discount
    return {
        "id": session_id,
        "object": "checkout.session",
        "after_expiration": None,
        "allow_promotion_codes": params.get("allow_promotion_codes"),
        "amount_subtotal": amount,
        "amount_total": total,
        "automatic_tax": {"enabled": False, "liability": None, "status": None, "provider": None},
        "billing_address_collection": params.get("billing_address_collection"),
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "client_secret": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": currency,
        "custom_fields": [],
        "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                        "terms_of_service_acceptance": None},
        "customer": params.get("customer"),
        "customer_creation": "if_required",
        "customer_details": None,
        "customer_email": params.get("customer_email"),
        "discounts": [{"coupon": coupon_id, "promotion_code": None}] if coupon_id else [],
        "expires_at": expires_at,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": params.get("locale"),
        "metadata": dict(params.get("metadata", {})),
        "mode": params["mode"],
        # Since API 2022-08-01 Checkout creates the PaymentIntent only when the customer
        # confirms, so a fresh session has none.
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_options": {},
        "payment_method_types": list(params.get("payment_method_types") or ["card", "sepa_debit"]),
        "payment_status": "unpaid" if total > 0 else "no_payment_required",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": params.get("submit_type"),
        "subscription": None,
        "success_url": params.get("success_url"),
        "total_details": {"amount_discount": discount, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": params.get("ui_mode", "hosted_page"),
        "url": url,
        "adaptive_pricing": {"enabled": False},
    }


def customer(*, params: dict, created: int) -> dict:
    """A Customer as `POST /v1/customers` returns it (no address, balance or invoices in use)."""
    return {
        "id": new_id("cus_", 14),
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": params.get("description"),
        "discount": None,
        "email": params.get("email"),
        "invoice_prefix": new_id("", 8).upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                             "rendering_options": None},
        "livemode": False,
        "metadata": dict(params.get("metadata", {})),
        "name": params.get("name"),
        "next_invoice_sequence": 1,
        "phone": params.get("phone"),
        "preferred_locales": list(params.get("preferred_locales") or []),
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def customer_details(email: str | None, name: str | None) -> dict:
    return {
        "address": None,
        "email": email,
        "name": name or None,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def line_item(item: dict, created: int, discount: int = 0) -> dict:
    price_data = item["price_data"]
    quantity = item.get("quantity", 1)
    product = price_data.get("product_data", {})
    amount = price_data["unit_amount"] * quantity
    return {
        "id": new_id("li_"),
        "object": "item",
        "amount_discount": discount,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount - discount,
        "currency": price_data["currency"],
        "description": product.get("name"),
        "price": {
            "id": new_id("price_"),
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
            "product": new_id("prod_", 14),
            "recurring": None,
            "tax_behavior": price_data.get("tax_behavior", "unspecified"),
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "one_time",
            "unit_amount": price_data["unit_amount"],
            "unit_amount_decimal": str(price_data["unit_amount"]),
        },
        "quantity": quantity,
    }


def coupon(*, params: dict, created: int) -> dict:
    """A Coupon as `POST /v1/coupons` returns it (applies_to and currency_options not in use)."""
    return {
        "id": params.get("id") or new_id("", 8),
        "object": "coupon",
        "amount_off": params.get("amount_off"),
        "created": created,
        "currency": params.get("currency"),
        "duration": params.get("duration", "once"),
        "duration_in_months": params.get("duration_in_months"),
        "livemode": False,
        "max_redemptions": params.get("max_redemptions"),
        "metadata": dict(params.get("metadata", {})),
        "name": params.get("name"),
        "percent_off": params.get("percent_off"),
        "redeem_by": params.get("redeem_by"),
        "times_redeemed": 0,
        "valid": True,
    }


def session_discount(*, coupon_obj: dict, session: dict, created: int) -> dict:
    """The Discount a coupon makes on a Checkout Session (shown in `total_details.breakdown`)."""
    return {
        "id": "di_" + session["id"][-24:],  # one per session and coupon: stable across reads
        "object": "discount",
        "checkout_session": session["id"],
        "customer": session["customer"],
        "end": None,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": None,
        "start": created,
        "subscription": None,
        "subscription_item": None,
        "source": {"coupon": coupon_obj, "type": "coupon"},
    }


def payment_intent(*, amount: int, currency: str, created: int, metadata: dict,
                   description: str | None, receipt_email: str | None,
                   method_type: str) -> dict:
    intent_id = new_id("pi_")
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{intent_id}_secret_{new_id('', 25)}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": None,
        "description": description,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": dict(metadata),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_options": {},
        "payment_method_types": [method_type],
        "processing": None,
        "receipt_email": receipt_email,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }


def payment_error(*, message: str, code: str, decline_code: str | None, charge_id: str | None,
                  method_type: str) -> dict:
    """`last_payment_error` as Stripe fills it (the shared example shows only `type`)."""
    return {
        "type": "card_error" if method_type == "card" else "invalid_request_error",
        "code": code,
        "decline_code": decline_code,
        "message": message,
        "charge": charge_id,
        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        "payment_method": None,
    }


def charge(*, intent: dict, created: int, status: str, email: str | None, name: str | None,
           method: dict) -> dict:
    succeeded = status == "succeeded"
    return {
        "id": new_id("ch_"),
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"] if succeeded else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": new_id("txn_") if succeeded else None,
        "billing_details": {"address": None, "email": email, "name": name or None, "phone": None,
                            "tax_id": None},
        "calculated_statement_descriptor": "LEARNPAY",
        "captured": succeeded,
        "created": created,
        "currency": intent["currency"],
        "customer": intent["customer"],
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": None,
        "paid": succeeded,
        "payment_intent": intent["id"],
        "payment_method": new_id("pm_"),
        "payment_method_details": method,
        "receipt_email": intent["receipt_email"],
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }


def outcome(*, approved: bool, reason: str | None = None, message: str | None = None) -> dict:
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "approved_by_network" if approved else "declined_by_network",
        "reason": reason,
        "seller_message": "Payment complete." if approved else message,
        "type": "authorized" if approved else "issuer_declined",
    }


def card_details(number: str) -> dict:
    brand = {"4": "visa", "5": "mastercard", "3": "amex"}.get(number[:1], "unknown")
    return {"type": "card", "card": {"brand": brand, "country": "US", "exp_month": 12,
                                     "exp_year": 2034, "funding": "credit", "last4": number[-4:],
                                     "network": brand}}


def sepa_details(iban: str) -> dict:
    return {"type": "sepa_debit", "sepa_debit": {"bank_code": iban[4:9], "country": iban[:2],
                                                 "last4": iban[-4:]}}


def refund(*, charge_obj: dict, amount: int, reason: str | None, metadata: dict, created: int) -> dict:
    return {
        "id": new_id("re_"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn_"),
        "charge": charge_obj["id"],
        "created": created,
        "currency": charge_obj["currency"],
        "destination_details": None,
        "metadata": dict(metadata),
        "payment_intent": charge_obj["payment_intent"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def dispute(*, charge_obj: dict, amount: int, reason: str, created: int) -> dict:
    return {
        "id": new_id("dp_"),
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge_obj["id"],
        "created": created,
        "currency": charge_obj["currency"],
        "evidence_details": {"due_by": created + 7 * 86400, "has_evidence": False,
                             "past_due": False, "submission_count": 0},
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": charge_obj["payment_intent"],
        "reason": reason,
        "status": "needs_response",
    }


def event(*, event_type: str, data_object: dict, created: int, api_version: str,
          request_id: str | None, idempotency_key: str | None, pending_webhooks: int,
          previous_attributes: dict | None = None) -> dict:
    data = {"object": data_object}
    if previous_attributes is not None:  # *.updated events: the old values of what changed
        data["previous_attributes"] = previous_attributes
    return {
        "id": new_id("evt_"),
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": pending_webhooks,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }

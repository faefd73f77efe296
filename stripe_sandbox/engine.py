"""What happens to money in the sandbox: sessions, payments, refunds, disputes, and the
events each change emits. Every public method runs under the store lock.
"""
from __future__ import annotations

import copy
import json
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from . import billing_objects, objects
from .billing import Billing
from .errors import ApiError, ParamError, not_found
from .state import Store
from .webhooks import Deliverer

# Stripe's minimum charge per currency, in minor units (see STRIPE-NOTES.md, "Money").
MINIMUM_CHARGE = {
    "usd": 50, "eur": 50, "aud": 50, "brl": 50, "cad": 50, "chf": 50, "inr": 50, "nzd": 50,
    "sgd": 50, "gbp": 30, "jpy": 50, "hkd": 400, "dkk": 250, "nok": 300, "sek": 300,
    "mxn": 1000, "thb": 1000, "czk": 1500, "huf": 17500, "aed": 200, "myr": 200, "pln": 200,
    "ron": 200, "bgn": 100,
}
MAXIMUM_AMOUNT = 99_999_999

# Stripe's test cards: number -> (code, decline_code, message); None means approved.
TEST_CARDS: dict[str, tuple[str, str | None, str] | None] = {
    "4242424242424242": None,
    "5555555555554444": None,
    "4000000000000002": ("card_declined", "generic_decline", "Your card was declined."),
    "4000000000009995": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "4000000000009987": ("card_declined", "lost_card", "Your card was declined."),
    "4000000000000069": ("expired_card", "expired_card", "Your card has expired."),
    "4000000000000127": ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    "4000000000000119": ("processing_error", "processing_error",
                         "An error occurred while processing your card. Try again in a little bit."),
    # Attaches to a customer (subscriptions, portal), but every charge fails.
    "4000000000000341": ("card_declined", "generic_decline", "Your card was declined."),
}
LIVE_CARD = ("card_declined", "test_mode_live_card",
             "Your card was declined. Your request was in test mode, but used a non test (live) card.")
# Stripe's SEPA Direct Debit test IBANs: the payment is processing, then settles later.
TEST_IBANS = {"AT611904300234573201": "succeeded", "AT861904300235473202": "failed"}


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return len(digits) >= 12 and total % 10 == 0


def _coupon_valid(coupon: dict, now: int) -> bool:
    """Stripe's `valid`: not past redeem_by and not redeemed max_redemptions times."""
    if coupon["redeem_by"] is not None and now >= coupon["redeem_by"]:
        return False
    return coupon["max_redemptions"] is None or coupon["times_redeemed"] < coupon["max_redemptions"]


def _discount(coupon: dict, subtotal: int) -> int:
    """What a coupon takes off a subtotal: amount_off up to the subtotal, or percent_off rounded
    to the nearest minor unit (halves up)."""
    if coupon["amount_off"] is not None:
        return min(coupon["amount_off"], subtotal)
    exact = Decimal(subtotal) * Decimal(str(coupon["percent_off"])) / 100
    return min(subtotal, int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def _split_discount(discount: int, amounts: list[int]) -> list[int]:
    """A session's discount spread over its line items in proportion; the last takes the rest."""
    subtotal = sum(amounts)
    shares = [discount * amount // subtotal if subtotal else 0 for amount in amounts[:-1]]
    return shares + [discount - sum(shares)] if amounts else []


class Engine:
    def __init__(self, store: Store, deliverer: Deliverer, settings: dict) -> None:
        self.store = store
        self.deliverer = deliverer
        self.settings = settings
        self.billing = Billing(self)
        self.last_base_url: str | None = None

    def base_url(self) -> str:
        """Where the sandbox's pages are (hosted invoices, portal), also from background ticks."""
        return (self.settings.get("PUBLIC_BASE_URL") or self.last_base_url
                or f"http://127.0.0.1:{self.settings.get('PORT', 5001)}").rstrip("/")

    # --- events -------------------------------------------------------------------------
    def emit(self, event_type: str, obj: dict, request: dict | None = None,
             previous_attributes: dict | None = None) -> dict:
        with self.store.lock:
            targets = list(self.settings["WEBHOOK_URLS"])
            event = objects.event(
                event_type=event_type, data_object=copy.deepcopy(obj), created=self.store.now(),
                api_version=self.settings["API_VERSION"],
                request_id=(request or {}).get("id"), idempotency_key=(request or {}).get("idempotency_key"),
                pending_webhooks=len(targets),
                previous_attributes=copy.deepcopy(previous_attributes) if previous_attributes is not None else None)
            self.store.events[event["id"]] = event
            self.store.event_targets[event["id"]] = targets
            # Serialised once: every attempt and resend sends the same bytes, re-signed.
            self.store.event_bodies[event["id"]] = json.dumps(event, indent=2)
            self.deliverer.enqueue(event["id"], targets)
            return event

    # --- look-ups -----------------------------------------------------------------------
    def get(self, kind: str, object_id: str, param: str = "id") -> dict:
        table = {"customer": self.store.customers, "coupon": self.store.coupons,
                 "checkout.session": self.store.sessions, "payment_intent": self.store.payment_intents,
                 "charge": self.store.charges, "refund": self.store.refunds,
                 "dispute": self.store.disputes, "event": self.store.events,
                 "subscription": self.store.subscriptions, "invoice": self.store.invoices,
                 "invoice_payment": self.store.invoice_payments, "PaymentMethod": self.store.payment_methods,
                 "billing_portal.session": self.store.portal_sessions,
                 "test_helpers.test_clock": self.store.test_clocks}[kind]
        if object_id not in table:
            raise not_found(kind, object_id, param)
        return table[object_id]

    # --- customers ----------------------------------------------------------------------
    def create_customer(self, params: dict) -> dict:
        with self.store.lock:
            email = params.get("email")
            if email is not None and "@" not in email:
                raise ParamError(f"Invalid email address: {email}", "email", "email_invalid")
            if "test_clock" in params:
                self.get("test_helpers.test_clock", params["test_clock"], "test_clock")
            customer = objects.customer(params=params, created=self.store.now())
            customer["test_clock"] = params.get("test_clock")
            self.store.customers[customer["id"]] = customer
            self.emit("customer.created", customer)
            return customer

    # --- checkout sessions --------------------------------------------------------------
    def create_session(self, params: dict, base_url: str, request: dict | None) -> dict:
        with self.store.lock:
            mode = params["mode"]
            if mode not in ("payment", "subscription"):
                raise ParamError("The sandbox supports only mode=payment and mode=subscription.", "mode")
            items = params.get("line_items") or []
            if not items:
                raise ParamError(f"line_items is required in {mode} mode.", "line_items", "parameter_missing")
            self._check_mode_params(params, items)
            for index, item in enumerate(items):
                if "price" in item:
                    raise ApiError(400, "The sandbox has no Price objects: use price_data.",
                                   code="resource_missing", param=f"line_items[{index}][price]")
                if "price_data" not in item:
                    raise ParamError("Missing required param: price_data.",
                                     f"line_items[{index}][price_data]", "parameter_missing")
                item["price_data"]["currency"] = item["price_data"]["currency"].lower()
            currencies = {item["price_data"]["currency"] for item in items}
            if len(currencies) > 1:
                raise ParamError("All line items must use the same currency.", "line_items")
            currency = currencies.pop()
            amount = sum(item["price_data"]["unit_amount"] * item.get("quantity", 1) for item in items)
            coupon = self._session_coupon(params, currency)
            trial = mode == "subscription" and bool(self._trial_end(params.get("subscription_data", {})))
            if trial:
                amount = 0  # the first invoice is the $0 trial invoice; the coupon waits for a real one
            discount = _discount(coupon, amount) if coupon else 0
            total = amount - discount
            minimum = MINIMUM_CHARGE.get(currency, 50)
            # Stripe checks what is due after discounts: 0 (nothing to pay) or at least the minimum.
            if 0 < total < minimum or amount > MAXIMUM_AMOUNT:
                raise ApiError(400, f"The Checkout Session's total amount due must add up to at least "
                               f"{minimum} {currency} (minor units) and at most {MAXIMUM_AMOUNT}.",
                               code="amount_too_small" if total < minimum else "amount_too_large")
            for url_param in ("success_url", "cancel_url"):
                url = params.get(url_param)
                if url is not None and not url.startswith(("http://", "https://")):
                    raise ParamError("Not a valid URL", url_param, "url_invalid")
            email = params.get("customer_email")
            if email is not None and "@" not in email:
                raise ParamError(f"Invalid email address: {email}", "customer_email", "email_invalid")
            if "customer" in params:
                if email is not None:
                    raise ParamError("You may only specify one of these parameters: customer, customer_email.",
                                     "customer_email")
                self.get("customer", params["customer"], "customer")  # Stripe: 400 "No such customer"
            now = self.store.now()
            # A Checkout Session is on no test clock: Stripe checks `expires_at` against real time,
            # which is what the app's own clock reads even after the sandbox clock was advanced.
            wall = int(time.time())
            expires_at = params.get("expires_at", wall + 86400)
            if not wall + 1800 <= expires_at <= wall + 86400:
                raise ParamError("The `expires_at` timestamp must be between 30 minutes and 24 hours "
                                 "from Checkout Session creation.", "expires_at")
            session_id = objects.new_id("cs_test_", 58)
            session = objects.checkout_session(
                session_id=session_id, params=params, amount=amount, currency=currency, created=now,
                expires_at=expires_at, url=f"{base_url}/c/pay/{session_id}", discount=discount,
                coupon_id=coupon["id"] if coupon else None)
            self.store.sessions[session_id] = session
            self.store.session_expiry[session_id] = now + (expires_at - wall)
            shares = _split_discount(discount, [item["price_data"]["unit_amount"] * item.get("quantity", 1)
                                                for item in items])
            self.store.line_items[session_id] = [objects.line_item(item, now, share)
                                                 for item, share in zip(items, shares)]
            self.store.session_intent_data[session_id] = params.get("payment_intent_data", {})
            if mode == "subscription":
                # trial_period_days counts from the subscription's creation, when the page completes.
                self.store.session_subscription_data[session_id] = dict(params.get("subscription_data", {}))
                session.update(payment_method_collection="always", customer_creation=None,
                               payment_method_types=list(params.get("payment_method_types") or ["card"]))
                for item, line in zip(items, self.store.line_items[session_id]):
                    line["price"] = billing_objects.recurring_price(item["price_data"], now, line["price"]["id"],
                                                                    line["price"]["product"])
                    self.store.product_names[line["price"]["product"]] = item["price_data"]["product_data"]["name"]
            return session

    def _trial_end(self, data: dict) -> int | None:
        if data.get("trial_end"):
            return data["trial_end"]
        if data.get("trial_period_days"):
            return self.store.now() + data["trial_period_days"] * 86400
        return None

    def _check_mode_params(self, params: dict, items: list[dict]) -> None:
        """What Stripe refuses for one mode or the other (docs/stripe.md, "Billing")."""
        mode = params["mode"]
        recurring = [index for index, item in enumerate(items) if "recurring" in item.get("price_data", {})]
        if mode == "payment":
            if recurring:
                raise ParamError("You specified `payment` mode but passed a recurring price. Either switch to "
                                 "`subscription` mode or use only one-time prices.",
                                 f"line_items[{recurring[0]}][price_data][recurring]")
            if "subscription_data" in params:
                raise ParamError("You can not pass `subscription_data` in `payment` mode.", "subscription_data")
            return
        for forbidden in ("payment_intent_data", "customer_creation", "submit_type"):
            if forbidden in params and not (forbidden == "submit_type" and params[forbidden] in ("auto", "subscribe")):
                raise ParamError(f"You can not pass `{forbidden}` in `subscription` mode.", forbidden)
        if not recurring:
            raise ParamError("You must provide at least one recurring price in `subscription` mode when using "
                             "prices.", "line_items")
        if len(recurring) != len(items):
            index = next(i for i in range(len(items)) if i not in recurring)
            raise ParamError("The sandbox supports only recurring prices in `subscription` mode.",
                             f"line_items[{index}][price_data][recurring]")
        cycles = {(item["price_data"]["recurring"]["interval"], item["price_data"]["recurring"].get("interval_count", 1))
                  for item in items}
        if len(cycles) > 1:
            raise ParamError("Checkout does not support multiple prices with different billing intervals.",
                             "line_items")
        for item in items:
            interval, count = next(iter(cycles))
            limit = {"day": 1095, "week": 156, "month": 36, "year": 3}[interval]
            if count > limit:
                raise ParamError("Invalid recurring: the maximum billing interval is three years.",
                                 "line_items[0][price_data][recurring][interval_count]")
        data = params.get("subscription_data", {})
        if "trial_period_days" in data and "trial_end" in data:
            raise ParamError("You may only specify one of these parameters: trial_end, trial_period_days.",
                             "subscription_data[trial_end]")
        if "trial_end" in data and data["trial_end"] < self.store.now() + 2 * 86400:
            raise ParamError("`subscription_data[trial_end]` must be at least 48 hours in the future.",
                             "subscription_data[trial_end]")
        if "payment_method_types" in params and params["payment_method_types"] != ["card"]:
            raise ParamError("The sandbox supports only card payments in `subscription` mode.",
                             "payment_method_types")

    # --- coupons ------------------------------------------------------------------------
    def create_coupon(self, params: dict) -> dict:
        """`POST /v1/coupons`, refusing what Stripe refuses (docs/stripe.md, "Coupons")."""
        with self.store.lock:
            has_amount, has_percent = "amount_off" in params, "percent_off" in params
            if has_amount and has_percent:
                raise ParamError("You may only specify one of these parameters: amount_off, percent_off.",
                                 "percent_off")
            if not has_amount and not has_percent:
                raise ParamError("You must pass either amount_off or percent_off.", "amount_off",
                                 "parameter_missing")
            if has_amount and "currency" not in params:
                raise ParamError("You must pass currency when passing amount_off.", "currency",
                                 "parameter_missing")
            if "currency" in params:
                if not has_amount:
                    raise ParamError("currency can only be passed with amount_off.", "currency")
                params["currency"] = params["currency"].lower()
                if params["currency"] not in MINIMUM_CHARGE:
                    raise ParamError(f"Invalid currency: {params['currency']}.", "currency")
            if has_percent and not 0 < params["percent_off"] <= 100:
                raise ParamError("Invalid percent_off: must be greater than 0 and at most 100.", "percent_off")
            duration = params.get("duration", "once")
            if duration == "repeating" and "duration_in_months" not in params:
                raise ParamError("You must pass duration_in_months when duration is repeating.",
                                 "duration_in_months", "parameter_missing")
            if duration != "repeating" and "duration_in_months" in params:
                raise ParamError("duration_in_months can only be passed when duration is repeating.",
                                 "duration_in_months")
            if params.get("id") in self.store.coupons:
                raise ApiError(400, "Coupon already exists.", code="resource_already_exists", param="id")
            coupon = objects.coupon(params={**params, "duration": duration}, created=self.store.now())
            self.store.coupons[coupon["id"]] = coupon
            self.emit("coupon.created", coupon)
            return coupon

    def delete_coupon(self, coupon_id: str) -> dict:
        with self.store.lock:
            coupon = self.store.coupons.pop(self.get("coupon", coupon_id)["id"])
            self.emit("coupon.deleted", coupon)
            return {"id": coupon["id"], "object": "coupon", "deleted": True}

    def _session_coupon(self, params: dict, currency: str) -> dict | None:
        """The coupon of `discounts=[{coupon}]`, checked as Checkout checks it, or None."""
        discounts = params.get("discounts") or []
        if not discounts:
            return None
        if params.get("allow_promotion_codes"):
            raise ParamError("You may only specify one of these parameters: allow_promotion_codes, discounts.",
                             "allow_promotion_codes")
        if len(discounts) > 1:
            raise ParamError("You may only specify one discount for a Checkout Session.", "discounts")
        entry = discounts[0]
        if "coupon" in entry and "promotion_code" in entry:
            raise ParamError("You may only specify one of these parameters: coupon, promotion_code.",
                             "discounts[0][coupon]")
        if "promotion_code" in entry:  # the sandbox has no promotion codes
            raise not_found("promotion code", entry["promotion_code"], "discounts[0][promotion_code]")
        if "coupon" not in entry:
            raise ParamError("Missing required param: discounts[0][coupon].", "discounts[0][coupon]",
                             "parameter_missing")
        coupon = self.get("coupon", entry["coupon"], "discounts[0][coupon]")
        if not _coupon_valid(coupon, self.store.now()):
            raise ApiError(400, f"Coupon {coupon['id']} is not valid.", code="coupon_expired",
                           param="discounts[0][coupon]")
        if coupon["amount_off"] is not None and coupon["currency"] != currency:
            raise ParamError(f"The coupon {coupon['id']} is in {coupon['currency']}, but this Checkout "
                             f"Session's currency is {currency}.", "discounts[0][coupon]")
        return coupon

    def expire_session(self, session_id: str, request: dict | None = None) -> dict:
        with self.store.lock:
            session = self.get("checkout.session", session_id, "session")
            if session["status"] != "open":
                raise ApiError(400, f'Only Checkout Sessions with a status in ["open"] can be expired. '
                                    f'This Checkout Session has a status of "{session["status"]}".')
            session.update(status="expired", url=None)
            intent = self.store.payment_intents.get(session["payment_intent"] or "")
            if intent and intent["status"] == "requires_payment_method":
                intent.update(status="canceled", canceled_at=self.store.now(), cancellation_reason="abandoned")
                self.emit("payment_intent.canceled", intent, request)
            self.emit("checkout.session.expired", session, request)
            return session

    def _open_session(self, session_id: str) -> dict:
        session = self.get("checkout.session", session_id, "session")
        if session["status"] != "open":
            raise ApiError(400, f"This Checkout Session is {session['status']}, not open.",
                           code="checkout_session_not_open")
        return session

    def _intent_for(self, session: dict, method_type: str) -> dict:
        """The session's PaymentIntent, created on the first payment attempt (as Checkout does)."""
        intent = self.store.payment_intents.get(session["payment_intent"] or "")
        if intent is None:
            data = self.store.session_intent_data.get(session["id"], {})
            intent = objects.payment_intent(
                amount=session["amount_total"], currency=session["currency"], created=self.store.now(),
                metadata=data.get("metadata", {}), description=data.get("description"),
                receipt_email=data.get("receipt_email"), method_type=method_type)
            intent["customer"] = session["customer"]
            self.store.payment_intents[intent["id"]] = intent
            session["payment_intent"] = intent["id"]
            self.emit("payment_intent.created", intent)
        intent["payment_method_types"] = [method_type]
        return intent

    def _complete(self, session: dict, email: str | None, name: str | None, payment_status: str) -> dict:
        customer = self.store.customers.get(session["customer"] or "")
        known_email = customer["email"] if customer else session["customer_email"]
        session.update(status="complete", payment_status=payment_status, url=None,
                       customer_details=objects.customer_details(email or known_email, name))
        for entry in session["discounts"]:  # Stripe counts a redemption when the session completes
            coupon = self.store.coupons.get(entry["coupon"] or "")
            if coupon is not None:
                coupon["times_redeemed"] += 1
                coupon["valid"] = _coupon_valid(coupon, self.store.now())
        return self.emit("checkout.session.completed", session)

    def pay_card(self, session_id: str, number: str, email: str | None = None,
                 name: str | None = None) -> dict:
        """Confirm with a card. Returns {"ok", "event"} or {"ok": False, "message", "code"}."""
        with self.store.lock:
            session = self._open_session(session_id)
            if session["payment_status"] == "no_payment_required" and session["mode"] == "payment":
                return {"ok": True, "event": self._complete(session, email, name, "no_payment_required")}
            number = "".join(number.split())
            if not number.isdigit() or not luhn_ok(number):
                # Stripe.js refuses this in the browser: no PaymentIntent, no event.
                return {"ok": False, "code": "incorrect_number", "message": "Your card number is incorrect."}
            if session["mode"] == "subscription":
                return self.billing.complete_checkout(session, number, email, name)
            outcome = TEST_CARDS.get(number, LIVE_CARD)
            intent = self._intent_for(session, "card")
            now = self.store.now()
            charge = objects.charge(intent=intent, created=now, status="failed" if outcome else "succeeded",
                                    email=email, name=name, method=objects.card_details(number))
            self.store.charges[charge["id"]] = charge
            intent.update(latest_charge=charge["id"], payment_method=charge["payment_method"])
            if outcome:
                code, decline_code, message = outcome
                charge.update(failure_code=code, failure_message=message,
                              outcome=objects.outcome(approved=False, reason=decline_code, message=message))
                intent.update(status="requires_payment_method", last_payment_error=objects.payment_error(
                    message=message, code=code, decline_code=decline_code, charge_id=charge["id"],
                    method_type="card"))
                self.emit("charge.failed", charge)
                self.emit("payment_intent.payment_failed", intent)
                # The session stays open: the customer may try another card.
                return {"ok": False, "code": code, "decline_code": decline_code, "message": message}
            charge["outcome"] = objects.outcome(approved=True)
            intent.update(status="succeeded", amount_received=intent["amount"], last_payment_error=None)
            self.emit("charge.succeeded", charge)
            self.emit("payment_intent.succeeded", intent)
            return {"ok": True, "event": self._complete(session, email, name, "paid")}

    def pay_delayed(self, session_id: str, outcome: str, email: str | None = None,
                    name: str | None = None, iban: str = "AT611904300234573201") -> dict:
        """A bank debit: the session completes unpaid now and settles later (succeeded|failed)."""
        if outcome not in ("succeeded", "failed"):
            raise ParamError("outcome must be succeeded or failed", "outcome")
        with self.store.lock:
            session = self._open_session(session_id)
            if session["mode"] == "subscription":
                raise ApiError(400, "The sandbox takes only cards in subscription mode.", param="method")
            intent = self._intent_for(session, "sepa_debit")
            charge = objects.charge(intent=intent, created=self.store.now(), status="pending",
                                    email=email, name=name, method=objects.sepa_details(iban))
            self.store.charges[charge["id"]] = charge
            intent.update(status="processing", latest_charge=charge["id"], last_payment_error=None,
                          payment_method=charge["payment_method"])
            delay = self.settings.get("DELAYED_SETTLE_SECONDS")
            due = None if delay is None else self.store.now() + int(delay)
            self.store.settlements[intent["id"]] = (due, outcome)
            self.emit("charge.pending", charge)
            self.emit("payment_intent.processing", intent)
            return {"ok": True, "event": self._complete(session, email, name, "unpaid")}

    def settle(self, session_id: str, outcome: str | None = None) -> dict:
        with self.store.lock:
            session = self.get("checkout.session", session_id, "session")
            intent_id = session["payment_intent"] or ""
            if intent_id not in self.store.settlements:
                raise ApiError(400, "This Checkout Session has no delayed payment waiting to settle.")
            _, planned = self.store.settlements.pop(intent_id)
            outcome = outcome or planned
            intent = self.store.payment_intents[intent_id]
            charge = self.store.charges[intent["latest_charge"]]
            if outcome == "succeeded":
                charge.update(status="succeeded", paid=True, captured=True, amount_captured=charge["amount"],
                              balance_transaction=objects.new_id("txn_"), outcome=objects.outcome(approved=True))
                intent.update(status="succeeded", amount_received=intent["amount"])
                session["payment_status"] = "paid"
                self.emit("charge.succeeded", charge)
                self.emit("payment_intent.succeeded", intent)
                self.emit("checkout.session.async_payment_succeeded", session)
            else:
                message = "The customer's bank account could not be debited."
                charge.update(status="failed", failure_code="insufficient_funds", failure_message=message)
                intent.update(status="requires_payment_method", last_payment_error=objects.payment_error(
                    message=message, code="payment_intent_payment_attempt_failed", decline_code=None,
                    charge_id=charge["id"], method_type="sepa_debit"))
                self.emit("charge.failed", charge)
                self.emit("payment_intent.payment_failed", intent)
                self.emit("checkout.session.async_payment_failed", session)
            return session

    def sweep(self) -> None:
        """Expire overdue open sessions and settle due delayed payments (sandbox clock)."""
        with self.store.lock:
            now = self.store.now()
            for session in list(self.store.sessions.values()):
                expires = self.store.session_expiry.get(session["id"], session["expires_at"])
                if session["status"] == "open" and expires <= now:
                    self.expire_session(session["id"])
            for intent_id, (due, _) in list(self.store.settlements.items()):
                if due is not None and due <= now:
                    session = next(s for s in self.store.sessions.values() if s["payment_intent"] == intent_id)
                    self.settle(session["id"])
            self.billing.run_until(now)

    # --- refunds ------------------------------------------------------------------------
    def _paid_charge(self, params: dict) -> dict:
        if "charge" in params:
            return self.get("charge", params["charge"], "charge")
        intent = self.get("payment_intent", params["payment_intent"], "payment_intent")
        charge = self.store.charges.get(intent["latest_charge"] or "")
        if intent["status"] != "succeeded" or charge is None:
            raise ApiError(400, f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                           param="payment_intent")
        return charge

    def refund(self, params: dict, request: dict | None = None, pending: bool = False) -> dict:
        with self.store.lock:
            if ("charge" in params) == ("payment_intent" in params):
                raise ParamError("Exactly one of charge or payment_intent is required.", "payment_intent",
                                 "parameter_missing")
            charge = self._paid_charge(params)
            if charge["status"] != "succeeded":
                raise ApiError(400, f"Charge {charge['id']} has not succeeded; it cannot be refunded.")
            if charge["disputed"] and any(d["charge"] == charge["id"] and d["status"] == "needs_response"
                                          for d in self.store.disputes.values()):
                raise ApiError(400, f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                               code="charge_disputed")
            remaining = charge["amount"] - charge["amount_refunded"]
            amount = params.get("amount", remaining)
            if remaining == 0:
                raise ApiError(400, f"Charge {charge['id']} has already been refunded.",
                               code="charge_already_refunded")
            if amount > remaining:
                raise ApiError(400, f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                                    f"({remaining}).", code="amount_too_large", param="amount")
            refund = objects.refund(charge_obj=charge, amount=amount, reason=params.get("reason"),
                                    metadata=params.get("metadata", {}), created=self.store.now())
            if pending:
                refund["status"] = "pending"
            self.store.refunds[refund["id"]] = refund
            # amount_refunded is cumulative and counts pending refunds, as on Stripe.
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            self.emit("refund.created", refund, request)
            self.emit("charge.refunded", charge, request)
            return refund

    def finish_refund(self, refund_id: str, outcome: str) -> dict:
        """Move a refund to succeeded or failed (control endpoint): refund.updated (+ .failed)."""
        with self.store.lock:
            refund = self.get("refund", refund_id)
            if refund["status"] == "failed" or outcome not in ("succeeded", "failed"):
                raise ApiError(400, f"Refund {refund_id} is {refund['status']}; outcome must be succeeded or failed.")
            refund["status"] = outcome
            if outcome == "failed":
                charge = self.store.charges[refund["charge"]]
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = charge["amount_refunded"] == charge["amount"]
                self.emit("refund.failed", refund)
            self.emit("refund.updated", refund)
            return refund

    # --- disputes -----------------------------------------------------------------------
    def open_dispute(self, intent_id: str, reason: str = "fraudulent", amount: int | None = None) -> dict:
        with self.store.lock:
            charge = self._paid_charge({"payment_intent": intent_id})
            dispute = objects.dispute(charge_obj=charge, amount=amount or charge["amount"] - charge["amount_refunded"],
                                      reason=reason, created=self.store.now())
            self.store.disputes[dispute["id"]] = dispute
            charge["disputed"] = True
            self.emit("charge.dispute.created", dispute)
            return dispute

    def close_dispute(self, dispute_id: str, outcome: str) -> dict:
        with self.store.lock:
            dispute = self.get("dispute", dispute_id)
            if outcome not in ("won", "lost", "warning_closed"):
                raise ParamError("outcome must be won, lost or warning_closed", "outcome")
            if dispute["status"] != "needs_response":
                raise ApiError(400, f"Dispute {dispute_id} is already closed ({dispute['status']}).")
            dispute.update(status=outcome, is_charge_refundable=False)
            dispute["evidence_details"]["has_evidence"] = outcome == "won"
            self.emit("charge.dispute.closed", dispute)
            return dispute

    # --- rendering ----------------------------------------------------------------------
    EXPANDABLE = {
        "checkout.session": {"payment_intent", "payment_intent.latest_charge", "line_items", "customer",
                             "total_details.breakdown", "subscription", "invoice", "invoice.payments",
                             "subscription.latest_invoice", "subscription.default_payment_method"},
        "subscription": {"customer", "latest_invoice", "latest_invoice.payments", "default_payment_method"},
        "invoice": {"customer", "payments", "payments.data.payment.payment_intent"},
        "invoice_payment": {"invoice", "payment.payment_intent", "payment.payment_intent.latest_charge"},
        "payment_method": {"customer"},
        "billing_portal.session": set(),
        "test_helpers.test_clock": set(),
        "line_item": set(),
        "payment_intent": {"latest_charge"},
        "refund": {"charge", "payment_intent"},
        "charge": {"payment_intent"},
        "dispute": {"charge", "payment_intent"},
        "customer": set(),
        "coupon": set(),
        "event": set(),
    }

    def render(self, obj: dict, expand: list[str] | None = None) -> dict:
        """A copy of `obj` with the requested ids replaced by objects, like `expand[]`."""
        allowed = self.EXPANDABLE[obj["object"]]
        result = copy.deepcopy(obj)
        for index, path in enumerate(expand or []):
            if path not in allowed:
                raise ParamError(f"This property cannot be expanded ({path}).", f"expand[{index}]")
            self._expand(result, path.split("."))
        return result

    def _breakdown(self, session: dict) -> list[dict]:
        """`total_details.breakdown.discounts`: each discount with the amount it took off."""
        result = []
        for entry in session["discounts"]:
            coupon = self.store.coupons.get(entry["coupon"] or "") or {"id": entry["coupon"], "object": "coupon",
                                                                       "deleted": True}
            result.append({"amount": session["total_details"]["amount_discount"],
                           "discount": objects.session_discount(coupon_obj=copy.deepcopy(coupon), session=session,
                                                                created=session["created"])})
        return result

    def _expand(self, node: Any, parts: list[str]) -> None:
        head, rest = parts[0], parts[1:]
        if not isinstance(node, dict):
            return
        if head == "total_details" and rest == ["breakdown"] and node.get("object") == "checkout.session":
            node["total_details"]["breakdown"] = {"discounts": self._breakdown(node), "taxes": []}
            return
        if head == "line_items" and node.get("object") == "checkout.session":
            node["line_items"] = {"object": "list", "data": copy.deepcopy(self.store.line_items[node["id"]]),
                                  "has_more": False, "url": f"/v1/checkout/sessions/{node['id']}/line_items"}
            return
        if head == "payments" and node.get("object") == "invoice":
            node["payments"] = {"object": "list", "data": copy.deepcopy(self.billing.invoice_payments_of(node["id"])),
                                "has_more": False, "url": "/v1/invoice_payments"}
            if rest:
                self._expand(node["payments"], rest)
            return
        if head == "data" and node.get("object") == "list":
            for entry in node["data"]:
                self._expand(entry, rest)
            return
        value = node.get(head)
        if isinstance(value, str):
            table = {"payment_intent": self.store.payment_intents, "latest_charge": self.store.charges,
                     "charge": self.store.charges, "customer": self.store.customers,
                     "subscription": self.store.subscriptions, "invoice": self.store.invoices,
                     "latest_invoice": self.store.invoices,
                     "default_payment_method": self.store.payment_methods}[head]
            value = node[head] = copy.deepcopy(table[value])
        if rest:
            self._expand(value, rest)

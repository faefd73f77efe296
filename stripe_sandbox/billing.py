"""Stripe Billing in the sandbox: subscriptions started by Checkout, their invoices and
payments, renewals and retries driven by the sandbox clock, cancellation, and what the
Customer Portal does. Every public method runs under the store lock.

Renewal model (docs/stripe.md, "Billing"): at a period end the item's period moves on, a
`subscription_cycle` invoice is created, finalized and charged at once on the default
card. A failed charge makes the subscription `past_due`; the open invoice is retried 3 days
after the first failure, then 5 and 7 days after the previous try (days 3, 8, 15). After the
last failed retry the subscription is canceled (Stripe's default), or left `unpaid` /
`past_due` if `/_sandbox/billing/settings` says so.
"""
from __future__ import annotations

import calendar
import copy
import time
from datetime import datetime, timezone

from . import billing_objects as bo
from . import objects
from .errors import ApiError, ParamError, not_found

DAY = 86400
RETRY_DAYS = (3, 5, 7)          # after the 1st, 2nd, 3rd failed attempt
TRIAL_WILL_END_BEFORE = 3 * DAY
MAX_ADVANCE_DAYS = 5 * 366
# Attaches to a customer, but every charge on it fails (Stripe's test card).
ATTACH_ONLY_CARDS = {"4000000000000341"}
CHARGE_FAIL = ("card_declined", "generic_decline", "Your card was declined.")
AFTER_FINAL_RETRY = ("canceled", "unpaid", "past_due")
SUBSCRIPTION_STATUSES = ("active", "past_due", "unpaid", "canceled", "incomplete", "incomplete_expired",
                         "trialing", "paused")


def add_interval(start: int, interval: str, count: int, anchor: int) -> int:
    """`start` moved on by count × interval; months keep the anchor's day (clamped to the
    month's last day) and time of day, as Stripe's billing cycle anchor does."""
    if interval == "day":
        return start + count * DAY
    if interval == "week":
        return start + count * 7 * DAY
    months = count * (12 if interval == "year" else 1)
    base = datetime.fromtimestamp(start, timezone.utc)
    anchor_dt = datetime.fromtimestamp(anchor, timezone.utc)
    month_index = base.month - 1 + months
    year, month = base.year + month_index // 12, month_index % 12 + 1
    day = min(anchor_dt.day, calendar.monthrange(year, month)[1])
    moved = base.replace(year=year, month=month, day=day, hour=anchor_dt.hour, minute=anchor_dt.minute,
                         second=anchor_dt.second)
    return int(moved.timestamp())


class Billing:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.store = engine.store

    # --- helpers ----------------------------------------------------------------------------
    def emit(self, event_type: str, obj: dict, previous: dict | None = None, request: dict | None = None):
        return self.engine.emit(event_type, obj, request, previous_attributes=previous)

    def _changed(self, obj: dict, changes: dict) -> dict:
        """Apply `changes`; return the old values of what really changed (previous_attributes)."""
        previous = {}
        for key, value in changes.items():
            if obj.get(key) != value:
                previous[key] = copy.deepcopy(obj.get(key))
                obj[key] = value
        return previous

    def update_subscription_fields(self, sub: dict, changes: dict, request: dict | None = None,
                                   extra_previous: dict | None = None) -> dict:
        previous = {**(extra_previous or {}), **self._changed(sub, changes)}
        if previous:
            self.emit("customer.subscription.updated", sub, previous, request)
        return sub

    def _customer(self, customer_id: str) -> dict:
        return self.store.customers[customer_id]

    def _card_outcome(self, number: str):
        """None when a charge on this card succeeds, else (code, decline_code, message)."""
        if number in ATTACH_ONLY_CARDS:
            return CHARGE_FAIL
        from .engine import LIVE_CARD, TEST_CARDS
        return TEST_CARDS.get(number, LIVE_CARD)

    def attach_problem(self, number: str):
        """Why attaching this card fails (its decline), or None for cards that attach."""
        if number in ATTACH_ONLY_CARDS:
            return None
        return self._card_outcome(number)

    # --- payment methods --------------------------------------------------------------------
    def attach_card(self, customer: dict, number: str, name: str | None = None) -> dict:
        pm = bo.payment_method(number=number, customer=customer["id"], email=customer["email"], name=name,
                               created=self.store.now())
        self.store.payment_methods[pm["id"]] = pm
        self.store.pm_numbers[pm["id"]] = number
        self.emit("payment_method.attached", pm)
        settings = copy.deepcopy(customer["invoice_settings"])
        previous = {"invoice_settings": copy.deepcopy(customer["invoice_settings"])}
        settings["default_payment_method"] = pm["id"]
        customer["invoice_settings"] = settings
        self.emit("customer.updated", customer, previous)
        return pm

    # --- checkout -----------------------------------------------------------------------------
    def complete_checkout(self, session: dict, number: str, email: str | None, name: str | None) -> dict:
        """Pay (or, with a trial, save the card for) a subscription-mode session."""
        due_now = session["amount_total"]
        problem = self.attach_problem(number) or (self._card_outcome(number) if due_now > 0 else None)
        if problem:
            code, decline_code, message = problem
            return {"ok": False, "code": code, "decline_code": decline_code, "message": message}
        now = self.store.now()
        customer = self.store.customers.get(session["customer"] or "")
        if customer is None:
            customer = objects.customer(params={"email": email or session["customer_email"], "name": name},
                                        created=now)
            self.store.customers[customer["id"]] = customer
            self.emit("customer.created", customer)
        pm = self.attach_card(customer, number, name)
        data = self.store.session_subscription_data.get(session["id"], {})
        trial_end = data.get("trial_end")
        if trial_end is None and data.get("trial_period_days"):
            trial_end = now + data["trial_period_days"] * DAY
        sub = bo.subscription(customer=customer["id"], currency=session["currency"], created=now,
                              status="trialing" if trial_end else "incomplete", metadata=data.get("metadata", {}),
                              description=data.get("description"), trial_start=now if trial_end else None,
                              trial_end=trial_end, default_payment_method=pm["id"], discounts=[])
        for line in self.store.line_items[session["id"]]:
            price = line["price"]
            end = trial_end or add_interval(now, price["recurring"]["interval"],
                                            price["recurring"]["interval_count"], now)
            sub["items"]["data"].append(bo.subscription_item(
                subscription_id=sub["id"], price=price, quantity=line["quantity"], created=now,
                period_start=now, period_end=end))
        for entry in session["discounts"]:
            coupon = self.store.coupons.get(entry["coupon"] or "")
            if coupon is not None:
                end = None
                if coupon["duration"] == "repeating":
                    end = add_interval(now, "month", coupon["duration_in_months"], now)
                di = bo.discount(coupon_obj=copy.deepcopy(coupon), customer=customer["id"],
                                 subscription_id=sub["id"], session_id=None, start=now, end=end)
                self.store.discounts[di["id"]] = di
                sub["discounts"].append(di["id"])
        self.store.subscriptions[sub["id"]] = sub
        self.store.sub_private[sub["id"]] = {"trial_will_end_sent": False}
        self.emit("customer.subscription.created", sub)
        item = sub["items"]["data"][0]
        invoice = self._new_invoice(sub, "subscription_create", now, now, item["current_period_start"],
                                    item["current_period_end"], trial=bool(trial_end))
        sub["latest_invoice"] = invoice["id"]
        paid = self._collect(invoice, first=True)
        if not trial_end and paid:
            self.update_subscription_fields(sub, {"status": "active"})
        if trial_end and trial_end - TRIAL_WILL_END_BEFORE <= now:
            self._trial_will_end(sub)
        session.update(customer=customer["id"], subscription=sub["id"], invoice=invoice["id"])
        status = "paid" if due_now > 0 else "no_payment_required"
        return {"ok": True, "event": self.engine._complete(session, email, name, status)}

    # --- invoices ----------------------------------------------------------------------------
    def _invoice_number(self, customer: dict) -> str:
        number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
        customer["next_invoice_sequence"] += 1
        return number

    def _discounts_for(self, sub: dict, subtotal: int, created: int) -> list[tuple[dict, int]]:
        from .engine import _discount
        applied = []
        for di_id in list(sub["discounts"]):
            di = self.store.discounts[di_id]
            coupon = di["source"]["coupon"]
            if di["end"] is not None and created >= di["end"]:
                continue
            if subtotal == 0:
                continue  # a $0 (trial) invoice does not use up a discount
            amount = _discount(coupon, subtotal)
            applied.append((di, amount))
            subtotal -= amount
            if coupon["duration"] == "once":
                sub["discounts"].remove(di_id)  # used: Stripe removes it from the subscription
        return applied

    def _new_invoice(self, sub: dict, reason: str, period_start: int, period_end: int,
                     line_start: int, line_end: int, trial: bool = False) -> dict:
        """Create, emit (invoice.created) and finalize (invoice.finalized) an invoice."""
        from .hosted import format_money
        now = self.store.now()
        customer = self._customer(sub["customer"])
        invoice = bo.invoice(customer=customer, subscription=sub, billing_reason=reason, created=now,
                             period_start=period_start, period_end=period_end,
                             number=self._invoice_number(customer), hosted_url=self.hosted_url)
        subtotal = 0
        for item in sub["items"]["data"]:
            price = item["price"]
            amount = 0 if trial else price["unit_amount"] * item["quantity"]
            subtotal += amount
            per = f"{price['recurring']['interval_count']} {price['recurring']['interval']}s" \
                if price["recurring"]["interval_count"] > 1 else price["recurring"]["interval"]
            name = self.store.product_names.get(price["product"], "Subscription")
            description = (f"Trial period for {name}" if trial else
                           f"{item['quantity']} × {name} (at {format_money(price['unit_amount'], price['currency'])} / {per})")
            invoice["lines"]["data"].append(bo.invoice_line(
                invoice_id=invoice["id"], subscription=sub, item=item, amount=amount, discount_amounts=[],
                period_start=line_start, period_end=line_end, description=description))
        applied = self._discounts_for(sub, subtotal, now)
        discount_total = sum(amount for _, amount in applied)
        for di, amount in applied:
            shares = _spread(amount, [line["amount"] for line in invoice["lines"]["data"]])
            for line, share in zip(invoice["lines"]["data"], shares):
                line["discount_amounts"].append({"amount": share, "discount": di["id"]})
                line["discounts"].append(di["id"])
            invoice["discounts"].append(di["id"])
            invoice["total_discount_amounts"].append({"amount": amount, "discount": di["id"]})
        total = subtotal - discount_total
        invoice.update(subtotal=subtotal, subtotal_excluding_tax=subtotal, total=total, total_excluding_tax=total,
                       amount_due=total, amount_remaining=total)
        self.store.invoices[invoice["id"]] = invoice
        self.emit("invoice.created", invoice)
        invoice.update(status="open", effective_at=now)
        invoice["status_transitions"]["finalized_at"] = now
        self.emit("invoice.finalized", invoice)
        return invoice

    @property
    def hosted_url(self) -> str:
        return self.engine.base_url() + "/i/{id}"

    def _collect(self, invoice: dict, first: bool = False) -> bool:
        """Pay a finalized invoice: $0 at once, otherwise one attempt on the default card."""
        if invoice["amount_remaining"] == 0:
            self._mark_paid(invoice)
            return True
        return self.attempt(invoice)

    def _mark_paid(self, invoice: dict) -> None:
        now = self.store.now()
        invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0,
                       next_payment_attempt=None, attempted=True)
        invoice["status_transitions"]["paid_at"] = now
        self.emit("invoice.paid", invoice)
        self.emit("invoice.payment_succeeded", invoice)

    def _payment_method_for(self, sub: dict) -> str | None:
        customer = self._customer(sub["customer"])
        return sub["default_payment_method"] or customer["invoice_settings"]["default_payment_method"]

    def attempt(self, invoice: dict) -> bool:
        """One charge of an open invoice on the subscription's card. True when it paid."""
        sub = self.store.subscriptions[invoice["parent"]["subscription_details"]["subscription"]]
        now = self.store.now()
        pm_id = self._payment_method_for(sub)
        customer = self._customer(sub["customer"])
        payment = next((p for p in self.store.invoice_payments.values() if p["invoice"] == invoice["id"]), None)
        intent = self.store.payment_intents[payment["payment"]["payment_intent"]] if payment else None
        if intent is None:
            intent = objects.payment_intent(
                amount=invoice["amount_remaining"], currency=invoice["currency"], created=now, metadata={},
                description="Subscription creation" if invoice["billing_reason"] == "subscription_create"
                else "Subscription update", receipt_email=None, method_type="card")
            intent.update(customer=customer["id"], setup_future_usage="off_session")
            self.store.payment_intents[intent["id"]] = intent
            self.emit("payment_intent.created", intent)
            payment = bo.invoice_payment(invoice_obj=invoice, intent_id=intent["id"], created=now)
            self.store.invoice_payments[payment["id"]] = payment
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        number = self.store.pm_numbers.get(pm_id or "", "")
        outcome = self._card_outcome(number) if pm_id else (
            "invoice_no_payment_method", None, "There is no payment method to charge.")
        pm = self.store.payment_methods.get(pm_id or "")
        charge = objects.charge(intent=intent, created=now, status="failed" if outcome else "succeeded",
                                email=customer["email"], name=(pm or {}).get("billing_details", {}).get("name"),
                                method=objects.card_details(number or "0000"))
        charge["payment_method"] = pm_id
        self.store.charges[charge["id"]] = charge
        intent.update(latest_charge=charge["id"], payment_method=pm_id)
        if outcome is None:
            charge["outcome"] = objects.outcome(approved=True)
            intent.update(status="succeeded", amount_received=intent["amount"], last_payment_error=None)
            self.emit("charge.succeeded", charge)
            self.emit("payment_intent.succeeded", intent)
            payment.update(status="paid", amount_paid=intent["amount"])
            payment["status_transitions"]["paid_at"] = now
            self.emit("invoice_payment.paid", payment)
            self._mark_paid(invoice)
            if sub["status"] in ("past_due", "unpaid"):
                self.update_subscription_fields(sub, {"status": "active"})
            return True
        code, decline_code, message = outcome
        charge.update(failure_code=code, failure_message=message,
                      outcome=objects.outcome(approved=False, reason=decline_code, message=message))
        intent.update(status="requires_payment_method", last_payment_error=objects.payment_error(
            message=message, code=code, decline_code=decline_code, charge_id=charge["id"], method_type="card"))
        self.emit("charge.failed", charge)
        self.emit("payment_intent.payment_failed", intent)
        tries = invoice["attempt_count"]
        final = tries > len(RETRY_DAYS) or sub["status"] in ("canceled", "incomplete")
        invoice["next_payment_attempt"] = None if final else now + RETRY_DAYS[tries - 1] * DAY
        self.emit("invoice.payment_failed", invoice)
        self.emit("invoice.updated", invoice, {"attempt_count": tries - 1})
        if sub["status"] in ("active", "trialing"):
            self.update_subscription_fields(sub, {"status": "past_due"})
        if final and sub["status"] in ("past_due", "unpaid"):
            outcome_setting = self.store.billing_settings["after_final_retry"]
            if outcome_setting == "canceled":
                self.cancel_now(sub, reason="payment_failed")
            elif outcome_setting == "unpaid" and sub["status"] != "unpaid":
                self.update_subscription_fields(sub, {"status": "unpaid"})
        return False

    def pay_invoice(self, invoice_id: str) -> dict:
        """`POST /v1/invoices/<id>/pay`: try an open invoice now."""
        invoice = self.get("invoice", invoice_id)
        if invoice["status"] == "paid":
            raise ApiError(400, "Invoice is already paid", code="invoice_already_paid")
        if invoice["status"] != "open":
            raise ApiError(400, f"You can only pay an invoice that is open (this one is {invoice['status']}).",
                           code="invoice_not_editable")
        if not self.attempt(invoice):
            [payment] = self.invoice_payments_of(invoice_id)
            error = self.store.payment_intents[payment["payment"]["payment_intent"]]["last_payment_error"]
            raise ApiError(402, error["message"], type_="card_error", code=error["code"],
                           decline_code=error["decline_code"])
        return invoice

    # --- cancellation and updates -----------------------------------------------------------------
    def cancel_now(self, sub: dict, reason: str = "cancellation_requested", details: dict | None = None,
                   request: dict | None = None) -> dict:
        if sub["status"] in ("canceled", "incomplete_expired"):
            raise ApiError(400, f"A canceled subscription can't be canceled again ({sub['id']}).",
                           code="resource_missing")
        now = self.store.now()
        sub.update(status="canceled", ended_at=now, canceled_at=sub["canceled_at"] or now)
        sub["cancellation_details"] = {"comment": (details or {}).get("comment", sub["cancellation_details"]["comment"]),
                                       "feedback": (details or {}).get("feedback", sub["cancellation_details"]["feedback"]),
                                       "reason": reason}
        for invoice in self.store.invoices.values():
            if _subscription_of(invoice) == sub["id"] and invoice["status"] == "open":
                invoice["next_payment_attempt"] = None  # no more retries
        self.emit("customer.subscription.deleted", sub, request=request)
        return sub

    def set_cancel_at_period_end(self, sub: dict, flag: bool, request: dict | None = None,
                                 details: dict | None = None) -> dict:
        now = self.store.now()
        period_end = sub["items"]["data"][0]["current_period_end"]
        cancellation = copy.deepcopy(sub["cancellation_details"])
        if not flag:  # renewing forgets why it was going to end
            cancellation.update(comment=None, feedback=None)
        cancellation.update(details or {})
        cancellation["reason"] = "cancellation_requested" if flag else None
        changes = {"cancel_at_period_end": flag, "cancel_at": period_end if flag else None,
                   "canceled_at": (sub["canceled_at"] or now) if flag else None,
                   "cancellation_details": cancellation}
        return self.update_subscription_fields(sub, changes, request)

    def update(self, sub_id: str, params: dict, request: dict | None = None) -> dict:
        sub = self.get("subscription", sub_id)
        if sub["status"] in ("canceled", "incomplete_expired"):
            allowed = {"metadata", "cancellation_details", "expand"}
            if set(params) - allowed:
                raise ApiError(400, "A canceled subscription can only update its cancellation_details and metadata.")
        changes: dict = {}
        if "default_payment_method" in params:
            pm = self.store.payment_methods.get(params["default_payment_method"])
            if pm is None:
                raise not_found("PaymentMethod", params["default_payment_method"], "default_payment_method")
            if pm["customer"] != sub["customer"]:
                raise ApiError(400, f"The customer does not have a payment method with the ID {pm['id']}. The "
                                    "payment method must be attached to the customer.",
                               param="default_payment_method")
            changes["default_payment_method"] = pm["id"]
        if "metadata" in params:
            merged = {**sub["metadata"], **params["metadata"]}
            changes["metadata"] = {k: v for k, v in merged.items() if v != ""} if params["metadata"] else {}
        if "description" in params:
            changes["description"] = params["description"]
        previous = self._changed(sub, changes)
        if "cancel_at_period_end" in params:
            flag = params["cancel_at_period_end"]
            if flag != sub["cancel_at_period_end"]:
                period_end = sub["items"]["data"][0]["current_period_end"]
                cancellation = {**sub["cancellation_details"], **params.get("cancellation_details", {}),
                                "reason": "cancellation_requested" if flag else None}
                previous.update(self._changed(sub, {
                    "cancel_at_period_end": flag, "cancel_at": period_end if flag else None,
                    "canceled_at": (sub["canceled_at"] or self.store.now()) if flag else None,
                    "cancellation_details": cancellation}))
        elif "cancellation_details" in params:
            previous.update(self._changed(sub, {"cancellation_details": {**sub["cancellation_details"],
                                                                         **params["cancellation_details"]}}))
        if previous:
            self.emit("customer.subscription.updated", sub, previous, request)
        if "default_payment_method" in previous:
            self._retry_open_invoices(sub)
        return sub

    def _retry_open_invoices(self, sub: dict) -> None:
        if sub["status"] not in ("past_due", "unpaid"):
            return
        for invoice in list(self.store.invoices.values()):
            if _subscription_of(invoice) == sub["id"] and invoice["status"] == "open":
                self.attempt(invoice)

    def portal_cancel(self, sub: dict) -> dict:
        if sub["status"] in ("canceled", "incomplete_expired", "incomplete"):
            raise ApiError(400, f"Subscription {sub['id']} is {sub['status']}; it cannot be canceled.")
        return self.set_cancel_at_period_end(sub, True)

    def portal_resume(self, sub: dict) -> dict:
        if sub["status"] in ("canceled", "incomplete_expired"):
            raise ApiError(400, f"Subscription {sub['id']} has ended; it cannot be renewed.")
        return self.set_cancel_at_period_end(sub, False)

    def portal_card(self, customer_id: str, number: str) -> dict:
        """Attach a card from the portal form; {"ok", "payment_method"} or {"ok": False, "message"}."""
        from .engine import luhn_ok
        number = "".join(number.split())
        if not number.isdigit() or not luhn_ok(number):
            return {"ok": False, "code": "incorrect_number", "message": "Your card number is incorrect."}
        problem = self.attach_problem(number)
        if problem:
            code, decline_code, message = problem
            return {"ok": False, "code": code, "decline_code": decline_code, "message": message}
        pm = self.update_card(self._customer(customer_id), number)
        return {"ok": True, "payment_method": pm}

    def update_card(self, customer: dict, number: str, name: str | None = None) -> dict:
        """The portal's "Update payment method": attach, make default everywhere, retry what is due."""
        pm = self.attach_card(customer, number, name)
        for sub in list(self.store.subscriptions.values()):
            if sub["customer"] == customer["id"] and sub["status"] not in ("canceled", "incomplete_expired"):
                self.update_subscription_fields(sub, {"default_payment_method": pm["id"]})
                self._retry_open_invoices(sub)
        return pm

    # --- the clock -------------------------------------------------------------------------------
    def _trial_will_end(self, sub: dict) -> None:
        self.store.sub_private[sub["id"]]["trial_will_end_sent"] = True
        self.emit("customer.subscription.trial_will_end", sub)

    def _due_actions(self) -> list[tuple[int, int, str, str]]:
        actions = []
        for sub in self.store.subscriptions.values():
            private = self.store.sub_private.get(sub["id"], {})
            if sub["status"] == "trialing" and sub["trial_end"] and not private.get("trial_will_end_sent"):
                actions.append((max(sub["trial_end"] - TRIAL_WILL_END_BEFORE, sub["created"]), 0,
                                "trial_will_end", sub["id"]))
            if sub["status"] in ("active", "trialing", "past_due", "unpaid") and sub["items"]["data"]:
                actions.append((sub["items"]["data"][0]["current_period_end"], 2, "period_end", sub["id"]))
        for invoice in self.store.invoices.values():
            if invoice["status"] == "open" and invoice["next_payment_attempt"]:
                actions.append((invoice["next_payment_attempt"], 1, "retry", invoice["id"]))
        return sorted(actions)

    def run_until(self, until: int) -> int:
        """Do every billing action due up to `until`, in time order, each at its own time."""
        done = 0
        for _ in range(10000):  # a bound, not a limit anyone should hit
            actions = [a for a in self._due_actions() if a[0] <= until]
            if not actions:
                break
            at, _, kind, object_id = actions[0]
            with self.store.frozen(at):
                if kind == "trial_will_end":
                    self._trial_will_end(self.store.subscriptions[object_id])
                elif kind == "retry":
                    self.attempt(self.store.invoices[object_id])
                else:
                    self._period_end(self.store.subscriptions[object_id])
            done += 1
        return done

    def _period_end(self, sub: dict) -> None:
        now = self.store.now()
        if sub["cancel_at_period_end"] or (sub["cancel_at"] is not None and sub["cancel_at"] <= now):
            self.cancel_now(sub, reason="cancellation_requested")
            return
        previous_items = copy.deepcopy(sub["items"])
        old_end = sub["items"]["data"][0]["current_period_end"]
        old_start = sub["items"]["data"][0]["current_period_start"]
        for item in sub["items"]["data"]:
            recurring = item["price"]["recurring"]
            start = item["current_period_end"]
            item.update(current_period_start=start, current_period_end=add_interval(
                start, recurring["interval"], recurring["interval_count"], sub["billing_cycle_anchor"]))
        item = sub["items"]["data"][0]
        invoice = self._new_invoice(sub, "subscription_cycle", old_start, old_end,
                                    item["current_period_start"], item["current_period_end"])
        changes = {"latest_invoice": invoice["id"]}
        if sub["status"] == "trialing":
            changes["status"] = "active"
        self.update_subscription_fields(sub, changes, extra_previous={"items": previous_items})
        if sub["status"] == "unpaid":
            return  # Stripe keeps creating invoices for unpaid subscriptions but does not charge them
        self._collect(invoice)

    # --- look-ups and lists ------------------------------------------------------------------------
    def get(self, kind: str, object_id: str, param: str = "id") -> dict:
        return self.engine.get(kind, object_id, param)

    def list_subscriptions(self, params: dict) -> list[dict]:
        subs = list(reversed(self.store.subscriptions.values()))
        if "customer" in params:
            subs = [s for s in subs if s["customer"] == params["customer"]]
        status = params.get("status")
        if status is None:
            subs = [s for s in subs if s["status"] not in ("canceled", "incomplete_expired")]
        elif status == "ended":
            subs = [s for s in subs if s["status"] in ("canceled", "incomplete_expired")]
        elif status != "all":
            subs = [s for s in subs if s["status"] == status]
        return subs

    def list_invoices(self, params: dict) -> list[dict]:
        invoices = list(reversed(self.store.invoices.values()))
        if "customer" in params:
            invoices = [i for i in invoices if i["customer"] == params["customer"]]
        if "subscription" in params:
            invoices = [i for i in invoices if _subscription_of(i) == params["subscription"]]
        if "status" in params:
            invoices = [i for i in invoices if i["status"] == params["status"]]
        return invoices

    def list_invoice_payments(self, params: dict) -> list[dict]:
        payments = list(reversed(self.store.invoice_payments.values()))
        if "invoice" in params:
            payments = [p for p in payments if p["invoice"] == params["invoice"]]
        wanted = params.get("payment", {})
        if "payment_intent" in wanted:
            payments = [p for p in payments if p["payment"]["payment_intent"] == wanted["payment_intent"]]
        if "status" in params:
            payments = [p for p in payments if p["status"] == params["status"]]
        return payments

    def invoice_payments_of(self, invoice_id: str) -> list[dict]:
        return [p for p in self.store.invoice_payments.values() if p["invoice"] == invoice_id]

    # --- customers and test clocks ------------------------------------------------------------------
    def update_customer(self, customer_id: str, params: dict, request: dict | None = None) -> dict:
        customer = self.get("customer", customer_id)
        if "email" in params and "@" not in params["email"]:
            raise ParamError(f"Invalid email address: {params['email']}", "email", "email_invalid")
        changes = {key: params[key] for key in ("email", "name", "description", "phone", "preferred_locales")
                   if key in params}
        if "metadata" in params:
            merged = {**customer["metadata"], **params["metadata"]}
            changes["metadata"] = {k: v for k, v in merged.items() if v != ""} if params["metadata"] else {}
        if "default_payment_method" in params.get("invoice_settings", {}):
            pm_id = params["invoice_settings"]["default_payment_method"]
            pm = self.store.payment_methods.get(pm_id)
            if pm is None or pm["customer"] != customer["id"]:
                raise ApiError(400, f"No such PaymentMethod: '{pm_id}'", code="resource_missing",
                               param="invoice_settings[default_payment_method]")
            changes["invoice_settings"] = {**customer["invoice_settings"], "default_payment_method": pm_id}
        previous = self._changed(customer, changes)
        if previous:
            self.emit("customer.updated", customer, previous, request)
        return customer

    def create_test_clock(self, params: dict) -> dict:
        """A test clock is a view of the sandbox's one clock: creating it at a later time moves
        that clock there; an earlier time is refused (the sandbox cannot go back)."""
        now = self.store.now()
        if params["frozen_time"] < now - 60:
            raise ParamError("The sandbox has one clock and cannot go back: frozen_time must not be before "
                             f"the sandbox's current time ({now}).", "frozen_time")
        self.advance_to(max(now, params["frozen_time"]))
        clock = {"id": objects.new_id("clock_"), "object": "test_helpers.test_clock", "created": self.store.now(),
                 "deletes_after": self.store.now() + 30 * DAY, "frozen_time": self.store.now(), "livemode": False,
                 "name": params.get("name"), "status": "ready", "status_details": {}}
        self.store.test_clocks[clock["id"]] = clock
        self.emit("test_helpers.test_clock.created", clock)
        return clock

    def advance_test_clock(self, clock_id: str, frozen_time: int) -> dict:
        clock = self.get("test_helpers.test_clock", clock_id)
        if frozen_time <= clock["frozen_time"]:
            raise ParamError("The frozen_time must be after the test clock's current frozen_time.", "frozen_time")
        clock["status"] = "advancing"
        self.emit("test_helpers.test_clock.advancing", clock)
        self.advance_to(max(frozen_time, self.store.now()))
        clock.update(status="ready", frozen_time=frozen_time)
        self.emit("test_helpers.test_clock.ready", clock)
        return clock

    def advance_to(self, target: int, param: str = "frozen_time") -> None:
        """Run everything due up to `target`, then set the sandbox clock to it (at most
        MAX_ADVANCE_DAYS ahead per call, a sandbox limit that keeps one call bounded)."""
        if target > self.store.now() + MAX_ADVANCE_DAYS * DAY:
            raise ParamError(f"The sandbox clock moves at most {MAX_ADVANCE_DAYS} days per call.", param)
        self.run_until(target)
        self.store.clock_offset = target - int(time.time())
        for clock in self.store.test_clocks.values():  # every clock shows the one sandbox time
            clock["frozen_time"] = max(clock["frozen_time"], target)

    # --- portal ----------------------------------------------------------------------------------
    def create_portal_session(self, params: dict) -> dict:
        customer = self.get("customer", params["customer"], "customer")
        url = params.get("return_url")
        if url is not None and not url.startswith(("http://", "https://")):
            raise ParamError("Not a valid URL", "return_url", "url_invalid")
        if "configuration" in params and params["configuration"] != "bpc_sandbox_default":
            raise not_found("configuration", params["configuration"], "configuration")
        session = bo.portal_session(customer=customer["id"], return_url=url, locale=params.get("locale"),
                                    created=self.store.now(), base_url=self.engine.base_url())
        self.store.portal_sessions[session["id"]] = session
        return session


def _subscription_of(invoice: dict) -> str | None:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return details.get("subscription")


def _spread(amount: int, amounts: list[int]) -> list[int]:
    total = sum(amounts)
    shares = [amount * a // total if total else 0 for a in amounts[:-1]]
    return shares + [amount - sum(shares)] if amounts else []

"""The hosted checkout page at `session.url` (`/c/pay/<cs_id>`): a plain HTML form, no JS.

It takes Stripe's test cards and test IBANs, shows declines in place (the session stays
open, as on Stripe), and on success waits briefly for the checkout.session.completed
webhook before redirecting to success_url, as Stripe Checkout does.
"""
from __future__ import annotations

import re
import time
from decimal import Decimal

from flask import Blueprint, abort, redirect, render_template, request

from .api import runtime
from .engine import TEST_CARDS, TEST_IBANS
from .errors import ApiError

bp = Blueprint("sandbox_hosted", __name__)

ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
                "vuv", "xaf", "xof", "xpf"}
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$"}


def format_money(amount: int, currency: str) -> str:
    value = Decimal(amount) if currency in ZERO_DECIMAL else Decimal(amount) / 100
    text = f"{value:,.0f}" if currency in ZERO_DECIMAL else f"{value:,.2f}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def _card_problem(form) -> str | None:
    """What Stripe.js would refuse in the browser, before anything reaches the API."""
    # "12 / 34" as the page formats it while typing; "1234" when typed without JavaScript.
    match = re.fullmatch(r"\s*(\d{1,2})\s*/?\s*(\d{2}|\d{4})\s*", form.get("card_expiry", ""))
    if not match:
        return "Your card's expiration date is incomplete."
    month, year = int(match[1]), int(match[2]) % 100 + 2000
    now = time.gmtime()
    if not 1 <= month <= 12 or (year, month) < (now.tm_year, now.tm_mon):
        return "Your card's expiration date is in the past."
    if not re.fullmatch(r"\d{3,4}", form.get("card_cvc", "").strip()):
        return "Your card's security code is incomplete."
    return None


def _page(session: dict, error: str | None = None, form=None, status: int = 200):
    rt = runtime()
    items = rt.store.line_items.get(session["id"], [])
    # Stripe's page shows the email it already knows: the session's, or its Customer's.
    customer = rt.store.customers.get(session.get("customer") or "")
    known_email = session["customer_email"] or (customer or {}).get("email")
    interval = recurring_amount = trial_days = None
    if session["mode"] == "subscription" and items:
        recurring = items[0]["price"]["recurring"]
        interval = recurring["interval"] if recurring["interval_count"] == 1 else \
            f"{recurring['interval_count']} {recurring['interval']}s"
        recurring_amount = format_money(sum(i["amount_subtotal"] for i in items), session["currency"])
        data = rt.store.session_subscription_data.get(session["id"], {})
        if data.get("trial_period_days"):
            trial_days = data["trial_period_days"]
        elif data.get("trial_end"):
            trial_days = max(1, round((data["trial_end"] - rt.store.now()) / 86400))
    return render_template(
        "sandbox/checkout.html", session=session, items=items, error=error, form=form or {},
        interval=interval, recurring_amount=recurring_amount, trial_days=trial_days,
        known_email=known_email, discounts=_discount_lines(session),
        total=format_money(session["amount_total"], session["currency"]), format_money=format_money,
        business=rt.settings["BUSINESS_NAME"], test_cards=TEST_CARDS, test_ibans=TEST_IBANS,
        methods=session["payment_method_types"]), status


def _discount_lines(session: dict) -> list[dict]:
    """What Checkout's summary shows under the subtotal: the coupon's name (its id when it has
    none) and the amount it takes off, as a negative amount ("SAVE20  −$20.00")."""
    amount = session["total_details"]["amount_discount"]
    lines = []
    for entry in session["discounts"]:
        coupon = runtime().store.coupons.get(entry["coupon"] or "") or {}
        lines.append({"name": coupon.get("name") or entry["coupon"],
                      "amount": "−" + format_money(amount, session["currency"])})
    return lines


@bp.get("/c/pay/<session_id>")
def show(session_id):
    rt = runtime()
    with rt.store.lock:
        rt.engine.sweep()
        session = rt.store.sessions.get(session_id) or abort(404)
        return _page(session)


@bp.post("/c/pay/<session_id>")
def pay(session_id):
    rt = runtime()
    form = request.form
    with rt.store.lock:
        rt.engine.sweep()
        session = rt.store.sessions.get(session_id) or abort(404)
        if session["status"] != "open":
            return _page(session)
        email = session["customer_email"] or form.get("email", "").strip()
        if "@" not in email:
            return _page(session, "Your email address is incomplete.", form)
        name = form.get("card_name", "").strip() or None
        try:
            if form.get("method") == "sepa_debit":
                iban = re.sub(r"\s", "", form.get("iban", "")).upper()
                if iban not in TEST_IBANS:
                    return _page(session, "Use one of the test IBANs shown below.", form)
                result = rt.engine.pay_delayed(session_id, TEST_IBANS[iban], email, name, iban)
            else:
                free = session["payment_status"] == "no_payment_required" and session["mode"] == "payment"
                problem = None if free else _card_problem(form)
                if problem:
                    return _page(session, problem, form)
                result = rt.engine.pay_card(session_id, form.get("card_number", ""), email, name)
        except ApiError as exc:
            return _page(session, exc.message, form)
        if not result["ok"]:
            return _page(session, result["message"], form)
    # Outside the lock: the webhook worker needs it to deliver what we wait for.
    rt.deliverer.wait_for_first_attempt(result["event"]["id"], float(rt.settings["REDIRECT_WAIT_SECONDS"]))
    if session["success_url"]:
        return redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id), 303)
    return _page(session)

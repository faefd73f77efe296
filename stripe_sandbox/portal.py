"""The hosted Customer Portal (`billing_portal.session.url` → `/p/session/<bps_id>`) and the
hosted invoice page (`invoice.hosted_invoice_url` → `/i/<in_id>`): plain HTML forms, no JS.

The portal lists the customer's subscriptions and invoices and lets them cancel at period
end, renew (undo the cancellation) and update the card; updating to a good card retries a
past-due subscription's open invoice at once, as Stripe does. Each button posts, then
redirects back to the page (post/redirect/get) with a short notice.
"""
from __future__ import annotations

import re
import time

from flask import Blueprint, abort, redirect, render_template, request, url_for

from .api import runtime
from .errors import ApiError
from .hosted import _card_problem, format_money

bp = Blueprint("sandbox_portal", __name__)

NOTICES = {"canceled": "Your plan will be canceled at the end of the billing period.",
           "renewed": "Your plan will renew.", "card": "Your payment method was updated."}


def _date(timestamp: int | None) -> str:
    return time.strftime("%b %d, %Y", time.gmtime(timestamp)) if timestamp else ""


def _subscription_rows(customer_id: str) -> list[dict]:
    rt = runtime()
    rows = []
    for sub in reversed(rt.store.subscriptions.values()):
        if sub["customer"] != customer_id:
            continue
        item = sub["items"]["data"][0]
        price = item["price"]
        recurring = price["recurring"]
        per = recurring["interval"] if recurring["interval_count"] == 1 else \
            f"{recurring['interval_count']} {recurring['interval']}s"
        if sub["status"] == "canceled":
            when = f"Ended {_date(sub['ended_at'])}"
        elif sub["cancel_at_period_end"]:
            when = f"Cancels {_date(sub['cancel_at'])}"
        elif sub["status"] == "trialing":
            when = f"Trial ends {_date(sub['trial_end'])}"
        else:
            when = f"Renews {_date(item['current_period_end'])}"
        rows.append({"sub": sub, "name": rt.store.product_names.get(price["product"], "Subscription"),
                     "price": f"{format_money(price['unit_amount'] * item['quantity'], price['currency'])} per {per}",
                     "when": when, "active": sub["status"] not in ("canceled", "incomplete_expired", "incomplete")})
    return rows


def _page(portal: dict, error: str | None = None, status: int = 200):
    rt = runtime()
    customer = rt.store.customers[portal["customer"]]
    pm = rt.store.payment_methods.get(customer["invoice_settings"]["default_payment_method"] or "")
    invoices = [i for i in reversed(rt.store.invoices.values()) if i["customer"] == customer["id"]]
    return render_template(
        "sandbox/portal.html", portal=portal, customer=customer, pm=pm, subscriptions=_subscription_rows(customer["id"]),
        invoices=invoices, error=error, notice=NOTICES.get(request.args.get("done", "")), date=_date,
        format_money=format_money, business=rt.settings["BUSINESS_NAME"]), status


def _portal(portal_id: str) -> dict:
    return runtime().store.portal_sessions.get(portal_id) or abort(404)


@bp.get("/p/session/<portal_id>")
def show(portal_id):
    rt = runtime()
    with rt.store.lock:
        rt.engine.sweep()
        return _page(_portal(portal_id))


def _own_subscription(portal: dict) -> dict:
    sub = runtime().store.subscriptions.get(request.form.get("subscription", ""))
    if sub is None or sub["customer"] != portal["customer"]:
        abort(404)
    return sub


@bp.post("/p/session/<portal_id>/cancel")
def cancel(portal_id):
    rt = runtime()
    with rt.store.lock:
        portal = _portal(portal_id)
        try:
            rt.engine.billing.portal_cancel(_own_subscription(portal))
        except ApiError as exc:
            return _page(portal, exc.message, 400)
    return redirect(url_for("sandbox_portal.show", portal_id=portal_id, done="canceled"), 303)


@bp.post("/p/session/<portal_id>/resume")
def resume(portal_id):
    rt = runtime()
    with rt.store.lock:
        portal = _portal(portal_id)
        try:
            rt.engine.billing.portal_resume(_own_subscription(portal))
        except ApiError as exc:
            return _page(portal, exc.message, 400)
    return redirect(url_for("sandbox_portal.show", portal_id=portal_id, done="renewed"), 303)


@bp.post("/p/session/<portal_id>/card")
def card(portal_id):
    rt = runtime()
    with rt.store.lock:
        portal = _portal(portal_id)
        problem = _card_problem(request.form)
        if problem:
            return _page(portal, problem, 400)
        result = rt.engine.billing.portal_card(portal["customer"], re.sub(r"\s", "", request.form.get("card_number", "")))
        if not result["ok"]:
            return _page(portal, result["message"], 402)
    return redirect(url_for("sandbox_portal.show", portal_id=portal_id, done="card"), 303)


@bp.get("/i/<invoice_id>")
def invoice_page(invoice_id):
    rt = runtime()
    with rt.store.lock:
        invoice = rt.store.invoices.get(invoice_id) or abort(404)
        return render_template("sandbox/invoice.html", invoice=invoice, date=_date, format_money=format_money,
                               business=rt.settings["BUSINESS_NAME"])

"""`/_sandbox/...`: what Stripe's dashboard, banks and time would do, on demand.

JSON in, JSON out (form posts from the events page redirect back to it). Examples:
    POST /_sandbox/checkout/sessions/<cs>/pay          {"card": "4242424242424242"}
    POST /_sandbox/checkout/sessions/<cs>/pay          {"method": "delayed", "outcome": "failed"}
    POST /_sandbox/checkout/sessions/<cs>/settle       {"outcome": "succeeded"}   (optional)
    POST /_sandbox/payment_intents/<pi>/refund         {"amount": 500, "pending": true}
    POST /_sandbox/refunds/<re>/settle                 {"outcome": "failed"}
    POST /_sandbox/payment_intents/<pi>/dispute        {"reason": "fraudulent"}
    POST /_sandbox/disputes/<dp>/close                 {"outcome": "won|lost|warning_closed"}
    POST /_sandbox/events/<evt>/resend                 {"url": "..."}             (optional)
    POST /_sandbox/webhooks/pause | /_sandbox/webhooks/resume
    POST /_sandbox/events/deliver_out_of_order         {"events": [...]}          (optional)
    POST /_sandbox/clock/advance                       {"seconds": 3600} | {"days": 30} | {"to": <unix>}
    GET  /_sandbox/clock
    POST /_sandbox/billing/settings                    {"after_final_retry": "canceled|unpaid|past_due"}
    POST /_sandbox/portal/<bps>/cancel | /resume       {"subscription": "sub_..."}
    POST /_sandbox/portal/<bps>/card                   {"card": "4000000000000341"}
    POST /_sandbox/sweep | /_sandbox/reset
"""
from __future__ import annotations

import time

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from .api import runtime
from .errors import ApiError, ParamError

bp = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")


def _body() -> dict:
    return request.get_json(silent=True) or request.form.to_dict()


def _answer(payload):
    if request.form.get("_back"):  # a button on the events page
        return redirect(url_for("sandbox_control.events_page"), 303)
    return jsonify(payload)


def _int(body: dict, key: str) -> int | None:
    value = body.get(key)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ParamError(f"{key} must be an integer", key) from None


@bp.post("/reset")
def reset():
    runtime().reset()
    return _answer({"reset": True})


@bp.post("/checkout/sessions/<session_id>/pay")
def pay(session_id):
    body, engine = _body(), runtime().engine
    if body.get("method") == "delayed":
        result = engine.pay_delayed(session_id, body.get("outcome", "succeeded"), body.get("email"))
    else:
        result = engine.pay_card(session_id, body.get("card", "4242424242424242"), body.get("email"))
    if not result["ok"]:
        result["session"] = engine.get("checkout.session", session_id)
        return jsonify(result), 402
    return _answer({"ok": True, "session": engine.get("checkout.session", session_id)})


@bp.post("/checkout/sessions/<session_id>/settle")
def settle(session_id):
    return _answer(runtime().engine.settle(session_id, _body().get("outcome")))


@bp.post("/checkout/sessions/<session_id>/expire")
def expire(session_id):
    return _answer(runtime().engine.expire_session(session_id))


@bp.post("/payment_intents/<intent_id>/refund")
def refund(intent_id):
    body = _body()
    params = {"payment_intent": intent_id, "metadata": body.get("metadata") or {}}
    if _int(body, "amount") is not None:
        params["amount"] = _int(body, "amount")
    if body.get("reason"):
        params["reason"] = body["reason"]
    return _answer(runtime().engine.refund(params, pending=bool(body.get("pending"))))


@bp.post("/refunds/<refund_id>/settle")
def settle_refund(refund_id):
    return _answer(runtime().engine.finish_refund(refund_id, _body().get("outcome", "succeeded")))


@bp.post("/payment_intents/<intent_id>/dispute")
def open_dispute(intent_id):
    body = _body()
    return _answer(runtime().engine.open_dispute(intent_id, body.get("reason", "fraudulent"), _int(body, "amount")))


@bp.post("/disputes/<dispute_id>/close")
def close_dispute(dispute_id):
    return _answer(runtime().engine.close_dispute(dispute_id, _body().get("outcome", "won")))


@bp.post("/events/<event_id>/resend")
def resend(event_id):
    rt = runtime()
    with rt.store.lock:
        rt.engine.get("event", event_id)
        url = _body().get("url")
        deliveries = rt.deliverer.enqueue(event_id, [url] if url else None)
        return _answer({"event": event_id, "deliveries": [d.id for d in deliveries]})


@bp.post("/webhooks/pause")
def pause():
    rt = runtime()
    with rt.store.changed:
        rt.store.webhooks_paused = True
    return _answer({"paused": True})


@bp.post("/webhooks/resume")
def resume():
    rt = runtime()
    with rt.store.changed:
        rt.store.webhooks_paused = False
        rt.store.changed.notify_all()
    return _answer({"paused": False})


@bp.post("/events/deliver_out_of_order")
def deliver_out_of_order():
    """Send held deliveries (or the given events again) newest first, then resume delivery."""
    rt = runtime()
    with rt.store.changed:
        wanted = _body().get("events")
        if wanted:
            for event_id in wanted:
                rt.engine.get("event", event_id)
            jobs = [job for event_id in wanted for job in rt.deliverer.enqueue(event_id)]
        else:
            jobs = sorted((d for d in rt.store.deliveries.values() if d.status == "pending" and not d.attempts),
                          key=lambda d: d.seq)
        now = time.monotonic()
        for job in reversed(jobs):  # reversed order of creation = out of order
            job.next_at, job.seq = now, rt.store.next_seq()
        rt.store.webhooks_paused = False
        rt.store.changed.notify_all()
        return _answer({"order": [job.event_id for job in reversed(jobs)]})


def advance(rt, seconds: int = 0, days: int = 0, to: int | None = None) -> dict:
    """Move the sandbox clock forward and do every billing action due meanwhile, in order."""
    with rt.store.lock:
        target = to if to is not None else rt.store.now() + int(seconds) + int(days) * 86400
        if target < rt.store.now():
            raise ParamError("The clock only moves forward.", "to")
        rt.engine.billing.advance_to(target, "to" if to is not None else "days")  # each due action at its own time
        rt.engine.sweep()
        return {"now": rt.store.now(), "offset": rt.store.clock_offset}


@bp.post("/clock/advance")
def advance_clock():
    body = _body()
    return _answer(advance(runtime(), _int(body, "seconds") or 0, _int(body, "days") or 0, _int(body, "to")))


@bp.get("/clock")
def clock():
    return jsonify({"now": runtime().store.now(), "offset": runtime().store.clock_offset})


@bp.post("/billing/settings")
def billing_settings():
    rt = runtime()
    body = _body()
    with rt.store.lock:
        if "after_final_retry" in body:
            from .billing import AFTER_FINAL_RETRY
            if body["after_final_retry"] not in AFTER_FINAL_RETRY:
                raise ParamError(f"after_final_retry must be one of {', '.join(AFTER_FINAL_RETRY)}",
                                 "after_final_retry")
            rt.store.billing_settings["after_final_retry"] = body["after_final_retry"]
        return _answer(dict(rt.store.billing_settings))


def _portal_subscription(rt, portal_id: str, sub_id: str | None) -> dict:
    session = rt.engine.get("billing_portal.session", portal_id)
    sub = rt.engine.get("subscription", sub_id or "", "subscription")
    if sub["customer"] != session["customer"]:
        raise ApiError(404, f"No such subscription: '{sub_id}'", code="resource_missing", param="subscription")
    return sub


@bp.post("/portal/<portal_id>/cancel")
def portal_cancel(portal_id):
    rt = runtime()
    with rt.store.lock:
        sub = _portal_subscription(rt, portal_id, _body().get("subscription"))
        return _answer(rt.engine.billing.portal_cancel(sub))


@bp.post("/portal/<portal_id>/resume")
def portal_resume(portal_id):
    rt = runtime()
    with rt.store.lock:
        sub = _portal_subscription(rt, portal_id, _body().get("subscription"))
        return _answer(rt.engine.billing.portal_resume(sub))


@bp.post("/portal/<portal_id>/card")
def portal_card(portal_id):
    rt = runtime()
    with rt.store.lock:
        session = rt.engine.get("billing_portal.session", portal_id)
        result = rt.engine.billing.portal_card(session["customer"], _body().get("card", ""))
        if not result["ok"]:
            return jsonify(result), 402
        return _answer(result)


@bp.post("/sweep")
def sweep():
    runtime().engine.sweep()
    return _answer({"now": runtime().store.now()})


@bp.get("/")
def index():
    return redirect(url_for("sandbox_control.events_page"))


def _event_rows() -> list[dict]:
    rt = runtime()
    rows = []
    for event in reversed(rt.store.events.values()):
        deliveries = [d for d in rt.store.deliveries.values() if d.event_id == event["id"]]
        rows.append({"event": event, "object_id": event["data"]["object"].get("id"),
                     "pending": rt.store.pending_webhooks(event["id"]),
                     "deliveries": [{"url": d.url, "status": d.status, "attempts": list(d.attempts)}
                                    for d in deliveries]})
    return rows


@bp.get("/events")
def events_page():
    rt = runtime()
    with rt.store.lock:
        rows = _event_rows()
        return render_template("sandbox/events.html", rows=rows, urls=rt.settings["WEBHOOK_URLS"],
                               paused=rt.store.webhooks_paused, now=rt.store.now(),
                               fmt=lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)))


@bp.get("/events.json")
def events_json():
    with runtime().store.lock:
        return jsonify([{**row, "event": row["event"]["id"], "type": row["event"]["type"]} for row in _event_rows()])


@bp.errorhandler(ApiError)
def control_error(exc: ApiError):
    return jsonify(exc.envelope()), exc.status

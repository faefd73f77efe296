"""The `/v1` API: form-encoded requests, Stripe's JSON objects, errors and idempotency."""
from __future__ import annotations

import base64
import json

from flask import Blueprint, Response, current_app, g, request

from . import params as p
from .errors import ApiError, ParamError
from .objects import new_id

bp = Blueprint("sandbox_api", __name__, url_prefix="/v1")

_METADATA_AND_EXPAND = {"metadata": p.metadata, "expand": p.EXPAND}
SESSION_CREATE = p.obj({
    "mode": p.one_of("payment", "setup", "subscription"),
    "line_items": p.array(p.obj({
        "quantity": p.integer(1),
        "price": p.string(),
        "price_data": p.obj({
            "currency": p.string(3),
            "unit_amount": p.integer(0),
            "tax_behavior": p.one_of("exclusive", "inclusive", "unspecified"),
            "recurring": p.obj({"interval": p.one_of("day", "week", "month", "year"),
                                "interval_count": p.integer(1)}, required=["interval"]),
            "product_data": p.obj({"name": p.string(250), "description": p.string(), "images": p.array(p.string()),
                                   "metadata": p.metadata}, required=["name"]),
        }, required=["currency", "unit_amount", "product_data"]),
    })),
    "success_url": p.string(5000),
    "cancel_url": p.string(5000),
    "client_reference_id": p.string(200),
    "customer": p.string(),
    "customer_email": p.string(800),
    "expires_at": p.integer(),
    "locale": p.string(10),
    "payment_method_types": p.array(p.one_of("card", "sepa_debit")),
    "payment_intent_data": p.obj({"metadata": p.metadata, "description": p.string(1000),
                                  "receipt_email": p.string(800), "statement_descriptor_suffix": p.string(22)}),
    "submit_type": p.one_of("auto", "book", "donate", "pay", "subscribe"),
    "ui_mode": p.one_of("hosted_page"),
    "billing_address_collection": p.one_of("auto", "required"),
    "allow_promotion_codes": p.boolean,
    "discounts": p.array(p.obj({"coupon": p.string(), "promotion_code": p.string()})),
    "customer_creation": p.one_of("always", "if_required"),
    "payment_method_collection": p.one_of("always", "if_required"),
    "subscription_data": p.obj({"trial_period_days": p.integer(1, 730), "trial_end": p.integer(),
                                "metadata": p.metadata, "description": p.string(500)}),
    **_METADATA_AND_EXPAND,
}, required=["mode"])
COUPON_CREATE = p.obj({
    "id": p.string(200), "name": p.string(40), "amount_off": p.integer(1), "currency": p.string(3),
    "percent_off": p.decimal, "duration": p.one_of("forever", "once", "repeating"),
    "duration_in_months": p.integer(1), "max_redemptions": p.integer(1), "redeem_by": p.integer(),
    **_METADATA_AND_EXPAND,
})
_CUSTOMER_FIELDS = {
    "email": p.string(512), "name": p.string(256), "description": p.string(350), "phone": p.string(20),
    "preferred_locales": p.array(p.string(20)), **_METADATA_AND_EXPAND,
}
CUSTOMER_CREATE = p.obj({**_CUSTOMER_FIELDS, "test_clock": p.string()})
CUSTOMER_UPDATE = p.obj({**_CUSTOMER_FIELDS, "invoice_settings": p.obj({"default_payment_method": p.string()})})
TEST_CLOCK_CREATE = p.obj({"frozen_time": p.integer(), "name": p.string(300), "expand": p.EXPAND},
                          required=["frozen_time"])
TEST_CLOCK_ADVANCE = p.obj({"frozen_time": p.integer(), "expand": p.EXPAND}, required=["frozen_time"])
EXPAND_ONLY = p.obj({"expand": p.EXPAND})
REFUND_CREATE = p.obj({
    "payment_intent": p.string(), "charge": p.string(), "amount": p.integer(1),
    "reason": p.one_of("duplicate", "fraudulent", "requested_by_customer"), **_METADATA_AND_EXPAND,
})


LIST_PAGING = {"limit": p.integer(1, 100), "starting_after": p.string(), "ending_before": p.string(),
               "expand": p.EXPAND}
SUBSCRIPTIONS_LIST = p.obj({"customer": p.string(), "status": p.one_of(
    "active", "all", "canceled", "ended", "incomplete", "incomplete_expired", "past_due", "paused", "trialing",
    "unpaid"), "price": p.string(), **LIST_PAGING})
CANCELLATION_DETAILS = p.obj({"comment": p.string(5000), "feedback": p.one_of(
    "customer_service", "low_quality", "missing_features", "other", "switched_service", "too_complex",
    "too_expensive", "unused")})
SUBSCRIPTION_UPDATE = p.obj({
    "cancel_at_period_end": p.boolean, "default_payment_method": p.string(), "description": p.string(500),
    "cancellation_details": CANCELLATION_DETAILS,
    "proration_behavior": p.one_of("always_invoice", "create_prorations", "none"), **_METADATA_AND_EXPAND,
})
SUBSCRIPTION_CANCEL = p.obj({"invoice_now": p.boolean, "prorate": p.boolean,
                             "cancellation_details": CANCELLATION_DETAILS, "expand": p.EXPAND})
INVOICES_LIST = p.obj({"customer": p.string(), "subscription": p.string(), "status": p.one_of(
    "draft", "open", "paid", "uncollectible", "void"), "collection_method": p.one_of(
    "charge_automatically", "send_invoice"), **LIST_PAGING})
INVOICE_PAYMENTS_LIST = p.obj({"invoice": p.string(), "status": p.one_of("canceled", "open", "paid"),
                               "payment": p.obj({"type": p.one_of("payment_intent", "payment_record"),
                                                 "payment_intent": p.string()}, required=["type"]),
                               **LIST_PAGING})
INVOICE_PAY = p.obj({"payment_method": p.string(), "off_session": p.boolean, "expand": p.EXPAND})
PAYMENT_METHODS_LIST = p.obj({"customer": p.string(), "type": p.string(), **LIST_PAGING})
PORTAL_SESSION_CREATE = p.obj({"customer": p.string(), "return_url": p.string(5000), "locale": p.string(10),
                               "configuration": p.string(), "on_behalf_of": p.string(),
                               "expand": p.EXPAND}, required=["customer"])


def _created_filter(value, param):
    if isinstance(value, str):
        number = p.integer()(value, param)
        return {"gte": number, "lte": number}
    return p.obj({op: p.integer() for op in ("gt", "gte", "lt", "lte")})(value, param)


EVENTS_LIST = p.obj({
    "type": p.string(), "types": p.array(p.string()), "created": _created_filter,
    "delivery_success": p.boolean, "limit": p.integer(1, 100), "starting_after": p.string(),
    "ending_before": p.string(), "expand": p.EXPAND,
})


def runtime():
    return current_app.extensions["stripe_sandbox"]


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body, indent=2), status=status, mimetype="application/json")


def _params(spec) -> dict:
    pairs = list(request.args.items(multi=True)) + list(request.form.items(multi=True))
    return p.parse(spec, p.decode(pairs))


def _request_info() -> dict:
    return {"id": g.request_id, "idempotency_key": request.headers.get("Idempotency-Key")}


def _api_key() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":  # `curl -u sk_test_…:` as in Stripe's docs
        try:
            return base64.b64decode(value).decode().partition(":")[0]
        except ValueError:
            return None
    return None


@bp.before_request
def authenticate():
    g.request_id = new_id("req_", 14)
    key = _api_key()
    if not key:
        raise ApiError(401, "You did not provide an API key. Provide it in the Authorization header "
                            "(Authorization: Bearer YOUR_SECRET_KEY).")
    if not key.startswith("sk_test_") or len(key) < 12:
        masked = key[:8] + "*" * max(0, len(key) - 12) + key[-4:]
        raise ApiError(401, f"Invalid API Key provided: {masked}")
    # Expiry is exact from the API's point of view, whatever the worker's sweep interval.
    if not runtime().settings.get("PUBLIC_BASE_URL"):
        runtime().engine.last_base_url = request.host_url.rstrip("/")
    runtime().engine.sweep()


@bp.after_app_request
def add_request_id(response: Response) -> Response:
    if request.path.startswith("/v1") and "request_id" in g:
        response.headers["Request-Id"] = g.request_id
        response.headers["Stripe-Version"] = runtime().settings["API_VERSION"]
    return response


def _idempotent(compute) -> Response:
    """Same key + same parameters: the first response again. Other parameters: 400."""
    rt = runtime()
    key = request.headers.get("Idempotency-Key")
    if key is not None and len(key) > 255:
        raise ParamError("Idempotency keys must be at most 255 characters.", None, "idempotency_key_in_use")
    with rt.store.lock:  # one request per key at a time, and the replay is exact
        fingerprint = [request.method, request.path,
                       sorted(list(request.args.items(multi=True)) + list(request.form.items(multi=True)))]
        saved = rt.store.idempotency.get(key) if key else None
        if saved is not None:
            if saved["fingerprint"] != fingerprint:
                raise ApiError(400, "Keys for idempotent requests can only be used with the same parameters "
                                    f"they were first used with. Try using a key other than '{key}' if you "
                                    "meant to execute a different request.", type_="idempotency_error")
            response = _json(saved["body"], saved["status"])
            response.headers["Idempotent-Replayed"] = "true"
            response.headers["Original-Request"] = saved["request_id"]
            return response
        try:
            body, status = compute(), 200
        except ApiError as exc:
            if key is None or not exc.remembered:
                raise
            body, status = exc.envelope(), exc.status
        if key is not None:
            rt.store.idempotency[key] = {"fingerprint": fingerprint, "body": body, "status": status,
                                         "request_id": g.request_id}
        response = _json(body, status)
        if key is not None:
            response.headers["Idempotency-Key"] = key
        return response


def _base_url() -> str:
    return (runtime().settings.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")


@bp.post("/customers")
def create_customer():
    def compute():
        params = _params(CUSTOMER_CREATE)
        return runtime().engine.render(runtime().engine.create_customer(params), params.get("expand"))
    return _idempotent(compute)


@bp.get("/customers/<customer_id>")
def retrieve_customer(customer_id):
    return _retrieve("customer", customer_id)


@bp.post("/customers/<customer_id>")
def update_customer(customer_id):
    def compute():
        params = _params(CUSTOMER_UPDATE)
        rt = runtime()
        with rt.store.lock:
            return rt.engine.render(rt.engine.billing.update_customer(customer_id, params, _request_info()),
                                    params.get("expand"))
    return _idempotent(compute)


# Test clocks: views of the sandbox's one clock (docs/stripe.md, "Billing").
@bp.post("/test_helpers/test_clocks")
def create_test_clock():
    def compute():
        params = _params(TEST_CLOCK_CREATE)
        rt = runtime()
        with rt.store.lock:
            return rt.engine.render(rt.engine.billing.create_test_clock(params), params.get("expand"))
    return _idempotent(compute)


@bp.get("/test_helpers/test_clocks/<clock_id>")
def retrieve_test_clock(clock_id):
    return _retrieve("test_helpers.test_clock", clock_id)


@bp.get("/test_helpers/test_clocks")
def list_test_clocks():
    rt = runtime()
    params = _params(p.obj(LIST_PAGING))
    with rt.store.lock:
        return _list(list(reversed(rt.store.test_clocks.values())), params, "/v1/test_helpers/test_clocks")


@bp.post("/test_helpers/test_clocks/<clock_id>/advance")
def advance_test_clock(clock_id):
    def compute():
        params = _params(TEST_CLOCK_ADVANCE)
        rt = runtime()
        with rt.store.lock:
            clock = rt.engine.billing.advance_test_clock(clock_id, params["frozen_time"])
            return rt.engine.render(clock, params.get("expand"))
    return _idempotent(compute)


@bp.delete("/test_helpers/test_clocks/<clock_id>")
def delete_test_clock(clock_id):
    rt = runtime()
    with rt.store.lock:
        clock = rt.store.test_clocks.pop(rt.engine.get("test_helpers.test_clock", clock_id)["id"])
        return _json({"id": clock["id"], "object": "test_helpers.test_clock", "deleted": True})


@bp.post("/coupons")
def create_coupon():
    def compute():
        params = _params(COUPON_CREATE)
        return runtime().engine.render(runtime().engine.create_coupon(params), params.get("expand"))
    return _idempotent(compute)


@bp.get("/coupons/<coupon_id>")
def retrieve_coupon(coupon_id):
    return _retrieve("coupon", coupon_id)


@bp.delete("/coupons/<coupon_id>")
def delete_coupon(coupon_id):
    return _json(runtime().engine.delete_coupon(coupon_id))


@bp.post("/checkout/sessions")
def create_session():
    def compute():
        params = _params(SESSION_CREATE)
        session = runtime().engine.create_session(params, _base_url(), _request_info())
        return runtime().engine.render(session, params.get("expand"))
    return _idempotent(compute)


def _retrieve(kind: str, object_id: str, param: str = "id") -> Response:
    rt = runtime()
    params = _params(EXPAND_ONLY)
    with rt.store.lock:
        return _json(rt.engine.render(rt.engine.get(kind, object_id, param), params.get("expand")))


@bp.get("/checkout/sessions/<session_id>")
def retrieve_session(session_id):
    return _retrieve("checkout.session", session_id, "session")


@bp.post("/checkout/sessions/<session_id>/expire")
def expire_session(session_id):
    def compute():
        params = _params(EXPAND_ONLY)
        session = runtime().engine.expire_session(session_id, _request_info())
        return runtime().engine.render(session, params.get("expand"))
    return _idempotent(compute)


@bp.get("/payment_intents/<intent_id>")
def retrieve_payment_intent(intent_id):
    return _retrieve("payment_intent", intent_id, "intent")


@bp.get("/charges/<charge_id>")
def retrieve_charge(charge_id):
    return _retrieve("charge", charge_id, "charge")


@bp.post("/refunds")
def create_refund():
    def compute():
        params = _params(REFUND_CREATE)
        refund = runtime().engine.refund(params, _request_info())
        return runtime().engine.render(refund, params.get("expand"))
    return _idempotent(compute)


@bp.get("/refunds/<refund_id>")
def retrieve_refund(refund_id):
    return _retrieve("refund", refund_id, "refund")


@bp.get("/disputes/<dispute_id>")
def retrieve_dispute(dispute_id):
    return _retrieve("dispute", dispute_id, "dispute")


@bp.get("/events/<event_id>")
def retrieve_event(event_id):
    return _retrieve("event", event_id)


@bp.get("/events")
def list_events():
    rt = runtime()
    params = _params(EVENTS_LIST)
    with rt.store.lock:
        events = list(reversed(rt.store.events.values()))  # newest first, as Stripe lists
        if "type" in params:
            events = [e for e in events if _type_matches(e["type"], params["type"])]
        if params.get("types"):
            events = [e for e in events if e["type"] in params["types"]]
        if "delivery_success" in params:
            # Stripe: false = still pending or failed for at least one endpoint.
            events = [e for e in events if (rt.store.pending_webhooks(e["id"]) == 0) == params["delivery_success"]]
        bounds = params.get("created", {})
        checks = {"gt": lambda c, v: c > v, "gte": lambda c, v: c >= v,
                  "lt": lambda c, v: c < v, "lte": lambda c, v: c <= v}
        events = [e for e in events if all(checks[op](e["created"], v) for op, v in bounds.items())]
        ids = [e["id"] for e in events]
        limit = params.get("limit", 10)
        if "starting_after" in params:
            rest = events[ids.index(params["starting_after"]) + 1:] if params["starting_after"] in ids else []
            chosen, has_more = rest[:limit], len(rest) > limit
        elif "ending_before" in params:
            # The page just before the cursor (newer events), still newest first.
            before = events[:ids.index(params["ending_before"])] if params["ending_before"] in ids else []
            chosen, has_more = before[-limit:], len(before) > limit
        else:
            chosen, has_more = events[:limit], len(events) > limit
        page = [rt.engine.render(e) for e in chosen]
        return _json({"object": "list", "data": page, "has_more": has_more, "url": "/v1/events"})


# --- Billing --------------------------------------------------------------------------------
def _list(objs: list[dict], params: dict, url: str) -> Response:
    """A Stripe list page (objects newest first) with limit / starting_after / ending_before."""
    engine = runtime().engine
    ids = [o["id"] for o in objs]
    limit = params.get("limit", 10)
    if "starting_after" in params:
        rest = objs[ids.index(params["starting_after"]) + 1:] if params["starting_after"] in ids else []
        chosen, has_more = rest[:limit], len(rest) > limit
    elif "ending_before" in params:
        before = objs[:ids.index(params["ending_before"])] if params["ending_before"] in ids else []
        chosen, has_more = before[-limit:], len(before) > limit
    else:
        chosen, has_more = objs[:limit], len(objs) > limit
    expand = [path[len("data."):] for path in params.get("expand", []) if path.startswith("data.")]
    return _json({"object": "list", "data": [engine.render(o, expand) for o in chosen], "has_more": has_more,
                  "url": url})


@bp.get("/subscriptions/<sub_id>")
def retrieve_subscription(sub_id):
    return _retrieve("subscription", sub_id)


@bp.get("/subscriptions")
def list_subscriptions():
    rt = runtime()
    params = _params(SUBSCRIPTIONS_LIST)
    with rt.store.lock:
        return _list(rt.engine.billing.list_subscriptions(params), params, "/v1/subscriptions")


@bp.post("/subscriptions/<sub_id>")
def update_subscription(sub_id):
    def compute():
        params = _params(SUBSCRIPTION_UPDATE)
        rt = runtime()
        with rt.store.lock:
            sub = rt.engine.billing.update(sub_id, params, _request_info())
            return rt.engine.render(sub, params.get("expand"))
    return _idempotent(compute)


@bp.delete("/subscriptions/<sub_id>")
def cancel_subscription(sub_id):
    def compute():
        params = _params(SUBSCRIPTION_CANCEL)
        rt = runtime()
        with rt.store.lock:
            sub = rt.engine.get("subscription", sub_id)
            rt.engine.billing.cancel_now(sub, details=params.get("cancellation_details"), request=_request_info())
            return rt.engine.render(sub, params.get("expand"))
    return _idempotent(compute)


@bp.get("/invoices/<invoice_id>")
def retrieve_invoice(invoice_id):
    return _retrieve("invoice", invoice_id, "invoice")


@bp.get("/invoices")
def list_invoices():
    rt = runtime()
    params = _params(INVOICES_LIST)
    with rt.store.lock:
        return _list(rt.engine.billing.list_invoices(params), params, "/v1/invoices")


@bp.get("/invoices/<invoice_id>/lines")
def list_invoice_lines(invoice_id):
    rt = runtime()
    params = _params(p.obj(LIST_PAGING))
    with rt.store.lock:
        invoice = rt.engine.get("invoice", invoice_id, "invoice")
        return _list(list(invoice["lines"]["data"]), params, f"/v1/invoices/{invoice_id}/lines")


@bp.post("/invoices/<invoice_id>/pay")
def pay_invoice(invoice_id):
    def compute():
        params = _params(INVOICE_PAY)
        rt = runtime()
        with rt.store.lock:
            if "payment_method" in params:
                raise ParamError("The sandbox pays invoices with the subscription's default payment method only.",
                                 "payment_method")
            return rt.engine.render(rt.engine.billing.pay_invoice(invoice_id), params.get("expand"))
    return _idempotent(compute)


@bp.get("/invoice_payments/<payment_id>")
def retrieve_invoice_payment(payment_id):
    return _retrieve("invoice_payment", payment_id)


@bp.get("/invoice_payments")
def list_invoice_payments():
    rt = runtime()
    params = _params(INVOICE_PAYMENTS_LIST)
    with rt.store.lock:
        return _list(rt.engine.billing.list_invoice_payments(params), params, "/v1/invoice_payments")


@bp.get("/payment_methods/<pm_id>")
def retrieve_payment_method(pm_id):
    return _retrieve("PaymentMethod", pm_id)


@bp.get("/payment_methods")
def list_payment_methods():
    rt = runtime()
    params = _params(PAYMENT_METHODS_LIST)
    with rt.store.lock:
        methods = [pm for pm in reversed(rt.store.payment_methods.values())
                   if params.get("customer") in (None, pm["customer"]) and params.get("type") in (None, pm["type"])]
        return _list(methods, params, "/v1/payment_methods")


@bp.post("/billing_portal/sessions")
def create_portal_session():
    def compute():
        params = _params(PORTAL_SESSION_CREATE)
        rt = runtime()
        with rt.store.lock:
            session = rt.engine.billing.create_portal_session(params)
            return rt.engine.render(session, params.get("expand"))
    return _idempotent(compute)


def _type_matches(event_type: str, pattern: str) -> bool:
    if pattern.endswith("*"):  # Stripe allows `charge.dispute.*`
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


def api_error_response(exc: ApiError) -> Response:
    return _json(exc.envelope(), exc.status)

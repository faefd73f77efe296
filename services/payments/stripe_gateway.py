"""The only module that talks to Stripe (or the local sandbox, through the same library).

It builds one `stripe.StripeClient` per app from config (key, API base, pinned version,
retries, timeout), wraps the few calls the app makes, and turns every Stripe error into
`StripeGatewayError` with a message that is safe to show and the Stripe request id for the
logs. Stripe's own error text goes to the log, never to a page.
"""
from __future__ import annotations

import logging
import time

import stripe
from flask import current_app

log = logging.getLogger(__name__)

DEFAULT_TOLERANCE = 300  # seconds; stripe-python skips the age check entirely when given 0

MSG_UNAVAILABLE = "Payments are temporarily unavailable. Please try again in a few minutes."
MSG_GENERIC = "We could not complete this payment request. Please try again, or contact support."


class StripeGatewayError(Exception):
    """A Stripe call failed. `user_message` is ours and safe to show; `code` is for code."""

    def __init__(self, user_message: str, code: str, request_id: str | None = None,
                 http_status: int | None = None, stripe_code: str | None = None,
                 param: str | None = None) -> None:
        super().__init__(f"{code}: {user_message}" + (f" (request {request_id})" if request_id else ""))
        self.user_message = user_message
        self.code = code
        self.request_id = request_id
        self.http_status = http_status
        self.stripe_code = stripe_code
        self.param = param  # the request parameter Stripe named, if any (e.g. "discounts[0][coupon]")


class StripeUnavailable(StripeGatewayError):
    """Stripe could not be reached or answered with a server/rate-limit/auth error: retry later."""


class WebhookVerificationError(Exception):
    """A webhook's signature, timestamp or payload is not acceptable: answer 400."""


# --- the client -----------------------------------------------------------------------

def _client() -> stripe.StripeClient:
    """The app's StripeClient, built once per app from its config."""
    client = current_app.extensions.get("stripe_client")
    if client is None:
        config = current_app.config
        if config.get("APP_ENV") == "production" and config.get("STRIPE_SANDBOX"):
            # config.check_production_safety refuses this at start-up; this is the last guard.
            raise RuntimeError("Refusing to use the Stripe sandbox in production.")
        base = config.get("STRIPE_API_BASE") or ""
        client = stripe.StripeClient(
            config["STRIPE_SECRET_KEY"],
            base_addresses={"api": base} if base else None,
            stripe_version=config["STRIPE_API_VERSION"],
            max_network_retries=int(config.get("STRIPE_MAX_NETWORK_RETRIES", 2)),
            # (connect, read): fail fast when Stripe is unreachable; the default read is 80 s.
            http_client=stripe.RequestsClient(timeout=(3.05, float(config.get("STRIPE_TIMEOUT_SECONDS", 20)))),
        )
        current_app.extensions["stripe_client"] = client
    return client


# What a refused request means for us. Anything else is a generic "invalid_request".
_INVALID_REQUEST_CODES = {
    "amount_too_large": ("refund_amount_too_large", "The refund is larger than what is left to refund."),
    "charge_already_refunded": ("already_refunded", "This payment has already been fully refunded."),
    "charge_disputed": ("charge_disputed", "This payment is disputed and cannot be refunded now."),
    "resource_missing": ("not_found", MSG_GENERIC),
    "amount_too_small": ("amount_too_small", "This amount is below the minimum that can be charged."),
    "resource_already_exists": ("already_exists", MSG_GENERIC),
}


def _translate(exc: stripe.StripeError, action: str) -> StripeGatewayError:
    request_id = getattr(exc, "request_id", None)
    status = getattr(exc, "http_status", None)
    stripe_code = getattr(exc, "code", None)
    # Stripe's message may carry details (ids, param names): logs only.
    log.warning("Stripe %s failed: %s status=%s code=%s request_id=%s message=%s",
                action, type(exc).__name__, status, stripe_code, request_id, getattr(exc, "user_message", None))
    details = {"request_id": request_id, "http_status": status, "stripe_code": stripe_code,
               "param": getattr(exc, "param", None)}
    if isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError, stripe.AuthenticationError,
                        stripe.PermissionError, stripe.APIError)):
        return StripeUnavailable(MSG_UNAVAILABLE, "stripe_unavailable", **details)
    if isinstance(exc, stripe.IdempotencyError):
        return StripeGatewayError(MSG_GENERIC, "idempotency_conflict", **details)
    if isinstance(exc, stripe.CardError):
        return StripeGatewayError("The card was declined.", "card_declined", **details)
    if isinstance(exc, stripe.InvalidRequestError):
        code, message = _INVALID_REQUEST_CODES.get(stripe_code or "", ("invalid_request", MSG_GENERIC))
        return StripeGatewayError(message, code, **details)
    if status is not None and status >= 500:
        return StripeUnavailable(MSG_UNAVAILABLE, "stripe_unavailable", **details)
    return StripeGatewayError(MSG_GENERIC, "stripe_error", **details)


def _call(action: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except stripe.StripeError as exc:
        raise _translate(exc, action) from exc


# --- API calls ------------------------------------------------------------------------

def create_customer(params: dict, idempotency_key: str):
    """Create a Customer; the same key with the same params returns the same customer."""
    customers = _client().v1.customers
    return _call("create customer", customers.create, params=params, options={"idempotency_key": idempotency_key})


def retrieve_customer(customer_id: str):
    customers = _client().v1.customers
    return _call("retrieve customer", customers.retrieve, customer_id)


def create_coupon(params: dict):
    """Create a Coupon. Callers choose its `id`, so a repeated call is refused with code
    "already_exists" instead of making a second one (no idempotency key needed)."""
    coupons = _client().v1.coupons
    return _call("create coupon", coupons.create, params=params)


def retrieve_coupon(coupon_id: str):
    coupons = _client().v1.coupons
    return _call("retrieve coupon", coupons.retrieve, coupon_id)


def create_checkout_session(params: dict, idempotency_key: str):
    """Create a Checkout Session; the same key with the same params returns the same session."""
    sessions = _client().v1.checkout.sessions
    return _call("create checkout session", sessions.create, params=params,
                 options={"idempotency_key": idempotency_key})


def retrieve_checkout_session(session_id: str):
    """The session with its PaymentIntent (and that intent's latest charge) expanded."""
    sessions = _client().v1.checkout.sessions
    return _call("retrieve checkout session", sessions.retrieve, session_id,
                 params={"expand": ["payment_intent", "payment_intent.latest_charge"]})


def expire_checkout_session(session_id: str):
    """Expire an open session. Not open any more (complete or expired): code "session_not_open"."""
    sessions = _client().v1.checkout.sessions
    try:
        return sessions.expire(session_id)
    except stripe.InvalidRequestError as exc:
        # Stripe refuses expiring a non-open session with a plain 400 (no stable error code);
        # a missing session is a 404 and our own parameter mistakes carry parameter_* codes.
        code = getattr(exc, "code", None) or ""
        if exc.http_status == 400 and not code.startswith("parameter_"):
            log.info("Stripe refused to expire %s (request %s): not open", session_id, exc.request_id)
            raise StripeGatewayError(MSG_GENERIC, "session_not_open", request_id=exc.request_id,
                                     http_status=exc.http_status, stripe_code=exc.code) from exc
        raise _translate(exc, "expire checkout session") from exc
    except stripe.StripeError as exc:
        raise _translate(exc, "expire checkout session") from exc


def create_refund(payment_intent_id: str, amount: int | None, reason: str | None,
                  idempotency_key: str, metadata: dict | None = None):
    """Refund all (amount=None) or part of a payment."""
    params: dict = {"payment_intent": payment_intent_id}
    if amount is not None:
        params["amount"] = amount
    if reason:
        params["reason"] = reason
    if metadata:
        params["metadata"] = metadata
    refunds = _client().v1.refunds
    return _call("create refund", refunds.create, params=params, options={"idempotency_key": idempotency_key})


# --- Billing (issue 16): subscriptions, invoices, the customer portal ------------------

def retrieve_subscription(subscription_id: str):
    """A subscription as Stripe holds it now (its period is on `items.data[]`)."""
    subscriptions = _client().v1.subscriptions
    return _call("retrieve subscription", subscriptions.retrieve, subscription_id)


def list_subscriptions(customer_id: str, status: str = "all") -> list:
    """Every subscription of a customer (`status` "all" includes canceled ones), newest first."""
    subscriptions, found, params = _client().v1.subscriptions, [], {"customer": customer_id, "status": status,
                                                                     "limit": 100}
    while True:
        page = _call("list subscriptions", subscriptions.list, params=params)
        found.extend(page.data)
        if not page.has_more or not page.data:
            return found
        params["starting_after"] = page.data[-1]["id"]


def cancel_subscription(subscription_id: str):
    """Cancel a subscription at once (`customer.subscription.deleted` follows)."""
    subscriptions = _client().v1.subscriptions
    return _call("cancel subscription", subscriptions.cancel, subscription_id)


def retrieve_invoice(invoice_id: str):
    """An invoice with its payments expanded (the PaymentIntent behind a paid invoice)."""
    invoices = _client().v1.invoices
    return _call("retrieve invoice", invoices.retrieve, invoice_id, params={"expand": ["payments"]})


def create_billing_portal_session(customer_id: str, return_url: str):
    """A Customer Portal session (cancel at period end, resume, card, invoices); its `url` is one-use."""
    sessions = _client().v1.billing_portal.sessions
    return _call("create billing portal session", sessions.create,
                 params={"customer": customer_id, "return_url": return_url})


def list_undelivered_events(created_after: int | None = None) -> list[dict]:
    """Events Stripe has not managed to deliver to every endpoint (for reconcile), newest first.

    As Stripe's JSON (plain dicts, read from the raw response), exactly what a webhook would
    have carried: stripe-python's objects turn decimal-string fields (prices,
    `currency_conversion.fx_rate`) into `Decimal`, which the inbox's JSON column cannot store.
    """
    params: dict = {"delivery_success": False, "limit": 100}
    if created_after is not None:
        params["created"] = {"gt": created_after}
    client, events = _client(), []
    while True:
        page = _call("list events", client.raw_request, "get", "/v1/events", **params).data
        events.extend(page.get("data") or [])
        if not page.get("has_more") or not page.get("data"):
            return events
        params["starting_after"] = page["data"][-1]["id"]


# --- webhooks -------------------------------------------------------------------------

def _timestamp(header: str) -> int | None:
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            return int(value)
    return None


def verify_webhook(payload: bytes, signature_header: str) -> None:
    """Verify a webhook's signature on its raw bytes against every configured secret.

    Accepting any of several secrets lets a secret be rotated without downtime. Raises
    WebhookVerificationError for a missing or bad signature, a stale or future timestamp,
    no configured secret, or a body that is not UTF-8. Parsing is the caller's
    (`webhook_inbox.parse`): the handlers read plain JSON, so the hot path never builds
    stripe objects out of the payload (which cost more than the signature check).
    """
    config = current_app.config
    secrets = [s for s in config.get("STRIPE_WEBHOOK_SECRETS") or [] if s]
    if not secrets:
        raise WebhookVerificationError("no webhook secret configured")
    if not signature_header:
        raise WebhookVerificationError("missing Stripe-Signature header")
    tolerance = int(config.get("STRIPE_WEBHOOK_TOLERANCE") or 0)
    if tolerance <= 0:  # 0 would disable the replay check in stripe-python
        tolerance = DEFAULT_TOLERANCE
    timestamp = _timestamp(signature_header)
    # stripe-python only rejects old timestamps; a far-future one is as suspicious.
    if timestamp is not None and timestamp > time.time() + tolerance:
        raise WebhookVerificationError("signature timestamp is in the future")
    try:
        body = payload.decode("utf-8")  # what Stripe signed; decoded once for every secret
    except UnicodeDecodeError as exc:
        raise WebhookVerificationError("payload is not UTF-8") from exc
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(body, signature_header, secret, tolerance)
            return
        except stripe.SignatureVerificationError:
            continue
    raise WebhookVerificationError("no valid signature for any configured secret")

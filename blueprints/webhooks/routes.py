"""The Stripe webhook endpoint, at /webhooks/stripe and at the spec's /api/payments/webhooks/stripe.

One view: cap the body, verify the signature on the raw bytes, then claim the event in the
inbox, apply it and mark it processed in one transaction (`delivery.receive`, the protocol
shared with the retry command and the staff page). Answers: 200 for every verified
event (duplicates, unknown types and other integrations' objects included), 400 for a bad
signature or body, 413 for an oversized body, 500 (after recording the failure) so that
Stripe retries. Never a redirect: Stripe counts a 3xx as a failed delivery.
"""
import logging

from flask import Blueprint, abort, current_app, jsonify, request

from blueprints.webhooks import delivery
from extensions import csrf, limiter
from services import metrics
from services.payments import stripe_gateway, webhook_inbox

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/stripe", strict_slashes=False)
@bp.post("/api/payments/webhooks/stripe", strict_slashes=False, endpoint="stripe_api")
@csrf.exempt
@limiter.exempt
def stripe_webhook():
    data = _verified_event(_raw_body())
    attempt = delivery.receive(data)
    if attempt.failed:  # rolled back and recorded: Stripe retries on a 5xx
        return jsonify(success=False, received=False,
                       error={"code": "PROCESSING_FAILED", "message": "Not processed; Stripe will retry."}), 500
    outcome = attempt.outcome
    # Same envelope as the rest of /api/ (the spec's path), harmless for Stripe on either path.
    return jsonify(success=True, received=True, status=outcome.status.value, duplicate=outcome.duplicate)


def _raw_body() -> bytes:
    # Werkzeug raises 413 while reading past the cap (or at once from Content-Length).
    request.max_content_length = current_app.config.get("WEBHOOK_MAX_BYTES", 256 * 1024)
    return request.get_data(cache=False)


def _verified_event(payload: bytes) -> dict:
    """The event's JSON once its signature holds (what the handlers read and the inbox stores)."""
    try:
        stripe_gateway.verify_webhook(payload, request.headers.get("Stripe-Signature", ""))
        return webhook_inbox.parse(payload)
    except (stripe_gateway.WebhookVerificationError, webhook_inbox.MalformedEvent) as error:
        log.warning("Rejected Stripe webhook: %s", error)
        metrics.webhook_rejected("signature" if isinstance(error, stripe_gateway.WebhookVerificationError) else "malformed")
        abort(400, description=f"Webhook rejected: {error}.")
    except (AttributeError, KeyError, TypeError) as error:  # signed JSON that is not an event
        log.warning("Rejected Stripe webhook: not an event (%s)", type(error).__name__)
        metrics.webhook_rejected("malformed")
        abort(400, description="Webhook rejected: the body is not a Stripe event.")

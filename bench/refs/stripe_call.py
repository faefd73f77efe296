"""Reference: one Stripe Checkout Session per request, nothing else (no database, no auth).

gunicorn 'bench.refs.stripe_call:app' with STRIPE_API_BASE pointing at the Stripe stand-in.
Like Stripe's own Checkout sample server: read the JSON body, create the session through the
same stripe library with the client options Learnpay uses (pinned API version, RequestsClient
with the same timeouts and retries, an idempotency key), answer its id and URL.
"""
import os
import secrets
import time

import stripe
from flask import Flask, jsonify, request

app = Flask(__name__)
client = stripe.StripeClient(
    os.environ.get("STRIPE_SECRET_KEY", "sk_test_sandbox"),
    base_addresses={"api": os.environ["STRIPE_API_BASE"]},
    stripe_version=stripe.api_version,
    max_network_retries=2,
    http_client=stripe.RequestsClient(timeout=(3.05, 20.0)),
)


@app.post("/checkout")
def create_checkout_session():
    body = request.get_json()
    reference = secrets.token_hex(8)
    metadata = {"course_id": str(body["courseId"]), "reference": reference}
    session = client.v1.checkout.sessions.create(params={
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": "usd", "unit_amount": 4900, "product_data": {"name": "Bench course"}}}],
        "client_reference_id": reference,
        "customer_email": "buyer@example.com",
        "success_url": body["returnUrl"] + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": body["cancelUrl"],
        "expires_at": int(time.time()) + 31 * 60,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata, "description": "Bench course"},
    }, options={"idempotency_key": f"ref-{reference}"})
    return jsonify({"id": session.id, "url": session.url}), 201

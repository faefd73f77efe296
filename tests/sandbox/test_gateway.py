"""services/payments/stripe_gateway.py against the live sandbox, in a bare Flask app context."""
import hashlib
import hmac
import json
import time

import flask
import pytest
import stripe

from services.payments import stripe_gateway as gw
from tests.sandbox.conftest import control, session_params


def make_app(config: dict) -> flask.Flask:
    app = flask.Flask(__name__)
    app.config.update({"STRIPE_API_VERSION": "2026-10-28.endive", "STRIPE_WEBHOOK_TOLERANCE": 300,
                       "STRIPE_TIMEOUT_SECONDS": 5, "STRIPE_MAX_NETWORK_RETRIES": 0, **config})
    return app


@pytest.fixture
def gateway_app(sandbox_config):
    app = make_app(sandbox_config)
    with app.app_context():
        yield app


def test_client_is_built_once_from_config(gateway_app):
    gw.create_checkout_session(session_params(), "k-1")
    client = gateway_app.extensions["stripe_client"]
    gw.retrieve_checkout_session(gw.create_checkout_session(session_params(), "k-2").id)
    assert gateway_app.extensions["stripe_client"] is client


def test_create_is_idempotent_and_retrieve_expands(gateway_app, sandbox):
    first = gw.create_checkout_session(session_params(), "ps-1-attempt-1")
    assert gw.create_checkout_session(session_params(), "ps-1-attempt-1").id == first.id
    control(sandbox, f"checkout/sessions/{first.id}/pay", {"card": "4242424242424242"})
    session = gw.retrieve_checkout_session(first.id)
    assert session.payment_status == "paid"
    assert session.payment_intent.latest_charge.amount == 2966


def test_idempotency_conflict_is_translated(gateway_app):
    gw.create_checkout_session(session_params(), "ps-2")
    with pytest.raises(gw.StripeGatewayError) as info:
        gw.create_checkout_session(session_params(client_reference_id="other"), "ps-2")
    assert info.value.code == "idempotency_conflict"
    assert info.value.request_id.startswith("req_")
    assert "idempotent" not in info.value.user_message.lower()  # Stripe's text stays in the logs


def test_expire_open_then_not_open(gateway_app):
    session = gw.create_checkout_session(session_params(), "ps-3")
    assert gw.expire_checkout_session(session.id).status == "expired"
    with pytest.raises(gw.StripeGatewayError) as info:
        gw.expire_checkout_session(session.id)
    assert info.value.code == "session_not_open" and not isinstance(info.value, gw.StripeUnavailable)


def test_expire_unknown_session_is_not_found(gateway_app):
    with pytest.raises(gw.StripeGatewayError) as info:
        gw.expire_checkout_session("cs_test_missing")
    assert info.value.code == "not_found"


def test_refunds_full_partial_and_too_large(gateway_app, sandbox):
    session = gw.create_checkout_session(session_params(), "ps-4")
    control(sandbox, f"checkout/sessions/{session.id}/pay", {"card": "4242424242424242"})
    intent_id = gw.retrieve_checkout_session(session.id).payment_intent.id

    partial = gw.create_refund(intent_id, 966, "requested_by_customer", "refund-1", {"by": "staff-7"})
    assert partial.amount == 966 and partial.metadata["by"] == "staff-7"
    assert gw.create_refund(intent_id, 966, "requested_by_customer", "refund-1", {"by": "staff-7"}).id == partial.id
    with pytest.raises(gw.StripeGatewayError) as info:
        gw.create_refund(intent_id, 5000, None, "refund-2")
    assert info.value.code == "refund_amount_too_large"
    assert gw.create_refund(intent_id, None, None, "refund-3").amount == 2000
    with pytest.raises(gw.StripeGatewayError) as info:
        gw.create_refund(intent_id, None, None, "refund-4")
    assert info.value.code == "already_refunded"


def test_typo_in_our_params_is_an_invalid_request(gateway_app):
    with pytest.raises(gw.StripeGatewayError) as info:
        gw.create_checkout_session(session_params(sucess_url="http://x"), "ps-5")
    assert info.value.code == "invalid_request"
    assert "sucess_url" not in info.value.user_message


def test_bad_key_means_unavailable(sandbox_config):
    with make_app({**sandbox_config, "STRIPE_SECRET_KEY": "sk_live_wrong_key_123"}).app_context():
        with pytest.raises(gw.StripeUnavailable) as info:
            gw.retrieve_checkout_session("cs_test_x")
    assert info.value.code == "stripe_unavailable"


def test_unreachable_stripe_means_unavailable(sandbox_config):
    with make_app({**sandbox_config, "STRIPE_API_BASE": "http://127.0.0.1:9"}).app_context():
        with pytest.raises(gw.StripeUnavailable) as info:
            gw.create_checkout_session(session_params(), "ps-6")
    assert info.value.request_id is None and "try again" in info.value.user_message


def test_production_refuses_the_sandbox(sandbox_config):
    with make_app({**sandbox_config, "APP_ENV": "production"}).app_context():
        with pytest.raises(RuntimeError):
            gw.retrieve_checkout_session("cs_test_x")


def test_list_undelivered_events(gateway_app, sandbox):
    sandbox.set_webhook_urls(["http://127.0.0.1:9/webhooks/stripe"])  # nothing listens there
    before = sandbox.state.now() - 1
    session = gw.create_checkout_session(session_params(), "ps-7")
    gw.expire_checkout_session(session.id)
    events = gw.list_undelivered_events(created_after=before)
    assert [e["type"] for e in events] == ["checkout.session.expired"]  # Stripe's JSON, plain dicts
    assert gw.list_undelivered_events(created_after=sandbox.state.now() + 5) == []


# --- verify_webhook ---------------------------------------------------------------------

PAYLOAD = json.dumps({"id": "evt_1", "object": "event", "type": "checkout.session.completed",
                      "data": {"object": {"id": "cs_test_1", "object": "checkout.session"}}})


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


@pytest.fixture
def webhook_app():
    app = make_app({"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_API_BASE": "",
                    "STRIPE_WEBHOOK_SECRETS": ["whsec_new", "whsec_old"]})
    with app.app_context():
        yield app


@pytest.mark.parametrize("secret", ["whsec_new", "whsec_old"])
def test_verify_webhook_accepts_any_configured_secret(webhook_app, secret):
    assert gw.verify_webhook(PAYLOAD.encode(), sign(PAYLOAD, secret)) is None


@pytest.mark.parametrize("payload, header", [
    (PAYLOAD.replace("cs_test_1", "cs_test_2"), sign(PAYLOAD, "whsec_new")),       # tampered body
    (PAYLOAD, sign(PAYLOAD, "whsec_someone_else")),                                # wrong secret
    (PAYLOAD, sign(PAYLOAD, "whsec_new", int(time.time()) - 301)),                 # stale
    (PAYLOAD, sign(PAYLOAD, "whsec_new", int(time.time()) + 3600)),                # future
    (PAYLOAD, ""),                                                                 # missing
    (PAYLOAD, "garbage"),                                                          # malformed
])
def test_verify_webhook_refuses(webhook_app, payload, header):
    with pytest.raises(gw.WebhookVerificationError):
        gw.verify_webhook(payload.encode(), header)


def test_verify_webhook_refuses_a_body_that_is_not_utf8(webhook_app):
    body, timestamp = b"\xff\xfe{}", int(time.time())
    digest = hmac.new(b"whsec_new", f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    with pytest.raises(gw.WebhookVerificationError, match="UTF-8"):  # signed, yet not text
        gw.verify_webhook(body, f"t={timestamp},v1={digest}")


def test_verify_webhook_without_secrets_refuses(webhook_app):
    webhook_app.config["STRIPE_WEBHOOK_SECRETS"] = []
    with pytest.raises(gw.WebhookVerificationError):
        gw.verify_webhook(PAYLOAD.encode(), sign(PAYLOAD, "whsec_new"))


def test_zero_tolerance_still_rejects_old_signatures(webhook_app):
    webhook_app.config["STRIPE_WEBHOOK_TOLERANCE"] = 0
    with pytest.raises(gw.WebhookVerificationError):
        gw.verify_webhook(PAYLOAD.encode(), sign(PAYLOAD, "whsec_new", int(time.time()) - 3600))

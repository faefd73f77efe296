"""Errors go to Sentry when SENTRY_DSN is set, never with card data, secrets, bodies or cookies."""
import json

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from app import create_app
from extensions import csrf, db
from telemetry import scrub_event, scrub_text
from tests.conftest import _base_config

CARD = "4242424242424242"


class FakeTransport(Transport):
    """Keeps the envelopes Sentry would have sent."""

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope) -> None:
        self.envelopes.append(envelope)

    def events(self) -> list[dict]:
        return [envelope.get_event() for envelope in self.envelopes if envelope.get_event() is not None]


@pytest.fixture
def sentry_app(database_url):
    transport = FakeTransport()
    app = create_app({**_base_config(database_url), "SENTRY_DSN": "https://public@sentry.invalid/1",
                      "SENTRY_OPTIONS": {"transport": transport}})

    @app.post("/_test/explode")
    @csrf.exempt
    def explode():
        password = "hunter2-secret"  # noqa: F841 - a local that must not reach Sentry
        raise RuntimeError(f"card {CARD} declined for key sk_live_abcdef123456 and whsec_zyx987")

    with app.app_context():
        yield app, transport
        db.engine.dispose()
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)  # later tests report nothing


def test_an_unhandled_error_is_reported_without_secrets(sentry_app):
    app, transport = sentry_app
    client = app.test_client()
    client.set_cookie("session", "cookie-value-secret")
    response = client.post("/_test/explode", data={"email": "a@example.com", "password": "hunter2-secret",
                                                   "card": CARD},
                           headers={"Authorization": "Bearer lp_supersecrettoken123", "X-Request-ID": "rid-1"})
    assert response.status_code == 500
    sentry_sdk.flush()
    [event] = transport.events()
    sent = json.dumps(event)
    for secret in (CARD, "hunter2-secret", "sk_live_abcdef123456", "whsec_zyx987", "cookie-value-secret",
                   "lp_supersecrettoken123"):
        assert secret not in sent
    assert "RuntimeError" in sent and "[card?]" in sent
    request = event["request"]
    assert "data" not in request and "cookies" not in request
    assert not {"authorization", "cookie"} & {name.lower() for name in request.get("headers", {})}
    frames = [frame for value in event["exception"]["values"] for frame in value["stacktrace"]["frames"]]
    assert frames and not any("vars" in frame for frame in frames)


def test_without_a_dsn_nothing_is_initialised(app):
    assert not sentry_sdk.get_client().is_active()


@pytest.mark.parametrize("text, expected", [
    ("card 4242 4242 4242 4242 ok", "card [card?] ok"),
    ("card 4000-0000-0000-9995", "card [card?]"),
    ("sk_test_51Habc and rk_live_x9", "[stripe-key] and [stripe-key]"),
    ("secret whsec_abc123=", "secret [webhook-secret]"),
    ("/password/reset/InR4dCI.abc?x=1", "/password/reset/[token]?x=1"),
    ("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer [token]"),
    ("password=hunter2&x=1", "password=[filtered]&x=1"),
    ("order 12345 of 2026-11-27", "order 12345 of 2026-11-27"),  # short numbers and dates stay
])
def test_scrub_text(text, expected):
    assert scrub_text(text) == expected


def test_scrub_event_drops_bodies_cookies_and_credentials():
    event = {"request": {"url": "https://shop/webhooks/stripe", "data": {"type": "charge.refunded"},
                         "cookies": {"session": "x"}, "env": {"REMOTE_ADDR": "1.2.3.4"},
                         "headers": {"Stripe-Signature": "t=1,v1=abc", "Cookie": "session=x",
                                     "Authorization": "Bearer y", "User-Agent": "Stripe/1.0"}},
             "user": {"ip_address": "1.2.3.4"}, "breadcrumbs": {"values": [{"message": f"paid with {CARD}"}]}}
    scrubbed = scrub_event(event)
    assert scrubbed["request"] == {"url": "https://shop/webhooks/stripe", "headers": {"User-Agent": "Stripe/1.0"}}
    assert "user" not in scrubbed and CARD not in json.dumps(scrubbed)

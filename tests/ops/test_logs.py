"""Structured logs: request id and user id on every line of a request, one line per domain event."""
import io
import json
import logging

import pytest

from extensions import db
from models import PaymentSessionStatus, utcnow
from services.payments import checkout, payment_states
from telemetry import make_handler
from tests.webhooks import builders as b

URLS = {"success_url": "http://x/s?session_id={CHECKOUT_SESSION_ID}", "cancel_url": "http://x/c"}


class CapturedLog:
    def __init__(self, log_format: str) -> None:
        self.stream = io.StringIO()
        self.handler = make_handler(self.stream, log_format)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines() if line.startswith("{")]

    def events(self, name: str) -> list[dict]:
        return [line for line in self.lines() if line.get("event") == name]


@pytest.fixture
def json_log(app):
    captured = CapturedLog("json")
    root = logging.getLogger()
    root.addHandler(captured.handler)
    yield captured
    root.removeHandler(captured.handler)


@pytest.fixture
def text_log(app):
    captured = CapturedLog("text")
    logging.getLogger().addHandler(captured.handler)
    yield captured
    logging.getLogger().removeHandler(captured.handler)


def _add_logging_route(app):
    @app.get("/_test/log")
    def log_something():
        from flask_login import current_user

        current_user.is_authenticated  # noqa: B018 - loads the user, as any page does
        logging.getLogger("tests.ops").info("something happened")
        return "ok"


def test_lines_of_a_request_carry_its_request_id_and_user(app, client, learner, sign_in, json_log):
    _add_logging_route(app)
    sign_in(client, learner)
    client.get("/_test/log", headers={"X-Request-ID": "req-123"})
    [line] = [line for line in json_log.lines() if line["message"] == "something happened"]
    assert line["request_id"] == "req-123" and line["user_id"] == learner.id
    assert line["level"] == "INFO" and line["logger"] == "tests.ops" and "time" in line


def test_lines_outside_a_request_have_no_request_id(app, json_log):
    logging.getLogger("tests.ops").warning("from a command")
    [line] = json_log.lines()
    assert line["request_id"] == "-" and line["user_id"] is None


def test_development_lines_are_readable(app, client, text_log):
    _add_logging_route(app)
    client.get("/_test/log", headers={"X-Request-ID": "req-9"})
    assert "INFO tests.ops [req-9] something happened" in text_log.text


def test_checkout_session_created_line(app, learner, paid_course, json_log):
    started = checkout.prepare_checkout(learner, paid_course, None, **URLS, now=utcnow())
    assert json_log.events("checkout.session_created") == []  # not before the commit
    db.session.commit()
    [line] = json_log.events("checkout.session_created")
    assert line["payment_session_id"] == started.payment_session.id and line["user_id"] == learner.id
    assert line["amount"] == 9900 and line["currency"] == "USD" and line["message"] == "checkout session created"


def test_payment_refund_dispute_and_webhook_lines(deliver, ps, json_log):
    paid = deliver("checkout.session.completed", b.checkout_session(ps))
    deliver("charge.refunded", b.charge(ps, amount_refunded=1000))
    deliver("charge.dispute.created", b.dispute(ps))
    [completed] = json_log.events("payment.completed")
    assert completed["payment_session_id"] == ps.id and completed["user_id"] == ps.user_id
    assert completed["amount"] == 8415 and completed["source"] == "webhook"
    [refund] = json_log.events("payment.refund_recorded")
    assert refund["payment_session_id"] == ps.id and refund["amount_refunded"] == 1000
    [dispute] = json_log.events("payment.dispute")
    assert dispute["payment_session_id"] == ps.id and dispute["dispute_status"] == "needs_response"
    webhooks = json_log.events("webhook.processed")
    assert len(webhooks) == 3
    assert webhooks[0]["stripe_event_id"] == paid["id"] and webhooks[0]["result"] == "processed"
    assert webhooks[0]["payment_session_id"] == ps.id and webhooks[0]["request_id"] != "-"


def test_a_failed_webhook_has_its_line(deliver, ps, json_log, monkeypatch):
    from services.coupons import redemptions

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(redemptions, "redeem_for", boom)
    evt = deliver("checkout.session.completed", b.checkout_session(ps), expect=500)
    [line] = json_log.events("webhook.failed")
    assert line["stripe_event_id"] == evt["id"] and line["error"] == "RuntimeError" and line["level"] == "WARNING"
    assert json_log.events("payment.completed") == [] and json_log.events("webhook.processed") == []


def test_an_unpaid_ending_has_its_line(ps, json_log):
    payment_states.move(ps, PaymentSessionStatus.EXPIRED, now=utcnow(), reason="test")
    db.session.commit()
    [line] = json_log.events("checkout.closed_unpaid")
    assert line["payment_session_id"] == ps.id and line["reason"] == "expired"

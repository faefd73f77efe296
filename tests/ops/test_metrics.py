"""/metrics: who may read it, what it counts, and that a metric never breaks a request."""
from datetime import timedelta

import pytest

from app import create_app
from extensions import db
from models import MailStatus, OutboxMail, PaymentSessionStatus, StripeEvent, WebhookEventStatus, utcnow
from services import metrics, observability
from services.payments import checkout, payment_states
from tests.conftest import _base_config
from tests.webhooks import builders as b

TOKEN = "scrape-token-0123456789abcdef"
URLS = {"success_url": "http://x/s?session_id={CHECKOUT_SESSION_ID}", "cancel_url": "http://x/c"}


# --- access -------------------------------------------------------------------------------

def test_loopback_may_read_metrics_by_default(client):
    client.get("/courses")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'learnpay_http_request_duration_seconds_count{endpoint="catalog.index",method="GET",status="200"}' in text
    assert "learnpay_webhook_inbox_backlog 0.0" in text and "learnpay_backlog_scrape_ok 1.0" in text
    assert "Set-Cookie" not in response.headers


def test_other_addresses_are_refused(client):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert response.status_code == 403 and "learnpay_" not in response.get_data(as_text=True)


def test_a_raw_x_forwarded_for_is_never_believed(client):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"},
                          headers={"X-Forwarded-For": "127.0.0.1"})
    assert response.status_code == 403


def _app(database_url, **overrides):
    return create_app({**_base_config(database_url), **overrides})


def test_behind_trusted_proxies_the_client_address_counts(database_url):
    app = _app(database_url, TRUSTED_PROXIES=1)
    with app.app_context():
        client = app.test_client()
        # The balancer (loopback here) forwards a remote client: refused, though the socket is loopback.
        assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 403
        assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200
        db.engine.dispose()


def test_allowed_networks_and_ipv4_mapped_addresses(database_url):
    app = _app(database_url, METRICS_ALLOWED_IPS=["10.0.0.0/8"])
    with app.app_context():
        client = app.test_client()
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"}).status_code == 200
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::ffff:10.1.1.1"}).status_code == 200
        assert client.get("/metrics").status_code == 403  # loopback is no longer in the list
        db.engine.dispose()


def test_the_bearer_token_opens_it_from_anywhere(app, client):
    app.config["METRICS_TOKEN"] = TOKEN
    far = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics", environ_base=far, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/metrics", environ_base=far, headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 403
    assert client.get("/metrics", environ_base=far, headers={"Authorization": f"Basic {TOKEN}"}).status_code == 403


def test_no_token_configured_means_no_token_accepted(app, client):
    app.config["METRICS_TOKEN"] = ""
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"},
                          headers={"Authorization": "Bearer "})
    assert response.status_code == 403


@pytest.mark.parametrize("setting", [{"METRICS_ALLOWED_IPS": ["localhost"]}, {"METRICS_TOKEN": "short"},
                                     {"LOG_FORMAT": "xml"}])
def test_bad_settings_stop_the_start(setting):
    with pytest.raises(RuntimeError):
        create_app({**_base_config("sqlite://"), **setting})


def test_metrics_still_answer_when_the_database_is_down(database_url):
    app = _app("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert "learnpay_backlog_scrape_ok 0.0" in response.get_data(as_text=True)


# --- what is counted ----------------------------------------------------------------------

def test_checkout_started_is_counted_once_committed(app, learner, paid_course, metric_changes):
    started = checkout.prepare_checkout(learner, paid_course, None, **URLS, now=utcnow())
    assert metric_changes("learnpay_checkouts_started_total") == 0  # not before the commit
    db.session.commit()
    assert started.payment_session is not None
    assert metric_changes("learnpay_checkouts_started_total") == 1


def test_nothing_is_counted_for_a_rolled_back_transaction(app, learner, paid_course, metric_changes):
    checkout.prepare_checkout(learner, paid_course, None, **URLS, now=utcnow())
    db.session.rollback()
    db.session.commit()  # a later commit does not resurrect the dropped event
    assert metric_changes("learnpay_checkouts_started_total") == 0


def test_paid_duplicate_and_unknown_webhooks(deliver, ps, metric_changes):
    evt = deliver("checkout.session.completed", b.checkout_session(ps))
    deliver.again(evt)
    deliver("customer.created", {"id": "cus_1", "object": "customer"})
    completed = "checkout.session.completed"
    assert metric_changes("learnpay_checkouts_completed_total") == 1
    assert metric_changes("learnpay_webhook_events_total", type=completed, result="processed") == 1
    assert metric_changes("learnpay_webhook_events_total", type=completed, result="duplicate") == 1
    assert metric_changes("learnpay_webhook_events_total", type="other", result="ignored") == 1


def test_refunds_and_disputes_are_counted(deliver, ps, metric_changes):
    deliver("checkout.session.completed", b.checkout_session(ps))
    deliver("charge.refunded", b.charge(ps, amount_refunded=1000))
    deliver("charge.dispute.created", b.dispute(ps))
    assert metric_changes("learnpay_refunds_total") == 1
    assert metric_changes("learnpay_disputes_total", status="needs_response") == 1


def test_a_failed_webhook_is_counted_by_type(deliver, ps, metric_changes, monkeypatch):
    from services.coupons import redemptions

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(redemptions, "redeem_for", boom)
    deliver("checkout.session.completed", b.checkout_session(ps), expect=500)
    assert metric_changes("learnpay_webhook_events_total", type="checkout.session.completed", result="failed") == 1
    assert metric_changes("learnpay_checkouts_completed_total") == 0


def test_bad_signatures_are_counted_as_rejected(client, ps, metric_changes):
    response = b.post_event(client, b.event("checkout.session.completed", b.checkout_session(ps)), secret="whsec_other")
    assert response.status_code == 400
    assert metric_changes("learnpay_webhooks_rejected_total", reason="signature") == 1


@pytest.mark.parametrize("ending, reason", [(PaymentSessionStatus.EXPIRED, "expired"),
                                            (PaymentSessionStatus.CANCELLED, "cancelled")])
def test_unpaid_endings_are_counted_by_reason(ps, metric_changes, ending, reason):
    payment_states.move(ps, ending, now=utcnow(), reason="test")
    db.session.commit()
    assert metric_changes("learnpay_checkouts_failed_total", reason=reason) == 1


def test_a_failure_code_is_part_of_the_reason(ps, metric_changes):
    ps.failure_code = "card_declined"
    payment_states.move(ps, PaymentSessionStatus.FAILED, now=utcnow(), reason="test")
    db.session.commit()
    assert metric_changes("learnpay_checkouts_failed_total", reason="failed:card_declined") == 1


def test_backlog_gauges_read_the_inbox(app, client, ps):
    now = utcnow()
    db.session.add(StripeEvent(id="evt_old", type="checkout.session.completed", payload={}, attempts=1,
                               status=WebhookEventStatus.FAILED, received_at=now - timedelta(minutes=30)))
    db.session.add(StripeEvent(id="evt_new", type="charge.refunded", payload={},
                               status=WebhookEventStatus.RECEIVED, received_at=now))
    db.session.add(StripeEvent(id="evt_done", type="charge.refunded", payload={},
                               status=WebhookEventStatus.PROCESSED, received_at=now - timedelta(days=1)))
    db.session.commit()
    figures = {name: value for name, _, value in metrics.backlog_figures(now)}
    assert figures["learnpay_webhook_inbox_backlog"] == 2
    assert figures["learnpay_webhook_inbox_failed"] == 1
    assert figures["learnpay_webhook_oldest_unprocessed_age_seconds"] == pytest.approx(1800, abs=2)
    assert figures["learnpay_payment_sessions_open"] == 1  # ps, PENDING
    assert "learnpay_webhook_inbox_backlog 2.0" in client.get("/metrics").get_data(as_text=True)


def test_backlog_gauges_read_the_mail_outbox(app):
    now = utcnow()
    for number, (status, age) in enumerate([(MailStatus.PENDING, 600), (MailStatus.SENDING, 60),
                                            (MailStatus.FAILED, 7200), (MailStatus.SENT, 9000)]):
        db.session.add(OutboxMail(dedupe_key=f"test:{number}", template="receipt", to_address="a@example.com",
                                  context={}, status=status, created_at=now - timedelta(seconds=age)))
    db.session.commit()
    figures = {name: value for name, _, value in metrics.backlog_figures(now)}
    assert figures["learnpay_mail_outbox_backlog"] == 2 and figures["learnpay_mail_outbox_failed"] == 1
    assert figures["learnpay_mail_outbox_oldest_pending_age_seconds"] == pytest.approx(600, abs=2)


# --- a metric never breaks anything -------------------------------------------------------

def test_a_broken_metric_does_not_break_a_request(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("metrics backend gone")

    monkeypatch.setattr(metrics.REQUEST_LATENCY, "labels", broken)
    assert client.get("/courses").status_code == 200


def test_a_broken_metric_does_not_break_a_payment(deliver, ps, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("metrics backend gone")

    monkeypatch.setattr(metrics.CHECKOUTS_COMPLETED, "inc", broken)
    monkeypatch.setattr(metrics.WEBHOOK_EVENTS, "labels", broken)
    deliver("checkout.session.completed", b.checkout_session(ps))
    assert deliver.reload(ps).status == PaymentSessionStatus.COMPLETED and len(deliver.enrollments(ps)) == 1


def test_a_broken_event_line_does_not_break_a_commit(app, ps, monkeypatch):
    monkeypatch.setattr(observability.log, "log", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    payment_states.move(ps, PaymentSessionStatus.EXPIRED, now=utcnow(), reason="test")
    db.session.commit()
    db.session.expire_all()
    assert ps.status == PaymentSessionStatus.EXPIRED

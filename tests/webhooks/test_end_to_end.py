"""End to end over real HTTP: the app on a live server, the sandbox delivering signed webhooks to it.

The learner starts checkout through the app, pays on the sandbox and never opens the success
page (the tab is closed): the webhook alone enrolls. Refunds and disputes made on the sandbox
reach the app the same way.
"""
import re

import requests

from extensions import db
from models import (Enrollment, EnrollmentStatus, PaymentSession, PaymentSessionStatus, StripeEvent,
                    WebhookEventStatus)
from tests.helpers import DEFAULT_PASSWORD
from tests.webhooks import builders as b

_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _token(http: requests.Session, url: str) -> str:
    return _META.search(http.get(url, timeout=10).text).group(1)


def _buy(live_server, learner_email: str, slug: str, coupon_code: str = "") -> str:
    """Sign in and start checkout through the app; returns the Stripe Checkout Session id."""
    http = requests.Session()
    response = http.post(f"{live_server.url}/login", timeout=10, allow_redirects=False,
                         data={"email": learner_email, "password": DEFAULT_PASSWORD,
                               "csrf_token": _token(http, f"{live_server.url}/login")})
    assert response.status_code == 302
    response = http.post(f"{live_server.url}/courses/{slug}/checkout", timeout=10, allow_redirects=False,
                         data={"coupon_code": coupon_code,
                               "csrf_token": _token(http, f"{live_server.url}/courses/{slug}")})
    assert response.status_code == 303, response.text[:500]
    session_id = re.search(r"(cs_test_\w+)", response.headers["Location"])
    assert session_id, response.headers["Location"]
    return session_id.group(1)


def _session(stripe_session_id: str) -> PaymentSession | None:
    db.session.expire_all()
    return db.session.scalar(db.select(PaymentSession).where(PaymentSession.stripe_session_id == stripe_session_id))


def _enrollment(ps: PaymentSession) -> Enrollment | None:
    db.session.expire_all()
    return db.session.scalar(db.select(Enrollment).where(Enrollment.payment_id == ps.id))


def test_paid_and_tab_closed_enrolls_then_refund_revokes(live_server, sandbox, learner, paid_course, coupon):
    session_id = _buy(live_server, learner.email, paid_course.slug, coupon.code)
    assert _session(session_id).final_amount == 8415

    b.sandbox_control(sandbox, f"checkout/sessions/{session_id}/pay", {"card": "4242424242424242"})
    # No visit to the success page: only the sandbox's webhook deliveries reach the app.
    ps = sandbox.wait_for(lambda: (p := _session(session_id)) and p.status == PaymentSessionStatus.COMPLETED and p,
                          timeout=10)
    enrollment = _enrollment(ps)
    assert enrollment is not None and enrollment.status == EnrollmentStatus.ACTIVE
    assert ps.payment_intent_id and ps.payment_intent_id.startswith("pi_")

    b.sandbox_control(sandbox, f"payment_intents/{ps.payment_intent_id}/refund", {})
    sandbox.wait_for(lambda: _enrollment(ps).status == EnrollmentStatus.REVOKED, timeout=10)
    ps = _session(session_id)
    assert ps.status == PaymentSessionStatus.REFUNDED and ps.amount_refunded == 8415

    # Every event the sandbox sent was stored and none failed.
    sandbox.wait_for(lambda: all(sandbox.state.pending_webhooks(e["id"]) == 0 for e in sandbox.events()), timeout=10)
    db.session.expire_all()
    statuses = {row.type: row.status for row in db.session.scalars(db.select(StripeEvent))}
    assert statuses["checkout.session.completed"] == WebhookEventStatus.PROCESSED
    assert statuses["charge.refunded"] == WebhookEventStatus.PROCESSED
    assert WebhookEventStatus.FAILED not in statuses.values()


def test_dispute_suspends_and_won_restores(live_server, sandbox, learner, paid_course):
    session_id = _buy(live_server, learner.email, paid_course.slug)
    b.sandbox_control(sandbox, f"checkout/sessions/{session_id}/pay", {"card": "4242424242424242"})
    ps = sandbox.wait_for(lambda: (p := _session(session_id)) and p.status == PaymentSessionStatus.COMPLETED and p,
                          timeout=10)
    dispute = b.sandbox_control(sandbox, f"payment_intents/{ps.payment_intent_id}/dispute", {"reason": "fraudulent"})
    sandbox.wait_for(lambda: _enrollment(ps).status == EnrollmentStatus.SUSPENDED, timeout=10)
    b.sandbox_control(sandbox, f"disputes/{dispute['id']}/close", {"outcome": "won"})
    sandbox.wait_for(lambda: _enrollment(ps).status == EnrollmentStatus.ACTIVE, timeout=10)


def test_delayed_payment_processing_then_settled(live_server, sandbox, learner, paid_course):
    session_id = _buy(live_server, learner.email, paid_course.slug)
    b.sandbox_control(sandbox, f"checkout/sessions/{session_id}/pay", {"method": "delayed", "outcome": "succeeded"})
    sandbox.wait_for(lambda: _session(session_id).status == PaymentSessionStatus.PROCESSING, timeout=10)
    assert _enrollment(_session(session_id)) is None
    b.sandbox_control(sandbox, f"checkout/sessions/{session_id}/settle", {})
    ps = sandbox.wait_for(lambda: (p := _session(session_id)) and p.status == PaymentSessionStatus.COMPLETED and p,
                          timeout=10)
    assert _enrollment(ps).status == EnrollmentStatus.ACTIVE


def test_out_of_order_delivery_still_ends_enrolled(live_server, sandbox, learner, paid_course):
    session_id = _buy(live_server, learner.email, paid_course.slug)
    b.sandbox_control(sandbox, "webhooks/pause")
    b.sandbox_control(sandbox, f"checkout/sessions/{session_id}/pay", {"card": "4242424242424242"})
    b.sandbox_control(sandbox, "events/deliver_out_of_order")  # newest first
    ps = sandbox.wait_for(lambda: (p := _session(session_id)) and p.status == PaymentSessionStatus.COMPLETED and p,
                          timeout=10)
    assert _enrollment(ps).status == EnrollmentStatus.ACTIVE

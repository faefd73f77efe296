"""No payload can wedge processing (both databases).

A customer can type anything into the hosted page: a NUL byte or a lone UTF-16 surrogate in a
name used to make every delivery of `checkout.session.completed` a 500 on PostgreSQL, and
recording the failure failed the same way, so the event never reached the staff inbox. Such
text is now stored as the JSON escape it arrived as, processed, and shown to staff.
"""
import pytest

from extensions import db
from models import EnrollmentStatus, StripeEvent, WebhookEventStatus
from services.payments import fulfillment
from tests.webhooks import builders as b

POISONS = {"nul": "Ann\u0000e", "surrogate": "Ann\ud800e", "both": "\udfff\u0000"}
STORED = {"nul": "Ann\\u0000e", "surrogate": "Ann\\ud800e", "both": "\\udfff\\u0000"}


def _customer_typed(text: str) -> dict:
    """Every field of a Checkout Session that the customer fills in on the hosted page."""
    address = {key: text for key in ("line1", "line2", "city", "state", "postal_code")} | {"country": "US"}
    return {
        "customer_details": {"name": text, "email": f"{text}@example.com", "phone": text, "address": address,
                             "tax_exempt": "none", "tax_ids": [{"type": "eu_vat", "value": text}]},
        "collected_information": {"shipping_details": {"name": text, "address": address}},
        "custom_fields": [{"key": "company", "type": "text", "label": {"type": "custom", "custom": "Company"},
                           "text": {"value": text}}],
    }


@pytest.mark.parametrize("poison", sorted(POISONS))
def test_customer_text_nobody_can_store_is_processed_and_kept_as_received(deliver, ps, poison, sign_in, staff):
    evt = deliver("checkout.session.completed", b.checkout_session(ps, **_customer_typed(POISONS[poison])))
    [enrollment] = deliver.enrollments(ps)
    assert enrollment.status == EnrollmentStatus.ACTIVE
    row = db.session.get(StripeEvent, evt["id"])
    assert row.status == WebhookEventStatus.PROCESSED
    details = row.payload["data"]["object"]["customer_details"]
    assert details["name"] == STORED[poison] and details["address"]["city"] == STORED[poison]
    assert row.payload["data"]["object"]["custom_fields"][0]["text"]["value"] == STORED[poison]
    sign_in(deliver.client, staff)
    page = deliver.client.get("/staff/webhooks").get_data(as_text=True)
    assert evt["id"] in page


def test_poison_in_refund_and_dispute_text_is_processed(deliver, ps):
    deliver("checkout.session.completed", b.checkout_session(ps))
    poison = POISONS["both"]
    deliver("refund.created", b.refund(ps, amount=1000, metadata={"note": poison}, description=poison))
    deliver("refund.failed", b.refund(ps, amount=500, status="failed", failure_reason=poison))
    deliver("charge.dispute.created", b.dispute(ps, reason=poison, evidence={"customer_name": poison}))
    ps = deliver.reload(ps)
    assert ps.amount_refunded == 1000 and ps.needs_review
    assert STORED["both"] in ps.review_reason
    assert deliver.enrollments(ps)[0].status == EnrollmentStatus.SUSPENDED


def test_a_failure_is_recorded_whatever_the_event_and_the_error_contain(deliver, ps, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError(f"handler choked on {POISONS['both']}")

    monkeypatch.setattr(fulfillment, "apply_checkout_session", boom)
    evt = deliver("checkout.session.completed", b.checkout_session(ps, **_customer_typed(POISONS["both"])),
                  expect=500)
    row = db.session.get(StripeEvent, evt["id"])
    assert row.status == WebhookEventStatus.FAILED and row.attempts == 1
    assert STORED["both"] in row.last_error
    assert row.payload["data"]["object"]["customer_details"]["name"] == STORED["both"]


def test_json_nested_thousands_deep_is_a_400_not_a_500(client):
    evt = b.event("checkout.session.completed", {"id": "cs_deep", "object": "checkout.session"})
    body = b.body_of(evt).replace(b'"object": "checkout.session"',
                                  b'"object": "checkout.session", "deep": ' + b"[" * 3000 + b"]" * 3000)
    response = b.post_event(client, body)
    assert response.status_code == 400
    assert db.session.get(StripeEvent, evt["id"]) is None

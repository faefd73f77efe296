"""A payment's timeline reads in words: events named, money formatted in the payment's currency
(not "2900"), and a partly refunded payment shows "partially refunded"."""
from extensions import db
from services import audit
from services.payments import lists
from tests import factories
from tests.staff import builders


def test_timeline_names_events_and_formats_money(staff_client, learner, paid_course):
    payment = factories.payment_session(learner, paid_course, "COMPLETED", final_amount=12900)
    audit.record("payment.refund_recorded", payment, actor_label="stripe",
                 before={"amount_refunded": 0}, after={"amount_refunded": 2900})
    audit.record("payment.payment_intent.payment_failed", payment, actor_label="stripe",
                 before={"failure_code": None}, after={"failure_code": "card_declined"})
    builders.stripe_event("evt_tl_1", "charge.refunded", payment_session_id=payment.id)
    db.session.commit()

    items = lists.timeline(payment)
    assert [item["title"] for item in items] == ["Refunded total changed", "Card attempt failed",
                                                 "Stripe: charge refunded"]
    assert items[0]["changes"] == [{"label": "refunded", "before": "$0.00", "after": "$29.00"}]
    assert items[1]["changes"] == [{"label": "reason", "before": "—", "after": "card_declined"}]

    page = staff_client.get(f"/staff/payments/{payment.id}").get_data(as_text=True)
    assert "refunded: $0.00 → $29.00" in page and "2900" not in page
    assert "Stripe: charge refunded" in page


def test_money_follows_the_payment_currency(app, learner):

    course = factories.course(slug="yen-course", price=12000, currency="JPY")
    payment = factories.payment_session(learner, course, "COMPLETED")
    audit.record("payment.refund_requested", payment, actor_label="staff", after={"amount": 3000, "status": "succeeded"})
    db.session.commit()
    assert lists.timeline(payment)[0]["changes"] == [{"label": "amount", "before": None, "after": "¥3,000"},
                                                     {"label": "status", "before": None, "after": "succeeded"}]


def test_unknown_events_still_read_as_words(app):
    assert lists.event_words("customer.subscription.paused") == "Customer · subscription · paused"


def test_a_partly_refunded_payment_is_shown_partially_refunded(staff_client, learner, paid_course):
    partly = factories.payment_session(learner, paid_course, "COMPLETED", amount_refunded=1000)
    whole = factories.payment_session(learner, paid_course, "REFUNDED", amount_refunded=9900)
    assert lists.shown_status(partly) == "PARTIALLY_REFUNDED" and lists.shown_status(whole) == "REFUNDED"
    assert "partially refunded" in staff_client.get(f"/staff/payments/{partly.id}").get_data(as_text=True)
    listing = staff_client.get("/staff/payments").get_data(as_text=True)
    assert "partially refunded" in listing

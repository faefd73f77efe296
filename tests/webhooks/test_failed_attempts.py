"""Every failed payment attempt is counted by its reason in the analytics, whatever its session
does next (a declined card stays "card_declined" when the session later completes or expires),
beside the sessions that ended failed; a redelivered event counts once."""
from datetime import datetime, timezone

from extensions import db
from models import PaymentFailure
from services import analytics
from tests import factories
from tests.webhooks import builders as b


def _declined(ps, code: str) -> dict:
    return b.payment_intent(ps, status="requires_payment_method",
                            error={"code": "card_declined", "decline_code": code, "message": "Declined."})


def test_declines_are_counted_even_when_the_session_then_succeeds(deliver, ps, learner, paid_course):
    first = deliver("payment_intent.payment_failed", _declined(ps, "insufficient_funds"))
    deliver("payment_intent.payment_failed", b.payment_intent(
        ps, status="requires_payment_method", error={"code": "card_declined", "message": "Declined."}))
    deliver("payment_intent.succeeded", b.payment_intent(ps))
    deliver("checkout.session.completed", b.checkout_session(ps))
    deliver.again(first)  # a redelivery adds no attempt
    assert deliver.reload(ps).failure_code is None  # the session forgot its declines...

    failed = factories.payment_session(learner, paid_course, "FAILED", failure_code="card_declined")
    today = datetime.now(timezone.utc).date()
    rows = analytics.failures_by_reason(today, today).rows  # ...the analytics do not
    assert rows == [{"reason": "card_declined", "attempts": 1, "sessions": 1},
                    {"reason": "insufficient_funds", "attempts": 1, "sessions": 0}]
    assert db.session.scalar(db.select(db.func.count()).select_from(PaymentFailure)) == 2
    assert failed.status.value == "FAILED"


def test_the_analytics_page_shows_both_counts(deliver, ps, staff, sign_in):
    deliver("payment_intent.payment_failed", _declined(ps, "expired_card"))
    client = deliver.client
    sign_in(client, staff)
    page = client.get("/staff/analytics").get_data(as_text=True)
    assert "Failed attempts" in page and "Sessions that ended failed" in page and "expired_card" in page

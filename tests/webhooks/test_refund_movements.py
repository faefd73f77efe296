"""refunds.enforce writes a RefundMovement exactly when a session's refunded total changes.

The movements are what the staff analytics count per day: each one is the change of the
total (new − old), dated by the Stripe event that reported it (a retried or replayed event
keeps its own day), else by the `now` of the call that changed it.
"""
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from extensions import db
from models import PaymentSessionStatus, RefundMovement
from services.payments import refunds
from tests import factories
from tests.helpers import MIGRATIONS
from tests.webhooks import builders as b

SOLD = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
DAY_2 = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
DAY_3 = datetime(2026, 3, 3, 9, tzinfo=timezone.utc)


@pytest.fixture
def paid(learner, paid_course):
    """A $99.00 payment completed on 2026-03-01, known by its PaymentIntent."""
    ps = factories.payment_session(learner, paid_course, status="COMPLETED", created_at=SOLD, completed_at=SOLD)
    ps.payment_intent_id = b.intent_id(ps)
    db.session.commit()
    return ps


def movements(ps) -> list[tuple[int, str, datetime]]:
    db.session.expire_all()
    return [(m.amount, m.currency, m.occurred_at) for m in db.session.scalars(
        db.select(RefundMovement).where(RefundMovement.payment_session_id == ps.id).order_by(RefundMovement.id))]


def apply(refund, now):
    refunds.apply_refund(refund, now=now)
    db.session.commit()


def test_a_partial_then_a_full_refund_are_two_movements_summing_to_the_total(paid):
    apply(b.refund(paid, amount=3000), DAY_2)
    apply(b.refund(paid, amount=6900), DAY_3)
    assert movements(paid) == [(3000, "USD", DAY_2), (6900, "USD", DAY_3)]
    assert paid.amount_refunded == 9900 and paid.status == PaymentSessionStatus.REFUNDED


def test_a_failed_refund_after_a_recorded_one_is_a_negative_movement(paid):
    refund = b.refund(paid, amount=2000, status="pending")
    apply(refund, DAY_2)
    apply({**refund, "status": "failed", "failure_reason": "lost_or_stolen_card"}, DAY_3)
    assert movements(paid) == [(2000, "USD", DAY_2), (-2000, "USD", DAY_3)]
    assert paid.amount_refunded == 0


def test_the_same_refund_reported_again_writes_nothing(paid):
    refund = b.refund(paid, amount=2500)
    apply(refund, DAY_2)
    apply(refund, DAY_3)  # refund.updated, or the same event delivered again
    refunds.apply_charge(b.charge(paid, amount_refunded=2500), now=DAY_3)  # charge.refunded says the same
    db.session.commit()
    refunds.enforce(paid, now=DAY_3)
    db.session.commit()
    assert movements(paid) == [(2500, "USD", DAY_2)]


def test_nothing_refunded_writes_nothing(paid):
    refunds.enforce(paid, now=DAY_2)
    db.session.commit()
    assert movements(paid) == []


def test_redelivered_refund_events_through_the_webhook_write_one_movement(client, learner, paid_course):
    ps = factories.payment_session(learner, paid_course)
    assert b.post_event(client, b.event("checkout.session.completed", b.checkout_session(ps))).status_code == 200
    refund_event = b.event("refund.created", b.refund(ps, amount=1500))
    for evt in (refund_event, refund_event, b.event("charge.refunded", b.charge(ps, amount_refunded=1500))):
        assert b.post_event(client, evt).status_code == 200
    assert [amount for amount, _, _ in movements(ps)] == [1500]


def test_a_refund_event_processed_days_later_keeps_its_own_day(client, learner, paid_course):
    # Stripe retries for days when the endpoint is down, and stored events are replayed later:
    # the refund belongs to the day Stripe reported it, not to the day we caught up.
    ps = factories.payment_session(learner, paid_course)
    assert b.post_event(client, b.event("checkout.session.completed", b.checkout_session(ps))).status_code == 200
    three_days_ago = int(datetime.now(timezone.utc).timestamp()) - 3 * 86400
    late = b.event("refund.created", b.refund(ps, amount=1500), created=three_days_ago)
    assert b.post_event(client, late).status_code == 200
    [(amount, _, occurred_at)] = movements(ps)
    assert amount == 1500 and occurred_at == datetime.fromtimestamp(three_days_ago, timezone.utc)


def test_the_migration_backfills_one_movement_per_refunded_session(empty_database_url):
    """Sessions refunded before the table existed get their refunded total, dated by updated_at."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="987e781a6dfd")
        # Plain SQL: the models describe the newest schema (later migrations add columns).
        naive = {name: at.replace(tzinfo=None) for name, at in (("sold", SOLD), ("day2", DAY_2), ("day3", DAY_3))}
        db.session.execute(sa.text("INSERT INTO users (id, email, name, role, is_disabled, created_at) "
                                   "VALUES (1, 'old@example.com', 'Old', 'LEARNER', false, :sold)"), naive)
        db.session.execute(sa.text(
            "INSERT INTO courses (id, slug, title, short_description, description, price_amount, currency, "
            "is_published, enrollment_type, created_at, updated_at) "
            "VALUES (1, 'old', 'Old', '', '', 9900, 'USD', true, 'PAID', :sold, :sold)"), naive)
        for number, (refunded, updated) in enumerate(((0, "sold"), (2500, "day2"), (9900, "day3"))):
            db.session.execute(sa.text(
                "INSERT INTO payment_sessions (id, course_id, user_id, status, amount, currency, discount_amount, "
                "final_amount, amount_refunded, metadata, needs_review, created_at, updated_at, completed_at) "
                f"VALUES ('ps_old{number}', 1, 1, 'COMPLETED', 9900, 'USD', 0, 9900, {refunded}, '{{}}', false, "
                f":sold, :{updated}, :sold)"), naive)
        db.session.commit()
        db.session.remove()
        upgrade(directory=MIGRATIONS)
        rows = db.session.execute(sa.text("SELECT amount, currency, occurred_at FROM refund_movements ORDER BY amount"))
        assert [(amount, currency, str(at)[:19]) for amount, currency, at in rows] == [
            (2500, "USD", "2026-03-02 09:00:00"), (9900, "USD", "2026-03-03 09:00:00")]
        db.session.remove()
        downgrade(directory=MIGRATIONS, revision="987e781a6dfd")
        assert "refund_movements" not in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()

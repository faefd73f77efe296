"""Builders for checkout tests: fixed clocks, and Stripe Checkout Sessions as Stripe shows them."""
from datetime import datetime, timezone

from models import PaymentSession

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def stripe_session(ps: PaymentSession, *, status: str = "complete", payment_status: str = "paid",
                   amount_total: int | None = None, currency: str | None = None, **fields) -> dict:
    """A Checkout Session payload for `ps`, as retrieve or a webhook would give it."""
    session = {
        "id": ps.stripe_session_id or f"cs_test_{ps.id}",
        "object": "checkout.session",
        "client_reference_id": ps.id,
        "mode": "payment",
        "status": status,
        "payment_status": payment_status,
        "amount_total": ps.final_amount if amount_total is None else amount_total,
        "currency": (currency or ps.currency).lower(),
        "metadata": {"payment_session_id": ps.id, "user_id": str(ps.user_id), "course_id": str(ps.course_id)},
        "payment_intent": {"id": f"pi_test_{ps.id}", "latest_charge": f"ch_test_{ps.id}"},
    }
    session.update(fields)
    return session

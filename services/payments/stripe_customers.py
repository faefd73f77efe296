"""One Stripe Customer per learner: created the first time the learner checks out, then
reused by every checkout, so Stripe (and its dashboard) sees one customer with all of their
payments instead of one guest per Checkout Session.

Created once, even when two checkouts of the same learner race: the learner's row is locked
while the customer is made (PostgreSQL), the Stripe call carries an idempotency key naming the
learner (two racing calls get the same customer back, on SQLite too), the id is written only
where none is yet, and `users.stripe_customer_id` is unique, so two learners never share one.
"""
from __future__ import annotations

import hashlib

from sqlalchemy.orm.attributes import set_committed_value

from extensions import db
from models import User
from services.payments import stripe_gateway


def _idempotency_key(user: User) -> str:
    # The email is part of the key: Stripe refuses a key reused with other parameters.
    return f"learnpay-customer-{user.id}-{hashlib.sha256(user.email.encode()).hexdigest()[:12]}"


def customer_id_for(user: User) -> str:
    """The learner's Stripe Customer id, creating the customer on first use (flushes).

    Raises StripeGatewayError when Stripe cannot create it. The caller commits.
    """
    if user.stripe_customer_id:  # set once and never changed: no lock needed to reuse it
        return user.stripe_customer_id
    saved = db.session.scalar(db.select(User.stripe_customer_id).where(User.id == user.id)
                              .with_for_update(key_share=True))
    if saved:
        set_committed_value(user, "stripe_customer_id", saved)
        return saved
    customer = stripe_gateway.create_customer(
        {"email": user.email, "name": user.name[:256], "metadata": {"user_id": str(user.id)}},
        _idempotency_key(user))
    written = db.session.execute(
        db.update(User).where(User.id == user.id, User.stripe_customer_id.is_(None))
        .values(stripe_customer_id=customer["id"]).execution_options(synchronize_session=False)).rowcount
    # 0 only on SQLite (no row lock), when a racing checkout wrote first: its customer is the one.
    saved = customer["id"] if written else db.session.scalar(
        db.select(User.stripe_customer_id).where(User.id == user.id))
    set_committed_value(user, "stripe_customer_id", saved)
    return saved

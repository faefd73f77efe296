"""Payments: everything between a learner's "Buy" and money kept or given back.

Owns payment sessions (their state machine: `payment_states`), checkout and fulfillment, refunds
(and the refund policy staff set, `refund_policy`) and disputes, the webhook inbox and the events
Stripe sends, reconciling with Stripe, and the only module that calls Stripe (`stripe_gateway`); the staff lists of payments and events
(`lists`). May use coupons, learning, courses and people; none of them imports payments.
"""

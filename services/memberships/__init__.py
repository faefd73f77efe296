"""Memberships (issue 16): the plans learners subscribe to, and what their subscriptions open.

`catalog` reads memberships (active ones, what a membership unlocks, price labels);
`subscriptions` reads a learner's subscriptions and says what they mean now (`display`).
This package imports no other domain: the Stripe side (checkout, webhooks, refunds, the
portal) lives in services/payments/, which writes the subscription rows from Stripe's objects,
and learning asks `Subscription.opens` / `subscriptions.opening` when a course is opened.
"""

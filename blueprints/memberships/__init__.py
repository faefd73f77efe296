"""Learner membership pages (issue 16): the memberships page, subscribing, Stripe's billing portal."""

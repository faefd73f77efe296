"""Payments: checkout, fulfillment, refunds, disputes and everything that talks to Stripe."""

"""Buying a course: coupon quotes, Stripe Checkout, success and cancel pages, free enrollment."""

"""Buying a course: Stripe Checkout start, success and cancel pages, free enrollment, waitlist."""

"""Stripe webhooks: verified, deduplicated through the inbox table, dispatched by type."""

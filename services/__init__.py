"""Framework-free business rules. Services flush but never commit: the caller commits once.

One package per domain (payments, coupons, learning, courses, people: each docstring says what
it owns and which domains it may import); helpers shared by all at the root (money, mail,
audit, errors, analytics, notifications, demo, csv_export). docs/architecture.md draws the arrows.
"""

"""Coupons: codes, their uses and what they take off a price.

Owns coupons and their redemptions: finding a code, the reserve → redeem | release life of
one use and the cap on uses (`redemptions`, invariant 2), the price with a coupon (`pricing`), support's read-only "what would this learner pay?" (`dry_run`),
and the staff side, creating, editing and bulk-generating codes (`admin`, which reads uses
through `redemptions`). Imports no other domain.
"""

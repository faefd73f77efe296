"""Bundles (issue 20): two or more courses of one currency sold together for one price.

`catalog` reads published bundles for the public pages and turns a bundle into the purchase
engine's `Product` (services/payments/purchases.py); `admin` is the staff side.
"""

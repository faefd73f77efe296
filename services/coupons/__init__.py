"""Coupons: codes and their uses, pricing with a coupon, and the staff side (`admin`)."""

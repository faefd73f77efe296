"""Referrals (issue 20): every learner's `/r/<code>` link, the referral cookie, the referrer's
reward (a single-use coupon, earned once the referred purchase is past its refund window),
the reward settings staff set, and the staff figures.

`links` (codes, the cookie, who referred a buyer), `rewards` (settings, pending → earned /
canceled, issuing the coupon and its mail), `figures` (staff analytics and CSV). Payments
calls in (checkout records the referrer, fulfilment the pending reward, refunds and disputes
cancel it); referrals imports only coupons among the domains.
"""

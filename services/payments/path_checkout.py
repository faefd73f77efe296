"""A learning path's checkout (issue 20): its paid courses through the purchase engine.

A path with a price is sold like a bundle (services/payments/purchases.py): the paid courses
the learner does not own yet, in one Stripe Checkout Session, the price reduced pro rata for
the paid courses already owned, enrollments with source LEARNING_PATH, the charge shared out
over them to the minor unit. No coupons apply to a path. This module is the adapter: the
engine does the rest (fulfilment, refunds and disputes too).

"Enroll in path" (`enroll`), for the page and the API alike: follow the path and enroll in its
free courses (services/learning/paths.py, committed first: its own transaction, so its locks are
never held while checkout locks the learner), then start the path's checkout when it has a price
and paid courses are left to buy.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from models import EnrollmentSource, LearningPath, User
from services.errors import Conflict
from services.learning import paths as learning_paths
from services.payments import checkout, purchases


def product_of(path: LearningPath) -> purchases.Product:
    """The path as the engine sells it: its paid courses in order, its price, source LEARNING_PATH."""
    if path.price_amount is None:
        raise Conflict("This path has no price: buy its paid courses on their own pages.", code="PATH_NOT_FOR_SALE")
    return purchases.Product(kind="LEARNING_PATH", source=EnrollmentSource.LEARNING_PATH, column="learning_path_id",
                             id=path.id, title=path.name, currency=path.currency, price_amount=path.price_amount,
                             courses=tuple(course for course in path.courses if not course.is_free))


def offer(path: LearningPath, user: User | None, now: datetime) -> purchases.PurchaseOffer | None:
    """Read-only: what the path's paid courses cost `user` now (None: the path has no price)."""
    if path.price_amount is None:
        return None
    return purchases.offer(product_of(path), user, None, now)


@dataclass
class Enrolled:
    joined: learning_paths.Joined
    checkout: checkout.CheckoutStart | None  # None: nothing to pay through the path now


def enroll(path: LearningPath, user: User, *, success_url: str, cancel_url: str, now: datetime,
           commit: Callable[[], None], buy: bool = True, referrer_id: int | None = None) -> Enrolled:
    """Follow `path` (free courses enrolled at once) and commit; then, with `buy`, when the path
    has a price and paid courses the learner has no access to, start the path's checkout
    (`purchases.start`: refusals raise, e.g. COURSE_FULL naming the course)."""
    joined = learning_paths.join(user, path, now)
    commit()
    if not buy or path.price_amount is None or not joined.to_buy:
        return Enrolled(joined, None)
    started = purchases.start(product_of(path), user, None, success_url=success_url, cancel_url=cancel_url,
                              now=now, commit=commit, referrer_id=referrer_id)
    return Enrolled(joined, started)

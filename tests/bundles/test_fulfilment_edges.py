"""Edges of multi-course fulfilment (services/payments/purchases.py): access the learner got
another way between checkout and payment is not tied to the bundle's payment (its refund must
not take it away), and a bundle made free by a coupon takes its seats under the course lock like
a paid one (two learners racing for the last seat: one gets it)."""
import functools
import threading

import pytest

from extensions import db
from models import (Bundle, Enrollment, EnrollmentSource, EnrollmentStatus, PaymentSession, PaymentSessionStatus as S, User, utcnow)
from services.bundles import catalog
from services.errors import Conflict
from services.learning import enrollments
from services.payments import purchases
from tests import factories
from tests.bundles.conftest import CANCEL, SUCCESS, paid_by, prepare
from tests.checkout.builders import NOW
from tests.isolation import run_in_threads
from tests.webhooks import builders as b


def test_a_course_granted_before_the_payment_lands_is_not_revoked_by_the_bundle_refund(
        bundle, learner, staff, courses, deliver):
    ps = prepare(bundle, learner).payment_session
    ps.stripe_session_id = f"cs_test_{ps.id}"
    db.session.commit()
    # While the learner is on Stripe's page, staff grant one of the bundle's courses by hand.
    granted = enrollments.grant(learner, courses[0], source=EnrollmentSource.PROMOTION, now=NOW,
                                actor=staff)
    db.session.commit()
    deliver("checkout.session.completed", b.checkout_session(ps))
    ps = deliver.reload(ps)
    assert ps.status == S.COMPLETED and ps.needs_review and courses[0].title in ps.review_reason
    assert [e.course_id for e in paid_by(ps)] == [c.id for c in courses[1:]]
    deliver("charge.refunded", b.charge(ps, amount_refunded=ps.final_amount))
    assert {e.status for e in paid_by(ps)} == {EnrollmentStatus.REVOKED}
    kept = db.session.get(Enrollment, granted.id)
    assert kept.status == EnrollmentStatus.ACTIVE and kept.payment_id is None


def test_a_bundle_whose_every_course_was_granted_meanwhile_revokes_none_of_them(learner, staff, deliver):
    courses = [factories.course(price=3000), factories.course(price=2000)]
    bundle = factories.bundle(courses, 4000)
    ps = prepare(bundle, learner).payment_session
    ps.stripe_session_id = f"cs_test_{ps.id}"
    db.session.commit()
    for course in courses:
        enrollments.grant(learner, course, source=EnrollmentSource.PROMOTION, now=NOW, actor=staff)
    db.session.commit()
    deliver("checkout.session.completed", b.checkout_session(ps))
    ps = deliver.reload(ps)
    assert ps.status == S.COMPLETED and ps.needs_review and paid_by(ps) == []
    deliver("charge.refunded", b.charge(ps, amount_refunded=ps.final_amount))
    assert deliver.reload(ps).status == S.REFUNDED
    db.session.expire_all()
    assert {e.status for e in db.session.scalars(db.select(Enrollment).where(Enrollment.user_id == learner.id))} \
        == {EnrollmentStatus.ACTIVE}


def _free_checkout(user_id: int, bundle_id: int, pause: threading.Barrier | None):
    user, bundle = db.session.get(User, user_id), db.session.get(Bundle, bundle_id)
    try:
        start = purchases.prepare(catalog.product_of(bundle), user, "ALLFREE", success_url=SUCCESS,
                                  cancel_url=CANCEL, now=utcnow())
        db.session.commit()
        return start.kind
    except Conflict as refused:
        db.session.rollback()
        return refused.code


@pytest.fixture
def app_overrides():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 10, "max_overflow": 10}}


@pytest.mark.parametrize("racers", [2, 6])
def test_free_with_coupon_bundles_racing_for_the_last_seat_enroll_one(app, bundle, courses, racers, monkeypatch):
    courses[1].capacity = 1
    db.session.commit()
    factories.coupon(code="ALLFREE", percent=100)
    learners = [factories.user().id for _ in range(racers)]
    if db.engine.dialect.name == "postgresql":
        # Every racer has read "one seat left" before any of them enrolls (SQLite serializes
        # whole transactions, so there they cannot interleave at all).
        both_priced = threading.Barrier(racers, timeout=20)
        offer = purchases.offer

        def offer_then_wait(*args, **kwargs):
            found = offer(*args, **kwargs)
            both_priced.wait()
            return found
        monkeypatch.setattr(purchases, "offer", offer_then_wait)
    results = run_in_threads(app, [functools.partial(_free_checkout, user_id, bundle.id, None)
                                   for user_id in learners])
    assert sorted(results, key=str) == sorted(["ENROLLED"] + ["COURSE_FULL"] * (racers - 1), key=str), results
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Enrollment).where(
        Enrollment.course_id == courses[1].id)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(PaymentSession).where(
        PaymentSession.status == S.COMPLETED)) == 1

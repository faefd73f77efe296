"""Races with real threads, on both databases: the invariants hold under locks, not by luck
(PostgreSQL: row locks; SQLite, a file database: BEGIN IMMEDIATE, one writer at a time).

Each thread has its own app context, session and connection, as gunicorn workers would.
"""
import functools
import threading

import pytest

from extensions import db
from models import (Coupon, CouponRedemption, Course, Enrollment, PaymentSession, PaymentSessionStatus as S,
                    RedemptionStatus, User, WaitlistEntry, utcnow)
from services.payments import checkout, fulfillment, stripe_gateway
from services.errors import DomainError
from tests import factories
from tests.isolation import end_test_transaction, run_in_threads


SUCCESS = "http://127.0.0.1/checkout/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://127.0.0.1/checkout/cancel?payment_session={PAYMENT_SESSION_ID}"


@pytest.fixture
def app_overrides(sandbox_config):
    return {**sandbox_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 30, "max_overflow": 30}}


def run_together(app, count: int, work) -> list:
    """Run `work(index)` in `count` threads released at once; results (or exceptions) in order."""
    return run_in_threads(app, [functools.partial(work, index) for index in range(count)])


def _count(query) -> int:
    db.session.expire_all()
    return db.session.scalar(query)


def test_fifty_learners_race_for_a_five_use_coupon(app, paid_course):
    coupon = factories.coupon(code="RACE5", percent=20, max_uses=5)
    user_ids = [factories.user().id for _ in range(50)]
    course_id, code = paid_course.id, coupon.code

    def buy(index: int) -> str:
        user, course = db.session.get(User, user_ids[index]), db.session.get(Course, course_id)
        start = checkout.prepare_checkout(user, course, code, success_url=SUCCESS, cancel_url=CANCEL, now=utcnow())
        db.session.commit()
        return start.kind

    results = run_together(app, 50, buy)
    refused = [r for r in results if isinstance(r, DomainError)]
    assert results.count("REDIRECT") == 5 and len(refused) == 45
    assert {r.code for r in refused} == {"COUPON_USED_UP"}
    assert _count(db.select(db.func.count()).select_from(CouponRedemption)
                  .where(CouponRedemption.status == RedemptionStatus.RESERVED)) == 5
    assert _count(db.select(db.func.count()).select_from(PaymentSession)) == 5


def test_twenty_parallel_checkouts_by_one_learner_make_one_open_session(app, paid_course, learner, sandbox):
    user_id, course_id = learner.id, paid_course.id

    def buy(index: int) -> str:
        user, course = db.session.get(User, user_id), db.session.get(Course, course_id)
        start = checkout.start_checkout(user, course, None, success_url=SUCCESS, cancel_url=CANCEL, now=utcnow(),
                                        commit=db.session.commit)
        return start.redirect_url

    results = run_together(app, 20, buy)
    assert all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 1
    assert _count(db.select(db.func.count()).select_from(PaymentSession)
                  .where(PaymentSession.status == S.PENDING)) == 1
    assert len(sandbox.state.sessions) == 1


def test_success_page_and_webhook_fulfillment_race_to_one_enrollment(app, paid_course, learner, sandbox):
    coupon = factories.coupon(code="RACEPAID", percent=10, max_uses=3)
    start = checkout.start_checkout(learner, paid_course, coupon.code, success_url=SUCCESS, cancel_url=CANCEL,
                                    now=utcnow(), commit=db.session.commit)
    cs_id = start.payment_session.stripe_session_id
    assert sandbox.sandbox.engine.pay_card(cs_id, "4242424242424242")["ok"]
    user_id = learner.id

    def settle(index: int):
        now = utcnow()
        if index % 2:  # the success page
            result = checkout.confirm_success(db.session.get(User, user_id), cs_id, now)
        else:  # the webhook / reconcile
            result = fulfillment.fulfill_checkout_session(stripe_gateway.retrieve_checkout_session(cs_id),
                                                          now=now, source="webhook")
        db.session.commit()
        return result.status

    results = run_together(app, 12, settle)
    assert results == [S.COMPLETED] * 12, results
    assert _count(db.select(db.func.count()).select_from(Enrollment)) == 1
    assert _count(db.select(Coupon.current_uses).where(Coupon.id == coupon.id)) == 1
    assert _count(db.select(db.func.count()).select_from(CouponRedemption)
                  .where(CouponRedemption.status == RedemptionStatus.REDEEMED)) == 1


def test_capacity_holds_when_learners_race_for_the_last_seats(app):
    course = factories.course(price=0, enrollment_type="FREE", capacity=3)
    user_ids = [factories.user().id for _ in range(10)]
    course_id = course.id

    def enroll(index: int) -> str:
        from services.learning import enrollments

        enrollments.enroll_free(db.session.get(User, user_ids[index]), db.session.get(Course, course_id), utcnow())
        db.session.commit()
        return "ENROLLED"

    results = run_together(app, 10, enroll)
    assert results.count("ENROLLED") == 3
    assert {e.code for e in results if isinstance(e, DomainError)} == {"COURSE_FULL"}
    assert _count(db.select(db.func.count()).select_from(Enrollment)) == 3


def _committed(app, errors: dict, name: str, work) -> None:
    """`work()` in its own app context, then commit; an exception is kept in `errors[name]` (the
    test asserts there is none) and rolled back."""
    with app.app_context():
        try:
            work()
            db.session.commit()
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors[name] = error
            db.session.rollback()


def test_fulfillment_and_a_staff_grant_on_a_capacity_course_do_not_deadlock(app):
    # Fulfillment used to lock the enrollment, then the course; every other enroller locks the
    # course first. Forced interleaving: the webhook holds the learner's enrollment while staff
    # grant a seat in the same capped course (found in review; PostgreSQL then reported a deadlock).
    from datetime import datetime, timezone

    from models import EnrollmentType
    from services.learning import enrollments
    from tests.webhooks import builders as b

    learner = factories.user(email="lock-order@example.com")
    course = factories.course(price=9900, capacity=5)
    factories.enrollment(learner, course, status="REVOKED")
    ps = factories.payment_session(learner, course)
    db.session.commit()
    paid, user_id, course_id = b.checkout_session(ps), learner.id, course.id
    webhook_locked, staff_locked_course = threading.Event(), threading.Event()
    real_lock, real_lock_course = enrollments.lock, enrollments._lock_course

    def lock(user, course_):
        row = real_lock(user, course_)
        if threading.current_thread().name == "webhook":
            webhook_locked.set()
            staff_locked_course.wait(5)
        return row

    def lock_course(course_):
        real_lock_course(course_)
        if threading.current_thread().name == "staff":
            staff_locked_course.set()

    errors: dict = {}

    def webhook():
        _committed(app, errors, "webhook", lambda: fulfillment.fulfill_checkout_session(
            paid, now=datetime.now(timezone.utc), source="webhook"))

    def staff():
        webhook_locked.wait(5)
        _committed(app, errors, "staff", lambda: enrollments.enroll(
            db.session.get(User, user_id), db.session.get(Course, course_id), type=EnrollmentType.WAITLIST,
            now=datetime.now(timezone.utc)))

    enrollments.lock, enrollments._lock_course = lock, lock_course
    end_test_transaction()  # the threads must not wait on the test's transaction
    try:
        threads = [threading.Thread(target=webhook, name="webhook"), threading.Thread(target=staff, name="staff")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        enrollments.lock, enrollments._lock_course = real_lock, real_lock_course
    assert not errors, errors
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Enrollment)
                             .where(Enrollment.user_id == user_id, Enrollment.course_id == course_id)) == 1


def test_fulfillment_with_a_coupon_and_a_free_checkout_with_it_do_not_deadlock(app):
    # A free checkout locks the coupon, then enrolls; fulfillment used to enroll first and lock
    # the coupon last (to redeem it). Forced interleaving (found in review): the free checkout
    # holds the coupon while the webhook fulfills a payment made with the same coupon.
    import time
    from datetime import datetime, timezone

    from models import EnrollmentType
    from services.coupons import redemptions
    from services.learning import enrollments
    from tests.webhooks import builders as b

    learner = factories.user(email="coupon-order@example.com")
    course = factories.course(price=9900)
    factories.enrollment(learner, course, status="REVOKED")
    coupon = factories.coupon(code="ORDER10", percent=10)
    ps = factories.payment_session(learner, course, coupon=coupon, discount=990)
    db.session.commit()
    paid, user_id, course_id, coupon_id = b.checkout_session(ps), learner.id, course.id, coupon.id
    free_holds_coupon, webhook_redeems = threading.Event(), threading.Event()
    real_redeem = redemptions.redeem_for

    def redeem_for(*args, **kwargs):
        webhook_redeems.set()
        return real_redeem(*args, **kwargs)

    errors: dict = {}

    def webhook():
        free_holds_coupon.wait(5)
        _committed(app, errors, "webhook", lambda: fulfillment.fulfill_checkout_session(
            paid, now=datetime.now(timezone.utc), source="webhook"))

    def free_checkout():
        def hold_the_coupon_then_enroll():
            redemptions.lock(coupon_id)
            free_holds_coupon.set()
            webhook_redeems.wait(3)  # the old order: the webhook has enrolled and now wants the coupon
            time.sleep(0.3)
            enrollments.enroll(db.session.get(User, user_id), db.session.get(Course, course_id),
                               type=EnrollmentType.FREE, now=datetime.now(timezone.utc))
        _committed(app, errors, "free", hold_the_coupon_then_enroll)

    redemptions.redeem_for = redeem_for
    end_test_transaction()  # the threads must not wait on the test's transaction
    try:
        threads = [threading.Thread(target=webhook), threading.Thread(target=free_checkout)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        redemptions.redeem_for = real_redeem
    assert not errors, errors


def test_ten_learners_start_paying_for_three_seats(app, sandbox):
    """Seats are held during checkout as coupon uses are: 3 checkouts open, 7 learners are
    offered the waitlist before paying, and the 3 who pay are the 3 enrolled (it used to be
    10 paid enrollments, 7 of them over capacity)."""
    course = factories.course(price=4900, capacity=3)
    user_ids = [factories.user().id for _ in range(10)]
    course_id = course.id

    def buy(index: int) -> str:
        user, course_ = db.session.get(User, user_ids[index]), db.session.get(Course, course_id)
        start = checkout.start_checkout(user, course_, None, success_url=SUCCESS, cancel_url=CANCEL, now=utcnow(),
                                        commit=db.session.commit)
        return start.payment_session.stripe_session_id if start.kind == "REDIRECT" else start.kind

    results = run_together(app, 10, buy)
    opened = [r for r in results if isinstance(r, str) and r.startswith("cs_")]
    assert len(opened) == 3 and results.count("WAITLISTED") == 7, results
    assert _count(db.select(db.func.count()).select_from(WaitlistEntry)) == 7
    for cs_id in opened:
        assert sandbox.sandbox.engine.pay_card(cs_id, "4242424242424242")["ok"]
        fulfillment.fulfill_checkout_session(stripe_gateway.retrieve_checkout_session(cs_id), now=utcnow(),
                                             source="webhook")
        db.session.commit()
    enrolled = db.session.scalars(db.select(Enrollment).where(Enrollment.course_id == course_id)).all()
    assert len(enrolled) == 3 and all(e.status.value == "ACTIVE" for e in enrolled)
    assert not _count(db.select(db.func.count()).select_from(PaymentSession).where(PaymentSession.needs_review))


def test_a_released_hold_frees_the_seat(app, sandbox, learner):
    course = factories.course(price=4900, capacity=1)
    holder = factories.user()
    first = checkout.start_checkout(holder, course, None, success_url=SUCCESS, cancel_url=CANCEL, now=utcnow(),
                                    commit=db.session.commit)
    assert first.kind == "REDIRECT"
    blocked = checkout.prepare_checkout(learner, course, None, success_url=SUCCESS, cancel_url=CANCEL, now=utcnow())
    assert blocked.kind == "WAITLISTED"
    db.session.commit()
    checkout.cancel(holder, first.payment_session.id, utcnow())  # the holder gives up: the seat is free again
    db.session.commit()
    again = checkout.prepare_checkout(learner, course, None, success_url=SUCCESS, cancel_url=CANCEL, now=utcnow())
    assert again.kind == "REDIRECT"

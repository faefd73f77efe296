"""Reservations, redemptions and releases; the payment state table; invitations; waitlist."""
from datetime import timedelta

import pytest

from extensions import db
from models import (CouponRedemption, EnrollmentStatus, EnrollmentType, PaymentSession, PaymentSessionStatus as S,
                    RedemptionStatus)
from services.coupons import redemptions
from services.learning import enrollments, invitations, waitlist
from services.payments import payment_states
from services.errors import Conflict, DomainError
from tests import factories
from tests.checkout.builders import NOW

pytestmark = pytest.mark.usefixtures("app")


def pending_session(user, course, coupon=None, final_amount=None) -> PaymentSession:
    """An open checkout naming `coupon` whose use the test reserves itself."""
    fields = {} if final_amount is None else {"final_amount": final_amount}
    return factories.payment_session(user, course, coupon=coupon, hold=False, created_at=NOW, stripe_session_id=None,
                                     **fields)


def test_reserve_then_redeem_counts_a_use(paid_course, learner):
    coupon = factories.coupon(code="R", max_uses=2)
    ps = pending_session(learner, paid_course, coupon)
    redemptions.reserve(coupon, ps, NOW, NOW + timedelta(minutes=40))
    assert redemptions.live_reservations(coupon, NOW) == 1 and coupon.current_uses == 0
    redemption = redemptions.redeem_for(ps, None, NOW)
    assert redemption.status == RedemptionStatus.REDEEMED and coupon.current_uses == 1
    assert redemptions.live_reservations(coupon, NOW) == 0
    redemptions.redeem_for(ps, None, NOW)  # idempotent
    assert coupon.current_uses == 1


def test_reserve_refuses_the_use_beyond_max_uses(paid_course, learner):
    coupon = factories.coupon(code="ONE", max_uses=1, per_learner_limit=None)
    redemptions.reserve(coupon, pending_session(learner, paid_course, coupon), NOW, None)
    with pytest.raises(Conflict) as refused:
        redemptions.reserve(coupon, pending_session(factories.user(), paid_course, coupon), NOW, None)
    assert refused.value.code == "COUPON_USED_UP"


def test_reserve_refuses_a_second_use_by_the_same_learner(paid_course, learner):
    coupon = factories.coupon(code="MINE", per_learner_limit=1)
    redemptions.reserve(coupon, pending_session(learner, paid_course, coupon), NOW, None)
    with pytest.raises(Conflict) as refused:
        redemptions.reserve(coupon, pending_session(learner, factories.course(), coupon), NOW, None)
    assert refused.value.code == "COUPON_ALREADY_USED"


def test_a_replacing_checkout_for_the_same_course_may_reserve_again(paid_course, learner):
    coupon = factories.coupon(code="AGAIN", per_learner_limit=1)
    redemptions.reserve(coupon, pending_session(learner, paid_course, coupon), NOW, None)
    redemptions.reserve(coupon, pending_session(learner, paid_course, coupon, final_amount=5000), NOW, None)
    assert redemptions.live_reservations(coupon, NOW) == 2  # until step 2 closes the first checkout


def test_release_is_idempotent_and_frees_the_use(paid_course, learner):
    coupon = factories.coupon(code="REL", max_uses=1)
    ps = pending_session(learner, paid_course, coupon)
    redemptions.reserve(coupon, ps, NOW, None)
    assert redemptions.release_for(ps, NOW, "cancelled").status == RedemptionStatus.RELEASED
    assert redemptions.release_for(ps, NOW, "cancelled again") is None
    assert redemptions.release_for(pending_session(learner, paid_course), NOW, "nothing reserved") is None
    assert redemptions.live_reservations(coupon, NOW) == 0
    redemptions.reserve(coupon, pending_session(factories.user(), paid_course, coupon), NOW, None)


def test_a_paid_session_redeems_even_after_release(paid_course, learner):
    coupon = factories.coupon(code="LATE")
    ps = pending_session(learner, paid_course, coupon)
    redemptions.reserve(coupon, ps, NOW, None)
    redemptions.release_for(ps, NOW, "expired locally")
    assert redemptions.redeem_for(ps, None, NOW).status == RedemptionStatus.REDEEMED
    assert db.session.scalar(db.select(db.func.count()).select_from(CouponRedemption)) == 1


def test_usage_totals(paid_course, learner):
    coupon = factories.coupon(code="SUM", percent=10)
    ps = pending_session(learner, paid_course, coupon, final_amount=8910)
    ps.discount_amount = 990
    redemptions.reserve(coupon, ps, NOW, None)
    redemptions.redeem_for(ps, None, NOW)
    ps.status = S.COMPLETED
    redemptions.reserve(coupon, pending_session(factories.user(), paid_course, coupon), NOW, None)
    db.session.commit()
    assert redemptions.usage_totals(coupon) == [{"currency": "USD", "uses": 1, "discount": 990, "revenue": 8910}]
    assert (coupon.current_uses, redemptions.live_reservations(coupon, NOW)) == (1, 1)


def test_public_active_lists_only_usable_public_codes():
    factories.coupon(code="PUB", is_public=True)
    factories.coupon(code="PRIV", is_public=False)
    factories.coupon(code="OLD", is_public=True, valid_until=NOW - timedelta(days=1))
    factories.coupon(code="FULL", is_public=True, max_uses=1, current_uses=1)
    assert [c.code for c in redemptions.public_active(NOW)] == ["PUB"]


# --- state machine ----------------------------------------------------------------------

def test_transitions_follow_the_table(paid_course, learner):
    ps = pending_session(learner, paid_course)
    assert payment_states.move(ps, S.PROCESSING, now=NOW, reason="sepa")
    assert not payment_states.move(ps, S.CANCELLED, now=NOW, reason="too late")  # noted, ignored
    assert ps.status == S.PROCESSING
    assert payment_states.move(ps, S.COMPLETED, now=NOW, reason="settled") and ps.completed_at == NOW
    for status in (S.PENDING, S.EXPIRED, S.FAILED, S.CANCELLED, S.PROCESSING):
        assert not payment_states.move(ps, status, now=NOW, reason="late event")  # never moves back
    assert ps.status == S.COMPLETED
    assert payment_states.move(ps, S.REFUNDED, now=NOW, reason="refund")


def test_cancelled_session_can_still_complete(paid_course, learner):
    ps = pending_session(learner, paid_course)
    payment_states.move(ps, S.CANCELLED, now=NOW, reason="learner")
    assert payment_states.move(ps, S.COMPLETED, now=NOW, reason="Stripe says paid")


# --- enrollments, invitations, waitlist ------------------------------------------------

def test_enroll_is_one_per_learner_and_course(paid_course, learner):
    first = enrollments.enroll(learner, paid_course, type=EnrollmentType.FREE, now=NOW)
    second = enrollments.enroll(learner, paid_course, type=EnrollmentType.FREE, now=NOW)
    assert first.id == second.id


def test_enroll_reactivates_a_revoked_enrollment(paid_course, learner):
    enrollment = factories.enrollment(learner, paid_course, status="REVOKED")
    again = enrollments.enroll(learner, paid_course, type=EnrollmentType.FREE, now=NOW)
    assert again.id == enrollment.id and again.status == EnrollmentStatus.ACTIVE and again.revoked_at is None


def test_enroll_free_refuses_paid_courses(paid_course, learner):
    with pytest.raises(DomainError) as refused:
        enrollments.enroll_free(learner, paid_course, NOW)
    assert (refused.value.code, refused.value.status) == ("PAYMENT_REQUIRED", 402)


def test_capacity_is_enforced(learner):
    course = factories.course(price=0, enrollment_type="FREE", capacity=1)
    enrollments.enroll_free(factories.user(), course, NOW)
    with pytest.raises(Conflict) as refused:
        enrollments.enroll_free(learner, course, NOW)
    assert refused.value.code == "COURSE_FULL"


def test_invitation_admits_once_and_only_its_learner(learner, staff):
    course = factories.course(enrollment_type="INVITATION_ONLY", price=0)
    [invitation] = invitations.issue(course, actor=staff)
    with pytest.raises(DomainError) as missing:
        enrollments.enroll_free(learner, course, NOW)
    assert missing.value.code == "INVITATION_REQUIRED"
    enrollment = enrollments.enroll_free(learner, course, NOW, invitation_code=invitation.code.lower())
    assert enrollment.type == EnrollmentType.INVITATION_ONLY
    with pytest.raises(DomainError) as used:
        enrollments.enroll_free(factories.user(), course, NOW, invitation_code=invitation.code)
    assert used.value.code == "INVITATION_INVALID"


@pytest.mark.parametrize("problem", ["expired", "revoked", "other_course", "other_email", "unknown"])
def test_invalid_invitations(learner, staff, problem):
    course = factories.course(enrollment_type="INVITATION_ONLY", price=0)
    target = factories.course(enrollment_type="INVITATION_ONLY", price=0) if problem == "other_course" else course
    [invitation] = invitations.issue(course, actor=staff, email="someone@example.com" if problem == "other_email" else None,
                                     expires_at=NOW - timedelta(seconds=1) if problem == "expired" else None)
    if problem == "revoked":
        invitations.revoke(invitation, NOW, staff)
    code = "INV-NOPE" if problem == "unknown" else invitation.code
    with pytest.raises(DomainError) as refused:
        invitations.redeem(code, learner, target, NOW)
    assert refused.value.code == "INVITATION_INVALID"


def test_waitlist_join_is_idempotent_and_admit_enrolls(learner, staff):
    course = factories.course(price=0, enrollment_type="FREE", capacity=1)
    entry = waitlist.join(learner, course, NOW)
    assert waitlist.join(learner, course, NOW).id == entry.id
    assert waitlist.position(entry) == 1
    enrollment = waitlist.admit(entry, NOW, staff)
    assert enrollment.type == EnrollmentType.WAITLIST and waitlist.entries(course) == []

"""The multi-course purchase engine (services/payments/purchases.py) through a bundle: price for
the learner, shares that sum to the charge, fulfilment by webhook (duplicates, reordering),
refunds and disputes acting on every enrollment of the payment."""
import pytest

from extensions import db
from models import (CouponRedemption, EnrollmentSource, EnrollmentStatus, PaymentSession, PaymentSessionStatus as S,
                    PaymentStatus, RedemptionStatus)
from services import money, products
from services.bundles import catalog
from services.errors import Conflict, DomainError
from tests import factories
from tests.bundles.conftest import paid_by, prepare
from tests.checkout.builders import NOW
from tests.webhooks import builders as b


def _stripe_id(ps):
    ps.stripe_session_id = f"cs_test_{ps.id}"
    db.session.commit()
    return ps


def test_share_out_sums_exactly_and_follows_weights():
    assert money.share_out(6160, [4900, 2900, 1900]) == [3112, 1842, 1206]
    assert sum(money.share_out(101, [1, 1, 1])) == 101 and money.share_out(101, [1, 1, 1]) == [34, 34, 33]
    assert money.share_out(0, [5, 5]) == [0, 0] and money.share_out(7, [0, 0]) == [4, 3]


def test_prepare_stores_the_courses_and_their_shares(bundle, learner, courses):
    coupon = factories.coupon(code="BUNDLE20", percent=20)
    start = prepare(bundle, learner, "bundle20")
    ps = start.payment_session
    assert start.kind == "REDIRECT" and ps.course_id is None and ps.bundle_id == bundle.id
    assert (ps.amount, ps.discount_amount, ps.final_amount) == (7700, 1540, 6160)
    assert [item.course_id for item in ps.items] == [course.id for course in courses]
    assert sum(item.amount for item in ps.items) == 6160 and sum(item.discount for item in ps.items) == 1540
    assert products.sold(ps).kind == "BUNDLE" and products.sold(ps).title == "Starter bundle"
    redemption = db.session.scalar(db.select(CouponRedemption).where(CouponRedemption.payment_session_id == ps.id))
    assert redemption.status == RedemptionStatus.RESERVED and redemption.bundle_id == bundle.id
    assert redemption.course_id is None and redemption.coupon_id == coupon.id
    params = ps.extra["stripe_params"]
    assert len(params["line_items"]) == 1 and params["line_items"][0]["price_data"]["unit_amount"] == 7700


@pytest.mark.parametrize("fixture, code", [("bundle", "TENOFF"), ("jpy_bundle", "TENOFF")])
def test_paid_webhook_enrolls_every_course_with_shares_summing_to_the_charge(request, fixture, code, learner, deliver):
    target = request.getfixturevalue(fixture)
    factories.coupon(code="TENOFF", percent=10)
    ps = _stripe_id(prepare(target, learner, code).payment_session)
    deliver("checkout.session.completed", b.checkout_session(ps))
    ps = deliver.reload(ps)
    enrolled = paid_by(ps)
    assert ps.status == S.COMPLETED and len(enrolled) == 3
    assert sum(e.amount_paid for e in enrolled) == ps.final_amount == target.price_amount - ps.discount_amount
    assert {e.source for e in enrolled} == {EnrollmentSource.BUNDLE}
    assert all(e.payment_status == PaymentStatus.PAID and e.status == EnrollmentStatus.ACTIVE for e in enrolled)
    assert db.session.scalar(db.select(CouponRedemption.status).where(
        CouponRedemption.payment_session_id == ps.id)) == RedemptionStatus.REDEEMED


def test_duplicate_and_reordered_events_give_one_set_of_enrollments(bundle, learner, deliver):
    ps = _stripe_id(prepare(bundle, learner).payment_session)
    deliver("payment_intent.succeeded", b.payment_intent(ps))  # before the session's own event
    completed = deliver("checkout.session.completed", b.checkout_session(ps))
    deliver.again(completed)
    deliver("checkout.session.completed", b.checkout_session(ps))  # a second delivery, new event id
    assert len(paid_by(ps)) == 3 and deliver.reload(ps).status == S.COMPLETED


def test_a_refund_reported_before_fulfilment_is_applied_to_every_course(bundle, learner, deliver):
    ps = _stripe_id(prepare(bundle, learner).payment_session)
    deliver("charge.refunded", b.charge(ps, amount_refunded=ps.final_amount))
    deliver("checkout.session.completed", b.checkout_session(ps))
    enrolled = paid_by(ps)
    assert deliver.reload(ps).status == S.REFUNDED and len(enrolled) == 3
    assert {e.status for e in enrolled} == {EnrollmentStatus.REVOKED}


def test_full_refund_revokes_every_enrollment_and_partial_follows_the_policy(bundle, learner, deliver):
    ps = _stripe_id(prepare(bundle, learner).payment_session)
    deliver("checkout.session.completed", b.checkout_session(ps))
    deliver("refund.created", b.refund(ps, amount=1000))
    enrolled = paid_by(ps)
    # The default policy: a partial refund keeps access (PARTIAL_REFUND_KEEPS_ACCESS).
    assert {(e.status, e.payment_status) for e in enrolled} == {(EnrollmentStatus.ACTIVE,
                                                                 PaymentStatus.PARTIALLY_REFUNDED)}
    deliver("charge.refunded", b.charge(ps, amount_refunded=ps.final_amount))
    enrolled = paid_by(ps)
    assert deliver.reload(ps).status == S.REFUNDED
    assert {(e.status, e.payment_status) for e in enrolled} == {(EnrollmentStatus.REVOKED, PaymentStatus.REFUNDED)}


def test_a_lost_dispute_revokes_every_enrollment(bundle, learner, deliver):
    ps = _stripe_id(prepare(bundle, learner).payment_session)
    deliver("checkout.session.completed", b.checkout_session(ps))
    deliver("charge.dispute.created", b.dispute(ps, dispute_id="dp_bundle"))
    assert {e.status for e in paid_by(ps)} == {EnrollmentStatus.SUSPENDED}
    deliver("charge.dispute.closed", b.dispute(ps, status="lost", dispute_id="dp_bundle"))
    assert {e.status for e in paid_by(ps)} == {EnrollmentStatus.REVOKED}


def test_owned_courses_lower_the_price_pro_rata_in_the_learners_favour(bundle, learner, courses):
    factories.enrollment(learner, courses[0], paid=True)  # $49 of the $97 list
    found = catalog.offer(bundle, learner, None, NOW)
    # 7700 × 4800 / 9700 = 3810.3… → 3810 (rounded down: the learner's favour)
    assert found.quote.final_amount == 3810 and found.reduction == 3890
    assert [c.id for c in found.owned] == [courses[0].id] and len(found.to_buy) == 2
    ps = prepare(bundle, learner).payment_session
    assert ps.final_amount == 3810 and [item.course_id for item in ps.items] == [c.id for c in courses[1:]]
    assert sum(item.amount for item in ps.items) == 3810


def test_the_reduced_price_never_goes_below_stripes_minimum(learner):
    cheap, dear = factories.course(price=60), factories.course(price=9900)  # 6000 × 60 / 9960 = 36
    bundle = factories.bundle([cheap, dear], 6000)
    factories.enrollment(learner, dear, paid=True)
    assert catalog.offer(bundle, learner, None, NOW).quote.final_amount == money.minimum_charge("USD")


def test_a_fully_owned_bundle_cannot_be_bought(bundle, learner, courses):
    for course in courses:
        factories.enrollment(learner, course)
    assert catalog.offer(bundle, learner, None, NOW).fully_owned
    with pytest.raises(Conflict) as refused:
        prepare(bundle, learner)
    assert refused.value.code == "ALREADY_OWNED"
    assert db.session.scalar(db.select(db.func.count()).select_from(PaymentSession)) == 0


def test_a_full_course_blocks_checkout_naming_it(bundle, learner, courses):
    courses[1].capacity = 1
    db.session.commit()
    factories.enrollment(factories.user(), courses[1])
    with pytest.raises(Conflict) as refused:
        prepare(bundle, learner)
    assert refused.value.code == "COURSE_FULL" and "Bundled 2" in refused.value.message


def test_a_pending_bundle_checkout_holds_a_seat_of_each_course(bundle, learner, courses):
    courses[2].capacity = 1
    db.session.commit()
    prepare(bundle, learner)
    from services.learning import enrollments
    assert enrollments.is_full(courses[2], factories.user(), NOW)


def test_coupons_limited_to_courses_do_not_apply_to_bundles_and_vice_versa(bundle, learner, courses):
    factories.coupon(code="COURSEONLY", courses=[courses[0]])
    with pytest.raises(DomainError) as refused:
        prepare(bundle, learner, "COURSEONLY")
    assert refused.value.code == "COUPON_NOT_APPLICABLE"
    bundle_coupon = factories.coupon(code="BUNDLEONLY")
    bundle_coupon.applicable_bundles = [bundle]
    db.session.commit()
    from services.coupons import pricing
    assert pricing.quote(courses[0], "BUNDLEONLY", learner, NOW).refusal_code == "COUPON_NOT_APPLICABLE"
    assert catalog.offer(bundle, learner, "BUNDLEONLY", NOW).quote.discount_amount == 770


def test_the_per_learner_limit_counts_bundle_uses(bundle, learner, deliver):
    factories.coupon(code="ONCE", percent=10, per_learner_limit=1)
    ps = _stripe_id(prepare(bundle, learner, "ONCE").payment_session)
    again = prepare(bundle, learner, "ONCE")  # re-typing the code of the open checkout stays valid
    assert again.payment_session.id == ps.id
    deliver("checkout.session.completed", b.checkout_session(ps))
    other = factories.bundle([factories.course(), factories.course()])
    assert catalog.offer(other, learner, "ONCE", NOW).quote.refusal_code == "COUPON_ALREADY_USED"


def test_a_free_with_coupon_bundle_enrolls_at_once(bundle, learner):
    factories.coupon(code="ALLFREE", percent=100)
    start = prepare(bundle, learner, "ALLFREE")
    ps = start.payment_session
    assert start.kind == "ENROLLED" and ps.status == S.COMPLETED and ps.final_amount == 0
    assert len(paid_by(ps)) == 3

"""Quote rules, one test per rule and refusal, time-window boundaries with a fixed clock, and
hypothesis properties of the discount arithmetic."""
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from models import Coupon, DiscountType
from services.coupons import pricing
from services.coupons.redemptions import normalize_code
from tests import factories
from tests.checkout.builders import NOW

pytestmark = pytest.mark.usefixtures("app")


def test_no_code_is_the_list_price(paid_course, learner):
    quote = pricing.quote(paid_course, None, learner, NOW)
    assert (quote.original_amount, quote.discount_amount, quote.final_amount) == (9900, 0, 9900)
    assert quote.is_valid and quote.coupon_id is None and quote.currency == "USD"


def test_percentage_rounds_half_up(learner):
    course = factories.course(price=3490)
    factories.coupon(code="FIFTEEN", percent=15)
    quote = pricing.quote(course, "FIFTEEN", learner, NOW)
    assert (quote.discount_amount, quote.final_amount) == (524, 2966)  # 523.5 → 524


def test_code_matched_case_insensitively_after_trimming(paid_course, learner):
    coupon = factories.coupon(code="WELCOME10", percent=10)
    quote = pricing.quote(paid_course, "  welcome10 \n", learner, NOW)
    assert quote.is_valid and quote.coupon_id == coupon.id and quote.coupon_code == "WELCOME10"
    assert normalize_code(" aBc ") == "ABC"


def test_fixed_amount_in_its_own_currency(paid_course, learner):
    factories.coupon(code="TENOFF", amount_off=1000, currency="USD")
    quote = pricing.quote(paid_course, "TENOFF", learner, NOW)
    assert (quote.discount_amount, quote.final_amount) == (1000, 8900)


def test_fixed_amount_in_another_currency_is_refused(paid_course, learner):
    factories.coupon(code="EURO5", amount_off=500, currency="EUR")
    quote = pricing.quote(paid_course, "EURO5", learner, NOW)
    assert quote.refusal_code == pricing.COUPON_CURRENCY_MISMATCH
    assert "EUR" in quote.refusal_message


def test_refused_quote_keeps_the_list_price(paid_course, learner):
    quote = pricing.quote(paid_course, "NOPE", learner, NOW)
    assert quote.refusal_code == pricing.COUPON_NOT_FOUND
    assert (quote.discount_amount, quote.final_amount) == (0, 9900) and not quote.is_valid
    assert quote.refusal_message


def test_inactive(paid_course, learner):
    factories.coupon(code="OFF", is_active=False)
    assert pricing.quote(paid_course, "OFF", learner, NOW).refusal_code == pricing.COUPON_INACTIVE


@pytest.mark.parametrize("offset, expected", [
    (timedelta(seconds=-1), pricing.COUPON_NOT_STARTED),  # one second before valid_from
    (timedelta(0), None),                                 # valid_from itself is inside the window
])
def test_valid_from_boundary_is_inclusive(paid_course, learner, offset, expected):
    factories.coupon(code="LATER", valid_from=NOW)
    assert pricing.quote(paid_course, "LATER", learner, NOW + offset).refusal_code == expected


@pytest.mark.parametrize("offset, expected", [
    (timedelta(seconds=-1), None),                    # the last second inside the window
    (timedelta(0), pricing.COUPON_EXPIRED),           # valid_until itself is outside
    (timedelta(days=1), pricing.COUPON_EXPIRED),
])
def test_valid_until_boundary_is_exclusive(paid_course, learner, offset, expected):
    factories.coupon(code="SOON", valid_until=NOW)
    assert pricing.quote(paid_course, "SOON", learner, NOW + offset).refusal_code == expected


def test_used_up_counts_redemptions(paid_course, learner):
    factories.coupon(code="GONE", max_uses=3, current_uses=3)
    assert pricing.quote(paid_course, "GONE", learner, NOW).refusal_code == pricing.COUPON_USED_UP


def test_used_up_counts_live_reservations_of_others(paid_course, learner):
    from services.coupons import redemptions
    from tests.checkout.test_coupons import pending_session

    coupon = factories.coupon(code="LAST", max_uses=1)
    other = factories.user()
    redemptions.reserve(coupon, pending_session(other, paid_course, coupon), NOW, NOW + timedelta(minutes=40))
    assert pricing.quote(paid_course, "LAST", learner, NOW).refusal_code == pricing.COUPON_USED_UP
    # …but not once the reservation has lapsed…
    assert pricing.quote(paid_course, "LAST", learner, NOW + timedelta(minutes=41)).is_valid
    # …and the holder's own reservation for this course does not block them.
    assert pricing.quote(paid_course, "LAST", other, NOW).is_valid


def test_already_used_by_this_learner(paid_course, learner):
    from services.coupons import redemptions
    from tests.checkout.test_coupons import pending_session

    coupon = factories.coupon(code="ONCE", per_learner_limit=1)
    other_course = factories.course(price=5000)
    ps = pending_session(learner, other_course, coupon)
    redemptions.reserve(coupon, ps, NOW, None)
    redemptions.redeem_for(ps, None, NOW)
    quote = pricing.quote(paid_course, "ONCE", learner, NOW)
    assert quote.refusal_code == pricing.COUPON_ALREADY_USED
    assert pricing.quote(paid_course, "ONCE", factories.user(), NOW).is_valid  # others may
    assert pricing.quote(paid_course, "ONCE", None, NOW).is_valid  # visitors are not counted


def test_live_quote_counts_the_learners_uses_in_its_one_query(paid_course, learner):
    # checkout.price_offer (the htmx fragment) counts per-learner uses inside its query; it
    # must agree with pricing.quote: a redeemed use elsewhere counts, the learner's own
    # reservation for this course does not, other learners and visitors are not counted.
    from services.coupons import redemptions
    from services.payments import checkout
    from tests.checkout.test_coupons import pending_session

    coupon = factories.coupon(code="ONCE", per_learner_limit=1)
    own = pending_session(learner, paid_course, coupon)
    redemptions.reserve(coupon, own, NOW, None)
    returning = factories.user()
    used = pending_session(returning, factories.course(price=5000), coupon)
    redemptions.reserve(coupon, used, NOW, None)
    redemptions.redeem_for(used, None, NOW)
    for user in (learner, returning, factories.user(), None):
        assert checkout.price_offer(paid_course.slug, "once", user, NOW).quote == \
            pricing.quote(paid_course, "ONCE", user, NOW)
    assert checkout.price_offer(paid_course.slug, "once", learner, NOW).quote.is_valid
    assert checkout.price_offer(paid_course.slug, "once", returning, NOW).quote.refusal_code == \
        pricing.COUPON_ALREADY_USED


def test_not_applicable_to_other_courses(paid_course, learner):
    other = factories.course()
    factories.coupon(code="ONLYOTHER", courses=[other])
    factories.coupon(code="BOTH", courses=[other, paid_course])
    factories.coupon(code="ALL", courses=[])
    assert pricing.quote(paid_course, "ONLYOTHER", learner, NOW).refusal_code == pricing.COUPON_NOT_APPLICABLE
    assert pricing.quote(paid_course, "BOTH", learner, NOW).is_valid
    assert pricing.quote(paid_course, "ALL", learner, NOW).is_valid  # empty list = every course


def test_minimum_amount(paid_course, learner):
    factories.coupon(code="BIGSPEND", minimum_amount=10000)
    factories.coupon(code="EXACT", minimum_amount=9900)
    quote = pricing.quote(paid_course, "BIGSPEND", learner, NOW)
    assert quote.refusal_code == pricing.COUPON_MINIMUM_NOT_MET and "$100.00" in quote.refusal_message
    assert pricing.quote(paid_course, "EXACT", learner, NOW).is_valid


def test_maximum_discount_caps_the_percentage(paid_course, learner):
    factories.coupon(code="HALF", percent=50, maximum_discount=2000)
    quote = pricing.quote(paid_course, "HALF", learner, NOW)
    assert (quote.discount_amount, quote.final_amount) == (2000, 7900)


def test_fixed_discount_never_above_the_price(learner):
    course = factories.course(price=1500)
    factories.coupon(code="HUGE", amount_off=5000, currency="USD")
    quote = pricing.quote(course, "HUGE", learner, NOW)
    assert (quote.discount_amount, quote.final_amount) == (1500, 0) and quote.is_free


def test_full_percentage_makes_it_free(paid_course, learner):
    factories.coupon(code="FREEBIE", percent=100)
    quote = pricing.quote(paid_course, "FREEBIE", learner, NOW)
    assert quote.final_amount == 0 and quote.is_valid


def test_final_amount_below_stripe_minimum_is_refused(learner):
    course = factories.course(price=1000)
    factories.coupon(code="NINETYSEVEN", percent=97)  # leaves 30 cents; USD minimum is 50
    quote = pricing.quote(course, "NINETYSEVEN", learner, NOW)
    assert quote.refusal_code == pricing.AMOUNT_BELOW_MINIMUM_CHARGE
    assert "$0.50" in quote.refusal_message and quote.final_amount == 1000


def test_minimum_charge_uses_the_course_currency(learner):
    course = factories.course(price=1000, currency="GBP")
    factories.coupon(code="GBP97", percent=97)  # 30 pence: exactly the GBP minimum
    assert pricing.quote(course, "GBP97", learner, NOW).final_amount == 30


def test_yen_has_no_minor_unit(learner):
    course = factories.course(price=12000, currency="JPY")
    factories.coupon(code="YEN15", percent=15)
    assert pricing.quote(course, "YEN15", learner, NOW).final_amount == 10200


def test_all_refusal_codes_are_constants():
    assert len(set(pricing.REFUSAL_CODES)) == 10


# --- properties -------------------------------------------------------------------------

def _coupon(kind: str, value: int, cap: int | None) -> Coupon:
    if kind == "percent":
        return Coupon(code="P", name="p", discount_type=DiscountType.PERCENTAGE,
                      percent_off=Decimal(value) / 100, maximum_discount=cap)
    return Coupon(code="F", name="f", discount_type=DiscountType.FIXED_AMOUNT, amount_off=value,
                  currency="USD", maximum_discount=cap)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(price=st.integers(0, 99_999_999),
       kind=st.sampled_from(["percent", "fixed"]),
       value=st.integers(1, 10_000),
       cap=st.one_of(st.none(), st.integers(0, 10_000_000)))
def test_discount_never_negative_never_above_price_or_cap(price, kind, value, cap):
    discount = pricing.discount_for(_coupon(kind, value, cap), price)
    assert 0 <= discount <= price
    assert price - discount >= 0
    if cap is not None:
        assert discount <= cap


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(price=st.integers(0, 1_000_000), percent=st.integers(1, 100), cap=st.one_of(st.none(), st.integers(0, 50_000)))
def test_quote_final_amount_never_negative_and_zero_or_chargeable(app, price, percent, cap):
    course = factories.course(price=price)
    factories.coupon(code=f"H{course.id}", percent=percent, maximum_discount=cap)
    quote = pricing.quote(course, f"h{course.id}", None, NOW)
    assert quote.final_amount == quote.original_amount - quote.discount_amount
    assert quote.final_amount >= 0 and quote.discount_amount <= price
    if cap is not None:
        assert quote.discount_amount <= cap
    assert quote.final_amount == 0 or quote.final_amount >= 50 or not quote.is_valid

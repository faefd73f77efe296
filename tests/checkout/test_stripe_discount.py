"""Our discount reaches Stripe as a Stripe coupon of exactly our amount (issue 17, "Buying"):
Stripe's page shows the list price and the code, and charges exactly our quote."""
import pytest

from extensions import db
from models import Enrollment, PaymentSession, PaymentSessionStatus as S, StripeCoupon
from services.payments import fulfillment, stripe_coupons
from tests import factories
from tests.helpers import StatementCounter, csrf_token, post_form


@pytest.fixture
def app_overrides(sandbox_config):
    return sandbox_config


def _buy(client, slug: str, code: str | None):
    response = post_form(client, f"/courses/{slug}/checkout", {"coupon_code": code or ""})
    assert response.status_code == 303, response.get_data(as_text=True).partition('class="error"')[2][:300]
    db.session.expire_all()
    return db.session.scalars(db.select(PaymentSession).order_by(PaymentSession.created_at.desc())).first()


@pytest.mark.parametrize("currency, price, coupon_args, discount", [
    ("USD", 12900, {"amount_off": 2000, "currency": "USD"}, 2000),
    ("EUR", 4990, {"percent": 15}, 749),       # 748.5 rounds half up to 749: Stripe gets 749, not 15%
    ("JPY", 12345, {"percent": "12.5"}, 1543),  # zero-decimal: 1543.125 → 1543 yen
])
def test_stripe_gets_the_list_price_and_a_coupon_of_exactly_our_discount(
        signed_in, sandbox, currency, price, coupon_args, discount):
    course = factories.course(price=price, currency=currency)
    factories.coupon(code="SAVE20", **coupon_args)
    ps = _buy(signed_in, course.slug, "save20")
    assert (ps.amount, ps.discount_amount, ps.final_amount) == (price, discount, price - discount)
    stripe_session = sandbox.state.sessions[ps.stripe_session_id]
    [item] = sandbox.state.line_items[ps.stripe_session_id]
    assert item["price"]["unit_amount"] == price and item["currency"] == currency.lower()
    [entry] = stripe_session["discounts"]
    stripe_coupon = sandbox.state.coupons[entry["coupon"]]
    assert (stripe_coupon["amount_off"], stripe_coupon["currency"], stripe_coupon["name"]) == (
        discount, currency.lower(), "SAVE20")
    assert (stripe_session["amount_subtotal"], stripe_session["total_details"]["amount_discount"],
            stripe_session["amount_total"]) == (price, discount, ps.final_amount)

    sandbox.sandbox.engine.pay_card(ps.stripe_session_id, "4242424242424242", "learner@example.com")
    signed_in.get(f"/checkout/success?session_id={ps.stripe_session_id}")
    db.session.expire_all()
    ps = db.session.get(PaymentSession, ps.id)
    assert ps.status == S.COMPLETED and not ps.needs_review
    assert db.session.get(Enrollment, ps.enrollment_id).amount_paid == price - discount


def test_a_stripe_coupon_is_made_once_per_coupon_amount_and_currency(app, signed_in, sandbox, sign_in):
    factories.coupon(code="SAVE10", percent=10, per_learner_limit=100)
    first, second = factories.course(price=9900), factories.course(price=9900)
    third = factories.course(price=4900)
    _buy(signed_in, first.slug, "SAVE10")
    _buy(signed_in, second.slug, "SAVE10")   # same discount (990 USD): the same Stripe coupon
    other = app.test_client()
    sign_in(other, factories.user())
    _buy(other, first.slug, "SAVE10")        # another learner too
    _buy(signed_in, third.slug, "SAVE10")    # 490 USD: another one
    assert sorted(c["amount_off"] for c in sandbox.state.coupons.values()) == [490, 990]
    assert db.session.scalar(db.select(db.func.count()).select_from(StripeCoupon)) == 2
    amounts = {sandbox.state.sessions[ps.stripe_session_id]["discounts"][0]["coupon"]
               for ps in db.session.scalars(db.select(PaymentSession))}
    assert len(amounts) == 2


def test_a_renamed_code_gets_a_coupon_named_after_it(signed_in, sandbox):
    coupon = factories.coupon(code="SAVE10", percent=10, per_learner_limit=100)
    course = factories.course(price=9900)
    _buy(signed_in, course.slug, "SAVE10")
    coupon.code = "AUTUMN10"
    db.session.commit()
    _buy(signed_in, factories.course(price=9900).slug, "AUTUMN10")
    assert sorted(c["name"] for c in sandbox.state.coupons.values()) == ["AUTUMN10", "SAVE10"]


def test_a_coupon_stripe_lost_is_made_again(signed_in, sandbox):
    factories.coupon(code="SAVE10", percent=10, per_learner_limit=100)
    _buy(signed_in, factories.course(price=9900).slug, "SAVE10")
    sandbox.sandbox.engine.delete_coupon(next(iter(sandbox.state.coupons)))  # deleted in the dashboard
    ps = _buy(signed_in, factories.course(price=9900).slug, "SAVE10")
    assert ps.status == S.PENDING and ps.checkout_url
    assert sandbox.state.sessions[ps.stripe_session_id]["amount_total"] == 8910
    assert len(sandbox.state.coupons) == 1


def test_a_coupon_a_racing_checkout_made_first_is_reused(signed_in, sandbox):
    """Two first checkouts with one discount race: the other made the Stripe coupon but has not
    saved its row yet. Stripe answers already_exists; ours takes that coupon (same amount and
    currency), records it once, and charges our quote."""
    coupon = factories.coupon(code="SAVE10", percent=10, per_learner_limit=100)
    course = factories.course(price=9900)
    sandbox.sandbox.engine.create_coupon({"id": stripe_coupons.stripe_coupon_id(coupon.id, "SAVE10", "USD", 990),
                                          "amount_off": 990, "currency": "usd"})
    ps = _buy(signed_in, course.slug, "SAVE10")
    assert ps.status == S.PENDING and ps.checkout_url
    assert sandbox.state.sessions[ps.stripe_session_id]["amount_total"] == 8910
    assert len(sandbox.state.coupons) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(StripeCoupon)) == 1


def test_a_foreign_coupon_under_our_id_is_not_used(signed_in, sandbox):
    coupon = factories.coupon(code="SAVE10", percent=10, per_learner_limit=100)
    course = factories.course(price=9900)
    # Someone made a coupon with our id but another amount: checkout refuses rather than charge 89.00.
    sandbox.sandbox.engine.create_coupon({"id": stripe_coupons.stripe_coupon_id(coupon.id, "SAVE10", "USD", 990),
                                          "amount_off": 1000, "currency": "usd"})
    response = post_form(signed_in, f"/courses/{course.slug}/checkout", {"coupon_code": "SAVE10"})
    assert response.status_code == 503
    db.session.expire_all()
    [ps] = db.session.scalars(db.select(PaymentSession)).all()
    assert ps.status == S.FAILED and ps.failure_code == "coupon_mismatch"


def test_fulfillment_still_flags_a_charge_other_than_our_quote(signed_in, sandbox):
    factories.coupon(code="SAVE10", percent=10, per_learner_limit=100)
    ps = _buy(signed_in, factories.course(price=9900).slug, "SAVE10")
    stripe_session = dict(sandbox.state.sessions[ps.stripe_session_id], status="complete", payment_status="paid",
                          amount_total=8900)  # e.g. a coupon edited on Stripe to 10.00
    fulfillment.apply_checkout_session(stripe_session, now=ps.created_at, source="webhook")
    db.session.commit()
    ps = db.session.get(PaymentSession, ps.id)
    assert ps.needs_review and "Stripe charged 8900 but we quoted 8910" in ps.review_reason
    assert db.session.scalar(db.select(db.func.count()).select_from(Enrollment)) == 0


def test_a_discounted_checkout_only_looks_the_stripe_coupon_up_once_it_exists(app, signed_in, sandbox):
    factories.coupon(code="SAVE10", percent=10, per_learner_limit=100)
    slugs = [factories.course(price=9900).slug for _ in range(3)]
    _buy(signed_in, slugs[0], "SAVE10")  # makes the Stripe coupon
    token = csrf_token(signed_in)
    for slug in slugs[1:]:
        db.session.expunge_all()
        with StatementCounter(db.engine) as counter:
            response = signed_in.post(f"/courses/{slug}/checkout", data={"coupon_code": "SAVE10", "csrf_token": token})
        assert response.status_code == 303
        # One statement for the Stripe coupon, a look-up; nothing written for it, no Stripe call.
        # (The path without a code never runs it: its 10 statements are pinned in tests/perf.)
        assert [s.split()[0] for s in counter.statements if "stripe_coupons" in s] == ["SELECT"]
        # The session row is written once with the customer and parameters, once with
        # Stripe's id and URL: the look-up comes before any change, so it flushes nothing.
        assert sum(s.startswith("UPDATE payment_sessions") for s in counter.statements) <= 2
    assert len(sandbox.state.coupons) == 1


def _check_against_stripe(params: dict, cls, path: str = "") -> None:
    """Every key we send is one Stripe's own parameter definitions (stripe-python's typed
    params for the pinned version) name, at every level (STRIPE-NOTES.md)."""
    import re
    import sys

    annotations = cls.__annotations__
    for key, value in params.items():
        assert key in annotations, f"{path}{key} is not a parameter of {cls.__name__}"
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict) and key != "metadata":
                names = re.findall(r"\b(" + cls.__name__ + r"\w+)", str(annotations[key]))
                nested = getattr(sys.modules[cls.__module__], names[0])
                _check_against_stripe(item, nested, f"{path}{key}.")


def test_what_we_send_is_in_stripes_own_parameter_definitions(signed_in, sandbox, monkeypatch):
    from stripe.params import CouponCreateParams
    from stripe.params.checkout import SessionCreateParams

    from services.payments import stripe_gateway

    sent = []
    create_coupon = stripe_gateway.create_coupon
    monkeypatch.setattr(stripe_gateway, "create_coupon", lambda params: sent.append(params) or create_coupon(params))
    factories.coupon(code="SAVE10", percent=10)
    ps = _buy(signed_in, factories.course(price=9900).slug, "SAVE10")
    [coupon_params] = sent
    _check_against_stripe(coupon_params, CouponCreateParams)
    assert ps.extra["stripe_params"]["discounts"]
    _check_against_stripe(ps.extra["stripe_params"], SessionCreateParams)

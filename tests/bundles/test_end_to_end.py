"""A bundle end to end over real HTTP: the app on a live server, the sandbox taking the payment
and delivering signed webhooks (the learner never opens the success page)."""
import re

import pytest
import requests

from extensions import db
from models import EnrollmentSource, EnrollmentStatus, PaymentSession, PaymentSessionStatus as S, PaymentStatus
from tests import factories
from tests.bundles.conftest import paid_by
from tests.helpers import DEFAULT_PASSWORD
from tests.webhooks import builders as b

_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _signed_in(live_server, email: str) -> requests.Session:
    http = requests.Session()
    token = _META.search(http.get(f"{live_server.url}/login", timeout=10).text).group(1)
    response = http.post(f"{live_server.url}/login", timeout=10, allow_redirects=False,
                         data={"email": email, "password": DEFAULT_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return http


def _buy(live_server, http: requests.Session, slug: str, coupon_code: str = "") -> requests.Response:
    page = http.get(f"{live_server.url}/bundles/{slug}", params={"coupon": coupon_code} if coupon_code else None,
                    timeout=10)
    token = _META.search(page.text).group(1)
    return http.post(f"{live_server.url}/bundles/{slug}/checkout", timeout=10, allow_redirects=False,
                     data={"coupon_code": coupon_code, "csrf_token": token})


def _paid(live_server, sandbox, http, slug: str, coupon_code: str = "") -> PaymentSession:
    response = _buy(live_server, http, slug, coupon_code)
    assert response.status_code == 303, response.text[:300]
    session_id = re.search(r"(cs_test_\w+)", response.headers["Location"]).group(1)
    b.sandbox_control(sandbox, f"checkout/sessions/{session_id}/pay", {"card": "4242424242424242"})

    def completed():
        db.session.expire_all()
        found = db.session.scalar(db.select(PaymentSession).where(PaymentSession.stripe_session_id == session_id))
        return found if found is not None and found.status == S.COMPLETED else None
    return sandbox.wait_for(completed, timeout=15)


@pytest.mark.parametrize("currency", ["USD", "JPY"])
def test_buy_a_bundle_with_a_coupon_three_enrollments_summing_to_the_charge_then_full_refund(
        live_server, sandbox, learner, currency, request):
    bundle = request.getfixturevalue("bundle" if currency == "USD" else "jpy_bundle")
    factories.coupon(code="BUNDLE15", percent=15, currency=None)
    http = _signed_in(live_server, learner.email)
    ps = _paid(live_server, sandbox, http, bundle.slug, "BUNDLE15")
    assert ps.currency == currency and ps.discount_amount > 0
    assert ps.final_amount == bundle.price_amount - ps.discount_amount
    enrolled = paid_by(ps)
    assert len(enrolled) == 3 and sum(e.amount_paid for e in enrolled) == ps.final_amount
    assert {(e.source, e.status, e.currency) for e in enrolled} == {(EnrollmentSource.BUNDLE, EnrollmentStatus.ACTIVE,
                                                                     currency)}
    receipt = http.get(f"{live_server.url}/account/purchases", timeout=10)
    assert bundle.name in receipt.text

    b.sandbox_control(sandbox, f"payment_intents/{ps.payment_intent_id}/refund", {})
    sandbox.wait_for(lambda: {e.status for e in paid_by(ps)} == {EnrollmentStatus.REVOKED}, timeout=15)
    db.session.expire_all()
    assert db.session.get(PaymentSession, ps.id).status == S.REFUNDED


def test_a_partial_refund_follows_the_partial_refund_policy(live_server, sandbox, learner, bundle):
    http = _signed_in(live_server, learner.email)
    ps = _paid(live_server, sandbox, http, bundle.slug)
    b.sandbox_control(sandbox, f"payment_intents/{ps.payment_intent_id}/refund", {"amount": 1000})
    sandbox.wait_for(lambda: {e.payment_status for e in paid_by(ps)} == {PaymentStatus.PARTIALLY_REFUNDED},
                     timeout=15)
    # The default policy keeps access after a partial refund (PARTIAL_REFUND_KEEPS_ACCESS).
    assert {e.status for e in paid_by(ps)} == {EnrollmentStatus.ACTIVE}


def test_partly_owned_pays_less_and_fully_owned_is_refused(live_server, sandbox, learner, bundle, courses):
    factories.enrollment(learner, courses[1], paid=True)  # $29 of the $97 list
    http = _signed_in(live_server, learner.email)
    page = http.get(f"{live_server.url}/bundles/{bundle.slug}", timeout=10).text
    assert "You already have 1 of these courses" in page and "$53.97" in page  # 7700 × 6800 / 9700 = 5397.9… → 5397
    ps = _paid(live_server, sandbox, http, bundle.slug)
    assert ps.final_amount == 5397 and len(paid_by(ps)) == 2
    # Now every course is owned: the page says so and checkout refuses.
    page = http.get(f"{live_server.url}/bundles/{bundle.slug}", timeout=10).text
    assert "You already have every course in this bundle" in page
    response = _buy(live_server, http, bundle.slug)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/bundles/{bundle.slug}")
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(PaymentSession)) == 1


def test_a_full_course_blocks_the_bundle_checkout_naming_it(live_server, sandbox, learner, bundle, courses):
    courses[0].capacity = 1
    db.session.commit()
    factories.enrollment(factories.user(), courses[0])
    http = _signed_in(live_server, learner.email)
    assert "“Bundled 1” is full" in http.get(f"{live_server.url}/bundles/{bundle.slug}", timeout=10).text
    response = _buy(live_server, http, bundle.slug)
    assert response.status_code == 303
    assert "“Bundled 1” is full" in http.get(live_server.url + response.headers["Location"], timeout=10).text
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(PaymentSession)) == 0


def test_a_learners_refund_request_for_a_bundle_is_automatic_and_revokes_every_course(
        live_server, sandbox, learner, bundle):
    from models import RefundRequest, RefundRequestStatus
    http = _signed_in(live_server, learner.email)
    ps = _paid(live_server, sandbox, http, bundle.slug)
    page = http.get(f"{live_server.url}/account/purchases/{ps.id}/refund", timeout=10)
    assert page.status_code == 200 and bundle.name in page.text
    token = _META.search(page.text).group(1)
    response = http.post(f"{live_server.url}/account/purchases/{ps.id}/refund", timeout=10, allow_redirects=False,
                         data={"reason": "changed my mind", "csrf_token": token})
    assert response.status_code == 302, response.text[:300]
    db.session.expire_all()
    row = db.session.scalar(db.select(RefundRequest))
    assert row.status == RefundRequestStatus.REFUNDED and row.course_id is None
    sandbox.wait_for(lambda: {e.status for e in paid_by(ps)} == {EnrollmentStatus.REVOKED}, timeout=15)

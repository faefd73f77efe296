"""Staff pages and the staff API name the bundle for what was bought with a bundle payment:
refund requests, coupon redemptions (course_id is NULL there: reading `.course` showed nothing,
and the API's serializer crashed)."""
from extensions import db
from models import RefundRequest, RefundRequestStatus
from services.people import api_tokens
from tests import factories
from tests.bundles.conftest import prepare
from tests.webhooks import builders as b


def _paid_with_coupon(bundle, learner, deliver):
    factories.coupon(code="TENOFF", percent=10)
    ps = prepare(bundle, learner, "TENOFF").payment_session
    ps.stripe_session_id = f"cs_test_{ps.id}"
    db.session.commit()
    deliver("checkout.session.completed", b.checkout_session(ps))
    return deliver.reload(ps)


def test_staff_refund_request_pages_name_the_bundle(bundle, learner, staff, deliver, client, sign_in):
    ps = _paid_with_coupon(bundle, learner, deliver)
    row = RefundRequest(payment_session_id=ps.id, user_id=learner.id, course_id=None, status=RefundRequestStatus.PENDING,
                        reason="changed my mind", queue_reason="asked late", amount_requested=ps.final_amount,
                        currency=ps.currency)
    db.session.add(row)
    db.session.commit()
    sign_in(client, staff)
    listing = client.get("/staff/refund-requests")
    assert listing.status_code == 200 and "Starter bundle" in listing.get_data(as_text=True)
    detail = client.get(f"/staff/refund-requests/{row.id}")
    assert detail.status_code == 200 and "Starter bundle" in detail.get_data(as_text=True)


def test_staff_coupon_page_names_the_bundle_a_use_was_for(bundle, learner, staff, deliver, client, sign_in):
    ps = _paid_with_coupon(bundle, learner, deliver)
    sign_in(client, staff)
    page = client.get(f"/staff/coupons/{ps.coupon_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert text.count("Starter bundle") >= 1 and learner.email in text
    # The dry-run panel's history of the learner's uses of the code names the bundle too.
    course_id = bundle.courses[0].id
    panel = client.get(f"/staff/coupons/{ps.coupon_id}?course_id={course_id}&email={learner.email}")
    assert panel.status_code == 200
    assert panel.get_data(as_text=True).count("Starter bundle") == text.count("Starter bundle") + 1


def test_staff_api_coupon_usage_with_a_bundle_use(bundle, learner, admin, deliver, client):
    ps = _paid_with_coupon(bundle, learner, deliver)
    _, token = api_tokens.create(admin, "office", scopes=["staff:read"])
    db.session.commit()
    response = client.get(f"/api/staff/coupons/{ps.coupon_id}/usage", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    [used] = response.get_json()["data"]["redemptions"] if "data" in response.get_json() \
        else response.get_json()["redemptions"]
    assert used["course"] is None and used["bundleId"] == bundle.id and used["paymentSessionId"] == ps.id


def test_the_bundle_receipt_mail_states_the_refund_terms_as_its_receipt_page(bundle, learner, deliver, outbox,
                                                                             client, sign_in):
    ps = _paid_with_coupon(bundle, learner, deliver)
    [receipt] = [m for m in outbox if "Starter bundle" in m["Subject"]]
    body = receipt.get_body(preferencelist=("plain",)).get_content()
    assert "Refunds: " in body and "ask for a refund" in body
    sign_in(client, learner)
    page = client.get(f"/account/purchases/{ps.id}/receipt").get_data(as_text=True)
    terms = body.split("Refunds: ", 1)[1].split("\n", 1)[0].strip()
    assert terms and terms in page.replace("&#39;", "'").replace("&#34;", '"')


def test_the_staff_dry_run_says_whether_a_code_applies_by_the_quotes_own_rule(bundle, courses, learner):
    from models import utcnow
    from services.coupons import dry_run
    everywhere = factories.coupon(code="EVERY")
    for_bundle = factories.coupon(code="BUNDLEONLY")
    for_bundle.applicable_bundles = [bundle]
    for_course = factories.coupon(code="COURSEONLY", courses=[courses[0]])
    db.session.commit()
    for coupon, course, applies in [(everywhere, courses[0], True), (for_bundle, courses[0], False),
                                    (for_course, courses[0], True), (for_course, courses[1], False)]:
        result = dry_run.what_would_pay(course, coupon.code, learner, utcnow())
        assert result.coupon.applies_to_course is applies
        assert (result.quote.refusal_code == "COUPON_NOT_APPLICABLE") is (not applies)

"""Bundles on the web: staff create / edit / retire (every mistake at once), the public pages
(courses, price, saving, the learner's own price), course pages naming their bundles, coupons
limited to bundles in the staff form, purchases and staff payment pages naming the bundle."""
import re

import pytest

from extensions import db
from models import AuditEvent, Bundle, Coupon, PaymentSession, PaymentSessionStatus as S
from tests import factories
from tests.helpers import post_confirmed, post_form


def _errors(page: str) -> set[str]:
    return set(re.findall(r'id="([a-z_]+)-error"', page))


@pytest.fixture
def staff_client(client, staff, sign_in):
    sign_in(client, staff)
    return client


def _form(courses, **changes) -> dict:
    data = {"name": "Starter", "slug": "starter-pack", "description": "Three courses", "price": "77.00",
            "currency": "USD", "course_ids": [str(c.id) for c in courses], "is_published": "y"}
    data.update(changes)
    return data


def test_staff_create_edit_and_retire_a_bundle(staff_client, courses):
    response = post_form(staff_client, "/staff/bundles/new", _form(courses))
    assert response.status_code == 302
    bundle = db.session.scalar(db.select(Bundle))
    assert (bundle.price_amount, bundle.currency, bundle.is_published) == (7700, "USD", True)
    assert [c.id for c in bundle.courses] == [c.id for c in courses]
    # Edit: another order, two courses, another price.
    response = post_form(staff_client, f"/staff/bundles/{bundle.id}",
                         _form([courses[2], courses[0]], price="59.50", name="Starter pair"))
    assert response.status_code == 302
    db.session.expire_all()
    bundle = db.session.get(Bundle, bundle.id)
    assert [c.id for c in bundle.courses] == [courses[2].id, courses[0].id] and bundle.price_amount == 5950
    assert "Starter pair" in staff_client.get("/staff/bundles").get_data(as_text=True)
    # Retire asks first, then stops the sale.
    asked = post_form(staff_client, f"/staff/bundles/{bundle.id}/retire")
    assert "stops being sold" in asked.get_data(as_text=True)
    post_confirmed(staff_client, f"/staff/bundles/{bundle.id}/retire")
    db.session.expire_all()
    assert db.session.get(Bundle, bundle.id).retired_at is not None
    assert staff_client.get(f"/bundles/{bundle.slug}").status_code == 404
    actions = [e.action for e in db.session.scalars(db.select(AuditEvent).where(AuditEvent.action.like("bundle.%")))]
    assert actions == ["bundle.created", "bundle.updated", "bundle.retired"]


def test_one_submit_shows_every_mistake(staff_client, courses):
    factories.bundle(courses[:2], slug="taken")
    eur = factories.course(price=1000, currency="EUR", title="Euro course")
    response = post_form(staff_client, "/staff/bundles/new", _form(
        [courses[0], eur], name="", slug="taken", price="0.10"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _errors(page) >= {"name", "slug", "price", "course_ids"}
    assert "already uses this slug" in page and "smallest amount Stripe can charge" in page
    assert "Euro course is not" in page
    response = post_form(staff_client, "/staff/bundles/new", _form([courses[0]], price="ten"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and {"price", "course_ids"} <= _errors(page) and "two or more" in page
    assert db.session.scalar(db.select(db.func.count()).select_from(Bundle)) == 1


def test_free_courses_cannot_be_bundled(staff_client, courses):
    free = factories.course(price=0, enrollment_type="FREE", title="Free one")
    response = post_form(staff_client, "/staff/bundles/new", _form([courses[0], free]))
    assert response.status_code == 422 and "Only paid courses" in response.get_data(as_text=True)


def test_bundle_page_lists_courses_price_and_saving_and_course_pages_name_it(client, bundle, courses):
    page = client.get("/bundles/starter").get_data(as_text=True)
    for course in courses:
        assert course.title in page
    assert "$97.00" in page and "$77.00" in page and "$20.00" in page  # one by one, bundle, saving
    assert "Starter bundle" in client.get("/bundles").get_data(as_text=True)
    course_page = client.get(f"/courses/{courses[0].slug}").get_data(as_text=True)
    assert 'data-testid="course-bundles"' in course_page and "/bundles/starter" in course_page
    assert client.get("/bundles/unknown").status_code == 404
    hidden = factories.bundle(courses[:2], slug="draft", published=False)
    assert client.get(f"/bundles/{hidden.slug}").status_code == 404


def test_bundle_page_prices_a_coupon_and_says_why_a_code_is_refused(client, bundle, courses):
    factories.coupon(code="COURSEONLY", courses=[courses[0]])
    factories.coupon(code="TENOFF", percent=10)
    page = client.get("/bundles/starter?coupon=tenoff").get_data(as_text=True)
    assert "$69.30" in page and "TENOFF" in page
    page = client.get("/bundles/starter?coupon=courseonly").get_data(as_text=True)
    assert "does not apply to this bundle" in page


def test_staff_limit_a_coupon_to_bundles(staff_client, bundle, courses):
    response = post_form(staff_client, "/staff/coupons/new", {
        "code": "BUNDLESONLY", "name": "Bundles only", "discount_type": "PERCENTAGE", "value": "15",
        "per_learner_limit": "1", "bundle_ids": [str(bundle.id)], "is_active": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    coupon = db.session.scalar(db.select(Coupon).where(Coupon.code == "BUNDLESONLY"))
    assert [b.id for b in coupon.applicable_bundles] == [bundle.id] and coupon.applicable_courses == []
    assert "does not apply to this course" in staff_client.get(
        f"/courses/{courses[0].slug}?coupon=BUNDLESONLY").get_data(as_text=True)
    assert "$65.45" in staff_client.get("/bundles/starter?coupon=BUNDLESONLY").get_data(as_text=True)


def test_purchases_and_staff_payment_pages_name_the_bundle(staff_client, bundle, learner, courses, deliver):
    from tests.bundles.conftest import prepare
    from tests.webhooks import builders as b
    ps = prepare(bundle, learner).payment_session
    ps.stripe_session_id = f"cs_test_{ps.id}"
    db.session.commit()
    deliver("checkout.session.completed", b.checkout_session(ps))
    assert deliver.reload(ps).status == S.COMPLETED
    detail = staff_client.get(f"/staff/payments/{ps.id}").get_data(as_text=True)
    assert "Starter bundle" in detail and all(c.title in detail for c in courses)
    assert "Starter bundle" in staff_client.get("/staff/payments").get_data(as_text=True)


def test_a_bundle_cover_is_checked_and_stored_like_a_course_cover(staff_client, courses):
    import io

    from tests.catalog.images import image_bytes
    response = post_form(staff_client, "/staff/bundles/new", {
        **_form(courses), "cover": (io.BytesIO(image_bytes((1600, 900))), "cover.png"), "cover_alt": "Red"},
        content_type="multipart/form-data")
    assert response.status_code == 302
    bundle = db.session.scalar(db.select(Bundle))
    assert bundle.cover_image and bundle.cover_alt == "Red"
    assert f"/covers/{bundle.cover_image}" in staff_client.get("/bundles/starter-pack").get_data(as_text=True)
    refused = post_form(staff_client, "/staff/bundles/new", {
        **_form(courses, slug="other"), "cover": (io.BytesIO(b"not an image"), "x.png")},
        content_type="multipart/form-data")
    assert refused.status_code == 422 and 'id="cover-error"' in refused.get_data(as_text=True)


def test_the_staff_payment_list_filtered_by_a_course_shows_the_bundles_that_sold_it(
        staff_client, bundle, learner, courses):
    from tests.bundles.conftest import prepare
    prepare(bundle, learner)
    page = staff_client.get(f"/staff/payments?course_id={courses[1].id}").get_data(as_text=True)
    assert "Starter bundle" in page


def test_a_bundle_payment_on_the_dashboard_refund_request_and_staff_queue(
        client, staff, sign_in, bundle, learner, courses, deliver):
    from tests.bundles.conftest import prepare
    from tests.staff import builders as staff_builders
    from tests.webhooks import builders as b
    ps = prepare(bundle, learner).payment_session
    ps.stripe_session_id = f"cs_test_{ps.id}"
    db.session.commit()
    deliver("checkout.session.completed", b.checkout_session(ps))
    sign_in(client, learner)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Starter bundle" in dashboard
    page = client.get(f"/account/purchases/{ps.id}/refund")
    assert page.status_code == 200 and "Starter bundle" in page.get_data(as_text=True)
    receipt = client.get(f"/account/purchases/{ps.id}/receipt").get_data(as_text=True)
    assert "Starter bundle" in receipt and all(c.title in receipt for c in courses)
    row = staff_builders.refund_request(deliver.reload(ps))
    assert row.course_id is None
    sign_in(client, staff)
    assert "Starter bundle" in client.get("/staff/refund-requests").get_data(as_text=True)
    assert "Starter bundle" in client.get(f"/staff/refund-requests/{row.id}").get_data(as_text=True)

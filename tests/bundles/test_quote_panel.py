"""Staff's "What would a learner pay?" panel for a bundle: the bundle page's own price
(purchases.offer) for that learner — owned courses taken off, the code's discount or refusal —
on the learner page and the coupon page; an unknown bundle is a message, not an error page."""
from tests import factories


def _panel(page: str) -> str:
    return page[page.index('id="quote"'):page.index("</section>", page.index('id="quote"'))]


def test_the_learner_page_prices_a_bundle_for_that_learner(client, sign_in, staff, learner, bundle, courses):
    factories.coupon(code="TENOFF", percent=10)
    factories.enrollment(learner, courses[0])  # owns the $49.00 course: $77.00 × 48/97, rounded down
    sign_in(client, staff)
    page = client.get(f"/staff/users/{learner.id}?bundle_id={bundle.id}&code=tenoff").get_data(as_text=True)
    panel = _panel(page)
    assert 'data-testid="bundle-quote"' in panel and f'<option value="{bundle.id}" selected>' in panel
    assert courses[0].title in panel and "$38.10" in panel and "TENOFF" in panel and "$34.29" in panel
    refused = _panel(client.get(f"/staff/users/{learner.id}?bundle_id={bundle.id}&code=nope").get_data(as_text=True))
    assert "COUPON_NOT_FOUND" in refused and "Would pay" not in refused


def test_the_coupon_page_prices_a_bundle_for_a_visitor_or_a_learner(client, sign_in, staff, learner, bundle, courses):
    coupon = factories.coupon(code="COURSEONLY", courses=[courses[0]])
    sign_in(client, staff)
    panel = _panel(client.get(f"/staff/coupons/{coupon.id}?bundle_id={bundle.id}").get_data(as_text=True))
    assert "$77.00" in panel and "does not apply to this bundle" in panel
    for course in courses:
        factories.enrollment(learner, course)
    owned = _panel(client.get(f"/staff/coupons/{coupon.id}?bundle_id={bundle.id}&email={learner.email}")
                   .get_data(as_text=True))
    assert "ALREADY_OWNED" in owned
    missing = client.get(f"/staff/coupons/{coupon.id}?bundle_id=999999")
    assert missing.status_code == 200 and "We could not find that bundle." in _panel(missing.get_data(as_text=True))

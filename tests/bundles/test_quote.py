"""The bundle page's coupon field is the course page's live quote: typing or "Apply" posts the
code to the bundle page, htmx swaps in the shared price summary fragment (and relabels Buy);
without JavaScript the same post renders the whole page; a code refused at "Buy" goes back to
the bundle page with ?coupon= and says why once."""
import re

from extensions import db
from models import PaymentSession
from tests import factories
from tests.helpers import post_form

HTMX = {"HX-Request": "true"}


def _text(response) -> str:
    return response.get_data(as_text=True)


def _buy_button(page: str) -> str:
    return re.search(r'<button[^>]*id="buy-button"[^>]*>(.*?)</button>', page, re.S).group(1).strip()


def test_the_bundle_page_has_the_course_pages_live_coupon_field(client, bundle):
    page = _text(client.get("/bundles/starter"))
    form = re.search(r'<form[^>]*id="purchase-form"[^>]*>', page, re.S).group(0)
    assert 'action="/bundles/starter/checkout"' in form and "aria-busy" in form
    field = re.search(r'<input[^>]*id="coupon_code"[^>]*>', page, re.S).group(0)
    assert 'hx-post="/bundles/starter"' in field and 'hx-target="#price-summary"' in field
    assert 'hx-disabled-elt="#buy-button"' in field
    apply = re.search(r'<button[^>]*formaction[^>]*>Apply</button>', page, re.S).group(0)
    assert 'formaction="/bundles/starter"' in apply and 'hx-post="/bundles/starter"' in apply
    assert '<div id="price-summary"' in page and _buy_button(page) == "Buy the bundle"


def test_typing_a_code_swaps_in_the_price_summary_fragment(client, bundle, courses):
    factories.coupon(code="TENOFF", percent=10)
    factories.coupon(code="FREE100", percent=100)
    factories.coupon(code="COURSEONLY", courses=[courses[0]])
    response = post_form(client, "/bundles/starter", {"coupon_code": "tenoff"}, headers=HTMX)
    body = _text(response)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert body.lstrip().startswith('<div id="price-summary"') and "<html" not in body
    assert "$69.30" in body and "−$7.70" in body and "TENOFF" in body
    assert re.search(r'<button[^>]*id="buy-button"[^>]*hx-swap-oob="true"[^>]*>Buy the bundle</button>', body)
    free = _text(post_form(client, "/bundles/starter", {"coupon_code": "free100"}, headers=HTMX))
    assert "this bundle is free for you" in free and _buy_button(free) == "Enroll for free"
    refused = post_form(client, "/bundles/starter", {"coupon_code": "courseonly"}, headers=HTMX)
    body = _text(refused)
    assert refused.status_code == 200 and body.count('role="alert"') == 1
    assert "does not apply to this bundle" in body and "$77.00" in body and _buy_button(body) == "Buy the bundle"


def test_without_javascript_apply_renders_the_whole_page_with_the_code(client, bundle):
    factories.coupon(code="TENOFF", percent=10)
    response = post_form(client, "/bundles/starter", {"coupon_code": "TENOFF"})
    page = _text(response)
    assert response.status_code == 200 and "<html" in page and 'value="TENOFF"' in page
    assert "$69.30" in page and "−$7.70" in page and "Starter bundle" in page


def test_a_code_refused_at_buy_goes_back_to_the_bundle_page_saying_why_once(client, learner, sign_in, bundle):
    sign_in(client, learner)
    response = post_form(client, "/bundles/starter/checkout", {"coupon_code": "NOPE"})
    assert response.status_code == 303 and response.headers["Location"] == "/bundles/starter?coupon=NOPE"
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(PaymentSession)) == 0
    page = _text(client.get(response.headers["Location"]))
    assert page.count("We don&#39;t know that code") == 1 and page.count('role="alert"') == 1
    assert 'value="NOPE"' in page and _buy_button(page) == "Buy the bundle"

"""Staff's "what would this learner pay?" on the learner page and the coupon page: the price and
refusal shown, the facts, bad input as a message, nothing reserved by looking."""
import sqlalchemy as sa

from extensions import db
from models import CouponRedemption
from tests import factories
from tests.staff import builders


def test_learner_page_shows_the_discounted_price(staff_client, learner, paid_course):
    factories.coupon(code="TENOFF", percent=10, max_uses=5)
    page = staff_client.get(f"/staff/users/{learner.id}?course_id={paid_course.id}&code=tenoff").get_data(as_text=True)
    assert "$99.00" in page and "$9.90" in page and "$89.10" in page
    assert "Uses left" in page and ">5 <" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CouponRedemption)) == 0


def test_learner_page_shows_the_refusal_and_the_learners_earlier_use(staff_client, learner, paid_course):
    other = factories.course(title="Rust 101")
    coupon = factories.coupon(code="ONCE", per_learner_limit=1)
    builders.redemption(coupon, learner, other)
    page = staff_client.get(f"/staff/users/{learner.id}?course_id={paid_course.id}&code=ONCE").get_data(as_text=True)
    assert "COUPON_ALREADY_USED" in page and "You have already used this code." in page
    assert "this learner has used or holds 1" in page and "redeemed" in page and "Rust 101" in page


def test_coupon_page_asks_for_a_course_and_a_learner(staff_client, learner, paid_course):
    coupon = factories.coupon(code="EUROS", amount_off=500, currency="EUR")
    page = staff_client.get(f"/staff/coupons/{coupon.id}?course_id={paid_course.id}&email=LEARNER@example.com")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "COUPON_CURRENCY_MISMATCH" in text and "This code is for prices in EUR, not USD." in text


def test_unknown_course_or_email_is_a_message_not_an_error(staff_client, learner, paid_course):
    coupon = factories.coupon(code="ANY")
    missing_course = staff_client.get(f"/staff/coupons/{coupon.id}?course_id=999999")
    assert missing_course.status_code == 200 and "We could not find that course." in missing_course.get_data(as_text=True)
    missing_learner = staff_client.get(f"/staff/coupons/{coupon.id}?course_id={paid_course.id}&email=nobody@example.com")
    assert "No account has this email." in missing_learner.get_data(as_text=True)
    assert staff_client.get("/staff/users/999999").status_code == 404


def test_learners_cannot_see_it(client, sign_in, learner):
    sign_in(client, learner)
    assert client.get(f"/staff/users/{learner.id}").status_code == 403

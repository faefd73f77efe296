"""Fixtures for the webhook tests: a payment session with a coupon hold, and a delivery helper."""
import pytest

from extensions import db
from models import CouponRedemption, Enrollment, PaymentSession
from tests import factories
from tests.webhooks import builders as b


class Delivery:
    """Sends signed events through the real endpoint and reloads what they changed."""

    def __init__(self, client) -> None:
        self.client = client

    def __call__(self, event_type: str, obj: dict, *, expect: int = 200, **event_fields) -> dict:
        evt = b.event(event_type, obj, **event_fields)
        response = b.post_event(self.client, evt)
        assert response.status_code == expect, response.get_data(as_text=True)
        return evt

    def again(self, evt: dict, expect: int = 200):
        response = b.post_event(self.client, evt)
        assert response.status_code == expect
        return response.get_json()

    @staticmethod
    def reload(ps: PaymentSession) -> PaymentSession:
        db.session.expire_all()
        return db.session.get(PaymentSession, ps.id)

    @staticmethod
    def enrollments(ps: PaymentSession) -> list[Enrollment]:
        db.session.expire_all()
        return list(db.session.scalars(db.select(Enrollment).where(Enrollment.user_id == ps.user_id,
                                                                   Enrollment.course_id == ps.course_id)))

    @staticmethod
    def redemption(ps: PaymentSession) -> CouponRedemption | None:
        db.session.expire_all()
        return db.session.scalar(db.select(CouponRedemption).where(CouponRedemption.payment_session_id == ps.id))


@pytest.fixture
def deliver(client) -> Delivery:
    return Delivery(client)


@pytest.fixture
def coupon(app, paid_course):
    return factories.coupon(code="SPRING15", percent=15, max_uses=500, courses=[paid_course])


@pytest.fixture
def ps(learner, paid_course, coupon):
    """A PENDING $99.00 checkout with SPRING15 (15% → $84.15) holding one coupon use."""
    return factories.payment_session(learner, paid_course, coupon=coupon, discount=1485)

"""Fixtures of the bundle tests: three USD courses in a bundle, a JPY one, a prepared checkout."""
import pytest

from extensions import db
from models import Enrollment, PaymentSession
from services.bundles import catalog
from services.payments import purchases
from tests import factories
from tests.checkout.builders import NOW
from tests.webhooks.conftest import Delivery

SUCCESS = "http://localhost/checkout/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://localhost/checkout/cancel?ps={PAYMENT_SESSION_ID}"


@pytest.fixture
def deliver(client) -> Delivery:
    return Delivery(client)


@pytest.fixture
def courses(app):
    return [factories.course(slug=f"b-course-{n}", title=f"Bundled {n}", price=price)
            for n, price in ((1, 4900), (2, 2900), (3, 1900))]


@pytest.fixture
def bundle(courses):
    """$97.00 of courses for $77.00."""
    return factories.bundle(courses, 7700, slug="starter", name="Starter bundle")


@pytest.fixture
def jpy_bundle(app):
    courses = [factories.course(slug=f"jp-{n}", title=f"JP {n}", price=price, currency="JPY")
               for n, price in ((1, 3000), (2, 2000), (3, 1000))]
    return factories.bundle(courses, 5000, slug="jp-bundle", name="JP bundle")


def prepare(bundle, user, code=None, now=NOW):
    """A prepared (committed) bundle checkout, as the checkout view leaves it before Stripe."""
    start = purchases.prepare(catalog.product_of(bundle), user, code, success_url=SUCCESS, cancel_url=CANCEL, now=now)
    db.session.commit()
    return start


def paid_by(ps: PaymentSession) -> list[Enrollment]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Enrollment).where(Enrollment.payment_id == ps.id)
                                   .order_by(Enrollment.course_id)))

"""`purchases.start` answers only what its callers (the API, the learning path's checkout) handle:
REDIRECT, ENROLLED, or a Conflict. When the learner's earlier checkout of the same product turns
out to be paid already (another tab), it is ALREADY_OWNED, never a start with no payment session."""
import pytest

from extensions import db
from models import Enrollment, utcnow
from services.bundles import catalog
from services.errors import Conflict
from services.payments import purchases
from tests import factories
from tests.bundles.conftest import CANCEL, SUCCESS


@pytest.fixture
def app_overrides(sandbox_config):
    return sandbox_config


def _start(bundle, user, code=None):
    return purchases.start(catalog.product_of(bundle), user, code, success_url=SUCCESS, cancel_url=CANCEL,
                           now=utcnow(), commit=db.session.commit)


def test_a_checkout_paid_in_another_tab_makes_the_new_start_already_owned(sandbox, bundle, learner):
    first = _start(bundle, learner)
    assert first.kind == "REDIRECT" and first.payment_session is not None
    # Paid on Stripe's page in the first tab; its webhook has not arrived yet.
    assert sandbox.sandbox.engine.pay_card(first.payment_session.stripe_session_id, "4242424242424242")["ok"]
    factories.coupon(code="LATER10", percent=10)  # a new price: the open session cannot be reused
    with pytest.raises(Conflict) as refused:
        _start(bundle, learner, "LATER10")
    assert refused.value.code == "ALREADY_OWNED"
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Enrollment)
                             .where(Enrollment.user_id == learner.id)) == 3

"""Fixtures of the referral tests: a referrer with a code, rewards switched on, the sandbox."""
from decimal import Decimal

import pytest

from extensions import db
from models import utcnow
from services.referrals import links, rewards
from tests import factories


@pytest.fixture
def app_overrides(sandbox_config):
    return sandbox_config


@pytest.fixture
def referrer(app):
    return factories.user(email="rita@example.com", name="Rita Referrer")


@pytest.fixture
def referral_code(referrer) -> str:
    code = links.code_for(referrer, utcnow())
    db.session.commit()
    return code


@pytest.fixture
def rewards_on(app):
    """Referrers earn 10% off, valid 30 days (the refund window stays the default 14 days)."""
    row = rewards.update_settings(rewards.SettingsInput(rewards_enabled=True, discount_type="PERCENTAGE",
                                                        percent_off=Decimal("10"), validity_days=30), actor=None)
    db.session.commit()
    return row

"""Identity tests run against a real OpenID provider on loopback (see oidc.py)."""
import pytest

from tests.identity.oidc import _fresh_identity_cache, expired_oidc_provider, oidc_provider  # noqa: F401


@pytest.fixture
def app_overrides(oidc_provider):
    return oidc_provider.config(OIDC_STAFF_CLAIM="learnpay_roles=staff")

"""API tests: the app talks to the live Stripe sandbox and trusts the loopback OpenID provider."""
import pytest

from tests import factories
from tests.api.builders import bearer
from tests.identity.oidc import _fresh_identity_cache, expired_oidc_provider, oidc_provider  # noqa: F401

FRONTEND = "http://127.0.0.1:5000"


@pytest.fixture
def app_overrides(sandbox_config, oidc_provider):
    return {**sandbox_config, **oidc_provider.config(), "FRONTEND_URL": FRONTEND,
            "ALLOWED_REDIRECT_ORIGINS": [FRONTEND, "https://app.example.com"]}


@pytest.fixture
def auth(learner):
    """Bearer headers of the `learner` fixture."""
    return bearer(learner)


@pytest.fixture
def other_learner(app):
    return factories.user(email="other@example.com", name="Otto Other")


@pytest.fixture
def other_auth(other_learner):
    return bearer(other_learner)


@pytest.fixture
def two_apps(app_overrides, database_url):
    """Two app instances on the one test database, as two servers behind a load balancer."""
    from app import create_app
    from tests.conftest import _base_config

    return [create_app({**_base_config(database_url), **app_overrides}) for _ in range(2)]

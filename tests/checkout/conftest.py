"""Fixtures of the checkout tests: a learner signed in, the sandbox wired into the app."""
import pytest

from tests.helpers import login


@pytest.fixture
def signed_in(client, learner):
    login(client, learner.email)
    return client

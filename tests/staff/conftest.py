"""Fixtures of the staff tests: signed-in clients per role (through tests/conftest.py's
`sign_in`; the real form is used once, in test_permissions.py)."""
import pytest


@pytest.fixture
def staff_client(client, staff, sign_in):
    sign_in(client, staff)
    return client


@pytest.fixture
def admin_client(client, admin, sign_in):
    sign_in(client, admin)
    return client

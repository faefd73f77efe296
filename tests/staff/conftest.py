"""Fixtures of the staff tests: signed-in clients per role."""
import pytest

from tests.helpers import login


@pytest.fixture
def staff_client(client, staff):
    login(client, staff.email)
    return client


@pytest.fixture
def admin_client(client, admin):
    login(client, admin.email)
    return client

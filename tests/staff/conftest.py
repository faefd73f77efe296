"""Fixtures of the staff tests: signed-in clients per role.

`sign_in` puts a user into the test client's session as Flask-Login's own login does (user
id, fresh flag, the "strong" session-protection identifier), skipping the Argon2 check of the
sign-in form, which costs about a second per test on a busy machine. The real form is still
used once here (test_permissions.py::test_real_sign_in_reaches_the_staff_area).
"""
import pytest
from flask import g
from flask_login.utils import _create_identifier


@pytest.fixture
def sign_in(app):
    def sign_in(client, user) -> None:
        with app.test_request_context(environ_base=client.environ_base):
            identifier = _create_identifier()
        with client.session_transaction() as session:
            session.update({"_user_id": str(user.id), "_fresh": True, "_id": identifier})
        g.pop("_login_user", None)  # the test's app context outlives requests
    return sign_in


@pytest.fixture
def staff_client(client, staff, sign_in):
    sign_in(client, staff)
    return client


@pytest.fixture
def admin_client(client, admin, sign_in):
    sign_in(client, admin)
    return client

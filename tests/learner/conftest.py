"""Fixtures of the learner tests.

`sign_in` puts a user into the test client's session the way Flask-Login's own login does
(user id, fresh flag and the "strong" session-protection identifier), skipping the Argon2
password check of the real form, which would cost about a second per test on a busy
machine. The real sign-in form is still used by tests/web and by the browser test here.
"""
import pytest
from flask import g
from flask_login.utils import _create_identifier


@pytest.fixture
def sign_in(app):
    def sign_in(client, user) -> None:  # a User or a user id
        user_id = user if isinstance(user, int) else user.id
        with app.test_request_context(environ_base=client.environ_base):
            identifier = _create_identifier()
        with client.session_transaction() as session:
            session.update({"_user_id": str(user_id), "_fresh": True, "_id": identifier})
        # The test's app context outlives requests; forget any user cached for a previous one.
        g.pop("_login_user", None)
    return sign_in

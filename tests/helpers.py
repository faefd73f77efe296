"""Test helpers: CSRF tokens from pages, signing in through the real form, counting SQL statements."""
import re
from contextlib import contextmanager
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import event

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
TEST_WEBHOOK_SECRET = "whsec_test_secret_for_the_suite"
DEFAULT_PASSWORD = "correct-horse-42"
_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str | None = None) -> str:
    """The CSRF token a browser would have, read from a page of the site.

    Without `path`: the catalog for a signed-in client; a visitor gets no token there (the
    layout carries it only for signed-in users and pages with forms), so the sign-in page.
    """
    page = client.get(path or "/courses").get_data(as_text=True)
    match = _META_TOKEN.search(page)
    if match is None and path is None:
        page = client.get("/login").get_data(as_text=True)
        match = _META_TOKEN.search(page)
    assert match, f"no csrf-token meta tag on {path}"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str = DEFAULT_PASSWORD):
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302, f"sign-in failed for {email}"
    return response


def post_form(client: FlaskClient, path: str, data: dict | None = None, **kwargs):
    """POST a form with a valid CSRF token, as the browser would."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client)}, **kwargs)


def post_confirmed(client: FlaskClient, path: str, data: dict | None = None, **kwargs):
    """POST a staff action that asks for confirmation (blueprints/staff/confirm.py), answered yes."""
    return post_form(client, path, {**(data or {}), "confirmed": "yes"}, **kwargs)


class StatementCounter:
    """Counts the SQL statements sent on `engine` inside a `with` block."""

    def __init__(self, engine):
        self.engine, self.statements = engine, []

    def __call__(self, conn, cursor, statement, *args, **kwargs):
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self)


@contextmanager
def writing_like_a_request():
    """Run a block of the test's own thread the way a request's transaction runs: on SQLite it
    begins IMMEDIATE (conftest turns that off for the test's thread so its reads never block
    server threads). The test's open transaction is committed first, so the block starts one."""
    from extensions import SQLITE_IMMEDIATE, db

    db.session.commit()
    token = SQLITE_IMMEDIATE.set(True)
    try:
        yield
    finally:
        db.session.rollback()
        SQLITE_IMMEDIATE.reset(token)

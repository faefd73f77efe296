"""Shared fixtures: one database per test session, emptied after every test.

The backend comes from LEARNPAY_TEST_DB: "sqlite" (default, a temporary file) or
"postgresql" (a database of its own on TEST_POSTGRES_URL's server, created and dropped
here; the machine's `test` database is never touched). The schema is built by the
Alembic migrations, so every run also checks them. Each request, CLI command and thread
runs in its own app context and session (tests/isolation.py): tests see only what was committed.
"""
import os
import secrets
import tempfile

import pytest
import sqlalchemy as sa

from app import create_app
from extensions import SQLITE_IMMEDIATE, db
from tests import factories
from tests.helpers import MIGRATIONS, TEST_WEBHOOK_SECRET
from tests.isolation import isolate

pytest_plugins = ["tests.fixtures_sandbox", "tests.fixtures_live"]

BACKEND = os.environ.get("LEARNPAY_TEST_DB", "sqlite")
POSTGRES_SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres_only: needs PostgreSQL (row locks, real concurrency)")
    config.addinivalue_line("markers", "browser: drives Debian's Chromium through Playwright")


def _postgres_problem() -> str | None:
    """Why TEST_POSTGRES_URL's server cannot be used, or None when it answers."""
    engine = sa.create_engine(POSTGRES_SERVER_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except sa.exc.SQLAlchemyError as error:
        return str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    finally:
        engine.dispose()


def pytest_collection_modifyitems(config, items):
    # PostgreSQL-only tests are deselected, not skipped, on SQLite: `make test`'s PostgreSQL
    # pass runs them, so a full `make test` skips nothing.
    if BACKEND == "postgresql":
        # No server: the pass skips every test, saying why, on a developer's machine (the
        # SQLite pass already ran them); CI always has one, so there it is an error.
        if items and (problem := _postgres_problem()):
            message = (f"PostgreSQL pass skipped: no server at {POSTGRES_SERVER_URL} ({problem}). "
                       "Start one, or point TEST_POSTGRES_URL at one (README, Tests).")
            if os.environ.get("CI"):
                pytest.exit(message.replace("pass skipped", "pass cannot run in CI"), returncode=1)
            config.pluginmanager.get_plugin("terminalreporter").write_line(message, yellow=True, bold=True)
            for item in items:
                item.add_marker(pytest.mark.skip(reason=message))
        return
    deselected = [item for item in items if "postgres_only" in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if "postgres_only" not in item.keywords]


def _admin_engine() -> sa.Engine:
    return sa.create_engine(POSTGRES_SERVER_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def database_url():
    if BACKEND == "postgresql":
        name = f"learnpay_test_{os.getpid()}_{secrets.token_hex(3)}"
        admin = _admin_engine()
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except sa.exc.OperationalError as error:
            pytest.exit(f"PostgreSQL is not reachable at {POSTGRES_SERVER_URL}: {error}", returncode=1)
        url = POSTGRES_SERVER_URL.rsplit("/", 1)[0] + f"/{name}"
        _migrate(url)
        yield url
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        folder = tempfile.mkdtemp(prefix="learnpay-test-")
        url = f"sqlite:///{folder}/test.db"
        _migrate(url)
        yield url


@pytest.fixture
def empty_database_url():
    """A database with no tables, for tests that run the migrations themselves."""
    if BACKEND != "postgresql":
        yield f"sqlite:///{tempfile.mkdtemp(prefix='learnpay-mig-')}/empty.db"
        return
    name = f"learnpay_mig_{secrets.token_hex(4)}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_SERVER_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app(_base_config(url))
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()


def _base_config(url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret-key",
        "RATELIMIT_ENABLED": False,
        "STRIPE_API_BASE": "http://127.0.0.1:9",  # nothing listens: a test that needs Stripe uses the sandbox
        "STRIPE_SANDBOX": True,
        "STRIPE_WEBHOOK_SECRETS": [TEST_WEBHOOK_SECRET],
        "STRIPE_MAX_NETWORK_RETRIES": 0,
        "SERVER_NAME": None,
        "JOBS_IMMEDIATE": True,  # tasks run inline; tests/jobs runs a real worker too
        "COURSE_COVER_DIR": tempfile.mkdtemp(prefix="learnpay-covers-"),  # never the checkout's instance/
    }


@pytest.fixture
def app_overrides() -> dict:
    """Override in a test module to change the app's configuration."""
    return {}


@pytest.fixture
def app(database_url, app_overrides):
    app = create_app({**_base_config(database_url), **app_overrides})
    # The test body runs in this app context (factories and assertions use its session); each
    # request, session_transaction() and CLI command gets its own context and session, as in
    # production, and the test's transaction ends before each (see tests/isolation.py).
    isolate(app)
    # On SQLite the test's own thread reads the latest commit without taking the write lock:
    # a test reading or polling must not block the server and racer threads (new threads
    # begin IMMEDIATE, like production).
    deferred = SQLITE_IMMEDIATE.set(False)
    with app.app_context():
        yield app
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()
    SQLITE_IMMEDIATE.reset(deferred)


def _empty_all_tables() -> None:
    tables = db.metadata.sorted_tables
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            conn.execute(sa.text(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE"))
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for table in reversed(tables):
                conn.execute(table.delete())
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def learner(app):
    return factories.user(email="learner@example.com", name="Lena Learner")


@pytest.fixture
def staff(app):
    return factories.user(email="staff@example.com", name="Sam Staff", role="STAFF")


@pytest.fixture
def admin(app):
    return factories.user(email="admin@example.com", name="Ada Admin", role="ADMIN")


@pytest.fixture
def paid_course(app):
    return factories.course(slug="python-101", title="Python 101", price=9900, currency="USD", lectures=3)


@pytest.fixture
def free_course(app):
    return factories.course(slug="git-basics", title="Git Basics", price=0, enrollment_type="FREE", lectures=2)


@pytest.fixture
def sign_in(app):
    """Put a user (a User or an id) into the test client's session as our sign-in does (a new
    server-side session, its token as Flask-Login's user id, fresh flag, the "strong"
    session-protection identifier), skipping the Argon2 check of the sign-in form, which costs
    about a second per test on a busy machine. tests/accounts and the browser tests use the
    real form. Returns the session's token (what the cookies carry)."""
    from blueprints.auth.signin import client_identifier
    from models import User
    from services.people import sessions

    def sign_in(client, user) -> str:
        user = db.session.get(User, user) if isinstance(user, int) else user
        with app.test_request_context(environ_base=client.environ_base):
            identifier = client_identifier()
        _row, token = sessions.start(user, remember=False, ip=client.environ_base.get("REMOTE_ADDR", "127.0.0.1"),
                                     user_agent=None, max_days=app.config["SESSION_MAX_DAYS"])
        db.session.commit()
        with client.session_transaction() as session:
            session.update({"_user_id": token, "_fresh": True, "_id": identifier})
        return token
    return sign_in


class Outbox:
    """The mail outbox as the worker sends it: one EmailMessage per `mail_outbox` row not
    cancelled, oldest first, read afresh at each use (only what was committed). Each row is
    rendered once, when first seen, as the worker renders it when sending (a reset link made
    then stays the same afterwards)."""

    def __init__(self):
        self._rendered: dict = {}

    def _messages(self) -> list:
        from models import MailStatus, OutboxMail
        from services import notifications

        db.session.expire_all()
        rows = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.status != MailStatus.CANCELLED)
                                  .order_by(OutboxMail.id)).all()
        for row in rows:
            if row.id not in self._rendered:
                self._rendered[row.id] = notifications.message_for(row)
        return [self._rendered[row.id] for row in rows]

    def __iter__(self):
        return iter(self._messages())

    def __len__(self) -> int:
        return len(self._messages())

    def __getitem__(self, index):
        return self._messages()[index]

    def __eq__(self, other) -> bool:
        return self._messages() == list(other)

    def __repr__(self) -> str:
        return f"Outbox({[m['Subject'] for m in self._messages()]!r})"


@pytest.fixture
def outbox(app):
    """The mail the app queued during the test (the `mail_outbox` table, rendered)."""
    return Outbox()

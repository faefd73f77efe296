"""Flask extension objects, created unbound here and bound in `app.create_app`.

Blueprints and services import from this module, never from `app.py`.
"""
import contextvars

from authlib.integrations.flask_client import OAuth
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
oauth = OAuth()
cors = CORS()


def _sqlite_foreign_keys_on(dbapi_connection, connection_record) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


# Whether SQLite transactions begin IMMEDIATE in this context (see serialize_sqlite_writers).
# Only the test suite's own thread turns it off: a test reading or polling the database must
# see the latest commit and never hold the write lock that the server and racer threads it
# waits for need. New threads start with the default.
SQLITE_IMMEDIATE = contextvars.ContextVar("sqlite_immediate", default=True)


def serialize_sqlite_writers(engine, *, busy_timeout_seconds: float) -> None:
    """On SQLite, every transaction takes the write lock before its first read (BEGIN IMMEDIATE).

    SQLite has no row locks (`FOR UPDATE` compiles to nothing), and a transaction that read
    and then writes cannot wait for the lock: SQLite answers "database is locked" at once (in
    WAL mode the snapshot it read is stale). So the read-modify-write of money and enrollment
    state is serialized by taking the one write lock up front, as SQLAlchemy's pysqlite
    documentation recommends: the driver's own BEGIN handling is turned off and BEGIN
    IMMEDIATE is emitted in the "begin" event; a second writer waits up to the busy timeout
    and then reads the first one's committed result. Why every transaction and not only the
    money paths: docs/architecture.md. WAL lets readers outside the app (backups, the sqlite3
    shell, the test suite's own thread) read while the app writes. A no-op on other databases.
    """
    from sqlalchemy import event

    if engine.dialect.name != "sqlite":
        return
    timeout_ms = max(0, int(busy_timeout_seconds * 1000))
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _busy_timeout_and_wal(dbapi_connection, connection_record) -> None:
        dbapi_connection.isolation_level = None  # autocommit until our own BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection) -> None:
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # @read_only views: no transaction at all, as they asked
        dbapi_connection = connection.connection.dbapi_connection
        if SQLITE_IMMEDIATE.get():
            dbapi_connection.isolation_level = None  # pysqlite emits no BEGIN/COMMIT of its own
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            dbapi_connection.isolation_level = ""  # pysqlite's own: BEGIN before the first write


def enable_sqlite_foreign_keys() -> None:
    """SQLite ignores foreign keys (and ON DELETE) unless each connection turns them on."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _sqlite_foreign_keys_on):
        event.listen(Engine, "connect", _sqlite_foreign_keys_on)

"""What every bench script shares: a throwaway PostgreSQL database, free loopback ports, stopping servers."""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess

import sqlalchemy as sa

# gunicorn settings of every bench server (`-c GUNICORN_CONF`; the file says why): a path, not a
# module, so a server started from another checkout (bench_checkout --compare) reads it too.
GUNICORN_CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gunicorn_conf.py")

SERVER_URL = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_database(prefix: str) -> tuple[str, str]:
    """A new empty database on the bench server: (its name, its URL)."""
    name = f"learnpay_bench_{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    _admin(f'CREATE DATABASE "{name}"')
    return name, SERVER_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def analyze(url: str) -> None:
    """Planner statistics for a freshly seeded database. Production's autovacuum collects them;
    the test server here runs without autovacuum, so without this every plan of the run would
    be a guess from table sizes alone."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()


def _admin(statement: str) -> None:
    admin = sa.create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(statement))
    admin.dispose()


def stop(process: subprocess.Popen) -> None:
    """Stop a server started in its own process group (a gunicorn master and its workers)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)

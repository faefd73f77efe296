"""Readiness: can this instance serve? (database reachable, schema migrated, Redis and the job
queue answering).

Each check answers "ok", "skipped" (not configured) or a short reason; the reasons name no
host, password or exception text (the answer is public: load balancers read it). The
details go to the log.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Callable

import sqlalchemy as sa

from extensions import db

log = logging.getLogger(__name__)
OK, SKIPPED = "ok", "skipped"
CHECK_TIMEOUT_SECONDS = 2


def report(*, migrations_dir: str, redis_url: str | None, job_queue=None) -> tuple[bool, dict[str, str]]:
    """(ready, {check: result}); ready when every check answered ok or skipped.

    `job_queue` is the Huey instance (None, or run inline: skipped).
    """
    results = {"database": _run("database", _database)}
    results["migrations"] = (_run("migrations", lambda: _migrations(migrations_dir))
                             if results["database"] == OK else "unknown")
    results["redis"] = _run("redis", lambda: _redis(redis_url)) if _is_redis(redis_url) else SKIPPED
    results["job_queue"] = (_run("job_queue", lambda: _job_queue(job_queue))
                            if job_queue is not None and not job_queue.immediate else SKIPPED)
    return all(value in (OK, SKIPPED) for value in results.values()), results


def _run(name: str, check: Callable[[], str]) -> str:
    try:
        return check()
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"; the detail goes to the log
        # One line, no traceback: probes repeat every few seconds for as long as it lasts.
        log.warning("readiness check %s failed: %s: %s", name, type(error).__name__, str(error)[:300])
        return "unreachable"


def _database() -> str:
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {CHECK_TIMEOUT_SECONDS * 1000}")
        conn.execute(sa.text("SELECT 1"))
    return OK


def _migrations(migrations_dir: str) -> str:
    """OK when the schema is at the migrations' head, else what is wrong."""
    if not sa.inspect(db.engine).has_table("alembic_version"):
        return "not migrated"
    with db.engine.connect() as conn:
        current = set(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    if current == migration_heads(migrations_dir):
        return OK
    return "not migrated" if not current else "not at head"


@lru_cache(maxsize=4)
def migration_heads(migrations_dir: str) -> frozenset[str]:
    """The head revisions of the migration scripts (read once per process: the code does not change)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory(migrations_dir).get_heads())


def _is_redis(url: str | None) -> bool:
    return bool(url) and url.startswith(("redis://", "rediss://", "unix://"))


@lru_cache(maxsize=4)
def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS)


def _redis(url: str) -> str:
    return OK if _redis_client(url).ping() else "unreachable"


def _job_queue(huey) -> str:
    """The queue's storage answers (Redis, or the SQLite file on this machine)."""
    huey.storage.queue_size()
    return OK

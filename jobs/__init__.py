"""The job queue: one Huey instance, its storage chosen from the app's settings.

`huey` exists at import so tasks can be declared with its decorators (`jobs.tasks`); its
storage is set by `init_app` (called by the app factory):

- `REDIS_URL` set: Redis (what `RedisHuey` uses), so workers on several machines share one
  queue and one schedule;
- otherwise a SQLite file, `JOBS_SQLITE_PATH` (default `instance/jobs.db`, what `SqliteHuey`
  uses): nothing to install, fine for one machine;
- `JOBS_IMMEDIATE` (tests): no queue at all, a task runs the moment it is enqueued.

Every task runs inside an app context of its own (`in_app`), so it gets its own database
session and commits its own work, like a `flask …` command. A worker is `flask jobs worker`
(`jobs.cli`); `make run` starts one beside the app.
"""
from __future__ import annotations

import functools
import logging
from pathlib import Path

from flask import Flask
from huey import Huey
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

log = logging.getLogger(__name__)
QUEUE_NAME = "learnpay"

# Results are never read (tasks record their effects in the database), so none are stored.
huey = Huey(QUEUE_NAME, results=False, utc=True, storage_class=MemoryStorage)
_app: Flask | None = None


def init_app(app: Flask) -> None:
    """Point the queue at the storage the settings name; tasks run in this app."""
    global _app
    _app = app
    config = app.config
    if config.get("JOBS_IMMEDIATE"):
        storage_class, kwargs = MemoryStorage, {}
    elif config.get("REDIS_URL"):
        storage_class, kwargs = RedisStorage, {"url": config["REDIS_URL"]}
    else:
        path = Path(config["JOBS_SQLITE_PATH"])
        path.parent.mkdir(parents=True, exist_ok=True)
        storage_class, kwargs = SqliteStorage, {"filename": str(path)}
    current = (huey.storage_class, huey.storage_kwargs, huey.immediate)
    if current != (storage_class, kwargs, bool(config.get("JOBS_IMMEDIATE"))):
        huey.storage_class, huey.storage_kwargs = storage_class, kwargs
        huey._immediate = bool(config.get("JOBS_IMMEDIATE"))
        huey.storage = huey.create_storage()
    app.extensions["huey"] = huey
    from jobs import cli, tasks  # noqa: F401 - declares the tasks on `huey`

    app.cli.add_command(cli.jobs_cli)


def in_app(function):
    """Run a task function inside an app context of its own (own session, own commit)."""
    @functools.wraps(function)
    def run(*args, **kwargs):
        if _app is None:
            raise RuntimeError("jobs.init_app was not called: no app to run the task in")
        with _app.app_context():
            return function(*args, **kwargs)
    return run


def enqueue_quietly(task, *args) -> None:
    """Enqueue a hint whose work a periodic sweep also does; if the queue is unreachable, log
    it and leave the work to the sweep. The arguments are not logged (they may name a person)."""
    try:
        task(*args)
    except Exception:  # noqa: BLE001 - a hint must never undo or break committed work
        log.exception("Could not enqueue %s (the periodic sweep will pick it up)", task.name)


def enqueue_or_run(task, *args) -> None:
    """Enqueue a task that no sweep would redo; if the queue is unreachable, run it here and
    now rather than lose it (slower for this one request, but the work is done)."""
    try:
        task(*args)
    except Exception:  # noqa: BLE001 - the queue is down: do the work in this process instead
        log.exception("Could not enqueue %s; running it in this process", task.name)
        task.call_local(*args)

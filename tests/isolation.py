"""Each request, CLI command and thread of a test runs in its own app context and session.

In production every request pushes its own app context, so Flask-SQLAlchemy (which scopes
`db.session` by app context) gives it its own session, removed — rolled back — at teardown.
Flask's request context reuses an app context already pushed for the same app, though, and the
`app` fixture keeps one open for the whole test: requests would share the test's session and
its `g`, so a view that forgot to commit would still look right to the test reading through
that same session. Here each request (redirects followed included), `session_transaction()`
and CLI invocation pushes a fresh app context first: what it did not commit is rolled back
when it ends, and the test sees only what was committed.

Before each of them the test's own session commits (`end_test_transaction`). Factories
already commit, so this rarely writes anything; it ends the test's transaction, so the test
never holds a lock (SQLite's write transactions take the database lock at BEGIN) while the
request runs, and it expires the test's objects, so they reload what the request committed.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import contextmanager

from flask import has_app_context
from flask.testing import FlaskClient, FlaskCliRunner

from extensions import db


def end_test_transaction() -> None:
    """Commit the current context's session: no open transaction, objects expired."""
    if has_app_context():
        db.session.commit()


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context and database session."""

    def run_wsgi_app(self, environ, buffered=False):
        # Werkzeug calls this once per request, including each redirect it follows (`open`
        # recurses for those), so every hop gets its own context and its own session.
        end_test_transaction()
        with self.application.app_context():
            return super().run_wsgi_app(environ, buffered=buffered)

    @contextmanager
    def session_transaction(self, *args, **kwargs):
        # The `with` body runs in the fresh context too: read the database before it, not in it.
        end_test_transaction()
        with self.application.app_context(), super().session_transaction(*args, **kwargs) as session:
            yield session


class IsolatedCliRunner(FlaskCliRunner):
    """`runner.invoke` runs the command in its own app context and session, as `flask …` would."""

    def invoke(self, *args, **kwargs):
        end_test_transaction()
        with self.app.app_context():
            return super().invoke(*args, **kwargs)


def isolate(app) -> None:
    """Make `app.test_client()` and `app.test_cli_runner()` isolate each request and command."""
    app.test_client_class = IsolatedClient
    app.test_cli_runner_class = IsolatedCliRunner


def run_in_threads(app, jobs: list[Callable[[], object]], *, timeout: float = 60) -> list:
    """Run each job in its own thread, app context and session, all released at once by a
    barrier; returns their results in order (an exception raised by a job is its result).

    The test's transaction ends first: a thread must not wait on a lock the test holds."""
    end_test_transaction()
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index: int, job: Callable[[], object]) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=timeout / 2)
                results[index] = job()
            except BaseException as error:  # a crash in a thread must fail the test, not vanish
                barrier.abort()
                db.session.rollback()
                results[index] = error

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results

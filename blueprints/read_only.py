"""`@read_only`: views that only read run their statements without a transaction.

A psycopg connection outside autocommit sends BEGIN before a request's first statement and
the session's close sends ROLLBACK after its last: two round trips that a page which only
reads does not need, and on a busy machine each round trip costs more than the statement.
Under PostgreSQL's READ COMMITTED (ours) every statement sees its own snapshot inside a
transaction too, so reads give the same answers in autocommit; SQLite reads likewise.

The view must not write. If it tries through the ORM (a flush), `ReadOnlyViolation` is raised
before anything is sent, rather than letting each statement commit on its own. Put the
decorator outside `login_required`, so that loading the signed-in user is covered too.
"""
from __future__ import annotations

import functools

from sqlalchemy import event
from sqlalchemy.orm import Session

from extensions import db

_FLAG = "read_only_view"


class ReadOnlyViolation(RuntimeError):
    """A view marked @read_only tried to write."""


def read_only(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        session = db.session()
        if session.in_transaction():  # something already began one: leave it as it is
            return view(*args, **kwargs)
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        session.info[_FLAG] = True
        try:
            return view(*args, **kwargs)
        finally:
            session.info.pop(_FLAG, None)
    return wrapper


@event.listens_for(Session, "before_flush")
def _refuse_writes(session: Session, flush_context, instances) -> None:
    if session.info.get(_FLAG):
        raise ReadOnlyViolation("A @read_only view tried to write; remove the decorator from it.")

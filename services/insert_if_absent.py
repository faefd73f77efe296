"""INSERT … ON CONFLICT DO NOTHING RETURNING, written out once per table and reused.

SQLAlchemy 2.0 never caches a dialect INSERT with ON CONFLICT (its class sets
inherit_cache = False), so building one per call compiles it on every call: on the webhook
inbox and the mail outbox, which every paid webhook writes, compiling cost more than running
the statement. And an ORM-enabled insert autoflushes the session first. This statement is
text built from the table once: cached by its identity, no autoflush, the same text on
PostgreSQL and SQLite (3.35+), with each column's type for its bind parameter.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa


class InsertIfAbsent:
    """`run(session, values)` inserts a row unless `conflict` columns match a stored one, and
    returns the new row's `returning` column (None when the row was already there). Columns
    missing from `values` are NULL; a column in `skip` (an identity key) is left out."""

    def __init__(self, table: sa.Table, *, conflict: list[str], returning: str, skip: tuple[str, ...] = ()) -> None:
        columns = [column for column in table.columns if column.name not in skip]
        names = [column.name for column in columns]
        self.statement = sa.text(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(':' + name for name in names)}) "
            f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {returning}"
        ).bindparams(*(sa.bindparam(column.name, type_=column.type) for column in columns))
        self.nulls = dict.fromkeys(names)

    def run(self, session, values: dict[str, Any]) -> Any:
        return session.execute(self.statement, {**self.nulls, **values}).scalar()

"""Cursor pagination for lists, as Stripe's: `limit`, `starting_after` (the id of the last item
of the previous page) and `has_more`.

Keyset, not OFFSET: a page is "the `limit` rows that sort after the cursor row", found by
comparing (sort key, id) pairs, so pages stay stable while rows are added and the database
never counts through the skipped rows. The id breaks ties, so the order is total.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from extensions import db
from services.errors import DomainError

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass
class Page:
    items: list[Any]
    has_more: bool


def keyset_page(stmt: sa.Select, *, sort: sa.ColumnElement, id_column: sa.ColumnElement,
                starting_after: Any | None, limit: int, descending: bool = True) -> Page:
    """The page of `stmt` (a select of one entity, without ORDER BY) after `starting_after`.

    The cursor must be an item of the same list; anything else is a 400 on `startingAfter`.
    """
    if starting_after is not None:
        anchor = db.session.execute(
            stmt.with_only_columns(sort, id_column, maintain_column_froms=True).order_by(None)
            .where(id_column == starting_after)).first()
        if anchor is None:
            raise DomainError("No item with this id in the list: pass the id of the last item you received.",
                              code="INVALID_CURSOR", field="startingAfter")
        pair, bound = sa.tuple_(sort, id_column), sa.tuple_(*anchor)
        stmt = stmt.where(pair < bound if descending else pair > bound)
    order = (sort.desc(), id_column.desc()) if descending else (sort.asc(), id_column.asc())
    rows = list(db.session.scalars(stmt.order_by(*order).limit(limit + 1)))
    return Page(rows[:limit], len(rows) > limit)

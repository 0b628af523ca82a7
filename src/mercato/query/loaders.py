"""Batch loaders for relations: one ``SELECT … WHERE key = ANY(…)`` per page, never per row.

Rendering only reads attributes, so loaders fetch plain rows (every mapped column, labelled with
its attribute name, e.g. ``metadata_``) instead of ORM instances: no identity map, no instance
state, several times cheaper per row. Key lists are sent as one array parameter
(``= ANY($1::VARCHAR[])``) rather than ``IN ($1, $2, …)``, so each loader has one SQL text
whatever the page size and its prepared statement is reused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, any_, bindparam, inspect, select
from sqlalchemy.dialects.postgresql import ARRAY

from mercato.query.fields import BatchLoader, RenderContext


@cache
def _columns(model: type) -> tuple[Any, ...]:
    return tuple(column.label(key) for key, column in inspect(model).columns.items())


def row_select(model: type) -> Select:
    """``SELECT`` every mapped column of ``model`` as plain rows named like its attributes."""
    return select(*_columns(model))


def any_of(column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column = ANY(:values)``: ``IN`` with one array parameter (stable SQL text)."""
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))


def belongs_to(model: type, foreign_key: str, *, key: str = "id") -> BatchLoader:
    """Parent row holds ``foreign_key``; load the one ``model`` row it points at."""

    async def load(ctx: RenderContext, rows: list[Any]) -> list[Any]:
        wanted = {getattr(r, foreign_key) for r in rows} - {None}
        found: dict[Any, Any] = {}
        if wanted:
            column = getattr(model, key)
            result = await ctx.session.execute(row_select(model).where(any_of(column, wanted)))
            found = {getattr(obj, key): obj for obj in result}
        return [found.get(getattr(r, foreign_key)) for r in rows]

    return load


def has_many(
    model: type, foreign_key: str, *, order_by: Any = None, where: Any = None
) -> BatchLoader:
    """Child rows point at the parent's ``id`` through ``foreign_key``."""

    async def load(ctx: RenderContext, rows: list[Any]) -> list[Any]:
        column = getattr(model, foreign_key)
        query = row_select(model).where(any_of(column, {r.id for r in rows}))
        if where is not None:
            query = query.where(where)
        query = query.order_by(*(order_by if order_by is not None else (model.id,)))
        groups: dict[Any, list[Any]] = defaultdict(list)
        for obj in await ctx.session.execute(query):
            groups[getattr(obj, foreign_key)].append(obj)
        return [groups.get(r.id, []) for r in rows]

    return load


def through(
    model: type, link: type, parent_key: str, child_key: str, *, where: Any = None
) -> BatchLoader:
    """Many-to-many over the join table ``link(parent_key, child_key)``."""

    async def load(ctx: RenderContext, rows: list[Any]) -> list[Any]:
        parent = getattr(link, parent_key).label("_parent_id")
        query = (
            select(parent, *_columns(model))
            .join_from(link, model, model.id == getattr(link, child_key))
            .where(any_of(getattr(link, parent_key), {r.id for r in rows}))
            .order_by(model.id)
        )
        if where is not None:
            query = query.where(where)
        groups: dict[Any, list[Any]] = defaultdict(list)
        for row in await ctx.session.execute(query):
            groups[row._parent_id].append(row)  # the extra column is never rendered
        return [groups.get(r.id, []) for r in rows]

    return load

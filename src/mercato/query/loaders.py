"""Batch loaders for relations: one ``SELECT … WHERE key = ANY($1)`` per page, never per row.

Rendering only reads attributes, so loaders fetch plain rows (every mapped column, named like its
attribute, e.g. ``metadata_``) instead of ORM instances. Each loader's SQL is fixed — the keys are
one array parameter — so it is compiled once and run by the driver (:mod:`mercato.query.driver`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from mercato.query.driver import FixedQuery, keys_param, model_columns, rows_of
from mercato.query.fields import BatchLoader, RenderContext

# The parent's key carried by rows loaded through a link table (never rendered).
PARENT_KEY = "parent_key__"


def belongs_to(model: type, foreign_key: str, *, key: str = "id") -> BatchLoader:
    """Parent row holds ``foreign_key``; load the one ``model`` row it points at."""
    query = FixedQuery(rows_of(model).where(keys_param(getattr(model, key))))

    async def load(ctx: RenderContext, rows: list[Any]) -> list[Any]:
        wanted = {getattr(r, foreign_key) for r in rows} - {None}
        found: dict[Any, Any] = {}
        if wanted:
            found = {
                getattr(obj, key): obj for obj in await query.rows(ctx.session, keys=list(wanted))
            }
        return [found.get(getattr(r, foreign_key)) for r in rows]

    return load


def has_many(
    model: type, foreign_key: str, *, order_by: Any = None, where: Any = None
) -> BatchLoader:
    """Child rows point at the parent's ``id`` through ``foreign_key``."""
    statement = rows_of(model).where(keys_param(getattr(model, foreign_key)))
    if where is not None:
        statement = statement.where(where)
    query = FixedQuery(statement.order_by(*(order_by if order_by is not None else (model.id,))))

    async def load(ctx: RenderContext, rows: list[Any]) -> list[Any]:
        groups: dict[Any, list[Any]] = defaultdict(list)
        for obj in await query.rows(ctx.session, keys=list({r.id for r in rows})):
            groups[getattr(obj, foreign_key)].append(obj)
        return [groups.get(r.id, []) for r in rows]

    return load


def through(
    model: type, link: type, parent_key: str, child_key: str, *, where: Any = None
) -> BatchLoader:
    """Many-to-many over the join table ``link(parent_key, child_key)``."""
    statement = (
        select(getattr(link, parent_key).label(PARENT_KEY), *model_columns(model))
        .join_from(link, model, model.id == getattr(link, child_key))
        .where(keys_param(getattr(link, parent_key)))
        .order_by(model.id)
    )
    query = FixedQuery(statement.where(where) if where is not None else statement)

    async def load(ctx: RenderContext, rows: list[Any]) -> list[Any]:
        groups: dict[Any, list[Any]] = defaultdict(list)
        for row in await query.rows(ctx.session, keys=list({r.id for r in rows})):
            groups[getattr(row, PARENT_KEY)].append(row)
        return [groups.get(r.id, []) for r in rows]

    return load

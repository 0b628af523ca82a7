"""Batch loaders for relations: one ``SELECT … WHERE key IN (…)`` per page, never per row."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from mercato.query.fields import BatchLoader, RenderContext


def belongs_to(model: type, foreign_key: str, *, key: str = "id") -> BatchLoader:
    """Parent row holds ``foreign_key``; load the one ``model`` row it points at."""

    async def load(ctx: RenderContext, rows: list[Any]) -> list[Any]:
        wanted = {getattr(r, foreign_key) for r in rows} - {None}
        found: dict[Any, Any] = {}
        if wanted:
            column = getattr(model, key)
            result = await ctx.session.scalars(select(model).where(column.in_(wanted)))
            found = {getattr(obj, key): obj for obj in result}
        return [found.get(getattr(r, foreign_key)) for r in rows]

    return load


def has_many(
    model: type, foreign_key: str, *, order_by: Any = None, where: Any = None
) -> BatchLoader:
    """Child rows point at the parent's ``id`` through ``foreign_key``."""

    async def load(ctx: RenderContext, rows: list[Any]) -> list[Any]:
        column = getattr(model, foreign_key)
        query = select(model).where(column.in_({r.id for r in rows}))
        if where is not None:
            query = query.where(where)
        query = query.order_by(*(order_by if order_by is not None else (model.id,)))
        groups: dict[Any, list[Any]] = defaultdict(list)
        for obj in await ctx.session.scalars(query):
            groups[getattr(obj, foreign_key)].append(obj)
        return [groups.get(r.id, []) for r in rows]

    return load


def through(
    model: type, link: type, parent_key: str, child_key: str, *, where: Any = None
) -> BatchLoader:
    """Many-to-many over the join table ``link(parent_key, child_key)``."""

    async def load(ctx: RenderContext, rows: list[Any]) -> list[Any]:
        query = (
            select(getattr(link, parent_key), model)
            .join(model, model.id == getattr(link, child_key))
            .where(getattr(link, parent_key).in_({r.id for r in rows}))
            .order_by(model.id)
        )
        if where is not None:
            query = query.where(where)
        groups: dict[Any, list[Any]] = defaultdict(list)
        for parent_id, obj in await ctx.session.execute(query):
            groups[parent_id].append(obj)
        return [groups.get(r.id, []) for r in rows]

    return load

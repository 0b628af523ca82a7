"""Batch loaders for relations: one ``SELECT … WHERE key = ANY($1)`` per page, never per row.

Rendering only reads attributes, so loaders fetch plain rows (named like the model's attributes,
e.g. ``metadata_``) instead of ORM instances, and only the columns the requested fields read
(``fields.columns_needed``): a store page of orders then decodes neither addresses nor metadata
it does not show. Each loader's SQL is fixed per column set — the keys are one array parameter —
so it is compiled once and run by the driver (:mod:`mercato.query.driver`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select

from mercato.query.driver import FixedQuery, keys_param, model_columns, rows_of
from mercato.query.fields import ColumnLoader, RenderContext

# The parent's key carried by rows loaded through a link table (never rendered).
PARENT_KEY = "parent_key__"
# Distinct column sets kept compiled per loader (clients choose ``fields``; keep it bounded).
_MAX_VARIANTS = 64


class _Loader(ColumnLoader):
    """Compiles one :class:`FixedQuery` per set of target columns, on first use."""

    def __init__(self, build: Callable[[frozenset[str] | None], Select]) -> None:
        self._build = build
        self._queries: dict[frozenset[str] | None, FixedQuery] = {}

    def query(self, columns: frozenset[str] | None, always: tuple[str, ...]) -> FixedQuery:
        key = None if columns is None else columns | frozenset(always)
        found = self._queries.get(key)
        if found is None:
            if len(self._queries) >= _MAX_VARIANTS:
                self._queries.clear()
            found = self._queries[key] = FixedQuery(self._build(key))
        return found


class BelongsTo(_Loader):
    """Parent row holds ``foreign_key``; load the one ``model`` row it points at."""

    def __init__(self, model: type, foreign_key: str, key: str) -> None:
        super().__init__(
            lambda columns: rows_of(model, columns).where(keys_param(getattr(model, key)))
        )
        self.reads = (foreign_key,)
        self.foreign_key = foreign_key
        self.key = key

    async def __call__(
        self, ctx: RenderContext, rows: list[Any], columns: frozenset[str] | None = None
    ) -> list[Any]:
        fk, key = self.foreign_key, self.key
        wanted = {getattr(r, fk) for r in rows} - {None}
        found: dict[Any, Any] = {}
        if wanted:
            query = self.query(columns, (key,))
            found = {
                getattr(o, key): o
                for o in await query.rows(
                    ctx.session, connection=await ctx.driver(), keys=list(wanted)
                )
            }
        return [found.get(getattr(r, fk)) for r in rows]


class HasMany(_Loader):
    """Child rows point at the parent's ``id`` through ``foreign_key``."""

    def __init__(self, model: type, foreign_key: str, order_by: Any, where: Any) -> None:
        def build(columns: frozenset[str] | None) -> Select:
            statement = rows_of(model, columns).where(keys_param(getattr(model, foreign_key)))
            if where is not None:
                statement = statement.where(where)
            return statement.order_by(*(order_by if order_by is not None else (model.id,)))

        super().__init__(build)
        self.reads = ("id",)
        self.foreign_key = foreign_key

    async def __call__(
        self, ctx: RenderContext, rows: list[Any], columns: frozenset[str] | None = None
    ) -> list[Any]:
        fk = self.foreign_key
        groups: dict[Any, list[Any]] = defaultdict(list)
        query = self.query(columns, (fk,))
        for obj in await query.rows(
            ctx.session, connection=await ctx.driver(), keys=list({r.id for r in rows})
        ):
            groups[getattr(obj, fk)].append(obj)
        return [groups.get(r.id, []) for r in rows]


class Through(_Loader):
    """Many-to-many over the join table ``link(parent_key, child_key)``."""

    def __init__(
        self, model: type, link: type, parent_key: str, child_key: str, where: Any
    ) -> None:
        def build(columns: frozenset[str] | None) -> Select:
            chosen = [c for c in model_columns(model) if columns is None or c.key in columns]
            statement = (
                select(getattr(link, parent_key).label(PARENT_KEY), *chosen)
                .join_from(link, model, model.id == getattr(link, child_key))
                .where(keys_param(getattr(link, parent_key)))
                .order_by(model.id)
            )
            return statement.where(where) if where is not None else statement

        super().__init__(build)
        self.reads = ("id",)

    async def __call__(
        self, ctx: RenderContext, rows: list[Any], columns: frozenset[str] | None = None
    ) -> list[Any]:
        groups: dict[Any, list[Any]] = defaultdict(list)
        query = self.query(columns, ())
        for row in await query.rows(
            ctx.session, connection=await ctx.driver(), keys=list({r.id for r in rows})
        ):
            groups[getattr(row, PARENT_KEY)].append(row)
        return [groups.get(r.id, []) for r in rows]


def belongs_to(model: type, foreign_key: str, *, key: str = "id") -> BelongsTo:
    return BelongsTo(model, foreign_key, key)


def has_many(model: type, foreign_key: str, *, order_by: Any = None, where: Any = None) -> HasMany:
    return HasMany(model, foreign_key, order_by, where)


def through(
    model: type, link: type, parent_key: str, child_key: str, *, where: Any = None
) -> Through:
    return Through(model, link, parent_key, child_key, where)

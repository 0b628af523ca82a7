"""Batch loaders for relations: one ``SELECT … WHERE key = ANY($1)`` per page, never per row.

Rendering only reads attributes, so loaders fetch plain rows (named like the model's attributes,
e.g. ``metadata_``) instead of ORM instances, and only the columns the requested fields read
(``fields.columns_needed``): a store page of orders then decodes neither addresses nor metadata
it does not show. A to-one relation whose selection is plain fields is ``LEFT JOIN``ed into its
parent's statement (``fields._joins``): its columns ride on the parent's rows
(``variant__title``), from which the parent's level renders it inline. Each loader's SQL is fixed per column set and joins — the
keys are one array parameter — so it is compiled once and run by the driver
(:mod:`mercato.query.driver`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from mercato.query.driver import FixedQuery, keys_param, model_columns, rows_of
from mercato.query.fields import ColumnLoader, Join, RenderContext

# The parent's key carried by rows loaded through a link table (never rendered).
PARENT_KEY = "parent_key__"
# Distinct column sets kept compiled per loader (clients choose ``fields``; keep it bounded).
_MAX_VARIANTS = 64


class _Loader(ColumnLoader):
    """Compiles one statement per set of target columns and joined relations, on first use."""

    model: type[Any]

    def __init__(self, build: Callable[[frozenset[str] | None], Select]) -> None:
        self._build = build
        self._queries: dict[tuple[Any, ...], FixedQuery] = {}

    def query(
        self, columns: frozenset[str] | None, always: tuple[str, ...], joins: tuple[Join, ...]
    ) -> FixedQuery:
        wanted = None if columns is None else columns | frozenset(always)
        found = self._queries.get((wanted, joins))
        if found is None:
            if len(self._queries) >= _MAX_VARIANTS:
                self._queries.clear()
            statement = self._build(wanted)
            for join in joins:
                statement = _join(statement, self.model, join, "")
            found = self._queries[(wanted, joins)] = FixedQuery(statement)
        return found

    async def rows(self, ctx: RenderContext, query: FixedQuery, keys: list[Any]) -> list[Any]:
        return await query.rows(ctx.session, connection=await ctx.driver(), keys=keys)


def _join(statement: Select, parent: Any, join: Join, prefix: str) -> Select:
    """``LEFT JOIN`` the row ``join.loader`` (a belongs-to) would load for ``parent``, its
    columns named ``<prefix><name>__<column>``, and its own joins after it."""
    loader: Any = join.loader
    label = f"{prefix}{join.name}"
    target = aliased(loader.model, name=f"{label}_joined")
    wanted = join.columns | {loader.key}
    statement = statement.join_from(
        parent,
        target,
        getattr(target, loader.key) == getattr(parent, loader.foreign_key),
        isouter=True,
    ).add_columns(
        *(
            getattr(target, c.key).label(f"{label}__{c.key}")
            for c in model_columns(loader.model)
            if c.key in wanted
        )
    )
    for nested in join.nested:
        statement = _join(statement, target, nested, f"{label}__")
    return statement


class BelongsTo(_Loader):
    """Parent row holds ``foreign_key``; load the one ``model`` row it points at."""

    joinable = True

    def __init__(self, model: type[Any], foreign_key: str, key: str) -> None:
        super().__init__(
            lambda columns: rows_of(model, columns).where(keys_param(getattr(model, key)))
        )
        self.reads = (foreign_key,)
        self.model = model
        self.foreign_key = foreign_key
        self.key = key

    async def __call__(
        self,
        ctx: RenderContext,
        rows: list[Any],
        columns: frozenset[str] | None = None,
        joins: tuple[Join, ...] = (),
    ) -> list[Any]:
        fk, key = self.foreign_key, self.key
        wanted = {getattr(r, fk) for r in rows} - {None}
        found: dict[Any, Any] = {}
        if wanted:
            query = self.query(columns, (key,), joins)
            found = {getattr(o, key): o for o in await self.rows(ctx, query, list(wanted))}
        return [found.get(getattr(r, fk)) for r in rows]


class HasMany(_Loader):
    """Child rows point at the parent's ``id`` through ``foreign_key``."""

    def __init__(self, model: type[Any], foreign_key: str, order_by: Any, where: Any) -> None:
        def build(columns: frozenset[str] | None) -> Select:
            statement = rows_of(model, columns).where(keys_param(getattr(model, foreign_key)))
            if where is not None:
                statement = statement.where(where)
            return statement.order_by(*(order_by if order_by is not None else (model.id,)))

        super().__init__(build)
        self.reads = ("id",)
        self.model = model
        self.foreign_key = foreign_key

    async def __call__(
        self,
        ctx: RenderContext,
        rows: list[Any],
        columns: frozenset[str] | None = None,
        joins: tuple[Join, ...] = (),
    ) -> list[Any]:
        fk = self.foreign_key
        groups: dict[Any, list[Any]] = defaultdict(list)
        query = self.query(columns, (fk,), joins)
        for obj in await self.rows(ctx, query, list({r.id for r in rows})):
            groups[getattr(obj, fk)].append(obj)
        return [groups.get(r.id, []) for r in rows]


class Through(_Loader):
    """Many-to-many over the join table ``link(parent_key, child_key)``."""

    def __init__(
        self, model: type[Any], link: type[Any], parent_key: str, child_key: str, where: Any
    ) -> None:
        def build(columns: frozenset[str] | None) -> Select:
            chosen = rows_of(model, columns).selected_columns
            statement = (
                select(getattr(link, parent_key).label(PARENT_KEY), *chosen)
                .join_from(link, model, model.id == getattr(link, child_key))
                .where(keys_param(getattr(link, parent_key)))
                .order_by(model.id)
            )
            return statement.where(where) if where is not None else statement

        super().__init__(build)
        self.reads = ("id",)
        self.model = model

    async def __call__(
        self,
        ctx: RenderContext,
        rows: list[Any],
        columns: frozenset[str] | None = None,
        joins: tuple[Join, ...] = (),
    ) -> list[Any]:
        groups: dict[Any, list[Any]] = defaultdict(list)
        query = self.query(columns, (), joins)
        for row in await self.rows(ctx, query, list({r.id for r in rows})):
            groups[getattr(row, PARENT_KEY)].append(row)
        return [groups.get(r.id, []) for r in rows]


def belongs_to(model: type[Any], foreign_key: str, *, key: str = "id") -> BelongsTo:
    return BelongsTo(model, foreign_key, key)


def has_many(
    model: type[Any], foreign_key: str, *, order_by: Any = None, where: Any = None
) -> HasMany:
    return HasMany(model, foreign_key, order_by, where)


def through(
    model: type[Any], link: type[Any], parent_key: str, child_key: str, *, where: Any = None
) -> Through:
    return Through(model, link, parent_key, child_key, where)

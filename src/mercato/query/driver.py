"""Fixed read statements run by asyncpg itself on the session's connection.

Rendering a page issues a handful of statements whose SQL never changes (one per loader; only the
array of keys does). Executed through the ORM session, each pays for SQLAlchemy's per-statement
machinery — ORM compile state, cache key, execution context, result metadata, a ``Row`` per
row — which profiling showed cost more CPU than PostgreSQL spends answering. A
:class:`FixedQuery` is compiled once by SQLAlchemy (so it is still written as a Core ``select``)
and then executed with asyncpg's ``fetch`` on the session's own connection (same transaction, same
prepared-statement cache); its records become named tuples, whose attribute access is the cheapest
Python has. The types the models use decode identically either way (asyncpg's codecs, including
the JSON codecs SQLAlchemy installs on every connection); ``tests/api/test_driver_rows.py``
checks that against SQLAlchemy for every model.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable
from functools import cache, partial
from typing import Any

from sqlalchemy import ColumnElement, Select, any_, bindparam, inspect, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import UpdateBase


def row_type(names: Iterable[str]) -> type:
    """A named-tuple class for rows with these column names (cached per column list)."""
    return _row_type(tuple(names))


@cache
def _row_type(names: tuple[str, ...]) -> type:
    return namedtuple("Row", names)  # type: ignore[misc]  # noqa: PYI024


@cache
def model_columns(model: type) -> tuple[Any, ...]:
    """Every mapped column of ``model``, labelled with its attribute name (``metadata_``)."""
    return tuple(column.label(key) for key, column in inspect(model).columns.items())


def keys_param(column: Any, name: str = "keys") -> ColumnElement[bool]:
    """``column = ANY($n)``: a placeholder for one array of keys, bound at execution."""
    return column == any_(bindparam(name, type_=ARRAY(column.type)))


class FixedQuery:
    """A statement compiled once and executed by the driver; rows come back as named tuples.

    Usually a ``SELECT``; an ``UPDATE … RETURNING`` works the same way (its values must all be
    given: column ``onupdate`` defaults are not applied)."""

    def __init__(self, statement: Select | UpdateBase) -> None:
        self.statement = statement
        self.row_type = row_type(c.key for c in statement.exported_columns)
        self._compiled: tuple[str, tuple[str, ...], dict[str, Any]] | None = None

    def _sql(self, session: AsyncSession) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        if self._compiled is None:
            compiled = self.statement.compile(dialect=session.get_bind().dialect)
            # Literals in the statement (``type == "publishable"``) are bound parameters too.
            literals = {n: b.value for n, b in compiled.binds.items() if not b.required}
            self._compiled = (str(compiled), tuple(compiled.positiontup or ()), literals)
        return self._compiled

    async def rows(
        self, session: AsyncSession, *, connection: Any = None, **params: Any
    ) -> list[Any]:
        """Run with ``params``; ``connection`` is the session's driver connection if the caller
        already holds it (a render pass looks it up once)."""
        records = await self.records(session, connection=connection, **params)
        return list(map(partial(tuple.__new__, self.row_type), records))

    async def records(
        self, session: AsyncSession, *, connection: Any = None, **params: Any
    ) -> list[Any]:
        """The driver's records (indexable by position) as they come."""
        sql, names, literals = self._sql(session)
        args = tuple(params[name] if name in params else literals[name] for name in names)
        if connection is None:
            connection = await driver_connection(session)
        _announce(session, sql, args)
        return await connection.fetch(sql, *args)


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the session (its transaction, if one has begun).

    Remembered for the session's current transaction (a transaction keeps its connection until
    it ends), so the authentication look-up and the response's statements find it without
    another trip through the session."""
    found = session.info.get(_DRIVER)
    if found is not None and found[0] is session.sync_session.get_transaction():
        return found[1]
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    session.info[_DRIVER] = (session.sync_session.get_transaction(), driver)
    return driver


_DRIVER = "mercato.driver_connection"


def _announce(session: AsyncSession, sql: str, args: tuple[Any, ...]) -> None:
    """Tell the engine's ``before_cursor_execute`` listeners (statement counters in tests, the
    benchmark's SQL capture) about the statement, as for every statement SQLAlchemy runs; they
    get no connection, cursor or context."""
    dispatch = session.get_bind().dispatch
    if dispatch.before_cursor_execute:
        dispatch.before_cursor_execute(None, None, sql, args, None, False)


def rows_of(model: type, columns: Iterable[str] | None = None) -> Select:
    """``SELECT`` the mapped columns of ``model`` (all, or the named attributes) as plain rows
    (see :func:`model_columns`)."""
    if columns is None:
        return select(*model_columns(model))
    wanted = set(columns)
    chosen = [c for c in model_columns(model) if c.key in wanted]
    if len(chosen) != len(wanted):
        unknown = wanted - {c.key for c in chosen}
        raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")
    return select(*chosen)

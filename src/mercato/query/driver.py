"""Fixed statements run by asyncpg itself on the session's pooled connection.

Rendering a page issues a handful of statements whose SQL never changes (one per loader; only the
array of keys does). Executed through the ORM session, each pays for SQLAlchemy's per-statement
machinery — ORM compile state, cache key, execution context, result metadata, a ``Row`` per
row — which profiling showed cost more CPU than PostgreSQL spends answering. A
:class:`FixedQuery` is compiled once by SQLAlchemy (so it is still written as a Core ``select``)
and then executed with asyncpg's ``fetch`` on the connection the session holds from the engine's
pool, reached through SQLAlchemy's public ``AsyncConnection.get_raw_connection()``; its records
become named tuples, whose attribute access is the cheapest Python has. The types the models use
decode identically either way (asyncpg's codecs, including the JSON codecs SQLAlchemy installs on
every connection); ``tests/api/test_driver_rows.py`` checks that against SQLAlchemy for every
model. Statement listeners see these statements through asyncpg's query loggers
(``db.statements``).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Mapping
from functools import cache, partial
from typing import Any, cast

from sqlalchemy import ColumnElement, CompoundSelect, Select, any_, bindparam, inspect, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.dml import UpdateBase

from mercato.db.base import Base
from mercato.db.reads import ReadOnlySession, ReadSession


def row_type(names: Iterable[str]) -> type[Any]:
    """A named-tuple class for rows with these column names (cached per column list)."""
    return _row_type(tuple(names))


@cache
def _row_type(names: tuple[str, ...]) -> type[Any]:
    return namedtuple("Row", names)  # noqa: PYI024


@cache
def model_columns(model: type[Base]) -> tuple[Any, ...]:
    """Every mapped column of ``model``, labelled with its attribute name (``metadata_``)."""
    return tuple(column.label(key) for key, column in inspect(model).columns.items())


def keys_param(column: Any, name: str = "keys") -> ColumnElement[bool]:
    """``column = ANY($n)``: a placeholder for one array of keys, bound at execution."""
    condition: ColumnElement[bool] = column == any_(bindparam(name, type_=ARRAY(column.type)))
    return condition


class FixedQuery:
    """A statement compiled once and executed by the driver; rows come back as named tuples.

    Usually a ``SELECT`` (or a ``UNION`` of them); an ``UPDATE`` works the same way (its values
    must all be given: column ``onupdate`` defaults are not applied). Parameters reach the driver as given, without bind
    processors: strings, numbers, datetimes, booleans and arrays of them (JSON goes through
    :class:`FixedInsert`)."""

    def __init__(self, statement: Select | CompoundSelect | UpdateBase) -> None:
        self.statement = statement
        self.row_type = row_type(cast(str, c.key) for c in statement.exported_columns)
        self._compiled: tuple[str, tuple[str, ...], dict[str, Any]] | None = None

    def _sql(self, session: AsyncSession) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        if self._compiled is None:
            compiled = self.statement.compile(dialect=session.get_bind().dialect)
            # Literals in the statement (``type == "publishable"``) are bound parameters too.
            literals = {n: b.value for n, b in compiled.binds.items() if not b.required}
            self._compiled = (str(compiled), tuple(compiled.positiontup or ()), literals)
        return self._compiled

    async def rows(
        self, session: AsyncSession, *, connection: DriverConnection | None = None, **params: Any
    ) -> list[Any]:
        """Run with ``params``; ``connection`` is the session's :func:`driver_connection` if the
        caller already holds it (a render pass looks it up once)."""
        records = await self.records(session, connection=connection, **params)
        return list(map(partial(tuple.__new__, self.row_type), records))

    async def records(
        self, session: AsyncSession, *, connection: DriverConnection | None = None, **params: Any
    ) -> list[Any]:
        """The driver's records (indexable by position) as they come."""
        sql, names, literals = self._sql(session)
        args = tuple(params[name] if name in params else literals[name] for name in names)
        if connection is None:
            connection = await driver_connection(session)
        return await connection.fetch(sql, args)


class FixedInsert:
    """A multi-row ``INSERT`` of one model's rows, compiled once and run by the driver's
    pipelined ``executemany`` on the session's connection (its transaction): a hot write path
    (checkout) pays for neither the unit of work nor SQLAlchemy's per-statement execution.

    Rows are dicts keyed by attribute name. Every column but an identity is written: a key a
    row leaves out takes the column's scalar default (``0``, ``False``, ``"pending"``) or, for a
    nullable column, ``NULL``; any other column (ids, timestamps) must be given — the ORM's
    callable and SQL defaults do not run here. Values pass through their column type's bind
    processor (JSON, arrays), as they would through SQLAlchemy."""

    def __init__(self, model: type[Base]) -> None:
        self.model = model
        columns = [
            (attr.key, attr.columns[0])
            for attr in inspect(model).column_attrs
            if attr.columns[0].identity is None
        ]
        self._columns = columns
        self._fallbacks = {
            key: column.default.arg if _scalar_default(column) else None
            for key, column in columns
            if _scalar_default(column) or (column.nullable and column.default is None)
        }
        self._compiled: tuple[str, tuple[Any, ...]] | None = None

    def _sql(self, session: AsyncSession) -> tuple[str, tuple[Any, ...]]:
        if self._compiled is None:
            dialect = session.get_bind().dialect
            quote = dialect.identifier_preparer
            table = self.model.__table__
            names = ", ".join(quote.format_column(column) for _, column in self._columns)
            values = ", ".join(f"${i}" for i in range(1, len(self._columns) + 1))
            sql = f"INSERT INTO {quote.format_table(table)} ({names}) VALUES ({values})"
            processors = tuple(column.type.bind_processor(dialect) for _, column in self._columns)
            self._compiled = (sql, processors)
        return self._compiled

    def _values(self, row: Mapping[str, Any], processors: tuple[Any, ...]) -> tuple[Any, ...]:
        fallbacks = self._fallbacks
        values = []
        for (key, _), process in zip(self._columns, processors, strict=True):
            if key in row:
                value = row[key]
            elif key in fallbacks:
                value = fallbacks[key]
            else:
                raise KeyError(f"{self.model.__name__} row without {key!r}")
            values.append(value if process is None else process(value))
        return tuple(values)

    async def run(self, session: AsyncSession, rows: Iterable[Mapping[str, Any]]) -> None:
        sql, processors = self._sql(session)
        args = [self._values(row, processors) for row in rows]
        if not args:
            return
        connection = await driver_connection(session)
        await connection.executemany(sql, args)


def _scalar_default(column: Any) -> bool:
    default = column.default
    return default is not None and default.is_scalar


class DriverConnection:
    """The asyncpg connection under a session, and the way its statements join the session's
    transaction.

    SQLAlchemy's asyncpg adapter sends ``BEGIN`` lazily, before the first statement *it* runs; a
    driver statement that came first in a command would run outside any transaction — committed
    at once, its row locks released — and the session's rollback would not undo it. So while the
    server reports no open transaction on a command session's connection, a statement goes
    through SQLAlchemy (``exec_driver_sql``: same SQL, same round trips, its adapter begins
    first); every later one runs on asyncpg directly. A read session's statements always do:
    it runs in autocommit and has nothing to begin. ``tests/api/test_driver_rows.py`` checks a
    rollback undoes driver writes."""

    __slots__ = ("asyncpg_connection", "connection", "joins_transaction", "key")

    def __init__(
        self,
        connection: AsyncConnection | None,
        asyncpg_connection: Any,
        *,
        joins_transaction: bool,
        key: object,
    ) -> None:
        self.connection = connection
        self.asyncpg_connection = asyncpg_connection
        self.joins_transaction = joins_transaction
        self.key = key  # what the session holds the connection by (:func:`driver_connection`)

    def _must_begin(self) -> bool:
        return self.joins_transaction and not self.asyncpg_connection.is_in_transaction()

    async def fetch(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        if self._must_begin():
            assert self.connection is not None
            result = await self.connection.exec_driver_sql(sql, args)
            return list(result.all()) if result.returns_rows else []
        records: list[Any] = await self.asyncpg_connection.fetch(sql, *args)
        return records

    async def executemany(self, sql: str, args: list[tuple[Any, ...]]) -> None:
        if self._must_begin():
            assert self.connection is not None
            await self.connection.exec_driver_sql(sql, args)
        else:
            await self.asyncpg_connection.executemany(sql, args)


async def driver_connection(session: AsyncSession) -> DriverConnection:
    """The session's :class:`DriverConnection`: for a command session, on the connection of its
    current transaction (``AsyncConnection.get_raw_connection()``); for a read session, on the
    connection it reads on (``ReadSession.asyncpg_connection``, which takes it from the pool and
    reads its ``driver_connection`` in one greenlet hop).

    Remembered while that connection stays the session's, so the authentication look-up and the
    response's statements find it without another trip through the session."""
    found: DriverConnection | None = session.info.get(_DRIVER)
    if found is not None and found.key is not None and found.key is _holder(session):
        return found
    connection: AsyncConnection | None = None
    if isinstance(session, ReadSession):
        asyncpg_connection = await session.asyncpg_connection()
    else:
        connection = await session.connection()
        asyncpg_connection = (await connection.get_raw_connection()).driver_connection
    found = DriverConnection(
        connection,
        asyncpg_connection,
        joins_transaction=connection is not None,
        key=_holder(session),
    )
    session.info[_DRIVER] = found
    return found


def _holder(session: AsyncSession) -> object:
    """What the session holds its connection by: a read session's own connection, else its
    current transaction (None before it begins)."""
    sync = session.sync_session
    if isinstance(sync, ReadOnlySession) and sync.read_connection is not None:
        return sync.read_connection
    return sync.get_transaction()


_DRIVER = "mercato.driver_connection"


def rows_of(model: type[Base], columns: Iterable[str] | None = None) -> Select:
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

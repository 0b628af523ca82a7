"""``python -m benchmarks inserts``: the client CPU of a checkout's inserts, two ways.

A completion writes about 24 rows into nine tables (three sellers: orders, lines, shipping
methods, reservations, a payment, order-payment links, the group and its links, the events).
This writes such a batch, table by table in foreign-key order, with the checkout's
``query.driver.FixedInsert`` (asyncpg's pipelined ``executemany``), with SQLAlchemy's
``insert(Model)`` executed on the session with the list of row dicts (the ORM's bulk insert),
and with Core's ``insert(table)`` on the session's connection, alternating the ways in rounds on
one connection, each batch in a transaction that is rolled back. It reports the process CPU time
per checkout (the server's work is the same every way and not counted), and the same less a
bare transaction's (``BEGIN``, one ``SELECT``, ``ROLLBACK``): the inserts alone.

The session runs with ``session_replication_role = replica``: the synthetic rows reference
nothing real, so foreign-key and tally triggers are off for it (the run needs a superuser, as
the embedded server's is). Any migrated database will do; nothing is left behind.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ARRAY, JSON, insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from mercato.db.base import new_id
from mercato.db.engine import SERVER_SETTINGS, asyncpg_url
from mercato.db.models import Base  # every model: foreign keys resolve their types
from mercato.events.models import OutboxEvent
from mercato.orders.models import (
    Order,
    OrderGroup,
    OrderGroupOrder,
    OrderLineItem,
    OrderPaymentCollection,
    OrderShippingMethod,
    ReservationItem,
)
from mercato.payments.models import Payment
from mercato.query.driver import FixedInsert

# Rows per checkout of a three-seller cart with one line per seller, paid with the system
# provider (authorized, not captured), in the order the checkout writes them.
CHECKOUT: tuple[tuple[type[Base], int], ...] = (
    (Order, 3),
    (OrderLineItem, 3),
    (OrderShippingMethod, 3),
    (ReservationItem, 3),
    (Payment, 1),
    (OrderPaymentCollection, 3),
    (OrderGroup, 1),
    (OrderGroupOrder, 3),
    (OutboxEvent, 4),
)

ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "address_1": "12 Analytical Row",
    "city": "London",
    "country_code": "gb",
    "postal_code": "N1 9GU",
}


def _value(column: Any, now: datetime) -> Any:
    """A plausible value of the column's type; strings are unique (ids, references)."""
    if isinstance(column.type, JSON):
        return dict(ADDRESS)
    if isinstance(column.type, ARRAY):
        return [new_id("sel") for _ in range(3)]
    kind = column.type.python_type
    if kind is str:
        return new_id(column.name[:6])
    if kind is bool:
        return False
    if kind is int:
        return 1_099
    if kind is datetime:
        return now
    raise TypeError(f"no sample value for {column} ({kind})")


def checkout_rows() -> list[tuple[type[Base], list[dict[str, Any]]]]:
    """One checkout's rows: every column but an identity given, keyed by attribute name."""
    now = datetime.now(UTC)
    batch: list[tuple[type[Base], list[dict[str, Any]]]] = []
    for model, count in CHECKOUT:
        # Status columns take a value of their vocabulary (their CHECK, ``db.base.one_of``).
        statuses = {
            constraint.info["column"]: constraint.info["vocabulary"][0]
            for constraint in Base.metadata.tables[str(model.__tablename__)].constraints
            if "vocabulary" in constraint.info
        }
        columns = [
            (attr.key, attr.columns[0])
            for attr in inspect(model).column_attrs
            if attr.columns[0].identity is None
        ]
        batch.append(
            (
                model,
                [
                    {
                        key: statuses[column.name]
                        if column.name in statuses
                        else _value(column, now)
                        for key, column in columns
                    }
                    for _ in range(count)
                ],
            )
        )
    return batch


async def _begun(session: AsyncSession) -> Any:
    """The session's connection in a transaction that has begun, as a checkout's is by the time
    it writes (its first statement locks the cart)."""
    connection = await session.connection()
    await connection.exec_driver_sql("SELECT 1")
    return connection


async def _begin_only(session: AsyncSession, _: dict, batch: list) -> None:
    await _begun(session)


async def _fixed_insert(
    session: AsyncSession, writers: dict[type, FixedInsert], batch: list
) -> None:
    await _begun(session)
    for model, rows in batch:
        await writers[model].run(session, rows)


async def _sqlalchemy(session: AsyncSession, _: dict, batch: list) -> None:
    await _begun(session)
    for model, rows in batch:
        await session.execute(insert(model), rows)


async def _core(session: AsyncSession, _: dict, batch: list) -> None:
    connection = await _begun(session)
    for model, rows in batch:
        table = model.__table__
        keys = {attr.key: attr.columns[0].key for attr in inspect(model).column_attrs}
        await connection.execute(
            insert(table), [{keys[key]: value for key, value in row.items()} for row in rows]
        )


async def measure(url: str, *, rounds: int = 6, checkouts: int = 100) -> dict[str, list[float]]:
    """CPU µs per checkout of each way, one figure per round (``checkouts`` batches each)."""
    settings = {**SERVER_SETTINGS, "session_replication_role": "replica"}
    engine = create_async_engine(
        asyncpg_url(url), pool_size=1, connect_args={"server_settings": settings}
    )
    sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    writers = {model: FixedInsert(model) for model, _ in CHECKOUT}
    ways: dict[str, Callable[..., Any]] = {
        "transaction only": _begin_only,
        "FixedInsert (executemany)": _fixed_insert,
        "insert(Model) on the session": _sqlalchemy,
        "insert(table) on the connection": _core,
    }
    results: dict[str, list[float]] = {name: [] for name in ways}
    try:
        batches = [checkout_rows() for _ in range(checkouts)]
        for way in ways.values():  # warm: statements prepared, caches filled
            for batch in batches[:10]:
                async with sessions() as session:
                    await way(session, writers, batch)
                    await session.rollback()
        for _ in range(rounds):
            for name, way in ways.items():
                started = time.process_time()
                for batch in batches:
                    async with sessions() as session:
                        await way(session, writers, batch)
                        await session.rollback()
                results[name].append((time.process_time() - started) / checkouts * 1e6)
    finally:
        await engine.dispose()
    return results


def report(results: dict[str, list[float]]) -> str:
    base = statistics.median(results["transaction only"])
    lines = ["CPU per checkout (µs, median of rounds; range), inserts alone = minus a bare txn:"]
    for name, figures in results.items():
        median = statistics.median(figures)
        lines.append(
            f"  {name:32} {median:7.0f}  ({min(figures):.0f}-{max(figures):.0f})"
            + ("" if name == "transaction only" else f"  inserts alone {median - base:6.0f}")
        )
    return "\n".join(lines)


def run(url: str, *, rounds: int, checkouts: int) -> str:
    return report(asyncio.run(measure(url, rounds=rounds, checkouts=checkouts)))

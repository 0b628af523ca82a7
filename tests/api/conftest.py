"""HTTP tests against real PostgreSQL: the embedded server, or ``MERCATO_TEST_DATABASE_URL``.

One database (``mercato_test``) is created and migrated per session; every test starts from empty
tables (one TRUNCATE), which is much faster than recreating the database. The fixtures the HTTP
test modules share are here too (``fast_hashing``, which needs no database, is in
``tests/conftest.py``); the helpers they call are plain functions in ``tests/api/*_helpers.py``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from mercato.db.engine import create_engine, embedded_postgres_url, plain_url, with_database
from mercato.db.migrate import upgrade
from mercato.db.models import Base
from mercato.db.statements import StatementWatch
from mercato.http.app import create_app
from mercato.settings import get_settings
from tests.api.cart_helpers import Market
from tests.api.checkout_helpers import Marketplace, build_marketplace, complete, ready_cart
from tests.api.helpers import (
    ADMIN_EMAIL,
    PASSWORD,
    create_admin,
    create_region,
    create_sales_channel,
    create_seller,
    create_store_key,
    login,
    ok,
)

# Parallel runs against one server (several work trees) each name their own database.
TEST_DATABASE = os.environ.get("MERCATO_TEST_DATABASE_NAME", "mercato_test")


def _server_url() -> str:
    url = os.environ.get("MERCATO_TEST_DATABASE_URL")
    return url or embedded_postgres_url(get_settings().data_dir)


async def _recreate_database(server_url: str, name: str = TEST_DATABASE) -> None:
    conn = await asyncpg.connect(plain_url(server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url() -> str:
    server = _server_url()
    asyncio.run(_recreate_database(server))
    url = with_database(server, TEST_DATABASE)
    upgrade(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    return url


@pytest.fixture(scope="session")
def make_database(database_url: str):
    """``make_database(suffix, migrated=True)``: a database of its own on the test server
    (created again, empty), for a test that runs ``mercato`` processes; returns its URL."""

    def make(suffix: str, *, migrated: bool = True) -> str:
        name = f"{TEST_DATABASE}_{suffix}"
        asyncio.run(_recreate_database(database_url, name))
        url = with_database(database_url, name)
        if migrated:
            upgrade(url.replace("postgresql://", "postgresql+asyncpg://", 1))
        return url

    return make


class StatementLog:
    """The statements the suite's engine ran while enabled: their count and their SQL."""

    def __init__(self) -> None:
        self.count = 0
        self.sql: list[str] = []
        self.parameters: list[object] = []
        self.enabled = False

    def __call__(self, statement: str, parameters: object) -> None:
        # The workers' wake-up after a commit runs in the background, throttled, on its own
        # connection: it may land in any later block and is no request's statement.
        if self.enabled and not statement.startswith("NOTIFY "):
            self.count += 1
            self.sql.append(statement)
            self.parameters.append(parameters)


_LOG = StatementLog()


@pytest.fixture(scope="session")
async def engine(database_url: str):
    engine = create_engine(database_url, pool_size=25)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def statement_watch(engine):
    watch = StatementWatch(engine, _LOG)
    yield watch
    watch.close()


@pytest.fixture(scope="session")
async def app(engine):
    return create_app(engine=engine)


_TABLES = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)


@pytest.fixture(autouse=True)
async def clean_tables(engine) -> AsyncIterator[None]:
    yield
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def count_statements(statement_watch):
    """Async context manager logging the SQL statements the engine runs inside it: ``.count``,
    and their text in ``.sql``. Every path is counted — SQLAlchemy's and the driver's
    (``mercato.db.statements``)."""

    @asynccontextmanager
    async def counting():
        await statement_watch.settled()  # what was logged before the block is delivered now
        _LOG.count, _LOG.sql, _LOG.parameters = 0, [], []
        _LOG.enabled = True
        try:
            yield _LOG
        finally:
            await statement_watch.settled()
            _LOG.enabled = False

    return counting


# ------------------------------------------------------------------ callers and a marketplace


@pytest.fixture
async def admin_headers(client, app, fast_hashing) -> dict[str, str]:
    """Bearer headers of an admin user (created as ``mercato user create`` does)."""
    await create_admin(app)
    return await login(client, "user", ADMIN_EMAIL, PASSWORD)


@pytest.fixture
async def sales_channel(client, admin_headers) -> dict:
    return await create_sales_channel(client, admin_headers)


@pytest.fixture
async def store_headers(client, admin_headers, sales_channel) -> dict[str, str]:
    """A publishable key linked to ``sales_channel``, as store headers."""
    return await create_store_key(client, admin_headers, sales_channel["id"])


@pytest.fixture
async def market(client, admin_headers, sales_channel, store_headers) -> Market:
    """The cart tests' marketplace: a USD region (10 % tax), sellers Acme and Bolt, no products.

    Modules whose tests need sellers with products and shipping options override ``market`` with
    the ``Marketplace`` of ``build_marketplace`` (its sizes and prices are what they assert on)."""
    region = await create_region(
        client,
        admin_headers,
        tax_rate=10,
        payment_providers=["pp_system_default", "pp_test"],
    )
    acme = await create_seller(client, admin_headers, "Acme")
    bolt = await create_seller(client, admin_headers, "Bolt")
    return Market(
        admin=admin_headers,
        store=store_headers,
        channel_id=sales_channel["id"],
        region=region,
        acme=acme,
        bolt=bolt,
    )


# ------------------------------------------------------------------ a placed order group

Placed = tuple[Marketplace, dict[str, Any], dict[str, str]]


@pytest.fixture
def place_group(client, admin_headers) -> Callable[..., Awaitable[Placed]]:
    """``await place_group(lines=None, **marketplace)``: a ``build_marketplace(**marketplace)``
    and one order group checked out of it with a ``pp_system_default`` payment (authorized, not
    captured); returns ``(market, group, {seller id: order id})``.

    ``lines`` are ``(seller index, variant index, quantity)``; by default one unit of every
    seller's first variant."""

    async def place(lines: list[tuple[int, int, int]] | None = None, **marketplace: Any) -> Placed:
        market = await build_marketplace(client, admin_headers, **marketplace)
        items = None
        if lines is not None:
            items = [
                (market.variants[market.sellers[s]["id"]][v], quantity) for s, v, quantity in lines
            ]
        cart = await ready_cart(client, market, items)
        group = ok(await complete(client, market, cart["id"]))["order_group"]
        return market, group, {o["seller_id"]: o["id"] for o in group["orders"]}

    return place


@pytest.fixture
async def placed(place_group) -> tuple[Marketplace, str, str, str]:
    """Two sellers' orders in one group (30 + 5 shipping each, 10 % tax), paid with one authorized
    ``pp_system_default`` payment: ``(market, group id, seller A's order id, seller B's)``."""
    market, group, orders = await place_group(sellers=2, prices=(30,), shipping=5)
    a, b = (s["id"] for s in market.sellers)
    return market, group["id"], orders[a], orders[b]

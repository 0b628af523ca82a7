"""``GET`` requests get autocommit sessions (no BEGIN/ROLLBACK); such a session refuses to write."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import func, select

from mercato.db.engine import create_engine, plain_url, session_factory
from mercato.query.driver import driver_connection
from mercato.sales_channels.models import SalesChannel
from tests.api.helpers import admin_headers, fast_hashing, ok  # noqa: F401


async def test_a_read_session_refuses_to_flush(app):
    async with app.state.read_sessionmaker() as session:
        session.add(SalesChannel(name="Should never be written"))
        with pytest.raises(RuntimeError, match="must not write"):
            await session.commit()
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(SalesChannel)) == 0


async def test_a_read_session_runs_outside_a_transaction(app):
    async with app.state.read_sessionmaker() as session:
        first = await session.scalar(select(func.txid_current_if_assigned()))
        xact = await session.scalar(select(func.now()))
        later = await session.scalar(select(func.now()))
    assert first is None
    assert later > xact  # now() is the transaction's start: each statement is its own transaction


def _read_pool(app):
    return app.state.read_sessionmaker.kw["read_pool"]


async def test_every_request_returns_its_connection(app, client, engine, admin_headers):
    """Sessions are closed after the request (``http.sessions.CloseSessions``) whatever the
    outcome: a success, a 404, a rejected body, a failed write. None stays checked out, of
    either pool."""

    assert engine.pool.checkedout() == 0
    ok(await client.get("/admin/sales-channels", headers=admin_headers))
    assert (
        await client.get("/admin/sales-channels/sc_missing", headers=admin_headers)
    ).status_code == 404
    assert (
        await client.post("/admin/sales-channels", json={"nope": 1}, headers=admin_headers)
    ).status_code == 400
    created = ok(
        await client.post("/admin/sales-channels", json={"name": "A"}, headers=admin_headers)
    )
    assert created["sales_channel"]["name"] == "A"
    assert (await client.get("/admin/sales-channels")).status_code == 401
    assert (
        await client.get("/admin/order-groups?limit=x", headers=admin_headers)
    ).status_code == 400
    assert engine.pool.checkedout() == 0
    assert _read_pool(app).in_use() == 0


async def test_a_read_sessions_driver_statements_run_on_a_read_pool_connection(app, engine):
    """``query.driver`` statements of a read session skip the session's transaction machinery:
    one read pool connection per session, in autocommit, with the engine's server settings and
    JSON decoding, returned when the session closes."""
    read_pool = _read_pool(app)
    async with app.state.read_sessionmaker() as session:
        connection = await driver_connection(session)
        assert connection is await driver_connection(session)
        assert await connection.fetchval("SELECT txid_current_if_assigned()") is None
        assert not connection.is_in_transaction()
        assert await connection.fetchval("SHOW random_page_cost") == "1.1"
        assert await connection.fetchval("""SELECT '{"a": [1, 2.5]}'::jsonb""") == {"a": [1, 2.5]}
        assert await connection.fetchval("""SELECT '[null]'::json""") == [None]
        assert (read_pool.in_use(), engine.pool.checkedout()) == (1, 0)
    assert read_pool.in_use() == 0


async def _backend_ends(database_url: str, pid: int) -> bool:
    """Whether PostgreSQL's backend ``pid`` goes away within two seconds."""
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        for _ in range(40):
            if not await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
                return True
            await asyncio.sleep(0.05)
        return False
    finally:
        await conn.close()


async def test_an_invalidated_read_session_discards_its_driver_connection(app, database_url):
    read_pool = _read_pool(app)
    async with app.state.read_sessionmaker() as session:
        pid = (await driver_connection(session)).get_server_pid()
        await session.invalidate()
        assert await _backend_ends(database_url, pid)
        assert read_pool.in_use() == 0
        # The session stays usable: its next driver statement takes a fresh connection.
        assert await (await driver_connection(session)).fetchval("SELECT 1") == 1
    assert read_pool.in_use() == 0


async def test_disposing_the_engine_closes_its_read_pool(database_url):
    engine = create_engine(database_url, pool_size=2)
    sessions = session_factory(engine, read_only=True)
    async with sessions() as session:
        pid = (await driver_connection(session)).get_server_pid()
    await engine.dispose()
    assert await _backend_ends(database_url, pid)

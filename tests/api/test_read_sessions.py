"""``GET`` requests get autocommit sessions (no BEGIN/ROLLBACK); such a session refuses to write."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import func, select

from mercato.db.engine import plain_url
from mercato.query.driver import driver_connection
from mercato.sales_channels.models import SalesChannel
from tests.api.helpers import ok


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


async def test_every_request_returns_its_connection(app, client, engine, admin_headers):
    """Sessions are closed after the request (``http.sessions.CloseSessions``) whatever the
    outcome: a success, a 404, a rejected body, a failed write. None stays checked out."""

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


async def test_a_read_sessions_statements_share_one_connection_of_the_engines_pool(app, engine):
    """A read session's driver statements and ORM statements run on one connection taken from
    the engine's pool on first use, in autocommit, with the engine's server settings and JSON
    decoding, returned when the session closes."""
    async with app.state.read_sessionmaker() as session:
        found = await driver_connection(session)
        assert found is await driver_connection(session)
        connection = found.asyncpg_connection
        assert await connection.fetchval("SELECT txid_current_if_assigned()") is None
        assert not connection.is_in_transaction()
        assert await connection.fetchval("SHOW random_page_cost") == "1.1"
        assert await connection.fetchval("""SELECT '{"a": [1, 2.5]}'::jsonb""") == {"a": [1, 2.5]}
        assert await connection.fetchval("""SELECT '[null]'::json""") == [None]
        orm_pid = await session.scalar(select(func.pg_backend_pid()))
        assert orm_pid == connection.get_server_pid()
        assert await driver_connection(session) is found
        assert engine.pool.checkedout() == 1
    assert engine.pool.checkedout() == 0

    async with app.state.read_sessionmaker() as session:  # the ORM first: the driver joins it
        orm_pid = await session.scalar(select(func.pg_backend_pid()))
        found = await driver_connection(session)
        assert found.asyncpg_connection.get_server_pid() == orm_pid
        assert engine.pool.checkedout() == 1
    assert engine.pool.checkedout() == 0


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


async def test_an_invalidated_read_session_discards_its_connection(app, engine, database_url):
    async with app.state.read_sessionmaker() as session:
        pid = (await driver_connection(session)).asyncpg_connection.get_server_pid()
        await session.invalidate()
        assert await _backend_ends(database_url, pid)
        assert engine.pool.checkedout() == 0
        # The session stays usable: its next driver statement takes a fresh connection.
        fresh = (await driver_connection(session)).asyncpg_connection
        assert await fresh.fetchval("SELECT 1") == 1
        assert fresh.get_server_pid() != pid
    assert engine.pool.checkedout() == 0

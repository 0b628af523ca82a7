"""``GET`` requests get autocommit sessions (no BEGIN/ROLLBACK); such a session refuses to write."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

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


async def test_every_request_returns_its_connection(client, engine, admin_headers):
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
    assert engine.pool.checkedout() == 0


async def test_a_read_sessions_driver_statements_run_on_a_pool_connection_of_their_own(app, engine):
    """``query.driver`` statements of a read session skip the session's transaction machinery:
    one pool connection per session, in autocommit, returned when the session closes."""
    async with app.state.read_sessionmaker() as session:
        connection = await driver_connection(session)
        assert connection is await driver_connection(session)
        assert await connection.fetchval("SELECT txid_current_if_assigned()") is None
        assert not connection.is_in_transaction()
        assert engine.pool.checkedout() == 1
    assert engine.pool.checkedout() == 0


async def test_an_invalidated_read_session_discards_its_driver_connection(app, engine):
    async with app.state.read_sessionmaker() as session:
        connection = await driver_connection(session)
        await session.invalidate()
        assert connection.is_closed()
        assert engine.pool.checkedout() == 0
        # The session stays usable: its next driver statement checks out a fresh connection.
        assert await (await driver_connection(session)).fetchval("SELECT 1") == 1
    assert engine.pool.checkedout() == 0

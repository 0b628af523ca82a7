"""``GET`` requests get autocommit sessions (no BEGIN/ROLLBACK); such a session refuses to write."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mercato.sales_channels.models import SalesChannel


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

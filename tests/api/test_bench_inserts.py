"""The bulk-insert measurement writes a checkout's rows every way and leaves nothing behind."""

from __future__ import annotations

import asyncpg
from benchmarks.inserts import CHECKOUT, measure, report


async def test_each_way_writes_a_checkout_and_rolls_it_back(database_url):
    results = await measure(database_url, rounds=1, checkouts=2)
    assert set(results) == {
        "transaction only",
        "FixedInsert (executemany)",
        "insert(Model) on the session",
        "insert(table) on the connection",
    }
    assert all(len(figures) == 1 and figures[0] > 0 for figures in results.values())
    assert "inserts alone" in report(results)
    conn = await asyncpg.connect(database_url)
    try:
        for model, _ in CHECKOUT:
            assert await conn.fetchval(f'SELECT count(*) FROM "{model.__tablename__}"') == 0
    finally:
        await conn.close()

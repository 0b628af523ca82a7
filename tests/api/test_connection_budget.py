"""A process holds at most its budget of PostgreSQL connections (pool + overflow), reads and
commands together: PostgreSQL's own count of the app's connections stays within it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import asyncpg
import httpx

from mercato.db.engine import create_engine, plain_url
from mercato.http.app import create_app
from tests.api.checkout_helpers import build_marketplace
from tests.api.conftest import TEST_DATABASE
from tests.api.helpers import ok

POOL_SIZE, MAX_OVERFLOW = 2, 1
BUDGET = POOL_SIZE + MAX_OVERFLOW


async def _app_connections(conn: asyncpg.Connection) -> int:
    """Client connections to the test database, the counting one excluded."""
    return await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1"
        " AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
        TEST_DATABASE,
    )


async def test_a_burst_of_reads_and_writes_stays_within_the_budget(
    client, admin_headers, engine, database_url
):
    market = await build_marketplace(client, admin_headers, sellers=2)
    variant_ids = [ids[0] for ids in market.variants.values()]
    await engine.dispose()  # the suite's own engine: its idle connections are not the app's

    budgeted = create_engine(database_url, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)
    app = create_app(engine=budgeted)
    counter = await asyncpg.connect(plain_url(database_url))
    transport = httpx.ASGITransport(app=app)
    try:
        assert await _app_connections(counter) == 0
        async with httpx.AsyncClient(transport=transport, base_url="http://budget") as budget:
            carts = [
                ok(
                    await budget.post(
                        "/store/carts",
                        json={
                            "region_id": market.region["id"],
                            "items": [{"variant_id": variant_ids[0], "quantity": 1}],
                        },
                        headers=market.store,
                    )
                )["cart"]
                for _ in range(3)
            ]

            def requests():
                for round_ in range(4):
                    yield budget.get("/store/products", headers=market.store)
                    yield budget.get("/admin/order-groups", headers=admin_headers)
                    yield budget.get("/admin/sellers", headers=admin_headers)
                    for cart in carts:
                        yield budget.get(f"/store/carts/{cart['id']}", headers=market.store)
                    yield budget.post(
                        f"/store/carts/{carts[round_ % 3]['id']}/line-items",
                        json={"variant_id": variant_ids[1], "quantity": 1},
                        headers=market.store,
                    )
                    yield budget.post(
                        "/admin/sales-channels",
                        json={"name": f"Burst {round_}"},
                        headers=admin_headers,
                    )

            peak = 0
            burst = asyncio.ensure_future(asyncio.gather(*requests()))
            while not burst.done():
                peak = max(peak, await _app_connections(counter))
                await asyncio.sleep(0)
            responses = await burst
            peak = max(peak, await _app_connections(counter))
        assert [r.status_code for r in responses] == [200] * len(responses)
        assert POOL_SIZE <= peak <= BUDGET, peak
        assert budgeted.pool.checkedout() == 0
    finally:
        await counter.close()
        await budgeted.dispose()


def test_serve_refuses_workers_the_server_has_no_room_for(database_url, tmp_path):
    """One worker whose pool alone is the server's ``max_connections``: refused before serving,
    with one line on stderr and a non-zero exit."""

    async def max_connections() -> int:
        conn = await asyncpg.connect(plain_url(database_url))
        try:
            return int(await conn.fetchval("SHOW max_connections"))
        finally:
            await conn.close()

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MERCATO_DATA_DIR": str(tmp_path),
        "MERCATO_DB_POOL_SIZE": str(asyncio.run(max_connections())),
        "MERCATO_DB_MAX_OVERFLOW": "0",
    }
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "mercato.cli", "serve", "--port", str(port)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert done.stderr.startswith("error: 1 worker(s)") and done.stderr.count("\n") == 1
    assert "max_connections" in done.stderr
    assert "Mercato API on" not in done.stdout

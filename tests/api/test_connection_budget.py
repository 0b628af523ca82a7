"""A process holds at most its budget of PostgreSQL connections (pool + overflow), reads and
commands together: PostgreSQL's own count of the app's connections stays within it. Processes
register their budgets at start-up and one that does not fit refuses to start
(events-and-scale-out.md, Connection budget)."""

from __future__ import annotations

import asyncio
import subprocess
import time

import asyncpg
import httpx
import pytest

from mercato.db.engine import create_engine, plain_url
from mercato.http.app import create_app
from tests.api.checkout_helpers import build_marketplace
from tests.api.conftest import TEST_DATABASE
from tests.api.helpers import ok
from tests.api.processes import MERCATO, MercatoServer, free_port, mercato_env

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


def _query(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(plain_url(url))
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def _server_limits(url: str) -> tuple[int, int]:
    """``max_connections`` and the connections reserved for superusers and roles."""
    ((max_connections, reserved),) = _query(
        url,
        "SELECT current_setting('max_connections')::int,"
        " current_setting('superuser_reserved_connections')::int"
        " + coalesce(current_setting('reserved_connections', true), '0')::int",
    )
    return max_connections, reserved


def _occupy(url: str, connections: int, *, silent_s: int = 0) -> None:
    """Two other live processes (or, ``silent_s`` > 30, dead ones) reserving ``connections``."""
    first = connections // 2
    for number, budget in ((1, first), (2, connections - first)):
        _query(
            url,
            "INSERT INTO mercato_process (id, kind, host, pid, pool_budget, heartbeat_at)"
            " VALUES ($1, 'api', 'elsewhere', $2, $3, now() - make_interval(secs => $4))",
            f"proc_other{number}",
            100_000 + number,
            budget,
            float(silent_s),
        )


def _serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    port = str(free_port())
    return subprocess.run(
        [*MERCATO, "serve", "--port", port], env=env, capture_output=True, text=True, timeout=60
    )


def _message(live: int, reserved: int, need: int, max_connections: int, server: int) -> str:
    return (
        f"Connection budget exceeded: {live} live processes reserve {reserved} connections,"
        f" this one needs {need}; PostgreSQL allows {max_connections - server}"
        f" (max_connections {max_connections} \u2212 {server} reserved). Lower"
        " MERCATO_DB_POOL_SIZE or raise max_connections."
    )


@pytest.mark.slow
def test_a_process_beyond_the_budget_exits_78_unless_told_to_warn(make_database, tmp_path):
    """Live processes leave 19 connections: an API process (20) is refused with exit code 78
    and the message, a worker (10) fits; ``warn`` lets the API process start."""
    url = make_database("budget")
    max_connections, server = _server_limits(url)
    taken = max_connections - server - 19
    _occupy(url, taken)
    env = mercato_env(DATABASE_URL=url, MERCATO_DATA_DIR=str(tmp_path), MERCATO_DB_POOL_SIZE=None)

    refused = _serve(env)
    assert refused.returncode == 78, refused.stderr
    assert refused.stderr.splitlines()[-1] == _message(2, taken, 20, max_connections, server)
    assert "Mercato API on" not in refused.stdout
    worker = subprocess.run(
        [*MERCATO, "worker"],
        env={**env, "MERCATO_DB_POOL_SIZE": "20"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode == 78, worker.stderr
    assert worker.stderr.splitlines()[-1] == _message(2, taken, 20, max_connections, server)
    assert [r["id"] for r in _query(url, "SELECT id FROM mercato_process")] == [
        "proc_other1",
        "proc_other2",
    ]  # nothing registered by the refused processes

    warned = MercatoServer({**env, "MERCATO_DB_BUDGET_CHECK": "warn"}, tmp_path / "warn.log")
    try:
        warned.wait_ready()
        assert "warning (MERCATO_DB_BUDGET_CHECK=warn): Connection budget exceeded" in (
            warned.log()
        )
        assert warned.interrupt() == 0, warned.log()
    finally:
        warned.stop()


@pytest.mark.slow
def test_a_served_process_holds_one_row_with_its_budget_until_ctrl_c(make_database, tmp_path):
    """``--workers 2``: one row reserving two budgets, heartbeated by the workers' apps (their
    event workers use it: no second row); processes silent for 30 s do not count; Ctrl-C
    deletes the row."""
    url = make_database("budget_row")
    max_connections, server = _server_limits(url)
    _occupy(url, max_connections, silent_s=31)  # killed long ago: ignored, and pruned
    env = mercato_env(DATABASE_URL=url, MERCATO_DATA_DIR=str(tmp_path), MERCATO_DB_POOL_SIZE=None)
    served = MercatoServer(env, tmp_path / "server.log", "--workers", "2")
    try:
        served.wait_ready()
        deadline = time.monotonic() + 30
        while not _query(url, "SELECT 1 FROM mercato_process WHERE status IS NOT NULL"):
            assert time.monotonic() < deadline, served.log()
            time.sleep(0.1)
        rows = _query(url, "SELECT kind, pid, pool_budget, status FROM mercato_process")
        assert [(r["kind"], r["pid"], r["pool_budget"]) for r in rows] == [
            ("api", served.process.pid, 40)
        ]
        assert '"transport": "postgres"' in rows[0]["status"]
        assert served.interrupt() == 0, served.log()
    finally:
        served.stop()
    assert _query(url, "SELECT 1 FROM mercato_process") == []


@pytest.mark.slow
def test_an_api_process_in_server_mode_heartbeats_its_row(make_database, tmp_path):
    url = make_database("budget_server")
    env = mercato_env(
        DATABASE_URL=url,
        MERCATO_DATA_DIR=str(tmp_path),
        MERCATO_DB_POOL_SIZE="3",
        MERCATO_WORKER_MODE="server",
    )
    served = MercatoServer(env, tmp_path / "server.log")
    try:
        served.wait_ready()
        rows = _query(url, "SELECT kind, pool_budget, status FROM mercato_process")
        assert [(r["kind"], r["pool_budget"]) for r in rows] == [("api", 3)]
        assert '"parts": []' in rows[0]["status"]  # the heartbeat only: no relay, no consumers
        assert served.interrupt() == 0, served.log()
    finally:
        served.stop()
    assert _query(url, "SELECT 1 FROM mercato_process") == []

"""The benchmark's reference server answers a case with its SQL and its captured bytes, with as
many workers as the server under test, each with a pool for its share of the clients."""

from __future__ import annotations

import asyncio
import signal
import socket

import asyncpg
import httpx
import pytest
from benchmarks.reference import APPLICATION_NAME, pool_sizes
from benchmarks.run import BenchError, RunOptions, measure_reference, start_reference


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _reference_connections(database_url: str, wanted: int) -> int:
    """The reference server's connections to PostgreSQL, once ``wanted`` are open (each worker
    opens its pool as it starts) or after a bounded wait."""
    conn = await asyncpg.connect(database_url)
    try:
        for _ in range(300):
            count = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = $1 AND datname = current_database()",
                APPLICATION_NAME,
            )
            if count >= wanted:
                break
            await asyncio.sleep(0.1)
        return count
    finally:
        await conn.close()


def test_each_worker_keeps_its_share_of_the_clients_and_may_take_them_all() -> None:
    assert pool_sizes(workers=2, clients=8) == (4, 8)
    assert pool_sizes(workers=2, clients=1) == (1, 1)
    assert pool_sizes(workers=3, clients=8) == (3, 8)


@pytest.mark.slow  # starts the reference server
async def test_the_reference_server_runs_the_cases_sql_and_answers_its_bytes(
    database_url, tmp_path
):
    body = b'{"order_groups":[],"count":0}'
    statements = [
        ("SELECT 1", ()),
        ("SELECT count(*) FROM order_group WHERE customer_id = $1", ("cus_none",)),
    ]
    cases = {"tiny": (statements, body), "broken": ([("SELECT * FROM no_such_table", ())], b"")}
    reference = start_reference(database_url, cases, _free_port(), tmp_path, workers=2, clients=4)
    try:
        await reference.wait_ready()
        # Two workers, each with a pool of two kept open: not one connection serializing them.
        assert await _reference_connections(database_url, 4) == 4
        async with httpx.AsyncClient(base_url=reference.base_url) as client:
            answer = await client.get("/cases/tiny")
            assert answer.status_code == 200
            assert answer.content == body
            assert (await client.get("/cases/unknown")).status_code == 404
        options = RunOptions(duration=2, max_requests=30, concurrency=(1, 4))
        measured = await measure_reference(reference, "tiny", options)
        assert list(measured) == ["1", "4"]
        for level in measured.values():
            assert level["requests"] == 30 and level["errors"] == 0
            assert level["p50"] > 0
        # A case whose SQL fails is an error of the run, not a fast answer.
        with pytest.raises(BenchError, match="reference server failed broken"):
            await measure_reference(reference, "broken", options)
    finally:
        reference.stop()
    # uvicorn ends by the signal that stopped it (its own worker supervisor exits with 0).
    assert reference.process.returncode in (0, -signal.SIGTERM), reference.process.returncode

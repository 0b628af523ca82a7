"""``mercato worker`` as an operator runs it: a process of its own that relays events, shows in
the process list, and stops gracefully on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import asyncpg

from mercato.db.engine import plain_url
from tests.api.processes import MERCATO, mercato_env


def _query(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(plain_url(url))
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def _until(check, limit: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {limit}s:\n{log.read_text()}"
        time.sleep(0.1)


def test_mercato_worker_relays_registers_and_stops_on_sigterm(make_database, tmp_path):
    url = make_database("worker")
    log = tmp_path / "worker.log"
    env = mercato_env(DATABASE_URL=url, MERCATO_EVENT_POLL_MS="100")
    with log.open("w") as out:
        process = subprocess.Popen(
            [*MERCATO, "worker", "--concurrency", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _until(
            lambda: _query(
                url,
                "SELECT 1 FROM mercato_process WHERE pid = $1 AND status IS NOT NULL",
                process.pid,
            ),
            60,
            "the worker's process row",
            log,
        )
        (row,) = _query(url, "SELECT kind, status, pool_budget FROM mercato_process")
        assert row["kind"] == "worker" and '"transport": "postgres"' in row["status"]
        assert row["pool_budget"] == 10  # a worker's default budget: one row, registered once
        # An event committed with nobody to relay it (its API process died): the worker does.
        _query(
            url,
            "INSERT INTO event_outbox (id, name, data) VALUES ('evt_1', 'order.placed', '{}')",
        )
        _until(
            lambda: _query(url, "SELECT 1 FROM event_outbox WHERE dispatched_at IS NOT NULL"),
            10,
            "the relay",
            log,
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=35) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert _query(url, "SELECT 1 FROM mercato_process") == []
    assert "Mercato worker stopped" in log.read_text()

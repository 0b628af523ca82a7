"""The benchmark's reference server answers a case with its SQL and its captured bytes."""

from __future__ import annotations

import socket

import httpx
import pytest
from benchmarks.run import BenchError, RunOptions, measure_reference, start_reference


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_the_reference_server_runs_the_cases_sql_and_answers_its_bytes(
    database_url, tmp_path
):
    body = b'{"order_groups":[],"count":0}'
    statements = [
        ("SELECT 1", ()),
        ("SELECT count(*) FROM order_group WHERE customer_id = $1", ("cus_none",)),
    ]
    cases = {"tiny": (statements, body), "broken": ([("SELECT * FROM no_such_table", ())], b"")}
    reference = start_reference(database_url, cases, _free_port(), tmp_path)
    try:
        await reference.wait_ready()
        async with httpx.AsyncClient(base_url=reference.base_url) as client:
            answer = await client.get("/cases/tiny")
            assert answer.status_code == 200
            assert answer.content == body
            assert (await client.get("/cases/unknown")).status_code == 404
        options = RunOptions(duration=2, max_requests=30)
        measured = await measure_reference(reference, "tiny", options)
        assert measured["requests"] == 30 and measured["errors"] == 0
        assert measured["p50"] > 0
        # A case whose SQL fails is an error of the run, not a fast answer.
        with pytest.raises(BenchError, match="reference server failed broken"):
            await measure_reference(reference, "broken", options)
    finally:
        reference.stop()

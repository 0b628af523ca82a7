"""The benchmark's hot product case: shoppers of one product behind a slow ``pp_test`` provider
all check out, once each, without overselling (a server process of its own, so ``slow``)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
from benchmarks.report import evaluate, format_report
from benchmarks.run import RunOptions, Server, dataset_facts, hot_product_benchmark
from benchmarks.seed import PASSWORD, SeedConfig, seed

from mercato.auth.passwords import hash_password

pytestmark = pytest.mark.slow

CHECKOUTS = 8


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _measure(url: str, log_path: Path) -> dict[str, Any]:
    config = SeedConfig(groups=50, sellers=12, products=60, customers=300, chunk=20)
    await seed(url, config, password_hash=await hash_password(PASSWORD), log=lambda _: None)
    facts = await dataset_facts(url)
    options = RunOptions(
        workers=1, shoppers=4, duration=60, hot_checkouts=CHECKOUTS, provider_delay_ms=50
    )
    env = {"MERCATO_ENABLE_TEST_PROVIDER": "1", "MERCATO_TEST_PROVIDER_DELAY_MS": "50"}
    server = Server(url, _free_port(), 1, log_path, env=env)
    try:
        await server.wait_ready()
        return await hot_product_benchmark(server.base_url, url, facts, options, lambda _: None)
    finally:
        server.stop()


def test_shoppers_of_one_product_behind_a_slow_provider_each_check_out_once(
    make_database, tmp_path
):
    result = asyncio.run(_measure(make_database("hot"), tmp_path / "server.log"))
    full, checks = result["full"], result["checks"]
    assert (full["requests"], full["errors"]) == (CHECKOUTS, 0), full["statuses"]
    assert checks["groups"] == checks["carts"] == CHECKOUTS
    assert checks["duplicate_groups"] == checks["groups_with_other_order_counts"] == 0
    assert checks["oversold_levels"] == 0
    assert checks["reserved_delta"] == checks["reserved_by_run"] == CHECKOUTS
    # Each completion waited for the provider at least once.
    assert full["p50"] >= 50
    results = {"hot_product": result}
    assert evaluate(results)["failures"] == []
    results.update(
        machine={"nproc": 2, "cpu": "", "memory": "", "postgres": "", "python": ""},
        dataset={"groups": 50, "orders": 0, "lines": 0, "customers": 300, "products": 60},
    )
    assert "| pp_test session, the same variant | 50 | 8 |" in format_report(results)

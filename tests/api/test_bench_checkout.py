"""The benchmark's checkout phases, the promotion case among them: every phase places its groups,
the code's orders carry their adjustments and add up to their groups, and the report and its
verdict show the with ÷ without ratio against its target."""

from __future__ import annotations

import asyncio
import copy
import socket
from pathlib import Path
from typing import Any

import pytest
from benchmarks.report import PROMOTION_TARGET, evaluate, format_report, promotion_ratio
from benchmarks.run import RunOptions, Server, checkout_benchmark, dataset_facts
from benchmarks.seed import PASSWORD, SeedConfig, seed

from mercato.auth.passwords import hash_password

CHECKOUTS = 4
MACHINE = {"nproc": 2, "cpu": "", "memory": "", "postgres": "", "python": ""}
DATASET = {"groups": 50, "orders": 0, "lines": 0, "customers": 300, "products": 60}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _measure(url: str, log_path: Path) -> dict[str, Any]:
    config = SeedConfig(groups=50, sellers=12, products=60, customers=300, chunk=20)
    await seed(url, config, password_hash=await hash_password(PASSWORD), log=lambda _: None)
    facts = await dataset_facts(url)
    options = RunOptions(
        workers=1,
        shoppers=2,
        duration=60,
        checkout_carts=CHECKOUTS,
        full_checkouts=CHECKOUTS,
    )
    server = Server(url, _free_port(), 1, log_path)
    try:
        await server.wait_ready()
        return await checkout_benchmark(server.base_url, url, facts, options, lambda _: None)
    finally:
        server.stop()


@pytest.mark.slow
def test_checkouts_with_a_promotion_code_are_placed_discounted_and_reported(
    make_database, tmp_path
):
    checkout = asyncio.run(_measure(make_database("checkout"), tmp_path / "server.log"))
    for phase in ("completion", "full", "promotion"):
        result = checkout[phase]
        assert (result["requests"], result["errors"]) == (CHECKOUTS, 0), result["statuses"]
    checks = checkout["checks"]
    assert checks["groups"] == checks["carts"] == 3 * CHECKOUTS
    assert checks["duplicate_groups"] == checks["groups_with_other_order_counts"] == 0
    assert checks["reserved_delta"] == checks["reserved_by_run"] == 3 * 3 * CHECKOUTS
    promo = checkout["promotion"]
    assert promo["code"].startswith("BENCH10-")
    assert promo["checks"] == {
        "carts": CHECKOUTS,
        "groups": CHECKOUTS,
        "orders_per_group": 3,
        "orders_with_adjustments": 3 * CHECKOUTS,
        "groups_with_other_totals": 0,
        "discount_total": promo["checks"]["discount_total"],
        "orders_without_code_with_adjustments": 0,
    }
    assert promo["checks"]["discount_total"] > 0
    assert checkout["promotion_ratio"] == promo["rps"] / checkout["full"]["rps"]
    results = {"checkout": checkout, "machine": MACHINE, "dataset": DATASET}
    verdict = evaluate(results)
    assert verdict["failures"] == []
    report = format_report({**results, "verdict": verdict})
    assert f"| full checkout with a promotion code (8 requests) | {CHECKOUTS} |" in report
    assert f"with ÷ without {checkout['promotion_ratio']:.2f}x in full checkouts/s" in report


def _checkout(full_rps: float, promo_rps: float) -> dict[str, Any]:
    """Results of a checkout run whose checks all pass, at the given throughputs."""
    checks = {
        "carts": 30,
        "groups": 30,
        "duplicate_groups": 0,
        "orders_per_group": 3,
        "groups_with_other_order_counts": 0,
        "oversold_levels": 0,
        "reserved_delta": 90,
        "reserved_by_run": 90,
    }

    def phase(rps: float) -> dict[str, Any]:
        return {"requests": 10, "errors": 0, "rps": rps, "p50": 1000.0, "p95": 0, "p99": 0}

    return {
        "completion": {**phase(30.0), "statuses": {"200": 10}},
        "full": {
            **phase(full_rps),
            "statuses": {"200": 10},
            "cpu_ms": {"client": 5.0, "server": 70.0, "postgres": 40.0},
        },
        "promotion": {
            **phase(promo_rps),
            "statuses": {"200": 10},
            "cpu_ms": {"client": 5.0, "server": 77.0, "postgres": 44.0},
            "code": "BENCH10-1",
            "checks": {
                "carts": 10,
                "groups": 10,
                "orders_per_group": 3,
                "orders_with_adjustments": 30,
                "groups_with_other_totals": 0,
                "discount_total": 1234,
                "orders_without_code_with_adjustments": 0,
            },
        },
        "checks": checks,
    }


def test_a_promotion_ratio_below_its_target_is_a_miss_not_a_failure() -> None:
    assert PROMOTION_TARGET == 0.85
    met, missed = _checkout(10.0, 8.6), _checkout(10.0, 8.4)
    assert promotion_ratio(met) == pytest.approx(0.86)
    assert evaluate({"checkout": met}) == {"ok": True, "failures": [], "misses": []}
    verdict = evaluate({"checkout": missed})
    assert verdict["ok"] and verdict["failures"] == []
    assert verdict["misses"] == [
        "full checkouts with a promotion: 8.40/s is 0.84x the 10.00/s without (target >= 0.85x)"
    ]
    report = format_report(
        {"checkout": missed, "machine": MACHINE, "dataset": DATASET, "verdict": verdict}
    )
    assert "with ÷ without 0.84x in full checkouts/s, p50 1.00x (target >= 0.85x" in report
    assert "MISSED)" in report and "MISS  full checkouts with a promotion" in report
    assert "without / with the code: server 70.0 / 77.0 (1.10x), PostgreSQL" in report


def test_promotion_orders_without_adjustments_or_totals_that_do_not_add_up_fail() -> None:
    checkout = _checkout(10.0, 10.0)
    broken = copy.deepcopy(checkout)
    broken["promotion"]["checks"].update(
        orders_with_adjustments=29,
        groups_with_other_totals=1,
        orders_without_code_with_adjustments=2,
    )
    broken["promotion"]["errors"] = 1
    failures = evaluate({"checkout": broken})["failures"]
    assert failures == [
        "checkout errors: completion {'200': 10}, full {'200': 10}, with a promotion {'200': 10}",
        "30 groups for the 29 successful completions",
        "promotion: 29 orders with adjustments in 10 groups (expected 30)",
        "promotion: 1 groups whose total is not their orders' sum",
        "promotion: 2 orders of carts without the code have adjustments",
    ]
    # Results of a run before the promotion case have no ratio and no promotion check.
    del checkout["promotion"]
    checkout["checks"].update(carts=20, groups=20, reserved_delta=60, reserved_by_run=60)
    assert promotion_ratio(checkout) is None
    assert evaluate({"checkout": checkout})["failures"] == []

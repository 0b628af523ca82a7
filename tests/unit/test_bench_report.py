"""The benchmark's verdict (``bench.report.evaluate``) on synthetic results."""

from __future__ import annotations

import argparse
import json

import pytest
from benchmarks.cli import cmd_bench_report
from benchmarks.report import evaluate, format_report
from benchmarks.run import _steadier


def _level(p50: float, p99: float, errors: int = 0) -> dict:
    return {
        "p50": p50,
        "p95": p99,
        "p99": p99,
        "errors": errors,
        "statuses": {"200": 100},
        "rps": 100.0,
        "cpu_ms": {"client": 0.1, "server": 0.9, "postgres": 0.2},
    }


def _case(raw: float, single: float, loaded: float) -> dict:
    return {
        "filtered": True,
        "statements": 2,
        "plans": [{"seq_scans": []}],
        "raw_sql_ms": {"p50": raw, "p95": raw},
        "levels": {"1": _level(single, single * 2), "8": _level(loaded, loaded * 2)},
    }


def test_ratio_misses_name_the_floor_only_when_it_explains_them() -> None:
    results = {
        "floor": {"p50": 1.0, "cpu_ms": {"server": 0.7}},
        "reads": {
            "tiny_sql": _case(raw=0.2, single=1.5, loaded=10.0),  # 3x raw = 0.6 < floor 1.0
            "real_sql": _case(raw=1.0, single=3.5, loaded=30.0),  # 3x raw = 3.0 > floor
            "fine": _case(raw=1.0, single=2.5, loaded=20.0),
        },
    }
    verdict = evaluate(results)
    assert verdict["ok"] and not verdict["failures"]
    misses = verdict["misses"]
    assert len(misses) == 3, misses
    assert any(m.startswith("tiny_sql: server/raw SQL 7.5x") and "floor" in m for m in misses)
    ratio_miss = next(m for m in misses if m.startswith("real_sql: server/raw"))
    assert "floor" not in ratio_miss
    assert "real_sql: p50 30.0 ms at 8 clients (target < 25.0)" in misses
    assert "Floor: GET /health" in format_report(
        {**results, "verdict": verdict, "machine": _MACHINE, "dataset": _DATASET}
    )


def test_errors_and_sequential_scans_fail_the_run() -> None:
    case = _case(raw=1.0, single=2.0, loaded=10.0)
    case["levels"]["8"]["errors"] = 3
    case["plans"] = [{"seq_scans": ["order_group"]}]
    verdict = evaluate({"reads": {"broken": case}})
    assert not verdict["ok"]
    assert len(verdict["failures"]) == 2


_MACHINE = {"nproc": 2, "cpu": "test", "memory": "1 GiB", "postgres": "15", "python": "3.11"}
_DATASET = {"groups": 1, "orders": 1, "lines": 1, "customers": 1, "products": 1}


def test_a_ratio_miss_names_the_reference_server_when_it_is_over_3x_itself() -> None:
    over = _case(raw=0.3, single=1.3, loaded=5.0)
    over["reference"] = {"p50": 1.0}  # 3.3x with only the SQL: out of reach here
    under = _case(raw=0.3, single=1.3, loaded=5.0)
    under["reference"] = {"p50": 0.8}  # 2.7x: the application's own cost
    results = {
        "floor": {"p50": 0.5, "cpu_ms": {"server": 0.4}},
        "reads": {"over": over, "under": under},
    }
    misses = evaluate(results)["misses"]
    assert len(misses) == 2, misses
    over_miss = next(m for m in misses if m.startswith("over:"))
    assert "reference server" in over_miss and "3.3x" in over_miss
    under_miss = next(m for m in misses if m.startswith("under:"))
    assert "reference" not in under_miss and "floor" not in under_miss
    report = format_report(
        {**results, "verdict": evaluate(results), "machine": _MACHINE, "dataset": _DATASET}
    )
    assert "| 4.3x | 3.3x | 0.1 / 0.9 / 0.2 |" in report and "| 4.3x | 2.7x |" in report
    assert "reference/raw: the reference server" in report


def test_the_first_page_of_orders_is_measured_against_one_sellers_page() -> None:
    """The unfiltered admin orders page must stay within 1.5x of the seller-filtered one's p50,
    at every client level."""
    seller = _case(raw=1.0, single=2.0, loaded=10.0)
    first_page = _case(raw=1.0, single=2.8, loaded=16.0)  # 1.4x at 1 client, 1.6x at 8
    results = {"reads": {"orders_first_page": first_page, "orders_seller": seller}}
    verdict = evaluate(results)
    assert verdict["misses"] == [
        "orders_first_page: p50 1.60x orders_seller's at 8 clients (target <= 1.5x)"
    ]
    report = format_report(
        {**results, "verdict": verdict, "machine": _MACHINE, "dataset": _DATASET}
    )
    assert "orders_first_page / orders_seller p50: 1.40x at 1, 1.60x at 8 client(s)" in report
    first_page["levels"]["8"]["p50"] = 15.0
    assert evaluate(results)["misses"] == []


def test_bench_report_prints_a_saved_run(tmp_path, capsys) -> None:
    saved = tmp_path / "results.json"
    case = _case(raw=1.0, single=2.0, loaded=10.0)
    saved.write_text(json.dumps({"machine": _MACHINE, "dataset": _DATASET, "reads": {"c": case}}))
    cmd_bench_report(argparse.Namespace(results=str(saved)))
    out = capsys.readouterr().out
    assert "| c | 2 | 1.00 | 1 | 100 | 2.0 |" in out and "All targets met." in out
    assert "reference/raw:" not in out  # a run without a reference server has no legend for it
    with pytest.raises(SystemExit, match="cannot read"):
        cmd_bench_report(argparse.Namespace(results=str(tmp_path / "missing.json")))


def test_the_raw_sql_time_is_the_faster_of_the_two_replays() -> None:
    """A replay slowed by a checkpoint must not flatter the server/raw ratio, in either order."""
    slowed, steady = {"p50": 3.02, "p95": 4.19}, {"p50": 1.57, "p95": 2.0}
    assert _steadier(slowed, steady) == steady
    assert _steadier(steady, slowed) == steady

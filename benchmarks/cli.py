"""The ``python -m benchmarks`` subcommands (wired into :mod:`mercato.cli`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Marketplace-scale benchmark of Mercato (docs/benchmarks.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sub = parser.add_subparsers(dest="bench_command", required=True)

    seed = sub.add_parser("seed", help="bulk-load a benchmark dataset (COPY, not the API)")
    seed.add_argument("--groups", type=int, default=100_000, help="order groups (default 100000)")
    seed.add_argument(
        "--database-url", help="default: embedded PostgreSQL in MERCATO_DATA_DIR/bench"
    )
    seed.add_argument("--reset", action="store_true", help="empty the database first")
    seed.add_argument("--seed", type=int, default=42, help="random seed")
    seed.set_defaults(func=cmd_bench_seed)

    run = sub.add_parser("run", help="start the server on the benchmark database and measure")
    run.add_argument(
        "--database-url", help="default: embedded PostgreSQL in MERCATO_DATA_DIR/bench"
    )
    run.add_argument(
        "--port",
        type=int,
        default=9100,
        help="the server's port; the reference server takes the next",
    )
    run.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    run.add_argument("--duration", type=float, default=30.0, help="cap per case, seconds")
    run.add_argument("--max-requests", type=int, default=3000, help="cap per case and level")
    run.add_argument("--concurrency", default="1,8", help="client levels (default 1,8)")
    run.add_argument("--checkout-carts", type=int, default=600, help="prepared carts to complete")
    run.add_argument("--full-checkouts", type=int, default=300, help="cap of full checkouts")
    run.add_argument("--cases", help="comma-separated subset of case names")
    run.add_argument("--skip-checkout", action="store_true")
    run.add_argument(
        "--hot-checkouts", type=int, default=300, help="cap of the hot product's full checkouts"
    )
    run.add_argument(
        "--provider-delay-ms",
        type=int,
        default=200,
        help="how long the hot product case's pp_test provider takes per call",
    )
    run.add_argument("--skip-hot-product", action="store_true")
    run.add_argument(
        "--hot-product-only",
        action="store_true",
        help="only the hot product case (no read case, no checkout)",
    )
    run.add_argument("--output", help="write the results as JSON to this file")
    run.set_defaults(func=cmd_bench_run)

    inserts = sub.add_parser(
        "inserts", help="CPU per checkout of its inserts: FixedInsert against insert(Model)"
    )
    inserts.add_argument(
        "--database-url", help="default: embedded PostgreSQL in MERCATO_DATA_DIR/bench"
    )
    inserts.add_argument("--rounds", type=int, default=6, help="rounds of each way")
    inserts.add_argument("--checkouts", type=int, default=100, help="checkouts per round")
    inserts.set_defaults(func=cmd_bench_inserts)

    report = sub.add_parser("report", help="print the report of a saved run (--output JSON)")
    report.add_argument("results", help="a results file written by `python -m benchmarks run`")
    report.set_defaults(func=cmd_bench_report)

    compare = sub.add_parser(
        "compare", help="before/after tables of two saved runs (markdown, docs/benchmarks.md)"
    )
    compare.add_argument("before", help="the results of the code before the change")
    compare.add_argument("after", help="the results of the changed code")
    compare.set_defaults(func=cmd_bench_compare)

    args = parser.parse_args(argv)
    args.func(args)


def cmd_bench_seed(args: argparse.Namespace) -> None:
    from benchmarks import bench_database_url, ensure_database, migrate
    from benchmarks.seed import SeedConfig, is_seeded, reset, seed
    from mercato.auth.passwords import hash_password

    url = bench_database_url(args.database_url)
    if args.database_url:
        ensure_database(url)
    started = time.perf_counter()
    migrate(url)
    print(f"Benchmark database migrated ({time.perf_counter() - started:.1f}s)", flush=True)

    async def prepare() -> int:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            if args.reset:
                await reset(conn)
            return await is_seeded(conn)
        finally:
            await conn.close()

    existing = asyncio.run(prepare())
    if existing:
        print(f"Already seeded ({existing:,} order groups); pass --reset to reseed.")
        return
    print(f"Seeding {args.groups:,} order groups ...", flush=True)
    result = asyncio.run(
        seed(
            url,
            SeedConfig(groups=args.groups, seed=args.seed),
            password_hash=asyncio.run(hash_password(_password())),
            log=lambda line: print(line, flush=True),
        )
    )
    print(
        f"Seeded {result.groups:,} groups, {result.orders:,} orders, {result.lines:,} lines "
        f"({result.rows:,} rows) in {result.seconds:.1f}s"
    )


def _password() -> str:
    from benchmarks.seed import PASSWORD

    return PASSWORD


def cmd_bench_run(args: argparse.Namespace) -> None:
    from benchmarks.run import BenchError, RunOptions, run_benchmark

    options = RunOptions(
        database_url=args.database_url,
        port=args.port,
        workers=args.workers,
        duration=args.duration,
        max_requests=args.max_requests,
        concurrency=tuple(int(c) for c in args.concurrency.split(",")),
        checkout_carts=args.checkout_carts,
        full_checkouts=args.full_checkouts,
        cases=() if args.hot_product_only else tuple(args.cases.split(",")) if args.cases else None,
        checkout=not (args.skip_checkout or args.hot_product_only),
        output=args.output,
        hot_product=not args.skip_hot_product,
        hot_checkouts=args.hot_checkouts,
        provider_delay_ms=args.provider_delay_ms,
    )
    try:
        ok = run_benchmark(options)
    except BenchError as exc:
        sys.exit(f"error: {exc}")
    if not ok:
        sys.exit(1)


def cmd_bench_inserts(args: argparse.Namespace) -> None:
    from benchmarks import bench_database_url, ensure_database, migrate
    from benchmarks.inserts import run

    url = bench_database_url(args.database_url)
    if args.database_url:
        ensure_database(url)
    migrate(url)
    print(run(url, rounds=args.rounds, checkouts=args.checkouts))


def cmd_bench_report(args: argparse.Namespace) -> None:
    """The report of a saved run, its verdict re-evaluated (docs/benchmarks.md's tables are
    copied from it)."""
    from benchmarks.report import evaluate, format_report

    results = _load_results(args.results)
    results["verdict"] = evaluate(results)
    print(format_report(results))
    if results["verdict"]["failures"]:
        sys.exit(1)


def cmd_bench_compare(args: argparse.Namespace) -> None:
    from benchmarks.compare import compare

    before, after = _load_results(args.before), _load_results(args.after)
    print(compare(before, after, (args.before, args.after)))


def _load_results(path: str) -> dict:
    import json
    from pathlib import Path

    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        sys.exit(f"error: cannot read {path}: {exc}")

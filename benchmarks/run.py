"""``python -m benchmarks run``: serve the benchmark database and measure it over loopback.

1. ``mercato serve`` is started as a subprocess (``--workers``) on the benchmark database.
2. Read cases run with a bounded async load generator (``benchmarks.load``; per case and client
   level: at most ``duration`` seconds and ``max_requests`` requests) at 1 and 8 concurrent
   clients.
3. Each read case's SQL is captured once from an in-process app (``mercato.db.statements``:
   SQLAlchemy's statements and the driver's), replayed with asyncpg many times before and after the case's load (the faster
   replay is the raw SQL time), and explained with
   ``EXPLAIN (ANALYZE, FORMAT JSON)``: a sequential scan of ``order_group`` or ``order`` in a
   filtered case is a failure. The reference server (``benchmarks.reference``) runs the same SQL
   and answers the same bytes with nothing else, with as many workers as the server and measured
   at the same client levels: the report's targets are server p50 ÷ reference p50.
4. Checkout: completions/s of prepared three-seller carts, then of the same carts prepared with
   an operator's 10 % code applied, then full checkouts/s (every request from cart creation to
   completion), then the same full checkouts with the code entered, all at 8 concurrent
   shoppers; afterwards the database is checked for duplicate groups and oversold stock, and
   the promotion's orders for their adjustments and totals.
5. One hot product behind a slow provider: a second server whose ``pp_test`` provider waits
   ``provider_delay_ms`` in every call (``MERCATO_TEST_PROVIDER_DELAY_MS``); 8 shoppers run full
   checkouts of the same product with a ``pp_test`` session, and the same checks follow. What a
   completion holds while it waits for the provider decides how many of them can overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx

from benchmarks import bench_database_url, migrate
from benchmarks.load import CpuMeter, HTTPClientError, KeepAliveClient
from benchmarks.receiver import Receiver, set_endpoint
from benchmarks.reference import write_spec
from benchmarks.report import (
    SLOW_RECEIVER_S,
    completion_promotion_ratio,
    evaluate,
    format_report,
    promotion_ratio,
    slow_receiver_ratio,
)
from benchmarks.seed import ADMIN_EMAIL, KEY_TITLE, PASSWORD
from mercato.db.engine import SERVER_SETTINGS, asyncpg_url
from mercato.domain.payments import PP_SYSTEM_DEFAULT, PP_TEST
from mercato.settings import get_settings

SCANNED_TABLES = frozenset({"order_group", "order"})


class BenchError(RuntimeError):
    pass


@dataclass(frozen=True)
class RunOptions:
    database_url: str | None = None
    port: int = 9100
    workers: int = 2
    duration: float = 30.0
    max_requests: int = 3000
    concurrency: tuple[int, ...] = (1, 8)
    checkout_carts: int = 600
    full_checkouts: int = 300
    cases: tuple[str, ...] | None = None
    checkout: bool = True
    output: str | None = None
    shoppers: int = 8
    hot_product: bool = True
    hot_checkouts: int = 300
    provider_delay_ms: int = 200


@dataclass
class ReadCase:
    name: str
    path: str
    params: dict[str, str]
    audience: str  # admin | store
    filtered: bool


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    rps: float
    p50: float
    p95: float
    p99: float
    statuses: dict[str, int] = field(default_factory=dict)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


def summarise(latencies: list[float], errors: int, seconds: float, statuses: dict) -> LoadResult:
    values = sorted(latencies)
    ms = 1000.0
    return LoadResult(
        requests=len(values),
        errors=errors,
        seconds=seconds,
        rps=len(values) / seconds if seconds else 0.0,
        p50=percentile(values, 0.50) * ms,
        p95=percentile(values, 0.95) * ms,
        p99=percentile(values, 0.99) * ms,
        statuses=statuses,
    )


async def run_load(
    call: Callable[[], Awaitable[int]], *, concurrency: int, duration: float, max_requests: int
) -> LoadResult:
    """``concurrency`` workers calling ``call`` (returns an HTTP status) until either cap."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = 0
    issued = 0
    started = time.perf_counter()
    deadline = started + duration

    async def worker() -> None:
        nonlocal issued, errors
        while issued < max_requests and time.perf_counter() < deadline:
            issued += 1
            t0 = time.perf_counter()
            try:
                status = await call()
            except (httpx.HTTPError, HTTPClientError, BenchError):
                status = 0
            latencies.append(time.perf_counter() - t0)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if not 200 <= status < 300:
                errors += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summarise(latencies, errors, time.perf_counter() - started, statuses)


# --------------------------------------------------------------------------- server process


class Server:
    """``mercato serve`` on the benchmark database, in its own process group."""

    def __init__(
        self,
        url: str,
        port: int,
        workers: int,
        log_path: Path,
        *,
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """``command``: another server to run instead (the reference server), answering
        ``GET /health`` once ready; ``env``: settings of its own (over the environment's)."""
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        settings = get_settings()
        env = {
            # Required with DATABASE_URL: this installation's own secrets, unless set.
            "MERCATO_JWT_SECRET": settings.jwt_secret,
            "MERCATO_SECRET_KEY": settings.secret_key,
            **os.environ,
            **(env or {}),
            "DATABASE_URL": url,
        }
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            command
            or [
                sys.executable,
                "-m",
                "mercato.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--no-access-log",
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    async def wait_ready(self, limit: float = 60.0) -> None:
        deadline = time.monotonic() + limit
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise BenchError(f"the server exited; see {self.log_path}")
                try:
                    if (await client.get("/health")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise BenchError(f"the server did not become ready in {limit:.0f}s; see {self.log_path}")

    def pids(self) -> list[int]:
        """The server process and all its descendants (uvicorn workers)."""
        return _descendants(self.process.pid)

    def rss_kib(self) -> int:
        """VmRSS of the server process and all its descendants, in KiB."""
        return sum(_vmrss(pid) for pid in self.pids())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._log.close()


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _vmrss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak = 0
        self._task: asyncio.Task | None = None

    async def _loop(self) -> None:
        while True:
            self.peak = max(self.peak, self.server.rss_kib())
            await asyncio.sleep(0.5)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


# --------------------------------------------------------------------------- the dataset's facts


async def dataset_facts(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        facts: dict[str, Any] = {}
        facts["groups"] = await conn.fetchval("SELECT count(*) FROM order_group")
        if not facts["groups"]:
            raise BenchError(
                "the benchmark database is empty; run `python -m benchmarks seed` first"
            )
        facts["orders"] = await conn.fetchval('SELECT count(*) FROM "order"')
        facts["lines"] = await conn.fetchval("SELECT count(*) FROM order_line_item")
        facts["customers"] = await conn.fetchval("SELECT count(*) FROM customer")
        facts["products"] = await conn.fetchval("SELECT count(*) FROM product")
        facts["sellers"] = await conn.fetchval("SELECT count(*) FROM seller")
        facts["publishable_key"] = await conn.fetchval(
            "SELECT token FROM api_key WHERE title = $1 AND revoked_at IS NULL", KEY_TITLE
        )
        facts["region_id"] = await conn.fetchval("SELECT id FROM region LIMIT 1")
        # A seller of median size.
        facts["seller_id"] = await conn.fetchval(
            'SELECT seller_id FROM "order" GROUP BY seller_id ORDER BY count(*), seller_id '
            "OFFSET (SELECT count(*) / 2 FROM seller) LIMIT 1"
        )
        # The customer with the most groups who can log in (the store case) ...
        heavy = await conn.fetchrow(
            "SELECT g.customer_id, c.email, count(*) AS n FROM order_group g "
            "JOIN customer c ON c.id = g.customer_id "
            "JOIN auth_identity a ON a.actor_id = c.id AND a.actor_type = 'customer' "
            "GROUP BY g.customer_id, c.email ORDER BY n DESC, g.customer_id LIMIT 1"
        )
        facts["store_customer_email"] = heavy["email"]
        facts["store_customer_groups"] = heavy["n"]
        # ... and an ordinary customer with several groups (admin customer_id and q cases).
        regular = await conn.fetchrow(
            "SELECT g.customer_id, c.email, count(*) AS n FROM order_group g "
            "JOIN customer c ON c.id = g.customer_id "
            "WHERE NOT EXISTS (SELECT 1 FROM auth_identity a WHERE a.actor_id = c.id) "
            "GROUP BY g.customer_id, c.email ORDER BY n DESC, g.customer_id LIMIT 1"
        )
        facts["customer_id"] = regular["customer_id"]
        facts["customer_email"] = regular["email"]
        facts["customer_groups"] = regular["n"]
        # A three-seller, delivered group for the detail case.
        facts["group_id"] = await conn.fetchval(
            "SELECT id FROM order_group WHERE seller_count = 3 AND status = 'completed' "
            "ORDER BY display_id LIMIT 1"
        ) or await conn.fetchval("SELECT id FROM order_group ORDER BY display_id LIMIT 1")
        # The order with the most returns (then return items) for the returns detail case; at a
        # tiny scale there may be none, and the case shows the first order without any.
        facts["returns"] = await conn.fetchval("SELECT count(*) FROM order_return")
        returned = await conn.fetchrow(
            "SELECT r.order_id, count(DISTINCT r.id) AS n FROM order_return r "
            "JOIN return_item i ON i.return_id = r.id "
            "GROUP BY r.order_id ORDER BY n DESC, count(*) DESC, r.order_id LIMIT 1"
        )
        if returned is None:
            facts["returns_order_id"] = await conn.fetchval(
                'SELECT id FROM "order" ORDER BY display_id LIMIT 1'
            )
            facts["returns_order_returns"] = 0
        else:
            facts["returns_order_id"] = returned["order_id"]
            facts["returns_order_returns"] = returned["n"]
        newest = await conn.fetchval("SELECT max(created_at) FROM order_group")
        facts["range_from"] = (newest - timedelta(days=395)).isoformat()
        facts["range_to"] = (newest - timedelta(days=365)).isoformat()
        facts["range_groups"] = await conn.fetchval(
            "SELECT count(*) FROM order_group WHERE created_at >= $1 AND created_at < $2",
            newest - timedelta(days=395),
            newest - timedelta(days=365),
        )
        facts["status_groups"] = await conn.fetchval(
            "SELECT count(*) FROM order_group WHERE status = 'pending' "
            "AND payment_status = 'captured'"
        )
        rows = await conn.fetch(
            "SELECT DISTINCT ON (p.seller_id) p.seller_id, v.id AS variant_id "
            "FROM product p JOIN product_variant v ON v.product_id = p.id "
            "WHERE p.deleted_at IS NULL AND v.deleted_at IS NULL ORDER BY p.seller_id, v.sku"
        )
        facts["variants_by_seller"] = {r["seller_id"]: r["variant_id"] for r in rows}
        facts["pg_version"] = await conn.fetchval("SHOW server_version")
        return facts
    finally:
        await conn.close()


def read_cases(facts: dict[str, Any]) -> list[ReadCase]:
    return [
        ReadCase("groups_default", "/admin/order-groups", {}, "admin", False),
        ReadCase(
            "groups_seller", "/admin/order-groups", {"seller_id": facts["seller_id"]}, "admin", True
        ),
        ReadCase(
            "groups_customer",
            "/admin/order-groups",
            {"customer_id": facts["customer_id"]},
            "admin",
            True,
        ),
        ReadCase(
            "groups_status",
            "/admin/order-groups",
            {"status": "pending", "payment_status": "captured"},
            "admin",
            True,
        ),
        ReadCase(
            "groups_created_range",
            "/admin/order-groups",
            {"created_at[$gte]": facts["range_from"], "created_at[$lt]": facts["range_to"]},
            "admin",
            True,
        ),
        ReadCase(
            "groups_q_email", "/admin/order-groups", {"q": facts["customer_email"]}, "admin", True
        ),
        ReadCase("group_detail", f"/admin/order-groups/{facts['group_id']}", {}, "admin", True),
        ReadCase("store_groups", "/store/order-groups", {}, "store", True),
        # The operator's first page of orders, and the same page of one seller's orders
        # (report.RELATIVE_TARGETS compares them).
        ReadCase("orders_first_page", "/admin/orders", {"limit": "50"}, "admin", False),
        ReadCase(
            "orders_seller", "/admin/orders", {"seller_id": facts["seller_id"]}, "admin", True
        ),
        # An order's detail with its returns and their items (issue 17).
        ReadCase(
            "order_detail_returns",
            f"/admin/orders/{facts['returns_order_id']}",
            {"fields": "*returns,*returns.items"},
            "admin",
            True,
        ),
    ]


def case_url(case: ReadCase) -> str:
    return case.path + ("?" + urlencode(case.params) if case.params else "")


async def login(client: httpx.AsyncClient, actor: str, email: str) -> str:
    response = await client.post(
        f"/auth/{actor}/emailpass", json={"email": email, "password": PASSWORD}
    )
    if response.status_code != 200:
        raise BenchError(f"{actor} login failed: {response.status_code} {response.text}")
    return response.json()["token"]


# --------------------------------------------------------------------------- raw SQL


class StatementCapture:
    def __init__(self) -> None:
        self.enabled = False
        self.statements: list[tuple[str, tuple]] = []

    def __call__(self, statement: str, parameters: Any) -> None:
        if self.enabled:
            self.statements.append((statement, tuple(parameters or ())))


async def capture_statements(
    url: str, cases: list[ReadCase], headers: dict[str, dict[str, str]]
) -> dict[str, tuple[list[tuple[str, tuple]], bytes]]:
    """Run each case once in-process and keep the exact SQL statements it issued and the body
    it answered."""
    from mercato.db.engine import create_engine
    from mercato.db.statements import StatementWatch
    from mercato.http.app import create_app

    engine = create_engine(asyncpg_url(url), pool_size=2)
    capture = StatementCapture()
    watch = StatementWatch(engine, capture)
    app = create_app(engine=engine)
    captured: dict[str, tuple[list[tuple[str, tuple]], bytes]] = {}
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for case in cases:
                await client.get(case_url(case), headers=headers[case.audience])  # warm
                await watch.settled()
                capture.statements = []
                capture.enabled = True
                response = await client.get(case_url(case), headers=headers[case.audience])
                await watch.settled()
                capture.enabled = False
                if response.status_code != 200:
                    raise BenchError(f"{case.name}: {response.status_code} {response.text[:300]}")
                captured[case.name] = (list(capture.statements), response.content)
    finally:
        watch.close()
        await engine.dispose()
    return captured


async def replay(
    url: str, statements: list[tuple[str, tuple]], *, iterations: int = 300, seconds: float = 5.0
) -> dict[str, float]:
    """Run the statements of one request back to back with asyncpg; p50/p95 of the sum (ms)."""
    conn = await asyncpg.connect(url, server_settings=SERVER_SETTINGS)
    try:
        for _ in range(10):
            for sql, params in statements:
                await conn.fetch(sql, *params)
        times = []
        deadline = time.perf_counter() + seconds
        for _ in range(iterations):
            t0 = time.perf_counter()
            for sql, params in statements:
                await conn.fetch(sql, *params)
            times.append(time.perf_counter() - t0)
            if time.perf_counter() > deadline:
                break
        times.sort()
        return {"p50": percentile(times, 0.5) * 1000, "p95": percentile(times, 0.95) * 1000}
    finally:
        await conn.close()


def _steadier(first: dict[str, float], second: dict[str, float]) -> dict[str, float]:
    """Of two replays of a case's SQL (before and after its load), the faster one: a checkpoint,
    an autovacuum or the machine's drift can slow one replay down for seconds, which would flatter
    the server/raw ratio (once below 1, the server seemingly faster than its own SQL). The lower raw time never makes the ratio look
    better than it is."""
    return min(first, second, key=lambda replayed: replayed["p50"])


def _seq_scans(plan: dict[str, Any]) -> list[str]:
    found = []
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in SCANNED_TABLES:
        found.append(plan["Relation Name"])
    for child in plan.get("Plans", []):
        found.extend(_seq_scans(child))
    return found


async def explain(url: str, statements: list[tuple[str, tuple]]) -> list[dict[str, Any]]:
    """EXPLAIN ANALYZE each statement; report sequential scans of the big tables."""
    conn = await asyncpg.connect(url, server_settings=SERVER_SETTINGS)
    try:
        out = []
        for sql, params in statements:
            raw = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *params)
            doc = json.loads(raw) if isinstance(raw, str) else raw
            plan = doc[0]
            out.append(
                {
                    "sql": sql[:160],
                    "execution_ms": plan.get("Execution Time"),
                    "seq_scans": _seq_scans(plan["Plan"]),
                }
            )
        return out
    finally:
        await conn.close()


# --------------------------------------------------------------------------- checkout


class Shopper:
    """The storefront calls of one guest checkout (three sellers' items unless told otherwise)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        key: str,
        region_id: str,
        *,
        provider_id: str = PP_SYSTEM_DEFAULT,
        sellers: int = 3,
    ) -> None:
        self.client = client
        self.headers = {"x-publishable-api-key": key}
        self.region_id = region_id
        self.provider_id = provider_id
        self.sellers = sellers

    async def _post(self, path: str, body: dict | None = None, params: dict | None = None) -> dict:
        response = await self.client.post(path, headers=self.headers, json=body, params=params)
        if response.status_code != 200:
            raise BenchError(f"POST {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    async def prepare(
        self, variants: list[str], email: str, *, promo_codes: tuple[str, ...] = ()
    ) -> str:
        """A cart ready to complete: items, a shipping method per seller, the ``promo_codes``
        (if any, one request, after shipping as a shopper enters them at the last step), a
        payment collection and session."""
        cart = (
            await self._post(
                "/store/carts",
                {
                    "region_id": self.region_id,
                    "email": email,
                    "items": [{"variant_id": v, "quantity": 1} for v in variants],
                },
                params={"fields": "id"},
            )
        )["cart"]
        response = await self.client.get(
            "/store/shipping-options", headers=self.headers, params={"cart_id": cart["id"]}
        )
        if response.status_code != 200:
            raise BenchError(f"GET /store/shipping-options: {response.status_code}")
        chosen: dict[str, str] = {}
        for option in response.json()["shipping_options"]:
            chosen.setdefault(option["seller_id"], option["id"])
        for option_id in chosen.values():
            await self._post(
                f"/store/carts/{cart['id']}/shipping-methods",
                {"option_id": option_id},
                params={"fields": "id"},
            )
        if promo_codes:
            await self._post(
                f"/store/carts/{cart['id']}/promotions",
                {"promo_codes": list(promo_codes)},
                params={"fields": "id"},
            )
        collection = (await self._post("/store/payment-collections", {"cart_id": cart["id"]}))[
            "payment_collection"
        ]
        await self._post(
            f"/store/payment-collections/{collection['id']}/payment-sessions",
            {"provider_id": self.provider_id},
        )
        return cart["id"]

    async def complete(self, cart_id: str) -> int:
        response = await self.client.post(f"/store/carts/{cart_id}/complete", headers=self.headers)
        if response.status_code != 200:
            return response.status_code
        body = response.json()
        if body.get("type") != "order_group" or body["order_group"]["seller_count"] != self.sellers:
            return 0
        return 200


async def checkout_benchmark(
    base_url: str,
    url: str,
    facts: dict[str, Any],
    options: RunOptions,
    log: Callable[[str], None],
    meter: CpuMeter | None = None,
) -> dict[str, Any]:
    """(a) completions of prepared carts, (a') of prepared carts with a promotion code applied,
    (b) full checkouts, (c) full checkouts with the code; with ``meter`` (the server's), CPU per
    completion and per full checkout by role, which other jobs on the machine do not add to
    (except PostgreSQL's, counted host-wide)."""
    rng = random.Random(7)
    sellers = sorted(facts["variants_by_seller"])

    def basket() -> list[str]:
        return [facts["variants_by_seller"][s] for s in rng.sample(sellers, 3)]

    reserved_before = await reserved_stock(url)
    run_tag = f"{int(time.time())}"
    code = await create_promotion(base_url, f"BENCH10-{run_tag}")
    limits = httpx.Limits(
        max_connections=options.shoppers, max_keepalive_connections=options.shoppers
    )
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        shopper = Shopper(client, facts["publishable_key"], facts["region_id"])

        async def prepare_carts(label: str, codes: tuple[str, ...]) -> list[str]:
            """``options.checkout_carts`` carts ready to complete, by ``options.shoppers``."""
            t = time.perf_counter()
            prepared: list[str] = []
            queue = list(range(options.checkout_carts))

            async def preparer() -> None:
                while queue:
                    n = queue.pop()
                    email = f"bench.{run_tag}.{label}{n}@bench.test"
                    prepared.append(await shopper.prepare(basket(), email, promo_codes=codes))

            await asyncio.gather(*(preparer() for _ in range(options.shoppers)))
            with_code = f" with {code} applied" if codes else ""
            log(
                f"  prepared {len(prepared)} three-seller carts{with_code} in "
                f"{time.perf_counter() - t:.1f}s"
            )
            return prepared

        async def completions(prepared: list[str]) -> tuple[dict[str, Any], set[str]]:
            """Completions only, of ``prepared``, until the duration or the carts run out."""
            pending = list(prepared)

            async def complete_next() -> int:
                if not pending:
                    raise BenchError("out of prepared carts")
                return await shopper.complete(pending.pop())

            before = meter.sample() if meter else None
            result = await run_load(
                complete_next,
                concurrency=options.shoppers,
                duration=options.duration,
                max_requests=len(prepared),
            )
            measured = asdict(result)
            if meter and before:
                measured["cpu_ms"] = CpuMeter.per_request(before, meter.sample(), result.requests)
            return measured, set(prepared) - set(pending)

        # (a) prepared carts, then completions only; (a') the same with the operator's code
        # applied to every cart: the same requests, the difference being the completion's
        # promotion work (evaluated again, adjustments copied to the orders, the use counted).
        # Both sets are prepared before either is timed.
        carts = await prepare_carts("p", ())
        promo_prepared = await prepare_carts("q", (code,))
        completion, completed_carts = await completions(carts)
        log(f"  completions: {_phase_line(completion)}")
        completion_promo, promo_completed = await completions(promo_prepared)
        completion_ratio = completion_promotion_ratio(
            {"completion": completion, "completion_promotion": completion_promo}
        )
        log(
            f"  completions with {code}: {_phase_line(completion_promo)}; "
            f"{completion_ratio:.2f}x the completions/s without"
        )

        # (w) completions with an operator endpoint for every event whose receiver answers at
        # once, then (s) with the receiver taking 10 s: webhooks are sent by workers after the
        # commit, so the slow receiver must not slow completions (issue 21).
        receiver = Receiver()
        await receiver.start()
        try:
            hook = await set_endpoint(base_url, receiver.url, None, active=True)
            fast_prepared = await prepare_carts("w", ())
            slow_prepared = await prepare_carts("s", ())
            completion_hook, hook_completed = await completions(fast_prepared)
            log(
                f"  completions, a webhook receiver answering at once: {_phase_line(completion_hook)}"
            )
            await deliveries_settled(url)
            receiver.delay_s = SLOW_RECEIVER_S
            completion_slow, slow_completed = await completions(slow_prepared)
            slow_ratio = slow_receiver_ratio(
                {"completion_webhook": completion_hook, "completion_slow_receiver": completion_slow}
            )
            log(
                f"  completions, the receiver taking {SLOW_RECEIVER_S:g} s: "
                f"{_phase_line(completion_slow)}; {slow_ratio:.2f}x the completions/s with the "
                f"fast receiver ({receiver.received} deliveries received)"
            )
            await set_endpoint(base_url, receiver.url, hook, active=False)
        finally:
            await receiver.stop()
        completed_carts |= hook_completed | slow_completed

        # (b) full checkouts: every request from cart creation to completion; (c) the same with
        # the operator's code entered after shipping (one request more).
        counter = iter(range(10**9))

        async def full_checkouts(
            label: str, codes: tuple[str, ...]
        ) -> tuple[dict[str, Any], list[str]]:
            placed: list[str] = []

            async def full_checkout() -> int:
                email = f"bench.{run_tag}.{label}{next(counter)}@bench.test"
                cart_id = await shopper.prepare(basket(), email, promo_codes=codes)
                placed.append(cart_id)
                return await shopper.complete(cart_id)

            before = meter.sample() if meter else None
            result = await run_load(
                full_checkout,
                concurrency=options.shoppers,
                duration=options.duration,
                max_requests=options.full_checkouts,
            )
            measured = asdict(result)
            if meter and before:
                measured["cpu_ms"] = CpuMeter.per_request(before, meter.sample(), result.requests)
            return measured, placed

        full, full_carts = await full_checkouts("f", ())
        log(f"  full checkouts: {_phase_line(full)}")
        promo, promo_carts = await full_checkouts("c", (code,))
        ratio = promotion_ratio({"full": full, "promotion": promo})
        log(
            f"  full checkouts with {code}: {_phase_line(promo)}; {ratio:.2f}x the full "
            "checkouts/s without (one request more: entering the code)"
        )
    plain = sorted(completed_carts | set(full_carts))
    checks = await verify_checkouts(
        url,
        sorted(completed_carts | promo_completed | set(full_carts) | set(promo_carts)),
        reserved_before,
    )
    completion_promo_checks = await verify_promotion(url, sorted(promo_completed), plain)
    promo_checks = await verify_promotion(url, sorted(promo_carts), plain)
    return {
        "completion": completion,
        "completion_promotion": {
            **completion_promo,
            "code": code,
            "checks": completion_promo_checks,
        },
        "completion_promotion_ratio": completion_ratio,
        "completion_webhook": completion_hook,
        "completion_slow_receiver": {**completion_slow, "delay_s": SLOW_RECEIVER_S},
        "slow_receiver_ratio": slow_ratio,
        "full": full,
        "promotion": {**promo, "code": code, "checks": promo_checks},
        "promotion_ratio": ratio,
        "checks": checks,
    }


def _phase_line(result: dict[str, Any]) -> str:
    line = (
        f"{result['requests']} in {result['seconds']:.1f}s = {result['rps']:.1f}/s, "
        f"p50 {result['p50']:.0f} ms, errors {result['errors']}"
    )
    cpu = result.get("cpu_ms")
    if cpu:
        line += f", CPU ms each server {cpu['server']:.0f} postgres {cpu['postgres']:.0f}"
    return line


async def deliveries_settled(url: str, limit_s: float = 60.0) -> None:
    """Wait until the worker has caught up with the fast receiver's deliveries (at most
    ``limit_s``), so the next phase does not pay for this one's backlog."""
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            waiting = await conn.fetchval(
                "SELECT (SELECT count(*) FROM event_delivery)"
                " + (SELECT count(*) FROM webhook_delivery WHERE status = 'pending')"
            )
            if not waiting:
                return
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def create_promotion(base_url: str, code: str) -> str:
    """An active operator promotion, 10 % off the order, entered by ``code`` (the demo admin
    creates it through the admin API, as an operator would)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        token = await login(client, "user", ADMIN_EMAIL)
        response = await client.post(
            "/admin/promotions",
            json={
                "code": code,
                "type": "standard",
                "status": "active",
                "application_method": {"type": "percentage", "target_type": "order", "value": 10},
            },
            params={"fields": "id"},
            headers={"authorization": f"Bearer {token}"},
        )
    if response.status_code != 200:
        raise BenchError(f"creating promotion {code}: {response.status_code} {response.text[:300]}")
    return code


async def verify_promotion(
    url: str, cart_ids: list[str], plain_cart_ids: list[str], *, orders_per_group: int = 3
) -> dict[str, Any]:
    """The promotion's groups: every order carries line adjustments and the orders' totals add
    up to the group's; the carts without the code have none (else the phases with and without it
    measure the same)."""
    conn = await asyncpg.connect(url)
    try:
        groups = await conn.fetchval(
            "SELECT count(*) FROM order_group WHERE cart_id = ANY($1::text[])", cart_ids
        )
        adjusted = await conn.fetchval(
            'SELECT count(DISTINCT o.id) FROM "order" o '
            "JOIN order_line_item_adjustment a ON a.order_id = o.id "
            "WHERE o.cart_id = ANY($1::text[])",
            cart_ids,
        )
        mismatched = await conn.fetchval(
            "SELECT count(*) FROM order_group g WHERE g.cart_id = ANY($1::text[]) AND g.total <> "
            '(SELECT coalesce(sum(o.total), 0) FROM order_group_order x JOIN "order" o '
            "ON o.id = x.order_id WHERE x.order_group_id = g.id)",
            cart_ids,
        )
        discount = await conn.fetchval(
            'SELECT coalesce(sum(discount_total), 0) FROM "order" WHERE cart_id = ANY($1::text[])',
            cart_ids,
        )
        plain_adjusted = await conn.fetchval(
            'SELECT count(DISTINCT o.id) FROM "order" o '
            "JOIN order_line_item_adjustment a ON a.order_id = o.id "
            "WHERE o.cart_id = ANY($1::text[])",
            plain_cart_ids,
        )
        return {
            "carts": len(cart_ids),
            "groups": groups,
            "orders_per_group": orders_per_group,
            "orders_with_adjustments": adjusted,
            "groups_with_other_totals": mismatched,
            "discount_total": int(discount),
            "orders_without_code_with_adjustments": plain_adjusted,
        }
    finally:
        await conn.close()


async def reserved_stock(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT sum(reserved_quantity) FROM inventory_level")
    finally:
        await conn.close()


async def hot_product_benchmark(
    base_url: str, url: str, facts: dict[str, Any], options: RunOptions, log: Callable[[str], None]
) -> dict[str, Any]:
    """``options.shoppers`` shoppers running full checkouts of one and the same product (one
    seller) with a ``pp_test`` payment session, against a server whose provider waits
    ``options.provider_delay_ms`` per call; checked like checkout."""
    variant_id = facts["variants_by_seller"][min(facts["variants_by_seller"])]
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        token = await login(client, "user", ADMIN_EMAIL)
        response = await client.post(
            f"/admin/regions/{facts['region_id']}",
            json={"payment_providers": [PP_SYSTEM_DEFAULT, PP_TEST]},
            headers={"authorization": f"Bearer {token}"},
        )
        if response.status_code != 200:
            raise BenchError(f"offering pp_test in the region: {response.status_code}")
    reserved_before = await reserved_stock(url)
    run_tag = f"{int(time.time())}"
    limits = httpx.Limits(
        max_connections=options.shoppers, max_keepalive_connections=options.shoppers
    )
    carts: list[str] = []
    counter = iter(range(10**9))
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        shopper = Shopper(
            client, facts["publishable_key"], facts["region_id"], provider_id=PP_TEST, sellers=1
        )

        async def full_checkout() -> int:
            n = next(counter)
            cart_id = await shopper.prepare([variant_id], f"bench.{run_tag}.h{n}@bench.test")
            carts.append(cart_id)
            return await shopper.complete(cart_id)

        full = await run_load(
            full_checkout,
            concurrency=options.shoppers,
            duration=options.duration,
            max_requests=options.hot_checkouts,
        )
    log(
        f"  hot product, provider {options.provider_delay_ms} ms: {full.requests} full checkouts "
        f"in {full.seconds:.1f}s = {full.rps:.1f}/s, p50 {full.p50:.0f} ms, errors {full.errors}"
    )
    checks = await verify_checkouts(url, sorted(carts), reserved_before, orders_per_group=1)
    return {
        "provider_delay_ms": options.provider_delay_ms,
        "variant_id": variant_id,
        "full": asdict(full),
        "checks": checks,
    }


async def verify_checkouts(
    url: str, cart_ids: list[str], reserved_before: int, *, orders_per_group: int = 3
) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        groups = await conn.fetchval(
            "SELECT count(*) FROM order_group WHERE cart_id = ANY($1::text[])", cart_ids
        )
        duplicates = await conn.fetchval(
            "SELECT count(*) FROM (SELECT cart_id FROM order_group WHERE cart_id = ANY($1::text[]) "
            "GROUP BY cart_id HAVING count(*) > 1) d",
            cart_ids,
        )
        other_count = await conn.fetchval(
            "SELECT count(*) FROM (SELECT g.id FROM order_group g "
            "JOIN order_group_order o ON o.order_group_id = g.id "
            "WHERE g.cart_id = ANY($1::text[]) GROUP BY g.id HAVING count(*) <> $2) x",
            cart_ids,
            orders_per_group,
        )
        oversold = await conn.fetchval(
            "SELECT count(*) FROM inventory_level il JOIN product_variant v ON v.id = il.variant_id "
            "WHERE NOT v.allow_backorder AND il.reserved_quantity > il.stocked_quantity"
        )
        reserved_after = await conn.fetchval("SELECT sum(reserved_quantity) FROM inventory_level")
        reserved_by_run = await conn.fetchval(
            "SELECT coalesce(sum(r.quantity), 0) FROM reservation_item r "
            "JOIN order_line_item l ON l.id = r.line_item_id "
            'JOIN "order" o ON o.id = l.order_id WHERE o.cart_id = ANY($1::text[])',
            cart_ids,
        )
        return {
            "carts": len(cart_ids),
            "groups": groups,
            "duplicate_groups": duplicates,
            "orders_per_group": orders_per_group,
            "groups_with_other_order_counts": other_count,
            "oversold_levels": oversold,
            "reserved_delta": int(reserved_after - reserved_before),
            "reserved_by_run": int(reserved_by_run),
        }
    finally:
        await conn.close()


# --------------------------------------------------------------------------- main


def run_benchmark(options: RunOptions) -> bool:
    url = bench_database_url(options.database_url)
    migrate(url)
    return asyncio.run(_main(options, url))


async def _main(options: RunOptions, url: str) -> bool:
    def log(line: str) -> None:
        print(line, flush=True)

    facts = await dataset_facts(url)
    log(
        f"Dataset: {facts['groups']:,} groups, {facts['orders']:,} orders, {facts['lines']:,} lines, "
        f"{facts['customers']:,} customers, {facts['products']:,} products, "
        f"{facts['sellers']} sellers, {facts['returns']:,} returns "
        f"(PostgreSQL {facts['pg_version']})"
    )
    cases = read_cases(facts)
    if options.cases is not None:
        cases = [c for c in cases if c.name in options.cases]
    bench_dir = get_settings().data_dir / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": machine_info(facts),
        "dataset": {
            k: facts[k] for k in ("groups", "orders", "lines", "customers", "products", "returns")
        },
        "options": {
            k: v for k, v in asdict(options).items() if k not in ("database_url", "output")
        },
        "reads": {},
    }
    if cases or options.checkout:
        await _measure_server(options, url, facts, cases, results, bench_dir, log)
    if options.hot_product:
        log(f"One hot product, a provider that takes {options.provider_delay_ms} ms ...")
        hot = Server(
            url,
            options.port + 2,
            options.workers,
            bench_dir / "server-hot.log",
            env={
                "MERCATO_ENABLE_TEST_PROVIDER": "1",
                "MERCATO_TEST_PROVIDER_DELAY_MS": str(options.provider_delay_ms),
            },
        )
        try:
            await hot.wait_ready()
            results["hot_product"] = await hot_product_benchmark(
                hot.base_url, url, facts, options, log
            )
        except (BenchError, httpx.HTTPError) as exc:
            # The measurements taken so far are still written and reported.
            results["hot_product_error"] = str(exc) or repr(exc)
        finally:
            hot.stop()
    verdict = evaluate(results)
    results["verdict"] = verdict
    text = format_report(results)
    print(text)
    out = Path(options.output) if options.output else bench_dir / "results.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"Results: {out}")
    return verdict["ok"]


async def _measure_server(
    options: RunOptions,
    url: str,
    facts: dict[str, Any],
    cases: list[ReadCase],
    results: dict[str, Any],
    bench_dir: Path,
    log: Callable[[str], None],
) -> None:
    """The floor, the read cases beside the reference server, and checkout, on one server."""
    server = Server(
        url,
        options.port,
        options.workers,
        bench_dir / "server.log",
        # The slow-receiver case's endpoint is a plain-http receiver on loopback.
        env={"MERCATO_WEBHOOK_ALLOW_PRIVATE_TARGETS": "1", "MERCATO_WEBHOOK_ALLOW_HTTP": "1"},
    )
    sampler = RssSampler(server)
    reference: Server | None = None
    try:
        await server.wait_ready()
        sampler.start()
        meter = CpuMeter(server.process.pid)
        log(
            f"Server on {server.base_url} ({options.workers} workers), RSS {server.rss_kib() // 1024} MiB"
        )
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            admin_token = await login(client, "user", ADMIN_EMAIL)
            customer_token = await login(client, "customer", facts["store_customer_email"])
        headers = {
            "admin": {"authorization": f"Bearer {admin_token}"},
            "store": {
                "authorization": f"Bearer {customer_token}",
                "x-publishable-api-key": facts["publishable_key"],
            },
        }
        results["floor"] = await measure_floor(options, meter, log)
        log("Capturing each read case's SQL (in-process) ...")
        captured = await capture_statements(url, cases, headers)
        reference = start_reference(
            url,
            captured,
            options.port + 1,
            bench_dir,
            workers=options.workers,
            clients=max(options.concurrency),
        )
        await reference.wait_ready()
        for case in cases:
            statements = captured[case.name][0]
            raw = await replay(url, statements)
            plans = await explain(url, statements)
            entry: dict[str, Any] = {
                "url": case_url(case),
                "filtered": case.filtered,
                "statements": len(statements),
                "raw_sql_ms": raw,
                "plans": plans,
                "levels": {},
            }
            keep_alive = KeepAliveClient("127.0.0.1", options.port, headers[case.audience])
            path = case_url(case)

            async def call(client: KeepAliveClient = keep_alive, path: str = path) -> int:
                return (await client.get(path))[0]

            try:
                entry["reference"] = await measure_reference(reference, case.name, options)
                await run_load(call, concurrency=2, duration=5, max_requests=40)  # warm workers
                for level in options.concurrency:
                    before = meter.sample()
                    result = await run_load(
                        call,
                        concurrency=level,
                        duration=options.duration,
                        max_requests=options.max_requests,
                    )
                    cpu = CpuMeter.per_request(before, meter.sample(), result.requests)
                    entry["levels"][str(level)] = {**asdict(result), "cpu_ms": cpu}
                    log(
                        f"  {case.name:<22} c={level:<2} {result.requests:>5} req "
                        f"{result.rps:>7.1f}/s  p50 {result.p50:6.1f}  p95 {result.p95:6.1f}  "
                        f"p99 {result.p99:6.1f} ms  errors {result.errors}  CPU ms/req client "
                        f"{cpu['client']:.1f} server {cpu['server']:.1f} "
                        f"postgres {cpu['postgres']:.1f}"
                    )
            finally:
                await keep_alive.aclose()
            entry["rss_mib"] = server.rss_kib() / 1024
            raw = entry["raw_sql_ms"] = _steadier(raw, await replay(url, statements))
            for level, measured in entry["reference"].items():
                log(
                    f"  {case.name:<22} c={level:<2} reference {measured['rps']:>7.1f}/s  "
                    f"p50 {measured['p50']:6.2f} ms (raw SQL {raw['p50']:.2f} ms)"
                )
            results["reads"][case.name] = entry
        if options.checkout:
            log("Checkout ...")
            results["checkout"] = await checkout_benchmark(
                server.base_url, url, facts, options, log, meter
            )
        results["rss_peak_mib"] = max(sampler.peak, server.rss_kib()) / 1024
    finally:
        await sampler.stop()
        server.stop()
        if reference is not None:
            reference.stop()


async def measure_floor(
    options: RunOptions, meter: CpuMeter, log: Callable[[str], None]
) -> dict[str, Any]:
    """``GET /health`` at 1 client: one ``SELECT 1`` through the whole stack (uvicorn, FastAPI,
    a session), the least time any request of the server takes on this machine."""
    client = KeepAliveClient("127.0.0.1", options.port)

    async def call() -> int:
        return (await client.get("/health"))[0]

    try:
        await run_load(call, concurrency=1, duration=5, max_requests=40)
        before = meter.sample()
        result = await run_load(
            call, concurrency=1, duration=options.duration, max_requests=options.max_requests
        )
        cpu = CpuMeter.per_request(before, meter.sample(), result.requests)
    finally:
        await client.aclose()
    log(
        f"  floor: GET /health   c=1  {result.requests:>5} req {result.rps:>7.1f}/s  "
        f"p50 {result.p50:6.2f} ms  CPU ms/req server {cpu['server']:.2f} "
        f"postgres {cpu['postgres']:.2f}"
    )
    return {**asdict(result), "cpu_ms": cpu}


def start_reference(
    url: str,
    captured: dict[str, tuple[list[tuple[str, tuple]], bytes]],
    port: int,
    folder: Path,
    *,
    workers: int = 1,
    clients: int = 1,
) -> Server:
    """The reference server (``benchmarks.reference``) for the captured cases, on ``port``, with
    ``workers`` processes whose pools serve up to ``clients`` concurrent clients."""
    spec = folder / "reference.pickle"
    write_spec(spec, url, captured)
    command = [sys.executable, "-m", "benchmarks.reference", "--spec", str(spec)]
    command += ["--port", str(port), "--workers", str(workers), "--clients", str(clients)]
    return Server(url, port, workers, folder / "reference.log", command=command)


async def measure_reference(
    reference: Server, name: str, options: RunOptions
) -> dict[str, dict[str, Any]]:
    """The reference server's result for one case at each client level (the same warm-up and
    request budget as the server's)."""
    client = KeepAliveClient("127.0.0.1", reference.port)

    async def call() -> int:
        return (await client.get(f"/cases/{name}"))[0]

    levels: dict[str, dict[str, Any]] = {}
    try:
        await run_load(call, concurrency=2, duration=5, max_requests=40)
        for level in options.concurrency:
            result = await run_load(
                call,
                concurrency=level,
                duration=options.duration,
                max_requests=options.max_requests,
            )
            if result.errors:
                raise BenchError(f"the reference server failed {name}: {result.statuses}")
            levels[str(level)] = asdict(result)
    finally:
        await client.aclose()
    return levels


def machine_info(facts: dict[str, Any]) -> dict[str, Any]:
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "postgres": facts["pg_version"],
        "python": sys.version.split()[0],
    }

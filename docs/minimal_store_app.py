"""The floor of the store-list case: `GET /store/order-groups` as a minimal FastAPI app.

The same four statements Mercato runs (the store caller, the page, the orders with their
sellers, the lines with their variants and products), an asyncpg pool, plain dicts and orjson,
no session, no ``fields`` engine, the token read without verifying its signature. For the
benchmark's store customer it answers the same 99,703-byte body Mercato does. Running it beside
Mercato on the same machine, in the same minutes, shows what any Python server needs for this
response here (the reference server, `benchmarks/reference.py`, now does this for every
case in every run; the measurements with this app are in docs/benchmarks.md's git history).

Compare (a seeded benchmark database; both servers with 2 uvicorn workers, 8 clients, 15 s per
round, alternating)::

    .venv/bin/python docs/minimal_store_app.py postgresql://postgres@127.0.0.1:5432/mercato_bench
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import jwt
import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

CALLER = (
    "SELECT api_key.id, array_remove(array_agg(api_key_sales_channel.sales_channel_id), NULL)"
    " AS channels, customer.id AS customer__id, customer.email AS customer__email,"
    " customer.first_name AS customer__first_name, customer.last_name AS customer__last_name,"
    " customer.phone AS customer__phone, customer.company_name AS customer__company_name,"
    " customer.has_account AS customer__has_account, customer.metadata AS customer__metadata_,"
    " customer.created_at AS customer__created_at, customer.updated_at AS customer__updated_at,"
    " customer.deleted_at AS customer__deleted_at FROM api_key LEFT OUTER JOIN"
    " api_key_sales_channel ON api_key_sales_channel.api_key_id = api_key.id LEFT OUTER JOIN"
    " customer ON customer.id = $1::VARCHAR AND customer.deleted_at IS NULL"
    " WHERE api_key.token_digest = $2::VARCHAR AND api_key.type = 'publishable'"
    " AND api_key.revoked_at IS NULL AND api_key.deleted_at IS NULL GROUP BY api_key.id, customer.id"
)
PAGE = (
    "SELECT id, display_id, customer_id, currency_code, seller_count, total, status,"
    " payment_status, fulfillment_status, created_at, updated_at FROM order_group"
    " WHERE deleted_at IS NULL AND customer_id = $1::VARCHAR"
    " ORDER BY created_at DESC, id DESC LIMIT $2::INTEGER OFFSET $3::BIGINT"
)
ORDERS = (
    "SELECT l.order_group_id AS parent_key__, o.id, o.display_id, o.status, o.payment_status,"
    " o.fulfillment_status, o.seller_id, o.currency_code, o.item_total, o.shipping_total,"
    " o.subtotal, o.tax_total, o.discount_total, o.total, s.id AS seller__id,"
    " s.name AS seller__name, s.handle AS seller__handle, s.logo AS seller__logo"
    ' FROM order_group_order l JOIN "order" o ON o.id = l.order_id'
    " LEFT OUTER JOIN seller s ON s.id = o.seller_id"
    " WHERE l.order_group_id = ANY ($1::VARCHAR[]) ORDER BY o.id"
)
LINES = (
    "SELECT i.id, i.order_id, i.variant_id, i.title, i.subtitle, i.thumbnail, i.product_title,"
    " i.variant_title, i.currency_code, i.quantity, i.unit_price, i.total, v.id AS variant__id,"
    " v.product_id AS variant__product_id, v.title AS variant__title, v.sku AS variant__sku,"
    " p.id AS variant__product__id, p.title AS variant__product__title,"
    " p.handle AS variant__product__handle, p.thumbnail AS variant__product__thumbnail"
    " FROM order_line_item i LEFT OUTER JOIN product_variant v ON v.id = i.variant_id"
    " LEFT OUTER JOIN product p ON p.id = v.product_id"
    " WHERE i.order_id = ANY ($1::VARCHAR[]) ORDER BY i.id"
)
SETTINGS = {"random_page_cost": "1.1", "max_parallel_workers_per_gather": "0"}

POOL: list[asyncpg.Pool] = []


@contextlib.asynccontextmanager
async def lifespan(_: FastAPI):
    url = os.environ["MINIMAL_DATABASE_URL"]
    POOL.append(await asyncpg.create_pool(url, min_size=4, max_size=8, server_settings=SETTINGS))
    yield
    await POOL.pop().close()


app = FastAPI(lifespan=lifespan)


def money(minor: int) -> int | float:
    return minor // 100 if minor % 100 == 0 else minor / 100


def iso(moment) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def line(row) -> dict:
    variant = product = None
    if row["variant__product__id"] is not None:
        product = {
            "id": row["variant__product__id"],
            "handle": row["variant__product__handle"],
            "title": row["variant__product__title"],
            "thumbnail": row["variant__product__thumbnail"],
        }
    if row["variant__id"] is not None:
        variant = {
            "id": row["variant__id"],
            "title": row["variant__title"],
            "sku": row["variant__sku"],
            "product": product,
        }
    return {
        "id": row["id"],
        "title": row["title"],
        "subtitle": row["subtitle"],
        "thumbnail": row["thumbnail"],
        "product_title": row["product_title"],
        "variant_title": row["variant_title"],
        "quantity": row["quantity"],
        "unit_price": money(row["unit_price"]),
        "total": money(row["total"]),
        "variant_id": row["variant_id"],
        "variant": variant,
    }


def order(row, items: list[dict]) -> dict:
    plain = ("id", "display_id", "status", "seller_id", "payment_status", "fulfillment_status")
    totals = ("total", "subtotal", "item_total", "shipping_total", "tax_total", "discount_total")
    return {
        **{key: row[key] for key in plain},
        "currency_code": row["currency_code"],
        **{key: money(row[key]) for key in totals},
        "seller": {
            "id": row["seller__id"],
            "name": row["seller__name"],
            "handle": row["seller__handle"],
            "logo": row["seller__logo"],
        },
        "items": items,
    }


def group(row, orders: list[dict]) -> dict:
    plain = ("id", "display_id", "customer_id", "currency_code", "seller_count")
    states = ("status", "payment_status", "fulfillment_status")
    return {
        **{key: row[key] for key in plain},
        "total": money(row["total"]),
        **{key: row[key] for key in states},
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "orders": orders,
    }


@app.get("/store/order-groups")
async def store_order_groups(request: Request) -> Response:
    claims = jwt.decode(request.headers["authorization"][7:], options={"verify_signature": False})
    key = hashlib.sha256(request.headers["x-publishable-api-key"].encode()).hexdigest()
    async with POOL[0].acquire() as connection:
        caller = await connection.fetchrow(CALLER, claims["actor_id"], key)
        if caller is None or caller["customer__id"] is None:
            return Response(status_code=401)
        page = await connection.fetch(PAGE, caller["customer__id"], 50, 0)
        orders = await connection.fetch(ORDERS, [row["id"] for row in page])
        lines = await connection.fetch(LINES, [row["id"] for row in orders])
    items: dict[str, list[dict]] = {}
    for row in lines:
        items.setdefault(row["order_id"], []).append(line(row))
    members: dict[str, list[dict]] = {}
    for row in orders:
        members.setdefault(row["parent_key__"], []).append(order(row, items.get(row["id"], [])))
    groups = [group(row, members.get(row["id"], [])) for row in page]
    body = {"order_groups": groups, "count": len(groups), "offset": 0, "limit": 50}
    return Response(orjson.dumps(body), media_type="application/json")


def start_minimal(url: str) -> subprocess.Popen:
    """This app under uvicorn, 2 workers, on port 9203."""
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "minimal_store_app:app", "--port", "9203"]
        + ["--workers", "2", "--no-access-log", "--log-level", "warning"],
        cwd=Path(__file__).resolve().parent,
        env={**os.environ, "MINIMAL_DATABASE_URL": url},
        start_new_session=True,
    )


async def compare(url: str, minimal_pid: int, rounds: int = 2) -> None:
    """Mercato (port 9100) and this app (port 9203), alternating, at 1 and 8 clients."""
    import httpx
    from benchmarks.load import CpuMeter, KeepAliveClient
    from benchmarks.run import Server, dataset_facts, login, run_load

    facts = await dataset_facts(url)
    mercato = Server(url, 9100, 2, Path("/tmp/mercato-compare.log"))
    try:
        await mercato.wait_ready()
        for _ in range(100):  # the minimal app answers (404 here) once it is up
            try:
                await KeepAliveClient("127.0.0.1", 9203, {}).get("/health")
                break
            except OSError:
                await asyncio.sleep(0.2)
        async with httpx.AsyncClient(base_url=mercato.base_url, timeout=30) as client:
            token = await login(client, "customer", facts["store_customer_email"])
        headers = {
            "authorization": f"Bearer {token}",
            "x-publishable-api-key": facts["publishable_key"],
        }
        servers = {"mercato": (9100, mercato.process.pid), "minimal": (9203, minimal_pid)}
        for name, (port, _) in servers.items():
            status, body = await KeepAliveClient("127.0.0.1", port, headers).get(
                "/store/order-groups"
            )
            print(f"{name}: {status}, {len(body):,} bytes")
        for _ in range(rounds):
            for name, (port, pid) in servers.items():
                for level in (1, 8):
                    client = KeepAliveClient("127.0.0.1", port, headers)

                    async def call(client: KeepAliveClient = client) -> int:
                        return (await client.get("/store/order-groups"))[0]

                    await run_load(call, concurrency=2, duration=2, max_requests=100)
                    meter = CpuMeter(pid)
                    before = meter.sample()
                    result = await run_load(
                        call, concurrency=level, duration=15, max_requests=10**5
                    )
                    cpu = CpuMeter.per_request(before, meter.sample(), result.requests)
                    print(
                        f"{name:8} c={level} {result.rps:6.1f}/s p50 {result.p50:5.1f} "
                        f"p99 {result.p99:5.1f} ms errors {result.errors}  CPU ms/req client "
                        f"{cpu['client']:.2f} server {cpu['server']:.2f} "
                        f"postgres {cpu['postgres']:.2f}",
                        flush=True,
                    )
                    await client.aclose()
    finally:
        mercato.stop()


if __name__ == "__main__":
    minimal = start_minimal(sys.argv[1])
    try:
        asyncio.run(compare(sys.argv[1], minimal.pid))
    finally:
        os.killpg(minimal.pid, signal.SIGTERM)
        minimal.wait(10)

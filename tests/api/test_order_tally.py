"""``GET /admin/orders``' and ``GET /vendor/orders``' ``count`` without filters, with status
filters and for one seller come from trigger-maintained tallies (migration 0007): they must
equal ``count(*)`` of the matching orders after any kind of write, concurrent ones included,
and the unfiltered count must not read the ``order`` table."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from alembic import command

from mercato.db.migrate import alembic_config
from tests.api.checkout_helpers import Marketplace, build_marketplace, complete, ready_cart
from tests.api.helpers import login, ok
from tests.api.tally_helpers import order_tally_mismatches

# Forms the tallies answer, each compared with the same filters plus one they cannot answer
# (the orders are then counted row by row).
TALLIED = (
    "",
    "status=pending",
    "status=completed&payment_status=captured",
    "payment_status[]=captured&payment_status[]=authorized",
    "status[$ne]=pending&fulfillment_status=not_fulfilled",
    "fulfillment_status[$nin][]=not_fulfilled",
)
SELLER_TALLIED = (
    "seller_id={a}",
    "seller_id={a}&status=pending",
    "seller_id={a}&payment_status[$ne]=authorized",
    "seller_id[]={a}&seller_id[]={b}",
    "seller_id[]={a}&seller_id[]={b}&fulfillment_status=fulfilled",
)
ROWS_COUNTED = "created_at[$gte]=2000-01-01T00:00:00Z"


async def _count(client, path: str, query: str, headers: dict[str, str]) -> int:
    separator = "&" if query else ""
    return ok(await client.get(f"{path}?limit=1{separator}{query}", headers=headers))["count"]


async def _vendor(client, market: Marketplace, seller_id: str) -> dict[str, str]:
    email = f"staff@{seller_id}.test"
    ok(
        await client.post(
            f"/admin/sellers/{seller_id}/members",
            json={"email": email, "password": "supersecret"},
            headers=market.admin,
        )
    )
    return await login(client, "seller", email, "supersecret")


async def _agree(client, market: Marketplace, conn, vendors: dict[str, dict]) -> None:
    """The tallies equal ``count(*)`` per key, and every tallied form of both lists reports
    the count the rows give."""
    assert await order_tally_mismatches(conn) == []
    orders = await conn.fetchval('SELECT count(*) FROM "order"')
    assert await _count(client, "/admin/orders", "", market.admin) == orders
    a, b = (s["id"] for s in market.sellers[:2])
    for query in (*TALLIED, *(q.format(a=a, b=b) for q in SELLER_TALLIED)):
        tallied = await _count(client, "/admin/orders", query, market.admin)
        counted = await _count(client, "/admin/orders", f"{query}&{ROWS_COUNTED}", market.admin)
        assert tallied == counted, query
    for seller_id, headers in vendors.items():
        mine = await conn.fetchval('SELECT count(*) FROM "order" WHERE seller_id = $1', seller_id)
        for query in TALLIED:
            tallied = await _count(client, "/vendor/orders", query, headers)
            counted = await _count(client, "/vendor/orders", f"{query}&{ROWS_COUNTED}", headers)
            assert tallied == counted, (seller_id, query)
        assert await _count(client, "/vendor/orders", "", headers) == mine


async def _order(client, market: Marketplace, order_id: str) -> dict[str, Any]:
    return ok(await client.get(f"/admin/orders/{order_id}", headers=market.admin))["order"]


async def _post(client, market: Marketplace, path: str, body: dict | None = None) -> None:
    ok(await client.post(f"/admin/orders/{path}", json=body or {}, headers=market.admin))


@pytest.mark.slow  # bursts of concurrent checkouts and order writes
async def test_order_tallies_follow_every_write(client, admin_headers, database_url):
    market = await build_marketplace(client, admin_headers, sellers=3, stock=1000)
    a, b, c = (s["id"] for s in market.sellers)
    conn = await asyncpg.connect(database_url)
    try:
        vendors = {s: await _vendor(client, market, s) for s in (a, b)}
        await _agree(client, market, conn, vendors)  # no orders yet

        # Concurrent checkouts: three-seller and two-seller carts completing together.
        carts = [
            await ready_cart(
                client,
                market,
                [(market.variants[s][0], 1) for s in ((a, b, c) if i % 2 else (a, b))],
                email=f"s{i}@example.com",
            )
            for i in range(10)
        ]
        responses = await asyncio.gather(*(complete(client, market, cart["id"]) for cart in carts))
        assert all(r.status_code == 200 for r in responses)
        assert await _count(client, "/admin/orders", "", market.admin) == 25
        await _agree(client, market, conn, vendors)

        groups = [r.json()["order_group"] for r in responses]
        by_seller = {
            s: [o["id"] for g in groups for o in g["orders"] if o["seller_id"] == s]
            for s in (a, b, c)
        }
        first, second, third = by_seller[a][:3]
        # Captures (full, partial, and concurrent ones of different orders), then a refund.
        await _post(client, market, f"{first}/capture")
        await _post(client, market, f"{second}/capture", {"amount": 1})
        await asyncio.gather(
            *(_post(client, market, f"{order_id}/capture") for order_id in by_seller[b][:4])
        )
        await _agree(client, market, conn, vendors)
        await _post(client, market, f"{first}/refund", {"amount": 1})
        await _agree(client, market, conn, vendors)

        # Fulfil, ship, deliver; cancel a fulfilment.
        order = await _order(client, market, first)
        line = order["items"][0]
        await _post(
            client, market, f"{first}/fulfillments", {"items": [{"id": line["id"], "quantity": 1}]}
        )
        await _agree(client, market, conn, vendors)
        fulfillment = (await _order(client, market, first))["fulfillments"][0]["id"]
        await _post(
            client,
            market,
            f"{first}/fulfillments/{fulfillment}/shipments",
            {"labels": [{"tracking_number": "T1"}]},
        )
        await _post(client, market, f"{first}/fulfillments/{fulfillment}/mark-as-delivered")
        await _agree(client, market, conn, vendors)
        line = (await _order(client, market, second))["items"][0]
        await _post(
            client, market, f"{second}/fulfillments", {"items": [{"id": line["id"], "quantity": 1}]}
        )
        fulfillment = (await _order(client, market, second))["fulfillments"][0]["id"]
        await _post(client, market, f"{second}/fulfillments/{fulfillment}/cancel")
        await _agree(client, market, conn, vendors)

        # Cancel, complete, archive.
        await _post(client, market, f"{third}/cancel")
        await _post(client, market, f"{first}/complete")
        await _agree(client, market, conn, vendors)
        await _post(client, market, f"{first}/archive")
        await _post(client, market, f"{third}/archive")
        await _agree(client, market, conn, vendors)

        # Writes outside the use cases: a multi-row status change, a change of no key (the
        # tallies do not move), a rolled-back change, inserted and deleted rows.
        await conn.execute(
            "UPDATE \"order\" SET status = 'completed', payment_status = 'captured' "
            "WHERE id = ANY($1)",
            by_seller[c],
        )
        await conn.execute("UPDATE \"order\" SET email = 'x@example.com'")
        await _agree(client, market, conn, vendors)
        rollback = conn.transaction()
        await rollback.start()
        await conn.execute("UPDATE \"order\" SET status = 'canceled'")
        await rollback.rollback()
        await conn.execute(
            'INSERT INTO "order" SELECT (jsonb_populate_record(o, jsonb_build_object('
            "'id', 'copy_' || o.id, 'display_id', o.display_id + 1000))).* "
            'FROM "order" o WHERE seller_id = ANY($1)',
            [a, c],
        )
        assert await _count(client, "/admin/orders", "", market.admin) == 25 + 10 + 5
        await _agree(client, market, conn, vendors)
        await conn.execute("DELETE FROM \"order\" WHERE id LIKE 'copy_%' AND seller_id = $1", a)
        await _agree(client, market, conn, vendors)

        # The counts are read from the tallies (not recounted): skewing them shows.
        await conn.execute(
            "UPDATE order_tally SET live = live + 100 "
            "WHERE ctid = (SELECT ctid FROM order_tally WHERE live > 0 LIMIT 1)"
        )
        await conn.execute(
            "UPDATE order_seller_tally SET live = live + 7 WHERE ctid = "
            "(SELECT ctid FROM order_seller_tally WHERE seller_id = $1 AND live > 0 LIMIT 1)",
            a,
        )
        assert await _count(client, "/admin/orders", "", market.admin) == 30 + 100
        assert await _count(client, "/admin/orders", f"seller_id={a}", market.admin) == 10 + 7
        assert await _count(client, "/vendor/orders", "", vendors[a]) == 10 + 7
        await conn.execute("SELECT order_tally_rebuild()")
        await _agree(client, market, conn, vendors)

        await conn.execute('TRUNCATE "order" CASCADE')
        assert await conn.fetchval("SELECT count(*) FROM order_tally") == 0
        await _agree(client, market, conn, vendors)
    finally:
        await conn.close()


async def test_unfiltered_admin_count_does_not_read_the_order_table(
    client, admin_headers, count_statements
):
    market = await build_marketplace(client, admin_headers, sellers=2)
    ok(await complete(client, market, (await ready_cart(client, market))["id"]))
    async with count_statements() as log:
        listed = ok(await client.get("/admin/orders?limit=1", headers=market.admin))
    statements = list(log.sql)
    assert listed["count"] == 2 and len(listed["orders"]) == 1  # a full page: a count ran
    reading_orders = [s for s in statements if 'FROM "order"' in s]
    assert len(reading_orders) == 1 and "LIMIT" in reading_orders[0], reading_orders  # the page
    assert any("order_tally" in s for s in statements), statements


async def test_the_migration_counts_existing_orders(client, admin_headers, database_url):
    market = await build_marketplace(client, admin_headers, sellers=3)
    for _ in range(2):
        ok(await complete(client, market, (await ready_cart(client, market))["id"]))
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE \"order\" SET status = 'completed' WHERE seller_id = $1",
            market.sellers[0]["id"],
        )
        config = alembic_config(database_url.replace("postgresql://", "postgresql+asyncpg://", 1))
        # Alembic runs its own event loop: from a thread.
        await asyncio.to_thread(command.downgrade, config, "0007-1")
        try:
            assert await conn.fetchval("SELECT to_regclass('order_tally')") is None
        finally:
            await asyncio.to_thread(command.upgrade, config, "head")
        assert await conn.fetchval("SELECT sum(live) FROM order_tally") == 6
        assert await order_tally_mismatches(conn) == []
    finally:
        await conn.close()

"""The admin list's ``count`` without filters or with status filters comes from a
trigger-maintained tally (migration 0004): it must equal ``count(*)`` of the matching live groups
after any kind of write, concurrent checkouts included."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.api.checkout_helpers import build_marketplace, complete, ready_cart
from tests.api.helpers import ok


async def _listed_count(client, admin_headers) -> int:
    return ok(await client.get("/admin/order-groups?limit=1", headers=admin_headers))["count"]


async def _live(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM order_group WHERE deleted_at IS NULL")


@pytest.mark.slow  # a burst of concurrent checkouts and order writes
async def test_unfiltered_count_follows_every_write(client, admin_headers, database_url):
    market = await build_marketplace(client, admin_headers, sellers=2, stock=1000)
    assert await _listed_count(client, admin_headers) == 0

    carts = [await ready_cart(client, market, email=f"s{i}@example.com") for i in range(12)]
    responses = await asyncio.gather(*(complete(client, market, c["id"]) for c in carts))
    assert all(r.status_code == 200 for r in responses)
    assert await _listed_count(client, admin_headers) == 12

    conn = await asyncpg.connect(database_url)
    try:
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM order_group ORDER BY id")]
        # Soft delete, re-delete (no change in liveness), undelete, and a multi-row update.
        await conn.execute("UPDATE order_group SET deleted_at = now() WHERE id = $1", ids[0])
        assert await _listed_count(client, admin_headers) == await _live(conn) == 11
        await conn.execute("UPDATE order_group SET deleted_at = now() WHERE id = $1", ids[0])
        assert await _listed_count(client, admin_headers) == 11
        await conn.execute("UPDATE order_group SET deleted_at = NULL WHERE id = $1", ids[0])
        assert await _listed_count(client, admin_headers) == 12
        await conn.execute("UPDATE order_group SET deleted_at = now() WHERE id = ANY($1)", ids[:5])
        assert await _listed_count(client, admin_headers) == await _live(conn) == 7
        # A rolled-back change leaves the tally alone.
        with_rollback = conn.transaction()
        await with_rollback.start()
        await conn.execute("UPDATE order_group SET deleted_at = NULL WHERE id = ANY($1)", ids[:5])
        await with_rollback.rollback()
        assert await _listed_count(client, admin_headers) == 7
        # Deleting rows (live and soft-deleted ones).
        await conn.execute("DELETE FROM order_group_order WHERE order_group_id = ANY($1)", ids[4:6])
        await conn.execute("DELETE FROM order_group WHERE id = ANY($1)", ids[4:6])
        assert await _listed_count(client, admin_headers) == await _live(conn) == 6
        # Status changes move groups between the tally's rows.
        await conn.execute(
            "UPDATE order_group SET status = 'completed', payment_status = 'captured' "
            "WHERE id = ANY($1)",
            ids[6:9],
        )
        for query in (
            "status=pending",
            "status=completed&payment_status=captured",
            "payment_status[]=captured&payment_status[]=authorized",
            "status[$ne]=pending&fulfillment_status=not_fulfilled",
        ):
            page = ok(
                await client.get(f"/admin/order-groups?limit=1&{query}", headers=admin_headers)
            )
            expected = ok(  # the same filters plus one the tally cannot answer: rows are counted
                await client.get(
                    f"/admin/order-groups?limit=1&{query}&created_at[$gte]=2000-01-01T00:00:00Z",
                    headers=admin_headers,
                )
            )
            assert page["count"] == expected["count"], query
        assert (
            ok(
                await client.get(
                    "/admin/order-groups?limit=1&status=completed", headers=admin_headers
                )
            )["count"]
            == 3
        )
        # One seller's count comes from the seller tally.
        for seller in market.sellers:
            by_tally, by_rows = [
                ok(await client.get(f"/admin/order-groups?{query}", headers=admin_headers))["count"]
                for query in (
                    f"limit=1&seller_id={seller['id']}",
                    f"limit=1&seller_id={seller['id']}&created_at[$gte]=2000-01-01T00:00:00Z",
                )
            ]
            assert by_tally == by_rows == 6, seller["id"]  # 12 groups, 5 soft-deleted, 1 deleted
        # The count is read from the tally (not recounted): skewing it shows.
        await conn.execute(
            "UPDATE order_group_tally SET live = live + 100 "
            "WHERE ctid = (SELECT ctid FROM order_group_tally WHERE live > 0 LIMIT 1)"
        )
        assert await _listed_count(client, admin_headers) == 106
        await conn.execute("TRUNCATE order_group, order_group_order CASCADE")
        assert await _listed_count(client, admin_headers) == 0
    finally:
        await conn.close()

"""The benchmark seeder at tiny scale: counts, stored aggregates and totals are consistent."""

from __future__ import annotations

from collections import defaultdict

import asyncpg
import pytest
from benchmarks import seed as bench_seed
from benchmarks.seed import PASSWORD, SeedConfig, seed

from mercato.auth.passwords import hash_password
from mercato.domain.statuses import GroupMember, group_statuses
from mercato.domain.totals import document_totals, line_totals, shipping_totals

pytestmark = pytest.mark.slow  # each test seeds a benchmark database

GROUPS = 50


async def _seed(database_url: str) -> None:
    config = SeedConfig(groups=GROUPS, sellers=12, products=60, customers=300, chunk=20)
    await seed(
        database_url, config, password_hash=await hash_password(PASSWORD), log=lambda _: None
    )


async def test_bench_seed_is_consistent(engine, database_url, monkeypatch):
    loaded_at: list[str] = []
    checkpoint = bench_seed._checkpoint

    async def noting_where_the_load_ended(conn: asyncpg.Connection) -> None:
        loaded_at.append(await conn.fetchval("SELECT pg_current_wal_insert_lsn()::text"))
        await checkpoint(conn)

    monkeypatch.setattr(bench_seed, "_checkpoint", noting_where_the_load_ended)
    conn = await asyncpg.connect(database_url)
    try:
        await _seed(database_url)
        # The load ends with a checkpoint that began after all of the load's WAL (whatever
        # else the server writes meanwhile only moves the positions further on).
        assert len(loaded_at) == 1
        assert await conn.fetchval(
            "SELECT redo_lsn >= $1::text::pg_lsn FROM pg_control_checkpoint()", loaded_at[0]
        )
        assert await conn.fetchval("SELECT count(*) FROM order_group") == GROUPS
        assert await conn.fetchval("SELECT count(*) FROM seller") == 12
        assert await conn.fetchval("SELECT count(*) FROM product_variant") == 60
        assert await conn.fetchval("SELECT count(*) FROM price") == 60
        assert await conn.fetchval("SELECT count(*) FROM inventory_level") == 60
        assert await conn.fetchval("SELECT count(*) FROM customer") == 300
        assert await conn.fetchval("SELECT count(*) FROM stock_location") == 12
        assert await conn.fetchval("SELECT count(*) FROM shipping_option") == 12
        assert await conn.fetchval("SELECT count(*) FROM seller_member") == 12
        assert await conn.fetchval("SELECT count(*) FROM api_key WHERE token IS NOT NULL") == 1
        orders = await conn.fetchval('SELECT count(*) FROM "order"')
        assert GROUPS <= orders <= 5 * GROUPS
        # Every group has a completed cart, a payment collection and 1–5 orders.
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM order_group g JOIN cart c ON c.id = g.cart_id "
                "JOIN payment_collection pc ON pc.cart_id = c.id "
                "WHERE c.completed_at IS NOT NULL AND pc.amount = (SELECT "
                "sum((o.summary->>'original_order_total')::bigint) FROM order_group_order l "
                'JOIN "order" o ON o.id = l.order_id WHERE l.order_group_id = g.id)'
            )
            == GROUPS
        )
        per_group = await conn.fetch(
            "SELECT count(*) AS n FROM order_group_order GROUP BY order_group_id"
        )
        assert all(1 <= r["n"] <= 5 for r in per_group)
        # Display ids are unique and the sequences continue after them.
        assert await conn.fetchval('SELECT count(DISTINCT display_id) FROM "order"') == orders

        # Order totals are the sums of their lines and shipping methods (domain.totals).
        lines = defaultdict(list)
        for r in await conn.fetch("SELECT * FROM order_line_item"):
            assert (r["subtotal"], r["tax_total"], r["total"]) == tuple(
                getattr(line_totals(r["unit_price"], r["quantity"], 10, False), f)
                for f in ("subtotal", "tax_total", "total")
            )
            lines[r["order_id"]].append(line_totals(r["unit_price"], r["quantity"], 10, False))
        shipping = defaultdict(list)
        for r in await conn.fetch("SELECT * FROM order_shipping_method"):
            shipping[r["order_id"]].append(shipping_totals(r["amount"], 10, False))
        credits: dict[str, int] = defaultdict(int)
        for r in await conn.fetch("SELECT * FROM order_credit_line"):
            credits[r["order_id"]] += r["amount"]
        order_rows = await conn.fetch('SELECT * FROM "order"')
        for o in order_rows:
            expected = document_totals(lines[o["id"]], shipping[o["id"]])
            for name, value in expected.as_dict().items():
                if name == "total":  # a canceled order's total went to a credit line
                    assert o[name] == value - credits[o["id"]], (o["id"], name)
                elif name != "original_total":
                    assert o[name] == value, (o["id"], name)
        links = dict(
            (r["order_id"], r["amount"])
            for r in await conn.fetch("SELECT * FROM order_payment_collection")
        )
        assert all(links[o["id"]] == o["total"] + credits[o["id"]] for o in order_rows)

        # Stored group aggregates equal group_statuses over the stored order statuses.
        members = defaultdict(list)
        for r in await conn.fetch(
            'SELECT ogo.order_group_id, o.* FROM order_group_order ogo JOIN "order" o '
            "ON o.id = ogo.order_id"
        ):
            members[r["order_group_id"]].append(r)
        statuses_seen = set()
        for g in await conn.fetch("SELECT * FROM order_group"):
            orders_of = members[g["id"]]
            expected = group_statuses(
                GroupMember(
                    o["status"],
                    o["payment_status"],
                    o["fulfillment_status"],
                    was_canceled=o["canceled_at"] is not None,
                )
                for o in orders_of
            )
            assert (g["status"], g["payment_status"], g["fulfillment_status"]) == (
                expected.status,
                expected.payment_status,
                expected.fulfillment_status,
            )
            assert g["total"] == sum(o["total"] for o in orders_of)
            assert g["seller_count"] == len({o["seller_id"] for o in orders_of})
            assert list(g["seller_ids"]) == sorted({o["seller_id"] for o in orders_of})
            statuses_seen.add(g["status"])
        assert "pending" in statuses_seen and len(statuses_seen) >= 2
        # Group links carry their order's seller and their group's time (the seller page index).
        assert not await conn.fetchval(
            'SELECT count(*) FROM order_group_order l JOIN "order" o ON o.id = l.order_id '
            "JOIN order_group g ON g.id = l.order_group_id "
            "WHERE l.seller_id <> o.seller_id OR l.group_created_at <> g.created_at"
        )
        # The tallies were rebuilt after the trigger-less COPY.
        assert await conn.fetchval("SELECT sum(live) FROM order_group_tally") == GROUPS
        assert await conn.fetchval("SELECT sum(live) FROM order_tally") == orders
        assert await conn.fetchval("SELECT sum(live) FROM order_seller_tally") == orders

        # Captured orders carry captures and capture transactions for their total.
        captured = await conn.fetch(
            'SELECT o.id, o.total, coalesce(sum(c.amount), 0) AS captured FROM "order" o '
            "LEFT JOIN capture c ON c.order_id = o.id "
            "WHERE o.payment_status = 'captured' GROUP BY o.id, o.total"
        )
        assert all(r["captured"] == r["total"] for r in captured)
        # Delivered orders have a delivered fulfilment and fully delivered lines.
        assert not await conn.fetchval(
            "SELECT count(*) FROM \"order\" o WHERE o.fulfillment_status = 'delivered' AND "
            "(NOT EXISTS (SELECT 1 FROM fulfillment f WHERE f.order_id = o.id AND "
            "f.delivered_at IS NOT NULL) OR EXISTS (SELECT 1 FROM order_line_item l "
            "WHERE l.order_id = o.id AND l.delivered_quantity <> l.quantity))"
        )
    finally:
        await conn.close()


async def test_bench_seed_refuses_a_seeded_database(engine, database_url):
    await _seed(database_url)
    try:
        await _seed(database_url)
    except RuntimeError as exc:
        assert "already" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("seeding twice must fail")

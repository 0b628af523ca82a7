"""The benchmark seeder at tiny scale: counts, stored aggregates and totals are consistent."""

from __future__ import annotations

import json
from collections import defaultdict

import asyncpg
import pytest
from benchmarks import seed as bench_seed
from benchmarks.run import dataset_facts, read_cases
from benchmarks.seed import ADMIN_EMAIL, PASSWORD, SeedConfig, seed

from mercato.auth.passwords import hash_password
from mercato.domain.statuses import GroupMember, group_statuses
from mercato.domain.totals import document_totals, line_totals, shipping_totals
from tests.api.helpers import login, ok

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
        assert await conn.fetchval("SELECT count(*) FROM shipping_option") == 24
        assert await conn.fetchval("SELECT count(*) FROM shipping_option WHERE is_return") == 12
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
        for r in await conn.fetch("SELECT order_id, amount FROM order_credit_line"):
            credits[r["order_id"]] += r["amount"]
        deducted = dict(
            await conn.fetch(
                "SELECT order_id, sum(deducted_amount)::bigint FROM order_line_item "
                "GROUP BY order_id"
            )
        )
        links = dict(
            (r["order_id"], r["amount"])
            for r in await conn.fetch("SELECT * FROM order_payment_collection")
        )
        order_rows = await conn.fetch('SELECT * FROM "order"')
        summaries = {o["id"]: json.loads(o["summary"]) for o in order_rows}
        for o in order_rows:
            # Lines and shipping methods, a return's included; the total less credit lines (a
            # canceled order's is its whole total) (orders.md).
            expected = document_totals(lines[o["id"]], shipping[o["id"]])
            for name, value in expected.as_dict().items():
                if name not in ("original_total", "original_tax_total", "total"):
                    assert o[name] == value, (o["id"], name)
            assert o["total"] == expected.total - credits[o["id"]], o["id"]
            # order-changes.md §3.3: current = lines − returned value + shipping − credit lines.
            summary = summaries[o["id"]]
            assert summary["original_order_total"] == links[o["id"]], o["id"]
            assert summary["current_order_total"] == (
                expected.total - deducted[o["id"]] - credits[o["id"]]
            ), o["id"]

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
            assert g["total"] == sum(summaries[o["id"]]["current_order_total"] for o in orders_of)
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

        # Captured orders carry captures and capture transactions for their total at placement.
        captured = await conn.fetch(
            "SELECT o.id, (o.summary->>'original_order_total')::bigint AS total, "
            'coalesce(sum(c.amount), 0) AS captured FROM "order" o '
            "LEFT JOIN capture c ON c.order_id = o.id "
            "WHERE o.payment_status = 'captured' GROUP BY o.id"
        )
        assert captured and all(r["captured"] == r["total"] for r in captured)
        # Delivered orders have a delivered fulfilment and fully delivered lines.
        assert not await conn.fetchval(
            "SELECT count(*) FROM \"order\" o WHERE o.fulfillment_status = 'delivered' AND "
            "(NOT EXISTS (SELECT 1 FROM fulfillment f WHERE f.order_id = o.id AND "
            "f.delivered_at IS NOT NULL) OR EXISTS (SELECT 1 FROM order_line_item l "
            "WHERE l.order_id = o.id AND l.delivered_quantity <> l.quantity))"
        )
        await _check_returns(conn, summaries)
    finally:
        await conn.close()


async def _check_returns(conn: asyncpg.Connection, summaries: dict[str, dict]) -> None:
    """Returns as ``domain.returns`` leaves them and the admin routes would store them: items
    of the order's fulfilled lines, the lines' return quantities, confirmed changes and their
    applied actions, the orders' versions, return shipping methods, and the statuses."""
    returns = {r["id"]: r for r in await conn.fetch("SELECT * FROM order_return")}
    assert returns and {r["status"] for r in returns.values()} == {"requested", "received"}
    assert len({r["display_id"] for r in returns.values()}) == len(returns)
    by_line: dict[str, list] = defaultdict(list)
    for i in await conn.fetch("SELECT * FROM return_item"):
        ret = returns[i["return_id"]]
        by_line[i["item_id"]].append(i)
        received = ret["status"] == "received"
        assert i["received_quantity"] == (i["quantity"] if received else 0)
        assert i["quantity"] > 0 and i["deducted_amount"] > 0 and i["damaged_quantity"] == 0
    for line in await conn.fetch("SELECT * FROM order_line_item"):
        items = by_line.get(line["id"], [])
        assert line["deducted_quantity"] == sum(i["quantity"] for i in items)
        assert line["deducted_amount"] == sum(i["deducted_amount"] for i in items)
        assert line["return_received_quantity"] == sum(i["received_quantity"] for i in items)
        assert line["return_requested_quantity"] == sum(
            i["quantity"] - i["received_quantity"] for i in items
        )
        assert line["deducted_quantity"] <= line["fulfilled_quantity"]
        assert all(returns[i["return_id"]]["order_id"] == line["order_id"] for i in items)
    changes = await conn.fetch("SELECT * FROM order_change")
    assert {c["status"] for c in changes} == {"confirmed"}
    kinds = defaultdict(set)
    for c in changes:
        kinds[c["return_id"]].add(c["change_type"])
        assert returns[c["return_id"]]["order_id"] == c["order_id"]
    for return_id, ret in returns.items():
        expected = {"return_request"} | (
            {"return_receive"} if ret["status"] == "received" else set()
        )
        assert kinds[return_id] == expected
    assert not await conn.fetchval(
        "SELECT count(*) FROM order_change_action a JOIN order_change c "
        "ON c.id = a.order_change_id WHERE NOT a.applied OR a.order_id <> c.order_id "
        "OR a.version <> c.version"
    )
    assert await conn.fetchval(
        "SELECT count(*) FROM order_change_action WHERE action = 'RECEIVE_RETURN_ITEM'"
    )
    versions = await conn.fetch(
        'SELECT o.id, o.version, count(c.id) AS changes FROM "order" o '
        "LEFT JOIN order_change c ON c.order_id = o.id GROUP BY o.id"
    )
    assert all(v["version"] == 1 + v["changes"] for v in versions)
    methods = await conn.fetch(
        "SELECT m.order_id, r.order_id AS return_order FROM order_shipping_method m "
        "JOIN order_return r ON r.id = m.return_id"
    )
    assert methods and all(m["order_id"] == m["return_order"] for m in methods)
    statuses = dict(await conn.fetch('SELECT id, status FROM "order"'))
    fulfillment = dict(await conn.fetch('SELECT id, fulfillment_status FROM "order"'))
    for ret in returns.values():
        summary = summaries[ret["order_id"]]
        if ret["status"] == "received":
            assert fulfillment[ret["order_id"]] in ("partially_returned", "returned")
            assert summary["refund_due"] > 0
        else:
            assert summary["return_requested_total"] > 0
        assert (statuses[ret["order_id"]] == "requires_action") == (summary["refund_due"] > 0)


async def test_bench_seed_refuses_a_seeded_database(engine, database_url):
    await _seed(database_url)
    try:
        await _seed(database_url)
    except RuntimeError as exc:
        assert "already" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("seeding twice must fail")


async def test_the_returns_case_reads_the_order_with_the_most_returns(client, database_url):
    """``order_detail_returns`` (issue 17): the seeded order with the most returns, shown with
    its returns and their items."""
    await _seed(database_url)
    facts = await dataset_facts(database_url)
    assert facts["returns"] > 0 and facts["returns_order_returns"] >= 1
    case = next(c for c in read_cases(facts) if c.name == "order_detail_returns")
    admin = await login(client, "user", ADMIN_EMAIL, PASSWORD)
    order = ok(await client.get(case.path, params=case.params, headers=admin))["order"]
    assert order["id"] == facts["returns_order_id"]
    assert len(order["returns"]) == facts["returns_order_returns"]
    assert all(r["items"] and r["order_id"] == order["id"] for r in order["returns"])
    assert order["items"] and order["summary"]["original_order_total"] > 0

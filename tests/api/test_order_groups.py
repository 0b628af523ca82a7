"""Order-group reads (order-groups.md): admin filters, q, sort, fields, computed values that
filters never change, customer scoping in the store, and constant query counts."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.api.checkout_helpers import build_marketplace, complete, ready_cart
from tests.api.helpers import error, login, ok


async def register_customer(client, market, email: str) -> dict[str, str]:
    token = ok(
        await client.post(
            "/auth/customer/emailpass/register", json={"email": email, "password": "supersecret"}
        )
    )["token"]
    ok(
        await client.post(
            "/store/customers",
            json={"email": email, "first_name": email.split("@")[0]},
            headers={**market.store, "authorization": f"Bearer {token}"},
        )
    )
    return await login(client, "customer", email, "supersecret")


async def checkout(client, market, sellers, customer_headers=None, email="guest@example.com"):
    items = [(market.variants[s][0], 1) for s in sellers]
    cart = await ready_cart(
        client, market, items, headers=customer_headers, email=None if customer_headers else email
    )
    return ok(await complete(client, market, cart["id"], customer_headers))["order_group"]


@pytest.fixture
async def scene(client, admin_headers):
    """Three groups: alice buys from A+B, bob from B+C, a guest from A only."""
    market = await build_marketplace(client, admin_headers, sellers=3)
    a, b, c = (s["id"] for s in market.sellers)
    alice = await register_customer(client, market, "alice@example.com")
    bob = await register_customer(client, market, "bob@example.com")
    groups = {
        "alice": await checkout(client, market, [a, b], alice),
        "bob": await checkout(client, market, [b, c], bob),
        "guest": await checkout(client, market, [a]),
    }
    return market, {"a": a, "b": b, "c": c}, {"alice": alice, "bob": bob}, groups


async def listed(client, market, **params) -> list[str]:
    body = ok(await client.get("/admin/order-groups", params=params, headers=market.admin))
    assert body["count"] == len(body["order_groups"]) or "limit" in params
    return [g["id"] for g in body["order_groups"]]


async def test_default_list_shape_and_order(client, scene):
    market, _, _, groups = scene
    body = ok(await client.get("/admin/order-groups", headers=market.admin))
    assert body["count"] == 3 and body["offset"] == 0 and body["limit"] == 50
    first = body["order_groups"][0]
    assert list(first) == [
        "id",
        "display_id",
        "customer_id",
        "cart_id",
        "currency_code",
        "seller_count",
        "total",
        "status",
        "payment_status",
        "fulfillment_status",
        "created_at",
        "updated_at",
    ]
    assert [g["id"] for g in body["order_groups"]] == [
        groups["guest"]["id"],
        groups["bob"]["id"],
        groups["alice"]["id"],
    ]
    assert first["status"] == "pending" and first["payment_status"] == "authorized"
    assert first["fulfillment_status"] == "not_fulfilled"
    ascending = await listed(client, market, order="display_id")
    assert ascending == [groups["alice"]["id"], groups["bob"]["id"], groups["guest"]["id"]]


async def test_filters_select_groups_and_never_change_their_aggregates(client, scene):
    market, sellers, _, groups = scene
    everything = {
        g["id"]: g
        for g in ok(await client.get("/admin/order-groups", headers=market.admin))["order_groups"]
    }
    body = ok(
        await client.get(
            "/admin/order-groups", params={"seller_id": sellers["a"]}, headers=market.admin
        )
    )
    assert {g["id"] for g in body["order_groups"]} == {groups["alice"]["id"], groups["guest"]["id"]}
    for group in body["order_groups"]:
        assert group == everything[group["id"]]  # seller_count and total are the whole group's
    assert everything[groups["alice"]["id"]]["seller_count"] == 2
    alice_customer = groups["alice"]["customer_id"]
    assert await listed(client, market, customer_id=alice_customer) == [groups["alice"]["id"]]
    assert set(
        await listed(client, market, **{"seller_id[]": [sellers["a"], sellers["c"]]})
    ) == set(g["id"] for g in groups.values())
    assert await listed(client, market, seller_id=sellers["c"], customer_id=alice_customer) == []
    assert await listed(client, market, **{"seller_id[$nin][]": [sellers["a"]]}) == [
        groups["bob"]["id"]
    ]
    assert len(await listed(client, market, status="pending", payment_status="authorized")) == 3
    assert await listed(client, market, payment_status="captured") == []
    assert len(await listed(client, market, fulfillment_status="not_fulfilled")) == 3
    created = groups["bob"]["created_at"]
    assert set(await listed(client, market, **{"created_at[$gte]": created})) == {
        groups["bob"]["id"],
        groups["guest"]["id"],
    }
    assert await listed(client, market, **{"created_at[$lt]": created}) == [groups["alice"]["id"]]
    assert await listed(client, market, id=groups["bob"]["id"]) == [groups["bob"]["id"]]
    assert (
        len(await listed(client, market, **{"updated_at[$gte]": groups["alice"]["updated_at"]}))
        == 3
    )
    assert await listed(client, market, **{"updated_at[$lt]": groups["alice"]["updated_at"]}) == []
    assert len(await listed(client, market, sales_channel_id=market.channel_id)) == 3


async def test_q_matches_email_name_display_id_and_ids(client, scene):
    market, _, _, groups = scene
    assert await listed(client, market, q="ALICE@") == [groups["alice"]["id"]]
    assert await listed(client, market, q="bob") == [groups["bob"]["id"]]
    assert await listed(client, market, q=str(groups["guest"]["display_id"])) == [
        groups["guest"]["id"]
    ]
    assert await listed(client, market, q=groups["bob"]["cart_id"]) == [groups["bob"]["id"]]
    assert await listed(client, market, q=groups["alice"]["id"]) == [groups["alice"]["id"]]
    assert await listed(client, market, q="%") == []
    assert await listed(client, market, q="bob", seller_id=scene[1]["a"]) == []


async def test_q_matches_the_email_of_guest_groups(client, scene):
    """A guest group's email is its cart's; a customer's group is found by the customer's
    email, not by the email its cart was given."""
    market, sellers, customers, groups = scene
    readme = await checkout(client, market, [sellers["c"]], email="guest@shopper.test")
    assert await listed(client, market, q="guest@shopper.test") == [readme["id"]]
    assert await listed(client, market, q="GUEST@SHOPPER") == [readme["id"]]
    assert await listed(client, market, q="guest@") == [readme["id"], groups["guest"]["id"]]
    assert await listed(client, market, q="shopper.test", seller_id=sellers["a"]) == []
    # an open guest cart with a matching email is not a group
    ok(
        await client.post(
            "/store/carts",
            json={"region_id": market.region["id"], "email": "guest@shopper.test"},
            headers=market.store,
        )
    )
    assert await listed(client, market, q="guest@shopper.test") == [readme["id"]]
    # alice gives her cart another email: her group is still found by her own email only
    items = [(market.variants[sellers["a"]][0], 1)]
    cart = await ready_cart(client, market, items, headers=customers["alice"])
    changed = await client.post(
        f"/store/carts/{cart['id']}",
        json={"email": "elsewhere@work.test"},
        headers={**market.store, **customers["alice"]},
    )
    assert ok(changed)["cart"]["email"] == "elsewhere@work.test"
    ok(
        await client.post(
            "/store/payment-collections/"
            + ok(
                await client.post(
                    "/store/payment-collections",
                    json={"cart_id": cart["id"]},
                    headers={**market.store, **customers["alice"]},
                )
            )["payment_collection"]["id"]
            + "/payment-sessions",
            json={"provider_id": "pp_system_default"},
            headers={**market.store, **customers["alice"]},
        )
    )
    group = ok(await complete(client, market, cart["id"], customers["alice"]))["order_group"]
    assert await listed(client, market, q="elsewhere@work") == []
    assert group["id"] in await listed(client, market, q="alice@example.com")


async def test_q_on_emails_is_served_by_indexes(client, app, scene, database_url, count_statements):
    """With sequential scans discouraged, no statement of a ``q`` search scans the groups —
    nor the carts and customers where ``pg_trgm`` gives them trigram indexes (migrations 0002,
    0006) — prefetched or as a subquery."""
    import asyncpg

    from mercato.orders.group_resources import ADMIN_GROUP_LIST

    market, _, _, groups = scene
    async with count_statements() as log:
        assert await listed(client, market, q="guest@example.com") == [groups["guest"]["id"]]
        ADMIN_GROUP_LIST.q.limit, limit = 0, ADMIN_GROUP_LIST.q.limit
        try:
            assert await listed(client, market, q="guest@example.com") == [groups["guest"]["id"]]
        finally:
            ADMIN_GROUP_LIST.q.limit = limit
    statements = [
        (sql, tuple(args or ())) for sql, args in zip(log.sql, log.parameters, strict=True)
    ]

    searches = [(sql, args) for sql, args in statements if "lower(" in sql and "LIKE" in sql]
    assert len(searches) >= 3  # the prefetch, then the page as a subquery search (and count)
    conn = await asyncpg.connect(database_url)
    scanned: set[str] = set()
    indexes: set[str] = set()
    try:
        trigram = await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        undo = conn.transaction()
        await undo.start()
        await conn.execute("SET LOCAL enable_seqscan = off")
        if trigram:  # the only other way into guest carts, which on these few rows wins
            await conn.execute("DROP INDEX ix_cart_customer_id")
        for sql, args in searches:
            plan = json.loads(await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args))
            scanned |= set(_plan_values(plan[0]["Plan"], "Relation Name", "Seq Scan"))
            indexes |= set(_plan_values(plan[0]["Plan"], "Index Name"))
        await undo.rollback()
    finally:
        await conn.close()
    assert "order_group" not in scanned
    if trigram:
        assert scanned.isdisjoint({"cart", "customer"}), scanned
        assert {"ix_cart_guest_email_trgm", "ix_customer_email_trgm"} <= indexes, indexes


def _plan_values(plan: dict, key: str, node_type: str | None = None) -> list[str]:
    """``key`` of every node of an EXPLAIN plan (of the nodes of ``node_type`` only)."""
    found = [plan[key]] if key in plan and node_type in (None, plan["Node Type"]) else []
    for child in plan.get("Plans", []):
        found.extend(_plan_values(child, key, node_type))
    return found


async def test_count_is_the_total_whatever_the_page(client, scene, count_statements):
    """A page that is not full ends the result, so its count needs no statement; full and empty
    pages count (all three groups either way)."""
    market = scene[0]

    async def page(**params) -> tuple[int, int, int]:
        async with count_statements() as counter:
            body = ok(await client.get("/admin/order-groups", params=params, headers=market.admin))
        return len(body["order_groups"]), body["count"], counter.count

    full, partial, past_the_end = (
        await page(limit=2),
        await page(limit=2, offset=2),
        await page(limit=2, offset=5),
    )
    assert (full[:2], partial[:2], past_the_end[:2]) == ((2, 3), (1, 3), (0, 3))
    assert partial[2] == full[2] - 1 == past_the_end[2] - 1
    filtered = await page(status="pending", limit=2, offset=1)
    assert filtered[:2] == (2, 3)


async def test_a_broad_q_falls_back_to_a_subquery(client, scene, monkeypatch):
    """Beyond ``Prefetched.limit`` matching customers the search is not prefetched as an id array;
    the answers are the same either way."""
    from mercato.orders.group_resources import ADMIN_GROUP_LIST

    market, _, _, groups = scene
    broad = {"q": "example", "order": "display_id"}
    prefetched = await listed(client, market, **broad)
    monkeypatch.setattr(ADMIN_GROUP_LIST.q, "limit", 1)
    assert await listed(client, market, **broad) == prefetched
    assert await listed(client, market, q="bob") == [groups["bob"]["id"]]
    assert len(prefetched) == 3  # alice's and bob's by their accounts, the guest's by its cart
    assert await listed(client, market, q="guest@") == [groups["guest"]["id"]]


async def test_bad_list_requests_are_rejected(client, scene):
    market = scene[0]
    for params, message in [
        ({"foo": "1"}, "Invalid request: Unrecognized fields: 'foo'"),
        ({"order": "total"}, "Order field total is not valid"),
        ({"status[$gt]": "a"}, None),
        ({"status": "shipped"}, None),
        ({"created_at": "yesterday"}, None),
        ({"fields": "password"}, "Requested fields [password] are not valid"),
        ({"limit": "5000"}, None),
    ]:
        error(
            await client.get("/admin/order-groups", params=params, headers=market.admin),
            400,
            "invalid_data",
            message,
        )


async def test_detail_and_order_group_of_an_order(client, scene):
    market, sellers, _, groups = scene
    group_id = groups["alice"]["id"]
    detail = ok(await client.get(f"/admin/order-groups/{group_id}", headers=market.admin))[
        "order_group"
    ]
    assert detail["seller_count"] == 2 and len(detail["orders"]) == 2
    order = detail["orders"][0]
    assert {
        "id",
        "display_id",
        "status",
        "seller_id",
        "seller",
        "currency_code",
        "payment_status",
        "fulfillment_status",
        "subtotal",
        "shipping_total",
        "tax_total",
        "discount_total",
        "total",
        "items",
    } <= set(order)
    assert set(order["seller"]) == {"id", "name", "handle"}
    assert set(order["items"][0]) == {
        "id",
        "title",
        "variant_title",
        "quantity",
        "unit_price",
        "total",
    }
    assert Decimal(str(detail["total"])) == sum(Decimal(str(o["total"])) for o in detail["orders"])
    via_order = ok(
        await client.get(f"/admin/orders/{order['id']}/order-group", headers=market.admin)
    )
    assert via_order["order_group"] == detail
    error(
        await client.get("/admin/order-groups/og_nope", headers=market.admin),
        404,
        "not_found",
        "Order group with id og_nope was not found",
    )
    error(
        await client.get("/admin/orders/order_nope/order-group", headers=market.admin),
        404,
        "not_found",
    )
    trimmed = ok(
        await client.get(
            f"/admin/order-groups/{group_id}",
            params={"fields": "total,*customer"},
            headers=market.admin,
        )
    )["order_group"]
    assert set(trimmed) == {"id", "total", "customer"}
    assert trimmed["customer"]["email"] == "alice@example.com"


async def test_store_customers_see_only_their_own_groups(client, scene):
    market, _, customers, groups = scene
    alice = {**market.store, **customers["alice"]}
    body = ok(await client.get("/store/order-groups", headers=alice))
    assert [g["id"] for g in body["order_groups"]] == [groups["alice"]["id"]]
    # The same form of request for another customer: the statement is shared, the values not.
    bob = {**market.store, **customers["bob"]}
    listed = ok(await client.get("/store/order-groups", headers=bob))["order_groups"]
    assert [g["id"] for g in listed] == [groups["bob"]["id"]]
    group = body["order_groups"][0]
    assert group["orders"][0]["seller"].keys() == {"id", "name", "handle", "logo"}
    assert "seller_id" in group["orders"][0]
    assert "email" not in group["orders"][0]["seller"]
    ok(await client.get(f"/store/order-groups/{groups['alice']['id']}", headers=alice))
    for other in (groups["bob"]["id"], groups["guest"]["id"], "og_unknown"):
        error(
            await client.get(f"/store/order-groups/{other}", headers=alice),
            404,
            "not_found",
            f"Order group with id {other} was not found",
        )
    error(
        await client.get("/store/order-groups", params={"customer_id": "x"}, headers=alice),
        400,
        "invalid_data",
    )
    error(
        await client.get("/store/order-groups", params={"fields": "cart_id"}, headers=alice),
        400,
        "invalid_data",
        "Requested fields [cart_id] are not valid",
    )
    assert (await client.get("/store/order-groups", headers=market.store)).status_code == 401


async def test_admin_list_costs_the_same_queries_for_any_page_size(client, scene, count_statements):
    market = scene[0]
    a, b, c = scene[1].values()
    for _ in range(4):
        await checkout(client, market, [a, b, c])
    params = {"fields": "+orders.*,+orders.items.*,+orders.seller.*,+customer.*"}
    async with count_statements() as small:
        assert (
            len(
                ok(
                    await client.get(
                        "/admin/order-groups", params={**params, "limit": 2}, headers=market.admin
                    )
                )["order_groups"]
            )
            == 2
        )
    async with count_statements() as large:
        assert (
            len(
                ok(
                    await client.get(
                        "/admin/order-groups", params={**params, "limit": 7}, headers=market.admin
                    )
                )["order_groups"]
            )
            == 7
        )
    assert small.count == large.count


async def test_a_sellers_page_is_read_along_its_index(client, scene, count_statements):
    """``seller_id=<one>`` in a ``created_at`` order reads the page from order_group_order's
    (seller_id, group_created_at) index (``listing.PageIndex``); the answers — page by page,
    both directions, with other filters — equal those of the GIN probe (``seller_id[$in]``)."""
    market, sellers, _, groups = scene
    async with count_statements() as log:
        for seller in sellers.values():
            for extra in ({}, {"order": "created_at"}, {"status": "pending"}):
                pages = []
                for key in ("seller_id", "seller_id[$in][]"):
                    pages.append(
                        [
                            await listed(
                                client, market, limit=1, offset=offset, **{key: seller}, **extra
                            )
                            for offset in range(3)
                        ]
                    )
                assert pages[0] == pages[1], (seller, extra)
        b_groups = await listed(client, market, seller_id=sellers["b"])
        assert b_groups == [groups["bob"]["id"], groups["alice"]["id"]]  # newest first
    assert any("JOIN order_group_order ON" in s for s in log.sql)


async def test_group_links_carry_the_order_seller_and_the_group_time(app, scene):
    async with app.state.sessionmaker() as session:
        mismatched = await session.scalar(
            text(
                'SELECT count(*) FROM order_group_order l JOIN "order" o ON o.id = l.order_id '
                "JOIN order_group g ON g.id = l.order_group_id "
                "WHERE l.seller_id <> o.seller_id OR l.group_created_at <> g.created_at"
            )
        )
        links = await session.scalar(text("SELECT count(*) FROM order_group_order"))
    assert (mismatched, links) == (0, 5)

"""Loaders and list pages select only the columns the requested fields read."""

from __future__ import annotations

from tests.api.checkout_helpers import build_marketplace, complete, ready_cart
from tests.api.helpers import ok


async def test_only_the_shown_columns_are_selected(client, admin_headers, count_statements):
    market = await build_marketplace(client, admin_headers, sellers=2)
    cart = await ready_cart(client, market, email="shopper@example.com")
    group = ok(await complete(client, market, cart["id"]))["order_group"]
    url = f"/admin/order-groups/{group['id']}"

    async with count_statements() as log:
        body = ok(await client.get(url, headers=admin_headers))["order_group"]
    assert body["orders"][0]["items"][0]["title"]
    sql = "\n".join(log.sql)
    assert '"order".status' in sql and "order_line_item.title" in sql
    for hidden in ('"order".shipping_address', '"order".metadata', "order_line_item.metadata"):
        assert hidden not in sql, hidden

    async with count_statements() as log:
        body = ok(
            await client.get(
                url, params={"fields": "+orders.shipping_address"}, headers=admin_headers
            )
        )
    assert "shipping_address" in body["order_group"]["orders"][0]
    assert '"order".shipping_address' in "\n".join(log.sql)

    async with count_statements() as log:
        ok(await client.get("/admin/order-groups", params={"fields": "id"}, headers=admin_headers))
    page = next(s for s in log.sql if "FROM order_group" in s and "LIMIT" in s)
    assert page.split("FROM")[0].count("order_group.") == 1  # only the id


async def test_to_one_relations_join_into_their_parents_statement(
    client, engine, admin_headers, monkeypatch, count_statements
):
    """``orders.seller`` comes from the orders' statement and ``items.variant.product`` from the
    items': the same body as loading them separately, three statements fewer."""
    from mercato.query import fields

    market = await build_marketplace(client, admin_headers, sellers=3)
    cart = await ready_cart(client, market, email="shopper@example.com")
    group = ok(await client.get("/admin/order-groups", headers=admin_headers))
    assert group["count"] == 0
    group = ok(await complete(client, market, cart["id"]))["order_group"]
    url = f"/admin/order-groups/{group['id']}"
    params = {"fields": "+orders.items.variant.product.title,+orders.seller.name"}

    async with count_statements() as log:
        joined = ok(await client.get(url, params=params, headers=admin_headers))
    joined_count = log.count
    sql = "\n".join(log.sql)
    assert "LEFT OUTER JOIN seller AS seller_joined" in sql
    # items -> variant -> product in the items' statement
    assert "LEFT OUTER JOIN product_variant AS variant_joined" in sql
    assert "LEFT OUTER JOIN product AS variant__product_joined" in sql
    orders = joined["order_group"]["orders"]
    assert {o["seller"]["name"] for o in orders} == {s["name"] for s in market.sellers}
    assert all(i["variant"]["product"]["title"] for o in orders for i in o["items"])

    monkeypatch.setattr(fields, "_joins", lambda resource, tree: ())
    fields._LEVELS.clear()  # levels compiled with joins
    try:
        async with count_statements() as separate_count:
            separate = ok(await client.get(url, params=params, headers=admin_headers))
    finally:
        monkeypatch.undo()
        fields._LEVELS.clear()
    assert separate == joined
    assert separate_count.count == joined_count + 3


async def test_a_joined_relation_without_a_row_renders_as_null(client, engine, admin_headers):
    """The ``LEFT JOIN`` finds no variant for a line whose variant is gone: that line's
    ``variant`` is ``null`` and its other fields and siblings render as before."""
    from sqlalchemy import text

    market = await build_marketplace(client, admin_headers, sellers=2)
    cart = await ready_cart(client, market, email="shopper@example.com")
    group = ok(await complete(client, market, cart["id"]))["order_group"]
    url = f"/admin/order-groups/{group['id']}"
    params = {"fields": "+orders.items.variant.product.title,+orders.seller.name"}
    before = ok(await client.get(url, params=params, headers=admin_headers))["order_group"]
    gone = before["orders"][0]["items"][0]["id"]
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE order_line_item SET variant_id = NULL WHERE id = :id"), {"id": gone}
        )

    after = ok(await client.get(url, params=params, headers=admin_headers))["order_group"]
    lines = {i["id"]: i for o in after["orders"] for i in o["items"]}
    assert lines[gone]["variant"] is None
    assert lines[gone]["title"] == before["orders"][0]["items"][0]["title"]
    others = [i for o in before["orders"] for i in o["items"] if i["id"] != gone]
    assert others and all(lines[i["id"]] == i for i in others)
    assert all(o["seller"]["name"] for o in after["orders"])

"""A list request runs the same number of SQL statements whatever the page size (no N+1)."""

from __future__ import annotations

import asyncio

from mercato.customers.models import Customer
from tests.api.checkout_helpers import build_marketplace, complete, ready_cart
from tests.api.discount_helpers import add_promotion, discount
from tests.api.helpers import (
    create_product,
    create_sales_channel,
    create_seller,
    create_store_key,
    login,
    ok,
    variant,
)


async def _statements(client, count_statements, url: str, headers: dict) -> tuple[int, dict]:
    async with count_statements() as counter:
        body = ok(await client.get(url, headers=headers))
    return counter.count, body


async def test_product_list_statements_do_not_grow_with_the_page(
    client, admin_headers, count_statements
):
    channel = await create_sales_channel(client, admin_headers)
    sellers = [await create_seller(client, admin_headers, f"Seller {i}") for i in range(3)]
    await asyncio.gather(
        *(
            create_product(
                client,
                admin_headers,
                sellers[i % 3]["id"],
                channels=(channel["id"],),
                variants=[variant("A", 10 + i, inventory_quantity=i), variant("B", 5)],
            )
            for i in range(50)
        )
    )
    fields = "fields=*variants,*variants.prices,*seller,*sales_channels"
    small, five = await _statements(
        client, count_statements, f"/admin/products?limit=5&{fields}", admin_headers
    )
    large, fifty = await _statements(
        client, count_statements, f"/admin/products?limit=50&{fields}", admin_headers
    )
    assert len(five["products"]) == 5 and len(fifty["products"]) == 50
    assert all(len(p["variants"]) == 2 and p["seller"]["name"] for p in fifty["products"])
    assert small == large, (small, large)
    assert large <= 12

    store = await create_store_key(client, admin_headers, channel["id"])
    small, _ = await _statements(client, count_statements, "/store/products?limit=5", store)
    large, body = await _statements(client, count_statements, "/store/products?limit=50", store)
    assert len(body["products"]) == 50
    assert small == large, (small, large)


async def test_seller_list_statements_do_not_grow_with_the_page(
    client, admin_headers, count_statements
):
    await asyncio.gather(*(create_seller(client, admin_headers, f"Seller {i}") for i in range(30)))
    fields = "fields=%2Bstock_location.*"
    small, five = await _statements(
        client, count_statements, f"/admin/sellers?limit=5&{fields}", admin_headers
    )
    large, thirty = await _statements(
        client, count_statements, f"/admin/sellers?limit=30&{fields}", admin_headers
    )
    assert len(five["sellers"]) == 5 and len(thirty["sellers"]) == 30
    assert all(s["stock_location"]["seller_id"] == s["id"] for s in thirty["sellers"])
    assert small == large, (small, large)


async def test_customer_group_lists_statements_do_not_grow_with_the_page(
    client, app, admin_headers, count_statements
):
    """Groups with their members, and customers with their groups: one statement per
    relation, whatever the page size."""
    async with app.state.sessionmaker() as session:
        customers = [Customer(email=f"c{i}@example.com") for i in range(30)]
        session.add_all(customers)
        await session.commit()
        ids = [c.id for c in customers]
    groups = [
        ok(
            await client.post(
                "/admin/customer-groups", json={"name": f"Group {i}"}, headers=admin_headers
            )
        )["customer_group"]
        for i in range(30)
    ]
    for i, group in enumerate(groups):
        ok(
            await client.post(
                f"/admin/customer-groups/{group['id']}/customers",
                json={"add": [ids[i], ids[(i + 1) % 30]]},
                headers=admin_headers,
            )
        )
    url = "/admin/customer-groups?fields=%2Bcustomers.*"
    small, five = await _statements(client, count_statements, f"{url}&limit=5", admin_headers)
    large, thirty = await _statements(client, count_statements, f"{url}&limit=30", admin_headers)
    assert len(five["customer_groups"]) == 5 and len(thirty["customer_groups"]) == 30
    assert all(len(g["customers"]) == 2 for g in thirty["customer_groups"])
    assert small == large, (small, large)

    url = "/admin/customers?fields=%2Bgroups.*"
    small, five = await _statements(client, count_statements, f"{url}&limit=5", admin_headers)
    large, thirty = await _statements(client, count_statements, f"{url}&limit=30", admin_headers)
    assert len(five["customers"]) == 5 and len(thirty["customers"]) == 30
    assert all(len(c["groups"]) == 2 for c in thirty["customers"])
    assert small == large, (small, large)


async def _return(client, h, order_id, line_id, *, option_id=None, receive=False) -> None:
    """A requested return of one unit of ``line_id`` (with a return shipping method when
    ``option_id``), received when ``receive``: every kind of row a return writes."""
    ret = ok(await client.post("/admin/returns", headers=h, json={"order_id": order_id}))["return"]
    base = f"/admin/returns/{ret['id']}"
    items = {"items": [{"id": line_id, "quantity": 1}]}
    ok(await client.post(f"{base}/request-items", headers=h, json=items))
    if option_id is not None:
        ok(
            await client.post(
                f"{base}/shipping-method", headers=h, json={"shipping_option_id": option_id}
            )
        )
    ok(await client.post(f"{base}/request", headers=h, json={}))
    if receive:
        ok(await client.post(f"{base}/receive", headers=h, json={}))
        ok(await client.post(f"{base}/receive-items", headers=h, json=items))
        ok(await client.post(f"{base}/receive/confirm", headers=h))


async def _groups_with_returns(client, admin_headers):
    """Six groups of two orders (sellers A and B, three units each); group ``i``'s order of A
    has ``i`` returns (captured first; the odd ones received, each with a return shipping
    method), B's none. Returns ``(market, [(group id, A's order id, B's order id)])``."""
    market = await build_marketplace(client, admin_headers, sellers=2, prices=(30,), shipping=5)
    h = market.admin
    a_seller, b_seller = (s["id"] for s in market.sellers)
    option = ok(
        await client.post(
            "/admin/shipping-options",
            headers=h,
            json={
                "name": "Return to A",
                "seller_id": a_seller,
                "region_id": market.region["id"],
                "amount": 3,
                "is_return": True,
            },
        )
    )["shipping_option"]
    items = [(market.variants[a_seller][0], 3), (market.variants[b_seller][0], 3)]
    placed = []
    for returns in range(6):
        cart = await ready_cart(client, market, items)
        group = ok(await complete(client, market, cart["id"]))["order_group"]
        orders = {o["seller_id"]: o["id"] for o in group["orders"]}
        a, b = orders[a_seller], orders[b_seller]
        if returns:
            order = ok(await client.get(f"/admin/orders/{a}", headers=h))["order"]
            lines = [{"id": i["id"], "quantity": i["quantity"]} for i in order["items"]]
            ok(
                await client.post(
                    f"/admin/orders/{a}/fulfillments", headers=h, json={"items": lines}
                )
            )
            ok(await client.post(f"/admin/orders/{a}/capture", headers=h, json={}))
            for n in range(min(returns, 3)):
                await _return(
                    client, h, a, lines[0]["id"], option_id=option["id"], receive=n % 2 == 0
                )
        placed.append((group["id"], a, b))
    return market, placed


async def test_order_reads_with_returns_do_not_grow_with_the_page(
    client, admin_headers, count_statements
):
    """``GET /admin/orders?fields=*returns,*returns.items``, an order's detail with its
    returns, changes and credit lines, and a group's detail (order-changes.md issue 17): a fixed
    number of statements whatever the page size and however many returns the orders have."""
    market, placed = await _groups_with_returns(client, admin_headers)
    h = market.admin

    fields = "fields=*returns,*returns.items"
    small, two = await _statements(
        client, count_statements, f"/admin/orders?limit=2&order=-created_at&{fields}", h
    )
    large, twelve = await _statements(
        client, count_statements, f"/admin/orders?limit=12&order=-created_at&{fields}", h
    )
    assert sorted(len(o["returns"]) for o in two["orders"]) == [0, 3]
    returns = sorted(len(o["returns"]) for o in twelve["orders"])
    assert returns == [0] * 7 + [1, 2, 3, 3, 3]
    returned = [r for o in twelve["orders"] for r in o["returns"]]
    assert all(len(r["items"]) == 1 and len(r["shipping_methods"]) == 1 for r in returned)
    assert small == large, (small, large)

    fields = "fields=%2B*returns,%2B*order_changes,%2B*credit_lines"
    # An order without returns skips the returns' own relations; with one return or three, the
    # same statements.
    counts = []
    for _, a, _ in (placed[0], placed[1], placed[5]):
        async with count_statements() as log:
            body = ok(await client.get(f"/admin/orders/{a}?{fields}", headers=h))
        counts.append(log.count)
        # The order row is read once (the read route does not reload what it just loaded).
        assert sum(sql.lstrip().startswith('SELECT "order".') for sql in log.sql) == 1
    assert len(body["order"]["returns"]) == 3
    assert len(body["order"]["order_changes"]) == 3 + 2  # requests, and receipts of two
    assert all(c["actions"] for c in body["order"]["order_changes"])
    assert counts[0] < counts[1] == counts[2], counts

    counts = []
    extra = "fields=%2Bsummary,%2Borders.summary,%2Borders.returns.*,%2Borders.returns.items.*"
    for group_id, _, _ in (placed[0], placed[1], placed[5]):
        plain, _ = await _statements(client, count_statements, f"/admin/order-groups/{group_id}", h)
        full, body = await _statements(
            client, count_statements, f"/admin/order-groups/{group_id}?{extra}", h
        )
        counts.append((plain, full))
    assert sorted(len(o["returns"]) for o in body["order_group"]["orders"]) == [0, 3]
    assert counts[0][0] == counts[1][0] == counts[2][0], counts
    assert counts[0][1] < counts[1][1] == counts[2][1], counts


async def test_exchange_and_claim_lists_do_not_grow_with_the_page(
    client, admin_headers, count_statements
):
    """``GET /admin/exchanges`` and ``GET /admin/claims`` with every relation: a fixed number of
    statements whatever the page size (order-changes.md §7, §8)."""
    market = await build_marketplace(client, admin_headers, sellers=2, prices=(30, 12), stock=50)
    h = market.admin
    a_seller, b_seller = (s["id"] for s in market.sellers)
    shirt, cap = market.variants[a_seller]
    for _ in range(6):
        cart = await ready_cart(client, market, [(shirt, 3), (market.variants[b_seller][0], 1)])
        group = ok(await complete(client, market, cart["id"]))["order_group"]
        a = next(o["id"] for o in group["orders"] if o["seller_id"] == a_seller)
        line = ok(await client.get(f"/admin/orders/{a}", headers=h))["order"]["items"][0]["id"]
        ok(
            await client.post(
                f"/admin/orders/{a}/fulfillments",
                headers=h,
                json={"items": [{"id": line, "quantity": 3}]},
            )
        )
        ex = ok(await client.post("/admin/exchanges", headers=h, json={"order_id": a}))
        ex_id = ex["exchange"]["id"]
        for path, body in (
            ("inbound/items", {"items": [{"id": line, "quantity": 1}]}),
            ("outbound/items", {"items": [{"variant_id": cap, "quantity": 1}]}),
        ):
            ok(await client.post(f"/admin/exchanges/{ex_id}/{path}", headers=h, json=body))
        ok(await client.post(f"/admin/exchanges/{ex_id}/request", headers=h, json={}))
        claim = ok(
            await client.post("/admin/claims", headers=h, json={"order_id": a, "type": "replace"})
        )["claim"]["id"]
        for path, body in (
            ("claim-items", {"items": [{"id": line, "quantity": 1, "reason": "missing_item"}]}),
            ("inbound/items", {"items": [{"id": line, "quantity": 1}]}),
            ("outbound/items", {"items": [{"variant_id": shirt, "quantity": 1}]}),
        ):
            ok(await client.post(f"/admin/claims/{claim}/{path}", headers=h, json=body))
        ok(await client.post(f"/admin/claims/{claim}/request", headers=h, json={}))

    for plural, extra in (
        ("exchanges", "*additional_items,*return_items,*shipping_methods,*items,*return"),
        ("claims", "*claim_items,*additional_items,*return_items,*items,*return"),
    ):
        url = f"/admin/{plural}?fields={extra}&limit="
        small, two = await _statements(client, count_statements, f"{url}2", h)
        large, six = await _statements(client, count_statements, f"{url}6", h)
        assert len(two[plural]) == 2 and len(six[plural]) == 6
        assert all(owner["items"] and owner["return"] for owner in six[plural])
        assert small == large, (plural, small, large)


async def test_draft_order_list_statements_do_not_grow_with_the_page(
    client, admin_headers, count_statements
):
    """``GET /admin/draft-orders`` (order-changes.md §12) with its items, shipping methods and
    ``sellers``: the same statements for 2 drafts or 12."""
    market = await build_marketplace(client, admin_headers, sellers=2, prices=(30, 20))
    a, b = (s["id"] for s in market.sellers)
    body = {
        "region_id": market.region["id"],
        "email": "b2b@example.com",
        "items": [
            {"variant_id": market.variants[a][0], "quantity": 1},
            {"variant_id": market.variants[b][1], "quantity": 2},
            {"title": "Setup", "unit_price": 15, "seller_id": b, "quantity": 1},
        ],
        "shipping_methods": [
            {"shipping_option_id": market.options[a]},
            {"shipping_option_id": market.options[b]},
        ],
    }
    for _ in range(12):
        ok(await client.post("/admin/draft-orders", json=body, headers=admin_headers))
    fields = "fields=%2Bitems.variant.*,%2Bcustomer.*"
    small, two = await _statements(
        client, count_statements, f"/admin/draft-orders?limit=2&{fields}", admin_headers
    )
    large, twelve = await _statements(
        client, count_statements, f"/admin/draft-orders?limit=12&{fields}", admin_headers
    )
    assert len(two["draft_orders"]) == 2 and len(twelve["draft_orders"]) == 12
    assert all(
        len(d["items"]) == 3 and len(d["shipping_methods"]) == 2 and len(d["sellers"]) == 2
        for d in twelve["draft_orders"]
    )
    assert small == large, (small, large)
    assert large <= 8, large


async def test_discounted_order_lists_do_not_grow_with_the_page(
    client, app, admin_headers, count_statements
):
    """Orders with their lines' and shipping methods' adjustments, their promotions and the
    funding split (promotions.md): the same statements for 2 orders or 12, admin and vendor."""
    market = await build_marketplace(client, admin_headers, sellers=2, prices=(10,), shipping=5)
    a_seller, b_seller = (s["id"] for s in market.sellers)
    shop = await add_promotion(app, "SHOP", "seller", seller_id=a_seller)
    site = await add_promotion(app, "SITE", "operator")
    items = [(market.variants[a_seller][0], 3), (market.variants[b_seller][0], 1)]
    for _ in range(6):
        cart = await ready_cart(client, market, items)
        group = ok(await complete(client, market, cart["id"]))["order_group"]
        orders = {o["seller_id"]: o["id"] for o in group["orders"]}
        await discount(
            app,
            orders[a_seller],
            line=[(shop, "seller", 120, 12), (site, "operator", 138, 14)],
            shipping=[(site, "operator", 100, 10)],
        )
        await discount(app, orders[b_seller], shipping=[(site, "operator", 100, 10)])
    fields = (
        "fields=*items,*items.adjustments,*shipping_methods,*shipping_methods.adjustments,"
        "*promotions,%2Boperator_discount_total,%2Bseller_discount_total"
    )
    small, two = await _statements(
        client, count_statements, f"/admin/orders?limit=2&{fields}", market.admin
    )
    large, twelve = await _statements(
        client, count_statements, f"/admin/orders?limit=12&{fields}", market.admin
    )
    assert len(two["orders"]) == 2 and len(twelve["orders"]) == 12
    assert sum(len(i["adjustments"]) for o in twelve["orders"] for i in o["items"]) == 12
    assert sum(len(o["promotions"]) for o in twelve["orders"]) == 6 * 2 + 6
    assert {o["operator_discount_total"] for o in twelve["orders"]} == {2.62, 1.1}
    assert small == large, (small, large)
    # The count, the page, the group facts, the funding sums and one statement per relation
    # (lines, their adjustments, methods, theirs, promotions).
    assert large <= 10, large

    member = {"email": "staff@a.test", "password": "supersecret"}
    ok(await client.post(f"/admin/sellers/{a_seller}/members", json=member, headers=market.admin))
    vendor = await login(client, "seller", member["email"], member["password"])
    small, two = await _statements(
        client, count_statements, f"/vendor/orders?limit=2&{fields}", vendor
    )
    large, six = await _statements(
        client, count_statements, f"/vendor/orders?limit=6&{fields}", vendor
    )
    assert len(two["orders"]) == 2 and len(six["orders"]) == 6
    assert all(len(o["promotions"]) == 2 for o in six["orders"])
    assert small == large, (small, large)


async def test_a_cart_with_promotions_renders_in_a_fixed_number_of_statements(
    client, admin_headers, count_statements
):
    """A cart's adjustments, their tax split, its discounted totals and its promotions are
    read once per render, whatever the number of lines and promotions."""
    from tests.api.promotion_helpers import (
        apply_codes,
        create_promotion,
        example_cart,
        example_market,
        fixed,
        percentage,
    )

    example = await example_market(client, admin_headers)
    await create_promotion(client, admin_headers, "TEN", percentage(10))
    await create_promotion(client, admin_headers, "COVE1", fixed(1), seller_id=example.cove)
    small = ok(
        await client.post(
            "/store/carts",
            json={
                "region_id": example.market.region["id"],
                "items": [{"variant_id": example.variants["a1"], "quantity": 1}],
            },
            headers=example.market.store,
        )
    )["cart"]
    ok(
        await client.post(
            f"/store/carts/{small['id']}/shipping-methods",
            json={"option_id": example.market.options[example.acme]},
            headers=example.market.store,
        )
    )
    ok(await apply_codes(client, example, small["id"], "TEN"))
    large = await example_cart(client, example)
    ok(await apply_codes(client, example, large["id"], "TEN", "COVE1"))
    few, _ = await _statements(
        client, count_statements, f"/store/carts/{small['id']}", example.market.store
    )
    many, body = await _statements(
        client, count_statements, f"/store/carts/{large['id']}", example.market.store
    )
    assert sum(len(line["adjustments"]) for line in body["cart"]["items"]) == 5
    assert few == many, (few, many)
    assert many <= 15, many

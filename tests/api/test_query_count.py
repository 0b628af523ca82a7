"""A list request runs the same number of SQL statements whatever the page size (no N+1)."""

from __future__ import annotations

import asyncio

from tests.api.helpers import (
    create_product,
    create_sales_channel,
    create_seller,
    create_store_key,
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

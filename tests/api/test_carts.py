"""The store cart API (checkout.md, "Cart API"), except completion."""

from __future__ import annotations

import asyncio

from sqlalchemy import update

from mercato.products.models import InventoryLevel
from tests.api.cart_helpers import (
    add_item,
    choose_option,
    create_option,
    customer_headers,
    mark_completed,
    new_cart,
    sell,
)
from tests.api.helpers import (
    create_region,
    create_sales_channel,
    create_seller,
    create_store_key,
    error,
    ok,
)

CART_KEYS = {
    "id",
    "region_id",
    "currency_code",
    "sales_channel_id",
    "customer_id",
    "email",
    "shipping_address",
    "billing_address",
    "items",
    "shipping_methods",
    "payment_collection",
    "completed_at",
    "metadata",
    "item_total",
    "item_subtotal",
    "item_tax_total",
    "shipping_total",
    "shipping_subtotal",
    "shipping_tax_total",
    "subtotal",
    "tax_total",
    "discount_total",
    "discount_subtotal",
    "discount_tax_total",
    "original_total",
    "original_tax_total",
    "original_item_total",
    "original_shipping_total",
    "total",
    "promotions",
    "created_at",
    "updated_at",
}
DISCOUNT_KEYS = {
    "discount_subtotal",
    "discount_tax_total",
    "discount_total",
    "original_tax_total",
    "original_total",
    "adjustments",
}
LINE_KEYS = {
    "id",
    "variant_id",
    "product_id",
    "seller_id",
    "title",
    "subtitle",
    "thumbnail",
    "product_title",
    "product_handle",
    "variant_title",
    "variant_sku",
    "quantity",
    "unit_price",
    "requires_shipping",
    "is_tax_inclusive",
    "subtotal",
    "tax_total",
    "total",
    "metadata",
} | DISCOUNT_KEYS
METHOD_KEYS = {
    "id",
    "shipping_option_id",
    "seller_id",
    "name",
    "amount",
    "subtotal",
    "tax_total",
    "total",
} | DISCOUNT_KEYS
TOTALS = [
    "item_total",
    "item_subtotal",
    "item_tax_total",
    "shipping_total",
    "shipping_subtotal",
    "shipping_tax_total",
    "subtotal",
    "tax_total",
    "discount_total",
    "total",
]


def totals(cart: dict) -> dict:
    return {name: cart[name] for name in TOTALS}


# ------------------------------------------------------------------------------------ creation


async def test_create_cart_with_the_only_region_and_the_keys_channel(client, market):
    cart = await new_cart(client, market.store)
    assert set(cart) == CART_KEYS
    assert cart["id"].startswith("cart_")
    assert cart["region_id"] == market.region["id"]
    assert cart["currency_code"] == "usd"
    assert cart["sales_channel_id"] == market.channel_id
    assert (cart["customer_id"], cart["email"], cart["completed_at"]) == (None, None, None)
    assert cart["items"] == [] and cart["shipping_methods"] == []
    assert cart["payment_collection"] is None
    assert all(value == 0 for value in totals(cart).values())
    assert cart["created_at"].endswith("Z")
    again = ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
    assert again == cart


async def test_create_cart_with_everything(client, market):
    variant = await sell(client, market.admin, market.acme["id"], market.channel_id)
    address = {"first_name": "Jane", "city": "Austin", "country_code": "US"}
    cart = await new_cart(
        client,
        market.store,
        region_id=market.region["id"],
        currency_code="USD",
        email="jane@example.com",
        items=[
            {"variant_id": variant["id"], "quantity": 2},
            {"variant_id": variant["id"], "quantity": 1},
        ],
        shipping_address=address,
        billing_address={"company": "ACME", "metadata": {"vat": "x"}},
        metadata={"source": "test"},
    )
    assert cart["email"] == "jane@example.com"
    assert cart["metadata"] == {"source": "test"}
    (line,) = cart["items"]
    assert line["quantity"] == 3
    assert cart["shipping_address"] == {
        "first_name": "Jane",
        "last_name": None,
        "company": None,
        "address_1": None,
        "address_2": None,
        "city": "Austin",
        "province": None,
        "postal_code": None,
        "country_code": "us",
        "phone": None,
        "metadata": None,
    }
    assert cart["billing_address"]["company"] == "ACME"
    assert cart["billing_address"]["metadata"] == {"vat": "x"}


async def test_region_is_required_unless_exactly_one_exists(client, admin_headers, store_headers):
    message = "Invalid request: region_id: is required unless exactly one region exists"
    error(
        await client.post("/store/carts", json={}, headers=store_headers),
        400,
        "invalid_data",
        message,
    )
    usd = await create_region(client, admin_headers)
    eur = await create_region(client, admin_headers, name="Europe", currency_code="eur")
    error(
        await client.post("/store/carts", json={}, headers=store_headers),
        400,
        "invalid_data",
        message,
    )
    cart = await new_cart(client, store_headers, region_id=eur["id"])
    assert (cart["region_id"], cart["currency_code"]) == (eur["id"], "eur")
    error(
        await client.post("/store/carts", json={"region_id": "reg_nope"}, headers=store_headers),
        400,
        "invalid_data",
        "Region with id reg_nope was not found",
    )
    error(
        await client.post(
            "/store/carts",
            json={"region_id": usd["id"], "currency_code": "eur"},
            headers=store_headers,
        ),
        400,
        "invalid_data",
        "Invalid request: currency_code: must be the region's currency (usd)",
    )


async def test_sales_channel_comes_from_the_key(client, market):
    second = await create_sales_channel(client, market.admin, "App")
    foreign = await create_sales_channel(client, market.admin, "Foreign")
    both = await create_store_key(client, market.admin, market.channel_id, second["id"])

    error(
        await client.post("/store/carts", json={}, headers=both),
        400,
        "invalid_data",
        "Invalid request: sales_channel_id: is required when the publishable key has several "
        "sales channels",
    )
    cart = await new_cart(client, both, sales_channel_id=second["id"])
    assert cart["sales_channel_id"] == second["id"]
    for headers in (both, market.store):
        error(
            await client.post(
                "/store/carts", json={"sales_channel_id": foreign["id"]}, headers=headers
            ),
            400,
            "invalid_data",
            f"Sales channel {foreign['id']} is not one of the publishable key's sales channels",
        )
    single = await new_cart(client, market.store, sales_channel_id=market.channel_id)
    assert single["sales_channel_id"] == market.channel_id


async def test_unknown_cart_is_404_everywhere(client, market):
    variant = await sell(client, market.admin, market.acme["id"], market.channel_id)
    message = "Cart with id cart_nope was not found"
    base = "/store/carts/cart_nope"
    calls = [
        client.get(base, headers=market.store),
        client.post(base, json={"email": "a@b.co"}, headers=market.store),
        client.post(
            f"{base}/line-items",
            json={"variant_id": variant["id"], "quantity": 1},
            headers=market.store,
        ),
        client.post(f"{base}/line-items/cali_x", json={"quantity": 1}, headers=market.store),
        client.delete(f"{base}/line-items/cali_x", headers=market.store),
        client.post(f"{base}/shipping-methods", json={"option_id": "so_x"}, headers=market.store),
        client.get("/store/shipping-options?cart_id=cart_nope", headers=market.store),
    ]
    for call in calls:
        error(await call, 404, "not_found", message)


async def test_requests_are_validated_strictly(client, market):
    variant = await sell(client, market.admin, market.acme["id"], market.channel_id)
    cart = await new_cart(client, market.store)
    url = f"/store/carts/{cart['id']}"
    error(
        await client.post("/store/carts", json={"foo": 1}, headers=market.store),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'foo'",
    )
    error(
        await client.post(url, json={"shipping_address": {"street": "x"}}, headers=market.store),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'shipping_address.street'",
    )
    error(
        await client.get(f"{url}?expand=items", headers=market.store),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'expand'",
    )
    error(
        await client.get(f"{url}?fields=password", headers=market.store),
        400,
        "invalid_data",
        "Requested fields [password] are not valid",
    )
    error(
        await client.post(url, json={"email": "not-an-email"}, headers=market.store),
        400,
        "invalid_data",
    )
    for quantity in (0, -1, 1.5, "2", True, None, 2**31):
        message = error(
            await client.post(
                f"{url}/line-items",
                json={"variant_id": variant["id"], "quantity": quantity},
                headers=market.store,
            ),
            400,
            "invalid_data",
        )
        assert "quantity" in message
    message = error(
        await client.post(
            "/store/carts",
            json={"items": [{"variant_id": variant["id"], "quantity": 0}]},
            headers=market.store,
        ),
        400,
        "invalid_data",
    )
    assert message.startswith("Invalid request: items.0.quantity")
    # A bad query is refused before anything is written.
    error(
        await client.post(
            f"{url}/line-items?fields=nope",
            json={"variant_id": variant["id"], "quantity": 1},
            headers=market.store,
        ),
        400,
        "invalid_data",
    )
    assert ok(await client.get(url, headers=market.store))["cart"]["items"] == []


# ------------------------------------------------------------------------------ lines and totals


async def test_line_snapshot_and_tax_exclusive_totals(client, market):
    variant = await sell(
        client,
        market.admin,
        market.acme["id"],
        market.channel_id,
        price=10.99,
        product={"title": "Shirt", "handle": "shirt", "thumbnail": "https://cdn/shirt.png"},
        title="Large",
        sku="SHIRT-L",
    )
    option = await create_option(
        client, market.admin, market.acme["id"], region_id=market.region["id"], amount=4.99
    )
    cart = await new_cart(client, market.store)
    cart = await add_item(client, market.store, cart["id"], variant["id"], 3)
    cart = await choose_option(client, market.store, cart["id"], option["id"])

    (line,) = cart["items"]
    assert set(line) == LINE_KEYS
    assert line["id"].startswith("cali_")
    assert {k: line[k] for k in LINE_KEYS - {"id"} - DISCOUNT_KEYS} == {
        "variant_id": variant["id"],
        "product_id": variant["product"]["id"],
        "seller_id": market.acme["id"],
        "title": "Shirt",
        "subtitle": "Large",
        "thumbnail": "https://cdn/shirt.png",
        "product_title": "Shirt",
        "product_handle": "shirt",
        "variant_title": "Large",
        "variant_sku": "SHIRT-L",
        "quantity": 3,
        "unit_price": 10.99,
        "requires_shipping": True,
        "is_tax_inclusive": False,
        "subtotal": 32.97,
        "tax_total": 3.3,  # 3.297 rounded half-even to the cent
        "total": 36.27,
        "metadata": None,
    }
    assert {k: line[k] for k in DISCOUNT_KEYS} == {
        "discount_subtotal": 0,
        "discount_tax_total": 0,
        "discount_total": 0,
        "original_tax_total": 3.3,
        "original_total": 36.27,
        "adjustments": [],
    }
    (method,) = cart["shipping_methods"]
    assert set(method) == METHOD_KEYS
    assert method["id"].startswith("casm_")
    assert {k: method[k] for k in METHOD_KEYS - {"id"} - DISCOUNT_KEYS} == {
        "shipping_option_id": option["id"],
        "seller_id": market.acme["id"],
        "name": option["name"],
        "amount": 4.99,
        "subtotal": 4.99,
        "tax_total": 0.5,
        "total": 5.49,
    }
    assert totals(cart) == {
        "item_total": 36.27,
        "item_subtotal": 32.97,
        "item_tax_total": 3.3,
        "shipping_total": 5.49,
        "shipping_subtotal": 4.99,
        "shipping_tax_total": 0.5,
        "subtotal": 37.96,
        "tax_total": 3.8,
        "discount_total": 0,
        "total": 41.76,
    }

    # The snapshot does not follow later catalogue edits.
    ok(
        await client.post(
            f"/admin/products/{variant['product']['id']}",
            json={"title": "Renamed"},
            headers=market.admin,
        )
    )
    again = ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
    assert again["items"][0]["title"] == "Shirt"


async def test_tax_inclusive_region(client, market):
    region = await create_region(
        client, market.admin, name="Inclusive", currency_code="eur", tax_rate=10, tax_inclusive=True
    )
    variant = await sell(
        client, market.admin, market.acme["id"], market.channel_id, price=10.99, currency="eur"
    )
    option = await create_option(
        client, market.admin, market.acme["id"], region_id=region["id"], amount=5
    )
    cart = await new_cart(client, market.store, region_id=region["id"])
    await add_item(client, market.store, cart["id"], variant["id"], 3)
    cart = await choose_option(client, market.store, cart["id"], option["id"])
    (line,) = cart["items"]
    assert line["is_tax_inclusive"] is True
    # 32.97 includes 10 %: tax = 32.97 × 10/110 = 2.9972… → 3.00
    assert (line["subtotal"], line["tax_total"], line["total"]) == (29.97, 3, 32.97)
    assert cart["shipping_methods"][0]["tax_total"] == 0.45  # 5 × 10/110 = 0.4545…
    assert totals(cart) == {
        "item_total": 32.97,
        "item_subtotal": 29.97,
        "item_tax_total": 3,
        "shipping_total": 5,
        "shipping_subtotal": 4.55,
        "shipping_tax_total": 0.45,
        "subtotal": 34.52,
        "tax_total": 3.45,
        "discount_total": 0,
        "total": 37.97,
    }


async def test_jpy_region_has_no_minor_unit(client, market):
    region = await create_region(
        client, market.admin, name="Japan", currency_code="jpy", tax_rate=10
    )
    variant = await sell(
        client, market.admin, market.acme["id"], market.channel_id, price=1499, currency="jpy"
    )
    option = await create_option(
        client, market.admin, market.acme["id"], currency_code="jpy", amount=555
    )
    cart = await new_cart(client, market.store, region_id=region["id"])
    await add_item(client, market.store, cart["id"], variant["id"], 3)
    cart = await choose_option(client, market.store, cart["id"], option["id"])
    assert cart["items"][0]["unit_price"] == 1499
    assert totals(cart) == {
        "item_total": 4947,  # 4497 + 449.7 → 450
        "item_subtotal": 4497,
        "item_tax_total": 450,
        "shipping_total": 611,  # 555 + 55.5 → 56 (half-even)
        "shipping_subtotal": 555,
        "shipping_tax_total": 56,
        "subtotal": 5052,
        "tax_total": 506,
        "discount_total": 0,
        "total": 5558,
    }
    assert all(isinstance(v, int) for v in totals(cart).values())


async def test_same_variant_merges_and_stock_is_checked_on_the_line_total(client, app, market):
    variant = await sell(client, market.admin, market.acme["id"], market.channel_id, stock=5)
    cart = await new_cart(client, market.store)
    await add_item(client, market.store, cart["id"], variant["id"], 3)
    cart = await add_item(client, market.store, cart["id"], variant["id"], 2)
    (line,) = cart["items"]
    assert line["quantity"] == 5

    url = f"/store/carts/{cart['id']}/line-items"
    response = await client.post(
        url, json={"variant_id": variant["id"], "quantity": 1}, headers=market.store
    )
    body = ok(response, 400)
    assert body["type"] == "not_allowed" and body["code"] == "insufficient_inventory"
    assert variant["id"] in body["message"]
    response = await client.post(f"{url}/{line['id']}", json={"quantity": 6}, headers=market.store)
    assert ok(response, 400)["code"] == "insufficient_inventory"

    # Reserved units are not available.
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(InventoryLevel)
            .where(InventoryLevel.variant_id == variant["id"])
            .values(reserved_quantity=2)
        )
        await session.commit()
    response = await client.post(f"{url}/{line['id']}", json={"quantity": 4}, headers=market.store)
    assert ok(response, 400)["code"] == "insufficient_inventory"
    cart = ok(await client.post(f"{url}/{line['id']}", json={"quantity": 3}, headers=market.store))[
        "cart"
    ]
    assert cart["items"][0]["quantity"] == 3

    backorder = await sell(
        client, market.admin, market.acme["id"], market.channel_id, stock=0, allow_backorder=True
    )
    unmanaged = await sell(
        client, market.admin, market.acme["id"], market.channel_id, stock=0, manage_inventory=False
    )
    await add_item(client, market.store, cart["id"], backorder["id"], 7)
    cart = await add_item(client, market.store, cart["id"], unmanaged["id"], 9)
    assert [i["quantity"] for i in cart["items"]] == [3, 7, 9]


async def test_concurrent_adds_of_one_variant_serialize_on_the_cart(client, market):
    variant = await sell(client, market.admin, market.acme["id"], market.channel_id, stock=100)
    cart = await new_cart(client, market.store)
    url = f"/store/carts/{cart['id']}/line-items"
    responses = await asyncio.gather(
        *(
            client.post(
                url, json={"variant_id": variant["id"], "quantity": 1}, headers=market.store
            )
            for _ in range(8)
        )
    )
    assert [r.status_code for r in responses] == [200] * 8
    cart = ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
    (line,) = cart["items"]
    assert line["quantity"] == 8


async def test_update_quantity_zero_removes_and_delete_returns_the_parent_cart(client, market):
    first = await sell(client, market.admin, market.acme["id"], market.channel_id, price=2)
    second = await sell(client, market.admin, market.bolt["id"], market.channel_id, price=3)
    cart = await new_cart(client, market.store)
    await add_item(client, market.store, cart["id"], first["id"], 1)
    cart = await add_item(client, market.store, cart["id"], second["id"], 1)
    one, two = cart["items"]
    url = f"/store/carts/{cart['id']}/line-items"

    cart = ok(
        await client.post(
            f"{url}/{one['id']}",
            json={"quantity": 4, "metadata": {"gift": True}},
            headers=market.store,
        )
    )["cart"]
    assert (cart["items"][0]["quantity"], cart["items"][0]["metadata"]) == (4, {"gift": True})
    assert cart["item_total"] == 12.1  # (8 + 3) × 1.1

    cart = ok(await client.post(f"{url}/{one['id']}", json={"quantity": 0}, headers=market.store))[
        "cart"
    ]
    assert [i["id"] for i in cart["items"]] == [two["id"]]

    body = ok(await client.delete(f"{url}/{two['id']}", headers=market.store))
    assert set(body) == {"id", "object", "deleted", "parent"}
    assert (body["id"], body["object"], body["deleted"]) == (two["id"], "line-item", True)
    assert body["parent"]["id"] == cart["id"] and body["parent"]["items"] == []
    assert body["parent"]["total"] == 0

    for call in (
        client.delete(f"{url}/{two['id']}", headers=market.store),
        client.post(f"{url}/{two['id']}", json={"quantity": 1}, headers=market.store),
    ):
        error(await call, 404, "not_found", f"Line item with id {two['id']} was not found")
    error(
        await client.post(f"{url}/{two['id']}", json={"quantity": -1}, headers=market.store),
        400,
        "invalid_data",
    )


async def test_what_cannot_be_added(client, app, market):
    web = market.channel_id
    other = (await create_sales_channel(client, market.admin, "Other"))["id"]
    draft = await sell(client, market.admin, market.acme["id"], web, product={"status": "draft"})
    elsewhere = await sell(client, market.admin, market.acme["id"], other)
    euro_only = await sell(client, market.admin, market.acme["id"], web, currency="eur")
    shady = await sell(client, market.admin, market.bolt["id"], web)
    ok(
        await client.post(
            f"/admin/sellers/{market.bolt['id']}",
            json={"status": "suspended"},
            headers=market.admin,
        )
    )
    cart = await new_cart(client, market.store)
    url = f"/store/carts/{cart['id']}/line-items"

    async def add(variant_id: str):
        return await client.post(
            url, json={"variant_id": variant_id, "quantity": 1}, headers=market.store
        )

    error(await add("variant_nope"), 404, "not_found", "Variant with id variant_nope was not found")
    error(
        await add(draft["id"]),
        400,
        "invalid_data",
        f"Product {draft['product']['id']} of variant {draft['id']} is not published",
    )
    error(
        await add(elsewhere["id"]),
        400,
        "invalid_data",
        f"Variant {elsewhere['id']} is not available in sales channel {web}",
    )
    error(
        await add(euro_only["id"]),
        400,
        "invalid_data",
        f"Variant {euro_only['id']} has no price in currency usd",
    )
    error(
        await add(shady["id"]),
        400,
        "invalid_data",
        f"Seller {market.bolt['id']} of variant {shady['id']} is not active",
    )
    # Items in the create body follow the same rules, and nothing is created on failure.
    response = await client.post(
        "/store/carts",
        json={"items": [{"variant_id": draft["id"], "quantity": 1}]},
        headers=market.store,
    )
    error(response, 400, "invalid_data")
    error(
        await client.post(
            "/store/carts",
            json={"items": [{"variant_id": "variant_nope", "quantity": 1}]},
            headers=market.store,
        ),
        404,
        "not_found",
    )
    from sqlalchemy import func, select

    from mercato.carts.models import Cart

    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Cart)) == 1


async def test_changing_region_reprices_and_drops_unavailable_shipping(client, market):
    eur = await create_region(
        client, market.admin, name="Europe", currency_code="eur", tax_rate=20, tax_inclusive=True
    )
    both = await sell(
        client,
        market.admin,
        market.acme["id"],
        market.channel_id,
        prices=[{"amount": 10, "currency_code": "usd"}, {"amount": 9.5, "currency_code": "eur"}],
    )
    usd_only = await sell(client, market.admin, market.bolt["id"], market.channel_id, price=4)
    usd_option = await create_option(
        client, market.admin, market.acme["id"], region_id=market.region["id"], amount=5
    )
    eur_any = await create_option(
        client, market.admin, market.acme["id"], currency_code="eur", amount=3
    )
    cart = await new_cart(client, market.store, region_id=market.region["id"])
    await add_item(client, market.store, cart["id"], both["id"], 2)
    await add_item(client, market.store, cart["id"], usd_only["id"], 1)
    await choose_option(client, market.store, cart["id"], usd_option["id"])

    url = f"/store/carts/{cart['id']}"
    error(
        await client.post(url, json={"region_id": eur["id"]}, headers=market.store),
        400,
        "invalid_data",
        f"Variant {usd_only['id']} has no price in currency eur",
    )
    unchanged = ok(await client.get(url, headers=market.store))["cart"]
    assert unchanged["currency_code"] == "usd" and len(unchanged["shipping_methods"]) == 1
    assert unchanged["items"][0]["unit_price"] == 10

    line = next(i for i in unchanged["items"] if i["variant_id"] == usd_only["id"])
    ok(await client.delete(f"{url}/line-items/{line['id']}", headers=market.store))
    cart = ok(await client.post(url, json={"region_id": eur["id"]}, headers=market.store))["cart"]
    assert (cart["region_id"], cart["currency_code"]) == (eur["id"], "eur")
    (line,) = cart["items"]
    assert (line["unit_price"], line["is_tax_inclusive"], line["total"]) == (9.5, True, 19)
    assert cart["shipping_methods"] == []  # the USD region's option does not serve Europe
    cart = await choose_option(client, market.store, cart["id"], eur_any["id"])
    assert cart["total"] == 22
    error(
        await client.post(url, json={"region_id": None}, headers=market.store),
        400,
        "invalid_data",
        "Invalid request: region_id: must not be null",
    )


async def test_update_cart_fields(client, market):
    cart = await new_cart(client, market.store, metadata={"a": 1})
    url = f"/store/carts/{cart['id']}"
    cart = ok(
        await client.post(
            url,
            json={
                "email": "x@example.com",
                "shipping_address": {"address_1": "1 Main St", "country_code": "DE"},
                "metadata": {"b": 2},
            },
            headers=market.store,
        )
    )["cart"]
    assert cart["email"] == "x@example.com"
    assert cart["shipping_address"]["country_code"] == "de"
    assert cart["billing_address"] is None
    assert cart["metadata"] == {"b": 2}
    cart = ok(await client.post(url, json={"shipping_address": None}, headers=market.store))["cart"]
    assert cart["shipping_address"] is None and cart["email"] == "x@example.com"


async def test_fields_selection_on_carts(client, market):
    variant = await sell(client, market.admin, market.acme["id"], market.channel_id, price=5)
    cart = await new_cart(client, market.store)
    url = f"/store/carts/{cart['id']}"
    await add_item(client, market.store, cart["id"], variant["id"], 2)
    body = ok(await client.get(f"{url}?fields=total,items.quantity", headers=market.store))
    assert body["cart"] == {
        "id": cart["id"],
        "total": 11,
        "items": [{"id": body["cart"]["items"][0]["id"], "quantity": 2}],
    }
    body = ok(
        await client.get(
            f"{url}?fields=-items,-shipping_methods,+original_total", headers=market.store
        )
    )
    assert "items" not in body["cart"] and body["cart"]["original_total"] == 11
    body = ok(await client.get(f"{url}?fields=id,*region", headers=market.store))
    assert body["cart"]["region"]["id"] == market.region["id"]


# ---------------------------------------------------------------------------------- shipping


async def test_shipping_options_for_a_cart(client, market):
    region_id = market.region["id"]
    eur = await create_region(client, market.admin, name="Europe", currency_code="eur")
    carl = await create_seller(client, market.admin, "Carl")
    a_variant = await sell(client, market.admin, market.acme["id"], market.channel_id)
    b_variant = await sell(client, market.admin, market.bolt["id"], market.channel_id)
    a_region = await create_option(
        client, market.admin, market.acme["id"], region_id=region_id, amount=5
    )
    a_any_usd = await create_option(
        client, market.admin, market.acme["id"], currency_code="usd", amount=7.5
    )
    await create_option(client, market.admin, market.acme["id"], currency_code="eur")
    await create_option(client, market.admin, market.acme["id"], region_id=eur["id"])
    b_region = await create_option(
        client, market.admin, market.bolt["id"], region_id=region_id, amount=1
    )
    carl_option = await create_option(client, market.admin, carl["id"], region_id=region_id)
    deleted = await create_option(client, market.admin, market.bolt["id"], region_id=region_id)
    ok(await client.delete(f"/admin/shipping-options/{deleted['id']}", headers=market.admin))

    cart = await new_cart(client, market.store, region_id=region_id)
    url = f"/store/shipping-options?cart_id={cart['id']}"
    assert ok(await client.get(url, headers=market.store)) == {"shipping_options": []}
    await add_item(client, market.store, cart["id"], a_variant["id"])
    await add_item(client, market.store, cart["id"], b_variant["id"])
    options = ok(await client.get(url, headers=market.store))["shipping_options"]
    by_id = {o["id"]: o for o in options}
    assert set(by_id) == {a_region["id"], a_any_usd["id"], b_region["id"]}
    assert by_id[a_region["id"]] == {
        "id": a_region["id"],
        "name": a_region["name"],
        "amount": 5,
        "currency_code": "usd",
        "seller_id": market.acme["id"],
        "region_id": region_id,
        "seller": {"id": market.acme["id"], "name": "Acme", "handle": "acme"},
    }
    assert by_id[a_any_usd["id"]]["region_id"] is None and by_id[a_any_usd["id"]]["amount"] == 7.5

    # A seller's option cannot be chosen without that seller's items.
    error(
        await client.post(
            f"/store/carts/{cart['id']}/shipping-methods",
            json={"option_id": carl_option["id"]},
            headers=market.store,
        ),
        400,
        "invalid_data",
        f"Shipping option {carl_option['id']} belongs to seller {carl['id']}, "
        "who has no items in the cart",
    )
    body = ok(await client.get(f"{url}&fields=id,amount", headers=market.store))
    assert all(set(o) == {"id", "amount"} for o in body["shipping_options"])

    for query, message in [
        ("", "Invalid request: cart_id: is required"),
        (f"?cart_id={cart['id']}&region_id=x", "Invalid request: Unrecognized fields: 'region_id'"),
        (f"?cart_id={cart['id']}&fields=data", "Requested fields [data] are not valid"),
        (
            f"?cart_id={cart['id']}&cart_id=other",
            "Invalid request: cart_id: must be a single value",
        ),
    ]:
        error(
            await client.get(f"/store/shipping-options{query}", headers=market.store),
            400,
            "invalid_data",
            message,
        )


async def test_return_options_are_never_offered_to_carts(client, market):
    """A return option carries items back to the seller (marketplace-setup.md): not listed for a
    cart, and refused as a cart's shipping method."""
    region_id = market.region["id"]
    variant = await sell(client, market.admin, market.acme["id"], market.channel_id)
    outbound = await create_option(client, market.admin, market.acme["id"], region_id=region_id)
    returns = ok(
        await client.post(
            "/admin/shipping-options",
            json={
                "name": "Returns",
                "seller_id": market.acme["id"],
                "region_id": region_id,
                "amount": 3,
                "is_return": True,
            },
            headers=market.admin,
        )
    )["shipping_option"]
    cart = await new_cart(client, market.store, region_id=region_id)
    await add_item(client, market.store, cart["id"], variant["id"])
    url = f"/store/shipping-options?cart_id={cart['id']}&fields=id"
    assert ok(await client.get(url, headers=market.store)) == {
        "shipping_options": [{"id": outbound["id"]}]
    }
    error(
        await client.post(
            f"/store/carts/{cart['id']}/shipping-methods",
            json={"option_id": returns["id"]},
            headers=market.store,
        ),
        400,
        "invalid_data",
        f"Shipping option {returns['id']} is a return option and cannot ship items to the customer",
    )
    cart = ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
    assert cart["shipping_methods"] == []


async def test_one_shipping_method_per_seller(client, market):
    region_id = market.region["id"]
    other_region = await create_region(client, market.admin, name="Other", currency_code="usd")
    a_variant = await sell(client, market.admin, market.acme["id"], market.channel_id, price=10)
    b_variant = await sell(client, market.admin, market.bolt["id"], market.channel_id, price=10)
    a_first = await create_option(
        client, market.admin, market.acme["id"], region_id=region_id, amount=5
    )
    a_second = await create_option(
        client, market.admin, market.acme["id"], currency_code="usd", amount=8
    )
    a_elsewhere = await create_option(
        client, market.admin, market.acme["id"], region_id=other_region["id"]
    )
    a_eur = await create_option(client, market.admin, market.acme["id"], currency_code="eur")
    b_option = await create_option(
        client, market.admin, market.bolt["id"], region_id=region_id, amount=2
    )

    cart = await new_cart(client, market.store, region_id=region_id)
    await add_item(client, market.store, cart["id"], a_variant["id"])
    await add_item(client, market.store, cart["id"], b_variant["id"])
    cart = await choose_option(client, market.store, cart["id"], a_first["id"])
    first_method = cart["shipping_methods"][0]
    cart = await choose_option(client, market.store, cart["id"], a_second["id"])
    (method,) = cart["shipping_methods"]
    assert method["shipping_option_id"] == a_second["id"] and method["id"] != first_method["id"]
    cart = await choose_option(client, market.store, cart["id"], b_option["id"])
    assert sorted(
        (m["seller_id"], m["shipping_option_id"]) for m in cart["shipping_methods"]
    ) == sorted([(market.acme["id"], a_second["id"]), (market.bolt["id"], b_option["id"])])
    assert cart["shipping_subtotal"] == 10 and cart["shipping_total"] == 11

    url = f"/store/carts/{cart['id']}/shipping-methods"
    for option in (a_elsewhere, a_eur):
        error(
            await client.post(url, json={"option_id": option["id"]}, headers=market.store),
            400,
            "invalid_data",
            f"Shipping option {option['id']} is not available in region {region_id}",
        )
    error(
        await client.post(url, json={"option_id": "so_nope"}, headers=market.store),
        404,
        "not_found",
        "Shipping option with id so_nope was not found",
    )
    error(
        await client.post(
            url, json={"option_id": b_option["id"], "price": 0}, headers=market.store
        ),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'price'",
    )


async def test_removing_a_sellers_last_line_keeps_its_shipping_method(client, market):
    variant = await sell(client, market.admin, market.acme["id"], market.channel_id)
    option = await create_option(
        client, market.admin, market.acme["id"], region_id=market.region["id"]
    )
    cart = await new_cart(client, market.store)
    cart = await add_item(client, market.store, cart["id"], variant["id"])
    await choose_option(client, market.store, cart["id"], option["id"])
    body = ok(
        await client.delete(
            f"/store/carts/{cart['id']}/line-items/{cart['items'][0]['id']}", headers=market.store
        )
    )
    assert body["parent"]["items"] == []
    assert [m["seller_id"] for m in body["parent"]["shipping_methods"]] == [market.acme["id"]]


# ---------------------------------------------------------------------------------- customers


async def test_customer_carts(client, market):
    jane = await customer_headers(client, market.store, "jane@example.com")
    john = await customer_headers(client, market.store, "john@example.com")
    variant = await sell(client, market.admin, market.acme["id"], market.channel_id)

    mine = await new_cart(client, {**market.store, **jane})
    assert mine["customer_id"].startswith("cus_") and mine["email"] == "jane@example.com"
    other_email = await new_cart(client, {**market.store, **jane}, email="work@example.com")
    assert other_email["email"] == "work@example.com"

    url = f"/store/carts/{mine['id']}"
    not_found = f"Cart with id {mine['id']} was not found"
    for call in (
        client.get(url, headers={**market.store, **john}),
        client.post(url, json={"email": "x@example.com"}, headers={**market.store, **john}),
        client.post(
            f"{url}/line-items",
            json={"variant_id": variant["id"], "quantity": 1},
            headers={**market.store, **john},
        ),
        client.post(f"{url}/customer", headers={**market.store, **john}),
        client.get(
            f"/store/shipping-options?cart_id={mine['id']}", headers={**market.store, **john}
        ),
    ):
        error(await call, 404, "not_found", not_found)
    # Only the owner reaches it; without her token it does not exist (test_cart_access.py).
    assert ok(await client.get(url, headers={**market.store, **jane}))["cart"]["id"] == mine["id"]
    error(await client.get(url, headers=market.store), 404, "not_found", not_found)

    guest = await new_cart(client, market.store)
    assert guest["customer_id"] is None and guest["email"] is None
    guest_url = f"/store/carts/{guest['id']}"
    error(await client.post(f"{guest_url}/customer", headers=market.store), 401, "unauthorized")
    error(
        await client.post(
            f"{guest_url}/customer", headers={**market.store, "authorization": "Bearer bad"}
        ),
        401,
        "unauthorized",
    )
    claimed = ok(await client.post(f"{guest_url}/customer", headers={**market.store, **john}))[
        "cart"
    ]
    assert claimed["customer_id"] != mine["customer_id"] and claimed["customer_id"] is not None
    assert claimed["email"] == "john@example.com"
    # Now John's: Jane cannot see it.
    error(await client.get(guest_url, headers={**market.store, **jane}), 404, "not_found")

    with_email = await new_cart(client, market.store, email="guest@example.com")
    claimed = ok(
        await client.post(
            f"/store/carts/{with_email['id']}/customer", headers={**market.store, **jane}
        )
    )["cart"]
    assert claimed["email"] == "guest@example.com"
    assert claimed["customer_id"] == mine["customer_id"]


# ------------------------------------------------------------------------------ completed carts


async def test_a_completed_cart_refuses_every_mutation(client, app, market):
    variant = await sell(client, market.admin, market.acme["id"], market.channel_id)
    option = await create_option(
        client, market.admin, market.acme["id"], region_id=market.region["id"]
    )
    jane = await customer_headers(client, market.store, "jane@example.com")
    cart = await new_cart(client, market.store)
    cart = await add_item(client, market.store, cart["id"], variant["id"])
    line_id = cart["items"][0]["id"]
    await mark_completed(app, cart["id"])

    url = f"/store/carts/{cart['id']}"
    message = f"Cart {cart['id']} is already completed."
    for call in (
        client.post(url, json={"email": "x@example.com"}, headers=market.store),
        client.post(url, json={"region_id": market.region["id"]}, headers=market.store),
        client.post(
            f"{url}/line-items",
            json={"variant_id": variant["id"], "quantity": 1},
            headers=market.store,
        ),
        client.post(f"{url}/line-items/{line_id}", json={"quantity": 2}, headers=market.store),
        client.delete(f"{url}/line-items/{line_id}", headers=market.store),
        client.post(
            f"{url}/shipping-methods", json={"option_id": option["id"]}, headers=market.store
        ),
        client.post(f"{url}/customer", headers={**market.store, **jane}),
    ):
        error(await call, 400, "invalid_data", message)
    cart = ok(await client.get(url, headers=market.store))["cart"]
    assert cart["completed_at"] is not None and cart["items"][0]["quantity"] == 1


async def test_quantities_and_totals_stay_within_storage_limits(client, market):
    """The bounds themselves are tested in test_amount_bounds.py."""
    huge = await sell(
        client,
        market.admin,
        market.acme["id"],
        market.channel_id,
        price=10**10,
        manage_inventory=False,
    )
    cart = await new_cart(client, market.store)
    cart = await add_item(client, market.store, cart["id"], huge["id"], 1000)
    error(
        await client.post(
            f"/store/carts/{cart['id']}/line-items",
            json={"variant_id": huge["id"], "quantity": 999_001},
            headers=market.store,
        ),
        400,
        "invalid_data",
        f"Invalid request: quantity: the line of variant {huge['id']} would exceed 1000000 units",
    )
    assert (
        ok(
            await client.post(
                "/store/payment-collections", json={"cart_id": cart["id"]}, headers=market.store
            )
        )["payment_collection"]["amount"]
        == 11 * 10**12
    )


async def test_rendering_a_cart_costs_the_same_statements_whatever_its_size(
    client, market, count_statements
):
    variants = [
        await sell(client, market.admin, seller["id"], market.channel_id)
        for seller in (market.acme, market.bolt)
        for _ in range(3)
    ]
    small = await new_cart(client, market.store)
    await add_item(client, market.store, small["id"], variants[0]["id"])
    large = await new_cart(client, market.store)
    for variant in variants:
        await add_item(client, market.store, large["id"], variant["id"])
    costs = []
    for cart in (small, large):
        async with count_statements() as counter:
            ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))
        costs.append(counter.count)
    assert costs[0] == costs[1]


async def test_create_body_items_are_checked_in_order_as_one_cart(client, app, market):
    """A variant repeated in the create body adds to one line, and its stock is checked on the
    line's total; a later item that fails leaves nothing behind; a deleted product's or
    variant's id is unknown."""
    from sqlalchemy import func, select

    from mercato.carts.models import Cart

    stocked = await sell(client, market.admin, market.acme["id"], market.channel_id, stock=3)
    other = await sell(client, market.admin, market.bolt["id"], market.channel_id, price=5)

    def body(*items: tuple[str, int]) -> dict:
        return {"items": [{"variant_id": v, "quantity": q} for v, q in items]}

    cart = ok(
        await client.post(
            "/store/carts",
            json=body((stocked["id"], 1), (other["id"], 4), (stocked["id"], 2)),
            headers=market.store,
        )
    )["cart"]
    assert sorted((i["variant_id"], i["quantity"]) for i in cart["items"]) == sorted(
        [(stocked["id"], 3), (other["id"], 4)]
    )
    assert {i["variant_id"]: i["unit_price"] for i in cart["items"]} == {
        stocked["id"]: 10.99,
        other["id"]: 5,
    }

    response = await client.post(
        "/store/carts", json=body((stocked["id"], 2), (stocked["id"], 2)), headers=market.store
    )
    failure = ok(response, 400)
    assert failure["code"] == "insufficient_inventory"
    assert "(4 requested, 3 available)" in failure["message"]
    error(
        await client.post(
            "/store/carts",
            json=body((other["id"], 1), ("variant_nope", 1)),
            headers=market.store,
        ),
        404,
        "not_found",
        "Variant with id variant_nope was not found",
    )

    gone = await sell(client, market.admin, market.acme["id"], market.channel_id)
    ok(
        await client.delete(f"/admin/products/{gone['product']['id']}", headers=market.admin),
    )
    error(
        await client.post("/store/carts", json=body((gone["id"], 1)), headers=market.store),
        404,
        "not_found",
    )
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Cart)) == 1

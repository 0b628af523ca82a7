"""The store's catalogue: published products of the key's channels, with the seller's public face."""

from __future__ import annotations

from tests.api.helpers import (
    create_product,
    create_region,
    create_sales_channel,
    create_seller,
    create_store_key,
    error,
    ok,
)


async def test_store_lists_published_products_of_the_keys_channels(
    client, admin_headers, sales_channel, store_headers
):
    web = sales_channel["id"]
    other = (await create_sales_channel(client, admin_headers, "Other"))["id"]
    acme = await create_seller(client, admin_headers, "Acme", logo="https://cdn/acme.png")
    bad = await create_seller(client, admin_headers, "Bad Seller")
    visible = await create_product(
        client, admin_headers, acme["id"], channels=(web,), title="Visible"
    )
    both = await create_product(
        client, admin_headers, acme["id"], channels=(web, other), title="Both"
    )
    draft = await create_product(
        client, admin_headers, acme["id"], channels=(web,), title="Draft", status="draft"
    )
    elsewhere = await create_product(
        client, admin_headers, acme["id"], channels=(other,), title="Else"
    )
    unlisted = await create_product(client, admin_headers, acme["id"], title="Nowhere")
    suspended = await create_product(
        client, admin_headers, bad["id"], channels=(web,), title="Susp"
    )
    ok(
        await client.post(
            f"/admin/sellers/{bad['id']}", json={"status": "suspended"}, headers=admin_headers
        )
    )

    listed = ok(await client.get("/store/products?order=title", headers=store_headers))
    assert [p["id"] for p in listed["products"]] == [both["id"], visible["id"]]
    assert listed["count"] == 2
    product = listed["products"][1]
    assert product["seller"] == {
        "id": acme["id"],
        "name": "Acme",
        "handle": "acme",
        "logo": "https://cdn/acme.png",
    }
    assert "metadata" not in product
    (store_variant,) = product["variants"]
    assert "reserved_quantity" not in store_variant and "metadata" not in store_variant
    assert store_variant["available_quantity"] == 0
    assert [(p["currency_code"], p["amount"]) for p in store_variant["prices"]] == [("usd", 10)]

    url = "/store/products/{}"
    single = ok(await client.get(url.format(visible["id"]), headers=store_headers))["product"]
    assert single == product
    for hidden in (draft, elsewhere, unlisted, suspended):
        response = await client.get(url.format(hidden["id"]), headers=store_headers)
        error(response, 404, "not_found", f"Product with id {hidden['id']} was not found")

    # Another key, on the other channel, sees that channel's products.
    other_store = await create_store_key(client, admin_headers, other)
    listed = ok(await client.get("/store/products?order=title", headers=other_store))
    assert [p["id"] for p in listed["products"]] == [both["id"], elsewhere["id"]]
    # A key on no channel sees nothing.
    bare = await create_store_key(client, admin_headers, web)
    keys = ok(await client.get("/admin/api-keys?order=created_at", headers=admin_headers))
    bare_key = keys["api_keys"][-1]["id"]
    ok(
        await client.post(
            f"/admin/api-keys/{bare_key}/sales-channels",
            json={"remove": [web]},
            headers=admin_headers,
        )
    )
    assert ok(await client.get("/store/products", headers=bare))["count"] == 0

    # Publishing the draft and reactivating the seller make them visible.
    ok(
        await client.post(
            f"/admin/products/{draft['id']}", json={"status": "published"}, headers=admin_headers
        )
    )
    ok(
        await client.post(
            f"/admin/sellers/{bad['id']}", json={"status": "active"}, headers=admin_headers
        )
    )
    listed = ok(await client.get("/store/products", headers=store_headers))
    assert listed["count"] == 4
    # Deleted products and products of deleted sellers disappear.
    ok(await client.delete(f"/admin/products/{draft['id']}", headers=admin_headers))
    ok(await client.delete(f"/admin/sellers/{bad['id']}", headers=admin_headers))
    listed = ok(await client.get("/store/products", headers=store_headers))
    assert sorted(p["id"] for p in listed["products"]) == sorted([visible["id"], both["id"]])


async def test_store_products_filters_and_search(
    client, admin_headers, sales_channel, store_headers
):
    web = sales_channel["id"]
    seller = await create_seller(client, admin_headers)
    boot = await create_product(
        client, admin_headers, seller["id"], channels=(web,), title="Red Boot"
    )
    await create_product(client, admin_headers, seller["id"], channels=(web,), title="Blue Hat")
    found = ok(await client.get("/store/products?q=boot", headers=store_headers))
    assert [p["id"] for p in found["products"]] == [boot["id"]]
    found = ok(
        await client.get("/store/products?handle=blue-hat&fields=title", headers=store_headers)
    )
    assert [p["title"] for p in found["products"]] == ["Blue Hat"]
    # Admin-only filters are not store filters.
    response = await client.get("/store/products?status=draft", headers=store_headers)
    error(response, 400, "invalid_data", "Invalid request: Unrecognized fields: 'status'")


async def test_store_product_variant_availability(
    client, admin_headers, sales_channel, store_headers
):
    seller = await create_seller(client, admin_headers)
    product = await create_product(
        client,
        admin_headers,
        seller["id"],
        channels=(sales_channel["id"],),
        variants=[{"title": "One", "prices": [], "inventory_quantity": 7}],
    )
    single = ok(await client.get(f"/store/products/{product['id']}", headers=store_headers))
    (store_variant,) = single["product"]["variants"]
    assert (store_variant["inventory_quantity"], store_variant["available_quantity"]) == (7, 7)


async def test_store_regions(client, admin_headers, store_headers):
    us = await create_region(client, admin_headers, countries=["us"], tax_rate=10)
    eu = await create_region(
        client, admin_headers, name="Europe", currency_code="eur", metadata={"x": 1}
    )
    listed = ok(await client.get("/store/regions", headers=store_headers))
    assert [r["id"] for r in listed["regions"]] == [eu["id"], us["id"]]  # by name by default
    assert listed["count"] == 2
    assert all("metadata" not in r for r in listed["regions"])  # an internal, admin-only field
    single = ok(await client.get(f"/store/regions/{us['id']}", headers=store_headers))["region"]
    assert (single["currency_code"], single["tax_rate"]) == ("usd", 10)
    assert single["countries"] == [{"iso_2": "us"}]
    response = await client.get("/store/regions?fields=metadata", headers=store_headers)
    error(response, 400, "invalid_data", "Requested fields [metadata] are not valid")
    ok(await client.delete(f"/admin/regions/{eu['id']}", headers=admin_headers))
    error(
        await client.get(f"/store/regions/{eu['id']}", headers=store_headers),
        404,
        "not_found",
        f"Region with id {eu['id']} was not found",
    )

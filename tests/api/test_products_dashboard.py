"""The products list and variant the dashboard reads (admin-dashboard.md §5.2): Medusa's
relations Mercato lacks answer ``null`` / ``[]``, the seller is the shipping profile, and
Medusa's filters on those concepts are accepted and match nothing."""

from __future__ import annotations

from tests.api.helpers import create_product, create_sales_channel, create_seller, error, ok

LIST_FIELDS = (
    "id,title,handle,status,*collection,*sales_channels,variants.id,thumbnail,"
    "-type,-options,-tags,-images"
)


async def test_products_list_compat_fields_and_filters(client, admin_headers):
    channel = await create_sales_channel(client, admin_headers)
    seller = await create_seller(client, admin_headers, "Acme")
    product = await create_product(client, admin_headers, seller["id"], channels=(channel["id"],))
    draft = await create_product(client, admin_headers, seller["id"], status="draft")

    async def listed(**params):
        return ok(await client.get("/admin/products", params=params, headers=admin_headers))

    body = await listed(fields=LIST_FIELDS, is_giftcard="false", limit=20, order="title")
    assert body["count"] == 2
    first = next(p for p in body["products"] if p["id"] == product["id"])
    assert first["collection"] is None
    assert first["sales_channels"][0]["id"] == channel["id"]
    assert [v["id"] for v in first["variants"]] == [product["variants"][0]["id"]]
    # Replace mode (a bare entry): every entry is selected, its leading "-" dropped (FieldParser).
    assert (first["type"], first["options"], first["tags"], first["images"]) == (None, [], [], [])

    shown = (
        await listed(
            id=product["id"],
            fields="id,*type,*tags,*options,*images,*categories,*collection,*shipping_profile",
        )
    )["products"][0]
    assert shown == {
        "id": product["id"],
        "type": None,
        "tags": [],
        "options": [],
        "images": [],
        "categories": [],
        "collection": None,
        "shipping_profile": {"id": seller["id"], "name": "Acme", "type": "default"},
    }
    retrieved = ok(
        await client.get(
            f"/admin/products/{product['id']}",
            params={"fields": "id,shipping_profile.id"},
            headers=admin_headers,
        )
    )["product"]
    assert retrieved == {"id": product["id"], "shipping_profile": {"id": seller["id"]}}

    assert (await listed(is_giftcard="false"))["count"] == 2
    assert (await listed(is_giftcard="true"))["count"] == 0
    for name in ("type_id", "tag_id", "collection_id", "category_id"):
        assert (await listed(**{name: "x"}))["count"] == 0
        assert (await listed(**{f"{name}[]": ["x", "y"]}))["count"] == 0
    assert (await listed(**{"status[]": ["proposed", "rejected"]}))["count"] == 0
    assert [p["id"] for p in (await listed(status="draft"))["products"]] == [draft["id"]]
    assert (await listed(**{"status[]": ["published", "proposed"]}))["count"] == 1
    assert (await listed(q=product["title"], order="-updated_at"))["count"] == 1
    error(await listed_raw(client, admin_headers, status="archived"), 400, "invalid_data")
    error(await listed_raw(client, admin_headers, is_giftcard="maybe"), 400, "invalid_data")
    # A path under an absent relation is still checked.
    error(
        await client.get(
            "/admin/products", params={"fields": "collection.nope"}, headers=admin_headers
        ),
        400,
        "invalid_data",
    )


async def listed_raw(client, admin_headers, **params):
    return await client.get("/admin/products", params=params, headers=admin_headers)


async def test_variant_inventory_is_empty(client, admin_headers):
    seller = await create_seller(client, admin_headers, "Acme")
    product = await create_product(client, admin_headers, seller["id"])
    variant_id = product["variants"][0]["id"]
    url = f"/admin/products/{product['id']}/variants/{variant_id}"
    variant = ok(
        await client.get(
            url,
            params={"fields": "*inventory,*inventory.location_levels,*inventory_items"},
            headers=admin_headers,
        )
    )["variant"]
    assert variant["inventory"] == []
    assert variant["inventory_items"] == []
    assert variant["id"] == variant_id and "prices" in variant
    assert ok(
        await client.get(
            url,
            params={"fields": "id,inventory_items.inventory.location_levels.stocked_quantity"},
            headers=admin_headers,
        )
    )["variant"] == {"id": variant_id, "inventory_items": []}

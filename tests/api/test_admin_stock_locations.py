"""``/admin/stock-locations`` and the shipping-option fields the dashboard's Fulfill items form
reads (admin-dashboard.md §7): each seller's one location, options by stock location, the seller
as shipping profile, and the synthetic service zone."""

from __future__ import annotations

import pytest

from tests.api.checkout_helpers import build_marketplace
from tests.api.helpers import error, ok


@pytest.fixture
async def marketplace(client, admin_headers):
    market = await build_marketplace(client, admin_headers, sellers=2)
    locations = {}
    for seller in market.sellers:
        detail = ok(await client.get(f"/admin/sellers/{seller['id']}", headers=admin_headers))
        locations[seller["id"]] = detail["seller"]["stock_location"]["id"]
    return market, locations


async def test_list_and_retrieve_each_sellers_location(client, marketplace):
    market, locations = marketplace
    a, b = (s["id"] for s in market.sellers)
    body = ok(
        await client.get(
            "/admin/stock-locations", params={"limit": 10, "offset": 0}, headers=market.admin
        )
    )
    assert (body["count"], body["offset"], body["limit"]) == (2, 0, 10)
    by_id = {loc["id"]: loc for loc in body["stock_locations"]}
    assert set(by_id) == {locations[a], locations[b]}
    first = by_id[locations[a]]
    assert set(first) == {
        "id",
        "name",
        "address_id",
        "address",
        "metadata",
        "seller_id",
        "created_at",
        "updated_at",
    }
    assert first["name"] == "Seller 0 warehouse"
    assert (first["address_id"], first["address"], first["metadata"]) == (None, None, None)
    assert first["seller_id"] == a

    one = ok(
        await client.get(
            f"/admin/stock-locations/{locations[b]}",
            params={"fields": "id,name,*seller"},
            headers=market.admin,
        )
    )["stock_location"]
    assert one == {
        "id": locations[b],
        "name": "Seller 1 warehouse",
        "seller": {"id": b, "name": "Seller 1", "handle": market.sellers[1]["handle"]},
    }
    error(
        await client.get("/admin/stock-locations/sloc_nope", headers=market.admin),
        404,
        "not_found",
        "Stock location with id sloc_nope was not found",
    )


async def test_location_filters_search_and_order(client, marketplace):
    market, locations = marketplace
    a, b = (s["id"] for s in market.sellers)

    async def ids(**params):
        body = ok(await client.get("/admin/stock-locations", params=params, headers=market.admin))
        return [loc["id"] for loc in body["stock_locations"]]

    assert await ids(seller_id=b) == [locations[b]]
    assert await ids(id=locations[a]) == [locations[a]]
    assert await ids(name="Seller 1 warehouse") == [locations[b]]
    assert await ids(q="ller 0 WARE") == [locations[a]]
    assert await ids(order="name") == [locations[a], locations[b]]
    assert await ids(order="-name") == [locations[b], locations[a]]
    assert await ids(**{"created_at[$gte]": "2000-01-01T00:00:00Z", "order": "created_at"}) == [
        locations[a],
        locations[b],
    ]
    assert await ids(**{"updated_at[$lt]": "2000-01-01T00:00:00Z"}) == []
    error(
        await client.get("/admin/stock-locations", params={"address": "x"}, headers=market.admin),
        400,
        "invalid_data",
    )
    error(
        await client.get(
            "/admin/stock-locations", params={"order": "seller_id"}, headers=market.admin
        ),
        400,
        "invalid_data",
    )


async def test_shipping_options_by_stock_location_with_profile_and_zone(client, marketplace):
    market, locations = marketplace
    a, b = (s["id"] for s in market.sellers)
    region_id = market.region["id"]
    returns = ok(
        await client.post(
            "/admin/shipping-options",
            json={
                "name": "Returns",
                "seller_id": a,
                "region_id": region_id,
                "amount": 3,
                "is_return": True,
            },
            headers=market.admin,
        )
    )["shipping_option"]
    assert returns["shipping_profile_id"] == a
    assert returns["provider_id"] == "manual_manual"

    async def ids(**params):
        body = ok(await client.get("/admin/shipping-options", params=params, headers=market.admin))
        return sorted(o["id"] for o in body["shipping_options"])

    # The form's query: options of the seller owning the location, return options included.
    assert await ids(stock_location_id=locations[a], limit=10, offset=0) == sorted(
        [market.options[a], returns["id"]]
    )
    assert await ids(stock_location_id=locations[b]) == [market.options[b]]
    assert await ids(**{"stock_location_id[]": [locations[a], locations[b]]}) == sorted(
        [market.options[a], market.options[b], returns["id"]]
    )
    assert await ids(stock_location_id=locations[a], is_return="false") == [market.options[a]]
    assert await ids(stock_location_id=locations[a], is_return="true") == [returns["id"]]
    assert await ids(stock_location_id="sloc_nope") == []
    assert await ids(stock_location_id=locations[a], id=market.options[a], q="Stand") == [
        market.options[a]
    ]

    listed = ok(
        await client.get(
            "/admin/shipping-options",
            params={"stock_location_id": locations[b]},
            headers=market.admin,
        )
    )["shipping_options"][0]
    assert listed["shipping_profile_id"] == b
    assert listed["provider_id"] == "manual_manual"
    assert "service_zone" not in listed

    # The form preselects location and option from the order's method's option.
    option = ok(
        await client.get(
            f"/admin/shipping-options/{market.options[a]}",
            params={"fields": "+service_zone.fulfillment_set.location.id"},
            headers=market.admin,
        )
    )["shipping_option"]
    assert option["service_zone"] == {"fulfillment_set": {"location": {"id": locations[a]}}}
    assert option["shipping_profile_id"] == a
    option = ok(
        await client.get(
            f"/admin/shipping-options/{market.options[b]}",
            params={
                "fields": "id,service_zone.fulfillment_set.type,"
                "*service_zone.fulfillment_set.location"
            },
            headers=market.admin,
        )
    )["shipping_option"]
    assert option == {
        "id": market.options[b],
        "service_zone": {
            "fulfillment_set": {
                "type": "shipping",
                "location": {"id": locations[b], "name": "Seller 1 warehouse"},
            }
        },
    }
    error(
        await client.get(
            f"/admin/shipping-options/{market.options[b]}",
            params={"fields": "service_zone.fulfillment_set.location.address"},
            headers=market.admin,
        ),
        400,
        "invalid_data",
    )


async def test_lists_statements_do_not_grow_with_the_page(client, admin_headers, count_statements):
    """Stock locations with their sellers, and options with their synthetic zones' locations:
    the same statements for a page of 3 as of 30."""
    import asyncio

    from tests.api.helpers import create_region, create_seller

    region = await create_region(client, admin_headers)
    sellers = await asyncio.gather(
        *(create_seller(client, admin_headers, f"Seller {i}") for i in range(30))
    )
    await asyncio.gather(
        *(
            client.post(
                "/admin/shipping-options",
                json={"name": "Std", "seller_id": s["id"], "region_id": region["id"], "amount": 1},
                headers=admin_headers,
            )
            for s in sellers
        )
    )
    for url, key, check in (
        (
            "/admin/stock-locations?fields=%2Bseller.*&limit=",
            "stock_locations",
            lambda row: row["seller"]["id"] == row["seller_id"],
        ),
        (
            "/admin/shipping-options?fields=%2Bservice_zone.fulfillment_set.location.*&limit=",
            "shipping_options",
            lambda row: row["service_zone"]["fulfillment_set"]["location"]["id"].startswith("sloc"),
        ),
    ):
        async with count_statements() as small:
            few = ok(await client.get(url + "3", headers=admin_headers))[key]
        async with count_statements() as large:
            many = ok(await client.get(url + "30", headers=admin_headers))[key]
        assert len(few) == 3 and len(many) == 30 and all(check(row) for row in many)
        assert small.count == large.count, (url, small.count, large.count)

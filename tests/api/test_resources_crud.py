"""Create, list, retrieve, update and delete of every setup resource through ``/admin``."""

from __future__ import annotations

import re

from tests.api.helpers import (
    ADMIN_EMAIL,
    PASSWORD,
    create_api_key,
    create_product,
    create_region,
    create_sales_channel,
    create_seller,
    error,
    link_channels,
    login,
    ok,
    variant,
)

ULID = r"[0-9A-HJKMNP-TV-Z]{26}"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def assert_id(value: str, prefix: str) -> None:
    assert re.fullmatch(f"{prefix}_{ULID}", value), value


async def assert_gone(client, headers, url: str, entity: str, entity_id: str) -> None:
    response = await client.get(url, headers=headers)
    error(response, 404, "not_found", f"{entity} with id {entity_id} was not found")


async def assert_deleted(client, headers, url: str, entity_id: str, object_name: str) -> None:
    body = ok(await client.delete(url, headers=headers))
    assert body == {"id": entity_id, "object": object_name, "deleted": True}


# --- sellers -----------------------------------------------------------------------------------


async def test_seller_crud(client, admin_headers):
    seller = await create_seller(
        client, admin_headers, "Acme Shoes & Co!", email="shop@acme.test", logo="https://x/l.png"
    )
    assert_id(seller["id"], "sel")
    assert seller["handle"] == "acme-shoes-co"
    assert seller["status"] == "active"
    assert TIMESTAMP.match(seller["created_at"]) and TIMESTAMP.match(seller["updated_at"])
    location = seller["stock_location"]
    assert_id(location["id"], "sloc")
    assert location["seller_id"] == seller["id"]

    url = f"/admin/sellers/{seller['id']}"
    fetched = ok(await client.get(url, headers=admin_headers))["seller"]
    assert fetched == seller

    listed = ok(await client.get("/admin/sellers", headers=admin_headers))
    assert listed["count"] == 1 and listed["offset"] == 0 and listed["limit"] == 50
    assert listed["sellers"][0]["id"] == seller["id"]
    assert "stock_location" not in listed["sellers"][0]

    updated = ok(
        await client.post(
            url,
            json={"name": "Acme", "status": "suspended", "metadata": {"tier": "gold"}},
            headers=admin_headers,
        )
    )["seller"]
    assert (updated["name"], updated["handle"], updated["status"]) == (
        "Acme",
        "acme-shoes-co",
        "suspended",
    )
    assert updated["metadata"] == {"tier": "gold"}
    assert updated["updated_at"] >= seller["updated_at"]
    suspended = ok(await client.get("/admin/sellers?status=suspended", headers=admin_headers))
    assert suspended["count"] == 1

    await assert_deleted(client, admin_headers, url, seller["id"], "seller")
    await assert_gone(client, admin_headers, url, "Seller", seller["id"])
    assert ok(await client.get("/admin/sellers", headers=admin_headers))["count"] == 0
    # The handle is free again once the seller is deleted.
    assert (await create_seller(client, admin_headers, "Acme Shoes & Co!"))["handle"] == (
        "acme-shoes-co"
    )


async def test_seller_handles_are_unique_and_kebab_case(client, admin_headers):
    await create_seller(client, admin_headers, "Acme")
    # A derived handle that is taken gets a suffix; a chosen one is a 422 (test_handles.py).
    response = await client.post("/admin/sellers", json={"name": "ACME"}, headers=admin_headers)
    assert ok(response)["seller"]["handle"] == "acme-2"
    response = await client.post(
        "/admin/sellers", json={"name": "Other", "handle": "acme"}, headers=admin_headers
    )
    error(response, 422, "duplicate_error")
    response = await client.post(
        "/admin/sellers", json={"name": "Other", "handle": "Not Kebab"}, headers=admin_headers
    )
    assert "handle" in error(response, 400, "invalid_data")
    other = await create_seller(client, admin_headers, "Other")
    response = await client.post(
        f"/admin/sellers/{other['id']}", json={"handle": "acme"}, headers=admin_headers
    )
    error(response, 422, "duplicate_error")
    response = await client.post(
        f"/admin/sellers/{other['id']}", json={"name": None}, headers=admin_headers
    )
    assert "name" in error(response, 400, "invalid_data")
    response = await client.post("/admin/sellers", json={"name": "  "}, headers=admin_headers)
    assert "name" in error(response, 400, "invalid_data")
    response = await client.post(
        "/admin/sellers", json={"name": "X", "status": "closed"}, headers=admin_headers
    )
    assert "status" in error(response, 400, "invalid_data")


async def test_seller_members(client, admin_headers):
    seller = await create_seller(client, admin_headers)
    url = f"/admin/sellers/{seller['id']}/members"
    member = ok(
        await client.post(
            url, json={"email": "Staff@Acme.test", "password": PASSWORD}, headers=admin_headers
        )
    )["member"]
    assert_id(member["id"], "mem")
    assert member["email"] == "staff@acme.test"
    assert member["role"] == "owner"
    detail = ok(
        await client.get(
            f"/admin/sellers/{seller['id']}?fields=members.email", headers=admin_headers
        )
    )["seller"]
    assert detail == {
        "id": seller["id"],
        "members": [{"id": member["id"], "email": "staff@acme.test"}],
    }
    response = await client.post(
        url, json={"email": "x@acme.test", "password": "short"}, headers=admin_headers
    )
    assert "password" in error(response, 400, "invalid_data")
    response = await client.post(
        "/admin/sellers/sel_missing/members",
        json={"email": "y@acme.test", "password": PASSWORD},
        headers=admin_headers,
    )
    error(response, 404, "not_found", "Seller with id sel_missing was not found")


# --- regions -----------------------------------------------------------------------------------


async def test_region_crud(client, admin_headers):
    region = await create_region(
        client, admin_headers, currency_code="EUR", countries=["DE", "fr"], tax_rate=19.5
    )
    assert_id(region["id"], "reg")
    assert region["currency_code"] == "eur"
    assert region["countries"] == [{"iso_2": "de"}, {"iso_2": "fr"}]
    assert region["tax_rate"] == 19.5
    assert region["tax_inclusive"] is False
    assert region["payment_providers"] == [{"id": "pp_system_default", "is_enabled": True}]

    default = await create_region(client, admin_headers, name="Japan", currency_code="jpy")
    assert default["tax_rate"] == 0 and default["countries"] == []

    url = f"/admin/regions/{region['id']}"
    assert ok(await client.get(url, headers=admin_headers))["region"] == region
    updated = ok(
        await client.post(
            url,
            json={"tax_rate": 7, "tax_inclusive": True, "countries": ["at"]},
            headers=admin_headers,
        )
    )["region"]
    assert (updated["tax_rate"], updated["tax_inclusive"]) == (7, True)
    assert updated["countries"] == [{"iso_2": "at"}]
    # "de" was released by the update.
    await create_region(client, admin_headers, name="Germany", countries=["de"])

    listed = ok(await client.get("/admin/regions?order=name", headers=admin_headers))
    assert [r["name"] for r in listed["regions"]] == ["Germany", "Japan", "United States"]
    assert (
        ok(await client.get("/admin/regions?currency_code=jpy", headers=admin_headers))["count"]
        == 1
    )

    await assert_deleted(client, admin_headers, url, region["id"], "region")
    await assert_gone(client, admin_headers, url, "Region", region["id"])
    # Countries of a deleted region can be reused.
    await create_region(client, admin_headers, name="Austria", countries=["at"])


async def test_region_validation(client, admin_headers):
    await create_region(client, admin_headers, countries=["us"])
    response = await client.post(
        "/admin/regions",
        json={"name": "X", "currency_code": "usd", "countries": ["ca", "US"]},
        headers=admin_headers,
    )
    error(
        response, 400, "invalid_data", "Countries with codes: us are already assigned to a region"
    )
    response = await client.post(
        "/admin/regions",
        json={"name": "X", "currency_code": "usd", "payment_providers": ["pp_nope"]},
        headers=admin_headers,
    )
    error(response, 400, "invalid_data", "Payment providers with ids pp_nope were not found")
    for body, field in [
        ({"name": "X", "currency_code": "xyz"}, "currency_code"),
        ({"name": "X", "currency_code": "usd", "tax_rate": 101}, "tax_rate"),
        ({"name": "X", "currency_code": "usd", "tax_rate": "10"}, "tax_rate"),
        ({"name": "X", "currency_code": "usd", "countries": ["usa"]}, "countries"),
        ({"currency_code": "usd"}, "name"),
    ]:
        response = await client.post("/admin/regions", json=body, headers=admin_headers)
        assert field in error(response, 400, "invalid_data"), body


# --- sales channels ----------------------------------------------------------------------------


async def test_sales_channel_crud(client, admin_headers):
    channel = await create_sales_channel(client, admin_headers, "Webshop", description="Main")
    assert_id(channel["id"], "sc")
    assert (channel["name"], channel["description"], channel["is_disabled"]) == (
        "Webshop",
        "Main",
        False,
    )
    url = f"/admin/sales-channels/{channel['id']}"
    assert ok(await client.get(url, headers=admin_headers))["sales_channel"] == channel
    updated = ok(await client.post(url, json={"is_disabled": True}, headers=admin_headers))
    assert updated["sales_channel"]["is_disabled"] is True
    await create_sales_channel(client, admin_headers, "App")
    listed = ok(await client.get("/admin/sales-channels?is_disabled=false", headers=admin_headers))
    assert [c["name"] for c in listed["sales_channels"]] == ["App"]
    await assert_deleted(client, admin_headers, url, channel["id"], "sales-channel")
    await assert_gone(client, admin_headers, url, "Sales channel", channel["id"])


# --- api keys ----------------------------------------------------------------------------------


async def test_secret_api_key_token_is_shown_only_at_creation(client, admin_headers):
    key = await create_api_key(client, admin_headers, "secret", title="CI")
    assert_id(key["id"], "apk")
    assert set(key) >= {"id", "title", "type", "token", "redacted", "revoked_at", "created_at"}
    assert key["type"] == "secret" and key["revoked_at"] is None
    assert re.fullmatch(r"sk_[0-9a-f]{64}", key["token"])
    assert key["redacted"] == f"{key['token'][:6]}***{key['token'][-3:]}"

    url = f"/admin/api-keys/{key['id']}"
    fetched = ok(await client.get(url, headers=admin_headers))["api_key"]
    assert fetched["token"] is None and fetched["redacted"] == key["redacted"]
    publishable = await create_api_key(client, admin_headers, "publishable", title="Store")
    assert re.fullmatch(r"pk_[0-9a-f]{64}", publishable["token"])

    listed = ok(await client.get("/admin/api-keys", headers=admin_headers))
    assert listed["count"] == 2
    assert key["token"] not in str(listed)
    by_id = {k["id"]: k for k in listed["api_keys"]}
    assert by_id[key["id"]]["token"] is None
    assert by_id[publishable["id"]]["token"] == publishable["token"]
    retitled = ok(await client.post(url, json={"title": "Deploys"}, headers=admin_headers))
    assert retitled["api_key"]["title"] == "Deploys" and retitled["api_key"]["token"] is None


async def test_api_key_sales_channels_revoke_and_delete(client, admin_headers):
    web = await create_sales_channel(client, admin_headers, "Web")
    app_channel = await create_sales_channel(client, admin_headers, "App")
    key = await create_api_key(client, admin_headers)
    linked = await link_channels(
        client, admin_headers, key["id"], add=[web["id"], app_channel["id"]]
    )
    assert sorted(c["id"] for c in linked["sales_channels"]) == sorted(
        [web["id"], app_channel["id"]]
    )
    # Adding twice is harmless.
    await link_channels(client, admin_headers, key["id"], add=[web["id"]])
    unlinked = await link_channels(client, admin_headers, key["id"], remove=[app_channel["id"]])
    assert unlinked["sales_channels"] == [{"id": web["id"], "name": "Web"}]

    response = await client.post(
        f"/admin/api-keys/{key['id']}/sales-channels",
        json={"add": ["sc_missing"]},
        headers=admin_headers,
    )
    error(response, 400, "invalid_data", "Sales channels with ids sc_missing were not found")
    secret = await create_api_key(client, admin_headers, "secret")
    response = await client.post(
        f"/admin/api-keys/{secret['id']}/sales-channels",
        json={"add": [web["id"]]},
        headers=admin_headers,
    )
    error(response, 400, "invalid_data")

    url = f"/admin/api-keys/{key['id']}"
    error(
        await client.delete(url, headers=admin_headers),
        400,
        "invalid_data",
        "Cannot delete api keys that are not revoked",
    )
    revoked = ok(await client.post(f"{url}/revoke", headers=admin_headers))["api_key"]
    assert TIMESTAMP.match(revoked["revoked_at"])
    assert revoked["revoked_by"] is not None
    error(await client.post(f"{url}/revoke", headers=admin_headers), 400, "invalid_data")
    await assert_deleted(client, admin_headers, url, key["id"], "api_key")
    await assert_gone(client, admin_headers, url, "API key", key["id"])


async def test_api_key_body_validation(client, admin_headers):
    response = await client.post(
        "/admin/api-keys", json={"title": "X", "type": "private"}, headers=admin_headers
    )
    assert "type" in error(response, 400, "invalid_data")


# --- products ----------------------------------------------------------------------------------


async def test_product_crud_with_variants_prices_and_stock(client, admin_headers):
    seller = await create_seller(client, admin_headers)
    channel = await create_sales_channel(client, admin_headers)
    product = await create_product(
        client,
        admin_headers,
        seller["id"],
        channels=(channel["id"],),
        title="Running Shoe",
        variants=[
            variant("S", 10.99, sku="SHOE-S", inventory_quantity=5),
            {
                "title": "M",
                "prices": [
                    {"amount": 12, "currency_code": "USD"},
                    {"amount": 1500, "currency_code": "jpy"},
                    {"amount": 1.234, "currency_code": "kwd"},
                ],
                "manage_inventory": False,
            },
        ],
    )
    assert_id(product["id"], "prod")
    assert (product["handle"], product["status"], product["seller_id"]) == (
        "running-shoe",
        "published",
        seller["id"],
    )
    assert product["seller"] == {"id": seller["id"], "name": "Acme", "handle": "acme"}
    assert product["sales_channels"] == [{"id": channel["id"], "name": "Webshop"}]
    small, medium = product["variants"]
    assert_id(small["id"], "variant")
    assert (small["title"], small["sku"], small["variant_rank"]) == ("S", "SHOE-S", 0)
    assert (
        small["inventory_quantity"],
        small["reserved_quantity"],
        small["available_quantity"],
    ) == (
        5,
        0,
        5,
    )
    assert small["manage_inventory"] is True and small["allow_backorder"] is False
    assert small["requires_shipping"] is True
    assert [(p["currency_code"], p["amount"]) for p in small["prices"]] == [("usd", 10.99)]
    assert [(p["currency_code"], p["amount"]) for p in medium["prices"]] == [
        ("jpy", 1500),
        ("kwd", 1.234),
        ("usd", 12),
    ]
    assert medium["manage_inventory"] is False

    url = f"/admin/products/{product['id']}"
    assert ok(await client.get(url, headers=admin_headers))["product"] == product

    updated = ok(
        await client.post(
            url,
            json={"title": "Trail Shoe", "status": "draft", "sales_channels": []},
            headers=admin_headers,
        )
    )["product"]
    assert (updated["title"], updated["status"], updated["handle"]) == (
        "Trail Shoe",
        "draft",
        "running-shoe",
    )
    assert updated["sales_channels"] == []

    variant_url = f"{url}/variants/{small['id']}"
    after = ok(
        await client.post(
            variant_url,
            json={"prices": [{"amount": 8.5, "currency_code": "usd"}], "inventory_quantity": 2},
            headers=admin_headers,
        )
    )["product"]
    changed = after["variants"][0]
    assert [(p["currency_code"], p["amount"]) for p in changed["prices"]] == [("usd", 8.5)]
    assert (changed["inventory_quantity"], changed["available_quantity"]) == (2, 2)
    single = ok(await client.get(variant_url, headers=admin_headers))["variant"]
    assert single["id"] == small["id"] and single["prices"][0]["amount"] == 8.5

    added = ok(await client.post(f"{url}/variants", json=variant("L", 14), headers=admin_headers))[
        "product"
    ]
    assert [v["title"] for v in added["variants"]] == ["S", "M", "L"]
    large = added["variants"][2]
    deleted = ok(await client.delete(f"{url}/variants/{large['id']}", headers=admin_headers))
    assert deleted == {
        "id": large["id"],
        "object": "variant",
        "deleted": True,
        "parent": {"id": product["id"]},
    }
    error(
        await client.get(f"{url}/variants/{large['id']}", headers=admin_headers),
        404,
        "not_found",
        f"Variant with id {large['id']} was not found",
    )

    await assert_deleted(client, admin_headers, url, product["id"], "product")
    await assert_gone(client, admin_headers, url, "Product", product["id"])
    await assert_gone(client, admin_headers, variant_url, "Product", product["id"])
    assert ok(await client.get("/admin/products", headers=admin_headers))["count"] == 0


async def test_product_validation(client, admin_headers):
    seller = await create_seller(client, admin_headers)
    product = await create_product(client, admin_headers, seller["id"], title="Hat")
    response = await client.post(
        "/admin/products",
        json={"title": "Hat", "seller_id": seller["id"], "handle": "hat"},
        headers=admin_headers,
    )
    error(response, 422, "duplicate_error", "Product with handle hat already exists")
    response = await client.post(
        "/admin/products", json={"title": "Cap", "seller_id": "sel_missing"}, headers=admin_headers
    )
    error(response, 400, "invalid_data", "Seller with id sel_missing was not found")
    response = await client.post(
        "/admin/products",
        json={"title": "Cap", "seller_id": seller["id"], "sales_channels": [{"id": "sc_x"}]},
        headers=admin_headers,
    )
    error(response, 400, "invalid_data", "Sales channels with ids sc_x were not found")
    response = await client.post(
        "/admin/products",
        json={
            "title": "Cap",
            "seller_id": seller["id"],
            "variants": [variant(sku="A"), variant(sku="A")],
        },
        headers=admin_headers,
    )
    error(response, 422, "duplicate_error")
    response = await client.post(
        "/admin/products",
        json={
            "title": "Cap",
            "seller_id": seller["id"],
            "variants": [
                {
                    "title": "X",
                    "prices": [
                        {"amount": 1, "currency_code": "usd"},
                        {"amount": 2, "currency_code": "usd"},
                    ],
                }
            ],
        },
        headers=admin_headers,
    )
    assert "prices" in error(response, 400, "invalid_data")
    response = await client.post(
        "/admin/products",
        json={"title": "Cap", "seller_id": seller["id"], "variants": [variant(amount=-1)]},
        headers=admin_headers,
    )
    assert "amount" in error(response, 400, "invalid_data")
    # Nothing of the refused products was written.
    assert ok(await client.get("/admin/products", headers=admin_headers))["count"] == 1
    small = product["variants"][0]["id"]
    response = await client.post(
        f"/admin/products/{product['id']}/variants/{small}",
        json={"inventory_quantity": -1},
        headers=admin_headers,
    )
    assert "inventory_quantity" in error(response, 400, "invalid_data")
    response = await client.post(
        f"/admin/products/{product['id']}/variants/variant_missing",
        json={"title": "X"},
        headers=admin_headers,
    )
    error(response, 404, "not_found", "Variant with id variant_missing was not found")


# --- shipping options --------------------------------------------------------------------------


async def test_shipping_option_crud(client, admin_headers):
    seller = await create_seller(client, admin_headers)
    region = await create_region(client, admin_headers, currency_code="eur")
    option = ok(
        await client.post(
            "/admin/shipping-options",
            json={
                "name": "Standard",
                "seller_id": seller["id"],
                "region_id": region["id"],
                "amount": 4.95,
            },
            headers=admin_headers,
        )
    )["shipping_option"]
    assert_id(option["id"], "so")
    assert (option["currency_code"], option["amount"], option["price_type"]) == (
        "eur",
        4.95,
        "flat",
    )
    assert option["region_id"] == region["id"] and option["seller_id"] == seller["id"]
    assert option["is_return"] is False

    url = f"/admin/shipping-options/{option['id']}"
    assert ok(await client.get(url, headers=admin_headers))["shipping_option"] == option
    updated = ok(await client.post(url, json={"amount": 5}, headers=admin_headers))
    assert updated["shipping_option"]["amount"] == 5

    anywhere = ok(
        await client.post(
            "/admin/shipping-options",
            json={
                "name": "Anywhere",
                "seller_id": seller["id"],
                "currency_code": "USD",
                "amount": 9,
            },
            headers=admin_headers,
        )
    )["shipping_option"]
    assert (anywhere["region_id"], anywhere["currency_code"]) == (None, "usd")
    listed = ok(
        await client.get(f"/admin/shipping-options?region_id={region['id']}", headers=admin_headers)
    )
    assert [o["id"] for o in listed["shipping_options"]] == [option["id"]]
    with_seller = ok(await client.get(f"{url}?fields=name,seller.name", headers=admin_headers))
    assert with_seller["shipping_option"] == {
        "id": option["id"],
        "name": "Standard",
        "seller": {"id": seller["id"], "name": "Acme"},
    }

    await assert_deleted(client, admin_headers, url, option["id"], "shipping_option")
    await assert_gone(client, admin_headers, url, "Shipping option", option["id"])


async def test_shipping_option_validation(client, admin_headers):
    seller = await create_seller(client, admin_headers)
    region = await create_region(client, admin_headers, currency_code="eur")
    base = {"name": "Standard", "seller_id": seller["id"], "amount": 5}
    response = await client.post("/admin/shipping-options", json=base, headers=admin_headers)
    assert "currency_code" in error(response, 400, "invalid_data")
    response = await client.post(
        "/admin/shipping-options",
        json={**base, "region_id": region["id"], "currency_code": "usd"},
        headers=admin_headers,
    )
    assert "currency_code" in error(response, 400, "invalid_data")
    response = await client.post(
        "/admin/shipping-options", json={**base, "region_id": "reg_x"}, headers=admin_headers
    )
    error(response, 400, "invalid_data", "Region with id reg_x was not found")
    response = await client.post(
        "/admin/shipping-options",
        json={**base, "seller_id": "sel_x", "currency_code": "usd"},
        headers=admin_headers,
    )
    error(response, 400, "invalid_data", "Seller with id sel_x was not found")
    response = await client.post(
        "/admin/shipping-options",
        json={**base, "region_id": region["id"], "amount": 4.999},
        headers=admin_headers,
    )
    error(response, 400, "invalid_data")


async def test_return_shipping_options(client, admin_headers):
    """``is_return`` (order-changes.md §18): set at creation or by an update, shown, filtered."""
    seller = await create_seller(client, admin_headers)
    region = await create_region(client, admin_headers)
    base = {"seller_id": seller["id"], "region_id": region["id"], "amount": 3}
    returns = ok(
        await client.post(
            "/admin/shipping-options",
            json={**base, "name": "Return by post", "is_return": True},
            headers=admin_headers,
        )
    )["shipping_option"]
    assert returns["is_return"] is True and returns["amount"] == 3
    outbound = ok(
        await client.post(
            "/admin/shipping-options", json={**base, "name": "Standard"}, headers=admin_headers
        )
    )["shipping_option"]
    assert outbound["is_return"] is False

    async def listed(query: str) -> list[str]:
        body = ok(await client.get(f"/admin/shipping-options?{query}", headers=admin_headers))
        return [o["id"] for o in body["shipping_options"]]

    assert await listed("is_return=true") == [returns["id"]]
    assert await listed("is_return=false") == [outbound["id"]]
    url = f"/admin/shipping-options/{outbound['id']}"
    flipped = ok(await client.post(url, json={"is_return": True}, headers=admin_headers))
    assert flipped["shipping_option"]["is_return"] is True
    assert await listed("is_return=false&order=name") == []
    for body in ({"is_return": None}, {"is_return": "yes"}):
        message = error(
            await client.post(url, json=body, headers=admin_headers), 400, "invalid_data"
        )
        assert "is_return" in message
    error(
        await client.get("/admin/shipping-options?is_return=maybe", headers=admin_headers),
        400,
        "invalid_data",
    )


# --- customers ---------------------------------------------------------------------------------


async def _customer(client, store: dict, email: str, **profile) -> dict:
    token = ok(
        await client.post(
            "/auth/customer/emailpass/register", json={"email": email, "password": PASSWORD}
        )
    )["token"]
    headers = {**store, "authorization": f"Bearer {token}"}
    body = ok(
        await client.post("/store/customers", json={"email": email, **profile}, headers=headers)
    )
    return body["customer"]


async def test_admin_customers_list_search_and_update(client, admin_headers):
    from tests.api.helpers import create_store_key

    store = await create_store_key(client, admin_headers)
    jane = await _customer(client, store, "jane@example.com", first_name="Jane", last_name="Doe")
    await _customer(client, store, "bob@example.com", first_name="Bob", last_name="Stone")
    assert_id(jane["id"], "cus")

    listed = ok(await client.get("/admin/customers?order=email", headers=admin_headers))
    assert [c["email"] for c in listed["customers"]] == ["bob@example.com", "jane@example.com"]
    for q in ("JANE", "doe", "e@exa"):
        found = ok(await client.get(f"/admin/customers?q={q}", headers=admin_headers))
        assert [c["id"] for c in found["customers"]] == [jane["id"]], q
    found = ok(await client.get("/admin/customers?q=example", headers=admin_headers))
    assert found["count"] == 2

    url = f"/admin/customers/{jane['id']}"
    updated = ok(
        await client.post(
            url, json={"last_name": "Smith", "metadata": {"vip": True}}, headers=admin_headers
        )
    )["customer"]
    assert (updated["first_name"], updated["last_name"], updated["metadata"]) == (
        "Jane",
        "Smith",
        {"vip": True},
    )
    assert ok(await client.get(url, headers=admin_headers))["customer"] == updated
    response = await client.post(url, json={"email": "new@example.com"}, headers=admin_headers)
    error(response, 400, "invalid_data", "Invalid request: Unrecognized fields: 'email'")
    await assert_gone(
        client, admin_headers, "/admin/customers/cus_missing", "Customer", "cus_missing"
    )


async def test_email_search_finds_exactly_the_substring_matches(client, admin_headers):
    """An email-shaped ``q`` probes the trigram indexes with its local part only
    (``listing.search_probe``); the whole of ``q`` must still decide, case-insensitively and
    literally."""
    from tests.api.helpers import create_store_key

    store = await create_store_key(client, admin_headers)
    emails = [
        "ann.lee@shop.test",
        "Ann.Lee@Shop.Test.example",
        "joann.lee@shop.test",
        "ann.lee@other.test",
        "ann_lee@shop.test",
        "a%n.lee@shop.test",
    ]
    ids = {email: (await _customer(client, store, email))["id"] for email in emails}
    # A name may hold the probe without holding ``q``.
    named = await _customer(client, store, "x@y.test", first_name="ann.lee@")

    async def search(q: str) -> set[str]:
        body = ok(await client.get("/admin/customers", params={"q": q}, headers=admin_headers))
        return {c["id"] for c in body["customers"]}

    def of(*chosen: str) -> set[str]:
        return {ids[e] for e in chosen}

    assert await search("ann.lee@shop.test") == of(
        "ann.lee@shop.test", "Ann.Lee@Shop.Test.example", "joann.lee@shop.test"
    )
    assert await search("ANN.LEE@SHOP.TEST.") == of("Ann.Lee@Shop.Test.example")
    assert await search("ann_lee@shop") == of("ann_lee@shop.test")
    assert await search("a%n.lee@shop") == of("a%n.lee@shop.test")
    assert await search("ann.lee@") == {*of(*emails[:4]), named["id"]}
    assert await search("ee@other") == of("ann.lee@other.test")  # too short a local part
    assert await search("@shop.test") == of(*(e for e in emails if "@shop.test" in e.lower()))


# --- admin users -------------------------------------------------------------------------------


async def test_admin_users_crud(client, admin_headers):
    me = ok(await client.get("/admin/users/me", headers=admin_headers))["user"]
    assert_id(me["id"], "user")
    assert me["email"] == ADMIN_EMAIL
    assert "password" not in str(me)

    created = ok(
        await client.post(
            "/admin/users",
            json={"email": "Ops@Example.com", "password": PASSWORD, "first_name": "Olga"},
            headers=admin_headers,
        )
    )["user"]
    assert_id(created["id"], "user")
    assert (created["email"], created["first_name"]) == ("ops@example.com", "Olga")
    headers = await login(client, "user", "ops@example.com", PASSWORD)
    assert ok(await client.get("/admin/users/me", headers=headers))["user"]["id"] == created["id"]

    url = f"/admin/users/{created['id']}"
    updated = ok(await client.post(url, json={"last_name": "Ivanova"}, headers=admin_headers))
    assert updated["user"]["last_name"] == "Ivanova"
    listed = ok(await client.get("/admin/users?order=email", headers=admin_headers))
    assert [u["email"] for u in listed["users"]] == [ADMIN_EMAIL, "ops@example.com"]

    await assert_deleted(client, admin_headers, url, created["id"], "user")
    await assert_gone(client, admin_headers, url, "User", created["id"])
    assert ok(await client.get("/admin/users", headers=admin_headers))["count"] == 1


async def test_admin_user_email_is_unique(client, admin_headers):
    response = await client.post(
        "/admin/users",
        json={"email": ADMIN_EMAIL.upper(), "password": PASSWORD},
        headers=admin_headers,
    )
    error(response, 422, "duplicate_error")
    response = await client.post(
        "/admin/users",
        json={"email": "new@example.com", "password": "short"},
        headers=admin_headers,
    )
    assert "password" in error(response, 400, "invalid_data")
    assert ok(await client.get("/admin/users", headers=admin_headers))["count"] == 1

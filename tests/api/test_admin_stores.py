"""``/admin/stores`` (admin-dashboard.md §3): the one store ``mercato migrate`` creates, its
currencies (the regions' drive them), its defaults, and the update's every refusal."""

from __future__ import annotations

from sqlalchemy import func, select

from mercato.seed import seed_demo
from mercato.sellers.models import StockLocation
from mercato.stores.models import Store, StoreCurrency
from mercato.stores.service import ensure_store
from mercato.unit_of_work import UnitOfWork
from tests.api.helpers import create_region, create_sales_channel, create_seller, error, ok
from tests.api.test_resources_crud import TIMESTAMP, assert_id

URL = "/admin/stores"
STORE_KEYS = [
    "id",
    "name",
    "supported_currencies",
    "default_sales_channel_id",
    "default_region_id",
    "default_location_id",
    "metadata",
    "created_at",
    "updated_at",
]
CURRENCY_KEYS = [
    "id",
    "currency_code",
    "store_id",
    "is_default",
    "currency",
    "created_at",
    "updated_at",
    "deleted_at",
]


async def ensure(app) -> bool:
    return await ensure_store(UnitOfWork(app.state.sessionmaker))


async def the_store(client, admin: dict, fields: str = "") -> dict:
    query = f"?fields={fields}" if fields else ""
    body = ok(await client.get(f"{URL}{query}", headers=admin))
    assert body["count"] == 1, body
    return body["stores"][0]


def currencies(store: dict) -> list[tuple[str, bool]]:
    return [(c["currency_code"], c["is_default"]) for c in store["supported_currencies"]]


async def update(client, admin: dict, store_id: str, body: dict, status: int = 200) -> dict:
    return ok(await client.post(f"{URL}/{store_id}", json=body, headers=admin), status)


async def expect_invalid(client, admin: dict, store_id: str, body: dict, message: str) -> None:
    error(
        await client.post(f"{URL}/{store_id}", json=body, headers=admin),
        400,
        "invalid_data",
        message,
    )


# ----------------------------------------------------------------------------- creation


async def test_migrate_creates_one_store_with_the_regions_currencies(app, client, admin_headers):
    assert ok(await client.get(URL, headers=admin_headers)) == {
        "stores": [],
        "count": 0,
        "offset": 0,
        "limit": 50,
    }
    await create_region(client, admin_headers, name="Europe", currency_code="eur")
    await create_region(client, admin_headers, name="US", currency_code="usd")
    await create_region(client, admin_headers, name="Euro 2", currency_code="eur", countries=[])
    assert await ensure(app) is True
    assert await ensure(app) is False  # idempotent: one store, ever
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Store)) == 1
    store = await the_store(client, admin_headers)
    assert list(store) == STORE_KEYS
    assert_id(store["id"], "store")
    assert store["name"] == "Mercato"
    # The oldest region's currency is the default; each currency once.
    assert sorted(currencies(store)) == [("eur", True), ("usd", False)]
    assert store["default_region_id"] is None
    assert store["default_sales_channel_id"] is None
    assert store["default_location_id"] is None
    assert store["metadata"] is None


async def test_the_store_renders_as_medusas_admin_store(app, client, admin_headers):
    await create_region(client, admin_headers)
    await ensure(app)
    store = await the_store(client, admin_headers)
    assert TIMESTAMP.match(store["created_at"]) and TIMESTAMP.match(store["updated_at"])
    [usd] = store["supported_currencies"]
    assert list(usd) == CURRENCY_KEYS
    assert_id(usd["id"], "stocur")
    assert (usd["currency_code"], usd["store_id"], usd["is_default"]) == ("usd", store["id"], True)
    assert usd["deleted_at"] is None
    assert usd["currency"] == {
        "code": "usd",
        "symbol": "$",
        "symbol_native": "$",
        "name": "US Dollar",
        "decimal_digits": 2,
        "rounding": 0,
        "created_at": store["created_at"],  # the store's timestamps
        "updated_at": store["updated_at"],
        "deleted_at": None,
    }
    one = ok(await client.get(f"{URL}/{store['id']}", headers=admin_headers))["store"]
    assert one == store


async def test_fields_filters_and_search(app, client, admin_headers):
    await ensure(app)
    store = await the_store(client, admin_headers, "+supported_locales")
    assert store["supported_locales"] == []
    store = await the_store(client, admin_headers, "name,supported_currencies.currency_code")
    assert store == {"id": store["id"], "name": "Mercato", "supported_currencies": []}
    assert ok(await client.get(f"{URL}?q=merc", headers=admin_headers))["count"] == 1
    assert ok(await client.get(f"{URL}?q=nope", headers=admin_headers))["count"] == 0
    assert ok(await client.get(f"{URL}?id={store['id']}", headers=admin_headers))["count"] == 1
    assert ok(await client.get(f"{URL}?id=store_x", headers=admin_headers))["count"] == 0
    error(
        await client.get(f"{URL}?fields=password", headers=admin_headers),
        400,
        "invalid_data",
        "Requested fields [password] are not valid",
    )
    error(
        await client.get(f"{URL}?order=default_region_id", headers=admin_headers),
        400,
        "invalid_data",
        "Order field default_region_id is not valid",
    )
    error(await client.get(f"{URL}?bogus=1", headers=admin_headers), 400, "invalid_data")
    error(await client.get(URL), 401, "unauthorized", "Unauthorized")


async def test_an_unknown_store_is_not_found(app, client, admin_headers):
    await ensure(app)
    message = "Store with id store_nope was not found"
    error(await client.get(f"{URL}/store_nope", headers=admin_headers), 404, "not_found", message)
    error(
        await client.post(f"{URL}/store_nope", json={"name": "X"}, headers=admin_headers),
        404,
        "not_found",
        message,
    )


# ----------------------------------------------------------------------------- update


async def test_name_and_metadata(app, client, admin_headers):
    await ensure(app)
    store_id = (await the_store(client, admin_headers))["id"]
    body = await update(
        client, admin_headers, store_id, {"name": "  Market  ", "metadata": {"a": 1}}
    )
    assert (body["store"]["name"], body["store"]["metadata"]) == ("Market", {"a": 1})
    for bad in ("   ", "x" * 256):
        error(
            await client.post(f"{URL}/{store_id}", json={"name": bad}, headers=admin_headers),
            400,
            "invalid_data",
        )
    assert ok(
        await client.post(f"{URL}/{store_id}", json={"name": "x" * 255}, headers=admin_headers)
    )
    await expect_invalid(
        client, admin_headers, store_id, {"name": None}, "Invalid request: name: must not be null"
    )
    error(
        await client.post(f"{URL}/{store_id}", json={"bogus": 1}, headers=admin_headers),
        400,
        "invalid_data",
    )


async def test_supported_currencies_replace_the_list(app, client, admin_headers):
    await create_region(client, admin_headers)
    await ensure(app)
    store = await the_store(client, admin_headers)
    echoed = store["supported_currencies"][0]  # the dashboard sends a read's keys back
    body = await update(
        client,
        admin_headers,
        store["id"],
        {
            "supported_currencies": [
                {**echoed, "is_default": False},
                {"currency_code": "EUR", "is_default": True, "is_tax_inclusive": False},
                {"currency_code": "jpy"},
            ]
        },
    )
    assert currencies(body["store"]) == [("eur", True), ("jpy", False), ("usd", False)]
    # The usd row is kept (same id), eur and jpy are new.
    kept = body["store"]["supported_currencies"][2]
    assert kept["id"] == echoed["id"]
    body = await update(
        client,
        admin_headers,
        store["id"],
        {"supported_currencies": [{"currency_code": "usd", "is_default": True}]},
    )
    assert currencies(body["store"]) == [("usd", True)]
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(StoreCurrency)) == 1


async def test_an_empty_list_is_allowed_when_no_region_uses_a_currency(app, client, admin_headers):
    await ensure(app)
    store_id = (await the_store(client, admin_headers))["id"]
    body = await update(
        client,
        admin_headers,
        store_id,
        {"supported_currencies": [{"currency_code": "usd", "is_default": True}]},
    )
    assert currencies(body["store"]) == [("usd", True)]
    body = await update(client, admin_headers, store_id, {"supported_currencies": []})
    assert body["store"]["supported_currencies"] == []


async def test_every_refused_currency_list(app, client, admin_headers):
    region = await create_region(client, admin_headers)
    await ensure(app)
    store_id = (await the_store(client, admin_headers))["id"]
    usd = {"currency_code": "usd", "is_default": True}
    cases = [
        (
            [usd, {"currency_code": "eur"}, {"currency_code": "EUR"}, {"currency_code": "usd"}],
            "Duplicate currency codes: usd, eur",
        ),
        (
            [usd, {"currency_code": "eur", "is_default": True}],
            "Only one default currency is allowed",
        ),
        (
            [{"currency_code": "usd"}, {"currency_code": "eur", "is_default": False}],
            "There should be a default currency set for the store",
        ),
        ([usd, {"currency_code": "xyz"}], "Currency with code xyz was not found"),
        (
            [{**usd, "is_tax_inclusive": True}],
            "Tax-inclusive pricing is set per region (tax_inclusive), not per store currency",
        ),
        (
            [{"currency_code": "eur", "is_default": True}],
            f"Currency usd is used by region {region['id']} and cannot be removed",
        ),
        ([], f"Currency usd is used by region {region['id']} and cannot be removed"),
    ]
    for items, message in cases:
        await expect_invalid(
            client, admin_headers, store_id, {"supported_currencies": items}, message
        )
    await expect_invalid(
        client,
        admin_headers,
        store_id,
        {"supported_currencies": None},
        "Invalid request: supported_currencies: must not be null",
    )
    # Nothing changed.
    assert currencies(await the_store(client, admin_headers)) == [("usd", True)]


async def test_defaults_must_exist(app, client, admin_headers):
    await ensure(app)
    store_id = (await the_store(client, admin_headers))["id"]
    region = await create_region(client, admin_headers)
    channel = await create_sales_channel(client, admin_headers)
    await create_seller(client, admin_headers, "Acme")
    async with app.state.sessionmaker() as session:
        location_id = await session.scalar(select(StockLocation.id))
    for name, entity in (
        ("default_region_id", "Region"),
        ("default_sales_channel_id", "Sales channel"),
        ("default_location_id", "Stock location"),
    ):
        await expect_invalid(
            client, admin_headers, store_id, {name: "x_1"}, f"{entity} with id x_1 was not found"
        )
    body = await update(
        client,
        admin_headers,
        store_id,
        {
            "default_region_id": region["id"],
            "default_sales_channel_id": channel["id"],
            "default_location_id": location_id,
        },
    )
    store = body["store"]
    assert (
        store["default_region_id"],
        store["default_sales_channel_id"],
        store["default_location_id"],
    ) == (region["id"], channel["id"], location_id)
    body = await update(client, admin_headers, store_id, {"default_location_id": None})
    assert body["store"]["default_location_id"] is None
    assert body["store"]["default_region_id"] == region["id"]
    # A deleted region is not found either.
    ok(await client.delete(f"/admin/regions/{region['id']}", headers=admin_headers))
    await expect_invalid(
        client,
        admin_headers,
        store_id,
        {"default_region_id": region["id"]},
        f"Region with id {region['id']} was not found",
    )


# ----------------------------------------------------------------------------- regions drive it


async def test_regions_add_their_currency(app, client, admin_headers):
    await ensure(app)
    await create_region(client, admin_headers, name="Europe", currency_code="eur")
    assert currencies(await the_store(client, admin_headers)) == [("eur", True)]
    region = await create_region(client, admin_headers, name="US", currency_code="usd")
    await create_region(client, admin_headers, name="US 2", currency_code="usd")
    assert currencies(await the_store(client, admin_headers)) == [("eur", True), ("usd", False)]
    ok(
        await client.post(
            f"/admin/regions/{region['id']}", json={"currency_code": "jpy"}, headers=admin_headers
        )
    )
    assert currencies(await the_store(client, admin_headers)) == [
        ("eur", True),
        ("jpy", False),
        ("usd", False),
    ]


async def test_deleting_a_default_region_or_channel_nulls_it(app, client, admin_headers):
    await ensure(app)
    store_id = (await the_store(client, admin_headers))["id"]
    region = await create_region(client, admin_headers)
    other = await create_region(client, admin_headers, name="Other", currency_code="eur")
    channel = await create_sales_channel(client, admin_headers)
    await update(
        client,
        admin_headers,
        store_id,
        {"default_region_id": region["id"], "default_sales_channel_id": channel["id"]},
    )
    ok(await client.delete(f"/admin/regions/{other['id']}", headers=admin_headers))
    assert (await the_store(client, admin_headers))["default_region_id"] == region["id"]
    ok(await client.delete(f"/admin/regions/{region['id']}", headers=admin_headers))
    ok(await client.delete(f"/admin/sales-channels/{channel['id']}", headers=admin_headers))
    store = await the_store(client, admin_headers)
    assert store["default_region_id"] is None and store["default_sales_channel_id"] is None
    # The region's currency is no longer in use: it may be removed now.
    await update(
        client,
        admin_headers,
        store_id,
        {"supported_currencies": [{"currency_code": "gbp", "is_default": True}]},
    )


async def test_seed_demo_sets_its_region_and_channel_as_defaults(
    app, client, admin_headers, fast_hashing
):
    await ensure(app)
    demo = await seed_demo(UnitOfWork(app.state.sessionmaker))
    store = await the_store(client, admin_headers)
    assert store["default_region_id"] == demo.region_id
    assert store["default_sales_channel_id"] is not None
    assert currencies(store) == [("usd", True)]

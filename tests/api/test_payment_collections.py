"""Store payment collections and sessions (checkout.md, "Cart API")."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from mercato.payments.models import PaymentCollection, PaymentSession
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
    error,
    ok,
)


async def _collection(client, store: dict, cart_id: str) -> dict:
    response = await client.post(
        "/store/payment-collections", json={"cart_id": cart_id}, headers=store
    )
    return ok(response)["payment_collection"]


async def _session(client, store: dict, collection_id: str, provider_id: str, data=None):
    body = {"provider_id": provider_id}
    if data is not None:
        body["data"] = data
    return await client.post(
        f"/store/payment-collections/{collection_id}/payment-sessions", json=body, headers=store
    )


async def _counts(app) -> tuple[int, int]:
    async with app.state.sessionmaker() as session:
        collections = await session.scalar(select(func.count()).select_from(PaymentCollection))
        sessions = await session.scalar(select(func.count()).select_from(PaymentSession))
    return collections, sessions


async def _shopping_cart(client, market, quantity: int = 3) -> dict:
    variant = await sell(client, market.admin, market.acme["id"], market.channel_id, price=10.99)
    cart = await new_cart(client, market.store)
    return await add_item(client, market.store, cart["id"], variant["id"], quantity)


async def test_a_cart_has_one_payment_collection(client, app, market):
    cart = await _shopping_cart(client, market)
    collection = await _collection(client, market.store, cart["id"])
    assert collection == {
        "id": collection["id"],
        "currency_code": "usd",
        "amount": 36.27,
        "status": "not_paid",
        "payment_sessions": [],
    }
    assert collection["id"].startswith("pay_col_")
    assert await _collection(client, market.store, cart["id"]) == collection
    cart = ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
    assert cart["payment_collection"] == collection

    # Concurrent first calls for another cart all get the same collection.
    other = await _shopping_cart(client, market, 1)
    results = await asyncio.gather(
        *(_collection(client, market.store, other["id"]) for _ in range(8))
    )
    assert len({c["id"] for c in results}) == 1
    assert await _counts(app) == (2, 0)


async def test_payment_collection_requests_are_validated(client, app, market):
    cart = await _shopping_cart(client, market)
    error(
        await client.post(
            "/store/payment-collections", json={"cart_id": "cart_nope"}, headers=market.store
        ),
        404,
        "not_found",
        "Cart with id cart_nope was not found",
    )
    error(
        await client.post(
            "/store/payment-collections",
            json={"cart_id": cart["id"], "amount": 1},
            headers=market.store,
        ),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'amount'",
    )
    error(
        await client.post(
            "/store/payment-collections?limit=1", json={"cart_id": cart["id"]}, headers=market.store
        ),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'limit'",
    )
    assert await _counts(app) == (0, 0)
    error(
        await client.post("/store/payment-collections", json={"cart_id": cart["id"]}),
        400,
        "not_allowed",
    )
    collection = await _collection(client, market.store, cart["id"])
    error(
        await _session(client, market.store, "pay_col_nope", "pp_system_default"),
        404,
        "not_found",
        "Payment collection with id pay_col_nope was not found",
    )
    error(
        await client.post(
            f"/store/payment-collections/{collection['id']}/payment-sessions",
            json={"provider_id": "pp_system_default", "context": {}},
            headers=market.store,
        ),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'context'",
    )
    error(
        await _session(client, market.store, collection["id"], "pp_stripe"),
        400,
        "invalid_data",
        "Payment provider pp_stripe is not available",
    )
    error(
        await _session(client, market.store, collection["id"], "pp_test", {"outcome": "maybe"}),
        400,
        "invalid_data",
    )
    assert await _counts(app) == (1, 0)


async def test_sessions_are_replaced(client, app, market):
    cart = await _shopping_cart(client, market)
    collection = await _collection(client, market.store, cart["id"])
    first = ok(await _session(client, market.store, collection["id"], "pp_system_default"))
    (session,) = first["payment_collection"]["payment_sessions"]
    assert session == {
        "id": session["id"],
        "provider_id": "pp_system_default",
        "amount": 36.27,
        "currency_code": "usd",
        "status": "pending",
        "data": None,
    }
    assert session["id"].startswith("payses_")
    assert first["payment_collection"]["id"] == collection["id"]

    second = ok(
        await _session(client, market.store, collection["id"], "pp_test", {"outcome": "decline"})
    )
    (replaced,) = second["payment_collection"]["payment_sessions"]
    assert replaced["id"] != session["id"]
    assert (replaced["provider_id"], replaced["data"]) == ("pp_test", {"outcome": "decline"})
    assert await _counts(app) == (1, 1)
    cart = ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
    assert cart["payment_collection"]["payment_sessions"] == [replaced]


async def test_the_provider_must_be_enabled_in_the_carts_region(client, market):
    region = await create_region(client, market.admin, name="Default only", currency_code="eur")
    variant = await sell(client, market.admin, market.acme["id"], market.channel_id, currency="eur")
    cart = await new_cart(client, market.store, region_id=region["id"])
    await add_item(client, market.store, cart["id"], variant["id"])
    collection = await _collection(client, market.store, cart["id"])
    assert (collection["currency_code"], collection["amount"]) == ("eur", 10.99)
    error(
        await _session(client, market.store, collection["id"], "pp_test"),
        400,
        "invalid_data",
        f"Payment provider pp_test is not enabled in region {region['id']}",
    )
    ok(await _session(client, market.store, collection["id"], "pp_system_default"))


async def test_cart_changes_update_the_amount_and_remove_sessions(client, app, market):
    variant = await sell(client, market.admin, market.acme["id"], market.channel_id, price=10)
    option = await create_option(
        client, market.admin, market.acme["id"], region_id=market.region["id"], amount=5
    )
    cheaper = await create_option(
        client, market.admin, market.acme["id"], currency_code="usd", amount=2
    )
    cart = await new_cart(client, market.store)
    cart = await add_item(client, market.store, cart["id"], variant["id"], 1)
    collection = await _collection(client, market.store, cart["id"])
    assert collection["amount"] == 11

    async def start_session() -> None:
        body = ok(await _session(client, market.store, collection["id"], "pp_system_default"))
        assert len(body["payment_collection"]["payment_sessions"]) == 1

    async def expect(amount) -> dict:
        current = ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
        assert current["payment_collection"]["amount"] == amount == current["total"]
        assert current["payment_collection"]["payment_sessions"] == []
        assert current["payment_collection"]["id"] == collection["id"]
        return current

    await start_session()
    await add_item(client, market.store, cart["id"], variant["id"], 1)
    current = await expect(22)

    await start_session()
    line_url = f"/store/carts/{cart['id']}/line-items/{current['items'][0]['id']}"
    ok(await client.post(line_url, json={"quantity": 3}, headers=market.store))
    await expect(33)

    await start_session()
    await choose_option(client, market.store, cart["id"], option["id"])
    await expect(38.5)

    await start_session()
    await choose_option(client, market.store, cart["id"], cheaper["id"])
    await expect(35.2)

    await start_session()
    region = await create_region(
        client, market.admin, name="Other", currency_code="usd", tax_rate=0
    )
    ok(
        await client.post(
            f"/store/carts/{cart['id']}", json={"region_id": region["id"]}, headers=market.store
        )
    )
    await expect(32)  # 3 × 10 + the currency-wide option (2), no tax

    await start_session()
    ok(await client.delete(line_url, headers=market.store))
    await expect(2)

    # A change that leaves the total alone keeps the session.
    await start_session()
    ok(
        await client.post(
            f"/store/carts/{cart['id']}", json={"email": "a@example.com"}, headers=market.store
        )
    )
    current = ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
    assert len(current["payment_collection"]["payment_sessions"]) == 1
    assert await _counts(app) == (1, 1)


async def test_payment_collections_of_another_customers_cart(client, market):
    jane = await customer_headers(client, market.store, "jane@example.com")
    john = await customer_headers(client, market.store, "john@example.com")
    variant = await sell(client, market.admin, market.acme["id"], market.channel_id)
    cart = await new_cart(client, {**market.store, **jane})
    await add_item(client, {**market.store, **jane}, cart["id"], variant["id"])
    error(
        await client.post(
            "/store/payment-collections",
            json={"cart_id": cart["id"]},
            headers={**market.store, **john},
        ),
        404,
        "not_found",
        f"Cart with id {cart['id']} was not found",
    )
    collection = await _collection(client, {**market.store, **jane}, cart["id"])
    error(
        await _session(client, {**market.store, **john}, collection["id"], "pp_system_default"),
        404,
        "not_found",
        f"Payment collection with id {collection['id']} was not found",
    )
    ok(await _session(client, {**market.store, **jane}, collection["id"], "pp_system_default"))


async def test_completed_carts(client, app, market):
    cart = await _shopping_cart(client, market)
    collection = await _collection(client, market.store, cart["id"])
    ok(await _session(client, market.store, collection["id"], "pp_system_default"))
    await mark_completed(app, cart["id"])
    # Reading the existing collection still works; nothing can change any more.
    assert (await _collection(client, market.store, cart["id"]))["id"] == collection["id"]
    error(
        await _session(client, market.store, collection["id"], "pp_system_default"),
        400,
        "invalid_data",
        f"Cart {cart['id']} is already completed.",
    )
    other = await _shopping_cart(client, market)
    await mark_completed(app, other["id"])
    error(
        await client.post(
            "/store/payment-collections", json={"cart_id": other["id"]}, headers=market.store
        ),
        400,
        "invalid_data",
        f"Cart {other['id']} is already completed.",
    )

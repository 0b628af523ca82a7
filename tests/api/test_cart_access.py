"""Who reaches a cart (checkout.md): a guest cart by its id with the publishable key alone, a
customer's cart only with that customer's token — every cart route, both ways."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from mercato.orders.models import OrderGroup
from mercato.payments.models import PaymentCollection, PaymentSession
from tests.api.cart_helpers import customer_headers
from tests.api.checkout_helpers import Marketplace, build_marketplace, cart_with_items
from tests.api.helpers import error, ok

Call = Callable[[dict[str, str]], Awaitable[httpx.Response]]


@pytest.fixture
async def market(client, admin_headers) -> Marketplace:
    """Overrides conftest's ``market``: two sellers with one product (10.99) and an option each."""
    return await build_marketplace(client, admin_headers, sellers=2)


async def count(app, model) -> int:
    async with app.state.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model))


def cart_routes(client, market: Marketplace, cart: dict[str, Any]) -> dict[str, Call]:
    """Every route that reaches a cart by its id, in an order the owner can follow through."""
    url = f"/store/carts/{cart['id']}"
    first_seller = market.sellers[0]["id"]
    variant = market.variants[first_seller][0]
    line = next(i["id"] for i in cart["items"] if i["variant_id"] == variant)
    return {
        "read": lambda h: client.get(url, headers=h),
        "update": lambda h: client.post(url, json={"email": "new@example.com"}, headers=h),
        "add line": lambda h: client.post(
            f"{url}/line-items", json={"variant_id": variant, "quantity": 1}, headers=h
        ),
        "change line": lambda h: client.post(
            f"{url}/line-items/{line}", json={"quantity": 3}, headers=h
        ),
        "delete line": lambda h: client.delete(f"{url}/line-items/{line}", headers=h),
        "add line again": lambda h: client.post(
            f"{url}/line-items", json={"variant_id": variant, "quantity": 1}, headers=h
        ),
        "shipping options": lambda h: client.get(
            "/store/shipping-options", params={"cart_id": cart["id"]}, headers=h
        ),
        "shipping method": lambda h: client.post(
            f"{url}/shipping-methods", json={"option_id": market.options[first_seller]}, headers=h
        ),
        "payment collection": lambda h: client.post(
            "/store/payment-collections", json={"cart_id": cart["id"]}, headers=h
        ),
    }


async def start_session(client, collection_id: str, headers: dict) -> httpx.Response:
    return await client.post(
        f"/store/payment-collections/{collection_id}/payment-sessions",
        json={"provider_id": "pp_system_default"},
        headers=headers,
    )


async def test_a_customers_cart_is_reached_only_with_their_token(client, app, market):
    jane = {**market.store, **await customer_headers(client, market.store, "jane@example.com")}
    john = {**market.store, **await customer_headers(client, market.store, "john@example.com")}
    items = [(market.variants[s["id"]][0], 1) for s in market.sellers]
    cart = await cart_with_items(client, market, items, headers=jane)
    assert cart["customer_id"].startswith("cus_")
    url = f"/store/carts/{cart['id']}"
    missing = f"Cart with id {cart['id']} was not found"
    before = ok(await client.get(url, headers=jane))["cart"]
    routes = cart_routes(client, market, before)

    for stranger in (market.store, john):
        for name, call in routes.items():
            response = await call(stranger)
            assert response.status_code == 404, (name, response.text)
            error(response, 404, "not_found", missing)
        error(await client.post(f"{url}/complete", headers=stranger), 404, "not_found", missing)
    # taking it over: a customer is needed (401), and another customer's cart does not exist
    error(await client.post(f"{url}/customer", headers=market.store), 401, "unauthorized")
    error(await client.post(f"{url}/customer", headers=john), 404, "not_found", missing)
    assert ok(await client.get(url, headers=jane))["cart"] == before
    assert await count(app, PaymentCollection) == 0

    # the payment collection's sessions are the cart's too
    collection = ok(
        await client.post("/store/payment-collections", json={"cart_id": cart["id"]}, headers=jane)
    )["payment_collection"]
    for stranger in (market.store, john):
        error(
            await start_session(client, collection["id"], stranger),
            404,
            "not_found",
            f"Payment collection with id {collection['id']} was not found",
        )
    assert await count(app, PaymentSession) == 0

    # the owner reaches every route, through to the order group
    for name, call in routes.items():
        assert (await call(jane)).status_code == 200, name
    ok(await start_session(client, collection["id"], jane))
    completed = ok(await client.post(f"{url}/complete", headers=jane))
    assert completed["type"] == "order_group"
    assert ok(await client.get(url, headers=jane))["cart"]["email"] == "new@example.com"
    error(await client.get(url, headers=market.store), 404, "not_found", missing)
    assert await count(app, OrderGroup) == 1


async def test_a_guest_cart_is_reached_by_its_id_until_a_customer_takes_it(client, app, market):
    john = {**market.store, **await customer_headers(client, market.store, "john@example.com")}
    jane = {**market.store, **await customer_headers(client, market.store, "jane@example.com")}
    items = [(market.variants[s["id"]][0], 1) for s in market.sellers]
    cart = await cart_with_items(client, market, items)
    assert cart["customer_id"] is None
    url = f"/store/carts/{cart['id']}"
    routes = cart_routes(client, market, cart)
    for name, call in routes.items():  # the publishable key alone
        assert (await call(market.store)).status_code == 200, name
    # a logged-in customer reaches a guest cart as well
    assert ok(await client.get(url, headers=jane))["cart"]["id"] == cart["id"]
    collection = ok(
        await client.post(
            "/store/payment-collections", json={"cart_id": cart["id"]}, headers=market.store
        )
    )["payment_collection"]
    ok(await start_session(client, collection["id"], market.store))

    # ``POST /store/carts/:id/customer`` makes it John's: from then on only John reaches it
    taken = ok(await client.post(f"{url}/customer", headers=john))["cart"]
    assert taken["customer_id"] is not None
    missing = f"Cart with id {cart['id']} was not found"
    for stranger in (market.store, jane):
        error(await client.get(url, headers=stranger), 404, "not_found", missing)
        error(await start_session(client, collection["id"], stranger), 404, "not_found")
        error(await client.post(f"{url}/complete", headers=stranger), 404, "not_found", missing)
    ok(await start_session(client, collection["id"], john))
    assert ok(await client.post(f"{url}/complete", headers=john))["type"] == "order_group"

"""``GET /store/return-shipping-options?order_id=`` (order-changes.md §10): the return options of
the customer's order's seller that serve the order's region."""

from __future__ import annotations

from typing import Any

from tests.api.cart_helpers import customer_headers
from tests.api.checkout_helpers import build_marketplace, cart_with_items, complete, pay
from tests.api.helpers import create_region, error, ok

URL = "/store/return-shipping-options"


async def _option(client, admin: dict, seller_id: str, **fields: Any) -> dict:
    body = {"name": "Returns", "seller_id": seller_id, "amount": 3, "is_return": True, **fields}
    return ok(await client.post("/admin/shipping-options", json=body, headers=admin))[
        "shipping_option"
    ]


async def test_return_options_of_the_customers_order(client, admin_headers):
    market = await build_marketplace(client, admin_headers, sellers=2)
    a, b = (s["id"] for s in market.sellers)
    region_id = market.region["id"]
    other = await create_region(client, admin_headers, name="Elsewhere", currency_code="usd")
    in_region = await _option(client, admin_headers, a, region_id=region_id, amount=3)
    any_usd = await _option(client, admin_headers, a, currency_code="usd", amount=2.5)
    await _option(client, admin_headers, a, currency_code="eur")  # another currency
    await _option(client, admin_headers, a, region_id=other["id"])  # another region
    await _option(client, admin_headers, b, region_id=region_id)  # another seller
    gone = await _option(client, admin_headers, a, region_id=region_id)
    ok(await client.delete(f"/admin/shipping-options/{gone['id']}", headers=admin_headers))

    shopper = await customer_headers(client, market.store, "returner@example.com")
    items = [(market.variants[s["id"]][0], 1) for s in market.sellers]
    cart = await cart_with_items(client, market, items, headers=shopper)
    await pay(client, market, cart["id"], headers=shopper)
    group = ok(await complete(client, market, cart["id"], headers=shopper))["order_group"]
    order_a = next(o["id"] for o in group["orders"] if o["seller_id"] == a)
    headers = {**market.store, **shopper}

    body = ok(await client.get(URL, params={"order_id": order_a}, headers=headers))
    assert body == {
        "shipping_options": [
            {
                "id": any_usd["id"],
                "name": "Returns",
                "amount": 2.5,
                "seller_id": a,
                "region_id": None,
            },
            {
                "id": in_region["id"],
                "name": "Returns",
                "amount": 3,
                "seller_id": a,
                "region_id": region_id,
            },
        ]
    }
    picked = ok(
        await client.get(
            URL, params={"order_id": order_a, "fields": "id,currency_code"}, headers=headers
        )
    )
    assert picked["shipping_options"][0] == {"id": any_usd["id"], "currency_code": "usd"}

    # Another customer's order, and an unknown one, are not found; a token is required.
    other_shopper = await customer_headers(client, market.store, "other@example.com")
    for order_id, caller in ((order_a, other_shopper), ("order_missing", shopper)):
        error(
            await client.get(
                URL, params={"order_id": order_id}, headers={**market.store, **caller}
            ),
            404,
            "not_found",
            f"Order with id {order_id} was not found",
        )
    error(
        await client.get(URL, params={"order_id": order_a}, headers=market.store),
        401,
        "unauthorized",
    )
    for query, message in [
        ("", "Invalid request: order_id: is required"),
        (f"?order_id={order_a}&order_id=x", "Invalid request: order_id: must be a single value"),
        (f"?order_id={order_a}&cart_id=x", "Invalid request: Unrecognized fields: 'cart_id'"),
        (f"?order_id={order_a}&fields=data", "Requested fields [data] are not valid"),
    ]:
        error(await client.get(f"{URL}{query}", headers=headers), 400, "invalid_data", message)


async def test_a_guest_order_has_no_return_options_for_the_store(client, admin_headers):
    """Guest orders are returned by the operator (order-changes.md §10)."""
    market = await build_marketplace(client, admin_headers, sellers=1)
    cart = await cart_with_items(client, market, [(market.variants[market.sellers[0]["id"]][0], 1)])
    await pay(client, market, cart["id"])
    order_id = ok(await complete(client, market, cart["id"]))["order_group"]["orders"][0]["id"]
    shopper = await customer_headers(client, market.store, "someone@example.com")
    error(
        await client.get(URL, params={"order_id": order_id}, headers={**market.store, **shopper}),
        404,
        "not_found",
        f"Order with id {order_id} was not found",
    )

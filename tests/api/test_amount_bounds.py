"""Bounded amounts and quantities (api-conventions.md, "Request validation"): a line holds at
most 1,000,000 units, a client's amount is at most 10^12 minor units, a cart's amount before tax
at most 10^15 minor units (domain/limits.py), so every total fits a BIGINT exactly; and money in
JSON is always the exact plain decimal number."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select

from mercato.carts.models import CartLineItem
from tests.api.cart_helpers import add_item, choose_option, create_option, new_cart, sell
from tests.api.helpers import (
    create_seller,
    error,
    ok,
    variant,
)


def exact(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The body with every JSON number as a ``Decimal`` parsed from its own text, so a float
    that lost digits cannot pass for the amount; exponent notation is refused outright."""
    assert response.status_code == status, (response.status_code, response.text)
    assert "e+" not in response.text.lower(), response.text
    return json.loads(response.text, parse_float=Decimal, parse_int=Decimal)


# --- quantities ----------------------------------------------------------------------------------


async def test_a_line_holds_at_most_a_million_units(client, market):
    backorder = await sell(
        client, market.admin, market.acme["id"], market.channel_id, manage_inventory=False
    )
    response = await client.post(
        "/store/carts",
        json={"items": [{"variant_id": backorder["id"], "quantity": 1_000_001}]},
        headers=market.store,
    )
    assert error(response, 400, "invalid_data").startswith("Invalid request: items.0.quantity:")
    cart = await new_cart(client, market.store)
    cart = await add_item(client, market.store, cart["id"], backorder["id"], 1_000_000)
    # Adding the same variant again grows its line: past the bound it is refused.
    response = await client.post(
        f"/store/carts/{cart['id']}/line-items",
        json={"variant_id": backorder["id"], "quantity": 1},
        headers=market.store,
    )
    error(
        response,
        400,
        "invalid_data",
        f"Invalid request: quantity: the line of variant {backorder['id']} would exceed "
        "1000000 units",
    )
    [line] = cart["items"]
    response = await client.post(
        f"/store/carts/{cart['id']}/line-items/{line['id']}",
        json={"quantity": 1_000_001},
        headers=market.store,
    )
    assert error(response, 400, "invalid_data").startswith("Invalid request: quantity:")
    cart = ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
    assert cart["items"][0]["quantity"] == 1_000_000


# --- client amounts -------------------------------------------------------------------------------


async def test_a_price_is_at_most_10_to_the_12_minor_units(client, admin_headers):
    seller = await create_seller(client, admin_headers)

    async def create(amount: Any, currency: str = "usd") -> httpx.Response:
        return await client.post(
            "/admin/products",
            json={
                "title": "Gold",
                "seller_id": seller["id"],
                "variants": [variant(amount=amount, currency=currency)],
            },
            headers=admin_headers,
        )

    error(
        await create(10_000_000_000.01),
        400,
        "invalid_data",
        "Invalid request: variants.0.prices.0.amount: must be at most 10000000000 USD",
    )
    error(
        await create(1_000_000_000.001, "kwd"),
        400,
        "invalid_data",
        "Invalid request: variants.0.prices.0.amount: must be at most 1000000000 KWD",
    )
    error(
        await create(1_000_000_000_001, "jpy"),
        400,
        "invalid_data",
        "Invalid request: variants.0.prices.0.amount: must be at most 1000000000000",
    )
    product = exact(await create(10_000_000_000))["product"]
    assert product["variants"][0]["prices"][0]["amount"] == 10**10
    product_id = product["id"]
    variant_id = product["variants"][0]["id"]
    response = await client.post(
        f"/admin/products/{product_id}/variants/{variant_id}",
        json={"prices": [{"amount": 1e11, "currency_code": "usd"}]},
        headers=admin_headers,
    )
    assert error(response, 400, "invalid_data").startswith(
        "Invalid request: prices.0.amount: must be at most"
    )


async def test_shipping_amounts_are_bounded_like_prices(client, market):
    response = await client.post(
        "/admin/shipping-options",
        json={
            "name": "Freight",
            "seller_id": market.acme["id"],
            "region_id": market.region["id"],
            "amount": 10_000_000_000.01,
        },
        headers=market.admin,
    )
    error(response, 400, "invalid_data", "Invalid request: amount: must be at most 10000000000 USD")
    option = await create_option(
        client, market.admin, market.acme["id"], region_id=market.region["id"], amount=10**10
    )
    response = await client.post(
        f"/admin/shipping-options/{option['id']}", json={"amount": 1e12}, headers=market.admin
    )
    error(response, 400, "invalid_data", "Invalid request: amount: must be at most 10000000000 USD")
    response = await client.post(
        "/admin/shipping-options",
        json={
            "name": "Too precise",
            "seller_id": market.acme["id"],
            "currency_code": "usd",
            "amount": 1.001,
        },
        headers=market.admin,
    )
    error(
        response,
        400,
        "invalid_data",
        "Invalid request: amount: 1.001 has more decimals than usd allows (2)",
    )


# --- the largest cart ------------------------------------------------------------------------------


async def test_the_largest_cart_renders_and_checks_out_exactly(client, app, market):
    """A cart of 10^15 − 1 minor units before tax (the bound is 10^15) with 10 % tax: its total,
    1,099,999,999,999,999 cents, is more digits than a float holds; cart, order and group show
    it exactly. One cent more before tax is refused, whichever change brings it."""
    gold = await sell(
        client,
        market.admin,
        market.acme["id"],
        market.channel_id,
        price=9_999_999_999.99,
        manage_inventory=False,
    )
    cent = await sell(
        client, market.admin, market.acme["id"], market.channel_id, price=0.01, stock=10
    )
    post = await create_option(
        client, market.admin, market.acme["id"], region_id=market.region["id"], amount=9.98
    )
    cart = await new_cart(client, market.store, email="rich@shop.test")
    cart = await add_item(client, market.store, cart["id"], gold["id"], 1000)
    cart = await choose_option(client, market.store, cart["id"], post["id"])
    cart = await add_item(client, market.store, cart["id"], cent["id"], 1)  # 10^15 − 1
    for response in (
        await client.post(
            f"/store/carts/{cart['id']}/line-items",
            json={"variant_id": cent["id"], "quantity": 2},
            headers=market.store,
        ),
        await client.post(
            f"/store/carts/{cart['id']}/line-items/{cart['items'][1]['id']}",
            json={"quantity": 3},
            headers=market.store,
        ),
    ):
        error(
            response,
            400,
            "invalid_data",
            f"Cart {cart['id']} would amount to more than 10000000000000 USD before tax, "
            "the largest cart allowed",
        )
    cart = exact(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
    assert cart["subtotal"] == Decimal("9999999999999.99")
    assert cart["tax_total"] == Decimal("1000000000000.00")
    assert cart["total"] == Decimal("10999999999999.99")
    assert [line["total"] for line in cart["items"]] == [
        Decimal("10999999999989.00"),
        Decimal("0.01"),
    ]
    async with app.state.sessionmaker() as session:
        lines = await session.scalar(select(func.count()).where(CartLineItem.cart_id == cart["id"]))
    assert lines == 2

    collection = exact(
        await client.post(
            "/store/payment-collections", json={"cart_id": cart["id"]}, headers=market.store
        )
    )["payment_collection"]
    assert collection["amount"] == Decimal("10999999999999.99")
    ok(
        await client.post(
            f"/store/payment-collections/{collection['id']}/payment-sessions",
            json={"provider_id": "pp_system_default"},
            headers=market.store,
        )
    )
    group = exact(await client.post(f"/store/carts/{cart['id']}/complete", headers=market.store))[
        "order_group"
    ]
    assert group["total"] == Decimal("10999999999999.99")
    [order] = exact(
        await client.get(
            f"/admin/orders?id={group['orders'][0]['id']}&fields=total,subtotal,tax_total",
            headers=market.admin,
        )
    )["orders"]
    assert (order["total"], order["subtotal"], order["tax_total"]) == (
        Decimal("10999999999999.99"),
        Decimal("9999999999999.99"),
        Decimal("1000000000000.00"),
    )


async def test_a_huge_backorder_cart_is_refused_not_rendered_as_a_float(client, market):
    """The probe of issue 14: a backorder line of a big price and a huge quantity."""
    gold = await sell(
        client,
        market.admin,
        market.acme["id"],
        market.channel_id,
        price=10_000_000_000,
        manage_inventory=False,
    )
    cart = await new_cart(client, market.store)
    cart = await add_item(client, market.store, cart["id"], gold["id"], 1000)  # 10^15
    response = await client.post(
        "/store/carts",
        json={"items": [{"variant_id": gold["id"], "quantity": 1_000_000}]},
        headers=market.store,
    )
    assert error(response, 400, "invalid_data").endswith("the largest cart allowed")
    cart = exact(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
    assert cart["total"] == Decimal("11000000000000")
    assert (
        '"total":11000000000000,'
        in (await client.get(f"/store/carts/{cart['id']}", headers=market.store)).text
    )


async def test_capture_and_refund_amounts_are_bounded(client, market):
    gold = await sell(client, market.admin, market.acme["id"], market.channel_id, price=10)
    cart = await new_cart(client, market.store, email="a@shop.test")
    cart = await add_item(client, market.store, cart["id"], gold["id"], 1)
    option = await create_option(
        client, market.admin, market.acme["id"], region_id=market.region["id"]
    )
    await choose_option(client, market.store, cart["id"], option["id"])
    collection = ok(
        await client.post(
            "/store/payment-collections", json={"cart_id": cart["id"]}, headers=market.store
        )
    )["payment_collection"]
    ok(
        await client.post(
            f"/store/payment-collections/{collection['id']}/payment-sessions",
            json={"provider_id": "pp_system_default"},
            headers=market.store,
        )
    )
    group = ok(await client.post(f"/store/carts/{cart['id']}/complete", headers=market.store))
    order_id = group["order_group"]["orders"][0]["id"]
    for action in ("capture", "refund"):
        response = await client.post(
            f"/admin/orders/{order_id}/{action}", json={"amount": 1e13}, headers=market.admin
        )
        error(
            response, 400, "invalid_data", "Invalid request: amount: must be at most 1000000000000"
        )
        response = await client.post(
            f"/admin/orders/{order_id}/{action}",
            json={"amount": 10_000_000_000.01},
            headers=market.admin,
        )
        error(
            response,
            400,
            "invalid_data",
            "Invalid request: amount: must be at most 10000000000 USD",
        )

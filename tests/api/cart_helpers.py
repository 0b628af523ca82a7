"""Setup for the cart and payment collection tests: sellers, products, options and carts built
through the HTTP API (the ``market`` fixture is in ``tests/api/conftest.py``)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from mercato.carts.models import Cart
from tests.api.helpers import PASSWORD, bearer, login, ok

_numbers = itertools.count(1)


@dataclass
class Market:
    """One USD region (10 % tax, exclusive), one channel + key, sellers Acme and Bolt."""

    admin: dict[str, str]
    store: dict[str, str]
    channel_id: str
    region: dict[str, Any]
    acme: dict[str, Any]
    bolt: dict[str, Any]


async def sell(
    client,
    admin: dict,
    seller_id: str,
    channels: tuple[str, ...] | str,
    *,
    price: float | int = 10.99,
    currency: str = "usd",
    prices: list[dict[str, Any]] | None = None,
    stock: int = 100,
    product: dict[str, Any] | None = None,
    **variant_fields: Any,
) -> dict[str, Any]:
    """A published product with one variant; returns the variant (with ``product`` attached)."""
    n = next(_numbers)
    if isinstance(channels, str):
        channels = (channels,)
    body = {
        "title": f"Product {n}",
        "seller_id": seller_id,
        "sales_channels": [{"id": c} for c in channels],
        "variants": [
            {
                "title": f"Variant {n}",
                "sku": f"SKU-{n}",
                "prices": prices
                if prices is not None
                else [{"amount": price, "currency_code": currency}],
                "inventory_quantity": stock,
                **variant_fields,
            }
        ],
        **(product or {}),
    }
    created = ok(await client.post("/admin/products", json=body, headers=admin))["product"]
    (variant,) = created["variants"]
    return {**variant, "product": created}


async def create_option(
    client,
    admin: dict,
    seller_id: str,
    *,
    region_id: str | None = None,
    amount: float | int = 4.99,
    currency_code: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name or f"Option {next(_numbers)}",
        "seller_id": seller_id,
        "region_id": region_id,
        "amount": amount,
    }
    if currency_code is not None:
        body["currency_code"] = currency_code
    return ok(await client.post("/admin/shipping-options", json=body, headers=admin))[
        "shipping_option"
    ]


async def new_cart(client, store: dict, **body: Any) -> dict[str, Any]:
    return ok(await client.post("/store/carts", json=body, headers=store))["cart"]


async def add_item(client, store: dict, cart_id: str, variant_id: str, quantity: int = 1) -> dict:
    response = await client.post(
        f"/store/carts/{cart_id}/line-items",
        json={"variant_id": variant_id, "quantity": quantity},
        headers=store,
    )
    return ok(response)["cart"]


async def choose_option(client, store: dict, cart_id: str, option_id: str) -> dict:
    response = await client.post(
        f"/store/carts/{cart_id}/shipping-methods", json={"option_id": option_id}, headers=store
    )
    return ok(response)["cart"]


async def customer_headers(client, store: dict, email: str) -> dict[str, str]:
    """Register a customer (Medusa's two-step flow) and log in; returns bearer headers."""
    token = ok(
        await client.post(
            "/auth/customer/emailpass/register", json={"email": email, "password": PASSWORD}
        )
    )["token"]
    ok(
        await client.post(
            "/store/customers", json={"email": email}, headers={**store, **bearer(token)}
        )
    )
    return await login(client, "customer", email, PASSWORD)


async def mark_completed(app, cart_id: str) -> None:
    """Completion is another module's job: set ``completed_at`` directly."""
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(Cart).where(Cart.id == cart_id).values(completed_at=datetime.now(UTC))
        )
        await session.commit()

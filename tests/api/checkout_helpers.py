"""Building marketplaces and carts through the HTTP API, for the checkout tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.api.helpers import (
    create_product,
    create_region,
    create_seller,
    create_store_key,
    ok,
    variant,
)


@dataclass
class Marketplace:
    admin: dict[str, str]
    store: dict[str, str]
    region: dict[str, Any]
    channel_id: str
    sellers: list[dict[str, Any]] = field(default_factory=list)
    variants: dict[str, list[str]] = field(default_factory=dict)  # seller id → variant ids
    options: dict[str, str] = field(default_factory=dict)  # seller id → shipping option id


async def build_marketplace(
    client,
    admin: dict[str, str],
    *,
    sellers: int = 3,
    prices: tuple[float, ...] = (10.99,),
    stock: int = 100,
    shipping: float = 4.99,
    tax_rate: float = 10,
    tax_inclusive: bool = False,
    currency: str = "usd",
    manage_inventory: bool = True,
    allow_backorder: bool = False,
) -> Marketplace:
    channel = ok(await client.post("/admin/sales-channels", json={"name": "Web"}, headers=admin))
    channel_id = channel["sales_channel"]["id"]
    store = await create_store_key(client, admin, channel_id)
    region = await create_region(
        client,
        admin,
        name=f"Region {currency}",
        currency_code=currency,
        tax_rate=tax_rate,
        tax_inclusive=tax_inclusive,
        payment_providers=["pp_system_default", "pp_test"],
    )
    market = Marketplace(admin, store, region, channel_id)
    for index in range(sellers):
        seller = await create_seller(client, admin, name=f"Seller {index}")
        market.sellers.append(seller)
        product = await create_product(
            client,
            admin,
            seller["id"],
            channels=(channel_id,),
            variants=[
                variant(
                    f"V{n}",
                    amount=price,
                    currency=currency,
                    inventory_quantity=stock,
                    manage_inventory=manage_inventory,
                    allow_backorder=allow_backorder,
                )
                for n, price in enumerate(prices)
            ],
        )
        market.variants[seller["id"]] = [v["id"] for v in product["variants"]]
        option = ok(
            await client.post(
                "/admin/shipping-options",
                json={
                    "name": f"Standard {index}",
                    "seller_id": seller["id"],
                    "region_id": region["id"],
                    "amount": shipping,
                },
                headers=admin,
            )
        )
        market.options[seller["id"]] = option["shipping_option"]["id"]
    return market


async def cart_with_items(
    client,
    market: Marketplace,
    items: list[tuple[str, int]],
    *,
    email: str | None = "shopper@example.com",
    headers: dict[str, str] | None = None,
    ship: bool = True,
) -> dict[str, Any]:
    """A cart with ``(variant_id, quantity)`` lines and one shipping method per seller."""
    body: dict[str, Any] = {
        "region_id": market.region["id"],
        "items": [{"variant_id": v, "quantity": q} for v, q in items],
    }
    if email:
        body["email"] = email
    cart = ok(
        await client.post("/store/carts", json=body, headers={**market.store, **(headers or {})})
    )["cart"]
    if ship:
        for seller_id in sorted({line["seller_id"] for line in cart["items"]}):
            cart = ok(
                await client.post(
                    f"/store/carts/{cart['id']}/shipping-methods",
                    json={"option_id": market.options[seller_id]},
                    headers={**market.store, **(headers or {})},
                )
            )["cart"]
    return cart


async def pay(
    client,
    market: Marketplace,
    cart_id: str,
    provider: str = "pp_system_default",
    headers: dict[str, str] | None = None,
    **data,
):
    """A payment session for the cart (``headers``: the owner's token, for a customer's cart)."""
    store = {**market.store, **(headers or {})}
    collection = ok(
        await client.post("/store/payment-collections", json={"cart_id": cart_id}, headers=store)
    )["payment_collection"]
    body: dict[str, Any] = {"provider_id": provider}
    if data:
        body["data"] = data
    ok(
        await client.post(
            f"/store/payment-collections/{collection['id']}/payment-sessions",
            json=body,
            headers=store,
        )
    )
    return collection


async def complete(client, market: Marketplace, cart_id: str, headers: dict | None = None):
    return await client.post(
        f"/store/carts/{cart_id}/complete", headers={**market.store, **(headers or {})}
    )


async def ready_cart(client, market: Marketplace, items=None, **kwargs) -> dict[str, Any]:
    """A cart with one unit from every seller, shipping chosen and a system payment session."""
    items = items or [(market.variants[s["id"]][0], 1) for s in market.sellers]
    provider = kwargs.pop("provider", "pp_system_default")
    data = kwargs.pop("data", {})
    cart = await cart_with_items(client, market, items, **kwargs)
    await pay(client, market, cart["id"], provider, kwargs.get("headers"), **data)
    return cart

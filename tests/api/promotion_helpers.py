"""The worked examples' marketplace of promotions.md: one USD region at 10 %, three sellers.

| line | seller | qty × price |       shipping
| a1   | Acme   | 2 × 19.99   |       Acme 4.99
| b1   | Bolt   | 1 × 15.00   |       Bolt 5.00
| b2   | Bolt   | 3 × 3.33    |
| c1   | Cove   | 1 × 6.95    |       Cove 3.50
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tests.api.checkout_helpers import Marketplace, complete, pay
from tests.api.helpers import create_product, create_region, create_seller, create_store_key, ok
from tests.api.helpers import variant as variant_body

PROMOTIONS = "/admin/promotions"


@dataclass
class Example:
    market: Marketplace
    acme: str
    bolt: str
    cove: str
    variants: dict[str, str] = field(default_factory=dict)  # a1, b1, b2, c1 → variant id


async def example_market(client, admin: dict[str, str], *, tax_inclusive: bool = False) -> Example:
    channel = ok(await client.post("/admin/sales-channels", json={"name": "Web"}, headers=admin))
    channel_id = channel["sales_channel"]["id"]
    store = await create_store_key(client, admin, channel_id)
    region = await create_region(
        client,
        admin,
        name="US",
        currency_code="usd",
        tax_rate=10,
        tax_inclusive=tax_inclusive,
        payment_providers=["pp_system_default", "pp_test"],
    )
    market = Marketplace(admin, store, region, channel_id)
    example = Example(market, "", "", "")
    catalogue = {
        "Acme": ({"a1": 19.99}, 4.99),
        "Bolt": ({"b1": 15.00, "b2": 3.33}, 5.00),
        "Cove": ({"c1": 6.95}, 3.50),
    }
    for name, (prices, shipping) in catalogue.items():
        seller = await create_seller(client, admin, name=name)
        market.sellers.append(seller)
        setattr(example, name.lower(), seller["id"])
        product = await create_product(
            client,
            admin,
            seller["id"],
            channels=(channel_id,),
            variants=[
                variant_body(key, amount=price, inventory_quantity=100)
                for key, price in prices.items()
            ],
        )
        for key, created in zip(prices, product["variants"], strict=True):
            example.variants[key] = created["id"]
        market.variants[seller["id"]] = [v["id"] for v in product["variants"]]
        option = ok(
            await client.post(
                "/admin/shipping-options",
                json={
                    "name": f"{name} shipping",
                    "seller_id": seller["id"],
                    "region_id": region["id"],
                    "amount": shipping,
                },
                headers=admin,
            )
        )
        market.options[seller["id"]] = option["shipping_option"]["id"]
    return example


async def example_cart(client, example: Example, headers: dict | None = None) -> dict[str, Any]:
    """The examples' cart: lines added one by one (a1, b1, b2, c1), every seller's shipping."""
    store = {**example.market.store, **(headers or {})}
    cart = ok(
        await client.post(
            "/store/carts",
            json={"region_id": example.market.region["id"], "email": "shopper@example.com"},
            headers=store,
        )
    )["cart"]
    for key, quantity in (("a1", 2), ("b1", 1), ("b2", 3), ("c1", 1)):
        cart = ok(
            await client.post(
                f"/store/carts/{cart['id']}/line-items",
                json={"variant_id": example.variants[key], "quantity": quantity},
                headers=store,
            )
        )["cart"]
    for seller_id in (example.acme, example.bolt, example.cove):
        cart = ok(
            await client.post(
                f"/store/carts/{cart['id']}/shipping-methods",
                json={"option_id": example.market.options[seller_id]},
                headers=store,
            )
        )["cart"]
    return cart


async def create_promotion(
    client, admin: dict[str, str], code: str, method: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    body = {"code": code, "type": "standard", "status": "active", "application_method": method}
    return ok(await client.post(PROMOTIONS, json={**body, **fields}, headers=admin))["promotion"]


def percentage(value: float, target_type: str = "order", **method: Any) -> dict[str, Any]:
    allocation = {"order": "across"}.get(target_type, method.pop("allocation", "across"))
    return {
        "type": "percentage",
        "target_type": target_type,
        "allocation": allocation,
        "value": value,
        **method,
    }


def fixed(value: float, target_type: str = "order", **method: Any) -> dict[str, Any]:
    allocation = {"order": "across"}.get(target_type, method.pop("allocation", "across"))
    return {
        "type": "fixed",
        "target_type": target_type,
        "allocation": allocation,
        "value": value,
        "currency_code": "usd",
        **method,
    }


async def apply_codes(client, example: Example, cart_id: str, *codes: str, headers=None):
    return await client.post(
        f"/store/carts/{cart_id}/promotions",
        json={"promo_codes": list(codes)},
        headers={**example.market.store, **(headers or {})},
    )


async def checkout(client, example: Example, cart_id: str, headers=None):
    """Pay with the system provider and complete; the raw response."""
    await pay(client, example.market, cart_id, headers=headers)
    return await complete(client, example.market, cart_id, headers=headers)


def cents(value: Any) -> int:
    return int(Decimal(str(value)) * 100)


def by_item(cart: dict[str, Any], example: Example) -> dict[str, dict[str, Any]]:
    """The cart's lines by the examples' names (a1, b1, b2, c1)."""
    names = {variant_id: key for key, variant_id in example.variants.items()}
    return {names[line["variant_id"]]: line for line in cart["items"]}

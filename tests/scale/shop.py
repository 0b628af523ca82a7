"""A marketplace to check out from, through two API processes over HTTP: three sellers with
plenty of stock, and one variant of seller 0 with 2 units that carts race for."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from tests.api.checkout_helpers import Marketplace, build_marketplace, complete, ready_cart
from tests.api.helpers import create_product, ok, variant

SCARCE_UNITS = 2


@dataclass
class Shop:
    market: Marketplace
    scarce: str  # the variant of seller 0 with SCARCE_UNITS units

    @property
    def sellers(self) -> list[str]:
        return [s["id"] for s in self.market.sellers]

    def first_variant(self, seller_id: str) -> str:
        return self.market.variants[seller_id][0]

    def items(self, *, scarce: bool = False) -> list[tuple[str, int]]:
        """One unit from each of the three sellers; seller 0's is the scarce one if asked."""
        first, *rest = self.sellers
        return [
            (self.scarce if scarce else self.first_variant(first), 1),
            *((self.first_variant(s), 1) for s in rest),
        ]


async def build_shop(client: httpx.AsyncClient, admin: dict[str, str]) -> Shop:
    market = await build_marketplace(client, admin, sellers=3, stock=500)
    product = await create_product(
        client,
        admin,
        market.sellers[0]["id"],
        channels=(market.channel_id,),
        variants=[variant("Last ones", amount=25, inventory_quantity=SCARCE_UNITS)],
    )
    return Shop(market, product["variants"][0]["id"])


@dataclass
class Checkout:
    """One cart's completion: where it was prepared and completed, and the answer."""

    cart_id: str
    scarce: bool
    response: httpx.Response

    @property
    def group(self) -> dict[str, Any] | None:
        if self.response.status_code != 200:
            return None
        return self.response.json().get("order_group")


async def prepare(
    shop: Shop, clients: list[httpx.AsyncClient], scarce: list[bool], parallel: int = 6
) -> list[tuple[str, bool]]:
    """Ready carts (items, shipping, a payment session), prepared alternately on A and B."""
    gate = asyncio.Semaphore(parallel)

    async def one(index: int, is_scarce: bool) -> tuple[str, bool]:
        async with gate:
            client = clients[index % len(clients)]
            cart = await ready_cart(client, shop.market, shop.items(scarce=is_scarce))
            return cart["id"], is_scarce

    return list(await asyncio.gather(*(one(i, s) for i, s in enumerate(scarce))))


async def complete_all(
    shop: Shop, clients: list[httpx.AsyncClient], carts: list[tuple[str, bool]]
) -> list[Checkout]:
    """Complete every cart at once, each on the other process than the one that prepared it."""

    async def one(index: int, cart_id: str, is_scarce: bool) -> Checkout:
        client = clients[(index + 1) % len(clients)]
        return Checkout(cart_id, is_scarce, await complete(client, shop.market, cart_id))

    return list(await asyncio.gather(*(one(i, cart_id, s) for i, (cart_id, s) in enumerate(carts))))


async def checkouts(shop: Shop, clients: list[httpx.AsyncClient], count: int) -> list[Checkout]:
    """``count`` ordinary checkouts spread over the processes, prepared then completed."""
    return await complete_all(shop, clients, await prepare(shop, clients, [False] * count))


async def variant_levels(
    client: httpx.AsyncClient, admin: dict[str, str], seller_id: str
) -> dict[str, dict[str, int]]:
    """Variant id → its stocked, reserved and available quantities, as the admin sees them."""
    products = ok(
        await client.get(
            "/admin/products",
            params={"seller_id": seller_id, "fields": "*variants", "limit": 50},
            headers=admin,
        )
    )["products"]
    return {
        v["id"]: {
            "stocked": v["inventory_quantity"],
            "reserved": v["reserved_quantity"],
            "available": v["available_quantity"],
        }
        for product in products
        for v in product["variants"]
    }

"""Shared setup of the return tests (order-changes.md §6, §11, §13–§15): a two-seller group, its
orders, a return option, and a snapshot of everything a refused request must leave alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from mercato.events.models import OutboxEvent
from mercato.products.models import InventoryLevel
from tests.api.cart_helpers import customer_headers
from tests.api.checkout_helpers import Marketplace, build_marketplace, complete, ready_cart
from tests.api.helpers import login, ok

ORDER_FIELDS = (
    "*returns,*order_changes,*credit_lines,summary,version,*items,items.detail,status,"
    "payment_status,fulfillment_status,total"
)
NO_ACTIVE_CHANGE = "An active Order Change is required to proceed"


@dataclass
class Returns:
    """Seller A's order ``a`` (2 × Shirt 30.00, 1 × Cap 12.00, shipping 5.00, 10 % tax) and
    seller B's ``b`` (1 × Mug 30.00) in one group paid with one authorized payment."""

    client: httpx.AsyncClient
    app: Any
    market: Marketplace
    group_id: str
    a: str
    b: str
    a_seller: str
    b_seller: str
    option: str  # A's return option (3.00)
    shirt: str  # A's line ids
    cap: str | None
    mug: str  # B's line id

    @property
    def admin(self) -> dict[str, str]:
        return self.market.admin

    async def order(self, order_id: str) -> dict[str, Any]:
        return ok(
            await self.client.get(
                f"/admin/orders/{order_id}", headers=self.admin, params={"fields": ORDER_FIELDS}
            )
        )["order"]

    async def get_return(self, return_id: str) -> dict[str, Any]:
        return ok(await self.client.get(f"/admin/returns/{return_id}", headers=self.admin))[
            "return"
        ]

    async def post(self, path: str, json: Any = None, headers: dict | None = None):
        return await self.client.post(path, headers=headers or self.admin, json=json)

    async def fulfil(self, order_id: str, items: list[tuple[str, int]] | None = None) -> str:
        """Fulfil ``items`` (``(line id, quantity)``; default: every unit); the fulfilment id."""
        if items is None:
            order = await self.order(order_id)
            items = [(i["id"], i["quantity"]) for i in order["items"]]
        body = {"items": [{"id": i, "quantity": q} for i, q in items]}
        response = await self.client.post(
            f"/admin/orders/{order_id}/fulfillments",
            headers=self.admin,
            json=body,
            params={"fields": "+fulfillments.*"},
        )
        return ok(response)["order"]["fulfillments"][-1]["id"]

    async def capture(self, order_id: str) -> None:
        ok(await self.post(f"/admin/orders/{order_id}/capture", {}))

    async def begin(self, order_id: str | None = None, headers: dict | None = None) -> str:
        body = ok(await self.post("/admin/returns", {"order_id": order_id or self.a}, headers))
        return body["return"]["id"]

    async def requested(
        self, quantity: int = 1, line: str | None = None, *, shipping: bool = False
    ) -> str:
        """A ``requested`` return of ``quantity`` units of ``line`` (default: A's Shirt)."""
        line = line or self.shirt
        order_id = self.a if line in (self.shirt, self.cap) else self.b
        ret = await self.begin(order_id)
        ok(
            await self.post(
                f"/admin/returns/{ret}/request-items",
                {"items": [{"id": line, "quantity": quantity}]},
            )
        )
        if shipping:
            ok(
                await self.post(
                    f"/admin/returns/{ret}/shipping-method", {"shipping_option_id": self.option}
                )
            )
        ok(await self.post(f"/admin/returns/{ret}/request"))
        return ret

    async def receive(self, ret: str, quantity: int = 1, line: str | None = None) -> None:
        """Receive ``quantity`` good units of ``line`` of return ``ret`` (one round)."""
        ok(await self.post(f"/admin/returns/{ret}/receive"))
        ok(
            await self.post(
                f"/admin/returns/{ret}/receive-items",
                {"items": [{"id": line or self.shirt, "quantity": quantity}]},
            )
        )
        ok(await self.post(f"/admin/returns/{ret}/receive/confirm"))

    async def member(self, seller_id: str, email: str) -> dict[str, str]:
        """Bearer headers of a new member of ``seller_id``."""
        ok(
            await self.post(
                f"/admin/sellers/{seller_id}/members",
                {"email": email, "password": "supersecret"},
            )
        )
        return await login(self.client, "seller", email, "supersecret")

    async def snapshot(self, *return_ids: str) -> dict[str, Any]:
        """Both orders (returns, changes, credit lines, summary, version), the returns, every
        inventory level and the outbox size."""
        async with self.app.state.sessionmaker() as session:
            levels = sorted(
                (level.location_id, level.variant_id, level.stocked_quantity)
                + (level.reserved_quantity,)
                for level in await session.scalars(select(InventoryLevel))
            )
            outbox = await session.scalar(select(func.count()).select_from(OutboxEvent))
        return {
            "orders": [await self.order(self.a), await self.order(self.b)],
            "returns": [await self.get_return(r) for r in return_ids],
            "stock": levels,
            "outbox": outbox,
        }

    @asynccontextmanager
    async def unchanged(self, *return_ids: str) -> AsyncIterator[None]:
        """Assert the block changes nothing: orders, returns, stock, outbox."""
        before = await self.snapshot(*return_ids)
        yield
        assert await self.snapshot(*return_ids) == before

    async def stock(self, variant_id: str) -> tuple[int, int]:
        async with self.app.state.sessionmaker() as session:
            level = await session.scalar(
                select(InventoryLevel).where(InventoryLevel.variant_id == variant_id)
            )
            assert level is not None
            return level.stocked_quantity, level.reserved_quantity

    async def events(self, *names: str) -> list[tuple[str, dict[str, Any]]]:
        """The outbox's events (of ``names``, when given) in insertion order."""
        async with self.app.state.sessionmaker() as session:
            query = select(OutboxEvent).order_by(OutboxEvent.created_at, OutboxEvent.id)
            if names:
                query = query.where(OutboxEvent.name.in_(names))
            return [(e.name, e.data) for e in await session.scalars(query)]


async def setup(client, app, place_group) -> Returns:
    market, group, orders = await place_group(
        lines=[(0, 0, 2), (0, 1, 1), (1, 0, 1)], sellers=2, prices=(30, 12), shipping=5
    )
    a_seller, b_seller = (s["id"] for s in market.sellers)
    option = ok(
        await client.post(
            "/admin/shipping-options",
            headers=market.admin,
            json={
                "name": "Return to A",
                "seller_id": a_seller,
                "region_id": market.region["id"],
                "amount": 3,
                "is_return": True,
            },
        )
    )["shipping_option"]["id"]
    a, b = orders[a_seller], orders[b_seller]
    items = {}
    for order_id in (a, b):
        order = ok(await client.get(f"/admin/orders/{order_id}", headers=market.admin))["order"]
        items.update({i["variant_id"]: i["id"] for i in order["items"]})
    shirt_v, cap_v = market.variants[a_seller]
    return Returns(
        client=client,
        app=app,
        market=market,
        group_id=group["id"],
        a=a,
        b=b,
        a_seller=a_seller,
        b_seller=b_seller,
        option=option,
        shirt=items[shirt_v],
        cap=items[cap_v],
        mug=items[market.variants[b_seller][0]],
    )


async def worked_example(client, admin, app=None, *, customer_email=None) -> Returns:
    """order-changes.md §16's setup: A sells Shirt 30 (variants 30, 20, 35, 12), B Mug 20,
    Teapot 35, Cup 12 (variants 30, 20, 35, 12); tax 10 %; A ships for 5.00 and takes returns
    for 3.00 (``option``), B ships for 4.00; 10 of each in stock. Checkout of 2 × Shirt + 1 ×
    Mug, authorized: order A 71.50, order B 26.40 (``cap`` is None: A has no Cap line); by a
    guest, or by the customer ``customer_email`` (whose token ``market.store`` then carries)."""
    market = await build_marketplace(
        client, admin, sellers=2, prices=(30, 20, 35, 12), shipping=5, stock=10
    )
    a_seller, b_seller = (s["id"] for s in market.sellers)
    options = {}
    for seller_id, name, amount, is_return in (
        (b_seller, "B standard", 4, False),
        (a_seller, "Return to A", 3, True),
    ):
        options[name] = ok(
            await client.post(
                "/admin/shipping-options",
                headers=admin,
                json={
                    "name": name,
                    "seller_id": seller_id,
                    "region_id": market.region["id"],
                    "amount": amount,
                    "is_return": is_return,
                },
            )
        )["shipping_option"]["id"]
    market.options[b_seller] = options["B standard"]
    shirt, mug = market.variants[a_seller][0], market.variants[b_seller][1]
    if customer_email:
        market.store = {
            **market.store,
            **await customer_headers(client, market.store, customer_email),
        }
    cart = await ready_cart(client, market, [(shirt, 2), (mug, 1)])
    group = ok(await complete(client, market, cart["id"]))["order_group"]
    orders = {}
    for placed in group["orders"]:
        response = await client.get(f"/admin/orders/{placed['id']}", headers=admin)
        orders[placed["seller_id"]] = ok(response)["order"]
    return Returns(
        client=client,
        app=app,
        market=market,
        group_id=group["id"],
        a=orders[a_seller]["id"],
        b=orders[b_seller]["id"],
        a_seller=a_seller,
        b_seller=b_seller,
        option=options["Return to A"],
        shirt=orders[a_seller]["items"][0]["id"],
        cap=None,
        mug=orders[b_seller]["items"][0]["id"],
    )

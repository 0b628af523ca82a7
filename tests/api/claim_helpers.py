"""Shared setup of the claim tests (order-changes.md §8, §11, §16): the worked example's group
(order A: 2 × Shirt, 71.50; order B: 1 × Mug, 26.40), claims begun and built over HTTP, and the
snapshots a refused request or a cancel is compared with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mercato.orders.models import OrderLineItem, ReservationItem
from tests.api.helpers import ok
from tests.api.return_helpers import ORDER_FIELDS, Returns, worked_example

CLAIM_ORDER_FIELDS = (
    f"{ORDER_FIELDS},*claims,*exchanges,*payment_collections,*shipping_methods,*fulfillments,"
    "*order_change,items.claim_id,items.exchange_id"
)


class Claims(Returns):
    """The worked example with the claim routes' helpers (admin by default; ``prefix`` and
    ``headers`` run them as a vendor)."""

    @property
    def shirt_variant(self) -> str:
        return self.market.variants[self.a_seller][0]

    @property
    def mug_variant(self) -> str:
        return self.market.variants[self.b_seller][1]

    @property
    def a_option(self) -> str:
        """A's outbound shipping option (5.00)."""
        return self.market.options[self.a_seller]

    async def order(self, order_id: str) -> dict[str, Any]:
        response = await self.client.get(
            f"/admin/orders/{order_id}", headers=self.admin, params={"fields": CLAIM_ORDER_FIELDS}
        )
        return ok(response)["order"]

    async def get_claim(self, claim_id: str) -> dict[str, Any]:
        return ok(await self.client.get(f"/admin/claims/{claim_id}", headers=self.admin))["claim"]

    async def reservations(self, order_id: str) -> list[tuple[str, str, str, int]]:
        """The order's reservations: ``(line, variant, location, quantity)``."""
        async with self.app.state.sessionmaker() as session:
            rows = await session.scalars(
                select(ReservationItem)
                .join(OrderLineItem, OrderLineItem.id == ReservationItem.line_item_id)
                .where(OrderLineItem.order_id == order_id)
            )
            return sorted((r.line_item_id, r.variant_id, r.location_id, r.quantity) for r in rows)

    async def sibling(self) -> dict[str, Any]:
        """Everything of order B a change to order A must leave alone: the order (summary,
        statuses, lines, collections, fulfilments, changes), its reservations and its stock."""
        return {
            "order": await self.order(self.b),
            "reservations": await self.reservations(self.b),
            "stock": [await self.stock(v) for v in self.market.variants[self.b_seller]],
        }

    async def snapshot(self, *claim_ids: str) -> dict[str, Any]:
        """Both orders, the claims, every stock level and reservation, the outbox size."""
        base = await super().snapshot()
        return {
            **base,
            "claims": [await self.get_claim(c) for c in claim_ids],
            "reservations": [await self.reservations(o) for o in (self.a, self.b)],
        }

    async def begin(  # type: ignore[override]
        self,
        type: str = "refund",
        order_id: str | None = None,
        headers: dict | None = None,
        prefix: str = "/admin",
    ) -> str:
        body = {"type": type, "order_id": order_id or self.a}
        return ok(await self.post(f"{prefix}/claims", body, headers))["claim"]["id"]

    async def claim_items(
        self, claim: str, quantity: int = 1, reason: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.shirt, "quantity": quantity}
        if reason is not None:
            item["reason"] = reason
        return await self.act(claim, "claim-items", {"items": [item]}, **kwargs)

    async def act(
        self,
        claim: str,
        path: str,
        body: Any = None,
        headers: dict | None = None,
        prefix: str = "/admin",
    ) -> dict[str, Any]:
        """``POST <prefix>/claims/<claim>/<path>``, answered 200."""
        return ok(await self.post(f"{prefix}/claims/{claim}/{path}", body, headers))

    async def replace_claim(self, *, inbound: int = 0, **kwargs: Any) -> str:
        """A replace claim of 1 Shirt (missing) sent again for free with A's shipping option,
        ``inbound`` Shirts coming back; built, not requested."""
        claim = await self.begin("replace", **kwargs)
        await self.claim_items(claim, 1, "missing_item", **kwargs)
        shirt = {"items": [{"variant_id": self.shirt_variant, "quantity": 1}]}
        await self.act(claim, "outbound/items", shirt, **kwargs)
        option = {"shipping_option_id": self.a_option}
        await self.act(claim, "outbound/shipping-method", option, **kwargs)
        if inbound:
            back = {"items": [{"id": self.shirt, "quantity": inbound}]}
            await self.act(claim, "inbound/items", back, **kwargs)
        return claim


async def claims_world(client, app, admin) -> Claims:
    """The worked example with order A fulfilled and fully captured (paid 71.50)."""
    w = await worked_example(client, admin, app)
    claims = Claims(**{name: getattr(w, name) for name in w.__dataclass_fields__})
    await claims.fulfil(claims.a)
    await claims.capture(claims.a)
    return claims

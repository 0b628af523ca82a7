"""Shared setup of the order-edit tests (order-changes.md §9, §11, §16 "Order edit (order A)"):
the worked example's group (order A: 2 × Shirt + shipping = 71.50; order B: 1 × Mug = 26.40, both
authorized), edits built over HTTP, and what a refused request or a change to A must leave
alone."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from mercato.payments.models import Capture, Payment, ProviderCall
from tests.api.claim_helpers import Claims
from tests.api.helpers import ok
from tests.api.return_helpers import worked_example


class Edits(Claims):
    """The worked example with the order-edit routes' helpers (admin by default; ``prefix`` and
    ``headers`` run them as a vendor)."""

    @property
    def cap_variant(self) -> str:
        """A's Cap (12.00)."""
        return self.market.variants[self.a_seller][3]

    @property
    def a_location(self) -> str:
        return self.market.sellers[0]["stock_location"]["id"]

    def path(self, tail: str = "", *, prefix: str = "/admin", order_id: str | None = None) -> str:
        return f"{prefix}/order-edits/{order_id or self.a}{tail}"

    async def edit(
        self,
        tail: str = "",
        body: Any = None,
        *,
        headers: dict | None = None,
        prefix: str = "/admin",
        order_id: str | None = None,
        method: str = "POST",
    ) -> httpx.Response:
        """``<method> <prefix>/order-edits/<order><tail>``."""
        return await self.client.request(
            method,
            self.path(tail, prefix=prefix, order_id=order_id),
            headers=headers or self.admin,
            json=body,
        )

    async def preview(self, tail: str = "", body: Any = None, **kwargs: Any) -> dict[str, Any]:
        """The ``order_preview`` of a route answered 200."""
        return ok(await self.edit(tail, body, **kwargs))["order_preview"]

    async def begin_edit(
        self, order_id: str | None = None, headers: dict | None = None, prefix: str = "/admin"
    ) -> dict[str, Any]:
        body = {"order_id": order_id or self.a}
        return ok(await self.post(f"{prefix}/order-edits", body, headers))["order_change"]

    async def worked_edit(self, *, cap_only: bool = False, **kwargs: Any) -> dict[str, Any]:
        """§16: begin, add 1 Cap and (unless ``cap_only``) set the Shirt line to 1; the last
        preview."""
        await self.begin_edit(**kwargs)
        cap = {"items": [{"variant_id": self.cap_variant, "quantity": 1}]}
        preview = await self.preview("/items", cap, **kwargs)
        if not cap_only:
            preview = await self.preview(f"/items/item/{self.shirt}", {"quantity": 1}, **kwargs)
        return preview

    async def change_collections(self, order_id: str | None = None) -> list[dict[str, Any]]:
        order = await self.order(order_id or self.a)
        return [c for c in order["payment_collections"] if c["source"] == "order_change"]

    async def captures(self, order_id: str) -> list[tuple[str, int]]:
        """(payment's collection, amount) of every capture of the order."""
        async with self.app.state.sessionmaker() as session:
            rows = await session.execute(
                select(Payment.payment_collection_id, Capture.amount)
                .join(Payment, Payment.id == Capture.payment_id)
                .where(Capture.order_id == order_id)
                .order_by(Capture.id)
            )
            return [(collection, amount) for collection, amount in rows.all()]

    async def payment_of(self, collection_id: str) -> str | None:
        async with self.app.state.sessionmaker() as session:
            return await session.scalar(
                select(Payment.id).where(Payment.payment_collection_id == collection_id)
            )

    async def provider_calls(self, operation: str) -> list[tuple[str, int | None]]:
        """(idempotency key, amount) of the journaled provider calls of ``operation``."""
        async with self.app.state.sessionmaker() as session:
            calls = await session.scalars(
                select(ProviderCall)
                .where(ProviderCall.operation == operation)
                .order_by(ProviderCall.created_at, ProviderCall.id)
            )
            return [(c.idempotency_key, c.amount) for c in calls]

    async def pay(self, collection_id: str, provider: str = "pp_test") -> dict[str, Any]:
        """The customer pays a change collection in the store: a session, then authorize."""
        paid = ok(
            await self.client.post(
                f"/store/payment-collections/{collection_id}/payment-sessions",
                headers=self.market.store,
                json={"provider_id": provider},
                params={"fields": "*payment_sessions"},
            )
        )["payment_collection"]
        (session,) = paid["payment_sessions"]
        response = await self.client.post(
            f"/store/payment-collections/{collection_id}/payment-sessions/{session['id']}"
            "/authorize",
            headers=self.market.store,
            params={"fields": "id,status,amount,authorized_amount"},
        )
        return ok(response)["payment_collection"]


async def edits_world(client, app, admin, *, captured: bool = True) -> Edits:
    """The worked example, nothing fulfilled; order A captured (paid 71.50) unless not
    ``captured`` (authorized only)."""
    w = await worked_example(client, admin, app)
    edits = Edits(**{name: getattr(w, name) for name in w.__dataclass_fields__})
    if captured:
        await edits.capture(edits.a)
    return edits


def money(order: dict[str, Any]) -> dict[str, Any]:
    """What an edit canceled or refused must leave exactly as it was: summary, statuses,
    version, total, lines, shipping methods and collections."""
    keep = ("summary", "status", "payment_status", "fulfillment_status", "total", "version")
    lines = sorted((i["id"], i["quantity"], i["unit_price"], i["total"]) for i in order["items"])
    methods = sorted((m["id"], m["total"]) for m in order["shipping_methods"])
    collections = sorted(
        (c["id"], c["source"], c["amount"], c["status"]) for c in order["payment_collections"]
    )
    return {k: order[k] for k in keep} | {
        "items": lines,
        "shipping_methods": methods,
        "payment_collections": collections,
    }

"""Draft order edits (order-changes.md §12, §13–§15): an order change ``edit`` on a draft.

Begin, add (any seller's variants, custom lines), update and remove lines, shipping methods
(one per seller), request, confirm, cancel — each preview's totals to the cent, and the
preview's ``sellers`` exactly what the conversion afterwards gives each order. One active edit
per draft (a second begin, concurrent begins, a begin racing past the lock); conversion refused
while an edit is active; a converted draft refuses every edit route; every validation error
changes nothing; no event, no stock, no money."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select, text

from mercato.draft_orders import edits as edit_commands
from mercato.draft_orders.models import DraftOrderItem, DraftOrderShippingMethod
from mercato.events.models import OutboxEvent
from mercato.orders.change_models import OrderChange, OrderChangeAction
from tests.api.helpers import create_product, error, ok, variant
from tests.api.test_draft_orders import Drafts, _drafts, _sellers

NO_ACTIVE_CHANGE = "An active Order Change is required to proceed"
CONVERTED = "Draft order {} has been converted and cannot be changed"


class Edit:
    """The edit routes of one draft."""

    def __init__(self, d: Drafts, draft_id: str) -> None:
        self.d, self.id = d, draft_id
        self.base = f"/admin/draft-orders/{draft_id}/edit"

    async def post(self, tail: str = "", json: Any = None, **kw: Any):
        return await self.d.client.post(self.base + tail, json=json, headers=self.d.admin, **kw)

    async def delete(self, tail: str = "", headers: dict | None = None):
        return await self.d.client.delete(self.base + tail, headers=headers or self.d.admin)

    async def preview(self, tail: str = "", json: Any = None) -> dict[str, Any]:
        return ok(await self.post(tail, json))["draft_order_preview"]

    async def begin(self) -> dict[str, Any]:
        return await self.preview()

    async def add(self, *items: dict[str, Any]) -> dict[str, Any]:
        return await self.preview("/items", {"items": list(items)})

    async def set_item(self, item_id: str, **body: Any) -> dict[str, Any]:
        return await self.preview(f"/items/item/{item_id}", body)

    async def ship(self, option_id: str, **body: Any) -> dict[str, Any]:
        return await self.preview("/shipping-methods", {"shipping_option_id": option_id, **body})


def _plain(preview: dict[str, Any]) -> dict[str, Any]:
    """The preview as the draft's own shape: no ``order_change``, no ``actions`` on lines."""
    plain = {k: v for k, v in preview.items() if k != "order_change"}
    for name in ("items", "shipping_methods"):
        if name in plain:
            plain[name] = [{k: v for k, v in x.items() if k != "actions"} for x in plain[name]]
    return plain


def _action(preview: dict[str, Any], name: str, reference_id: str | None = None) -> dict:
    return next(
        a
        for a in preview["order_change"]["actions"]
        if a["action"] == name and (reference_id is None or a["reference_id"] == reference_id)
    )


def _item(draft: dict[str, Any], variant_id: str) -> dict[str, Any]:
    return next(i for i in draft["items"] if i["variant_id"] == variant_id)


def _method(draft: dict[str, Any], seller_id: str) -> dict[str, Any]:
    return next(m for m in draft["shipping_methods"] if m["seller_id"] == seller_id)


async def _changes(d: Drafts, draft_id: str) -> list[tuple[str, str, int]]:
    """``(id, status, number of actions)`` of the draft's changes."""
    async with d.app.state.sessionmaker() as session:
        rows = await session.execute(
            select(OrderChange.id, OrderChange.status, func.count(OrderChangeAction.id))
            .outerjoin(OrderChangeAction, OrderChangeAction.order_change_id == OrderChange.id)
            .where(OrderChange.draft_order_id == draft_id)
            .group_by(OrderChange.id, OrderChange.status)
            .order_by(OrderChange.created_at)
        )
        return [tuple(r) for r in rows.all()]


async def _state(d: Drafts, draft_id: str) -> dict[str, Any]:
    """Everything an edit route could write: the draft as read, its changes and their actions,
    the stock levels and the outbox."""
    async with d.app.state.sessionmaker() as session:
        actions = sorted(
            (a.id, a.action, a.details, a.amount, a.internal_note)
            for a in await session.scalars(
                select(OrderChangeAction)
                .join(OrderChange, OrderChange.id == OrderChangeAction.order_change_id)
                .where(OrderChange.draft_order_id == draft_id)
            )
        )
    rows = await d.rows()
    return {
        "draft": await d.get(draft_id),
        "changes": await _changes(d, draft_id),
        "actions": actions,
        "levels": rows["levels"],
        "events": rows["event_outbox"],
    }


def _order_totals(order: dict[str, Any]) -> tuple[float, float, float, float]:
    return (order["item_total"], order["shipping_total"], order["tax_total"], order["total"])


async def _convert_and_compare(d: Drafts, draft: dict[str, Any]) -> dict[str, Any]:
    """Convert the draft: each order's totals are the draft's ``sellers`` entry of its seller."""
    group = ok(await d.convert(draft["id"]))["order_group"]
    orders = {o["seller_id"]: await d.order(o["id"]) for o in group["orders"]}
    assert {s: _order_totals(o) for s, o in orders.items()} == _sellers(draft)
    assert group["total"] == draft["total"]
    return group


# --------------------------------------------------------------------------- the whole flow


async def test_an_edit_previews_to_the_cent_and_its_confirmed_draft_converts_so(
    client, app, admin_headers
):
    d = await _drafts(client, app, admin_headers)
    draft = await d.create()
    e = Edit(d, draft["id"])
    events = (await d.rows())["event_outbox"]
    shirt, mug = _item(draft, d.shirt), _item(draft, d.mug)

    begun = await e.begin()
    change = begun["order_change"]
    assert (change["change_type"], change["status"], change["draft_order_id"]) == (
        "edit",
        "pending",
        draft["id"],
    )
    assert (change["order_id"], change["version"], change["actions"]) == (None, 2, [])
    assert change["created_by"] is not None
    assert _plain(begun) == draft

    # 1 Cap of A (12.00 + 1.20) and 2 × gift wrap of B at 2.50 (5.00 + 0.50); the Shirt line to
    # 2 (33.00 → 66.00); the Mugs at 18.00 (44.00 → 39.60).
    added = await e.add(
        {"variant_id": d.cap, "quantity": 1, "internal_note": "phone"},
        {"title": "Gift wrap", "unit_price": 2.5, "seller_id": d.b, "quantity": 2},
    )
    cap = _item(added, d.cap)
    wrap = next(i for i in added["items"] if i["title"] == "Gift wrap")
    assert (cap["unit_price"], cap["total"], cap["seller_id"]) == (12, 13.2, d.a)
    assert (wrap["variant_id"], wrap["unit_price"], wrap["total"], wrap["seller_id"]) == (
        None,
        2.5,
        5.5,
        d.b,
    )
    assert [a["action"] for a in cap["actions"]] == ["ITEM_ADD"]
    await e.set_item(shirt["id"], quantity=2)
    preview = await e.set_item(mug["id"], quantity=2, unit_price=18)

    assert _sellers(preview) == {d.a: (79.2, 5.5, 7.7, 84.7), d.b: (45.1, 4.4, 4.5, 49.5)}
    assert (preview["item_total"], preview["shipping_total"], preview["total"]) == (
        124.3,
        9.9,
        134.2,
    )
    assert (preview["tax_total"], preview["subtotal"], preview["original_total"]) == (
        12.2,
        122,
        134.2,
    )
    assert [(i["id"], i["quantity"], i["total"]) for i in preview["items"]] == [
        (shirt["id"], 2, 66),
        (mug["id"], 2, 39.6),
        (cap["id"], 1, 13.2),
        (wrap["id"], 2, 5.5),
    ]
    amounts = {a["reference_id"]: a["amount"] for a in preview["order_change"]["actions"]}
    assert amounts == {cap["id"]: 13.2, wrap["id"]: 5.5, shirt["id"]: 33, mug["id"]: -4.4}
    update = _action(preview, "ITEM_UPDATE", shirt["id"])
    assert (update["details"]["quantity"], update["details"]["quantity_diff"]) == (2, 1)
    assert _action(preview, "ITEM_ADD", cap["id"])["internal_note"] == "phone"
    # The draft itself has not moved.
    assert await d.get(draft["id"]) == draft

    requested = await e.preview("/request")
    assert requested["order_change"]["status"] == "requested"
    assert requested["order_change"]["requested_by"] == change["created_by"]
    assert _sellers(requested) == _sellers(preview)

    confirmed = await e.preview("/confirm")
    assert confirmed["order_change"] is None
    stored = await d.get(draft["id"])
    assert _plain(confirmed) == stored
    assert _sellers(stored) == _sellers(preview)
    for name in ("item_total", "shipping_total", "tax_total", "subtotal", "total"):
        assert stored[name] == preview[name], name
    # The lines and methods are the preview's (ids included).
    assert [(i["id"], i["quantity"], i["unit_price"], i["total"]) for i in stored["items"]] == [
        (i["id"], i["quantity"], i["unit_price"], i["total"]) for i in preview["items"]
    ]
    assert [m["id"] for m in stored["shipping_methods"]] == [
        m["id"] for m in preview["shipping_methods"]
    ]
    [(change_id, status, actions)] = await _changes(d, draft["id"])
    assert (change_id, status, actions) == (change["id"], "confirmed", 4)
    async with app.state.sessionmaker() as session:
        applied = await session.scalars(
            select(OrderChangeAction.applied).where(OrderChangeAction.order_change_id == change_id)
        )
        assert set(applied) == {True}
        row = await session.get(OrderChange, change_id)
        assert row is not None and row.confirmed_by == change["created_by"]
    # No event, no stock moved before the conversion.
    assert (await d.rows())["event_outbox"] == events
    assert await d.reservations() == []

    group = await _convert_and_compare(d, stored)
    assert group["total"] == 134.2
    assert sorted(await d.reservations()) == sorted(
        [(d.a, d.shirt, 2), (d.a, d.cap, 1), (d.b, d.mug, 2)]
    )
    # A second edit's change takes the next version; the converted draft refuses it.
    error(await e.post(), 400, "invalid_data", CONVERTED.format(draft["id"]))


async def test_shipping_methods_one_per_seller(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    express = ok(
        await client.post(
            "/admin/shipping-options",
            headers=d.admin,
            json={
                "name": "A express",
                "seller_id": d.a,
                "region_id": d.market.region["id"],
                "amount": 9,
            },
        )
    )["shipping_option"]["id"]
    draft = await d.create()
    a_method, b_method = _method(draft, d.a), _method(draft, d.b)
    e = Edit(d, draft["id"])
    await e.begin()

    # A's express replaces A's method; a second option of A replaces that action.
    first = await e.ship(express, description="faster")
    assert [
        (m["seller_id"], m["shipping_option_id"], m["total"]) for m in first["shipping_methods"]
    ] == [
        (d.a, express, 9.9),
        (d.b, d.so_b, 4.4),
    ]
    assert first["shipping_methods"][0]["name"] == "A express"
    assert _sellers(first)[d.a] == (33, 9.9, 3.9, 42.9)
    assert _action(first, "SHIPPING_ADD")["amount"] == 4.4
    second = await e.ship(d.so_a, custom_amount=2)
    adds = [a for a in second["order_change"]["actions"] if a["action"] == "SHIPPING_ADD"]
    assert len(adds) == 1 and adds[0]["details"]["custom_amount"] == 200
    assert _method(second, d.a)["total"] == 2.2
    updated = await e.preview(f"/shipping-methods/{adds[0]['id']}", {"custom_amount": 3})
    assert _method(updated, d.a)["total"] == 3.3
    assert _sellers(updated)[d.a] == (33, 3.3, 3.3, 36.3)

    # B's method replaced through its id (by an option of B only), then that undone.
    error(
        await e.post(f"/shipping-methods/method/{b_method['id']}", {"shipping_option_id": d.so_a}),
        400,
        "invalid_data",
        f"Shipping option {d.so_a} belongs to seller {d.a}, not to seller {d.b} of shipping "
        f"method {b_method['id']}",
    )
    cheaper = await e.preview(
        f"/shipping-methods/method/{b_method['id']}",
        {"shipping_option_id": d.so_b, "custom_amount": 1},
    )
    assert _method(cheaper, d.b)["total"] == 1.1
    b_add = next(
        a
        for a in cheaper["order_change"]["actions"]
        if a["action"] == "SHIPPING_ADD" and a["details"]["seller_id"] == d.b
    )
    assert b_add["details"]["replaces"] == b_method["id"]
    undone = ok(await e.delete(f"/shipping-methods/{b_add['id']}"))["draft_order_preview"]
    assert _method(undone, d.b)["id"] == b_method["id"]

    confirmed = await e.preview("/confirm")
    methods = {m["seller_id"]: m for m in confirmed["shipping_methods"]}
    assert (methods[d.a]["shipping_option_id"], methods[d.a]["amount"]) == (d.so_a, 3)
    assert methods[d.a]["id"] not in (a_method["id"],)
    assert methods[d.b] == b_method
    async with app.state.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).where(DraftOrderShippingMethod.draft_order_id == draft["id"])
        )
        assert count == 2
    await _convert_and_compare(d, confirmed)


async def test_removing_a_sellers_lines_and_method_leaves_one_order(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    draft = await d.create()
    e = Edit(d, draft["id"])
    await e.begin()
    mug, b_method = _item(draft, d.mug), _method(draft, d.b)
    removed = await e.set_item(mug["id"], quantity=0)
    assert [i["variant_id"] for i in removed["items"]] == [d.shirt]
    assert _action(removed, "ITEM_UPDATE")["amount"] == -44
    # As in carts, B's method stays until it is dropped too.
    assert _sellers(removed)[d.b] == (0, 4.4, 0.4, 4.4)
    response = await e.delete(f"/shipping-methods/method/{b_method['id']}")
    dropped = ok(response)["draft_order_preview"]
    assert [m["seller_id"] for m in dropped["shipping_methods"]] == [d.a]
    assert _sellers(dropped) == {d.a: (33, 5.5, 3.5, 38.5)}
    assert _action(dropped, "SHIPPING_REMOVE")["amount"] == -4.4
    # Dropped already: a second remove does not find it.
    error(
        await e.delete(f"/shipping-methods/method/{b_method['id']}"),
        404,
        "not_found",
        f"Shipping method with id {b_method['id']} was not found",
    )
    confirmed = await e.preview("/confirm")
    assert confirmed["total"] == 38.5 and len(confirmed["items"]) == 1
    group = await _convert_and_compare(d, confirmed)
    assert [o["seller_id"] for o in group["orders"]] == [d.a]

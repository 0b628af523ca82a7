"""Fulfilment of each seller's order: create (partial), ship, deliver, cancel — statuses, stock,
reservations, events, and a seller's members confined to their own orders."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from mercato.orders.models import ReservationItem
from tests.api.checkout_helpers import build_marketplace, complete, ready_cart
from tests.api.helpers import error, login, ok

DETAIL = (
    "+items.fulfilled_quantity,+items.shipped_quantity,+items.delivered_quantity,"
    "+fulfillments.*,+fulfillments.items.*,+fulfillments.labels.*"
)
DELIVERED_TWICE = "Fulfillment has already been marked delivered"
SHIPPED_CANCEL = "The fulfillment has already been shipped. Shipped fulfillments cannot be canceled"


@pytest.fixture
async def placed_three_lines(place_group):
    """Seller A: V0 × 3 and V1 × 1; seller B: V0 × 2 — stock 10 of every variant (partial
    fulfilments need several lines and quantities)."""
    lines = [(0, 0, 3), (0, 1, 1), (1, 0, 2)]
    return await place_group(lines, sellers=2, stock=10, prices=(10, 5))


async def get_order(client, market, order_id: str) -> dict[str, Any]:
    return ok(
        await client.get(
            f"/admin/orders/{order_id}", params={"fields": DETAIL}, headers=market.admin
        )
    )["order"]


def lines(order: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Line items by variant id."""
    return {i["variant_id"]: i for i in order["items"]}


async def stock(client, market, seller_id: str) -> dict[str, tuple[int, int]]:
    """(inventory_quantity, reserved_quantity) of each of the seller's variants."""
    variant_id = market.variants[seller_id][0]
    products = ok(
        await client.get("/admin/products", params={"fields": "id,*variants"}, headers=market.admin)
    )["products"]
    product = next(p for p in products if variant_id in {v["id"] for v in p["variants"]})
    detail = ok(
        await client.get(
            f"/admin/products/{product['id']}", params={"fields": "*variants"}, headers=market.admin
        )
    )["product"]
    return {v["id"]: (v["inventory_quantity"], v["reserved_quantity"]) for v in detail["variants"]}


async def reservations(app, order: dict[str, Any]) -> dict[str, list[int]]:
    """Reservation quantities per variant of the order's lines (rows, not sums)."""
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(ReservationItem)
            .where(ReservationItem.line_item_id.in_([i["id"] for i in order["items"]]))
            .order_by(ReservationItem.variant_id, ReservationItem.id)
        )
        found: dict[str, list[int]] = {}
        for row in rows:
            found.setdefault(row.variant_id, []).append(row.quantity)
        return found


async def group_status(client, market, group_id: str) -> str:
    group = ok(await client.get(f"/admin/order-groups/{group_id}", headers=market.admin))
    return group["order_group"]["fulfillment_status"]


async def events(client, market, name: str) -> list[dict[str, Any]]:
    body = ok(
        await client.get("/admin/events", params={"name": name, "limit": 100}, headers=market.admin)
    )
    return body["events"]


async def fulfil(client, headers, order_id: str, items, prefix: str = "/admin", **extra) -> dict:
    body = {"items": [{"id": i, "quantity": q} for i, q in items], **extra}
    response = await client.post(
        f"{prefix}/orders/{order_id}/fulfillments",
        json=body,
        params={"fields": DETAIL},
        headers=headers,
    )
    return ok(response)["order"]


async def act(client, headers, order_id: str, fid: str, action: str, prefix="/admin", **body):
    return await client.post(
        f"{prefix}/orders/{order_id}/fulfillments/{fid}/{action}",
        json=body,
        params={"fields": DETAIL},
        headers=headers,
    )


async def member_headers(client, market, seller_id: str, email: str) -> dict[str, str]:
    ok(
        await client.post(
            f"/admin/sellers/{seller_id}/members",
            json={"email": email, "password": "supersecret"},
            headers=market.admin,
        )
    )
    return await login(client, "seller", email, "supersecret")


async def test_fulfil_ship_deliver_moves_every_status_and_converts_reservations(
    client, app, placed_three_lines
):
    market, group, orders = placed_three_lines
    a, b = (s["id"] for s in market.sellers)
    v0, v1 = market.variants[a]
    order = await get_order(client, market, orders[a])
    assert order["fulfillment_status"] == "not_fulfilled" and order["fulfillments"] == []
    assert await stock(client, market, a) == {v0: (10, 3), v1: (10, 1)}
    assert await reservations(app, order) == {v0: [3], v1: [1]}
    l0, l1 = lines(order)[v0]["id"], lines(order)[v1]["id"]

    # Partial: 2 of the 3 units of V0. The response carries the new fulfilment.
    body = await fulfil(client, market.admin, orders[a], [(l0, 2)])
    assert body["fulfillment_status"] == "partially_fulfilled"
    [first] = body["fulfillments"]
    assert first["packed_at"] and first["shipped_at"] is None and first["canceled_at"] is None
    assert [(i["line_item_id"], i["quantity"]) for i in first["items"]] == [(l0, 2)]
    order = await get_order(client, market, orders[a])
    assert order["fulfillment_status"] == "partially_fulfilled"
    assert (
        lines(order)[v0]["fulfilled_quantity"] == 2 and lines(order)[v1]["fulfilled_quantity"] == 0
    )
    assert await stock(client, market, a) == {v0: (8, 1), v1: (10, 1)}
    assert await reservations(app, order) == {v0: [1], v1: [1]}
    assert await group_status(client, market, group["id"]) == "partially_fulfilled"

    # The rest: every line fully fulfilled, reservations consumed (rows deleted at 0).
    body = await fulfil(client, market.admin, orders[a], [(l0, 1), (l1, 1)])
    second = next(f for f in body["fulfillments"] if f["id"] != first["id"])
    order = await get_order(client, market, orders[a])
    assert order["fulfillment_status"] == "fulfilled"
    assert await stock(client, market, a) == {v0: (7, 0), v1: (9, 0)}
    assert await reservations(app, order) == {}
    # The sibling is untouched: its stock, reservation and status.
    sibling = await get_order(client, market, orders[b])
    assert sibling["fulfillment_status"] == "not_fulfilled"
    assert await stock(client, market, b) == {
        market.variants[b][0]: (10, 2),
        market.variants[b][1]: (10, 0),
    }
    assert await group_status(client, market, group["id"]) == "partially_fulfilled"

    # Ship the first fulfilment with a label.
    label = {"tracking_number": "TRK-1", "tracking_url": "https://t.example/1"}
    response = await act(client, market.admin, orders[a], first["id"], "shipments", labels=[label])
    shipped = ok(response)["order"]
    assert shipped["fulfillment_status"] == "partially_shipped"
    ful = next(f for f in shipped["fulfillments"] if f["id"] == first["id"])
    assert ful["shipped_at"] is not None
    assert [(x["tracking_number"], x["tracking_url"], x["label_url"]) for x in ful["labels"]] == [
        ("TRK-1", "https://t.example/1", None)
    ]
    order = await get_order(client, market, orders[a])
    assert order["fulfillment_status"] == "partially_shipped"
    assert lines(order)[v0]["shipped_quantity"] == 2
    assert await group_status(client, market, group["id"]) == "partially_shipped"
    error(
        await act(client, market.admin, orders[a], first["id"], "shipments"),
        400,
        "not_allowed",
        "Shipment has already been created",
    )

    # Items, when sent, must be exactly the fulfilment's items.
    error(
        await act(
            client,
            market.admin,
            orders[a],
            second["id"],
            "shipments",
            items=[{"id": l0, "quantity": 1}],
        ),
        400,
        "invalid_data",
    )
    items = [{"id": l1, "quantity": 1}, {"id": l0, "quantity": 1}]
    ok(await act(client, market.admin, orders[a], second["id"], "shipments", items=items))
    order = await get_order(client, market, orders[a])
    assert order["fulfillment_status"] == "shipped"
    assert [lines(order)[v]["shipped_quantity"] for v in (v0, v1)] == [3, 1]

    # Delivery, one fulfilment at a time; twice is refused with Medusa's message.
    ok(await act(client, market.admin, orders[a], first["id"], "mark-as-delivered"))
    order = await get_order(client, market, orders[a])
    assert order["fulfillment_status"] == "partially_delivered"
    assert [lines(order)[v]["delivered_quantity"] for v in (v0, v1)] == [2, 0]
    assert await group_status(client, market, group["id"]) == "partially_delivered"
    response = await client.post(
        f"/admin/orders/{orders[a]}/fulfillments/{second['id']}/mark-as-delivered",
        headers=market.admin,
    )  # no body at all
    assert ok(response)["order"]["fulfillment_status"] == "delivered"
    error(
        await act(client, market.admin, orders[a], second["id"], "mark-as-delivered"),
        400,
        "not_allowed",
        DELIVERED_TWICE,
    )
    order = await get_order(client, market, orders[a])
    assert order["fulfillment_status"] == "delivered"
    assert [lines(order)[v]["delivered_quantity"] for v in (v0, v1)] == [3, 1]
    # Delivered stock is gone for good: nothing changed since the fulfilments.
    assert await stock(client, market, a) == {v0: (7, 0), v1: (9, 0)}
    error(
        await act(client, market.admin, orders[a], second["id"], "cancel"),
        400,
        "not_allowed",
        SHIPPED_CANCEL,
    )

    # The sibling all the way, so the group reaches "delivered" too.
    lb = lines(sibling)[market.variants[b][0]]["id"]
    body = await fulfil(client, market.admin, orders[b], [(lb, 2)])
    fid = body["fulfillments"][0]["id"]
    assert await group_status(client, market, group["id"]) == "partially_delivered"
    ok(await act(client, market.admin, orders[b], fid, "shipments"))
    ok(await act(client, market.admin, orders[b], fid, "mark-as-delivered"))
    assert await group_status(client, market, group["id"]) == "delivered"
    listed = ok(
        await client.get(
            "/admin/orders", params={"fulfillment_status": "delivered"}, headers=market.admin
        )
    )
    assert sorted(o["id"] for o in listed["orders"]) == sorted(orders.values())

    # One event per step, naming the order and the fulfilment.
    created = await events(client, market, "order.fulfillment_created")
    assert sorted((e["data"]["id"], e["data"]["fulfillment_id"]) for e in created) == sorted(
        [(orders[a], first["id"]), (orders[a], second["id"]), (orders[b], fid)]
    )
    assert all(e["resource_id"] == e["data"]["id"] and e["dispatched_at"] for e in created)
    assert len(await events(client, market, "order.shipment_created")) == 3
    delivered = await events(client, market, "order.delivered")
    assert {e["data"]["fulfillment_id"] for e in delivered} == {first["id"], second["id"], fid}
    assert await events(client, market, "order.fulfillment_canceled") == []


async def test_cancel_restores_stock_and_reservations_exactly(client, app, placed_three_lines):
    market, group, orders = placed_three_lines
    a = market.sellers[0]["id"]
    v0, v1 = market.variants[a]
    order = await get_order(client, market, orders[a])
    l0, l1 = lines(order)[v0]["id"], lines(order)[v1]["id"]

    # Partial fulfilment, then cancel: back to the numbers of placement.
    body = await fulfil(client, market.admin, orders[a], [(l0, 2)])
    fid = body["fulfillments"][0]["id"]
    assert await stock(client, market, a) == {v0: (8, 1), v1: (10, 1)}
    body = ok(await act(client, market.admin, orders[a], fid, "cancel"))["order"]
    assert body["fulfillments"][0]["canceled_at"] is not None
    # Reference getLastFulfillmentStatus: every fulfilment canceled → "canceled".
    assert body["fulfillment_status"] == "canceled"
    order = await get_order(client, market, orders[a])
    assert lines(order)[v0]["fulfilled_quantity"] == 0
    assert await stock(client, market, a) == {v0: (10, 3), v1: (10, 1)}
    assert await reservations(app, order) == {v0: [3], v1: [1]}  # increased, not duplicated
    assert await group_status(client, market, group["id"]) == "not_fulfilled"
    error(
        await act(client, market.admin, orders[a], fid, "cancel"),
        400,
        "not_allowed",
        "The fulfillment is already canceled",
    )
    error(
        await act(client, market.admin, orders[a], fid, "shipments"),
        400,
        "not_allowed",
        "Cannot create shipment for a canceled fulfillment",
    )
    error(
        await act(client, market.admin, orders[a], fid, "mark-as-delivered"),
        400,
        "not_allowed",
        "Cannot deliver an already canceled fulfillment",
    )

    # Full fulfilment (reservation rows deleted), then cancel: the rows are re-created.
    for _ in range(2):
        body = await fulfil(client, market.admin, orders[a], [(l0, 3), (l1, 1)])
        assert body["fulfillment_status"] == "fulfilled"
        assert await stock(client, market, a) == {v0: (7, 0), v1: (9, 0)}
        assert await reservations(app, body) == {}
        fid = next(f["id"] for f in body["fulfillments"] if f["canceled_at"] is None)
        body = ok(await act(client, market.admin, orders[a], fid, "cancel"))["order"]
        assert body["fulfillment_status"] == "canceled"
        assert await stock(client, market, a) == {v0: (10, 3), v1: (10, 1)}
        assert await reservations(app, body) == {v0: [3], v1: [1]}

    # One canceled and one active fulfilment: the canceled one does not count.
    body = await fulfil(client, market.admin, orders[a], [(l0, 1)])
    assert body["fulfillment_status"] == "partially_fulfilled"
    shipped = next(f["id"] for f in body["fulfillments"] if f["canceled_at"] is None)
    ok(await act(client, market.admin, orders[a], shipped, "shipments"))
    error(
        await act(client, market.admin, orders[a], shipped, "cancel"),
        400,
        "not_allowed",
        SHIPPED_CANCEL,
    )
    # Delivered without a shipment (Medusa allows it; shipped_at stays unset): not cancelable.
    body = await fulfil(client, market.admin, orders[a], [(l0, 2), (l1, 1)])
    assert body["fulfillment_status"] == "partially_shipped"
    last = next(
        f["id"]
        for f in body["fulfillments"]
        if f["packed_at"] and f["shipped_at"] is None and f["canceled_at"] is None
    )
    body = ok(await act(client, market.admin, orders[a], last, "mark-as-delivered"))["order"]
    delivered = next(f for f in body["fulfillments"] if f["id"] == last)
    assert delivered["delivered_at"] and delivered["shipped_at"] is None
    assert body["fulfillment_status"] == "partially_delivered"
    error(
        await act(client, market.admin, orders[a], last, "cancel"),
        400,
        "not_allowed",
        f"Fulfillment with id {last} already delivered",
    )
    error(
        await act(client, market.admin, orders[a], last, "shipments"),
        400,
        "not_allowed",
        f"Fulfillment with id {last} already delivered",
    )
    assert await stock(client, market, a) == {v0: (7, 0), v1: (9, 0)}
    canceled = await events(client, market, "order.fulfillment_canceled")
    assert len(canceled) == 3 and all(e["data"]["id"] == orders[a] for e in canceled)


async def test_invalid_fulfilments_change_nothing(client, app, placed_three_lines):
    market, group, orders = placed_three_lines
    a, b = (s["id"] for s in market.sellers)
    v0, v1 = market.variants[a]
    order = await get_order(client, market, orders[a])
    sibling = await get_order(client, market, orders[b])
    l0, l1 = lines(order)[v0]["id"], lines(order)[v1]["id"]
    other_line = sibling["items"][0]["id"]
    other_location = ok(await client.get(f"/admin/sellers/{b}", headers=market.admin))["seller"][
        "stock_location"
    ]["id"]
    own_location = ok(await client.get(f"/admin/sellers/{a}", headers=market.admin))["seller"][
        "stock_location"
    ]["id"]
    url = f"/admin/orders/{orders[a]}/fulfillments"

    async def refused(body, message=None):
        return error(
            await client.post(url, json=body, headers=market.admin), 400, "invalid_data", message
        )

    await refused(
        {"items": [{"id": l0, "quantity": 4}]},
        f"Cannot fulfill more items than what was ordered for item {l0}.",
    )
    await refused(
        {"items": [{"id": l0, "quantity": 1}, {"id": l1, "quantity": 2}]},
        f"Cannot fulfill more items than what was ordered for item {l1}.",
    )
    await refused({"items": [{"id": l0, "quantity": 0}]})
    await refused({"items": [{"id": l0, "quantity": -1}]})
    await refused({"items": []})
    await refused({"items": [{"id": l0, "quantity": 1}, {"id": l0, "quantity": 1}]})
    await refused(
        {"items": [{"id": "ordli_nope", "quantity": 1}]},
        f"Items with ids ordli_nope does not exist in order with id {orders[a]}.",
    )
    await refused(
        {"items": [{"id": l0, "quantity": 1}, {"id": other_line, "quantity": 1}]},
        f"Items with ids {other_line} does not exist in order with id {orders[a]}.",
    )
    message = await refused({"items": [{"id": l0, "quantity": 1}], "location_id": other_location})
    assert other_location in message
    await refused({"items": [{"id": l0, "quantity": 1}], "extra": True})
    # A bad ``fields`` is refused before anything is written.
    response = await client.post(
        url,
        params={"fields": "nope"},
        json={"items": [{"id": l0, "quantity": 1}]},
        headers=market.admin,
    )
    error(response, 400, "invalid_data", "Requested fields [nope] are not valid")

    assert await get_order(client, market, orders[a]) == order
    assert await stock(client, market, a) == {v0: (10, 3), v1: (10, 1)}
    assert await reservations(app, order) == {v0: [3], v1: [1]}
    assert await events(client, market, "order.fulfillment_created") == []

    # After a partial fulfilment the bound is what remains unfulfilled.
    body = await fulfil(client, market.admin, orders[a], [(l0, 2)], location_id=own_location)
    assert body["fulfillments"][0]["location_id"] == own_location
    await refused(
        {"items": [{"id": l0, "quantity": 2}]},
        f"Cannot fulfill more items than what was ordered for item {l0}.",
    )
    assert await stock(client, market, a) == {v0: (8, 1), v1: (10, 1)}

    # Unknown fulfilment, or another order's fulfilment: 404 on every action.
    for fid in ("ful_nope", body["fulfillments"][0]["id"]):
        target = orders[b] if fid != "ful_nope" else orders[a]
        for action in ("shipments", "mark-as-delivered", "cancel"):
            error(
                await act(client, market.admin, target, fid, action),
                404,
                "not_found",
                f"Fulfillment with id {fid} was not found",
            )
    error(
        await client.post(
            "/admin/orders/order_nope/fulfillments",
            json={"items": [{"id": l0, "quantity": 1}]},
            headers=market.admin,
        ),
        404,
        "not_found",
        "Order with id order_nope was not found",
    )


async def test_canceled_order_refuses_fulfilment(client, app, placed_three_lines):
    market, group, orders = placed_three_lines
    b = market.sellers[1]["id"]
    order = await get_order(client, market, orders[b])
    ok(await client.post(f"/admin/orders/{orders[b]}/cancel", headers=market.admin))
    error(
        await client.post(
            f"/admin/orders/{orders[b]}/fulfillments",
            json={"items": [{"id": order["items"][0]["id"], "quantity": 1}]},
            headers=market.admin,
        ),
        400,
        "invalid_data",
        f"Order with id {orders[b]} has been canceled.",
    )
    assert await events(client, market, "order.fulfillment_created") == []


async def test_order_cancel_needs_fulfilments_canceled(client, app, placed_three_lines):
    market, group, orders = placed_three_lines
    a = market.sellers[0]["id"]
    v0, v1 = market.variants[a]
    order = await get_order(client, market, orders[a])
    body = await fulfil(client, market.admin, orders[a], [(lines(order)[v0]["id"], 1)])
    fid = body["fulfillments"][0]["id"]
    error(
        await client.post(f"/admin/orders/{orders[a]}/cancel", headers=market.admin),
        400,
        "not_allowed",
        "All fulfillments must be canceled before canceling an order",
    )
    ok(await act(client, market.admin, orders[a], fid, "cancel"))
    ok(await client.post(f"/admin/orders/{orders[a]}/cancel", headers=market.admin))
    # Canceling the order released the (restored) reservations: nothing left held.
    assert await stock(client, market, a) == {v0: (10, 0), v1: (10, 0)}
    assert await reservations(app, order) == {}


async def test_vendor_fulfils_own_orders_only(client, app, placed_three_lines):
    market, group, orders = placed_three_lines
    a, b = (s["id"] for s in market.sellers)
    v0, v1 = market.variants[a]
    staff_a = await member_headers(client, market, a, "staff@a.test")
    staff_b = await member_headers(client, market, b, "staff@b.test")
    order = await get_order(client, market, orders[a])
    l0, l1 = lines(order)[v0]["id"], lines(order)[v1]["id"]

    # Seller A's member runs the whole flow on A's order.
    body = await fulfil(client, staff_a, orders[a], [(l0, 3), (l1, 1)], prefix="/vendor")
    assert body["fulfillment_status"] == "fulfilled" and "order_group_id" not in body
    fid = body["fulfillments"][0]["id"]
    canceled = ok(await act(client, staff_a, orders[a], fid, "cancel", prefix="/vendor"))["order"]
    assert canceled["fulfillment_status"] == "canceled"
    body = await fulfil(client, staff_a, orders[a], [(l0, 3), (l1, 1)], prefix="/vendor")
    fid = next(f["id"] for f in body["fulfillments"] if f["canceled_at"] is None)
    label = {"tracking_number": "V-1"}
    shipped = ok(
        await act(client, staff_a, orders[a], fid, "shipments", prefix="/vendor", labels=[label])
    )
    assert shipped["order"]["fulfillment_status"] == "shipped"
    before = await get_order(client, market, orders[a])
    before_stock = await stock(client, market, a)

    # Seller B's member: 404 on A's order for every action, and nothing changes.
    missing = f"Order with id {orders[a]} was not found"
    error(
        await client.post(
            f"/vendor/orders/{orders[a]}/fulfillments",
            json={"items": [{"id": l0, "quantity": 1}]},
            headers=staff_b,
        ),
        404,
        "not_found",
        missing,
    )
    for action in ("shipments", "mark-as-delivered", "cancel"):
        error(
            await act(client, staff_b, orders[a], fid, action, prefix="/vendor"),
            404,
            "not_found",
            missing,
        )
    assert await get_order(client, market, orders[a]) == before
    assert await stock(client, market, a) == before_stock
    # ... nor can B reach A's fulfilment through its own order.
    error(
        await act(client, staff_b, orders[b], fid, "mark-as-delivered", prefix="/vendor"),
        404,
        "not_found",
        f"Fulfillment with id {fid} was not found",
    )

    delivered = ok(
        await act(client, staff_a, orders[a], fid, "mark-as-delivered", prefix="/vendor")
    )
    assert delivered["order"]["fulfillment_status"] == "delivered"
    error(
        await act(client, staff_a, orders[a], fid, "mark-as-delivered", prefix="/vendor"),
        400,
        "not_allowed",
        DELIVERED_TWICE,
    )
    # Without a token the vendor routes are closed.
    response = await client.post(
        f"/vendor/orders/{orders[a]}/fulfillments", json={"items": [{"id": l0, "quantity": 1}]}
    )
    assert response.status_code == 401
    names = [
        e["name"]
        for e in ok(
            await client.get(
                "/admin/events",
                params={"resource_id": orders[a], "limit": 100},
                headers=market.admin,
            )
        )["events"]
    ]
    fulfilment_events = {
        "order.fulfillment_created",
        "order.fulfillment_canceled",
        "order.shipment_created",
        "order.delivered",
    }
    assert sorted(n for n in names if n in fulfilment_events) == sorted(
        [
            "order.fulfillment_created",
            "order.fulfillment_canceled",
            "order.fulfillment_created",
            "order.shipment_created",
            "order.delivered",
        ]
    )


async def test_unmanaged_inventory_moves_no_stock(client, app, admin_headers):
    market = await build_marketplace(
        client, admin_headers, sellers=1, stock=5, manage_inventory=False
    )
    seller = market.sellers[0]["id"]
    [variant_id] = market.variants[seller]
    cart = await ready_cart(client, market, [(variant_id, 2)])
    group = ok(await complete(client, market, cart["id"]))["order_group"]
    order_id = group["orders"][0]["id"]
    order = await get_order(client, market, order_id)
    assert await stock(client, market, seller) == {variant_id: (5, 0)}
    body = await fulfil(client, market.admin, order_id, [(order["items"][0]["id"], 2)])
    assert body["fulfillment_status"] == "fulfilled"
    assert await stock(client, market, seller) == {variant_id: (5, 0)}
    ok(await act(client, market.admin, order_id, body["fulfillments"][0]["id"], "cancel"))
    assert await stock(client, market, seller) == {variant_id: (5, 0)}
    assert await reservations(app, order) == {}


async def test_concurrent_fulfilments_never_exceed_the_order(client, app, placed_three_lines):
    market, group, orders = placed_three_lines
    a = market.sellers[0]["id"]
    v0, v1 = market.variants[a]
    order = await get_order(client, market, orders[a])
    l0 = lines(order)[v0]["id"]
    url = f"/admin/orders/{orders[a]}/fulfillments"
    responses = await asyncio.gather(
        *(
            client.post(url, json={"items": [{"id": l0, "quantity": 2}]}, headers=market.admin)
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 400, 400, 400]
    order = await get_order(client, market, orders[a])
    assert lines(order)[v0]["fulfilled_quantity"] == 2 and len(order["fulfillments"]) == 1
    assert await stock(client, market, a) == {v0: (8, 1), v1: (10, 1)}
    assert await reservations(app, order) == {v0: [1], v1: [1]}


# --------------------------------------------------------------- the dashboard's fulfil flow

# The fulfil form's query, less ``*shipping_address`` (an address relation: §5.1's other rows).
FULFIL_FORM = (
    "currency_code,*items,*items.variant,+items.variant.product.shipping_profile.id,"
    "shipping_address,+shipping_methods.shipping_option_id,no_notification"
)
SHIPMENT_FORM = "*fulfillments,*fulfillments.items,*fulfillments.labels,no_notification"
FULFILLMENT_DEFAULTS = {
    "id",
    "location_id",
    "shipping_option_id",
    "provider_id",
    "requires_shipping",
    "packed_at",
    "shipped_at",
    "delivered_at",
    "canceled_at",
    "data",
    "metadata",
    "created_at",
    "updated_at",
    "created_by",
    "marked_shipped_by",
}


async def location_of(client, market, seller_id: str) -> str:
    seller = ok(await client.get(f"/admin/sellers/{seller_id}", headers=market.admin))["seller"]
    return seller["stock_location"]["id"]


async def new_option(client, market, seller_id: str, name: str, *, is_return=False) -> str:
    body = {
        "name": name,
        "seller_id": seller_id,
        "region_id": market.region["id"],
        "amount": 2,
        "is_return": is_return,
    }
    option = ok(await client.post("/admin/shipping-options", json=body, headers=market.admin))
    return option["shipping_option"]["id"]


async def test_dashboard_fulfil_form_ships_the_sellers_lines_with_an_option(
    client, app, placed_three_lines
):
    market, group, orders = placed_three_lines
    a, b = (s["id"] for s in market.sellers)
    v0, v1 = market.variants[a]
    own_location, other_location = (
        await location_of(client, market, a),
        await location_of(client, market, b),
    )
    express = await new_option(client, market, a, "Express")
    returns = await new_option(client, market, a, "Returns", is_return=True)

    # What the form reads: lines with their product's shipping profile (the seller) and the
    # order's method's option, whose ``shipping_profile_id`` is the seller too.
    form = ok(
        await client.get(
            f"/admin/orders/{orders[a]}", params={"fields": FULFIL_FORM}, headers=market.admin
        )
    )["order"]
    profiles = {i["variant"]["product"]["shipping_profile"]["id"] for i in form["items"]}
    assert profiles == {a}
    assert all(i["requires_shipping"] is True for i in form["items"])
    assert [m["shipping_option_id"] for m in form["shipping_methods"]] == [market.options[a]]
    product = ok(
        await client.get(
            f"/admin/orders/{orders[a]}",
            params={"fields": "id,items.variant.product.shipping_profile.*"},
            headers=market.admin,
        )
    )["order"]["items"][0]["variant"]["product"]
    assert product["shipping_profile"] == {"id": a, "name": "Seller 0", "type": "default"}

    l0, l1 = lines(form)[v0]["id"], lines(form)[v1]["id"]
    url = f"/admin/orders/{orders[a]}/fulfillments"
    item = [{"id": l0, "quantity": 1}]

    async def refused(body, status, type_, message):
        return error(
            await client.post(url, json=body, headers=market.admin), status, type_, message
        )

    await refused(
        {"items": item, "shipping_option_id": market.options[b]},
        400,
        "invalid_data",
        f"Shipping option {market.options[b]} does not belong to seller {a}",
    )
    await refused(
        {"items": item, "shipping_option_id": returns},
        400,
        "invalid_data",
        f"Shipping option {returns} is a return option and cannot ship items to the customer",
    )
    await refused(
        {"items": item, "shipping_option_id": "so_nope"},
        404,
        "not_found",
        "Shipping option with id so_nope was not found",
    )
    await refused(
        {"items": item, "location_id": other_location},
        400,
        "invalid_data",
        f"Location {other_location} is not the stock location of seller {a}",
    )
    await refused({"items": [], "location_id": own_location}, 400, "invalid_data", None)
    assert await events(client, market, "order.fulfillment_created") == []

    # The form's request: location, option, no_notification, items.
    body = ok(
        await client.post(
            url,
            json={
                "location_id": own_location,
                "shipping_option_id": express,
                "no_notification": False,
                "items": [{"id": l0, "quantity": 2}],
            },
            params={"fields": SHIPMENT_FORM},
            headers=market.admin,
        )
    )["order"]
    (first,) = body["fulfillments"]
    assert set(first) == FULFILLMENT_DEFAULTS | {"items", "labels"}
    assert first["shipping_option_id"] == express
    assert first["location_id"] == own_location
    assert first["provider_id"] == "manual_manual"
    assert first["requires_shipping"] is True
    assert (first["created_by"], first["marked_shipped_by"], first["metadata"]) == (None,) * 3
    assert first["labels"] == []
    (packed,) = first["items"]
    assert packed == {
        "id": packed["id"],
        "fulfillment_id": first["id"],
        "line_item_id": l0,
        "title": lines(form)[v0]["title"],
        "sku": lines(form)[v0]["variant_sku"],
        "quantity": 2,
    }

    # Without an option, the fulfilment ships with the order's method's option.
    body = await fulfil(client, market.admin, orders[a], [(l1, 1)])
    second = next(f for f in body["fulfillments"] if f["id"] != first["id"])
    assert second["shipping_option_id"] == market.options[a]
    shown = ok(
        await client.get(
            f"/admin/orders/{orders[a]}",
            params={
                "fields": "id,fulfillments.id,fulfillments.shipping_option.id,"
                "fulfillments.shipping_option.name,"
                "fulfillments.shipping_option.service_zone.fulfillment_set.type"
            },
            headers=market.admin,
        )
    )["order"]["fulfillments"]
    zone = {"fulfillment_set": {"type": "shipping"}}
    assert shown == [
        {
            "id": first["id"],
            "shipping_option": {"id": express, "name": "Express", "service_zone": zone},
        },
        {
            "id": second["id"],
            "shipping_option": {
                "id": market.options[a],
                "name": "Standard 0",
                "service_zone": zone,
            },
        },
    ]

    # The shipment form re-sends the fulfilment's items and ``"#"`` label URLs; other items are
    # refused, echoed label keys ignored, an identical label kept once.
    fid = first["id"]
    error(
        await act(
            client, market.admin, orders[a], fid, "shipments", items=[{"id": l0, "quantity": 1}]
        ),
        400,
        "invalid_data",
        f"Shipment items must be the items of fulfillment {fid}",
    )
    error(
        await act(
            client,
            market.admin,
            orders[a],
            fid,
            "shipments",
            items=[{"id": l0, "quantity": 1}, {"id": l0, "quantity": 1}],
        ),
        400,
        "invalid_data",
        f"Shipment items must be the items of fulfillment {fid}",
    )
    label = {"tracking_number": "TRK-1", "tracking_url": "#", "label_url": "#"}
    echoed = {
        **label,
        "id": "fulla_old",
        "fulfillment_id": fid,
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
        "deleted_at": None,
    }
    error(
        await act(
            client,
            market.admin,
            orders[a],
            fid,
            "shipments",
            labels=[{**label, "label_url": "x" * 2049}],
        ),
        400,
        "invalid_data",
    )
    shipped = ok(
        await act(
            client,
            market.admin,
            orders[a],
            fid,
            "shipments",
            items=[{"id": l0, "quantity": 2}],
            labels=[label, echoed],
            no_notification=True,
        )
    )["order"]
    ful = next(f for f in shipped["fulfillments"] if f["id"] == fid)
    assert ful["shipped_at"] is not None
    assert len(ful["labels"]) == 1
    (stored,) = ful["labels"]
    assert {k: stored[k] for k in label} == label
    assert stored["id"] != "fulla_old" and stored["created_at"] is not None
    shipment = (await events(client, market, "order.shipment_created"))[0]
    assert shipment["data"]["no_notification"] is True

    delivered = ok(
        await act(client, market.admin, orders[a], fid, "mark-as-delivered", no_notification=True)
    )["order"]
    assert next(f for f in delivered["fulfillments"] if f["id"] == fid)["delivered_at"]
    # Cancel with ``{no_notification}`` or no body at all.
    canceled = ok(
        await client.post(
            f"/admin/orders/{orders[a]}/fulfillments/{second['id']}/cancel",
            headers=market.admin,
        )
    )["order"]
    assert next(f for f in canceled["fulfillments"] if f["id"] == second["id"])["canceled_at"]
    body = await fulfil(client, market.admin, orders[a], [(l1, 1)])
    third = next(f["id"] for f in body["fulfillments"] if f["id"] not in (fid, second["id"]))
    ok(await act(client, market.admin, orders[a], third, "cancel", no_notification=True))


async def test_vendor_fulfilment_takes_its_own_sellers_option(client, app, placed_three_lines):
    market, group, orders = placed_three_lines
    a, b = (s["id"] for s in market.sellers)
    staff_b = await member_headers(client, market, b, "ship@b.test")
    order = await get_order(client, market, orders[b])
    (line,) = order["items"]
    url = f"/vendor/orders/{orders[b]}/fulfillments"
    error(
        await client.post(
            url,
            json={
                "items": [{"id": line["id"], "quantity": 1}],
                "shipping_option_id": market.options[a],
            },
            headers=staff_b,
        ),
        400,
        "invalid_data",
        f"Shipping option {market.options[a]} does not belong to seller {b}",
    )
    other_location = await location_of(client, market, a)
    error(
        await client.post(
            url,
            json={"items": [{"id": line["id"], "quantity": 1}], "location_id": other_location},
            headers=staff_b,
        ),
        400,
        "invalid_data",
        f"Location {other_location} is not the stock location of seller {b}",
    )
    body = await fulfil(
        client,
        staff_b,
        orders[b],
        [(line["id"], 2)],
        prefix="/vendor",
        shipping_option_id=market.options[b],
    )
    assert body["fulfillments"][0]["shipping_option_id"] == market.options[b]
    assert body["fulfillments"][0]["provider_id"] == "manual_manual"

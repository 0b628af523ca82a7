"""Returns over HTTP (order-changes.md §6, §16 "Return (order A, fully captured)"), to the cent.

One seller's order of a two-seller group is returned, received and refunded; its sibling
never moves."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from mercato.products.models import InventoryLevel
from tests.api.helpers import error, ok


async def _setup(client, place_group):
    market, group, orders = await place_group(
        lines=[(0, 0, 2), (1, 0, 1)], sellers=2, prices=(30,), shipping=5
    )
    a_seller, b_seller = (s["id"] for s in market.sellers)
    a, b = orders[a_seller], orders[b_seller]
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
    )["shipping_option"]
    return market, group, a, b, option


async def _order(client, headers, order_id):
    return ok(await client.get(f"/admin/orders/{order_id}", headers=headers))["order"]


async def _fulfil_and_capture(client, headers, order_id):
    order = await _order(client, headers, order_id)
    items = [{"id": i["id"], "quantity": i["quantity"]} for i in order["items"]]
    ok(
        await client.post(
            f"/admin/orders/{order_id}/fulfillments", headers=headers, json={"items": items}
        )
    )
    ok(await client.post(f"/admin/orders/{order_id}/capture", headers=headers, json={}))
    return order


async def _stock(app, variant_id):
    async with app.state.sessionmaker() as session:
        level = await session.scalar(
            select(InventoryLevel).where(InventoryLevel.variant_id == variant_id)
        )
        return level.stocked_quantity, level.reserved_quantity


async def test_the_worked_return_example_to_the_cent(client, app, place_group):
    market, group, a, b, option = await _setup(client, place_group)
    group_id = group["id"]
    h = market.admin
    order_a = await _fulfil_and_capture(client, h, a)
    sibling_before = await _order(client, h, b)
    shirt = order_a["items"][0]
    stock_before = await _stock(app, shirt["variant_id"])

    begun = ok(await client.post("/admin/returns", headers=h, json={"order_id": a}))
    ret = begun["return"]
    assert ret["status"] == "open" and begun["order"]["order_change"]["change_type"] == (
        "return_request"
    )
    assert begun["order"]["summary"]["pending_difference"] == 0
    selected = ok(await client.get(f"/admin/orders/{a}?fields=id,*order_change", headers=h))[
        "order"
    ]
    assert selected["order_change"]["id"] == begun["order"]["order_change"]["id"]
    assert selected["order_change"]["status"] == "pending"

    # A second change on the same order is refused, naming the active one.
    change_id = begun["order"]["order_change"]["id"]
    error(
        await client.post("/admin/returns", headers=h, json={"order_id": a}),
        400,
        "invalid_data",
        f"Order ({a}) already has an existing active order change: {change_id} (return_request)",
    )

    preview = ok(
        await client.post(
            f"/admin/returns/{ret['id']}/request-items",
            headers=h,
            json={"items": [{"id": shirt["id"], "quantity": 1}]},
        )
    )["order_preview"]
    summary = preview["summary"]
    assert summary["current_order_total"] == 38.5
    assert summary["pending_difference"] == -33
    assert summary["return_requested_total"] == 33
    assert summary["refund_due"] == 0

    preview = ok(
        await client.post(
            f"/admin/returns/{ret['id']}/shipping-method",
            headers=h,
            json={"shipping_option_id": option["id"]},
        )
    )["order_preview"]
    assert preview["summary"]["current_order_total"] == 41.8
    assert preview["summary"]["pending_difference"] == -29.7
    assert preview["summary"]["refund_due"] == 0

    requested = ok(await client.post(f"/admin/returns/{ret['id']}/request", headers=h, json={}))
    assert requested["return"]["status"] == "requested"
    assert requested["return"]["refund_amount"] == 29.7
    order = await _order(client, h, a)
    assert order["version"] == 2 and order["summary"]["refund_due"] == 0

    # Nothing received yet: a receipt of more than requested is refused.
    ok(await client.post(f"/admin/returns/{ret['id']}/receive", headers=h, json={}))
    error(
        await client.post(
            f"/admin/returns/{ret['id']}/receive-items",
            headers=h,
            json={"items": [{"id": shirt["id"], "quantity": 2}]},
        ),
        400,
        "invalid_data",
        f"Cannot receive more items than what was requested to be returned for item {shirt['id']}.",
    )
    ok(
        await client.post(
            f"/admin/returns/{ret['id']}/receive-items",
            headers=h,
            json={"items": [{"id": shirt["id"], "quantity": 1}]},
        )
    )
    received = ok(await client.post(f"/admin/returns/{ret['id']}/receive/confirm", headers=h))
    assert received["return"]["status"] == "received"
    order = await _order(client, h, a)
    assert order["summary"]["return_requested_total"] == 0
    assert order["summary"]["refund_due"] == 29.7
    assert order["status"] == "requires_action"
    assert order["fulfillment_status"] == "partially_returned"
    stock_after = await _stock(app, shirt["variant_id"])
    assert stock_after == (stock_before[0] + 1, stock_before[1])  # restocked once
    group = ok(await client.get(f"/admin/order-groups/{group_id}", headers=h))["order_group"]
    assert group["status"] == "requires_action"
    assert group["fulfillment_status"] == "partially_returned"

    error(
        await client.post(f"/admin/orders/{a}/refund", headers=h, json={"amount": 80}),
        400,
        "invalid_data",
        f"Cannot refund more than 71.50 USD for order {a}",
    )
    refunded = ok(await client.post(f"/admin/orders/{a}/refund", headers=h, json={}))["order"]
    assert refunded["summary"]["refunded_total"] == 29.7
    assert refunded["summary"]["transaction_total"] == 41.8
    assert refunded["summary"]["pending_difference"] == 0
    assert refunded["status"] == "pending"
    assert refunded["payment_status"] == "partially_refunded"
    group = ok(await client.get(f"/admin/order-groups/{group_id}", headers=h))["order_group"]
    assert group["total"] == 41.8 + 38.5
    assert group["payment_status"] == "partially_refunded"

    sibling_after = await _order(client, h, b)
    assert sibling_after == sibling_before

    changes = ok(await client.get(f"/admin/orders/{a}/changes", headers=h))["order_changes"]
    assert [c["change_type"] for c in changes] == ["return_request", "return_receive"]
    assert all(c["status"] == "confirmed" for c in changes)


async def test_cancel_gives_the_value_back_and_is_refused_after_receipt(client, place_group):
    market, _, a, b, option = await _setup(client, place_group)
    h = market.admin
    order_a = await _fulfil_and_capture(client, h, a)
    shirt = order_a["items"][0]

    async def requested_return(quantity: int) -> str:
        ret = ok(await client.post("/admin/returns", headers=h, json={"order_id": a}))["return"]
        ok(
            await client.post(
                f"/admin/returns/{ret['id']}/request-items",
                headers=h,
                json={"items": [{"id": shirt["id"], "quantity": quantity}]},
            )
        )
        ok(await client.post(f"/admin/returns/{ret['id']}/request", headers=h))
        return ret["id"]

    first = await requested_return(1)
    canceled = ok(await client.post(f"/admin/returns/{first}/cancel", headers=h, json={}))
    assert canceled["return"]["status"] == "canceled"
    order = await _order(client, h, a)
    assert order["summary"]["current_order_total"] == 71.5 and order["version"] == 3
    error(
        await client.post(f"/admin/returns/{first}/cancel", headers=h, json={}),
        400,
        "invalid_data",
        f"Return with id {first} has been canceled.",
    )

    second = await requested_return(2)
    ok(await client.post(f"/admin/returns/{second}/receive", headers=h))
    ok(
        await client.post(
            f"/admin/returns/{second}/dismiss-items",
            headers=h,
            json={"items": [{"id": shirt["id"], "quantity": 1}]},
        )
    )
    ok(await client.post(f"/admin/returns/{second}/receive/confirm", headers=h))
    ret = ok(await client.get(f"/admin/returns/{second}", headers=h))["return"]
    assert ret["status"] == "partially_received"
    assert ret["items"][0]["received_quantity"] == 1 and ret["items"][0]["damaged_quantity"] == 1
    error(
        await client.post(f"/admin/returns/{second}/cancel", headers=h, json={}),
        400,
        "not_allowed",
        "Can't cancel a return which has returned items",
    )


async def test_concurrent_begins_on_one_order_leave_one_active_change(client, place_group):
    market, _, a, _, _ = await _setup(client, place_group)
    h = market.admin
    await _fulfil_and_capture(client, h, a)
    answers = await asyncio.gather(
        *(client.post("/admin/returns", headers=h, json={"order_id": a}) for _ in range(4))
    )
    assert sorted(r.status_code for r in answers) == [200, 400, 400, 400]


async def test_an_unknown_return_is_a_404(client, place_group):
    market, _, a, b, _ = await _setup(client, place_group)
    h = market.admin
    await _fulfil_and_capture(client, h, a)
    ret = ok(await client.post("/admin/returns", headers=h, json={"order_id": a}))["return"]
    unknown = await client.get("/admin/returns/return_nope", headers=h)
    error(unknown, 404, "not_found", "Return with id return_nope was not found")
    assert ret["order_id"] == a


async def test_a_return_costing_more_than_it_gives_back_opens_a_change_collection(
    client, place_group
):
    """§3.5 and §6.2: return shipping worth more than the returned unit leaves the customer owing;
    a collection for exactly that amount is linked to this order only, and canceled with the
    return. The checkout collection and the sibling never move."""
    market, _, a, b, option = await _setup(client, place_group)
    h = market.admin
    order_a = await _fulfil_and_capture(client, h, a)
    sibling_before = await _order(client, h, b)
    shirt = order_a["items"][0]
    ret = ok(await client.post("/admin/returns", headers=h, json={"order_id": a}))["return"]
    ok(
        await client.post(
            f"/admin/returns/{ret['id']}/request-items",
            headers=h,
            json={"items": [{"id": shirt["id"], "quantity": 1}]},
        )
    )
    ok(
        await client.post(
            f"/admin/returns/{ret['id']}/shipping-method",
            headers=h,
            json={"shipping_option_id": option["id"], "custom_amount": 40},
        )
    )
    ok(await client.post(f"/admin/returns/{ret['id']}/request", headers=h))
    order = ok(
        await client.get(
            f"/admin/orders/{a}?fields=*payment_collections,summary,status,payment_status",
            headers=h,
        )
    )["order"]
    # 71.50 − 33.00 + 44.00 (40.00 + 10 % tax) = 82.50; paid 71.50 → 11.00 due.
    assert order["summary"]["current_order_total"] == 82.5
    assert order["summary"]["amount_due"] == 11
    assert order["status"] == "requires_action"
    collections = {c["source"]: c for c in order["payment_collections"]}
    assert collections["order_change"]["amount"] == 11
    assert collections["order_change"]["status"] == "not_paid"
    assert collections["cart"]["amount"] == 71.5
    assert order["payment_status"] == "partially_captured"

    ok(await client.post(f"/admin/returns/{ret['id']}/cancel", headers=h, json={}))
    order = ok(
        await client.get(
            f"/admin/orders/{a}?fields=*payment_collections,summary,status,payment_status",
            headers=h,
        )
    )["order"]
    assert order["summary"]["amount_due"] == 0 and order["status"] == "pending"
    collections = {c["source"]: c for c in order["payment_collections"]}
    assert collections["order_change"]["status"] == "canceled"
    assert await _order(client, h, b) == sibling_before


async def test_a_shared_payment_is_refunded_for_one_named_order(client, app, place_group):
    """§3.6: ``POST /admin/payments/:id/refund`` needs ``order_id`` when the payment serves
    several orders, and applies that order's caps only."""
    from mercato.payments.models import Payment

    market, _, a, b, _ = await _setup(client, place_group)
    h = market.admin
    await _fulfil_and_capture(client, h, a)
    async with app.state.sessionmaker() as session:
        payment_id = await session.scalar(select(Payment.id))
    ordered = sorted([a, b])
    error(
        await client.post(f"/admin/payments/{payment_id}/refund", headers=h, json={"amount": 1}),
        400,
        "invalid_data",
        f"order_id is required: payment {payment_id} is shared by orders {', '.join(ordered)}",
    )
    error(
        await client.post(
            f"/admin/payments/{payment_id}/refund", headers=h, json={"amount": 1, "order_id": b}
        ),
        400,
        "invalid_data",
    )  # B captured nothing: nothing to refund
    ok(
        await client.post(
            f"/admin/payments/{payment_id}/refund", headers=h, json={"amount": 1, "order_id": a}
        )
    )
    order = await _order(client, h, a)
    assert order["summary"]["refunded_total"] == 1
    assert order["summary"]["credit_line_total"] == 1  # nothing was due: a goodwill credit
    assert (await _order(client, h, b))["summary"]["refunded_total"] == 0

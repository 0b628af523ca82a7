"""Exchanges over HTTP (order-changes.md §7, §16 "Exchange (order B, authorized only)"), to the
cent. Seller B's order of a two-seller group swaps a Mug; seller A's order never moves. Paying
and capturing the change collection: ``test_change_payments``."""

from __future__ import annotations

from sqlalchemy import select

from mercato.products.models import InventoryLevel
from tests.api.checkout_helpers import complete, ready_cart
from tests.api.helpers import error, login, ok
from tests.api.return_helpers import worked_example

FIELDS = (
    "*items,items.detail,summary,version,status,payment_status,fulfillment_status,total,"
    "*payment_collections,*exchanges,*returns"
)


async def _setup(client, admin, customer_email=None):
    """§16: A sells Shirt 30, B sells Mug 20, Teapot 35 (and a 12.00 Cup); tax 10 %; A ships
    for 5.00, B for 4.00. Checkout of 2 × Shirt + 1 × Mug, by a guest, or by the customer
    ``customer_email`` (whose token ``market.store`` then carries)."""
    w = await worked_example(client, admin, customer_email=customer_email)
    teapot, cup = w.market.variants[w.b_seller][2:4]
    return w.market, w.group_id, w.a, w.b, teapot, cup


async def _order(client, admin, order_id):
    return ok(
        await client.get(f"/admin/orders/{order_id}", headers=admin, params={"fields": FIELDS})
    )["order"]


async def _fulfil(client, admin, order_id):
    order = await _order(client, admin, order_id)
    items = [{"id": i["id"], "quantity": i["quantity"]} for i in order["items"]]
    ok(
        await client.post(
            f"/admin/orders/{order_id}/fulfillments", headers=admin, json={"items": items}
        )
    )
    return order


async def _stock(app, variant_id):
    async with app.state.sessionmaker() as session:
        level = await session.scalar(
            select(InventoryLevel).where(InventoryLevel.variant_id == variant_id)
        )
        return level.stocked_quantity, level.reserved_quantity


def _sibling(order):
    keep = ("summary", "payment_collections", "status", "payment_status", "fulfillment_status")
    return {k: order[k] for k in keep} | {"items": order["items"]}


async def test_the_worked_exchange_example_to_the_cent(client, app, admin_headers):
    h = admin_headers
    market, group_id, a, b, teapot, _ = await _setup(client, h)
    order_b = await _fulfil(client, h, b)
    a_before = _sibling(await _order(client, h, a))
    mug_line = order_b["items"][0]
    assert order_b["total"] == 26.4
    teapot_stock = await _stock(app, teapot)

    begun = ok(await client.post("/admin/exchanges", headers=h, json={"order_id": b}))
    exchange = begun["exchange"]
    assert exchange["id"].startswith("oexc_") and exchange["return_id"] is None
    assert begun["order"]["order_change"]["change_type"] == "exchange"
    ex = exchange["id"]

    inbound = ok(
        await client.post(
            f"/admin/exchanges/{ex}/inbound/items",
            headers=h,
            json={"items": [{"id": mug_line["id"], "quantity": 1}]},
        )
    )
    ret = inbound["return"]
    assert ret["exchange_id"] == ex and ret["status"] == "open"
    assert inbound["order_preview"]["summary"]["current_order_total"] == 4.4

    # Another seller's variant is refused; nothing changes.
    shirt = market.variants[market.sellers[0]["id"]][0]
    error(
        await client.post(
            f"/admin/exchanges/{ex}/outbound/items",
            headers=h,
            json={"items": [{"variant_id": shirt, "quantity": 1}]},
        ),
        400,
        "invalid_data",
        f"Variant {shirt} belongs to seller {market.sellers[0]['id']}, not to seller "
        f"{market.sellers[1]['id']} of order {b}",
    )
    too_many = await client.post(
        f"/admin/exchanges/{ex}/outbound/items",
        headers=h,
        json={"items": [{"variant_id": teapot, "quantity": 11}]},
    )
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "insufficient_inventory"

    out = ok(
        await client.post(
            f"/admin/exchanges/{ex}/outbound/items",
            headers=h,
            json={"items": [{"variant_id": teapot, "quantity": 1}]},
        )
    )
    preview = out["order_preview"]
    assert preview["summary"]["current_order_total"] == 42.9
    added = [i for i in preview["items"] if i.get("exchange_id") == ex]
    assert len(added) == 1 and added[0]["total"] == 38.5

    # A's shipping option, or a return option, cannot ship B's exchange.
    error(
        await client.post(
            f"/admin/exchanges/{ex}/outbound/shipping-method",
            headers=h,
            json={"shipping_option_id": market.options[market.sellers[0]["id"]]},
        ),
        400,
        "invalid_data",
        f"Shipping option {market.options[market.sellers[0]['id']]} belongs to seller "
        f"{market.sellers[0]['id']}, not to seller {market.sellers[1]['id']} of order {b}",
    )
    ok(
        await client.post(
            f"/admin/exchanges/{ex}/outbound/shipping-method",
            headers=h,
            json={
                "shipping_option_id": market.options[market.sellers[1]["id"]],
                "custom_amount": 0,
            },
        )
    )

    # The return routes reach only the return's part of the exchange, not its outbound part.
    change = ok(
        await client.get(
            f"/admin/orders/{b}", headers=h, params={"fields": "order_change.actions.*"}
        )
    )["order"]["order_change"]
    outbound_method = next(
        a["id"]
        for a in change["actions"]
        if a["action"] == "SHIPPING_ADD" and a.get("return_id") is None
    )
    error(
        await client.delete(
            f"/admin/returns/{ret['id']}/shipping-method/{outbound_method}", headers=h
        ),
        404,
        "not_found",
        f"Order change action with id {outbound_method} was not found",
    )

    requested = ok(await client.post(f"/admin/exchanges/{ex}/request", headers=h, json={}))
    assert requested["exchange"]["difference_due"] == 16.5
    assert requested["return"]["status"] == "requested"
    assert len(requested["exchange"]["additional_items"]) == 1
    order = await _order(client, h, b)
    summary = order["summary"]
    assert summary["current_order_total"] == 42.9
    assert summary["paid_total"] == 0 and summary["pending_difference"] == 42.9
    assert summary["amount_due"] == 16.5
    assert order["version"] == 2
    assert order["status"] == "requires_action"
    assert order["payment_status"] == "partially_authorized"
    change_collections = [
        c for c in order["payment_collections"] if c.get("source") == "order_change"
    ]
    assert [c["amount"] for c in change_collections] == [16.5]
    assert await _stock(app, teapot) == (teapot_stock[0], teapot_stock[1] + 1)
    group = ok(await client.get(f"/admin/order-groups/{group_id}", headers=h))["order_group"]
    assert group["total"] == 114.4

    events = [
        name
        for name in (await _events(app))
        if name in ("order.exchange_created", "order.payment_collection_created")
    ]
    assert events == ["order.payment_collection_created", "order.exchange_created"]

    # Confirming twice: no active change.
    error(
        await client.post(f"/admin/exchanges/{ex}/request", headers=h, json={}),
        400,
        "invalid_data",
        "An active Order Change is required to proceed",
    )

    # Cancel restores exactly what the request reserved and gives the value back.
    canceled = ok(await client.post(f"/admin/exchanges/{ex}/cancel", headers=h, json={}))
    assert canceled["exchange"]["canceled_at"] is not None
    assert await _stock(app, teapot) == teapot_stock
    order = await _order(client, h, b)
    assert order["summary"]["current_order_total"] == 26.4
    assert order["summary"]["amount_due"] == 0
    assert [i["id"] for i in order["items"]] == [mug_line["id"]]
    assert order["returns"][0]["status"] == "canceled"
    error(
        await client.post(f"/admin/exchanges/{ex}/cancel", headers=h, json={}),
        400,
        "invalid_data",
        f"Exchange with id {ex} has been canceled.",
    )
    assert _sibling(await _order(client, h, a)) == a_before


async def _events(app):
    from mercato.events.models import OutboxEvent

    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxEvent).order_by(OutboxEvent.created_at, OutboxEvent.id)
        )
        return [e.name for e in rows]


async def test_a_cheaper_item_makes_a_refund_due(client, app, admin_headers):
    h = admin_headers
    market, _, a, b, _, cup = await _setup(client, h)
    order_b = await _fulfil(client, h, b)
    ok(await client.post(f"/admin/orders/{b}/capture", headers=h, json={}))
    a_before = _sibling(await _order(client, h, a))
    mug_line = order_b["items"][0]["id"]
    ex = ok(await client.post("/admin/exchanges", headers=h, json={"order_id": b}))["exchange"][
        "id"
    ]
    ok(
        await client.post(
            f"/admin/exchanges/{ex}/inbound/items",
            headers=h,
            json={"items": [{"id": mug_line, "quantity": 1}]},
        )
    )
    ok(
        await client.post(
            f"/admin/exchanges/{ex}/outbound/items",
            headers=h,
            json={"items": [{"variant_id": cup, "quantity": 1}]},
        )
    )
    requested = ok(await client.post(f"/admin/exchanges/{ex}/request", headers=h, json={}))
    # 26.40 − 22.00 + 13.20 = 17.60; paid 26.40 → the marketplace owes 8.80.
    assert requested["exchange"]["difference_due"] == -8.8
    order = await _order(client, h, b)
    assert order["summary"]["current_order_total"] == 17.6
    assert order["summary"]["pending_difference"] == -8.8
    assert order["summary"]["refund_due"] == 0  # the Mug is in transit
    assert [c for c in order["payment_collections"] if c.get("source") == "order_change"] == []
    ret = requested["return"]["id"]
    ok(await client.post(f"/admin/returns/{ret}/receive", headers=h))
    ok(
        await client.post(
            f"/admin/returns/{ret}/receive-items",
            headers=h,
            json={"items": [{"id": mug_line, "quantity": 1}]},
        )
    )
    ok(await client.post(f"/admin/returns/{ret}/receive/confirm", headers=h))
    order = await _order(client, h, b)
    assert order["summary"]["refund_due"] == 8.8
    ok(await client.post(f"/admin/orders/{b}/refund", headers=h, json={}))
    order = await _order(client, h, b)
    assert order["summary"]["pending_difference"] == 0
    # Received units: the exchange can no longer be canceled.
    error(
        await client.post(f"/admin/exchanges/{ex}/cancel", headers=h, json={}),
        400,
        "not_allowed",
        "Can't cancel a return which has returned items",
    )
    assert _sibling(await _order(client, h, a)) == a_before


async def test_rules_and_vendor_isolation(client, app, admin_headers):
    h = admin_headers
    market, _, a, b, teapot, _ = await _setup(client, h)
    a_seller, b_seller = (s["id"] for s in market.sellers)
    await _fulfil(client, h, b)
    ex = ok(await client.post("/admin/exchanges", headers=h, json={"order_id": b}))["exchange"][
        "id"
    ]
    error(
        await client.post("/admin/exchanges", headers=h, json={"order_id": b}),
        400,
        "invalid_data",
    )
    error(
        await client.post(f"/admin/exchanges/{ex}/request", headers=h, json={}),
        400,
        "invalid_data",
        "Order exchange request should have at least 1 item inbound and 1 item outbound",
    )
    error(
        await client.post(f"/admin/exchanges/{ex}/cancel", headers=h, json={}),
        400,
        "not_allowed",
        f"Exchange {ex} has not been requested; use DELETE /admin/exchanges/{ex}/request",
    )
    # Vendor A cannot see B's exchange; vendor B can.
    for seller_id, email in ((a_seller, "a@example.com"), (b_seller, "b@example.com")):
        ok(
            await client.post(
                f"/admin/sellers/{seller_id}/members",
                headers=h,
                json={"email": email, "password": "supersecret"},
            )
        )
    vendor_a = await login(client, "seller", "a@example.com", "supersecret")
    vendor_b = await login(client, "seller", "b@example.com", "supersecret")
    error(
        await client.get(f"/vendor/exchanges/{ex}", headers=vendor_a),
        404,
        "not_found",
        f"Exchange with id {ex} was not found",
    )
    error(
        await client.post(
            f"/vendor/exchanges/{ex}/outbound/items",
            headers=vendor_a,
            json={"items": [{"variant_id": teapot, "quantity": 1}]},
        ),
        404,
        "not_found",
    )
    assert ok(await client.get("/vendor/exchanges", headers=vendor_a))["count"] == 0
    listed = ok(await client.get("/vendor/exchanges", headers=vendor_b))
    assert [e["id"] for e in listed["exchanges"]] == [ex]
    out = ok(
        await client.post(
            f"/vendor/exchanges/{ex}/outbound/items",
            headers=vendor_b,
            json={"items": [{"variant_id": teapot, "quantity": 1}]},
        )
    )
    action = out["order_preview"]["order_change"]["actions"][0]["id"]
    ok(
        await client.post(
            f"/vendor/exchanges/{ex}/outbound/items/{action}",
            headers=vendor_b,
            json={"quantity": 2},
        )
    )
    ok(await client.delete(f"/vendor/exchanges/{ex}/outbound/items/{action}", headers=vendor_b))
    deleted = ok(await client.delete(f"/vendor/exchanges/{ex}/request", headers=vendor_b))
    assert deleted == {"id": ex, "object": "exchange", "deleted": True}
    error(await client.get(f"/admin/exchanges/{ex}", headers=h), 404, "not_found")
    order = await _order(client, h, b)
    assert order["version"] == 1 and order["exchanges"] == []


async def _exchange_ready(client, h, order_id, teapot, quantity):
    """An exchange of ``order_id``'s Mug for ``quantity`` Teapots, ready to request."""
    order = await _fulfil(client, h, order_id)
    ex = ok(await client.post("/admin/exchanges", headers=h, json={"order_id": order_id}))[
        "exchange"
    ]["id"]
    ok(
        await client.post(
            f"/admin/exchanges/{ex}/inbound/items",
            headers=h,
            json={"items": [{"id": order["items"][0]["id"], "quantity": 1}]},
        )
    )
    ok(
        await client.post(
            f"/admin/exchanges/{ex}/outbound/items",
            headers=h,
            json={"items": [{"variant_id": teapot, "quantity": quantity}]},
        )
    )
    return ex


async def test_concurrent_outbound_reservations_never_oversell(client, app, admin_headers):
    """§13: two orders' exchanges each ask for 6 of 10 Teapots (both fit when added); requested
    at once, one reserves and the other is refused under the lock, nothing oversold."""
    import asyncio

    h = admin_headers
    market, _, _, b, teapot, _ = await _setup(client, h)
    a_seller, b_seller = (s["id"] for s in market.sellers)
    cart = await ready_cart(
        client, market, [(market.variants[a_seller][0], 1), (market.variants[b_seller][1], 1)]
    )
    second = ok(await complete(client, market, cart["id"]))["order_group"]
    b2 = next(o["id"] for o in second["orders"] if o["seller_id"] == b_seller)
    first_ex = await _exchange_ready(client, h, b, teapot, 6)
    second_ex = await _exchange_ready(client, h, b2, teapot, 6)
    stock_before = await _stock(app, teapot)

    answers = await asyncio.gather(
        client.post(f"/admin/exchanges/{first_ex}/request", headers=h, json={}),
        client.post(f"/admin/exchanges/{second_ex}/request", headers=h, json={}),
    )
    assert sorted(r.status_code for r in answers) == [200, 400]
    refused = next(r for r in answers if r.status_code == 400).json()
    assert refused["code"] == "insufficient_inventory"
    stocked, reserved = await _stock(app, teapot)
    assert stocked == stock_before[0] and reserved == stock_before[1] + 6
    assert reserved <= stocked


async def test_a_replayed_exchange_request_applies_once(client, app, admin_headers):
    """§13: the same Idempotency-Key replays the first response; the version moves once and
    the Teapot is reserved once. The same key with another body is refused."""
    h = admin_headers
    _, _, _, b, teapot, _ = await _setup(client, h)
    ex = await _exchange_ready(client, h, b, teapot, 1)
    stock_before = await _stock(app, teapot)
    keyed = {**h, "Idempotency-Key": "exchange-request-1"}
    first = await client.post(f"/admin/exchanges/{ex}/request", headers=keyed, json={})
    again = await client.post(f"/admin/exchanges/{ex}/request", headers=keyed, json={})
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    order = await _order(client, h, b)
    assert order["version"] == 2
    assert await _stock(app, teapot) == (stock_before[0], stock_before[1] + 1)
    other = await client.post(
        f"/admin/exchanges/{ex}/request", headers=keyed, json={"no_notification": True}
    )
    assert other.status_code == 400

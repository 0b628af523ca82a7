"""Each seller's order: admin reads and filters, status transitions, vendor isolation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mercato.orders.models import ReservationItem
from mercato.products.models import InventoryLevel
from tests.api.helpers import error, login, ok


async def member_headers(client, market, seller_id: str, email: str) -> dict[str, str]:
    ok(
        await client.post(
            f"/admin/sellers/{seller_id}/members",
            json={"email": email, "password": "supersecret"},
            headers=market.admin,
        )
    )
    return await login(client, "seller", email, "supersecret")


@pytest.fixture
async def placed_two_and_one(place_group):
    """Seller A: 2 × 10.99, seller B: 1 × 10.99 — stock 10 of every variant."""
    return await place_group([(0, 0, 2), (1, 0, 1)], sellers=2, stock=10)


async def test_admin_order_detail_has_totals_summary_and_relations(client, placed_two_and_one):
    market, group, orders = placed_two_and_one
    order = ok(
        await client.get(f"/admin/orders/{orders[market.sellers[0]['id']]}", headers=market.admin)
    )["order"]
    assert order["status"] == "pending" and order["payment_status"] == "authorized"
    assert order["fulfillment_status"] == "not_fulfilled" and order["order_group_id"] == group["id"]
    # 2 × 10.99 = 21.98, 10 % tax 2.20; shipping 4.99 + 0.50 tax
    assert order["item_subtotal"] == 21.98 and order["item_tax_total"] == 2.2
    assert order["shipping_total"] == 5.49 and order["total"] == 29.67
    assert order["summary"] == {
        "original_order_total": 29.67,
        "current_order_total": 29.67,
        "paid_total": 0,
        "refunded_total": 0,
        "transaction_total": 0,
        "pending_difference": 29.67,
        # order-changes.md §3.3: authorized, not captured — owed but secured.
        "accounting_total": 29.67,
        "credit_line_total": 0,
        "return_requested_total": 0,
        "refund_due": 0,
        "amount_due": 0,
    }
    assert order["version"] == 1 and order["credit_lines"] == []
    assert order["items"][0]["detail"]["return_requested_quantity"] == 0
    assert [i["quantity"] for i in order["items"]] == [2]
    assert order["payment_collections"][0]["amount"] == 29.67  # this order's share only
    assert order["seller"]["id"] == market.sellers[0]["id"] and order["fulfillments"] == []
    error(
        await client.get("/admin/orders/order_nope", headers=market.admin),
        404,
        "not_found",
        "Order with id order_nope was not found",
    )


async def test_admin_order_list_filters(client, placed_two_and_one):
    market, group, orders = placed_two_and_one
    a = market.sellers[0]["id"]

    async def ids(**params):
        body = ok(await client.get("/admin/orders", params=params, headers=market.admin))
        return sorted(o["id"] for o in body["orders"])

    assert await ids() == sorted(orders.values())
    assert await ids(seller_id=a) == [orders[a]]
    assert await ids(status="pending", payment_status="authorized") == sorted(orders.values())
    assert await ids(fulfillment_status="fulfilled") == []
    assert await ids(q="shopper@") == sorted(orders.values())
    detail = ok(await client.get(f"/admin/orders/{orders[a]}", headers=market.admin))["order"]
    assert await ids(q=str(detail["display_id"])) == [orders[a]]
    assert await ids(region_id=market.region["id"], sales_channel_id=market.channel_id) == sorted(
        orders.values()
    )
    error(
        await client.get("/admin/orders", params={"total": "1"}, headers=market.admin),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'total'",
    )


async def test_complete_and_archive_rules(client, placed_two_and_one):
    market, _, orders = placed_two_and_one
    a, b = (s["id"] for s in market.sellers)
    error(
        await client.post(f"/admin/orders/{orders[a]}/archive", headers=market.admin),
        400,
        "invalid_data",
    )
    done = ok(await client.post(f"/admin/orders/{orders[a]}/complete", headers=market.admin))[
        "order"
    ]
    assert done["status"] == "completed"
    group = ok(await client.get(f"/admin/orders/{orders[a]}/order-group", headers=market.admin))
    assert group["order_group"]["status"] == "pending"  # sibling still pending
    archived = ok(await client.post(f"/admin/orders/{orders[a]}/archive", headers=market.admin))
    assert archived["order"]["status"] == "archived"
    ok(await client.post(f"/admin/orders/{orders[b]}/complete", headers=market.admin))
    group = ok(await client.get(f"/admin/orders/{orders[a]}/order-group", headers=market.admin))
    assert group["order_group"]["status"] == "completed"
    error(
        await client.post(f"/admin/orders/{orders[a]}/cancel", headers=market.admin),
        400,
        "invalid_data",
    )
    events = ok(
        await client.get("/admin/events", params={"resource_id": orders[a]}, headers=market.admin)
    )["events"]
    assert {"order.completed", "order.archived"} <= {e["name"] for e in events}


async def test_cancel_voids_share_releases_stock_and_keeps_siblings(
    client, app, placed_two_and_one
):
    market, _, orders = placed_two_and_one
    a, b = (s["id"] for s in market.sellers)
    canceled = ok(await client.post(f"/admin/orders/{orders[a]}/cancel", headers=market.admin))[
        "order"
    ]
    assert canceled["status"] == "canceled" and canceled["canceled_at"] is not None
    assert canceled["payment_status"] == "canceled"
    sibling = ok(await client.get(f"/admin/orders/{orders[b]}", headers=market.admin))["order"]
    assert sibling["status"] == "pending" and sibling["payment_status"] == "authorized"
    async with app.state.sessionmaker() as session:
        levels = {
            lvl.variant_id: lvl.reserved_quantity
            for lvl in await session.scalars(select(InventoryLevel))
        }
        reservations = list(await session.scalars(select(ReservationItem)))
    assert levels[market.variants[a][0]] == 0 and levels[market.variants[b][0]] == 1
    assert len(reservations) == 1
    error(
        await client.post(f"/admin/orders/{orders[a]}/cancel", headers=market.admin),
        400,
        "invalid_data",
        f"Order with id {orders[a]} has been canceled.",
    )
    error(
        await client.post(f"/admin/orders/{orders[a]}/complete", headers=market.admin),
        400,
        "invalid_data",
    )
    group = ok(await client.get(f"/admin/orders/{orders[a]}/order-group", headers=market.admin))
    assert group["order_group"]["status"] == "pending"
    assert group["order_group"]["payment_status"] == "authorized"


async def test_cancel_is_refused_while_a_fulfillment_is_active(client, placed_two_and_one):
    market, _, orders = placed_two_and_one
    a = market.sellers[0]["id"]
    order = ok(await client.get(f"/admin/orders/{orders[a]}", headers=market.admin))["order"]
    ok(
        await client.post(
            f"/admin/orders/{orders[a]}/fulfillments",
            json={"items": [{"id": order["items"][0]["id"], "quantity": 1}]},
            headers=market.admin,
        )
    )
    error(
        await client.post(f"/admin/orders/{orders[a]}/cancel", headers=market.admin),
        400,
        "not_allowed",
        "All fulfillments must be canceled before canceling an order",
    )


async def test_update_order_email_and_address(client, placed_two_and_one):
    market, _, orders = placed_two_and_one
    order_id = next(iter(orders.values()))
    updated = ok(
        await client.post(
            f"/admin/orders/{order_id}",
            json={
                "email": "new@example.com",
                "shipping_address": {"city": "Oslo", "country_code": "NO"},
            },
            headers=market.admin,
        )
    )["order"]
    assert updated["email"] == "new@example.com"
    assert updated["shipping_address"]["city"] == "Oslo"
    error(
        await client.post(f"/admin/orders/{order_id}", json={"total": 1}, headers=market.admin),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'total'",
    )


async def test_vendors_see_and_act_on_their_own_orders_only(client, placed_two_and_one):
    market, group, orders = placed_two_and_one
    a, b = (s["id"] for s in market.sellers)
    vendor_a = await member_headers(client, market, a, "staff@a.test")
    listed = ok(await client.get("/vendor/orders", headers=vendor_a))
    assert [o["id"] for o in listed["orders"]] == [orders[a]] and listed["count"] == 1
    vendor_b = await member_headers(client, market, b, "staff@b.test")
    listed_b = ok(await client.get("/vendor/orders", headers=vendor_b))  # same statement
    assert [o["id"] for o in listed_b["orders"]] == [orders[b]]
    assert "order_group_id" not in listed["orders"][0]
    error(
        await client.get("/vendor/orders", params={"seller_id": b}, headers=vendor_a),
        400,
        "invalid_data",
    )
    assert (
        ok(await client.get("/vendor/orders", params={"id": orders[b]}, headers=vendor_a))["count"]
        == 0
    )
    own = ok(await client.get(f"/vendor/orders/{orders[a]}", headers=vendor_a))["order"]
    assert own["id"] == orders[a] and "order_group_id" not in own
    assert own["payment_collections"][0]["amount"] == own["total"]  # its share, not the cart's
    assert group["id"] not in str(own)
    error(
        await client.get(
            f"/vendor/orders/{orders[a]}", params={"fields": "order_group_id"}, headers=vendor_a
        ),
        400,
        "invalid_data",
    )
    for method, path in [
        ("get", f"/vendor/orders/{orders[b]}"),
        ("post", f"/vendor/orders/{orders[b]}/cancel"),
        ("post", f"/vendor/orders/{orders[b]}/complete"),
    ]:
        error(
            await getattr(client, method)(path, headers=vendor_a),
            404,
            "not_found",
            f"Order with id {orders[b]} was not found",
        )
    sibling = ok(await client.get(f"/admin/orders/{orders[b]}", headers=market.admin))["order"]
    assert sibling["status"] == "pending"
    done = ok(await client.post(f"/vendor/orders/{orders[a]}/complete", headers=vendor_a))["order"]
    assert done["status"] == "completed"
    assert (await client.get("/vendor/orders", headers=market.admin)).status_code == 401

"""Vendor order-edit routes (order-changes.md §9, §11): a seller's member edits its own order with
the admin's bodies, rules and amounts; another seller's member gets 404 naming the order on every
route, and nothing moves (orders, stock, reservations, outbox)."""

from __future__ import annotations

from tests.api.edit_helpers import edits_world
from tests.api.helpers import error, ok


async def test_a_member_edits_its_order_and_the_other_seller_sees_nothing(
    client, app, admin_headers
):
    e = await edits_world(client, app, admin_headers)
    vendor_a = await e.member(e.a_seller, "staff@a.test")
    vendor_b = await e.member(e.b_seller, "staff@b.test")
    sibling = await e.sibling()
    as_a = {"headers": vendor_a, "prefix": "/vendor"}

    preview = await e.worked_edit(**as_a)
    assert preview["summary"]["current_order_total"] == 51.7
    assert preview["order_change"]["created_by"].startswith("mem_")
    assert "order_group" not in preview

    # Seller B's member: every route is a 404 naming the order; nothing changes.
    missing = f"Order with id {e.a} was not found"
    (update,) = [a for a in preview["order_change"]["actions"] if a["action"] == "ITEM_UPDATE"]
    as_b = {"headers": vendor_b, "prefix": "/vendor"}
    async with e.unchanged():
        error(
            await e.post("/vendor/order-edits", {"order_id": e.a}, vendor_b),
            404,
            "not_found",
            missing,
        )
        for method, tail, body in (
            ("POST", "/items", {"items": [{"variant_id": e.cap_variant, "quantity": 1}]}),
            ("POST", f"/items/item/{e.shirt}", {"quantity": 2}),
            ("POST", f"/items/{update['id']}", {"quantity": 2}),
            ("DELETE", f"/items/{update['id']}", None),
            ("POST", "/shipping-method", {"shipping_option_id": e.a_option}),
            ("POST", "/request", None),
            ("POST", "/confirm", None),
            ("DELETE", "", None),
        ):
            response = await e.edit(tail, body, method=method, **as_b)
            error(response, 404, "not_found", missing)
        # The admin route is not the vendor's either.
        error(await e.edit("/confirm", headers=vendor_a), 401, "unauthorized")

    ok(await e.edit("/request", **as_a))
    confirmed = ok(await e.edit("/confirm", **as_a))["order_preview"]
    assert confirmed["version"] == 2 and confirmed["summary"]["refund_due"] == 19.8
    order = ok(
        await client.get(
            f"/vendor/orders/{e.a}", headers=vendor_a, params={"fields": "summary,version"}
        )
    )["order"]
    assert order["summary"]["current_order_total"] == 51.7 and order["version"] == 2
    changes = ok(await client.get(f"/vendor/orders/{e.a}/changes", headers=vendor_a))
    assert [(c["change_type"], c["status"]) for c in changes["order_changes"]] == [
        ("edit", "confirmed")
    ]
    error(
        await client.get(f"/vendor/orders/{e.a}/changes", headers=vendor_b),
        404,
        "not_found",
        missing,
    )
    assert await e.stock(e.cap_variant) == (10, 1)
    assert await e.sibling() == sibling

    # A member cancels its own edit.
    await e.begin_edit(**as_a)
    deleted = ok(await e.edit(method="DELETE", **as_a))
    assert deleted == {"id": e.a, "object": "order-edit", "deleted": True}
    assert (await e.order(e.a))["order_changes"][-1]["status"] == "canceled"

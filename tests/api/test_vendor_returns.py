"""Vendor return routes (order-changes.md §11): a seller's member runs a whole return on its own
order with the admin's bodies and rules; another seller's order, return, lines, options or
change actions are 404s (or the item/option 400) and nothing moves; lists are scoped; credit
lines are the operator's."""

from __future__ import annotations

from tests.api.helpers import error, ok
from tests.api.return_helpers import setup


def _action(body: dict, kind: str) -> str:
    change = body["order_preview"]["order_change"]
    (action,) = [a["id"] for a in change["actions"] if a["action"] == kind]
    return action


async def test_a_member_runs_a_whole_return_on_its_sellers_order(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    await r.capture(r.a)
    vendor = await r.member(r.a_seller, "staff@a.test")
    shirt_variant = r.market.variants[r.a_seller][0]
    stock_before = await r.stock(shirt_variant)
    sibling_before = await r.order(r.b)

    begun = ok(await r.post("/vendor/returns", {"order_id": r.a}, vendor))
    ret = begun["return"]["id"]
    assert begun["return"]["status"] == "open"
    assert begun["return"]["location_id"] == r.market.sellers[0]["stock_location"]["id"]
    change = begun["order"]["order_change"]
    assert change["change_type"] == "return_request" and change["created_by"].startswith("mem_")

    base = f"/vendor/returns/{ret}"
    two = {"items": [{"id": r.shirt, "quantity": 2}]}
    preview = ok(await r.post(f"{base}/request-items", two, vendor))["order_preview"]
    assert preview["summary"]["return_requested_total"] == 66
    preview = ok(await r.post(f"{base}/shipping-method", {"shipping_option_id": r.option}, vendor))
    assert preview["order_preview"]["summary"]["pending_difference"] == -62.7
    previewed = ok(await client.get(f"/vendor/orders/{r.a}/preview", headers=vendor))["order"]
    assert previewed["summary"] == preview["order_preview"]["summary"]

    requested = ok(await r.post(f"{base}/request", {}, vendor))
    assert requested["return"]["status"] == "requested"
    assert requested["return"]["refund_amount"] == 62.7
    assert ok(await client.get(base, headers=vendor))["return"]["status"] == "requested"

    ok(await r.post(f"{base}/receive", {}, vendor))
    one = {"items": [{"id": r.shirt, "quantity": 1}]}
    ok(await r.post(f"{base}/receive-items", one, vendor))
    ok(await r.post(f"{base}/dismiss-items", one, vendor))
    received = ok(await r.post(f"{base}/receive/confirm", None, vendor))
    assert received["return"]["status"] == "received"
    assert received["return"]["items"][0]["damaged_quantity"] == 1
    assert await r.stock(shirt_variant) == (stock_before[0] + 1, stock_before[1])  # good unit

    order = await r.order(r.a)
    assert order["version"] == 3
    assert order["summary"]["refund_due"] == 62.7 and order["status"] == "requires_action"
    changes = ok(await client.get(f"/vendor/orders/{r.a}/changes", headers=vendor))
    assert [(c["change_type"], c["status"]) for c in changes["order_changes"]] == [
        ("return_request", "confirmed"),
        ("return_receive", "confirmed"),
    ]
    assert all(c["confirmed_by"].startswith("mem_") for c in changes["order_changes"])
    listed = ok(await client.get("/vendor/returns", headers=vendor))
    assert [x["id"] for x in listed["returns"]] == [ret] and listed["count"] == 1

    # The refund is the seller's too (orders.md vendor route), within the cap.
    refunded = ok(await r.post(f"/vendor/orders/{r.a}/refund", {}, vendor))["order"]
    assert refunded["summary"]["refunded_total"] == 62.7
    assert refunded["summary"]["pending_difference"] == 0
    assert await r.order(r.b) == sibling_before


async def test_a_member_cancels_its_own_requested_return(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    vendor = await r.member(r.a_seller, "staff@a.test")
    ret = await r.requested(1)
    canceled = ok(await r.post(f"/vendor/returns/{ret}/cancel", {}, vendor))["return"]
    assert canceled["status"] == "canceled"
    order = await r.order(r.a)
    assert order["summary"]["current_order_total"] == 84.7 and order["version"] == 3


async def test_another_sellers_order_return_and_actions_are_404s(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    await r.fulfil(r.b)
    vendor = await r.member(r.a_seller, "staff@a.test")
    b_option = ok(
        await r.post(
            "/admin/shipping-options",
            {
                "name": "Return to B",
                "seller_id": r.b_seller,
                "region_id": r.market.region["id"],
                "amount": 2,
                "is_return": True,
            },
        )
    )["shipping_option"]["id"]
    b_requested = await r.requested(1, r.mug)
    b_open = await r.begin(r.b)
    mug = {"items": [{"id": r.mug, "quantity": 1}]}
    b_action = _action(
        ok(
            await r.post(
                f"/admin/returns/{b_open}/shipping-method", {"shipping_option_id": b_option}
            )
        ),
        "SHIPPING_ADD",
    )
    own = ok(await r.post("/vendor/returns", {"order_id": r.a}, vendor))["return"]["id"]
    shirt = {"items": [{"id": r.shirt, "quantity": 1}]}

    async with r.unchanged(b_requested, b_open, own):
        # the order
        for response in (
            await r.post("/vendor/returns", {"order_id": r.b}, vendor),
            await client.get(f"/vendor/orders/{r.b}/preview", headers=vendor),
            await client.get(f"/vendor/orders/{r.b}/changes", headers=vendor),
            await client.get(f"/vendor/orders/{r.b}", headers=vendor),
        ):
            error(response, 404, "not_found", f"Order with id {r.b} was not found")
        # its returns, through every route
        for ret in (b_requested, b_open):
            base = f"/vendor/returns/{ret}"
            for method, path, body in (
                ("GET", "", None),
                ("POST", "", {}),
                ("POST", "/request-items", mug),
                ("POST", f"/shipping-method/{b_action}", {"custom_amount": 1}),
                ("DELETE", f"/shipping-method/{b_action}", None),
                ("POST", "/shipping-method", {"shipping_option_id": b_option}),
                ("POST", "/request", {}),
                ("DELETE", "/request", None),
                ("POST", "/receive", {}),
                ("POST", "/receive-items", mug),
                ("POST", "/dismiss-items", mug),
                ("POST", "/receive/confirm", None),
                ("DELETE", "/receive", None),
                ("POST", "/cancel", {}),
            ):
                response = await client.request(method, f"{base}{path}", json=body, headers=vendor)
                error(response, 404, "not_found", f"Return with id {ret} was not found")
        # B's action ids on A's own return
        for method, path, body in (
            ("POST", f"shipping-method/{b_action}", {"custom_amount": 1}),
            ("DELETE", f"shipping-method/{b_action}", None),
            ("DELETE", f"request-items/{b_action}", None),
        ):
            response = await client.request(
                method, f"/vendor/returns/{own}/{path}", json=body, headers=vendor
            )
            error(
                response, 404, "not_found", f"Order change action with id {b_action} was not found"
            )
        # B's lines and options on A's own return
        error(
            await r.post(f"/vendor/returns/{own}/request-items", mug, vendor),
            400,
            "invalid_data",
            f"Items with ids {r.mug} does not exist in order with id {r.a}.",
        )
        error(
            await r.post(
                f"/vendor/returns/{own}/shipping-method", {"shipping_option_id": b_option}, vendor
            ),
            400,
            "invalid_data",
            f"Shipping option {b_option} belongs to seller {r.b_seller}, not to seller "
            f"{r.a_seller} of order {r.a}",
        )
    # A's own return still works after all that
    ok(await r.post(f"/vendor/returns/{own}/request-items", shirt, vendor))


async def test_the_vendor_list_holds_only_the_sellers_returns(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    await r.fulfil(r.b)
    vendor = await r.member(r.a_seller, "staff@a.test")
    own = await r.requested(1)
    await r.requested(1, r.mug)
    listed = ok(await client.get("/vendor/returns", headers=vendor))
    assert [x["id"] for x in listed["returns"]] == [own] and listed["count"] == 1
    assert all(x["seller_id"] == r.a_seller for x in listed["returns"])
    by_order = ok(await client.get("/vendor/returns", params={"order_id": r.b}, headers=vendor))
    assert by_order["returns"] == [] and by_order["count"] == 0
    admin = ok(await client.get("/admin/returns", headers=r.admin))
    assert admin["count"] == 2
    error(
        await client.get("/vendor/returns", params={"seller_id": r.a_seller}, headers=vendor),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'seller_id'",
    )


async def test_vendors_cannot_create_credit_lines(client, app, place_group):
    r = await setup(client, app, place_group)
    vendor = await r.member(r.a_seller, "staff@a.test")
    body = {"amount": 1, "reference": "goodwill", "reference_id": "t-1"}
    async with r.unchanged():
        # No vendor route: the app's unknown-route 404.
        error(
            await r.post(f"/vendor/orders/{r.a}/credit-lines", body, vendor),
            404,
            "not_found",
            f"Route /vendor/orders/{r.a}/credit-lines was not found",
        )
        # The admin route refuses a member's token.
        error(
            await r.post(f"/admin/orders/{r.a}/credit-lines", body, vendor),
            401,
            "unauthorized",
            "Unauthorized",
        )

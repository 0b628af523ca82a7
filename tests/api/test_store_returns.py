"""``POST /store/returns`` (order-changes.md §10): a customer's return, created and requested in
one transaction, on the worked example of §16 (seller A's order of 2 × Shirt 30.00 at 10 % tax,
fully captured, returned with A's 3.00 return option)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.api.cart_helpers import customer_headers
from tests.api.checkout_helpers import (
    Marketplace,
    build_marketplace,
    cart_with_items,
    complete,
    pay,
)
from tests.api.helpers import error, ok

URL = "/store/returns"


@dataclass
class Setup:
    market: Marketplace
    shopper: dict[str, str]  # publishable key + the customer's token
    a: str  # seller A's order (the customer's)
    b: str  # seller B's order, its sibling
    shirt: str  # the Shirt line of order A
    option: str  # A's return option, 3.00
    shipping: str  # A's ordinary shipping option

    def body(self, quantity: int = 1, **extra: Any) -> dict[str, Any]:
        return {
            "order_id": self.a,
            "items": [{"id": self.shirt, "quantity": quantity}],
            "return_shipping": {"option_id": self.option},
            **extra,
        }


async def _setup(client, admin_headers) -> Setup:
    market = await build_marketplace(client, admin_headers, sellers=2, prices=(30,), shipping=5)
    a_seller, b_seller = (s["id"] for s in market.sellers)
    token = await customer_headers(client, market.store, "returner@example.com")
    items = [(market.variants[a_seller][0], 2), (market.variants[b_seller][0], 1)]
    cart = await cart_with_items(client, market, items, headers=token)
    await pay(client, market, cart["id"], headers=token)
    group = ok(await complete(client, market, cart["id"], headers=token))["order_group"]
    orders = {o["seller_id"]: o["id"] for o in group["orders"]}
    a, b = orders[a_seller], orders[b_seller]
    h = market.admin
    order_a = ok(await client.get(f"/admin/orders/{a}", headers=h))["order"]
    shirt = order_a["items"][0]["id"]
    ok(
        await client.post(
            f"/admin/orders/{a}/fulfillments",
            headers=h,
            json={"items": [{"id": shirt, "quantity": 2}]},
        )
    )
    ok(await client.post(f"/admin/orders/{a}/capture", headers=h, json={}))
    option = ok(
        await client.post(
            "/admin/shipping-options",
            headers=h,
            json={
                "name": "Return to A",
                "seller_id": a_seller,
                "region_id": market.region["id"],
                "amount": 3,
                "is_return": True,
            },
        )
    )["shipping_option"]["id"]
    shopper = {**market.store, **token}
    return Setup(market, shopper, a, b, shirt, option, market.options[a_seller])


async def _returns(client, setup: Setup) -> list[dict]:
    return ok(
        await client.get("/admin/returns", params={"order_id": setup.a}, headers=setup.market.admin)
    )["returns"]


async def _order(client, setup: Setup, order_id: str) -> dict:
    return ok(await client.get(f"/admin/orders/{order_id}", headers=setup.market.admin))["order"]


async def _nothing_changed(client, setup: Setup) -> None:
    """No return, no change, the order as placed: a refused request leaves nothing."""
    assert await _returns(client, setup) == []
    changes = ok(await client.get(f"/admin/orders/{setup.a}/changes", headers=setup.market.admin))[
        "order_changes"
    ]
    assert changes == []
    order = await _order(client, setup, setup.a)
    assert order["version"] == 1 and order["summary"]["current_order_total"] == 71.5


async def test_a_customer_returns_an_item_to_the_cent(client, admin_headers):
    setup = await _setup(client, admin_headers)
    h = setup.market.admin
    sibling_before = await _order(client, setup, setup.b)
    reason = ok(
        await client.post(
            "/admin/return-reasons", headers=h, json={"value": "too_small", "label": "Too small"}
        )
    )["return_reason"]["id"]
    body = setup.body(note="Please pick it up")
    body["items"][0] |= {"reason_id": reason, "note": "Runs small"}

    ret = ok(await client.post(URL, headers=setup.shopper, json=body))["return"]

    assert ret["order_id"] == setup.a and ret["status"] == "requested"
    assert ret["refund_amount"] == 29.7
    assert ret["requested_at"] is not None
    assert [
        (i["item_id"], i["quantity"], i["received_quantity"], i["reason_id"], i["note"])
        for i in ret["items"]
    ] == [(setup.shirt, 1, 0, reason, "Runs small")]
    [method] = ret["shipping_methods"]
    assert method["shipping_option_id"] == setup.option
    assert (method["amount"], method["total"]) == (3, 3.3)
    assert not {"created_by", "no_notification", "metadata"} & set(ret)

    order = await _order(client, setup, setup.a)
    assert order["version"] == 2
    summary = order["summary"]
    assert summary["current_order_total"] == 41.8
    assert summary["return_requested_total"] == 33
    assert summary["pending_difference"] == -29.7
    assert summary["refund_due"] == 0
    [change] = ok(await client.get(f"/admin/orders/{setup.a}/changes", headers=h))["order_changes"]
    assert (change["change_type"], change["status"]) == ("return_request", "confirmed")
    assert change["description"] == "Please pick it up"
    events = ok(
        await client.get("/admin/events", params={"name": "order.return_requested"}, headers=h)
    )["events"]
    assert len(events) == 1
    assert await _order(client, setup, setup.b) == sibling_before

    # The operator receives it as any requested return.
    ok(await client.post(f"/admin/returns/{ret['id']}/receive", headers=h))
    ok(
        await client.post(
            f"/admin/returns/{ret['id']}/receive-items",
            headers=h,
            json={"items": [{"id": setup.shirt, "quantity": 1}]},
        )
    )
    ok(await client.post(f"/admin/returns/{ret['id']}/receive/confirm", headers=h))
    assert (await _order(client, setup, setup.a))["summary"]["refund_due"] == 29.7


async def test_the_response_takes_fields(client, admin_headers):
    setup = await _setup(client, admin_headers)
    # A field the store may not read is refused before anything is created.
    error(
        await client.post(
            URL, params={"fields": "created_by"}, headers=setup.shopper, json=setup.body()
        ),
        400,
        "invalid_data",
        "Requested fields [created_by] are not valid",
    )
    await _nothing_changed(client, setup)
    ret = ok(
        await client.post(
            URL,
            params={"fields": "id,status,items.reason.label"},
            headers=setup.shopper,
            json=setup.body(),
        )
    )["return"]
    assert set(ret) == {"id", "status", "items"}
    [item] = ret["items"]
    assert set(item) == {"id", "reason"} and item["reason"] is None


async def test_only_the_customers_own_order(client, admin_headers):
    setup = await _setup(client, admin_headers)
    stranger = await customer_headers(client, setup.market.store, "stranger@example.com")
    error(
        await client.post(URL, headers={**setup.market.store, **stranger}, json=setup.body()),
        404,
        "not_found",
        f"Order with id {setup.a} was not found",
    )
    unknown = {**setup.body(), "order_id": "order_missing"}
    error(
        await client.post(URL, headers=setup.shopper, json=unknown),
        404,
        "not_found",
        "Order with id order_missing was not found",
    )
    error(
        await client.post(URL, headers=setup.market.store, json=setup.body()),
        401,
        "unauthorized",
    )
    await _nothing_changed(client, setup)


async def test_a_guest_order_is_returned_by_the_operator_only(client, admin_headers):
    market = await build_marketplace(client, admin_headers, sellers=1)
    cart = await cart_with_items(client, market, [(market.variants[market.sellers[0]["id"]][0], 1)])
    await pay(client, market, cart["id"])
    order = ok(await complete(client, market, cart["id"]))["order_group"]["orders"][0]
    shopper = await customer_headers(client, market.store, "someone@example.com")
    body = {
        "order_id": order["id"],
        "items": [{"id": "line_x", "quantity": 1}],
        "return_shipping": {"option_id": "so_x"},
    }
    error(
        await client.post(URL, headers={**market.store, **shopper}, json=body),
        404,
        "not_found",
        f"Order with id {order['id']} was not found",
    )


async def test_medusas_store_only_fields_are_refused(client, admin_headers):
    setup = await _setup(client, admin_headers)
    body = setup.body()
    for extra, field in [
        ({"receive_now": True}, "receive_now"),
        ({"location_id": "sloc_x"}, "location_id"),
        ({"return_shipping": {"option_id": setup.option, "price": 0}}, "return_shipping.price"),
    ]:
        error(
            await client.post(URL, headers=setup.shopper, json={**body, **extra}),
            400,
            "not_allowed",
            f"{field} cannot be set from the store",
        )
    # Any other unknown field stays the ordinary validation error.
    response = await client.post(URL, headers=setup.shopper, json={**body, "refund": True})
    assert error(response, 400, "invalid_data") != "refund cannot be set from the store"
    await _nothing_changed(client, setup)


async def test_the_rules_of_a_request_hold_and_leave_nothing(client, admin_headers):
    setup = await _setup(client, admin_headers)
    error(
        await client.post(
            URL,
            headers=setup.shopper,
            json={**setup.body(), "return_shipping": {"option_id": setup.shipping}},
        ),
        400,
        "invalid_data",
        f"Shipping option {setup.shipping} is not a return option",
    )
    error(
        await client.post(URL, headers=setup.shopper, json=setup.body(quantity=3)),
        400,
        "invalid_data",
        f"Cannot request to return more items than what was fulfilled for item {setup.shirt}.",
    )
    error(
        await client.post(
            URL,
            headers=setup.shopper,
            json={**setup.body(), "items": [{"id": "line_nope", "quantity": 1}]},
        ),
        400,
        "invalid_data",
        f"Items with ids line_nope does not exist in order with id {setup.a}.",
    )
    body = setup.body()
    body["items"][0]["reason_id"] = "rr_nope"
    error(
        await client.post(URL, headers=setup.shopper, json=body),
        400,
        "invalid_data",
        "Return reason with id rr_nope does not exists.",
    )
    error(
        await client.post(
            URL,
            headers=setup.shopper,
            json={**setup.body(), "return_shipping": {"option_id": "so_x"}},
        ),
        404,
        "not_found",
        "Shipping option with id so_x was not found",
    )
    await _nothing_changed(client, setup)

    # Both units once, then nothing is left to return.
    ok(await client.post(URL, headers=setup.shopper, json=setup.body(quantity=2)))
    error(
        await client.post(URL, headers=setup.shopper, json=setup.body()),
        400,
        "invalid_data",
        f"Cannot request to return more items than what was fulfilled for item {setup.shirt}.",
    )


async def test_an_active_change_blocks_a_store_return(client, admin_headers):
    setup = await _setup(client, admin_headers)
    begun = ok(
        await client.post("/admin/returns", headers=setup.market.admin, json={"order_id": setup.a})
    )
    change = begun["order"]["order_change"]["id"]
    error(
        await client.post(URL, headers=setup.shopper, json=setup.body()),
        400,
        "invalid_data",
        f"Order ({setup.a}) already has an existing active order change: {change} (return_request)",
    )
    assert [r["status"] for r in await _returns(client, setup)] == ["open"]


async def test_idempotency_key_replays_the_return(client, admin_headers):
    setup = await _setup(client, admin_headers)
    headers = {**setup.shopper, "Idempotency-Key": "return-1"}
    first = await client.post(URL, headers=headers, json=setup.body())
    again = await client.post(URL, headers=headers, json=setup.body())
    assert ok(again) == ok(first)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(await _returns(client, setup)) == 1
    error(
        await client.post(URL, headers=headers, json=setup.body(quantity=2)),
        400,
        "invalid_data",
        "Idempotency-Key return-1 was already used for a different request",
    )
    assert len(await _returns(client, setup)) == 1
    events = ok(
        await client.get(
            "/admin/events", params={"name": "order.return_requested"}, headers=setup.market.admin
        )
    )["events"]
    assert len(events) == 1

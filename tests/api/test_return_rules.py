"""Every error of order-changes.md §15 that applies to returns, credit lines and refunds, over
HTTP: its exact status, type and message, and that nothing changed — both orders (returns,
changes, credit lines, summary, version, lines), the returns, every inventory level and the
outbox are the same after the refused request as before it."""

from __future__ import annotations

from tests.api.helpers import create_region, error, ok
from tests.api.return_helpers import NO_ACTIVE_CHANGE, Returns, setup


def _actions(body: dict, kind: str) -> list[str]:
    """Ids of the ``kind`` actions of the preview's active change."""
    change = body["order_preview"]["order_change"]
    return [a["id"] for a in change["actions"] if a["action"] == kind]


async def _changes(r: Returns, order_id: str) -> list[dict]:
    return ok(await r.client.get(f"/admin/orders/{order_id}/changes", headers=r.admin))[
        "order_changes"
    ]


async def _active_change(r: Returns, order_id: str) -> str:
    (change,) = [c for c in await _changes(r, order_id) if c["status"] == "pending"]
    return change["id"]


async def _credit_line(r: Returns, order_id: str, amount: float, **headers: str):
    body = {"amount": amount, "reference": "goodwill", "reference_id": "ticket-1"}
    return await r.post(f"/admin/orders/{order_id}/credit-lines", body, headers or None)


# --------------------------------------------------------------------------- unknown ids


async def test_unknown_returns_orders_and_options_are_404s(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    ret = await r.begin()
    items = {"items": [{"id": r.shirt, "quantity": 1}]}
    nope = "/admin/returns/return_nope"
    calls = [
        ("GET", nope, None),
        ("POST", nope, {}),
        ("POST", f"{nope}/request-items", items),
        ("POST", f"{nope}/request-items/ordchact_nope", {"quantity": 1}),
        ("DELETE", f"{nope}/request-items/ordchact_nope", None),
        ("POST", f"{nope}/shipping-method", {"shipping_option_id": r.option}),
        ("POST", f"{nope}/request", {}),
        ("DELETE", f"{nope}/request", None),
        ("POST", f"{nope}/receive", {}),
        ("POST", f"{nope}/receive-items", items),
        ("POST", f"{nope}/dismiss-items", items),
        ("POST", f"{nope}/receive/confirm", None),
        ("DELETE", f"{nope}/receive", None),
        ("POST", f"{nope}/cancel", {}),
    ]
    async with r.unchanged(ret):
        for method, path, body in calls:
            response = await client.request(method, path, json=body, headers=r.admin)
            error(response, 404, "not_found", "Return with id return_nope was not found")
        for response in (
            await r.post("/admin/returns", {"order_id": "order_nope"}),
            await _credit_line(r, "order_nope", 1),
            await client.get("/admin/orders/order_nope/preview", headers=r.admin),
            await client.get("/admin/orders/order_nope/changes", headers=r.admin),
            await r.post("/admin/orders/order_nope/refund", {"amount": 1}),
        ):
            error(response, 404, "not_found", "Order with id order_nope was not found")
        error(
            await r.post(f"/admin/returns/{ret}/shipping-method", {"shipping_option_id": "so_x"}),
            404,
            "not_found",
            "Shipping option with id so_x was not found",
        )


# --------------------------------------------------------------------------- order state


async def test_a_canceled_order_takes_no_return_and_no_credit_line(client, app, place_group):
    r = await setup(client, app, place_group)
    fulfillment = await r.fulfil(r.a)
    ret = await r.requested(1)
    ok(await r.post(f"/admin/returns/{ret}/cancel", {}))
    ok(await r.post(f"/admin/orders/{r.a}/fulfillments/{fulfillment}/cancel", {}))
    ok(await r.post(f"/admin/orders/{r.a}/cancel"))
    canceled = f"Order with id {r.a} has been canceled."
    async with r.unchanged(ret):
        for response in (
            await r.post("/admin/returns", {"order_id": r.a}),
            await r.post(f"/admin/returns/{ret}/receive"),
            await r.post(f"/admin/returns/{ret}/cancel", {}),
            await _credit_line(r, r.a, -1),
        ):
            error(response, 400, "invalid_data", canceled)


async def test_an_archived_order_takes_no_change(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    await r.capture(r.a)
    ret = await r.requested(1)  # in transit: nothing to refund yet, the order is not held
    ok(await r.post(f"/admin/orders/{r.a}/complete"))
    ok(await r.post(f"/admin/orders/{r.a}/archive"))
    archived = f"Order with id {r.a} has been archived."
    async with r.unchanged(ret):
        for response in (
            await r.post("/admin/returns", {"order_id": r.a}),
            await r.post(f"/admin/returns/{ret}/receive"),
            await r.post(f"/admin/returns/{ret}/cancel", {}),
            await r.post(
                f"/admin/returns/{ret}/request-items", {"items": [{"id": r.cap, "quantity": 1}]}
            ),
            await _credit_line(r, r.a, -1),
        ):
            error(response, 400, "invalid_data", archived)


# --------------------------------------------------------------------------- one active change


async def test_an_active_return_blocks_every_other_change_of_its_order(client, app, place_group):
    r = await setup(client, app, place_group)
    fulfillment = await r.fulfil(r.a, [(r.shirt, 2)])  # the Cap stays unfulfilled
    first = await r.requested(1)
    second = await r.begin()
    active = await _active_change(r, r.a)
    busy = f"Order ({r.a}) already has an existing active order change: {active} (return_request)"
    async with r.unchanged(first, second):
        for response in (
            await r.post("/admin/returns", {"order_id": r.a}),
            await r.post(f"/admin/returns/{first}/receive"),
            await r.post(f"/admin/returns/{first}/cancel", {}),
            await _credit_line(r, r.a, -1),
            await r.post(
                f"/admin/orders/{r.a}/fulfillments", {"items": [{"id": r.cap, "quantity": 1}]}
            ),
            await r.post(f"/admin/orders/{r.a}/fulfillments/{fulfillment}/cancel", {}),
        ):
            error(response, 400, "invalid_data", busy)

    # A receipt in progress blocks the same way, naming its own type.
    ok(await client.delete(f"/admin/returns/{second}/request", headers=r.admin))
    ok(await r.post(f"/admin/returns/{first}/receive"))
    receiving = await _active_change(r, r.a)
    busy = (
        f"Order ({r.a}) already has an existing active order change: {receiving} (return_receive)"
    )
    async with r.unchanged(first):
        for response in (
            await r.post("/admin/returns", {"order_id": r.a}),
            await r.post(f"/admin/returns/{first}/cancel", {}),
        ):
            error(response, 400, "invalid_data", busy)

    # Order cancel is refused too (B has no fulfilment, so only the change stands in the way).
    on_b = await r.begin(r.b)
    active_b = await _active_change(r, r.b)
    async with r.unchanged(first, on_b):
        error(
            await r.post(f"/admin/orders/{r.b}/cancel"),
            400,
            "invalid_data",
            f"Order ({r.b}) already has an existing active order change: {active_b} "
            "(return_request)",
        )


async def test_routes_needing_the_active_change_refuse_without_it(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    ret = await r.requested(1)
    items = {"items": [{"id": r.shirt, "quantity": 1}]}
    async with r.unchanged(ret):
        for method, path, body in (
            ("POST", "request", {}),  # requested twice
            ("POST", "request-items", items),
            ("POST", "shipping-method", {"shipping_option_id": r.option}),
            ("DELETE", "request", None),
            ("POST", "receive-items", items),  # no receipt begun
            ("POST", "dismiss-items", items),
            ("POST", "receive/confirm", None),
            ("DELETE", "receive", None),
        ):
            response = await client.request(
                method, f"/admin/returns/{ret}/{path}", json=body, headers=r.admin
            )
            error(response, 400, "invalid_data", NO_ACTIVE_CHANGE)

    await r.receive(ret, 1)
    async with r.unchanged(ret):
        error(
            await r.post(f"/admin/returns/{ret}/receive/confirm"),  # confirmed twice
            400,
            "invalid_data",
            NO_ACTIVE_CHANGE,
        )

    # The order's active change belongs to another return.
    other = await r.begin()
    async with r.unchanged(ret, other):
        for response in (
            await r.post(f"/admin/returns/{ret}/request-items", items),
            await r.post(f"/admin/returns/{other}/receive-items", items),
            await r.post(f"/admin/returns/{other}/receive/confirm"),
        ):
            error(response, 400, "invalid_data", NO_ACTIVE_CHANGE)


async def test_an_action_of_another_change_or_kind_is_a_404(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    first = await r.requested(1)
    (confirmed,) = [
        a["id"]
        for c in await _changes(r, r.a)
        for a in c["actions"]
        if a["action"] == "RETURN_ITEM"
    ]
    ret = await r.begin()
    body = ok(
        await r.post(
            f"/admin/returns/{ret}/request-items", {"items": [{"id": r.shirt, "quantity": 1}]}
        )
    )
    (item,) = _actions(body, "RETURN_ITEM")
    body = ok(
        await r.post(f"/admin/returns/{ret}/shipping-method", {"shipping_option_id": r.option})
    )
    (shipping,) = _actions(body, "SHIPPING_ADD")

    def missing(action_id: str) -> str:
        return f"Order change action with id {action_id} was not found"

    base = f"/admin/returns/{ret}"
    async with r.unchanged(first, ret):
        for method, path, body, action_id in (
            ("POST", f"request-items/{shipping}", {"quantity": 1}, shipping),
            ("DELETE", f"request-items/{shipping}", None, shipping),
            ("POST", f"shipping-method/{item}", {"custom_amount": 1}, item),
            ("DELETE", f"shipping-method/{item}", None, item),
            ("POST", f"request-items/{confirmed}", {"quantity": 1}, confirmed),
            ("DELETE", f"request-items/{confirmed}", None, confirmed),
            ("DELETE", "request-items/ordchact_nope", None, "ordchact_nope"),
            ("DELETE", f"receive-items/{item}", None, item),
        ):
            response = await client.request(method, f"{base}/{path}", json=body, headers=r.admin)
            error(response, 404, "not_found", missing(action_id))

    ok(await r.post(f"{base}/request"))
    ok(await r.post(f"{base}/receive"))
    one = {"items": [{"id": r.shirt, "quantity": 1}]}
    (good,) = _actions(ok(await r.post(f"{base}/receive-items", one)), "RECEIVE_RETURN_ITEM")
    ok(await client.delete(f"{base}/receive-items/{good}", headers=r.admin))
    (bad,) = _actions(ok(await r.post(f"{base}/dismiss-items", one)), "RECEIVE_DAMAGED_RETURN_ITEM")
    async with r.unchanged(first, ret):
        for method, path, body, action_id in (
            ("POST", f"receive-items/{bad}", {"quantity": 1}, bad),
            ("DELETE", f"receive-items/{bad}", None, bad),
            ("POST", f"dismiss-items/{good}", {"quantity": 1}, good),  # removed above
            ("POST", f"dismiss-items/{item}", {"quantity": 1}, item),  # the request's
            ("POST", f"receive-items/{confirmed}", {"quantity": 1}, confirmed),
        ):
            response = await client.request(method, f"{base}/{path}", json=body, headers=r.admin)
            error(response, 404, "not_found", missing(action_id))


# --------------------------------------------------------------------------- items


async def test_items_must_be_the_orders_and_the_returns(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    await r.fulfil(r.b)
    ret = await r.begin()
    async with r.unchanged(ret):
        error(
            await r.post(
                f"/admin/returns/{ret}/request-items", {"items": [{"id": r.mug, "quantity": 1}]}
            ),
            400,
            "invalid_data",
            f"Items with ids {r.mug} does not exist in order with id {r.a}.",
        )
        error(
            await r.post(
                f"/admin/returns/{ret}/request-items",
                {
                    "items": [
                        {"id": r.shirt, "quantity": 1},
                        {"id": r.mug, "quantity": 1},
                        {"id": "ordli_nope", "quantity": 1},
                    ]
                },
            ),
            400,
            "invalid_data",
            f"Items with ids {r.mug}, ordli_nope does not exist in order with id {r.a}.",
        )
    ok(
        await r.post(
            f"/admin/returns/{ret}/request-items", {"items": [{"id": r.shirt, "quantity": 1}]}
        )
    )
    ok(await r.post(f"/admin/returns/{ret}/request"))
    ok(await r.post(f"/admin/returns/{ret}/receive"))
    async with r.unchanged(ret):
        for path, line in (("receive-items", r.cap), ("dismiss-items", r.mug)):
            error(
                await r.post(
                    f"/admin/returns/{ret}/{path}", {"items": [{"id": line, "quantity": 1}]}
                ),
                400,
                "invalid_data",
                f"Items with ids {line} does not exist in Return with id {ret}.",
            )


async def test_only_fulfilled_units_not_yet_returned_can_be_requested(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a, [(r.shirt, 1)])  # 1 of 2 Shirts; the Cap unfulfilled

    def too_many(line: str) -> str:
        return f"Cannot request to return more items than what was fulfilled for item {line}."

    ret = await r.begin()
    path = f"/admin/returns/{ret}/request-items"
    async with r.unchanged(ret):
        for items, line in (
            ([(r.shirt, 2)], r.shirt),
            ([(r.cap, 1)], r.cap),
            ([(r.shirt, 1), (r.shirt, 1)], r.shirt),  # summed per line
        ):
            body = {"items": [{"id": i, "quantity": q} for i, q in items]}
            error(await r.post(path, body), 400, "invalid_data", too_many(line))
    (action,) = _actions(
        ok(await r.post(path, {"items": [{"id": r.shirt, "quantity": 1}]})), "RETURN_ITEM"
    )
    async with r.unchanged(ret):
        # the change's own pending units count
        error(
            await r.post(path, {"items": [{"id": r.shirt, "quantity": 1}]}),
            400,
            "invalid_data",
            too_many(r.shirt),
        )
        error(
            await r.post(f"{path}/{action}", {"quantity": 2}),
            400,
            "invalid_data",
            too_many(r.shirt),
        )
    ok(await r.post(f"/admin/returns/{ret}/request"))

    # the units of a requested return are no longer free
    second = await r.begin()
    async with r.unchanged(ret, second):
        error(
            await r.post(
                f"/admin/returns/{second}/request-items",
                {"items": [{"id": r.shirt, "quantity": 1}]},
            ),
            400,
            "invalid_data",
            too_many(r.shirt),
        )


async def test_receipts_never_exceed_the_requested_units(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    ret = await r.requested(2)
    too_many = (
        f"Cannot receive more items than what was requested to be returned for item {r.shirt}."
    )
    base = f"/admin/returns/{ret}"

    def units(*quantities: int) -> dict:
        return {"items": [{"id": r.shirt, "quantity": q} for q in quantities]}

    ok(await r.post(f"{base}/receive"))
    async with r.unchanged(ret):
        error(await r.post(f"{base}/receive-items", units(3)), 400, "invalid_data", too_many)
        error(await r.post(f"{base}/dismiss-items", units(1, 2)), 400, "invalid_data", too_many)
    ok(await r.post(f"{base}/receive-items", units(1)))
    async with r.unchanged(ret):  # good and damaged units share the requested quantity
        error(await r.post(f"{base}/dismiss-items", units(2)), 400, "invalid_data", too_many)
    ok(await r.post(f"{base}/receive/confirm"))

    # second round: one unit left
    ok(await r.post(f"{base}/receive"))
    async with r.unchanged(ret):
        error(await r.post(f"{base}/receive-items", units(2)), 400, "invalid_data", too_many)
    (action,) = _actions(
        ok(await r.post(f"{base}/dismiss-items", units(1))), "RECEIVE_DAMAGED_RETURN_ITEM"
    )
    async with r.unchanged(ret):
        error(
            await r.post(f"{base}/dismiss-items/{action}", {"quantity": 2}),
            400,
            "invalid_data",
            too_many,
        )
    ok(await r.post(f"{base}/receive/confirm"))
    assert (await r.get_return(ret))["status"] == "received"
    async with r.unchanged(ret):
        error(
            await r.post(f"{base}/receive"),
            400,
            "not_allowed",
            f"Return {ret} is received and cannot be received",
        )


async def test_only_a_requested_return_can_be_received(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    canceled = await r.requested(1)
    ok(await r.post(f"/admin/returns/{canceled}/cancel", {}))
    opened = await r.begin()
    ok(
        await r.post(
            f"/admin/returns/{opened}/request-items", {"items": [{"id": r.shirt, "quantity": 1}]}
        )
    )
    async with r.unchanged(canceled, opened):
        for ret, status in ((opened, "open"), (canceled, "canceled")):
            error(
                await r.post(f"/admin/returns/{ret}/receive"),
                400,
                "not_allowed",
                f"Return {ret} is {status} and cannot be received",
            )


async def test_quantities_and_amounts_are_validated_naming_the_field(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    ret = await r.begin()
    path = f"/admin/returns/{ret}/request-items"
    async with r.unchanged(ret):
        for body, message in (
            (
                {"items": [{"id": r.shirt, "quantity": 0}]},
                "Invalid request: items.0.quantity: Input should be greater than or equal to 1",
            ),
            (
                {"items": [{"id": r.shirt, "quantity": 1.5}]},
                "Invalid request: items.0.quantity: Input should be a valid integer",
            ),
            (
                {"items": []},
                "Invalid request: items: List should have at least 1 item after validation, not 0",
            ),
        ):
            error(await r.post(path, body), 400, "invalid_data", message)
        error(
            await _credit_line(r, r.b, 1.001),
            400,
            "invalid_data",
            "Invalid request: amount: 1.001 has more decimals than usd allows (2)",
        )


# --------------------------------------------------------------------------- reasons, request


async def test_return_reasons_must_exist_and_have_no_children(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    parent = ok(await r.post("/admin/return-reasons", {"value": "quality", "label": "Quality"}))[
        "return_reason"
    ]["id"]
    child = ok(
        await r.post(
            "/admin/return-reasons",
            {"value": "torn", "label": "Torn", "parent_return_reason_id": parent},
        )
    )["return_reason"]["id"]
    unknown = "Return reason with id rr_nope does not exists."
    nested = (
        f"Cannot apply return reason with id {parent} to order with id {r.a}. "
        "Return reason has nested reasons."
    )
    ret = await r.begin()
    path = f"/admin/returns/{ret}/request-items"

    def item(reason: str) -> dict:
        return {"items": [{"id": r.shirt, "quantity": 1, "reason_id": reason}]}

    async with r.unchanged(ret):
        error(await r.post(path, item("rr_nope")), 400, "invalid_data", unknown)
        error(await r.post(path, item(parent)), 400, "invalid_data", nested)
    (action,) = _actions(ok(await r.post(path, item(child))), "RETURN_ITEM")
    async with r.unchanged(ret):
        error(
            await r.post(f"{path}/{action}", {"reason_id": "rr_nope"}), 400, "invalid_data", unknown
        )
        error(await r.post(f"{path}/{action}", {"reason_id": parent}), 400, "invalid_data", nested)
    returned = ok(await r.post(f"/admin/returns/{ret}/request"))["return"]
    assert [i["reason_id"] for i in returned["items"]] == [child]


async def test_a_request_needs_an_item(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    ret = await r.begin()
    empty = "Order return request should have at least 1 item"
    async with r.unchanged(ret):
        error(await r.post(f"/admin/returns/{ret}/request"), 400, "invalid_data", empty)
    ok(await r.post(f"/admin/returns/{ret}/shipping-method", {"shipping_option_id": r.option}))
    async with r.unchanged(ret):  # a shipping method alone is not an item
        error(await r.post(f"/admin/returns/{ret}/request", {}), 400, "invalid_data", empty)


async def test_the_location_is_the_sellers(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    a_location, b_location = (s["stock_location"]["id"] for s in r.market.sellers)
    foreign = f"Location {b_location} is not the stock location of seller {r.a_seller}"
    async with r.unchanged():
        error(
            await r.post("/admin/returns", {"order_id": r.a, "location_id": b_location}),
            400,
            "invalid_data",
            foreign,
        )
    ret = await r.begin()
    async with r.unchanged(ret):
        error(
            await r.post(f"/admin/returns/{ret}", {"location_id": b_location}),
            400,
            "invalid_data",
            foreign,
        )
    returned = ok(await r.post(f"/admin/returns/{ret}", {"location_id": a_location}))["return"]
    assert returned["location_id"] == a_location


async def test_return_shipping_is_the_sellers_return_option_in_the_region(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    region = r.market.region["id"]

    async def option(seller_id: str, region_id: str, *, is_return: bool = True) -> str:
        body = {
            "name": "Return",
            "seller_id": seller_id,
            "region_id": region_id,
            "amount": 2,
            "is_return": is_return,
        }
        return ok(await r.post("/admin/shipping-options", body))["shipping_option"]["id"]

    other_region = (
        await create_region(client, r.admin, name="Europe", currency_code="eur", tax_rate=20)
    )["id"]
    b_return = await option(r.b_seller, region)
    far = await option(r.a_seller, other_region)
    outbound = r.market.options[r.a_seller]
    ret = await r.begin()
    path = f"/admin/returns/{ret}/shipping-method"
    async with r.unchanged(ret):
        for shipping_option, message in (
            (
                b_return,
                f"Shipping option {b_return} belongs to seller {r.b_seller}, not to seller "
                f"{r.a_seller} of order {r.a}",
            ),
            (far, f"Shipping option {far} is not available in region {region}"),
            (outbound, f"Shipping option {outbound} is not a return option"),
        ):
            error(
                await r.post(path, {"shipping_option_id": shipping_option}),
                400,
                "invalid_data",
                message,
            )


# --------------------------------------------------------------------------- cancel


async def test_cancel_needs_a_requested_return_without_received_units(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    opened = await r.begin()
    async with r.unchanged(opened):
        error(
            await r.post(f"/admin/returns/{opened}/cancel", {}),
            400,
            "not_allowed",
            f"Return {opened} has not been requested; use DELETE /admin/returns/{opened}/request",
        )
    deleted = ok(await client.delete(f"/admin/returns/{opened}/request", headers=r.admin))
    assert deleted == {"id": opened, "object": "return", "deleted": True}

    received = await r.requested(1)
    await r.receive(received, 1)
    async with r.unchanged(received):
        error(
            await r.post(f"/admin/returns/{received}/cancel", {}),
            400,
            "not_allowed",
            "Can't cancel a return which has returned items",
        )

    canceled = await r.requested(1)
    ok(await r.post(f"/admin/returns/{canceled}/cancel", {}))
    async with r.unchanged(received, canceled):
        error(
            await r.post(f"/admin/returns/{canceled}/cancel", {}),
            400,
            "invalid_data",
            f"Return with id {canceled} has been canceled.",
        )


# --------------------------------------------------------------------------- money


async def test_the_five_credit_line_rules(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    await r.capture(r.a)  # A paid 84.70: pending 0; B authorized: pending 38.50

    def refused(response, message: str) -> None:
        error(response, 400, "invalid_data", message)

    async with r.unchanged():
        refused(
            await _credit_line(r, r.a, 1),
            "Can only create credit lines if the order has a positive or negative pending "
            "difference",
        )
        refused(
            await _credit_line(r, r.b, -1),
            "Can only create positive credit lines if the order has a positive pending difference",
        )
        refused(
            await _credit_line(r, r.b, 38.51),
            "Cannot create more positive credit lines with amount more than the pending difference",
        )

    ret = await r.requested(1)  # A: pending −33.00, all of it in transit (refund_due 0)
    summary = (await r.order(r.a))["summary"]
    assert summary["pending_difference"] == -33 and summary["refund_due"] == 0
    keep_too_much = "Cannot create more negative credit lines with amount more than the refund due"
    async with r.unchanged(ret):
        refused(
            await _credit_line(r, r.a, 1),
            "Can only create negative credit lines if the order has a negative pending difference",
        )
        refused(await _credit_line(r, r.a, -0.01), keep_too_much)

    await r.receive(ret, 1)  # refund_due 33.00
    async with r.unchanged(ret):
        refused(await _credit_line(r, r.a, -33.01), keep_too_much)

    kept = ok(await _credit_line(r, r.a, -33))["order"]
    assert kept["summary"]["pending_difference"] == 0 and kept["summary"]["refund_due"] == 0
    assert kept["summary"]["credit_line_total"] == -33
    waived = ok(await _credit_line(r, r.b, 38.5))["order"]
    assert waived["summary"]["pending_difference"] == 0
    assert waived["summary"]["current_order_total"] == 0
    a, b = await r.order(r.a), await r.order(r.b)
    assert (a["version"], b["version"]) == (4, 2)  # request, receipt, credit line; credit line
    assert [c["amount"] for c in a["credit_lines"]] == [-33]


async def test_refunds_are_capped_and_need_an_amount_when_nothing_is_due(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    await r.capture(r.a)
    async with r.unchanged():
        error(
            await r.post(f"/admin/orders/{r.a}/refund", {}),
            400,
            "invalid_data",
            f"amount is required: order {r.a} has no refund due",
        )
        error(
            await r.post(f"/admin/orders/{r.a}/refund", {"amount": 84.71}),
            400,
            "invalid_data",
            f"Cannot refund more than 84.70 USD for order {r.a}",
        )
    ret = await r.requested(1)
    async with r.unchanged(ret):  # a return in transit is not due yet
        error(
            await r.post(f"/admin/orders/{r.a}/refund", {}),
            400,
            "invalid_data",
            f"amount is required: order {r.a} has no refund due",
        )
    await r.receive(ret, 1)
    refunded = ok(await r.post(f"/admin/orders/{r.a}/refund", {}))["order"]
    assert refunded["summary"]["refunded_total"] == 33
    async with r.unchanged(ret):
        error(
            await r.post(f"/admin/orders/{r.a}/refund", {"amount": 51.71}),
            400,
            "invalid_data",
            f"Cannot refund more than 51.70 USD for order {r.a}",
        )


# --------------------------------------------------------------------------- fulfilments


async def test_a_fulfilment_whose_units_are_in_a_return_cannot_be_canceled(
    client, app, place_group
):
    """Mercato (not in §15): canceling it would put the units back in stock while the return
    still expects them, so the receipt would restock them a second time."""
    r = await setup(client, app, place_group)
    shirts = await r.fulfil(r.a, [(r.shirt, 2)])
    cap = await r.fulfil(r.a, [(r.cap, 1)])
    ret = await r.requested(1)
    async with r.unchanged(ret):
        error(
            await r.post(f"/admin/orders/{r.a}/fulfillments/{shirts}/cancel", {}),
            400,
            "not_allowed",
            f"Item {r.shirt} has units in a return or claim; fulfillment {shirts} cannot be canceled",
        )
    ok(await r.post(f"/admin/orders/{r.a}/fulfillments/{cap}/cancel", {}))  # no returned units

    await r.receive(ret, 1)  # received units count as well
    async with r.unchanged(ret):
        error(
            await r.post(f"/admin/orders/{r.a}/fulfillments/{shirts}/cancel", {}),
            400,
            "not_allowed",
            f"Item {r.shirt} has units in a return or claim; fulfillment {shirts} cannot be canceled",
        )

    # on B: refused while the return stands, allowed once it is canceled; stock as before
    mug_variant = r.market.variants[r.b_seller][0]
    before = await r.stock(mug_variant)
    mugs = await r.fulfil(r.b)
    on_b = await r.requested(1, r.mug)
    refused = f"Item {r.mug} has units in a return or claim; fulfillment {mugs} cannot be canceled"
    async with r.unchanged(on_b):
        error(
            await r.post(f"/admin/orders/{r.b}/fulfillments/{mugs}/cancel", {}),
            400,
            "not_allowed",
            refused,
        )
    ok(await r.post(f"/admin/returns/{on_b}/cancel", {}))
    ok(await r.post(f"/admin/orders/{r.b}/fulfillments/{mugs}/cancel", {}))
    assert await r.stock(mug_variant) == before


# --------------------------------------------------------------------------- reads


async def test_the_changes_list_takes_its_filters_and_fields_only(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    ret = await r.requested(1)
    await r.receive(ret, 1)
    vendor = await r.member(r.a_seller, "staff@a.test")
    for prefix, headers in (("/admin", r.admin), ("/vendor", vendor)):
        path = f"{prefix}/orders/{r.a}/changes"

        async def get(headers=headers, path=path, **params: str) -> list[dict]:
            return ok(await client.get(path, params=params, headers=headers))["order_changes"]

        assert [c["change_type"] for c in await get()] == ["return_request", "return_receive"]
        assert [c["change_type"] for c in await get(change_type="return_receive")] == [
            "return_receive"
        ]
        assert await get(status="pending") == []
        slim = await get(fields="id,change_type")
        assert [set(c) for c in slim] == [{"id", "change_type"}] * 2
        error(
            await client.get(path, params={"foo": "1"}, headers=headers),
            400,
            "invalid_data",
            "Invalid request: Unrecognized fields: 'foo'",
        )
        error(
            await client.get(path, params={"limit": "1"}, headers=headers),
            400,
            "invalid_data",
            "Invalid request: Unrecognized fields: 'limit'",
        )
        error(
            await client.get(path, params={"fields": "nope"}, headers=headers), 400, "invalid_data"
        )

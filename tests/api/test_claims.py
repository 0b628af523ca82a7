"""Claims over HTTP (order-changes.md §8, §15, §16 "Claim (order A, fully captured)"), to the
cent. Seller A's order of a two-seller group claims a Shirt; seller B's order never moves.

Setup (``claims_world``): order A 2 × Shirt 30.00 + 10 % tax + shipping 5.50 = 71.50, fulfilled
and captured; order B 1 × Mug = 26.40, authorized only."""

from __future__ import annotations

import pytest

from tests.api.claim_helpers import Claims, claims_world
from tests.api.helpers import error, ok
from tests.api.return_helpers import NO_ACTIVE_CHANGE


@pytest.fixture
async def c(client, app, admin_headers) -> Claims:
    return await claims_world(client, app, admin_headers)


def _money(order: dict) -> dict:
    """What a claim cancel must give back exactly: summary, statuses, lines, methods, total."""
    keep = ("summary", "status", "payment_status", "fulfillment_status", "total")
    lines = [
        {k: i[k] for k in ("id", "quantity", "total", "detail")}
        for i in sorted(order["items"], key=lambda i: i["id"])
    ]
    methods = sorted((m["id"], m["total"]) for m in order["shipping_methods"])
    return {k: order[k] for k in keep} | {"items": lines, "shipping_methods": methods}


def _action(body: dict, kind: str) -> str:
    (action,) = [
        a["id"] for a in body["order_preview"]["order_change"]["actions"] if a["action"] == kind
    ]
    return action


async def test_the_worked_refund_claim_to_the_cent(c: Claims):
    sibling = await c.sibling()
    before = await c.order(c.a)
    assert before["summary"]["current_order_total"] == 71.5
    assert before["summary"]["paid_total"] == 71.5

    begun = ok(await c.post("/admin/claims", {"type": "refund", "order_id": c.a}))
    claim = begun["claim"]
    assert claim["id"].startswith("claim_") and claim["type"] == "refund"
    assert claim["order_id"] == c.a and claim["seller_id"] == c.a_seller
    assert claim["return_id"] is None and claim["refund_amount"] == 0
    assert begun["order"]["order_change"]["change_type"] == "claim"
    assert begun["order"]["order_change"]["claim_id"] == claim["id"]

    item = {"id": c.shirt, "quantity": 1, "reason": "production_failure"}
    added = await c.act(claim["id"], "claim-items", {"items": [item]})
    preview = added["order_preview"]
    assert preview["summary"]["current_order_total"] == 38.5
    assert preview["summary"]["refund_due"] == 33
    (write_off,) = preview["order_change"]["actions"]
    assert write_off["action"] == "WRITE_OFF_ITEM" and write_off["amount"] == -33
    assert write_off["details"]["reason"] == "production_failure"
    assert added["claim"]["id"] == claim["id"]
    assert (await c.order(c.a))["summary"] == before["summary"]  # only previewed

    requested = await c.act(claim["id"], "request", {})
    assert requested["claim"]["refund_amount"] == 33
    assert requested["return"] is None
    (claimed,) = requested["claim"]["claim_items"]
    assert (claimed["item_id"], claimed["quantity"]) == (c.shirt, 1)
    assert claimed["reason"] == "production_failure"
    assert requested["claim"]["additional_items"] == []
    order = await c.order(c.a)
    summary = order["summary"]
    assert summary["current_order_total"] == 38.5
    assert summary["pending_difference"] == -33
    assert summary["refund_due"] == 33 and summary["amount_due"] == 0
    assert summary["return_requested_total"] == 0
    assert order["version"] == 2 and order["status"] == "requires_action"
    line = next(i for i in order["items"] if i["id"] == c.shirt)
    assert line["detail"]["written_off_quantity"] == 1
    assert line["detail"]["deducted_quantity"] == 1
    assert [p for p in order["payment_collections"] if p.get("source") == "order_change"] == []
    assert [e for e, _ in await c.events("order.claim_created")] == ["order.claim_created"]
    assert (await c.events("order.claim_created"))[0][1] == {
        "order_id": c.a,
        "claim_id": claim["id"],
    }
    group = ok(await c.client.get(f"/admin/order-groups/{c.group_id}", headers=c.admin))
    assert group["order_group"]["total"] == 64.9  # 38.50 + 26.40

    # Confirming twice: no active change; nothing applied twice.
    async with c.unchanged(claim["id"]):
        error(
            await c.post(f"/admin/claims/{claim['id']}/request", {}),
            400,
            "invalid_data",
            NO_ACTIVE_CHANGE,
        )

    # A refund of 33.00 (the default: refund_due) settles it.
    ok(await c.post(f"/admin/orders/{c.a}/refund", {}))
    order = await c.order(c.a)
    assert order["summary"]["refunded_total"] == 33
    assert order["summary"]["pending_difference"] == 0
    assert order["summary"]["refund_due"] == 0
    assert order["status"] == "pending" and order["payment_status"] == "partially_refunded"
    assert await c.sibling() == sibling


async def test_the_worked_replace_claim_to_the_cent(c: Claims):
    sibling = await c.sibling()
    before = await c.order(c.a)
    stocked, reserved = await c.stock(c.shirt_variant)
    claim = await c.begin("replace")
    await c.claim_items(claim, 1, "missing_item")
    shirt = {"items": [{"variant_id": c.shirt_variant, "quantity": 1}]}
    out = await c.act(claim, "outbound/items", shirt)
    added = [i for i in out["order_preview"]["items"] if i.get("claim_id") == claim]
    assert len(added) == 1 and added[0]["unit_price"] == 0 and added[0]["total"] == 0
    method = await c.act(claim, "outbound/shipping-method", {"shipping_option_id": c.a_option})
    shipping = [m for m in method["order_preview"]["shipping_methods"] if m["claim_id"] == claim]
    assert [(m["amount"], m["total"]) for m in shipping] == [(0, 0)]
    assert method["order_preview"]["summary"] == before["summary"]

    # Inbound: the claimed Shirt comes back; it moves no money.
    back = await c.act(claim, "inbound/items", {"items": [{"id": c.shirt, "quantity": 1}]})
    assert back["return"]["claim_id"] == claim and back["return"]["status"] == "open"
    assert back["order_preview"]["summary"] == before["summary"]
    (inbound,) = [
        a for a in back["order_preview"]["order_change"]["actions"] if a["action"] == "RETURN_ITEM"
    ]
    assert inbound["amount"] == 0

    requested = await c.act(claim, "request", {})
    assert requested["claim"]["refund_amount"] == 0
    assert requested["return"]["status"] == "requested"
    assert requested["return"]["refund_amount"] == 0
    assert len(requested["claim"]["additional_items"]) == 1
    assert requested["claim"]["claim_items"][0]["reason"] == "missing_item"
    order = await c.order(c.a)
    summary = order["summary"]
    assert summary["current_order_total"] == 71.5
    assert summary["pending_difference"] == 0
    assert summary["refund_due"] == summary["amount_due"] == 0
    assert summary["return_requested_total"] == 0
    assert order["status"] == "pending" and order["version"] == 2
    assert [p for p in order["payment_collections"] if p.get("source") == "order_change"] == []
    assert await c.events("order.payment_collection_created") == []
    assert await c.stock(c.shirt_variant) == (stocked, reserved + 1)
    new_line = next(i for i in order["items"] if i.get("claim_id") == claim)
    location = c.market.sellers[0]["stock_location"]["id"]
    assert (new_line["id"], c.shirt_variant, location, 1) in await c.reservations(c.a)

    # The replacement ships with the ordinary fulfilment route.
    await c.fulfil(c.a, [(new_line["id"], 1)])
    assert await c.stock(c.shirt_variant) == (stocked - 1, reserved)

    # Its receipt restocks the Shirt; still no money moves.
    await c.receive(requested["return"]["id"], 1, c.shirt)
    assert await c.stock(c.shirt_variant) == (stocked, reserved)
    order = await c.order(c.a)
    assert order["summary"]["current_order_total"] == 71.5
    assert order["summary"]["refund_due"] == order["summary"]["pending_difference"] == 0
    assert (await c.get_return(requested["return"]["id"]))["status"] == "received"
    assert await c.sibling() == sibling


async def test_canceling_a_refund_claim_gives_back_exactly_what_it_deducted(c: Claims):
    sibling = await c.sibling()
    before = _money(await c.order(c.a))
    claim = await c.begin("refund")
    await c.claim_items(claim, 2)
    ok(
        await c.post(
            f"/admin/claims/{claim}/inbound/shipping-method",
            {
                "shipping_option_id": c.option,
                "custom_amount": 1,
            },
        )
    )
    await c.act(claim, "inbound/items", {"items": [{"id": c.shirt, "quantity": 2}]})
    requested = await c.act(claim, "request", {})
    # Both Shirts written off (66.00), the return method charged (1.10): 71.50 − 66 + 1.10.
    assert requested["claim"]["refund_amount"] == 64.9
    order = await c.order(c.a)
    assert order["summary"]["current_order_total"] == 6.6
    assert order["summary"]["refund_due"] == 64.9

    canceled = ok(await c.post(f"/admin/claims/{claim}/cancel", {}))["claim"]
    assert canceled["canceled_at"] is not None
    order = await c.order(c.a)
    assert _money(order) == before
    assert order["version"] == 3
    assert (await c.get_return(requested["return"]["id"]))["status"] == "canceled"
    cancel_change = order["order_changes"][-1]
    assert cancel_change["change_type"] == "claim" and cancel_change["status"] == "confirmed"
    assert sorted(a["action"] for a in cancel_change["actions"]) == [
        "CANCEL_RETURN_ITEM",
        "SHIPPING_REMOVE",
        "WRITE_OFF_ITEM",
    ]
    assert [e for e, _ in await c.events("order.claim_canceled")] == ["order.claim_canceled"]
    # The units are free again: the same Shirts can be claimed anew.
    again = await c.begin("refund")
    await c.claim_items(again, 2)
    ok(await c.client.delete(f"/admin/claims/{again}/request", headers=c.admin))
    async with c.unchanged(claim):
        error(
            await c.post(f"/admin/claims/{claim}/cancel", {}),
            400,
            "invalid_data",
            f"Claim with id {claim} has been canceled.",
        )
    assert await c.sibling() == sibling


async def test_canceling_a_replace_claim_releases_what_it_reserved(c: Claims):
    sibling = await c.sibling()
    before = _money(await c.order(c.a))
    stock = await c.stock(c.shirt_variant)
    reservations = await c.reservations(c.a)
    claim = await c.replace_claim(inbound=1)
    # Charged extras: an upgrade price on the replacement is the customer's to pay.
    change = (await c.order(c.a))["order_change"]
    (outbound,) = [a["id"] for a in change["actions"] if a["action"] == "ITEM_ADD"]
    priced = await c.act(claim, f"outbound/items/{outbound}", {"unit_price": 2})
    assert priced["order_preview"]["summary"]["amount_due"] == 2.2
    await c.act(claim, f"outbound/items/{outbound}", {"unit_price": 0})
    requested = await c.act(claim, "request", {})
    assert await c.stock(c.shirt_variant) == (stock[0], stock[1] + 1)

    # A fulfilled replacement blocks the cancel until its fulfilment is canceled.
    line = next(i for i in (await c.order(c.a))["items"] if i.get("claim_id") == claim)
    fulfillment = await c.fulfil(c.a, [(line["id"], 1)])
    async with c.unchanged(claim):
        error(
            await c.post(f"/admin/claims/{claim}/cancel", {}),
            400,
            "not_allowed",
            "All fulfillments must be canceled before canceling a claim",
        )
    ok(await c.post(f"/admin/orders/{c.a}/fulfillments/{fulfillment}/cancel", {}))

    ok(await c.post(f"/admin/claims/{claim}/cancel", {}))
    order = await c.order(c.a)
    assert _money(order) == before
    assert [i for i in order["items"] if i.get("claim_id") == claim] == []
    assert await c.stock(c.shirt_variant) == stock
    assert await c.reservations(c.a) == reservations
    assert (await c.get_return(requested["return"]["id"]))["status"] == "canceled"
    line_detail = next(i for i in order["items"] if i["id"] == c.shirt)["detail"]
    assert line_detail["written_off_quantity"] == line_detail["return_requested_quantity"] == 0
    assert await c.sibling() == sibling


async def test_a_claim_with_received_units_cannot_be_canceled(c: Claims):
    claim = await c.replace_claim(inbound=1)
    ret = (await c.act(claim, "request", {}))["return"]["id"]
    await c.receive(ret, 1, c.shirt)
    async with c.unchanged(claim):
        error(
            await c.post(f"/admin/claims/{claim}/cancel", {}),
            400,
            "not_allowed",
            "Can't cancel a return which has returned items",
        )


async def test_every_refused_claim_request_changes_nothing(c: Claims):
    """§15's claim errors: each answers its status and message and leaves orders, claims,
    stock, reservations and the outbox exactly as they were."""
    sibling = await c.sibling()
    refund = await c.begin("refund")
    base = f"/admin/claims/{refund}"
    cases = [
        # (path, body, status, type, message)
        (
            f"{base}/request",
            {},
            400,
            "invalid_data",
            "Order claim request should have at least 1 item",
        ),
        (
            f"{base}/claim-items",
            {"items": [{"id": c.shirt, "quantity": 3}]},
            400,
            "invalid_data",
            f"Cannot claim more items than what was fulfilled for item {c.shirt}.",
        ),
        (
            f"{base}/claim-items",
            {"items": [{"id": c.mug, "quantity": 1}]},
            400,
            "invalid_data",
            f"Items with ids {c.mug} does not exist in order with id {c.a}.",
        ),
        (
            f"{base}/claim-items",
            {"items": [{"id": c.shirt, "quantity": 1, "reason": "changed_my_mind"}]},
            400,
            "invalid_data",
            None,
        ),
        (
            f"{base}/claim-items",
            {"items": [{"id": c.shirt, "quantity": 0}]},
            400,
            "invalid_data",
            None,
        ),
        (
            f"{base}/outbound/items",
            {"items": [{"variant_id": c.shirt_variant, "quantity": 1}]},
            400,
            "invalid_data",
            "Outbound items are not allowed on a refund claim",
        ),
        (
            f"{base}/cancel",
            {},
            400,
            "not_allowed",
            f"Claim {refund} has not been requested; use DELETE /admin/claims/{refund}/request",
        ),
        (
            f"{base}/claim-items/ordchact_nope",
            {"quantity": 1},
            404,
            "not_found",
            "Order change action with id ordchact_nope was not found",
        ),
        (
            "/admin/claims",
            {"type": "refund", "order_id": c.a},
            400,
            "invalid_data",
            None,  # another change is active (checked below)
        ),
        (
            "/admin/claims",
            {"type": "exchange", "order_id": c.b},
            400,
            "invalid_data",
            None,
        ),
        (
            "/admin/claims/claim_nope/claim-items",
            {"items": [{"id": c.shirt, "quantity": 1}]},
            404,
            "not_found",
            "Claim with id claim_nope was not found",
        ),
        (
            "/admin/claims",
            {"type": "refund", "order_id": c.b, "reason_id": "rr_nope"},
            400,
            "invalid_data",
            None,
        ),
    ]
    async with c.unchanged(refund):
        for path, body, status, kind, message in cases:
            error(await c.post(path, body), status, kind, message)
        active = await c.post("/admin/claims", {"type": "refund", "order_id": c.a})
        assert active.json()["message"].startswith(
            f"Order ({c.a}) already has an existing active order change: "
        )
        error(await c.client.get("/admin/claims/claim_nope", headers=c.admin), 404, "not_found")

    # A claimed unit is taken: a return (or another claim) cannot have it too.
    await c.claim_items(refund, 2)
    ok(await c.post(f"{base}/request", {}))
    ret = await c.post("/admin/returns", {"order_id": c.a})
    ret_id = ok(ret)["return"]["id"]
    error(
        await c.post(
            f"/admin/returns/{ret_id}/request-items", {"items": [{"id": c.shirt, "quantity": 1}]}
        ),
        400,
        "invalid_data",
        f"Cannot request to return more items than what was fulfilled for item {c.shirt}.",
    )
    ok(await c.client.delete(f"/admin/returns/{ret_id}/request", headers=c.admin))
    assert await c.sibling() == sibling


async def test_replace_and_inbound_rules(c: Claims):
    replace = await c.begin("replace")
    await c.claim_items(replace, 1)
    async with c.unchanged(replace):
        error(
            await c.post(f"/admin/claims/{replace}/request", {}),
            400,
            "invalid_data",
            "A replace claim must have at least 1 outbound item",
        )
    await c.act(
        replace, "outbound/items", {"items": [{"variant_id": c.shirt_variant, "quantity": 1}]}
    )
    back = await c.act(replace, "inbound/items", {"items": [{"id": c.shirt, "quantity": 2}]})
    inbound = _action(back, "RETURN_ITEM")
    async with c.unchanged(replace):
        error(
            await c.post(f"/admin/claims/{replace}/request", {}),
            400,
            "invalid_data",
            f"Cannot return more items than were claimed for item {c.shirt}.",
        )
    # Fewer units back, then one more claimed unit: both fit.
    await c.act(replace, f"inbound/items/{inbound}", {"quantity": 1})
    claimed = await c.act(replace, "claim-items", {"items": [{"id": c.shirt, "quantity": 1}]})
    (first, second) = [
        a
        for a in claimed["order_preview"]["order_change"]["actions"]
        if a["action"] == "WRITE_OFF_ITEM"
    ]
    assert first["details"]["reason"] == second["details"]["reason"] == "other"
    updated = await c.act(replace, f"claim-items/{second['id']}", {"reason": "wrong_item"})
    (changed,) = [
        a for a in updated["order_preview"]["order_change"]["actions"] if a["id"] == second["id"]
    ]
    assert changed["details"]["reason"] == "wrong_item"
    removed = ok(
        await c.client.delete(
            f"/admin/claims/{replace}/claim-items/{second['id']}", headers=c.admin
        )
    )
    assert [a["action"] for a in removed["order_preview"]["order_change"]["actions"]].count(
        "WRITE_OFF_ITEM"
    ) == 1
    requested = await c.act(replace, "request", {})
    assert requested["return"]["items"][0]["quantity"] == 1
    error(
        await c.post(f"/admin/claims/{replace}/request", {}),
        400,
        "invalid_data",
        NO_ACTIVE_CHANGE,
    )


async def test_discard_lists_and_replay(c: Claims):
    """DELETE …/request deletes the claim and its return; lists filter by type; the same
    Idempotency-Key replays a request once."""
    claim = await c.replace_claim(inbound=1)
    order = await c.order(c.a)
    ret = order["returns"][0]["id"]
    deleted = ok(await c.client.delete(f"/admin/claims/{claim}/request", headers=c.admin))
    assert deleted == {"id": claim, "object": "claim", "deleted": True}
    error(await c.client.get(f"/admin/claims/{claim}", headers=c.admin), 404, "not_found")
    error(await c.client.get(f"/admin/returns/{ret}", headers=c.admin), 404, "not_found")
    order = await c.order(c.a)
    assert order["version"] == 1 and order["claims"] == [] and order["returns"] == []
    assert order["order_changes"][-1]["status"] == "canceled"

    # A claim's reason is a return reason without children.
    reason = ok(await c.post("/admin/return-reasons", {"value": "damaged", "label": "Damaged"}))
    reason_id = reason["return_reason"]["id"]
    child = {"value": "dented", "label": "Dented", "parent_return_reason_id": reason_id}
    ok(await c.post("/admin/return-reasons", child))
    parent = {"type": "refund", "order_id": c.a, "reason_id": reason_id}
    async with c.unchanged():
        error(
            await c.post("/admin/claims", parent),
            400,
            "invalid_data",
            f"Cannot apply return reason with id {reason_id} to order with id {c.a}. "
            "Return reason has nested reasons.",
        )
    child_id = ok(
        await c.client.get("/admin/return-reasons", headers=c.admin, params={"value": "dented"})
    )["return_reasons"][0]["id"]
    begun = ok(await c.post("/admin/claims", {**parent, "reason_id": child_id}))
    assert begun["claim"]["reason_id"] == child_id
    refund = begun["claim"]["id"]
    await c.claim_items(refund, 1)
    stock = await c.stock(c.shirt_variant)
    keyed = {**c.admin, "Idempotency-Key": "claim-request-1"}
    first = await c.client.post(f"/admin/claims/{refund}/request", headers=keyed, json={})
    again = await c.client.post(f"/admin/claims/{refund}/request", headers=keyed, json={})
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    order = await c.order(c.a)
    assert order["version"] == 2 and order["summary"]["refund_due"] == 33
    assert await c.stock(c.shirt_variant) == stock
    assert len(await c.events("order.claim_created")) == 1

    replace = await c.replace_claim()
    ok(await c.post(f"/admin/claims/{replace}/request", {}))
    listed = ok(await c.client.get("/admin/claims", headers=c.admin, params={"type": "refund"}))
    assert [x["id"] for x in listed["claims"]] == [refund] and listed["count"] == 1
    listed = ok(
        await c.client.get(
            "/admin/claims",
            headers=c.admin,
            params={"order_id": c.a, "order": "created_at", "limit": 1, "offset": 1},
        )
    )
    assert [x["id"] for x in listed["claims"]] == [replace]
    assert (listed["count"], listed["offset"], listed["limit"]) == (2, 1, 1)
    listed = ok(
        await c.client.get("/admin/claims", headers=c.admin, params={"seller_id": c.b_seller})
    )
    assert listed["count"] == 0


async def test_a_fulfilment_with_claimed_units_cannot_be_canceled(c: Claims):
    """Claimed units were sent: un-sending them would leave a write-off of units never
    fulfilled (and a refund claim's value deducted for them)."""
    order = await c.order(c.a)
    [fulfillment] = [f for f in order["fulfillments"] if f["canceled_at"] is None]
    assert fulfillment["shipped_at"] is None  # packed only: cancelable but for the claim
    claim = await c.begin()
    await c.claim_items(claim)
    await c.act(claim, "request", {})
    before = await c.snapshot(claim)
    error(
        await c.post(f"/admin/orders/{c.a}/fulfillments/{fulfillment['id']}/cancel", {}),
        400,
        "not_allowed",
        f"Item {c.shirt} has units in a return or claim; fulfillment {fulfillment['id']} "
        "cannot be canceled",
    )
    assert await c.snapshot(claim) == before

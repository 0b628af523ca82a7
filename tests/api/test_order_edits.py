"""Order edits over HTTP (order-changes.md §9, §13–§16 "Order edit (order A)"), to the cent.

Setup (``edits_world``): order A 2 × Shirt 30.00 + 10 % tax + shipping 5.50 = 71.50 (nothing
fulfilled), captured unless said otherwise; order B 1 × Mug 20.00 = 26.40, authorized. The edit
adds 1 Cap (12.00 + 1.20 = 13.20) and sets the Shirt line to 1 (66.00 → 33.00): current 51.70.
Order B never moves."""

from __future__ import annotations

import asyncio

import pytest

from mercato.api.deps import payment_providers
from tests.api.checkout_helpers import complete, ready_cart
from tests.api.edit_helpers import Edits, edits_world, money
from tests.api.helpers import create_region, error, ok
from tests.api.return_helpers import NO_ACTIVE_CHANGE
from tests.fakes import FakeProvider

REPLAYED = "Idempotent-Replayed"


@pytest.fixture
async def e(client, app, admin_headers) -> Edits:
    return await edits_world(client, app, admin_headers)


def _actions(preview: dict, kind: str) -> list[dict]:
    return [a for a in preview["order_change"]["actions"] if a["action"] == kind]


def _line(order: dict, line_id: str) -> dict:
    return next(i for i in order["items"] if i["id"] == line_id)


async def test_the_worked_edit_of_a_captured_order_refunds_19_80(e: Edits):
    sibling = await e.sibling()
    before = await e.order(e.a)
    assert before["summary"]["paid_total"] == before["summary"]["current_order_total"] == 71.5
    shirt_stock, cap_stock = await e.stock(e.shirt_variant), await e.stock(e.cap_variant)

    change = await e.begin_edit()
    assert change["id"].startswith("ordch_") and change["order_id"] == e.a
    assert (change["change_type"], change["status"], change["version"]) == ("edit", "pending", 2)
    assert change["created_by"].startswith("user_") and change["actions"] == []

    cap = {"items": [{"variant_id": e.cap_variant, "quantity": 1}]}
    preview = await e.preview("/items", cap)
    assert preview["summary"]["current_order_total"] == 84.7
    (added,) = _actions(preview, "ITEM_ADD")
    assert added["amount"] == 13.2 and added["details"]["variant_id"] == e.cap_variant
    new_line = next(i for i in preview["items"] if i["id"] == added["details"]["reference_id"])
    assert (new_line["quantity"], new_line["unit_price"], new_line["total"]) == (1, 12, 13.2)

    preview = await e.preview(f"/items/item/{e.shirt}", {"quantity": 1})
    summary = preview["summary"]
    assert summary["current_order_total"] == 51.7
    assert summary["pending_difference"] == -19.8 and summary["refund_due"] == 19.8
    (update,) = _actions(preview, "ITEM_UPDATE")
    assert update["amount"] == -33
    assert update["details"]["quantity"] == 1 and update["details"]["quantity_diff"] == -1
    shirt = _line(preview, e.shirt)
    assert (shirt["quantity"], shirt["unit_price"], shirt["total"]) == (1, 30, 33)
    assert [a["id"] for a in shirt["actions"]] == [update["id"]]
    assert preview["total"] == 51.7
    assert money(await e.order(e.a)) == money(before)  # only previewed

    requested = ok(await e.edit("/request"))["order_preview"]
    assert requested["order_change"]["status"] == "requested"
    assert requested["order_change"]["requested_at"] is not None
    assert requested["order_change"]["requested_by"] == change["created_by"]
    assert requested["summary"] == summary
    assert await e.change_collections() == []  # nothing is owed: no collection

    confirmed = ok(await e.edit("/confirm"))["order_preview"]
    assert confirmed["version"] == 2 and confirmed["order_change"] is None
    assert confirmed["summary"] == summary
    order = await e.order(e.a)
    assert order["summary"] == summary
    assert order["summary"]["amount_due"] == 0
    assert (order["version"], order["status"]) == (2, "requires_action")
    lines = sorted(
        (i["variant_id"], i["quantity"], i["unit_price"], i["total"]) for i in order["items"]
    )
    assert lines == sorted([(e.shirt_variant, 1, 30, 33), (e.cap_variant, 1, 12, 13.2)])
    assert [(c["change_type"], c["status"]) for c in order["order_changes"]] == [
        ("edit", "confirmed")
    ]
    # One Shirt released and one Cap reserved, at A's location only.
    assert await e.stock(e.shirt_variant) == (shirt_stock[0], shirt_stock[1] - 1)
    assert await e.stock(e.cap_variant) == (cap_stock[0], cap_stock[1] + 1)
    cap_line = next(i["id"] for i in order["items"] if i["variant_id"] == e.cap_variant)
    assert await e.reservations(e.a) == sorted(
        [(e.shirt, e.shirt_variant, e.a_location, 1), (cap_line, e.cap_variant, e.a_location, 1)]
    )
    edit_events = await e.events("order-edit.requested", "order-edit.confirmed")
    assert edit_events == [
        ("order-edit.requested", {"order_id": e.a, "order_change_id": change["id"]}),
        ("order-edit.confirmed", {"order_id": e.a, "order_change_id": change["id"]}),
    ]
    group = ok(await e.client.get(f"/admin/order-groups/{e.group_id}", headers=e.admin))
    assert group["order_group"]["total"] == 78.1  # 51.70 + 26.40

    # Confirming twice: no active change, nothing applied twice.
    async with e.unchanged():
        error(await e.edit("/confirm"), 400, "invalid_data", NO_ACTIVE_CHANGE)
        error(await e.edit("/request"), 400, "invalid_data", NO_ACTIVE_CHANGE)

    # The refund without an amount pays back exactly what the edit took off.
    ok(await e.post(f"/admin/orders/{e.a}/refund", {}))
    order = await e.order(e.a)
    assert order["summary"]["refunded_total"] == 19.8
    assert order["summary"]["pending_difference"] == order["summary"]["refund_due"] == 0
    assert order["status"] == "pending"
    assert await e.sibling() == sibling


async def test_the_worked_edit_of_an_authorized_order_caps_the_capture_at_51_70(
    client, app, admin_headers
):
    e = await edits_world(client, app, admin_headers, captured=False)
    sibling = await e.sibling()
    await e.worked_edit()
    order = ok(await e.edit("/confirm"))["order_preview"]
    summary = order["summary"]
    assert summary["current_order_total"] == 51.7 and summary["paid_total"] == 0
    assert summary["pending_difference"] == 51.7
    assert summary["amount_due"] == summary["refund_due"] == 0  # the share secures it
    assert (order["status"], order["payment_status"]) == ("pending", "authorized")
    assert await e.change_collections() == []

    error(
        await e.post(f"/admin/orders/{e.a}/capture", {"amount": 51.71}),
        400,
        "invalid_data",
        f"Cannot capture more than 51.70 USD for order {e.a}",
    )
    ok(await e.post(f"/admin/orders/{e.a}/capture", {}))
    order = await e.order(e.a)
    assert order["summary"]["paid_total"] == 51.7
    assert order["summary"]["pending_difference"] == 0
    assert await e.captures(e.a) == [(order["payment_collections"][0]["id"], 5170)]
    # The other 19.80 of A's share is never captured.
    error(await e.post(f"/admin/orders/{e.a}/capture", {}), 400, "invalid_data")
    assert await e.sibling() == sibling


async def test_a_cap_added_to_a_captured_order_is_collected_from_a_new_collection(e: Edits):
    sibling = await e.sibling()
    change = await e.begin_edit()
    cap = {"items": [{"variant_id": e.cap_variant, "quantity": 1}]}
    preview = await e.preview("/items", cap)
    assert preview["summary"]["current_order_total"] == 84.7
    assert preview["summary"]["pending_difference"] == preview["summary"]["amount_due"] == 13.2

    # Request: the customer may pay before the edit is confirmed.
    ok(await e.edit("/request"))
    (collection,) = await e.change_collections()
    assert collection["amount"] == 13.2 and collection["status"] == "not_paid"
    assert collection["order_change_id"] == change["id"]
    created = await e.events("order.payment_collection_created")
    assert created == [
        (
            "order.payment_collection_created",
            {"order_id": e.a, "payment_collection_id": collection["id"]},
        )
    ]
    order = await e.order(e.a)
    assert order["summary"]["current_order_total"] == 71.5 and order["version"] == 1

    # Confirm: re-synced to the same amount (one collection, no second event).
    ok(await e.edit("/confirm"))
    assert [(c["id"], c["amount"], c["status"]) for c in await e.change_collections()] == [
        (collection["id"], 13.2, "not_paid")
    ]
    assert len(await e.events("order.payment_collection_created")) == 1
    order = await e.order(e.a)
    summary = order["summary"]
    assert summary["current_order_total"] == 84.7 and summary["pending_difference"] == 13.2
    assert summary["amount_due"] == 13.2 and order["status"] == "requires_action"

    # The customer pays it in the store; the operator captures it.
    paid = await e.pay(collection["id"])
    assert (paid["status"], paid["authorized_amount"]) == ("authorized", 13.2)
    order = await e.order(e.a)
    assert order["summary"]["amount_due"] == 0 and order["status"] == "pending"
    ok(await e.post(f"/admin/orders/{e.a}/capture", {}))
    order = await e.order(e.a)
    cart_collection = next(c["id"] for c in order["payment_collections"] if c["source"] == "cart")
    assert await e.captures(e.a) == [(cart_collection, 7150), (collection["id"], 1320)]
    summary = order["summary"]
    assert summary["paid_total"] == 84.7 and summary["pending_difference"] == 0
    assert order["payment_status"] == "captured" and order["status"] == "pending"
    assert {c["source"]: c["status"] for c in order["payment_collections"]} == {
        "cart": "authorized",
        "order_change": "completed",
    }
    assert await e.sibling() == sibling


async def test_a_requested_edit_changed_afterwards_is_re_synced_at_confirm(e: Edits):
    sibling = await e.sibling()
    await e.begin_edit()
    cap = {"items": [{"variant_id": e.cap_variant, "quantity": 1}]}
    added = _actions(await e.preview("/items", cap), "ITEM_ADD")[0]["id"]
    ok(await e.edit("/request"))
    (collection,) = await e.change_collections()
    # Still requested, still modifiable: a second Cap.
    preview = await e.preview(f"/items/{added}", {"quantity": 2})
    assert preview["order_change"]["status"] == "requested"
    assert preview["summary"]["current_order_total"] == 97.9
    ok(await e.edit("/confirm"))
    assert [(c["id"], c["amount"]) for c in await e.change_collections()] == [
        (collection["id"], 26.4)
    ]
    assert await e.events("order.payment_collection_updated") == [
        (
            "order.payment_collection_updated",
            {"order_id": e.a, "payment_collection_id": collection["id"]},
        )
    ]
    assert (await e.order(e.a))["summary"]["amount_due"] == 26.4
    assert await e.stock(e.cap_variant) == (10, 2)
    assert await e.sibling() == sibling


async def test_lines_removed_repriced_and_shipped(e: Edits):
    """Quantity 0 takes a line out and releases its reservation; a unit price applies to the
    whole line; a shipping method adds its total (one per edit, the last one kept)."""
    sibling = await e.sibling()
    await e.begin_edit()
    preview = await e.preview(f"/items/item/{e.shirt}", {"quantity": 2, "unit_price": 25})
    shirt = _line(preview, e.shirt)
    assert (shirt["quantity"], shirt["unit_price"], shirt["total"]) == (2, 25, 55)
    assert preview["summary"]["current_order_total"] == 60.5  # 55.00 + 5.50
    # A second update of the line replaces the first.
    preview = await e.preview(f"/items/item/{e.shirt}", {"quantity": 0})
    (update,) = _actions(preview, "ITEM_UPDATE")
    assert update["details"]["quantity"] == 0 and update["details"]["unit_price"] == 2500
    assert update["amount"] == -66
    assert [i["id"] for i in preview["items"]] == []
    assert preview["summary"]["current_order_total"] == 5.5

    return_option = {"shipping_option_id": e.option}
    error(
        await e.edit("/shipping-method", return_option),
        400,
        "invalid_data",
        f"Shipping option {e.option} is a return option and cannot ship items to the customer",
    )
    b_option = e.market.options[e.b_seller]
    error(
        await e.edit("/shipping-method", {"shipping_option_id": b_option}),
        400,
        "invalid_data",
        f"Shipping option {b_option} belongs to seller {e.b_seller}, not to seller "
        f"{e.a_seller} of order {e.a}",
    )
    preview = await e.preview("/shipping-method", {"shipping_option_id": e.a_option})
    preview = await e.preview(
        "/shipping-method", {"shipping_option_id": e.a_option, "custom_amount": 2}
    )
    (method,) = _actions(preview, "SHIPPING_ADD")
    assert method["amount"] == 2.2
    assert preview["summary"]["current_order_total"] == 7.7
    preview = await e.preview(f"/shipping-method/{method['id']}", {"custom_amount": 3})
    assert preview["summary"]["current_order_total"] == 8.8
    removed = ok(await e.edit(f"/shipping-method/{method['id']}", method="DELETE"))
    assert _actions(removed["order_preview"], "SHIPPING_ADD") == []
    preview = await e.preview("/shipping-method", {"shipping_option_id": e.a_option})
    assert preview["summary"]["current_order_total"] == 11  # 5.50 + 5.50

    ok(await e.edit("/confirm"))
    order = await e.order(e.a)
    assert order["items"] == [] and order["summary"]["current_order_total"] == 11
    assert sorted(m["total"] for m in order["shipping_methods"]) == [5.5, 5.5]
    assert order["summary"]["refund_due"] == 60.5
    assert await e.reservations(e.a) == []
    assert await e.stock(e.shirt_variant) == (10, 0)
    # The line taken out is gone for the next edit too.
    await e.begin_edit()
    async with e.unchanged():
        error(
            await e.edit(f"/items/item/{e.shirt}", {"quantity": 1}),
            400,
            "invalid_data",
            f"Items with ids {e.shirt} does not exist in order with id {e.a}.",
        )
    assert await e.sibling() == sibling


async def test_actions_are_updated_and_removed_by_id(e: Edits):
    await e.begin_edit()
    cap = {"items": [{"variant_id": e.cap_variant, "quantity": 1}]}
    added = _actions(await e.preview("/items", cap), "ITEM_ADD")[0]["id"]
    preview = await e.preview(f"/items/{added}", {"quantity": 3, "unit_price": 10})
    (add,) = _actions(preview, "ITEM_ADD")
    assert add["amount"] == 33 and add["details"]["quantity"] == 3
    update = _actions(await e.preview(f"/items/item/{e.shirt}", {"quantity": 1}), "ITEM_UPDATE")
    preview = await e.preview(f"/items/{update[0]['id']}", {"quantity": 3})
    assert _actions(preview, "ITEM_UPDATE")[0]["amount"] == 33
    assert preview["summary"]["current_order_total"] == 71.5 + 33 + 33

    async with e.unchanged():
        error(
            await e.edit(f"/items/{added}", {"quantity": 0}),
            400,
            "invalid_data",
            f"Quantity of a new item must be at least 1; remove it with DELETE …/items/{added}",
        )
        for method, tail in (
            ("POST", "/items/ordchact_nope"),
            ("DELETE", "/items/ordchact_nope"),
            ("DELETE", f"/shipping-method/{added}"),  # an item action, not a shipping one
            ("POST", f"/shipping-method/{added}"),
        ):
            body = {"quantity": 1} if tail.startswith("/items") and method == "POST" else None
            bad = await e.edit(tail, body or ({} if method == "POST" else None), method=method)
            action = tail.rsplit("/", 1)[1]
            error(bad, 404, "not_found", f"Order change action with id {action} was not found")

    for action in (added, update[0]["id"]):
        ok(await e.edit(f"/items/{action}", method="DELETE"))
    preview = ok(await e.client.get(f"/admin/orders/{e.a}/preview", headers=e.admin))["order"]
    assert preview["order_change"]["actions"] == []
    assert preview["summary"]["current_order_total"] == 71.5


async def test_canceling_a_pending_or_requested_edit_puts_everything_back(e: Edits):
    sibling = await e.sibling()
    before = money(await e.order(e.a))
    stock = [await e.stock(v) for v in (e.shirt_variant, e.cap_variant)]

    pending = await e.begin_edit()
    await e.preview("/items", {"items": [{"variant_id": e.cap_variant, "quantity": 1}]})
    deleted = ok(await e.edit(method="DELETE"))
    assert deleted == {"id": e.a, "object": "order-edit", "deleted": True}
    order = await e.order(e.a)
    assert money(order) == before and order["order_change"] is None
    assert [(c["id"], c["status"]) for c in order["order_changes"]] == [(pending["id"], "canceled")]
    assert order["order_changes"][0]["canceled_by"] == pending["created_by"]
    error(await e.edit(method="DELETE"), 400, "invalid_data", NO_ACTIVE_CHANGE)

    # Requested with a collection the customer has not paid: the collection is canceled.
    requested = await e.begin_edit()
    await e.preview("/items", {"items": [{"variant_id": e.cap_variant, "quantity": 1}]})
    ok(await e.edit("/request"))
    (collection,) = await e.change_collections()
    ok(await e.edit(method="DELETE"))
    assert [(c["id"], c["status"]) for c in await e.change_collections()] == [
        (collection["id"], "canceled")
    ]
    order = await e.order(e.a)
    assert order["summary"] == before["summary"] and order["version"] == 1
    assert (order["status"], order["payment_status"]) == (before["status"], "captured")
    assert await e.events("order-edit.canceled") == [
        ("order-edit.canceled", {"order_id": e.a, "order_change_id": pending["id"]}),
        ("order-edit.canceled", {"order_id": e.a, "order_change_id": requested["id"]}),
    ]
    assert (
        "order.payment_collection_updated",
        {"order_id": e.a, "payment_collection_id": collection["id"]},
    ) in await e.events("order.payment_collection_updated")
    assert [await e.stock(v) for v in (e.shirt_variant, e.cap_variant)] == stock
    assert await e.sibling() == sibling


async def test_canceling_an_edit_whose_collection_was_authorized_voids_it(e: Edits):
    sibling = await e.sibling()
    before = await e.order(e.a)
    change = await e.begin_edit()
    await e.preview("/items", {"items": [{"variant_id": e.cap_variant, "quantity": 1}]})
    ok(await e.edit("/request"))
    (collection,) = await e.change_collections()
    assert (await e.pay(collection["id"]))["status"] == "authorized"

    ok(await e.edit(method="DELETE", headers={**e.admin, "Idempotency-Key": "cancel-1"}))
    assert await e.provider_calls("cancel") == [(f"{change['id']}:void", 1320)]
    (voided,) = await e.change_collections()
    assert voided["status"] == "canceled"
    order = await e.order(e.a)
    assert order["summary"] == before["summary"] and order["status"] == "pending"
    assert order["order_change"] is None and order["order_changes"][-1]["status"] == "canceled"
    assert await e.events("order-edit.canceled") == [
        ("order-edit.canceled", {"order_id": e.a, "order_change_id": change["id"]})
    ]
    # Nothing is left to capture from it.
    error(await e.post(f"/admin/orders/{e.a}/capture", {}), 400, "invalid_data")
    assert await e.sibling() == sibling


async def test_a_refused_void_leaves_the_edit_as_it_was(client, app, admin_headers):
    provider = FakeProvider(outcomes={"cancel": "failed"})
    app.dependency_overrides[payment_providers] = lambda: lambda _provider_id: provider
    try:
        e = await edits_world(client, app, admin_headers)
        sibling = await e.sibling()
        await e.begin_edit()
        await e.preview("/items", {"items": [{"variant_id": e.cap_variant, "quantity": 1}]})
        ok(await e.edit("/request"))
        (collection,) = await e.change_collections()
        await e.pay(collection["id"])
        before = await e.order(e.a)
        payment = await e.payment_of(collection["id"])
        error(
            await e.edit(method="DELETE"),
            400,
            "not_allowed",
            f"Payment {payment} could not be voided by the provider",
        )
        after = await e.order(e.a)
        assert money(after) == money(before)
        assert after["order_change"]["status"] == "requested"
        assert await e.events("order-edit.canceled") == []
        # The provider agrees the second time: the edit is canceled.
        provider.outcomes.clear()
        provider.journal.clear()
        ok(await e.edit(method="DELETE"))
        assert [c["status"] for c in await e.change_collections()] == ["canceled"]
        assert len(provider.made("cancel")) == 2
        assert await e.sibling() == sibling
    finally:
        app.dependency_overrides.pop(payment_providers, None)


async def test_confirm_twice_or_replayed_with_its_key(e: Edits):
    await e.worked_edit()
    keyed = {**e.admin, "Idempotency-Key": "confirm-1"}
    first = await e.edit("/confirm", headers=keyed)
    again = await e.edit("/confirm", headers=keyed)
    assert first.status_code == again.status_code == 200
    assert REPLAYED not in first.headers and again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    async with e.unchanged():
        error(await e.edit("/confirm"), 400, "invalid_data", NO_ACTIVE_CHANGE)
    order = await e.order(e.a)
    assert order["version"] == 2 and order["summary"]["refund_due"] == 19.8
    assert len(await e.events("order-edit.confirmed")) == 1
    assert await e.stock(e.cap_variant) == (10, 1)


async def test_concurrent_confirms_apply_the_edit_once(e: Edits):
    """Real parallel requests: one confirm applies, the others find no active change; the
    version moves once and one change collection is created."""
    sibling = await e.sibling()
    await e.worked_edit(cap_only=True)
    responses = await asyncio.gather(*(e.edit("/confirm") for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [200, 400, 400, 400]
    for refused in (r for r in responses if r.status_code == 400):
        error(refused, 400, "invalid_data", NO_ACTIVE_CHANGE)
    order = await e.order(e.a)
    assert order["version"] == 2 and order["summary"]["current_order_total"] == 84.7
    assert [c["amount"] for c in await e.change_collections()] == [13.2]
    assert len(await e.events("order-edit.confirmed")) == 1
    assert len(await e.events("order.payment_collection_created")) == 1
    assert await e.stock(e.cap_variant) == (10, 1)
    assert await e.sibling() == sibling


async def test_concurrent_begins_open_one_edit(e: Edits):
    responses = await asyncio.gather(
        *(e.post("/admin/order-edits", {"order_id": e.a}) for _ in range(3))
    )
    assert sorted(r.status_code for r in responses) == [200, 400, 400]
    winner = next(r for r in responses if r.status_code == 200).json()["order_change"]["id"]
    for refused in (r for r in responses if r.status_code == 400):
        error(
            refused,
            400,
            "invalid_data",
            f"Order ({e.a}) already has an existing active order change: {winner} (edit)",
        )


async def test_stock_is_checked_when_added_and_again_under_the_lock(e: Edits):
    sibling = await e.sibling()
    await e.begin_edit()
    short = f"Variant {e.cap_variant} does not have the required inventory at location " + (
        e.a_location
    )
    async with e.unchanged():
        refused = await e.edit("/items", {"items": [{"variant_id": e.cap_variant, "quantity": 11}]})
        error(refused, 400, "invalid_data", short)
        assert refused.json()["code"] == "insufficient_inventory"
        # 8 Shirts are free (2 reserved): 2 + 9 more is too many.
        refused = await e.edit(f"/items/item/{e.shirt}", {"quantity": 11})
        error(
            refused,
            400,
            "invalid_data",
            f"Variant {e.shirt_variant} does not have the required inventory at location "
            f"{e.a_location}",
        )
        assert refused.json()["code"] == "insufficient_inventory"
    await e.preview("/items", {"items": [{"variant_id": e.cap_variant, "quantity": 6}]})
    # The edit's own units count: 6 + 5 Caps are more than the 10 on the shelf.
    error(
        await e.edit("/items", {"items": [{"variant_id": e.cap_variant, "quantity": 5}]}),
        400,
        "invalid_data",
        short,
    )
    await e.preview(f"/items/item/{e.shirt}", {"quantity": 10})

    # Meanwhile another order takes 5 Caps: the confirmation re-checks under the lock.
    await _five_caps_sold(e)
    async with e.unchanged():
        refused = await e.edit("/confirm")
        error(refused, 400, "invalid_data", short)
        assert refused.json()["code"] == "insufficient_inventory"
    assert (await e.order(e.a))["order_change"]["status"] == "pending"

    # A backordered line is reserved beyond the shelf.
    (add,) = _actions(
        ok(await e.client.get(f"/admin/orders/{e.a}/preview", headers=e.admin))["order"], "ITEM_ADD"
    )
    ok(await e.edit(f"/items/{add['id']}", method="DELETE"))
    await e.preview(
        "/items",
        {"items": [{"variant_id": e.cap_variant, "quantity": 7, "allow_backorder": True}]},
    )
    ok(await e.edit("/confirm"))
    assert await e.stock(e.cap_variant) == (10, 12)
    assert await e.stock(e.shirt_variant) == (10, 10)
    assert await e.sibling() == sibling


async def _five_caps_sold(e: Edits) -> None:
    """5 Caps of seller A reserved by another checkout (another group)."""
    cart = await ready_cart(e.client, e.market, [(e.cap_variant, 5)])
    ok(await complete(e.client, e.market, cart["id"]))
    assert await e.stock(e.cap_variant) == (10, 5)


async def test_every_refused_edit_request_changes_nothing(e: Edits):
    """§9's and §15's edit errors: each answers its status and message and leaves both orders,
    stock, reservations and the outbox exactly as they were."""
    sibling = await e.sibling()
    mug_variant = e.mug_variant
    base = e.path()
    async with e.unchanged():
        for path, body, status, kind, message in (
            (
                f"{base}/items",
                {"items": [{"variant_id": e.cap_variant, "quantity": 1}]},
                400,
                "invalid_data",
                NO_ACTIVE_CHANGE,
            ),
            (f"{base}/request", None, 400, "invalid_data", NO_ACTIVE_CHANGE),
            (f"{base}/confirm", None, 400, "invalid_data", NO_ACTIVE_CHANGE),
            (
                "/admin/order-edits",
                {"order_id": "order_nope"},
                404,
                "not_found",
                "Order with id order_nope was not found",
            ),
            (
                "/admin/order-edits/order_nope/confirm",
                None,
                404,
                "not_found",
                "Order with id order_nope was not found",
            ),
            ("/admin/order-edits", {}, 400, "invalid_data", None),
        ):
            error(await e.post(path, body), status, kind, message)
        error(await e.edit(method="DELETE"), 400, "invalid_data", NO_ACTIVE_CHANGE)

    change = await e.begin_edit()
    region = await create_region(
        e.client, e.admin, name="Elsewhere", currency_code="usd", tax_rate=0
    )
    elsewhere = ok(
        await e.post(
            "/admin/shipping-options",
            {
                "name": "A far",
                "seller_id": e.a_seller,
                "region_id": region["id"],
                "amount": 1,
            },
        )
    )["shipping_option"]["id"]
    euro = ok(
        await e.post(
            "/admin/products",
            {
                "title": "Euro cap",
                "seller_id": e.a_seller,
                "variants": [{"title": "E", "prices": [{"amount": 9, "currency_code": "eur"}]}],
            },
        )
    )["product"]["variants"][0]["id"]
    cases = [
        # (path, body, status, type, message)
        (
            f"{base}/items",
            {"items": [{"variant_id": mug_variant, "quantity": 1}]},
            400,
            "invalid_data",
            f"Variant {mug_variant} belongs to seller {e.b_seller}, not to seller {e.a_seller} "
            f"of order {e.a}",
        ),
        (
            f"{base}/items",
            {"items": [{"variant_id": euro, "quantity": 1}]},
            400,
            "invalid_data",
            f"Variant {euro} has no price in usd",
        ),
        (
            f"{base}/items",
            {"items": [{"variant_id": "variant_nope", "quantity": 1}]},
            404,
            "not_found",
            "Variant with id variant_nope was not found",
        ),
        (
            f"{base}/items",
            {"items": [{"variant_id": e.cap_variant, "quantity": 0}]},
            400,
            "invalid_data",
            None,
        ),
        (
            f"{base}/items/item/{e.mug}",
            {"quantity": 1},
            400,
            "invalid_data",
            f"Items with ids {e.mug} does not exist in order with id {e.a}.",
        ),
        (f"{base}/items/item/{e.shirt}", {"quantity": -1}, 400, "invalid_data", None),
        (f"{base}/items/item/{e.shirt}", {}, 400, "invalid_data", None),
        (
            f"{base}/items/item/{e.shirt}",
            {"quantity": 1, "unit_price": 1.001},
            400,
            "invalid_data",
            None,
        ),
        (
            f"{base}/shipping-method",
            {"shipping_option_id": elsewhere},
            400,
            "invalid_data",
            f"Shipping option {elsewhere} is not available in region {e.market.region['id']}",
        ),
        (
            f"{base}/shipping-method",
            {"shipping_option_id": "so_nope"},
            404,
            "not_found",
            "Shipping option with id so_nope was not found",
        ),
        (
            "/admin/order-edits",
            {"order_id": e.a},
            400,
            "invalid_data",
            f"Order ({e.a}) already has an existing active order change: {change['id']} (edit)",
        ),
        (
            "/admin/returns",
            {"order_id": e.a},
            400,
            "invalid_data",
            f"Order ({e.a}) already has an existing active order change: {change['id']} (edit)",
        ),
        (
            f"/admin/orders/{e.a}/fulfillments",
            {"items": [{"id": e.shirt, "quantity": 1}]},
            400,
            "invalid_data",
            f"Order ({e.a}) already has an existing active order change: {change['id']} (edit)",
        ),
    ]
    async with e.unchanged():
        for path, body, status, kind, message in cases:
            error(await e.post(path, body), status, kind, message)
    ok(await e.edit(method="DELETE"))

    # Fulfilled units stay: fulfil both Shirts, then try to lower or remove the line.
    await e.fulfil(e.a)
    await e.begin_edit()
    async with e.unchanged():
        error(
            await e.edit(f"/items/item/{e.shirt}", {"quantity": 1}),
            400,
            "invalid_data",
            f"Item {e.shirt} has already been fulfilled and quantity cannot be lower than 2.",
        )
        error(
            await e.edit(f"/items/item/{e.shirt}", {"quantity": 0}),
            400,
            "invalid_data",
            f"Cannot remove fulfilled item: Item {e.shirt}.",
        )
    # More of a fulfilled line is fine (the new unit is reserved).
    await e.preview(f"/items/item/{e.shirt}", {"quantity": 3})
    ok(await e.edit(method="DELETE"))
    assert await e.sibling() == sibling


async def test_a_line_with_returned_or_claimed_units_cannot_be_edited(e: Edits):
    sibling = await e.sibling()
    await e.fulfil(e.a)
    ret = ok(await e.post("/admin/returns", {"order_id": e.a}))["return"]["id"]
    one = {"items": [{"id": e.shirt, "quantity": 1}]}
    ok(await e.post(f"/admin/returns/{ret}/request-items", one))
    ok(await e.post(f"/admin/returns/{ret}/request", {}))
    await e.begin_edit()
    refused = f"Item {e.shirt} has returned or claimed units and cannot be edited"
    async with e.unchanged():
        for body in ({"quantity": 3}, {"quantity": 2, "unit_price": 10}):
            error(await e.edit(f"/items/item/{e.shirt}", body), 400, "invalid_data", refused)
    ok(await e.edit(method="DELETE"))

    # A canceled return frees the line again.
    ok(await e.post(f"/admin/returns/{ret}/cancel", {}))
    await e.begin_edit()
    await e.preview(f"/items/item/{e.shirt}", {"quantity": 3})
    ok(await e.edit(method="DELETE"))

    # A claimed unit is taken like a returned one.
    claim = await e.begin("refund")
    await e.claim_items(claim, 1)
    ok(await e.post(f"/admin/claims/{claim}/request", {}))
    await e.begin_edit()
    async with e.unchanged():
        error(await e.edit(f"/items/item/{e.shirt}", {"quantity": 2}), 400, "invalid_data", refused)
    # The order's other lines can still change.
    preview = await e.preview("/items", {"items": [{"variant_id": e.cap_variant, "quantity": 1}]})
    assert preview["summary"]["current_order_total"] == round(71.5 - 33 + 13.2, 2)
    assert await e.sibling() == sibling

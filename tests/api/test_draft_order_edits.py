"""Draft order edits (order-changes.md §12, §13–§15): an order change ``edit`` on a draft.

Begin, add (any seller's variants, custom lines), update and remove lines, shipping methods
(one per seller), request, confirm, cancel — each preview's totals to the cent, and the
preview's ``sellers`` exactly what the conversion afterwards gives each order. One active edit
per draft (a second begin, concurrent begins, a begin racing past the lock); conversion refused
while an edit is active; a converted draft refuses every edit route; every validation error
changes nothing; no event, no stock, no money."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select, text

from mercato.draft_orders import edits as edit_commands
from mercato.draft_orders.models import DraftOrderShippingMethod
from mercato.orders.change_models import OrderChange, OrderChangeAction
from tests.api.checkout_helpers import complete, ready_cart
from tests.api.helpers import create_product, error, ok, variant
from tests.api.test_draft_orders import Drafts, _drafts, _sellers

NO_ACTIVE_CHANGE = "An active Order Change is required to proceed"
CONVERTED = "Draft order {} has been converted and cannot be changed"


class Edit:
    """The edit routes of one draft."""

    def __init__(self, d: Drafts, draft_id: str) -> None:
        self.d, self.id = d, draft_id
        self.base = f"/admin/draft-orders/{draft_id}/edit"

    async def post(self, tail: str = "", json: Any = None, **kw: Any):
        return await self.d.client.post(self.base + tail, json=json, headers=self.d.admin, **kw)

    async def delete(self, tail: str = "", headers: dict | None = None):
        return await self.d.client.delete(self.base + tail, headers=headers or self.d.admin)

    async def preview(self, tail: str = "", json: Any = None) -> dict[str, Any]:
        return ok(await self.post(tail, json))["draft_order_preview"]

    async def begin(self) -> dict[str, Any]:
        return await self.preview()

    async def add(self, *items: dict[str, Any]) -> dict[str, Any]:
        return await self.preview("/items", {"items": list(items)})

    async def set_item(self, item_id: str, **body: Any) -> dict[str, Any]:
        return await self.preview(f"/items/item/{item_id}", body)

    async def ship(self, option_id: str, **body: Any) -> dict[str, Any]:
        return await self.preview("/shipping-methods", {"shipping_option_id": option_id, **body})


def _plain(preview: dict[str, Any]) -> dict[str, Any]:
    """The preview as the draft's own shape: no ``order_change``, no ``actions`` on lines."""
    plain = {k: v for k, v in preview.items() if k != "order_change"}
    for name in ("items", "shipping_methods"):
        if name in plain:
            plain[name] = [{k: v for k, v in x.items() if k != "actions"} for x in plain[name]]
    return plain


def _action(preview: dict[str, Any], name: str, reference_id: str | None = None) -> dict:
    return next(
        a
        for a in preview["order_change"]["actions"]
        if a["action"] == name and (reference_id is None or a["reference_id"] == reference_id)
    )


def _item(draft: dict[str, Any], variant_id: str) -> dict[str, Any]:
    return next(i for i in draft["items"] if i["variant_id"] == variant_id)


def _method(draft: dict[str, Any], seller_id: str) -> dict[str, Any]:
    return next(m for m in draft["shipping_methods"] if m["seller_id"] == seller_id)


async def _changes(d: Drafts, draft_id: str) -> list[tuple[str, str, int]]:
    """``(id, status, number of actions)`` of the draft's changes."""
    async with d.app.state.sessionmaker() as session:
        rows = await session.execute(
            select(OrderChange.id, OrderChange.status, func.count(OrderChangeAction.id))
            .outerjoin(OrderChangeAction, OrderChangeAction.order_change_id == OrderChange.id)
            .where(OrderChange.draft_order_id == draft_id)
            .group_by(OrderChange.id, OrderChange.status)
            .order_by(OrderChange.created_at)
        )
        return [tuple(r) for r in rows.all()]


async def _state(d: Drafts, draft_id: str) -> dict[str, Any]:
    """Everything an edit route could write: the draft as read, its changes and their actions,
    the stock levels and the outbox."""
    async with d.app.state.sessionmaker() as session:
        actions = sorted(
            (a.id, a.action, a.details, a.amount, a.internal_note)
            for a in await session.scalars(
                select(OrderChangeAction)
                .join(OrderChange, OrderChange.id == OrderChangeAction.order_change_id)
                .where(OrderChange.draft_order_id == draft_id)
            )
        )
    rows = await d.rows()
    return {
        "draft": await d.get(draft_id),
        "changes": await _changes(d, draft_id),
        "actions": actions,
        "levels": rows["levels"],
        "events": rows["event_outbox"],
    }


def _order_totals(order: dict[str, Any]) -> tuple[float, float, float, float]:
    return (order["item_total"], order["shipping_total"], order["tax_total"], order["total"])


async def _convert_and_compare(d: Drafts, draft: dict[str, Any]) -> dict[str, Any]:
    """Convert the draft: each order's totals are the draft's ``sellers`` entry of its seller."""
    group = ok(await d.convert(draft["id"]))["order_group"]
    orders = {o["seller_id"]: await d.order(o["id"]) for o in group["orders"]}
    assert {s: _order_totals(o) for s, o in orders.items()} == _sellers(draft)
    assert group["total"] == draft["total"]
    return group


# --------------------------------------------------------------------------- the whole flow


async def test_an_edit_previews_to_the_cent_and_its_confirmed_draft_converts_so(
    client, app, admin_headers
):
    d = await _drafts(client, app, admin_headers)
    draft = await d.create()
    e = Edit(d, draft["id"])
    events = (await d.rows())["event_outbox"]
    shirt, mug = _item(draft, d.shirt), _item(draft, d.mug)

    begun = await e.begin()
    change = begun["order_change"]
    assert (change["change_type"], change["status"], change["draft_order_id"]) == (
        "edit",
        "pending",
        draft["id"],
    )
    assert (change["order_id"], change["version"], change["actions"]) == (None, 2, [])
    assert change["created_by"] is not None
    assert _plain(begun) == draft

    # 1 Cap of A (12.00 + 1.20) and 2 × gift wrap of B at 2.50 (5.00 + 0.50); the Shirt line to
    # 2 (33.00 → 66.00); the Mugs at 18.00 (44.00 → 39.60).
    added = await e.add(
        {"variant_id": d.cap, "quantity": 1, "internal_note": "phone"},
        {"title": "Gift wrap", "unit_price": 2.5, "seller_id": d.b, "quantity": 2},
    )
    cap = _item(added, d.cap)
    wrap = next(i for i in added["items"] if i["title"] == "Gift wrap")
    assert (cap["unit_price"], cap["total"], cap["seller_id"]) == (12, 13.2, d.a)
    assert (wrap["variant_id"], wrap["unit_price"], wrap["total"], wrap["seller_id"]) == (
        None,
        2.5,
        5.5,
        d.b,
    )
    assert [a["action"] for a in cap["actions"]] == ["ITEM_ADD"]
    await e.set_item(shirt["id"], quantity=2)
    preview = await e.set_item(mug["id"], quantity=2, unit_price=18)

    assert _sellers(preview) == {d.a: (79.2, 5.5, 7.7, 84.7), d.b: (45.1, 4.4, 4.5, 49.5)}
    assert (preview["item_total"], preview["shipping_total"], preview["total"]) == (
        124.3,
        9.9,
        134.2,
    )
    assert (preview["tax_total"], preview["subtotal"], preview["original_total"]) == (
        12.2,
        122,
        134.2,
    )
    assert [(i["id"], i["quantity"], i["total"]) for i in preview["items"]] == [
        (shirt["id"], 2, 66),
        (mug["id"], 2, 39.6),
        (cap["id"], 1, 13.2),
        (wrap["id"], 2, 5.5),
    ]
    amounts = {a["reference_id"]: a["amount"] for a in preview["order_change"]["actions"]}
    assert amounts == {cap["id"]: 13.2, wrap["id"]: 5.5, shirt["id"]: 33, mug["id"]: -4.4}
    update = _action(preview, "ITEM_UPDATE", shirt["id"])
    assert (update["details"]["quantity"], update["details"]["quantity_diff"]) == (2, 1)
    assert _action(preview, "ITEM_ADD", cap["id"])["internal_note"] == "phone"
    # The draft itself has not moved.
    assert await d.get(draft["id"]) == draft

    requested = await e.preview("/request")
    assert requested["order_change"]["status"] == "requested"
    assert requested["order_change"]["requested_by"] == change["created_by"]
    assert _sellers(requested) == _sellers(preview)

    confirmed = await e.preview("/confirm")
    assert confirmed["order_change"] is None
    stored = await d.get(draft["id"])
    assert _plain(confirmed) == stored
    assert _sellers(stored) == _sellers(preview)
    for name in ("item_total", "shipping_total", "tax_total", "subtotal", "total"):
        assert stored[name] == preview[name], name
    # The lines and methods are the preview's (ids included).
    assert [(i["id"], i["quantity"], i["unit_price"], i["total"]) for i in stored["items"]] == [
        (i["id"], i["quantity"], i["unit_price"], i["total"]) for i in preview["items"]
    ]
    assert [m["id"] for m in stored["shipping_methods"]] == [
        m["id"] for m in preview["shipping_methods"]
    ]
    [(change_id, status, actions)] = await _changes(d, draft["id"])
    assert (change_id, status, actions) == (change["id"], "confirmed", 4)
    async with app.state.sessionmaker() as session:
        applied = await session.scalars(
            select(OrderChangeAction.applied).where(OrderChangeAction.order_change_id == change_id)
        )
        assert set(applied) == {True}
        row = await session.get(OrderChange, change_id)
        assert row is not None and row.confirmed_by == change["created_by"]
    # No event, no stock moved before the conversion.
    assert (await d.rows())["event_outbox"] == events
    assert await d.reservations() == []

    group = await _convert_and_compare(d, stored)
    assert group["total"] == 134.2
    assert sorted(await d.reservations()) == sorted(
        [(d.a, d.shirt, 2), (d.a, d.cap, 1), (d.b, d.mug, 2)]
    )
    # The converted draft refuses another edit.
    error(await e.post(), 400, "invalid_data", CONVERTED.format(draft["id"]))


async def test_shipping_methods_one_per_seller(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    express = ok(
        await client.post(
            "/admin/shipping-options",
            headers=d.admin,
            json={
                "name": "A express",
                "seller_id": d.a,
                "region_id": d.market.region["id"],
                "amount": 9,
            },
        )
    )["shipping_option"]["id"]
    draft = await d.create()
    a_method, b_method = _method(draft, d.a), _method(draft, d.b)
    e = Edit(d, draft["id"])
    await e.begin()

    # A's express replaces A's method; a second option of A replaces that action.
    first = await e.ship(express, description="faster")
    assert [
        (m["seller_id"], m["shipping_option_id"], m["total"]) for m in first["shipping_methods"]
    ] == [
        (d.a, express, 9.9),
        (d.b, d.so_b, 4.4),
    ]
    assert first["shipping_methods"][0]["name"] == "A express"
    assert _sellers(first)[d.a] == (33, 9.9, 3.9, 42.9)
    assert _action(first, "SHIPPING_ADD")["amount"] == 4.4
    second = await e.ship(d.so_a, custom_amount=2)
    adds = [a for a in second["order_change"]["actions"] if a["action"] == "SHIPPING_ADD"]
    assert len(adds) == 1 and adds[0]["details"]["custom_amount"] == 200
    assert _method(second, d.a)["total"] == 2.2
    updated = await e.preview(f"/shipping-methods/{adds[0]['id']}", {"custom_amount": 3})
    assert _method(updated, d.a)["total"] == 3.3
    assert _sellers(updated)[d.a] == (33, 3.3, 3.3, 36.3)

    # B's method replaced through its id (by an option of B only), then that undone.
    error(
        await e.post(f"/shipping-methods/method/{b_method['id']}", {"shipping_option_id": d.so_a}),
        400,
        "invalid_data",
        f"Shipping option {d.so_a} belongs to seller {d.a}, not to seller {d.b} of shipping "
        f"method {b_method['id']}",
    )
    cheaper = await e.preview(
        f"/shipping-methods/method/{b_method['id']}",
        {"shipping_option_id": d.so_b, "custom_amount": 1},
    )
    assert _method(cheaper, d.b)["total"] == 1.1
    b_add = next(
        a
        for a in cheaper["order_change"]["actions"]
        if a["action"] == "SHIPPING_ADD" and a["details"]["seller_id"] == d.b
    )
    assert b_add["details"]["replaces"] == b_method["id"]
    undone = ok(await e.delete(f"/shipping-methods/{b_add['id']}"))["draft_order_preview"]
    assert _method(undone, d.b)["id"] == b_method["id"]

    confirmed = await e.preview("/confirm")
    methods = {m["seller_id"]: m for m in confirmed["shipping_methods"]}
    assert (methods[d.a]["shipping_option_id"], methods[d.a]["amount"]) == (d.so_a, 3)
    assert methods[d.a]["id"] != a_method["id"]  # replaced, not updated in place
    assert methods[d.b] == b_method
    async with app.state.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).where(DraftOrderShippingMethod.draft_order_id == draft["id"])
        )
        assert count == 2
    await _convert_and_compare(d, confirmed)


async def test_removing_a_sellers_lines_and_method_leaves_one_order(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    draft = await d.create()
    e = Edit(d, draft["id"])
    await e.begin()
    mug, b_method = _item(draft, d.mug), _method(draft, d.b)
    removed = await e.set_item(mug["id"], quantity=0)
    assert [i["variant_id"] for i in removed["items"]] == [d.shirt]
    assert _action(removed, "ITEM_UPDATE")["amount"] == -44
    # As in carts, B's method stays until it is dropped too.
    assert _sellers(removed)[d.b] == (0, 4.4, 0.4, 4.4)
    response = await e.delete(f"/shipping-methods/method/{b_method['id']}")
    dropped = ok(response)["draft_order_preview"]
    assert [m["seller_id"] for m in dropped["shipping_methods"]] == [d.a]
    assert _sellers(dropped) == {d.a: (33, 5.5, 3.5, 38.5)}
    assert _action(dropped, "SHIPPING_REMOVE")["amount"] == -4.4
    # Dropped already: a second remove does not find it.
    error(
        await e.delete(f"/shipping-methods/method/{b_method['id']}"),
        404,
        "not_found",
        f"Shipping method with id {b_method['id']} was not found",
    )
    confirmed = await e.preview("/confirm")
    assert confirmed["total"] == 38.5 and len(confirmed["items"]) == 1
    group = await _convert_and_compare(d, confirmed)
    assert [o["seller_id"] for o in group["orders"]] == [d.a]


async def test_another_sellers_items_and_custom_lines_make_another_order(
    client, app, admin_headers
):
    d = await _drafts(client, app, admin_headers, sellers=3)
    c = d.market.sellers[2]["id"]
    c_teapot, so_c = d.market.variants[c][2], d.market.options[c]
    draft = await d.create()
    e = Edit(d, draft["id"])
    await e.begin()
    # C has no lines yet: its option is refused, then accepted once it has.
    error(
        await e.post("/shipping-methods", {"shipping_option_id": so_c}),
        400,
        "invalid_data",
        f"Shipping option {so_c} belongs to seller {c}, who has no items in the draft order",
    )
    await e.add(
        {"variant_id": c_teapot, "quantity": 1, "unit_price": 31.5, "title": "Teapot (phone)"},
        {"title": "Engraving", "unit_price": 4, "seller_id": c, "quantity": 1},
    )
    preview = await e.ship(so_c)
    assert _sellers(preview)[c] == (39.05, 5.5, 4.05, 44.55)
    teapot = _item(preview, c_teapot)
    assert (teapot["title"], teapot["unit_price"], teapot["seller_id"]) == (
        "Teapot (phone)",
        31.5,
        c,
    )
    assert teapot["product_title"] is not None and teapot["variant_title"] is not None
    # The preview honours ``fields`` as the draft does.
    narrow = ok(
        await e.post("/request", params={"fields": "id,total,sellers,items.id,items.total"})
    )["draft_order_preview"]
    assert set(narrow) == {"id", "total", "sellers", "items", "order_change"}
    assert narrow["total"] == preview["total"] == 86.9 + 44.55
    assert [set(i) for i in narrow["items"]] == [{"id", "total", "actions"}] * 4
    confirmed = await e.preview("/confirm")
    assert _sellers(confirmed) == _sellers(preview)
    group = await _convert_and_compare(d, confirmed)
    assert sorted(o["seller_id"] for o in group["orders"]) == sorted([d.a, d.b, c])


async def test_one_active_edit_and_conversion_waits_for_it(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    draft = await d.create()
    e = Edit(d, draft["id"])
    change = (await e.begin())["order_change"]["id"]
    active = f"Draft order {draft['id']} has an active edit {change}"
    error(await e.post(), 400, "invalid_data", active)
    before = await d.rows()
    error(await d.convert(draft["id"]), 400, "invalid_data", active)
    assert await d.rows() == before
    await e.add({"variant_id": d.cap, "quantity": 2})

    # Canceled: kept as such, nothing applied; the edit routes find no active change.
    canceled = ok(await e.delete())
    assert canceled == {"id": draft["id"], "object": "draft-order-edit", "deleted": True}
    assert await _changes(d, draft["id"]) == [(change, "canceled", 1)]
    assert await d.get(draft["id"]) == draft
    for response in (
        await e.post("/items", {"items": [{"variant_id": d.cap, "quantity": 1}]}),
        await e.post(f"/items/item/{draft['items'][0]['id']}", {"quantity": 3}),
        await e.post("/shipping-methods", {"shipping_option_id": d.so_a}),
        await e.post("/request"),
        await e.post("/confirm"),
        await e.delete(),
    ):
        error(response, 400, "invalid_data", NO_ACTIVE_CHANGE)

    # A new edit (version 2 again: the canceled one confirmed nothing), confirmed twice: the
    # second finds no active change; with the first's Idempotency-Key it is replayed.
    second = (await e.begin())["order_change"]
    assert second["version"] == 2 and second["id"] != change
    await e.add({"variant_id": d.cap, "quantity": 1})
    keyed = {**d.admin, "Idempotency-Key": "confirm-draft-edit"}
    first = await d.client.post(e.base + "/confirm", headers=keyed)
    replay = await d.client.post(e.base + "/confirm", headers=keyed)
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == ok(first)
    error(await e.post("/confirm"), 400, "invalid_data", NO_ACTIVE_CHANGE)
    third = (await e.begin())["order_change"]
    assert third["version"] == 3
    ok(await e.delete())
    stored = await d.get(draft["id"])
    assert len(stored["items"]) == 3
    await _convert_and_compare(d, stored)


async def test_a_converted_draft_refuses_every_edit_route(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    draft = await d.create()
    e = Edit(d, draft["id"])
    ok(await d.convert(draft["id"]))
    before = await _state(d, draft["id"])
    item, method = draft["items"][0]["id"], draft["shipping_methods"][0]["id"]
    converted = CONVERTED.format(draft["id"])
    for response in (
        await e.post(),
        await e.post("/items", {"items": [{"variant_id": d.cap, "quantity": 1}]}),
        await e.post(f"/items/item/{item}", {"quantity": 3}),
        await e.post("/items/ordchact_x", {"quantity": 3}),
        await e.delete("/items/ordchact_x"),
        await e.post("/shipping-methods", {"shipping_option_id": d.so_a}),
        await e.post(f"/shipping-methods/method/{method}", {"shipping_option_id": d.so_a}),
        await e.delete(f"/shipping-methods/method/{method}"),
        await e.post("/shipping-methods/ordchact_x", {"custom_amount": 1}),
        await e.delete("/shipping-methods/ordchact_x"),
        await e.post("/request"),
        await e.post("/confirm"),
        await e.delete(),
    ):
        error(response, 400, "invalid_data", converted)
    assert await _state(d, draft["id"]) == before
    missing = Edit(d, "dord_nope")
    for response in (await missing.post(), await missing.post("/confirm"), await missing.delete()):
        error(response, 404, "not_found", "Draft order with id dord_nope was not found")


async def test_concurrent_begins_open_one_edit(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    draft = await d.create()
    e = Edit(d, draft["id"])
    responses = await asyncio.gather(*(e.post() for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [200, 400, 400, 400, 400, 400]
    winner = next(r for r in responses if r.status_code == 200).json()
    change = winner["draft_order_preview"]["order_change"]["id"]
    for refused in (r for r in responses if r.status_code == 400):
        error(
            refused, 400, "invalid_data", f"Draft order {draft['id']} has an active edit {change}"
        )
    assert await _changes(d, draft["id"]) == [(change, "pending", 0)]


async def test_a_begin_that_races_past_the_check_names_the_winner(
    client, app, admin_headers, monkeypatch
):
    """The partial unique index is the last line: a change the lock did not keep out (written
    here before the begin, which is made not to see it) refuses the begin with §15's 400."""
    d = await _drafts(client, app, admin_headers)
    draft = await d.create()
    async with app.state.sessionmaker() as session:
        await session.execute(
            text(
                "INSERT INTO order_change (id, draft_order_id, version, change_type, status) "
                "VALUES ('ordch_other', :d, 2, 'edit', 'pending')"
            ),
            {"d": draft["id"]},
        )
        await session.commit()
    real = edit_commands._active_change
    calls = []

    async def blind_once(session, draft_id):
        calls.append(draft_id)
        return (None, []) if len(calls) == 1 else await real(session, draft_id)

    monkeypatch.setattr(edit_commands, "_active_change", blind_once)
    error(
        await Edit(d, draft["id"]).post(),
        400,
        "invalid_data",
        f"Draft order {draft['id']} has an active edit ordch_other",
    )
    assert len(calls) == 2
    assert await _changes(d, draft["id"]) == [("ordch_other", "pending", 0)]


# --------------------------------------------------------------------------- validation


async def test_every_validation_error_changes_nothing(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers, sellers=3)
    h, region, channel = d.admin, d.market.region["id"], d.market.channel_id
    c = d.market.sellers[2]["id"]
    eur = ok(
        await client.post(
            "/admin/regions",
            headers=h,
            json={"name": "Europe", "currency_code": "eur", "tax_rate": 20},
        )
    )["region"]["id"]
    elsewhere = ok(
        await client.post(
            "/admin/shipping-options",
            headers=h,
            json={"name": "A to Europe", "seller_id": d.a, "region_id": eur, "amount": 9},
        )
    )["shipping_option"]["id"]
    returns = ok(
        await client.post(
            "/admin/shipping-options",
            headers=h,
            json={
                "name": "Return to A",
                "seller_id": d.a,
                "region_id": region,
                "amount": 3,
                "is_return": True,
            },
        )
    )["shipping_option"]["id"]
    draft_product = await create_product(
        client, h, d.a, channels=(channel,), status="draft", variants=[variant("D", 5)]
    )
    offline = await create_product(client, h, d.a, variants=[variant("O", 5)])
    euro_only = await create_product(
        client,
        h,
        d.a,
        channels=(channel,),
        variants=[variant("E", 5, currency="eur", inventory_quantity=10)],
    )
    suspended = ok(
        await client.post("/admin/sellers", headers=h, json={"name": "Gone", "status": "suspended"})
    )["seller"]["id"]
    gone_product = await create_product(client, h, suspended, channels=(channel,))
    unpublished = draft_product["variants"][0]["id"]
    not_in_channel = offline["variants"][0]["id"]
    no_usd = euro_only["variants"][0]["id"]
    gone = gone_product["variants"][0]["id"]

    draft = await d.create()
    e = Edit(d, draft["id"])
    shirt, a_method = _item(draft, d.shirt), _method(draft, d.a)

    # Without an edit, the routes that act on it find none.
    for response in (
        await e.post("/items", {"items": [{"variant_id": d.cap, "quantity": 1}]}),
        await e.post(f"/items/item/{shirt['id']}", {"quantity": 2}),
        await e.delete(f"/shipping-methods/method/{a_method['id']}"),
        await e.post("/request"),
        await e.post("/confirm"),
        await e.delete(),
    ):
        error(response, 400, "invalid_data", NO_ACTIVE_CHANGE)

    await e.begin()
    # An edit with one line added, one updated and one method chosen.
    cap_added = await e.add({"variant_id": d.cap, "quantity": 1})
    cap_action = _action(cap_added, "ITEM_ADD")["id"]
    await e.set_item(shirt["id"], quantity=2)
    shipped = await e.ship(d.so_a, custom_amount=1)
    ship_action = _action(shipped, "SHIPPING_ADD")["id"]
    before = await _state(d, draft["id"])

    def items(*entries: dict[str, Any]) -> dict[str, Any]:
        return {"items": list(entries)}

    cases: list[tuple[str, str, Any, int, str, str | None]] = [
        (
            "POST",
            "/items",
            items({"variant_id": "variant_nope", "quantity": 1}),
            404,
            "not_found",
            "Variant with id variant_nope was not found",
        ),
        (
            "POST",
            "/items",
            items({"variant_id": unpublished, "quantity": 1}),
            400,
            "invalid_data",
            f"Product {draft_product['id']} of variant {unpublished} is not published",
        ),
        (
            "POST",
            "/items",
            items({"variant_id": not_in_channel, "quantity": 1}),
            400,
            "invalid_data",
            f"Variant {not_in_channel} is not available in sales channel {channel}",
        ),
        (
            "POST",
            "/items",
            items({"variant_id": gone, "quantity": 1}),
            400,
            "invalid_data",
            f"Seller {suspended} of variant {gone} is not active",
        ),
        (
            "POST",
            "/items",
            items({"variant_id": no_usd, "quantity": 1}),
            400,
            "invalid_data",
            f"Variant {no_usd} has no price in currency usd",
        ),
        (
            "POST",
            "/items",
            items({"variant_id": d.shirt, "quantity": 1, "seller_id": d.b}),
            400,
            "invalid_data",
            f"Variant {d.shirt} belongs to seller {d.a}, not to seller {d.b}",
        ),
        # 2 Shirts in the edited draft + 9 = 11 of the 10 in stock.
        (
            "POST",
            "/items",
            items({"variant_id": d.shirt, "quantity": 9}),
            400,
            "not_allowed",
            f"Variant {d.shirt} does not have the required inventory (11 requested, 10 available)",
        ),
        (
            "POST",
            "/items",
            items({"quantity": 1, "unit_price": 5, "seller_id": c}),
            400,
            "invalid_data",
            "Invalid request: items.0.title: is required for an item without variant_id",
        ),
        (
            "POST",
            "/items",
            items({"quantity": 1, "title": "Wrap", "seller_id": c}),
            400,
            "invalid_data",
            "Invalid request: items.0.unit_price: is required for an item without variant_id",
        ),
        (
            "POST",
            "/items",
            items({"quantity": 1, "title": "Wrap", "unit_price": 5}),
            400,
            "invalid_data",
            "Invalid request: items.0.seller_id: is required for an item without variant_id",
        ),
        (
            "POST",
            "/items",
            items({"quantity": 1, "title": "Wrap", "unit_price": 5, "seller_id": "sel_nope"}),
            400,
            "invalid_data",
            "Seller with id sel_nope was not found",
        ),
        (
            "POST",
            "/items",
            items({"quantity": 1, "title": "Wrap", "unit_price": 5, "seller_id": suspended}),
            400,
            "invalid_data",
            f"Seller {suspended} is not active",
        ),
        (
            "POST",
            "/items",
            items({"quantity": 1, "title": "Wrap", "unit_price": 1.234, "seller_id": c}),
            400,
            "invalid_data",
            "Invalid request: items.0.unit_price: 1.234 has more decimals than usd allows (2)",
        ),
        # A valid line before a bad one: nothing of the call is kept.
        (
            "POST",
            "/items",
            items({"variant_id": d.mug, "quantity": 1}, {"variant_id": gone, "quantity": 1}),
            400,
            "invalid_data",
            f"Seller {suspended} of variant {gone} is not active",
        ),
        (
            "POST",
            "/items",
            items({"variant_id": d.shirt, "quantity": 0}),
            400,
            "invalid_data",
            None,
        ),
        ("POST", "/items", {"items": []}, 400, "invalid_data", None),
        (
            "POST",
            "/items",
            items({"variant_id": d.cap, "quantity": 1, "foo": 1}),
            400,
            "invalid_data",
            None,
        ),
        (
            "POST",
            "/items/item/dordli_nope",
            {"quantity": 1},
            400,
            "invalid_data",
            f"Items with ids dordli_nope does not exist in draft order with id {draft['id']}.",
        ),
        # A line the edit adds is changed through its action.
        (
            "POST",
            f"/items/item/{_item(cap_added, d.cap)['id']}",
            {"quantity": 2},
            400,
            "invalid_data",
            f"Items with ids {_item(cap_added, d.cap)['id']} does not exist in draft order with id "
            f"{draft['id']}.",
        ),
        ("POST", f"/items/item/{shirt['id']}", {"quantity": -1}, 400, "invalid_data", None),
        ("POST", f"/items/item/{shirt['id']}", {}, 400, "invalid_data", None),
        (
            "POST",
            f"/items/item/{shirt['id']}",
            {"quantity": 11},
            400,
            "not_allowed",
            f"Variant {d.shirt} does not have the required inventory (11 requested, 10 available)",
        ),
        (
            "POST",
            f"/items/item/{shirt['id']}",
            {"quantity": 1, "unit_price": 0.001},
            400,
            "invalid_data",
            "Invalid request: unit_price: 0.001 has more decimals than usd allows (2)",
        ),
        (
            "POST",
            f"/items/{cap_action}",
            {"quantity": 0},
            400,
            "invalid_data",
            f"Quantity of a new item must be at least 1; remove it with DELETE …/items/{cap_action}",
        ),
        (
            "POST",
            f"/items/{cap_action}",
            {"quantity": 11},
            400,
            "not_allowed",
            f"Variant {d.cap} does not have the required inventory (11 requested, 10 available)",
        ),
        (
            "POST",
            f"/items/{ship_action}",
            {"quantity": 2},
            404,
            "not_found",
            f"Order change action with id {ship_action} was not found",
        ),
        (
            "DELETE",
            f"/items/{ship_action}",
            None,
            404,
            "not_found",
            f"Order change action with id {ship_action} was not found",
        ),
        (
            "DELETE",
            "/items/ordchact_nope",
            None,
            404,
            "not_found",
            "Order change action with id ordchact_nope was not found",
        ),
        (
            "POST",
            "/shipping-methods",
            {"shipping_option_id": "so_nope"},
            404,
            "not_found",
            "Shipping option with id so_nope was not found",
        ),
        (
            "POST",
            "/shipping-methods",
            {"shipping_option_id": returns},
            400,
            "invalid_data",
            f"Shipping option {returns} is a return option and cannot ship items to the customer",
        ),
        (
            "POST",
            "/shipping-methods",
            {"shipping_option_id": elsewhere},
            400,
            "invalid_data",
            f"Shipping option {elsewhere} is not available in region {region}",
        ),
        (
            "POST",
            "/shipping-methods",
            {"shipping_option_id": d.market.options[c]},
            400,
            "invalid_data",
            f"Shipping option {d.market.options[c]} belongs to seller {c}, who has no items in the "
            "draft order",
        ),
        (
            "POST",
            "/shipping-methods",
            {"shipping_option_id": d.so_b, "custom_amount": 0.001},
            400,
            "invalid_data",
            "Invalid request: custom_amount: 0.001 has more decimals than usd allows (2)",
        ),
        (
            "POST",
            "/shipping-methods",
            {"shipping_option_id": d.so_b, "custom_amount": -1},
            400,
            "invalid_data",
            None,
        ),
        (
            "POST",
            "/shipping-methods/method/dordsm_nope",
            {"shipping_option_id": d.so_a},
            404,
            "not_found",
            "Shipping method with id dordsm_nope was not found",
        ),
        (
            "DELETE",
            "/shipping-methods/method/dordsm_nope",
            None,
            404,
            "not_found",
            "Shipping method with id dordsm_nope was not found",
        ),
        (
            "POST",
            f"/shipping-methods/{cap_action}",
            {"custom_amount": 1},
            404,
            "not_found",
            f"Order change action with id {cap_action} was not found",
        ),
        (
            "DELETE",
            f"/shipping-methods/{cap_action}",
            None,
            404,
            "not_found",
            f"Order change action with id {cap_action} was not found",
        ),
        (
            "POST",
            f"/shipping-methods/{ship_action}",
            {"shipping_option_id": d.so_b},
            400,
            "invalid_data",
            None,
        ),
        ("POST", "/request?fields=nope", None, 400, "invalid_data", None),
        (
            "POST",
            "/confirm?foo=1",
            None,
            400,
            "invalid_data",
            "Invalid request: Unrecognized fields: 'foo'",
        ),
    ]
    for method, tail, body, status, type_, message in cases:
        if method == "POST":
            response = await e.post(tail, body)
        else:
            response = await e.delete(tail)
        error(response, status, type_, message)
        assert await _state(d, draft["id"]) == before, (method, tail)


async def test_confirm_checks_the_added_lines_again(client, app, admin_headers):
    """What changed since a line was added refuses the confirmation whole: the draft keeps its
    lines, the edit stays pending."""
    d = await _drafts(client, app, admin_headers)
    draft = await d.create()
    e = Edit(d, draft["id"])
    await e.begin()
    await e.add({"variant_id": d.cap, "quantity": 4})
    await e.set_item(_item(draft, d.mug)["id"], quantity=3)
    before = await _state(d, draft["id"])

    ok(await d.post(f"/admin/sellers/{d.a}", {"status": "suspended"}))
    error(
        await e.post("/confirm"),
        400,
        "invalid_data",
        f"Seller {d.a} of variant {d.cap} is not active",
    )
    assert await _state(d, draft["id"]) == before
    ok(await d.post(f"/admin/sellers/{d.a}", {"status": "active"}))

    # A checkout takes 8 of the 10 Mugs: the 3 the edit sets are no longer there.
    cart = await ready_cart(client, d.market, [(d.mug, 8)])
    ok(await complete(client, d.market, cart["id"]))
    before = await _state(d, draft["id"])
    refused = await e.post("/confirm")
    error(
        refused,
        400,
        "not_allowed",
        f"Variant {d.mug} does not have the required inventory (3 requested, 2 available)",
    )
    assert refused.json()["code"] == "insufficient_inventory"
    assert await _state(d, draft["id"]) == before
    # Back to 2 Mugs, it confirms.
    await e.set_item(_item(draft, d.mug)["id"], quantity=2)
    confirmed = await e.preview("/confirm")
    assert [(i["variant_id"], i["quantity"]) for i in confirmed["items"]] == [
        (d.shirt, 1),
        (d.mug, 2),
        (d.cap, 4),
    ]


async def test_a_draft_stays_within_a_carts_bound(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    draft = await d.create()
    e = Edit(d, draft["id"])
    await e.begin()
    before = await _state(d, draft["id"])
    big = {"title": "Machine", "seller_id": d.a, "unit_price": 9_000_000_000, "quantity": 10_000}
    message = error(await e.post("/items", {"items": [big]}), 400, "invalid_data")
    assert message.startswith(f"Draft order {draft['id']} would amount to more than ")
    assert await _state(d, draft["id"]) == before

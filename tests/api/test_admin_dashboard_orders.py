"""The admin dashboard's order pages against Mercato (admin-dashboard.md §5 intro, §5.1, §5.3's
order-change calls, §6): the exact requests of ``@medusajs/dashboard`` 2.21.2 answer 200 with
the keys and values the dashboard reads."""

from __future__ import annotations

from typing import Any

import pytest

from mercato.domain.order_group import PAYMENT_OVER_CAPTURE
from tests.api.discount_helpers import add_promotion, discount
from tests.api.edit_helpers import edits_world
from tests.api.helpers import error, login, ok
from tests.api.return_helpers import setup as returns_setup

# ``src/routes/orders/order-list/const.ts`` — DEFAULT_FIELDS, verbatim.
LIST_FIELDS = (
    "id,status,created_at,email,display_id,custom_display_id,payment_status,fulfillment_status,"
    "total,currency_code,*customer,*sales_channel,*payment_collections,*shipping_address"
)
# ``src/routes/orders/order-detail/constants.ts`` — DEFAULT_FIELDS, verbatim.
DETAIL_FIELDS = (
    "id,status,created_at,canceled_at,email,display_id,custom_display_id,currency_code,metadata,"
    "total,credit_line_total,item_subtotal,item_total,item_tax_total,original_item_tax_total,"
    "item_discount_total,shipping_subtotal,original_total,original_tax_total,subtotal,"
    "discount_total,discount_subtotal,shipping_total,shipping_tax_total,"
    "original_shipping_tax_total,shipping_discount_total,tax_total,refundable_total,"
    "order_change,*customer,*items,*items.variant,*items.variant.product,"
    "*items.variant.options,+items.variant.manage_inventory,"
    "*items.variant.inventory_items.inventory,+items.variant.inventory_items.required_quantity,"
    "+summary,*shipping_address,*billing_address,*sales_channel,*promotions,*shipping_methods,"
    "*credit_lines,*fulfillments,+fulfillments.shipping_option.service_zone.fulfillment_set.type,"
    "*fulfillments.items,*fulfillments.labels,*fulfillments.labels,*payment_collections,"
    "*payment_collections.payment_sessions,*payment_collections.payments,"
    "*payment_collections.payments.refunds,*payment_collections.payments.refunds.refund_reason,"
    "region.automatic_taxes"
)
# The fulfilment rows of §5.1 (``fulfillments.shipping_option…``) belong to the fulfilment
# work; this branch checks the rest of the page's request.
FULFILMENT_ENTRY = "+fulfillments.shipping_option.service_zone.fulfillment_set.type"
DETAIL_FIELDS_WITHOUT_OPTION = ",".join(
    e for e in DETAIL_FIELDS.split(",") if e != FULFILMENT_ENTRY
)
TIMELINE_FIELDS = "created_at,total,currency_code"

ITEM_KEYS = {
    "id",
    "title",
    "subtitle",
    "thumbnail",
    "product_id",
    "variant_id",
    "variant_sku",
    "variant_title",
    "quantity",
    "unit_price",
    "subtotal",
    "total",
    "requires_shipping",
    "detail",
    "adjustments",
    "created_at",
}
SHIPPING_METHOD_KEYS = {
    "id",
    "name",
    "shipping_option_id",
    "amount",
    "subtotal",
    "tax_total",
    "discount_total",
    "total",
    "adjustments",
    "created_at",
}
COLLECTION_AMOUNTS = ("amount", "authorized_amount", "captured_amount", "refunded_amount")


async def get_order(client, headers, order_id: str, **params: Any) -> dict[str, Any]:
    return ok(await client.get(f"/admin/orders/{order_id}", params=params, headers=headers))[
        "order"
    ]


def numbers(collection: dict[str, Any]) -> None:
    for name in COLLECTION_AMOUNTS:
        value = collection[name]
        assert isinstance(value, int | float) and not isinstance(value, bool), (name, value)


# ------------------------------------------------------------------------------ §5 fields


async def test_order_list_answers_the_dashboards_fields(client, placed):
    market, group_id, a, b = placed
    body = ok(
        await client.get("/admin/orders", params={"fields": LIST_FIELDS}, headers=market.admin)
    )
    orders = {o["id"]: o for o in body["orders"]}
    assert set(orders) == {a, b}
    order = orders[a]
    assert set(order) == {
        "id",
        "status",
        "created_at",
        "email",
        "display_id",
        "custom_display_id",
        "payment_status",
        "fulfillment_status",
        "total",
        "currency_code",
        "customer",
        "sales_channel",
        "payment_collections",
        "shipping_address",
    }
    assert order["custom_display_id"] is None and isinstance(order["display_id"], int)
    assert (
        order["payment_status"] == "authorized" and order["fulfillment_status"] == "not_fulfilled"
    )
    assert order["total"] == 38.5 and order["currency_code"] == "usd"
    channel = order["sales_channel"]
    assert set(channel) == {
        "id",
        "name",
        "description",
        "is_disabled",
        "metadata",
        "created_at",
        "updated_at",
    }
    assert channel["id"] == market.channel_id and channel["is_disabled"] is False
    (collection,) = order["payment_collections"]
    numbers(collection)
    assert collection["amount"] == 38.5 and collection["authorized_amount"] == 38.5
    assert collection["captured_amount"] == 0 and collection["refunded_amount"] == 0
    assert order["shipping_address"] is None or isinstance(order["shipping_address"], dict)


async def test_order_page_answers_the_dashboards_fields(client, placed):
    market, group_id, a, b = placed
    order = await get_order(client, market.admin, a, fields=DETAIL_FIELDS_WITHOUT_OPTION)
    assert order["id"] == a and order["status"] == "pending" and order["version"] == 1
    assert order["custom_display_id"] is None and order["canceled_at"] is None
    # 30.00 + 10 % tax, shipping 5.00 + 0.50 tax.
    assert order["total"] == 38.5 and order["item_total"] == 33 and order["item_tax_total"] == 3
    assert order["original_item_tax_total"] == 3 and order["original_shipping_tax_total"] == 0.5
    assert order["original_tax_total"] == 3.5 and order["tax_total"] == 3.5
    assert order["item_discount_total"] == 0 and order["shipping_discount_total"] == 0
    assert order["refundable_total"] == 0 and order["credit_line_total"] == 0
    assert order["order_change"] is None and order["credit_lines"] == []
    assert order["summary"]["original_order_total"] == 38.5
    assert order["sales_channel"]["id"] == market.channel_id
    assert order["region"] == {"id": market.region["id"], "automatic_taxes": True}
    (item,) = order["items"]
    assert set(item) >= ITEM_KEYS
    assert item["detail"]["fulfilled_quantity"] == 0 and item["requires_shipping"] is True
    assert item["adjustments"] == []
    variant = item["variant"]
    assert variant["options"] == [] and variant["inventory_items"] == []
    assert variant["manage_inventory"] is True and variant["product"]["id"] == item["product_id"]
    (method,) = order["shipping_methods"]
    assert set(method) >= SHIPPING_METHOD_KEYS and method["total"] == 5.5
    (collection,) = order["payment_collections"]
    numbers(collection)
    (session,) = collection["payment_sessions"]
    assert set(session) == {"id", "provider_id", "amount", "currency_code", "status", "created_at"}
    assert session["provider_id"] == "pp_system_default"
    (payment,) = collection["payments"]
    assert payment["amount"] == 38.5  # this order's share of the group's payment
    assert payment["captured_at"] is None and payment["canceled_at"] is None
    assert payment["refunds"] == [] and payment["provider_id"] == "pp_system_default"
    assert order["fulfillments"] == [] and order["promotions"] == []


async def test_order_page_with_the_fulfilment_option_entry(client, placed):
    """The page's request verbatim, fulfilment option included (answered by the fulfilment
    work of §5.1; 400 naming only that path until then)."""
    market, group_id, a, b = placed
    response = await client.get(
        f"/admin/orders/{a}", params={"fields": DETAIL_FIELDS}, headers=market.admin
    )
    if response.status_code == 400:
        message = response.json()["message"]
        assert message == (
            "Requested fields [fulfillments.shipping_option.service_zone.fulfillment_set.type] "
            "are not valid"
        )
        pytest.skip("fulfillments.shipping_option is the fulfilment branch's")
    assert ok(response)["order"]["id"] == a


async def test_payment_views_follow_captures_and_refunds(client, placed):
    market, group_id, a, b = placed
    ok(await client.post(f"/admin/orders/{a}/capture", json={}, headers=market.admin))
    ok(
        await client.post(
            f"/admin/orders/{a}/refund", json={"amount": 10, "note": "dent"}, headers=market.admin
        )
    )
    order = await get_order(client, market.admin, a, fields=DETAIL_FIELDS_WITHOUT_OPTION)
    (collection,) = order["payment_collections"]
    numbers(collection)
    assert collection["amount"] == 38.5 and collection["captured_amount"] == 38.5
    assert collection["refunded_amount"] == 10 and collection["authorized_amount"] == 38.5
    (payment,) = collection["payments"]
    assert payment["amount"] == 38.5 and payment["captured_at"] is not None
    (refund,) = payment["refunds"]
    assert refund["amount"] == 10 and refund["note"] == "dent" and refund["refund_reason"] is None
    assert refund["payment_id"] == payment["id"]
    assert order["refundable_total"] == 28.5
    # The sibling sees none of it.
    sibling = await get_order(client, market.admin, b, fields="*payment_collections.payments")
    (other,) = sibling["payment_collections"]
    assert other["captured_amount"] == 0 and other["refunded_amount"] == 0
    assert other["payments"][0]["captured_at"] is None and other["payments"][0]["amount"] == 38.5


async def test_a_canceled_orders_share_is_voided(client, placed):
    market, group_id, a, b = placed
    ok(await client.post(f"/admin/orders/{a}/cancel", headers=market.admin))
    order = await get_order(client, market.admin, a, fields="*payment_collections.payments")
    (collection,) = order["payment_collections"]
    assert collection["authorized_amount"] == 0 and collection["captured_amount"] == 0
    assert collection["status"] == "canceled"  # nothing pending for the dashboard
    assert collection["payments"][0]["canceled_at"] is not None
    sibling = await get_order(client, market.admin, b, fields="*payment_collections.payments")
    assert sibling["payment_collections"][0]["payments"][0]["canceled_at"] is None
    # The page waits for the preview: it answers for a canceled order too.
    preview = ok(await client.get(f"/admin/orders/{a}/preview", headers=market.admin))["order"]
    assert preview["id"] == a and preview["status"] == "canceled"


async def test_line_refundable_total_and_part_totals_follow_a_return(client, app, place_group):
    r = await returns_setup(client, app, place_group)
    await r.capture(r.a)
    await r.fulfil(r.a)
    await r.requested(1)
    order = await get_order(
        client,
        r.admin,
        r.a,
        fields="items.id,items.total,items.refundable_total,items.detail,"
        "original_item_tax_total,original_shipping_tax_total,original_tax_total",
    )
    shirt = next(i for i in order["items"] if i["id"] == r.shirt)
    # 2 × 30.00 + 10 % = 66.00; one unit deducted: 33.00 left.
    assert shirt["total"] == 66 and shirt["detail"]["deducted_quantity"] == 1
    assert shirt["refundable_total"] == 33
    assert (
        order["original_item_tax_total"] + order["original_shipping_tax_total"]
        == (order["original_tax_total"])
    )


async def test_part_discount_and_tax_totals(client, app, place_group):
    """3 × 10.00 with a seller 1.20 and an operator 1.38 off the line (tax parts 0.12, 0.14)
    and an operator 1.00 off the 5.00 shipping (tax part 0.10), 10 % tax: as placement writes
    them (test_order_discount_reads.py)."""
    market, group, orders = await place_group(
        lines=[(0, 0, 3)], sellers=1, prices=(10,), shipping=5
    )
    (order_id,) = orders.values()
    shop = await add_promotion(app, "SHOP", "seller", seller_id=market.sellers[0]["id"])
    site = await add_promotion(app, "SITE", "operator")
    await discount(
        app,
        order_id,
        line=[(shop, "seller", 120, 12), (site, "operator", 138, 14)],
        shipping=[(site, "operator", 100, 10)],
    )
    order = await get_order(client, market.admin, order_id, fields=DETAIL_FIELDS_WITHOUT_OPTION)
    assert order["item_discount_total"] == 2.84 and order["shipping_discount_total"] == 1.1
    assert order["discount_total"] == 3.94
    assert order["original_item_tax_total"] == 3 and order["original_shipping_tax_total"] == 0.5
    assert order["original_tax_total"] == 3.5 and order["tax_total"] == 3.14
    (item,) = order["items"]
    assert [a["code"] for a in item["adjustments"]] == ["SHOP", "SITE"]
    (method,) = order["shipping_methods"]
    assert method["discount_total"] == 1.1 and [a["code"] for a in method["adjustments"]] == [
        "SITE"
    ]
    assert {p["code"] for p in order["promotions"]} == {"SHOP", "SITE"}


async def test_fields_parser_replace_and_modifier_modes_on_orders(client, placed):
    market, group_id, a, b = placed
    # Replace mode: ``-x`` among bare entries selects ``x``.
    order = await get_order(client, market.admin, a, fields="email,-total")
    assert order["total"] == 38.5 and order["email"]
    # Modifier mode: ``-items`` removes ``*items`` and what is below it.
    order = await get_order(client, market.admin, a, fields="-items,-shipping_methods")
    assert "items" not in order and "shipping_methods" not in order and "summary" in order
    order = await get_order(client, market.admin, a, fields="*items,-items.variant")
    assert "variant" not in order["items"][0]
    # A path through a constant: the synthetic object carries only the keys requested.
    order = await get_order(
        client, market.admin, a, fields="id,items.variant.inventory_items.inventory.id"
    )
    assert order["items"][0]["variant"]["inventory_items"] == []
    error(
        await client.get(f"/admin/orders/{a}", params={"fields": "+nope"}, headers=market.admin),
        400,
        "invalid_data",
        "Requested fields [nope] are not valid",
    )


async def test_vendor_orders_keep_their_field_set(client, placed):
    market, group_id, a, b = placed
    seller_id = market.sellers[0]["id"]
    ok(
        await client.post(
            f"/admin/sellers/{seller_id}/members",
            json={"email": "v@a.test", "password": "supersecret"},
            headers=market.admin,
        )
    )
    vendor = await login(client, "seller", "v@a.test", "supersecret")
    error(
        await client.get(
            f"/vendor/orders/{a}", params={"fields": "custom_display_id"}, headers=vendor
        ),
        400,
        "invalid_data",
        "Requested fields [custom_display_id] are not valid",
    )


# ------------------------------------------------------------------------------ §6


async def test_statuses_are_always_answered(client, placed):
    market, group_id, a, b = placed
    order = await get_order(client, market.admin, a, fields="total")
    assert order == {
        "id": a,
        "total": 38.5,
        "payment_status": "authorized",
        "fulfillment_status": "not_fulfilled",
        "status": "pending",
        "version": 1,
    }
    order = await get_order(client, market.admin, a, fields="-payment_status,-status,-version")
    assert order["payment_status"] == "authorized" and order["version"] == 1
    body = ok(await client.get("/admin/orders", params={"fields": "total"}, headers=market.admin))
    assert {frozenset(o) for o in body["orders"]} == {
        frozenset({"id", "total", "payment_status", "fulfillment_status"})
    }
    preview = ok(
        await client.get(
            f"/admin/orders/{a}/preview", params={"fields": "total"}, headers=market.admin
        )
    )["order"]
    assert {"id", "payment_status", "fulfillment_status", "status", "version"} <= set(preview)


async def test_preview_answers_for_an_order_without_a_change(client, placed):
    market, group_id, a, b = placed
    preview = ok(await client.get(f"/admin/orders/{a}/preview", headers=market.admin))["order"]
    assert preview["id"] == a and preview["order_change"] is None
    assert preview["items"][0]["detail"]["fulfilled_quantity"] == 0
    assert preview["items"][0]["actions"] == []


async def test_version_reads(client, app, admin_headers):
    e = await edits_world(client, app, admin_headers)
    # Version 1 of an unchanged order is its current version: a plain read.
    order = await get_order(client, e.admin, e.a, version="1", fields=TIMELINE_FIELDS)
    assert order["version"] == 1 and order["total"] == 71.5 and "payment_status" in order
    await e.worked_edit()
    ok(await e.edit("/request"))
    ok(await e.edit("/confirm"))
    current = await get_order(client, e.admin, e.a)
    assert current["version"] == 2 and current["total"] != 71.5
    placed_order = await get_order(client, e.admin, e.a, version="1", fields=TIMELINE_FIELDS)
    assert placed_order == {
        "id": e.a,
        "created_at": current["created_at"],
        "total": 71.5,  # summary.original_order_total: "Order placed"
        "currency_code": "usd",
    }
    whole = await get_order(client, e.admin, e.a, version="1")
    assert whole == {**placed_order, "version": 1, "display_id": current["display_id"]}
    again = await get_order(client, e.admin, e.a, version="2", fields="total")
    assert again["total"] == current["total"] and again["version"] == 2
    message = f"Only version 1 and the current version 2 of order {e.a} can be read"
    for version in ("3", "0", "x"):
        error(
            await client.get(f"/admin/orders/{e.a}", params={"version": version}, headers=e.admin),
            400,
            "invalid_data",
            message,
        )
    error(
        await client.get(
            f"/admin/orders/{e.a}", params={"version": "1", "fields": "items"}, headers=e.admin
        ),
        400,
        "invalid_data",
        "Requested fields [items] are not valid",
    )


async def test_payment_capture_of_a_shared_payment_needs_the_order(client, placed):
    market, group_id, a, b = placed
    order = await get_order(client, market.admin, a, fields="*payment_collections.payments")
    payment_id = order["payment_collections"][0]["payments"][0]["id"]
    error(
        await client.post(
            f"/admin/payments/{payment_id}/capture", json={"amount": 38.5}, headers=market.admin
        ),
        400,
        "invalid_data",
        f"Payment {payment_id} serves 2 orders; pass order_id or use "
        "POST /admin/orders/<id>/capture",
    )
    error(
        await client.post(
            f"/admin/payments/{payment_id}/capture",
            json={"amount": 10, "order_id": "order_nope"},
            headers=market.admin,
        ),
        400,
        "invalid_data",
    )
    ok(
        await client.post(
            f"/admin/payments/{payment_id}/capture",
            json={"amount": 38.5, "order_id": a},
            headers=market.admin,
        )
    )
    assert (await get_order(client, market.admin, a))["payment_status"] == "captured"
    assert (await get_order(client, market.admin, b))["payment_status"] == "authorized"
    # Without an amount: every share (orders.md).
    ok(await client.post(f"/admin/payments/{payment_id}/capture", headers=market.admin))
    assert (await get_order(client, market.admin, b))["payment_status"] == "captured"


async def test_payment_capture_of_a_one_order_payment_takes_an_amount(client, place_group):
    market, group, orders = await place_group(sellers=1, prices=(30,), shipping=5)
    (order_id,) = orders.values()
    order = await get_order(client, market.admin, order_id, fields="*payment_collections.payments")
    payment_id = order["payment_collections"][0]["payments"][0]["id"]
    url = f"/admin/payments/{payment_id}/capture"
    error(
        await client.post(url, json={"amount": 38.51}, headers=market.admin),
        400,
        "invalid_data",
        PAYMENT_OVER_CAPTURE,
    )
    ok(await client.post(url, json={"amount": 10}, headers=market.admin))
    order = await get_order(client, market.admin, order_id, fields="*payment_collections")
    assert order["payment_status"] == "partially_captured"
    assert order["payment_collections"][0]["captured_amount"] == 10


# ------------------------------------------------------------------------------ §5.3


async def test_order_change_lists_the_page_reads(client, app, place_group):
    r = await returns_setup(client, app, place_group)
    await r.capture(r.a)
    await r.fulfil(r.a)
    ret = await r.requested(1)
    # The timeline's request, verbatim: ``return`` (as in Medusa) matches no change type.
    timeline = ["edit", "claim", "exchange", "return", "transfer", "update_order"]
    changes = ok(
        await client.get(
            f"/admin/orders/{r.a}/changes",
            params={"change_type[]": [*timeline, "return_request"]},
            headers=r.admin,
        )
    )["order_changes"]
    assert [c["change_type"] for c in changes] == ["return_request"]
    changes = ok(
        await client.get(
            f"/admin/orders/{r.a}/changes", params={"change_type[]": timeline}, headers=r.admin
        )
    )["order_changes"]
    assert changes == []
    only_new = ok(
        await client.get(
            f"/admin/orders/{r.a}/changes",
            params={"change_type[]": ["transfer", "update_order"]},
            headers=r.admin,
        )
    )["order_changes"]
    assert only_new == []
    for fields in ("*items,*items.reason", "+received_at,*items", "+received_at"):
        params = {"order_id": r.a, "fields": fields}
        returns = ok(await client.get("/admin/returns", params=params, headers=r.admin))["returns"]
        assert [x["id"] for x in returns] == [ret]
    params = {"order_id": r.a, "fields": "*items,*items.reason"}
    (listed,) = ok(await client.get("/admin/returns", params=params, headers=r.admin))["returns"]
    assert listed["items"][0]["item_id"] == r.shirt and listed["items"][0]["reason"] is None
    params = {"order_id": r.a, "status": "requested", "fields": "+received_at"}
    (requested,) = ok(await client.get("/admin/returns", params=params, headers=r.admin))["returns"]
    assert requested["received_at"] is None and requested["status"] == "requested"
    for kind in ("claims", "exchanges"):
        params = {"order_id": r.a, "fields": "*additional_items"}
        assert ok(await client.get(f"/admin/{kind}", params=params, headers=r.admin))[kind] == []


async def test_order_line_items_include_lines_an_edit_removed(client, app, admin_headers):
    e = await edits_world(client, app, admin_headers)
    await e.begin_edit()
    await e.preview(f"/items/item/{e.shirt}", {"quantity": 0})
    await e.preview("/items", {"items": [{"variant_id": e.cap_variant, "quantity": 1}]})
    ok(await e.edit("/request"))
    ok(await e.edit("/confirm"))
    order = await get_order(client, e.admin, e.a, fields="items.id")
    assert e.shirt not in [i["id"] for i in order["items"]]
    body = ok(
        await client.get(
            f"/admin/orders/{e.a}/line-items",
            params={"fields": "+quantity", "item_id[]": [e.shirt]},
            headers=e.admin,
        )
    )
    (shirt,) = body["order_items"]
    assert set(shirt) == {"item_id", "quantity", "item"}
    assert shirt["item_id"] == e.shirt and shirt["quantity"] == 0
    assert shirt["item"]["id"] == e.shirt and shirt["item"]["title"]
    every = ok(await client.get(f"/admin/orders/{e.a}/line-items", headers=e.admin))
    assert len(every["order_items"]) == 2
    # The timeline names an edit's version (and the one before) to read removed lines' titles.
    version = (await get_order(client, e.admin, e.a, fields="version"))["version"]
    for named in (1, version):
        params = {"item_id[]": [e.shirt], "version": str(named)}
        url = f"/admin/orders/{e.a}/line-items"
        listed = ok(await client.get(url, params=params, headers=e.admin))["order_items"]
        assert [i["item_id"] for i in listed] == [e.shirt]
    for wrong in (0, version + 1, "x"):
        error(
            await client.get(f"/admin/orders/{e.a}/line-items?version={wrong}", headers=e.admin),
            400,
            "invalid_data",
            f"version must be a version of order {e.a}, 1 to {version}",
        )
    error(
        await client.get(f"/admin/orders/{e.a}/line-items?limit=1", headers=e.admin),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'limit'",
    )
    error(
        await client.get("/admin/orders/order_nope/line-items", headers=e.admin),
        404,
        "not_found",
        "Order with id order_nope was not found",
    )


async def test_the_dashboards_order_list_does_not_grow_with_the_page(
    client, place_group, count_statements
):
    """The list's request, payment shares and all, costs the same statements for 1 or 3 orders."""
    market, group, orders = await place_group(sellers=3, prices=(30,), shipping=5)
    counts = []
    for limit in (1, 3):
        async with count_statements() as counter:
            body = ok(
                await client.get(
                    "/admin/orders",
                    params={"fields": LIST_FIELDS, "limit": str(limit)},
                    headers=market.admin,
                )
            )
        assert len(body["orders"]) == limit
        counts.append(counter.count)
    assert counts[0] == counts[1]

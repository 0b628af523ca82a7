"""The group's computed ``summary`` (order-changes.md §4, order-groups.md) and the store's extra
group fields for the orders' money and returns (order-changes.md §10)."""

from __future__ import annotations

from tests.api.checkout_helpers import build_marketplace, complete, ready_cart
from tests.api.helpers import error, ok
from tests.api.test_order_groups import register_customer
from tests.api.test_returns import _fulfil_and_capture

SUMMARY_FIELDS = {
    "original_order_total",
    "current_order_total",
    "accounting_total",
    "credit_line_total",
    "paid_total",
    "refunded_total",
    "transaction_total",
    "pending_difference",
    "return_requested_total",
    "refund_due",
    "amount_due",
}


async def _returned_group(client, admin_headers):
    """Alice's group of two orders (A and B); A captured, one of its units returned and
    received, another unit requested for return (in transit)."""
    market = await build_marketplace(client, admin_headers, sellers=2, prices=(30,), shipping=5)
    a_seller, b_seller = (s["id"] for s in market.sellers)
    alice = await register_customer(client, market, "alice@example.com")
    items = [(market.variants[a_seller][0], 3), (market.variants[b_seller][0], 1)]
    cart = await ready_cart(client, market, items, headers=alice)
    group = ok(await complete(client, market, cart["id"], alice))["order_group"]
    orders = {o["seller_id"]: o["id"] for o in group["orders"]}
    h = market.admin
    order_a = await _fulfil_and_capture(client, h, orders[a_seller])
    line = order_a["items"][0]
    for receive in (True, False):
        ret = ok(
            await client.post("/admin/returns", headers=h, json={"order_id": orders[a_seller]})
        )["return"]
        ok(
            await client.post(
                f"/admin/returns/{ret['id']}/request-items",
                headers=h,
                json={"items": [{"id": line["id"], "quantity": 1}]},
            )
        )
        ok(await client.post(f"/admin/returns/{ret['id']}/request", headers=h, json={}))
        if receive:
            ok(await client.post(f"/admin/returns/{ret['id']}/receive", headers=h, json={}))
            ok(
                await client.post(
                    f"/admin/returns/{ret['id']}/receive-items",
                    headers=h,
                    json={"items": [{"id": line["id"], "quantity": 1}]},
                )
            )
            ok(await client.post(f"/admin/returns/{ret['id']}/receive/confirm", headers=h))
    return market, alice, group["id"], orders[a_seller], orders[b_seller]


async def test_group_summary_sums_the_orders_summaries(client, admin_headers):
    market, _, group_id, a, b = await _returned_group(client, admin_headers)
    h = market.admin
    summaries = [
        ok(await client.get(f"/admin/orders/{o}", headers=h))["order"]["summary"] for o in (a, b)
    ]
    expected = {name: round(summaries[0][name] + summaries[1][name], 2) for name in SUMMARY_FIELDS}
    # The case exercises every kind of money: paid, received (refund due), in transit, unpaid.
    assert expected["paid_total"] > 0 and expected["refund_due"] > 0
    assert expected["return_requested_total"] > 0 and expected["pending_difference"] != 0

    default = ok(await client.get(f"/admin/order-groups/{group_id}", headers=h))["order_group"]
    assert "summary" not in default
    detail = ok(
        await client.get(
            f"/admin/order-groups/{group_id}", params={"fields": "+summary"}, headers=h
        )
    )["order_group"]
    assert detail["summary"] == expected
    assert detail["total"] == expected["current_order_total"]

    listed = ok(
        await client.get(
            "/admin/order-groups", params={"fields": "id,summary", "id": group_id}, headers=h
        )
    )["order_groups"]
    assert listed == [{"id": group_id, "summary": expected}]
    listed = ok(await client.get("/admin/order-groups", params={"id": group_id}, headers=h))
    assert "summary" not in listed["order_groups"][0]


async def test_store_group_reads_allow_the_summary_and_the_returns(client, admin_headers):
    market, alice, group_id, a, b = await _returned_group(client, admin_headers)
    store = {**market.store, **alice}
    admin_group = ok(
        await client.get(
            f"/admin/order-groups/{group_id}",
            params={"fields": "summary,orders.summary,*orders.returns,*orders.returns.items"},
            headers=market.admin,
        )
    )["order_group"]

    plain = ok(await client.get(f"/store/order-groups/{group_id}", headers=store))["order_group"]
    assert "summary" not in plain
    assert all("summary" not in o and "returns" not in o for o in plain["orders"])

    fields = "+summary,+orders.summary,+orders.returns,+orders.returns.items"
    for url in (f"/store/order-groups/{group_id}", "/store/order-groups"):
        body = ok(await client.get(url, params={"fields": fields}, headers=store))
        group = body.get("order_group") or body["order_groups"][0]
        assert group["summary"] == admin_group["summary"]
        orders = {o["id"]: o for o in group["orders"]}
        admin_orders = {o["id"]: o for o in admin_group["orders"]}
        assert {k: o["summary"] for k, o in orders.items()} == {
            k: o["summary"] for k, o in admin_orders.items()
        }
        assert orders[b]["returns"] == []
        returns = orders[a]["returns"]
        admin_returns = admin_orders[a]["returns"]
        assert [r["status"] for r in returns] == ["received", "requested"]
        for mine, full in zip(returns, admin_returns, strict=True):
            assert set(mine) == {
                "id",
                "display_id",
                "status",
                "refund_amount",
                "requested_at",
                "received_at",
                "items",
            }
            assert {k: full[k] for k in mine if k != "items"} == {
                k: v for k, v in mine.items() if k != "items"
            }
            assert [set(i) for i in mine["items"]] == [
                {"id", "item_id", "quantity", "received_quantity"}
            ]
        assert [i["received_quantity"] for r in returns for i in r["items"]] == [1, 0]

    fields = "+orders.payment_collections"
    group = ok(
        await client.get(
            f"/store/order-groups/{group_id}", params={"fields": fields}, headers=store
        )
    )["order_group"]
    admin_orders = {o["id"]: o for o in admin_group["orders"]}
    for order in group["orders"]:
        full = ok(
            await client.get(
                f"/admin/orders/{order['id']}",
                params={"fields": "id,*payment_collections"},
                headers=market.admin,
            )
        )["order"]["payment_collections"]
        assert order["payment_collections"] == [
            {k: c[k] for k in ("id", "source", "amount", "currency_code", "status")} for c in full
        ]
        assert order["payment_collections"] and order["id"] in admin_orders

    for refused in (
        "+orders.returns.shipping_methods",
        "+orders.returns.items.reason_id",
        "+orders.returns.order_version",
        "+orders.order_changes",
        "+orders.credit_lines",
        "+orders.payment_collections.order_change_id",
    ):
        error(
            await client.get(
                f"/store/order-groups/{group_id}", params={"fields": refused}, headers=store
            ),
            400,
            "invalid_data",
            f"Requested fields [{refused[1:]}] are not valid",
        )

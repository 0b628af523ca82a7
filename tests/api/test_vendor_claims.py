"""Vendor claim routes (order-changes.md §8, §11): a seller's member runs a whole claim on its own
order with the admin's bodies and rules; another seller's member gets 404s for the order and the
claim, and nothing moves; lists are scoped and refuse a ``seller_id`` filter."""

from __future__ import annotations

from tests.api.claim_helpers import claims_world
from tests.api.helpers import error, ok


async def test_a_member_runs_a_replace_claim_and_the_other_seller_sees_nothing(
    client, app, admin_headers
):
    c = await claims_world(client, app, admin_headers)
    vendor_a = await c.member(c.a_seller, "staff@a.test")
    vendor_b = await c.member(c.b_seller, "staff@b.test")
    sibling = await c.sibling()
    stock = await c.stock(c.shirt_variant)
    as_a = {"headers": vendor_a, "prefix": "/vendor"}

    claim = await c.replace_claim(inbound=1, **as_a)
    change = (await c.order(c.a))["order_change"]
    assert change["change_type"] == "claim" and change["created_by"].startswith("mem_")
    got = ok(await client.get(f"/vendor/claims/{claim}", headers=vendor_a))["claim"]
    assert got["type"] == "replace" and got["order_id"] == c.a

    # Seller B's member: every claim route is a 404 naming the claim; nothing changes.
    missing = f"Claim with id {claim} was not found"
    base = f"/vendor/claims/{claim}"
    async with c.unchanged(claim):
        error(await client.get(base, headers=vendor_b), 404, "not_found", missing)
        for path, body in (
            ("claim-items", {"items": [{"id": c.shirt, "quantity": 1}]}),
            ("inbound/items", {"items": [{"id": c.shirt, "quantity": 1}]}),
            ("outbound/items", {"items": [{"variant_id": c.shirt_variant, "quantity": 1}]}),
            ("outbound/shipping-method", {"shipping_option_id": c.a_option}),
            ("request", {}),
            ("cancel", {}),
        ):
            error(await c.post(f"{base}/{path}", body, vendor_b), 404, "not_found", missing)
        error(await client.delete(f"{base}/request", headers=vendor_b), 404, "not_found", missing)
        error(
            await c.post("/vendor/claims", {"type": "refund", "order_id": c.a}, vendor_b),
            404,
            "not_found",
            f"Order with id {c.a} was not found",
        )
        listed = ok(await client.get("/vendor/claims", headers=vendor_b))
        assert (listed["claims"], listed["count"]) == ([], 0)
        error(
            await client.get("/vendor/claims", headers=vendor_a, params={"seller_id": c.a_seller}),
            400,
            "invalid_data",
        )

    requested = await c.act(claim, "request", {}, **as_a)
    assert requested["claim"]["refund_amount"] == 0
    assert requested["return"]["status"] == "requested"
    order = ok(
        await client.get(
            f"/vendor/orders/{c.a}", headers=vendor_a, params={"fields": "summary,*claims"}
        )
    )["order"]
    assert order["summary"]["current_order_total"] == 71.5
    assert [x["id"] for x in order["claims"]] == [claim]
    assert len(order["claims"][0]["additional_items"]) == 1
    error(
        await client.get(
            f"/vendor/orders/{c.a}", headers=vendor_a, params={"fields": "claims.order.id"}
        ),
        400,
        "invalid_data",
    )
    listed = ok(await client.get("/vendor/claims", headers=vendor_a, params={"type": "replace"}))
    assert [x["id"] for x in listed["claims"]] == [claim]
    assert await c.stock(c.shirt_variant) == (stock[0], stock[1] + 1)

    ok(await c.post(f"{base}/cancel", {}, vendor_a))
    assert await c.stock(c.shirt_variant) == stock
    assert (await c.get_claim(claim))["canceled_at"] is not None
    assert await c.sibling() == sibling


async def test_a_member_runs_a_refund_claim_and_refunds_it(client, app, admin_headers):
    c = await claims_world(client, app, admin_headers)
    vendor = await c.member(c.a_seller, "staff@a.test")
    claim = await c.begin("refund", headers=vendor, prefix="/vendor")
    await c.claim_items(claim, 1, "wrong_item", headers=vendor, prefix="/vendor")
    requested = await c.act(claim, "request", {}, headers=vendor, prefix="/vendor")
    assert requested["claim"]["refund_amount"] == 33
    assert requested["order_preview"]["summary"]["refund_due"] == 33
    ok(await c.post(f"/vendor/orders/{c.a}/refund", {}, vendor))
    order = await c.order(c.a)
    assert order["summary"]["refunded_total"] == 33
    assert order["summary"]["pending_difference"] == 0

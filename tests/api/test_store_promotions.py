"""The worked examples of promotions.md through HTTP: a three-seller cart in a 10 % region, a
code entered in the store, the cart's figures to the cent, then the completion's orders."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import error, ok
from tests.api.promotion_helpers import (
    Example,
    apply_codes,
    by_item,
    cents,
    checkout,
    create_promotion,
    example_cart,
    example_market,
    fixed,
    percentage,
)


async def orders_of(client, example: Example, group_id: str) -> dict[str, dict[str, Any]]:
    """The group's orders by seller id, with their totals."""
    group = ok(
        await client.get(
            f"/admin/order-groups/{group_id}",
            params={"fields": "+orders.total,+orders.discount_total,+orders.tax_total"},
            headers=example.market.admin,
        )
    )["order_group"]
    return {order["seller_id"]: order for order in group["orders"]}


def line_figures(cart: dict, example: Example, name: str) -> dict[str, int]:
    line = by_item(cart, example)[name]
    return {
        "d": sum(cents(a["amount"]) for a in line["adjustments"]),
        "t": cents(line["tax_total"]),
        "discount_total": cents(line["discount_total"]),
        "total": cents(line["total"]),
    }


async def test_example_1_operator_ten_percent_across(client, admin_headers):
    example = await example_market(client, admin_headers)
    await create_promotion(client, admin_headers, "SUMMER10", percentage(10))
    cart = await example_cart(client, example)
    assert cents(cart["total"]) == 9396  # without promotions
    cart = ok(await apply_codes(client, example, cart["id"], "summer10"))["cart"]

    assert [p["code"] for p in cart["promotions"]] == ["SUMMER10"]
    assert "funded_by" not in str(cart)  # the store never sees who funds a discount
    assert {name: line_figures(cart, example, name) for name in ("a1", "b1", "b2", "c1")} == {
        "a1": {"d": 400, "t": 360, "discount_total": 440, "total": 3958},
        "b1": {"d": 150, "t": 135, "discount_total": 165, "total": 1485},
        "b2": {"d": 100, "t": 90, "discount_total": 110, "total": 989},
        "c1": {"d": 69, "t": 63, "discount_total": 76, "total": 689},
    }
    assert {k: cents(cart[k]) for k in ("discount_subtotal", "discount_tax_total")} == {
        "discount_subtotal": 719,
        "discount_tax_total": 72,
    }
    assert cents(cart["discount_total"]) == 791
    assert cents(cart["tax_total"]) == 783
    assert cents(cart["total"]) == 8605

    response = await checkout(client, example, cart["id"])
    group = ok(response)["order_group"]
    orders = await orders_of(client, example, group["id"])
    assert {s: (cents(o["discount_total"]), cents(o["total"])) for s, o in orders.items()} == {
        example.acme: (440, 4507),
        example.bolt: (275, 3024),
        example.cove: (76, 1074),
    }
    assert cents(group["total"]) == 8605
    read = ok(
        await client.get(
            f"/admin/order-groups/{group['id']}",
            params={"fields": "total,discount_subtotal,discount_tax_total,discount_total"},
            headers=admin_headers,
        )
    )["order_group"]
    assert {k: cents(v) for k, v in read.items() if k != "id"} == {
        "total": 8605,
        "discount_subtotal": 719,
        "discount_tax_total": 72,
        "discount_total": 791,
    }


async def test_example_2_fixed_five_across_gives_awkward_cents_exactly(client, admin_headers):
    example = await example_market(client, admin_headers)
    await create_promotion(client, admin_headers, "FIVE", fixed(5))
    cart = await example_cart(client, example)
    cart = ok(await apply_codes(client, example, cart["id"], "FIVE"))["cart"]
    lines = by_item(cart, example)
    assert [sum(cents(a["amount"]) for a in lines[k]["adjustments"]) for k in lines] == [
        278,
        104,
        70,
        48,
    ]
    assert [cents(lines[k]["tax_total"]) for k in ("a1", "b1", "b2", "c1")] == [372, 140, 93, 65]
    assert cents(cart["discount_subtotal"]) == 500
    assert cents(cart["discount_tax_total"]) == 50
    assert cents(cart["total"]) == 8846
    group = ok(await checkout(client, example, cart["id"]))["order_group"]
    orders = await orders_of(client, example, group["id"])
    assert {s: (cents(o["discount_total"]), cents(o["total"])) for s, o in orders.items()} == {
        example.acme: (306, 4641),
        example.bolt: (191, 3108),
        example.cove: (53, 1097),
    }


async def test_example_2_tax_inclusive_fixed_saves_exactly_its_value(client, admin_headers):
    example = await example_market(client, admin_headers, tax_inclusive=True)
    await create_promotion(client, admin_headers, "FIVE", fixed(5), is_tax_inclusive=True)
    cart = await example_cart(client, example)
    assert cents(cart["total"]) == 8541
    assert cents(cart["tax_total"]) == 775
    cart = ok(await apply_codes(client, example, cart["id"], "FIVE"))["cart"]
    lines = by_item(cart, example)
    assert [sum(cents(a["amount"]) for a in lines[k]["adjustments"]) for k in lines] == [
        278,
        104,
        70,
        48,
    ]
    assert cents(cart["total"]) == 8041
    assert cents(cart["tax_total"]) == 730


async def test_example_3_seller_coupon_then_operator_percentage(client, admin_headers):
    example = await example_market(client, admin_headers)
    await create_promotion(client, admin_headers, "BOLT2", fixed(2), seller_id=example.bolt)
    await create_promotion(client, admin_headers, "SUMMER10", percentage(10))
    cart = await example_cart(client, example)
    cart = ok(await apply_codes(client, example, cart["id"], "SUMMER10", "BOLT2"))["cart"]
    lines = by_item(cart, example)
    adjustments = {
        k: [(a["code"], cents(a["amount"]), cents(a["tax_total"])) for a in lines[k]["adjustments"]]
        for k in lines
    }
    assert adjustments == {
        "a1": [("SUMMER10", 400, 40)],
        "b1": [("BOLT2", 120, 12), ("SUMMER10", 138, 14)],
        "b2": [("BOLT2", 80, 8), ("SUMMER10", 92, 9)],
        "c1": [("SUMMER10", 69, 7)],
    }
    assert [cents(lines[k]["total"]) for k in ("a1", "b1", "b2", "c1")] == [3958, 1366, 910, 689]
    assert cents(cart["total"]) == 8407
    group = ok(await checkout(client, example, cart["id"]))["order_group"]
    orders = await orders_of(client, example, group["id"])
    assert {s: (cents(o["discount_total"]), cents(o["total"])) for s, o in orders.items()} == {
        example.acme: (440, 4507),
        example.bolt: (473, 2826),
        example.cove: (76, 1074),
    }


async def test_example_4_free_shipping_and_a_seller_scoped_variant(client, admin_headers):
    example = await example_market(client, admin_headers)
    await create_promotion(
        client,
        admin_headers,
        "FREESHIP",
        percentage(100, "shipping_methods", allocation="each"),
        rules=[{"attribute": "item_total", "operator": "gte", "values": "50"}],
    )
    await create_promotion(
        client,
        admin_headers,
        "COVESHIP",
        percentage(100, "shipping_methods", allocation="each"),
        seller_id=example.cove,
        rules=[{"attribute": "item_total", "operator": "gte", "values": "20"}],
    )
    cart = await example_cart(client, example)
    error(
        await apply_codes(client, example, cart["id"], "COVESHIP"),
        400,
        "not_allowed",
        f"Promotion code COVESHIP cannot be applied to cart {cart['id']}: "
        "the cart does not meet its conditions (item_total)",
    )
    cart = ok(await apply_codes(client, example, cart["id"], "FREESHIP"))["cart"]
    assert [cents(m["discount_total"]) for m in cart["shipping_methods"]] == [549, 550, 385]
    assert [cents(m["total"]) for m in cart["shipping_methods"]] == [0, 0, 0]
    assert cents(cart["total"]) == 7912
    group = ok(await checkout(client, example, cart["id"]))["order_group"]
    orders = await orders_of(client, example, group["id"])
    assert {s: cents(o["total"]) for s, o in orders.items()} == {
        example.acme: 4398,
        example.bolt: 2749,
        example.cove: 765,
    }


async def test_a_returned_discounted_unit_gives_back_what_was_paid_for_it(client, admin_headers):
    """order-changes.md §3.1: a line's unit value is net of its adjustments."""
    example = await example_market(client, admin_headers)
    await create_promotion(client, admin_headers, "SUMMER10", percentage(10))
    cart = await example_cart(client, example)
    cart = ok(await apply_codes(client, example, cart["id"], "SUMMER10"))["cart"]
    group = ok(await checkout(client, example, cart["id"]))["order_group"]
    order_id = next(o["id"] for o in group["orders"] if o["seller_id"] == example.acme)
    order = ok(await client.get(f"/admin/orders/{order_id}", headers=admin_headers))["order"]
    (line,) = order["items"]
    assert cents(line["total"]) == 3958  # 2 × 19.99 − 4.00 + 3.60 tax
    ok(
        await client.post(
            f"/admin/orders/{order_id}/fulfillments",
            json={"items": [{"id": line["id"], "quantity": 2}]},
            headers=admin_headers,
        )
    )
    ok(await client.post(f"/admin/orders/{order_id}/capture", json={}, headers=admin_headers))
    ret = ok(
        await client.post("/admin/returns", json={"order_id": order_id}, headers=admin_headers)
    )
    return_id = ret["return"]["id"]
    ok(
        await client.post(
            f"/admin/returns/{return_id}/request-items",
            json={"items": [{"id": line["id"], "quantity": 1}]},
            headers=admin_headers,
        )
    )
    ok(await client.post(f"/admin/returns/{return_id}/request", headers=admin_headers))
    returned = ok(await client.get(f"/admin/returns/{return_id}", headers=admin_headers))
    assert cents(returned["return"]["refund_amount"]) == 1979  # half of 39.58, not of 43.98


async def test_an_order_edit_keeps_the_discount_of_the_remaining_units(client, admin_headers):
    """order-changes.md §9: promotions are not re-run by an edit; fewer units keep their exact
    share of the line's discount, and a discounted line's price cannot change."""
    example = await example_market(client, admin_headers)
    await create_promotion(client, admin_headers, "SUMMER10", percentage(10))
    cart = await example_cart(client, example)
    cart = ok(await apply_codes(client, example, cart["id"], "SUMMER10"))["cart"]
    group = ok(await checkout(client, example, cart["id"]))["order_group"]
    order_id = next(o["id"] for o in group["orders"] if o["seller_id"] == example.bolt)
    order = ok(await client.get(f"/admin/orders/{order_id}", headers=admin_headers))["order"]
    b2 = next(i for i in order["items"] if i["variant_id"] == example.variants["b2"])
    assert cents(b2["total"]) == 989  # 3 × 3.33 − 1.00 + 0.90 tax
    ok(await client.post("/admin/order-edits", json={"order_id": order_id}, headers=admin_headers))
    url = f"/admin/order-edits/{order_id}/items/item/{b2['id']}"
    error(
        await client.post(url, json={"quantity": 3, "unit_price": 3}, headers=admin_headers),
        400,
        "invalid_data",
        f"Item {b2['id']} has promotions applied; its price cannot be changed",
    )
    preview = ok(await client.post(url, json={"quantity": 1}, headers=admin_headers))
    line = next(i for i in preview["order_preview"]["items"] if i["id"] == b2["id"])
    # One unit keeps round(1.00 / 3) = 0.33 of the discount: (3.33 − 0.33) + 0.30 tax.
    assert cents(line["total"]) == 330


async def test_buy_two_get_the_cheapest_free(client, admin_headers):
    example = await example_market(client, admin_headers)
    cart = await example_cart(client, example)
    bolt_product = by_item(cart, example)["b1"]["product_id"]
    await create_promotion(
        client,
        admin_headers,
        "B2G1",
        {
            "type": "percentage",
            "target_type": "items",
            "allocation": "each",
            "max_quantity": 1,
            "value": 100,
            "apply_to_quantity": 1,
            "buy_rules_min_quantity": 2,
            "target_rules": [
                {"attribute": "items.product_id", "operator": "in", "values": [bolt_product]}
            ],
            "buy_rules": [
                {"attribute": "items.product.id", "operator": "eq", "values": bolt_product}
            ],
        },
        type="buyget",
    )
    cart = ok(await apply_codes(client, example, cart["id"], "B2G1"))["cart"]
    lines = by_item(cart, example)
    # Bolt's four units qualify; the cheapest target unit (one of b2's 3.33) is free.
    assert [(a["code"], cents(a["amount"])) for a in lines["b2"]["adjustments"]] == [("B2G1", 333)]
    assert all(lines[k]["adjustments"] == [] for k in ("a1", "b1", "c1"))
    assert cents(cart["discount_subtotal"]) == 333

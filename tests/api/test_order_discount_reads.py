"""Order reads show what placement copied from the cart's promotions (promotions.md, "Where a
discount goes", "Tax after discounts", "Completion"): document discount totals, each line's and
shipping method's discounts and adjustments, who funds them (admin and vendor only) and the
order's promotion links.

The adjustments are written here with SQL, as placement writes them, on an order placed through
the ordinary checkout; the totals they imply are worked out by hand below (10 % tax, exclusive).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.checkout_helpers import build_marketplace, complete, ready_cart
from tests.api.discount_helpers import add_promotion, discount
from tests.api.helpers import error, login, ok
from tests.api.promotion_helpers import (
    apply_codes,
    cents,
    checkout,
    create_promotion,
    example_cart,
    example_market,
    fixed,
    percentage,
)

FUNDING = (
    "operator_discount_subtotal",
    "operator_discount_total",
    "seller_discount_subtotal",
    "seller_discount_total",
)
NEW_TOTALS = (
    "discount_subtotal",
    "discount_tax_total",
    "original_total",
    "original_tax_total",
    "original_item_total",
    "original_shipping_total",
)
LINE_DISCOUNTS = (
    "discount_subtotal",
    "discount_tax_total",
    "discount_total",
    "original_total",
    "original_tax_total",
)
PUBLIC_ADJUSTMENT_KEYS = {
    "id",
    "promotion_id",
    "code",
    "description",
    "amount",
    "subtotal",
    "tax_total",
    "total",
    "is_tax_inclusive",
}


async def register_customer(client, market, email: str) -> dict[str, str]:
    token = ok(
        await client.post(
            "/auth/customer/emailpass/register", json={"email": email, "password": "supersecret"}
        )
    )["token"]
    ok(
        await client.post(
            "/store/customers",
            json={"email": email},
            headers={**market.store, "authorization": f"Bearer {token}"},
        )
    )
    return await login(client, "customer", email, "supersecret")


async def member_headers(client, market, seller_id: str, email: str) -> dict[str, str]:
    ok(
        await client.post(
            f"/admin/sellers/{seller_id}/members",
            json={"email": email, "password": "supersecret"},
            headers=market.admin,
        )
    )
    return await login(client, "seller", email, "supersecret")


@pytest.fixture
async def discounted(client, app, admin_headers) -> dict[str, Any]:
    """Seller A: 3 × 10.00 with a seller-funded 1.20 and an operator-funded 1.38 on the line
    (its 0.26 tax reduction allocated 0.12 / 0.14) and an operator 1.00 off its 5.00 shipping;
    seller B: 1 × 10.00 with the same operator 1.00 off shipping. Placed by a customer."""
    market = await build_marketplace(client, admin_headers, sellers=2, prices=(10,), shipping=5)
    a, b = (s["id"] for s in market.sellers)
    customer = await register_customer(client, market, "ann@example.com")
    items = [(market.variants[a][0], 3), (market.variants[b][0], 1)]
    cart = await ready_cart(client, market, items, headers=customer, email=None)
    group = ok(await complete(client, market, cart["id"], customer))["order_group"]
    orders = {o["seller_id"]: o["id"] for o in group["orders"]}
    shop = await add_promotion(app, "SHOP", "seller", seller_id=a)
    site = await add_promotion(app, "SITE", "operator")
    await discount(
        app,
        orders[a],
        line=[(shop, "seller", 120, 12), (site, "operator", 138, 14)],
        shipping=[(site, "operator", 100, 10)],
    )
    await discount(app, orders[b], shipping=[(site, "operator", 100, 10)])
    return {
        "market": market,
        "customer": customer,
        "group": group["id"],
        "orders": orders,
        "a": a,
        "b": b,
        "shop": shop,
        "site": site,
    }


# A: line 30.00 − 2.58 + tax 2.74 = 30.16 (original 33.00, tax 3.00); shipping 5.00 − 1.00 +
# tax 0.40 = 4.40 (original 5.50, tax 0.50).
A_TOTALS = {
    "item_total": 30.16,
    "item_subtotal": 30,
    "item_tax_total": 2.74,
    "shipping_total": 4.4,
    "shipping_subtotal": 5,
    "shipping_tax_total": 0.4,
    "subtotal": 35,
    "tax_total": 3.14,
    "discount_total": 3.94,
    "discount_subtotal": 3.58,
    "discount_tax_total": 0.36,
    "original_total": 38.5,
    "original_tax_total": 3.5,
    "original_item_total": 33,
    "original_shipping_total": 5.5,
    "total": 34.56,
}
A_FUNDING = {
    "operator_discount_subtotal": 2.38,  # 1.38 + 1.00
    "operator_discount_total": 2.62,  # 1.52 + 1.10
    "seller_discount_subtotal": 1.2,
    "seller_discount_total": 1.32,
}


async def test_admin_order_shows_discount_totals_adjustments_and_funding(client, discounted):
    market, a = discounted["market"], discounted["a"]
    order = ok(await client.get(f"/admin/orders/{discounted['orders'][a]}", headers=market.admin))[
        "order"
    ]
    assert {name: order[name] for name in A_TOTALS} == A_TOTALS
    assert {name: order[name] for name in FUNDING} == A_FUNDING
    # The two funders' shares are the whole discount.
    assert round(order["operator_discount_total"] + order["seller_discount_total"], 2) == 3.94
    assert "promotions" not in order  # a relation on request only

    (line,) = order["items"]
    assert {name: line[name] for name in ("subtotal", "tax_total", "total", *LINE_DISCOUNTS)} == {
        "subtotal": 30,
        "tax_total": 2.74,
        "total": 30.16,
        "discount_subtotal": 2.58,
        "discount_tax_total": 0.26,
        "discount_total": 2.84,
        "original_total": 33,
        "original_tax_total": 3,
    }
    assert [
        (x["code"], x["amount"], x["subtotal"], x["tax_total"], x["total"], x["funded_by"])
        for x in line["adjustments"]
    ] == [
        ("SHOP", 1.2, 1.2, 0.12, 1.32, "seller"),
        ("SITE", 1.38, 1.38, 0.14, 1.52, "operator"),
    ]
    assert set(line["adjustments"][0]) == PUBLIC_ADJUSTMENT_KEYS | {
        "item_id",
        "funded_by",
        "seller_id",
    }
    assert {x["item_id"] for x in line["adjustments"]} == {line["id"]}
    assert {x["seller_id"] for x in line["adjustments"]} == {a}
    assert [x["promotion_id"] for x in line["adjustments"]] == [
        discounted["shop"],
        discounted["site"],
    ]

    (method,) = order["shipping_methods"]
    assert {name: method[name] for name in ("subtotal", "tax_total", "total", *LINE_DISCOUNTS)} == {
        "subtotal": 5,
        "tax_total": 0.4,
        "total": 4.4,
        "discount_subtotal": 1,
        "discount_tax_total": 0.1,
        "discount_total": 1.1,
        "original_total": 5.5,
        "original_tax_total": 0.5,
    }
    (adjustment,) = method["adjustments"]
    assert adjustment["shipping_method_id"] == method["id"]
    assert (adjustment["total"], adjustment["funded_by"]) == (1.1, "operator")

    # Seller B's order: one operator shipping discount, nothing seller-funded.
    other = ok(
        await client.get(
            f"/admin/orders/{discounted['orders'][discounted['b']]}", headers=market.admin
        )
    )["order"]
    assert {name: other[name] for name in FUNDING} == {
        "operator_discount_subtotal": 1,
        "operator_discount_total": 1.1,
        "seller_discount_subtotal": 0,
        "seller_discount_total": 0,
    }
    assert (other["total"], other["original_total"], other["discount_total"]) == (15.4, 16.5, 1.1)
    assert other["items"][0]["adjustments"] == []


async def test_admin_order_promotions_and_lists(client, discounted):
    market, orders = discounted["market"], discounted["orders"]
    a, b = discounted["a"], discounted["b"]
    shop = {"id": discounted["shop"], "code": "SHOP", "is_automatic": False, "funded_by": "seller"}
    site = {
        "id": discounted["site"],
        "code": "SITE",
        "is_automatic": False,
        "funded_by": "operator",
    }
    for fields in ("+promotions.*", "*promotions"):
        order = ok(
            await client.get(
                f"/admin/orders/{orders[a]}", params={"fields": fields}, headers=market.admin
            )
        )["order"]
        assert sorted(order["promotions"], key=lambda p: p["id"]) == [shop, site]
    listed = ok(
        await client.get(
            "/admin/orders",
            params={"fields": "+promotions.*,+seller_discount_total,+operator_discount_total"},
            headers=market.admin,
        )
    )["orders"]
    by_seller = {o["seller_id"]: o for o in listed}
    assert [p["id"] for p in by_seller[b]["promotions"]] == [discounted["site"]]
    assert (by_seller[a]["seller_discount_total"], by_seller[a]["operator_discount_total"]) == (
        1.32,
        2.62,
    )
    assert (by_seller[b]["seller_discount_total"], by_seller[b]["operator_discount_total"]) == (
        0,
        1.1,
    )
    # The list's default shape has every document total, not the funding split.
    plain = ok(await client.get("/admin/orders", headers=market.admin))["orders"]
    mine = next(o for o in plain if o["seller_id"] == a)
    assert {name: mine[name] for name in A_TOTALS} == A_TOTALS
    assert not set(FUNDING) & set(mine) and "promotions" not in mine

    # The group's orders: every total selectable, summing to the group's discounts.
    group = ok(
        await client.get(
            f"/admin/order-groups/{discounted['group']}",
            params={"fields": ",".join(f"+orders.{n}" for n in (*NEW_TOTALS, *FUNDING))},
            headers=market.admin,
        )
    )["order_group"]
    mine = next(o for o in group["orders"] if o["seller_id"] == a)
    assert {name: mine[name] for name in (*NEW_TOTALS, *FUNDING)} == {
        **{name: A_TOTALS[name] for name in NEW_TOTALS},
        **A_FUNDING,
    }


async def test_vendor_sees_every_adjustment_with_its_funder_and_its_own_links(client, discounted):
    market, orders = discounted["market"], discounted["orders"]
    a, b = discounted["a"], discounted["b"]
    vendor_a = await member_headers(client, market, a, "staff@a.test")
    order = ok(await client.get(f"/vendor/orders/{orders[a]}", headers=vendor_a))["order"]
    assert {name: order[name] for name in A_TOTALS} == A_TOTALS
    assert {name: order[name] for name in FUNDING} == A_FUNDING
    # The operator's adjustment too, with who funds it.
    assert [(x["funded_by"], x["seller_id"]) for x in order["items"][0]["adjustments"]] == [
        ("seller", a),
        ("operator", a),
    ]
    assert order["shipping_methods"][0]["adjustments"][0]["funded_by"] == "operator"
    linked = ok(
        await client.get(
            f"/vendor/orders/{orders[a]}", params={"fields": "+promotions.*"}, headers=vendor_a
        )
    )["order"]["promotions"]
    assert sorted(p["code"] for p in linked) == ["SHOP", "SITE"]
    listed = ok(
        await client.get(
            "/vendor/orders",
            params={"fields": "+promotions.*,+seller_discount_total"},
            headers=vendor_a,
        )
    )["orders"]
    assert [(o["id"], o["seller_discount_total"]) for o in listed] == [(orders[a], 1.32)]

    # Seller B sees its order's link to the operator promotion, never seller A's promotion.
    vendor_b = await member_headers(client, market, b, "staff@b.test")
    theirs = ok(
        await client.get(
            f"/vendor/orders/{orders[b]}", params={"fields": "*promotions"}, headers=vendor_b
        )
    )["order"]
    assert [p["code"] for p in theirs["promotions"]] == ["SITE"]
    assert discounted["shop"] not in str(theirs)
    assert theirs["seller_discount_total"] == 0 and theirs["operator_discount_total"] == 1.1


async def test_store_never_shows_who_funds_a_discount(client, discounted):
    market, customer, a = discounted["market"], discounted["customer"], discounted["a"]
    headers = {**market.store, **customer}
    url = f"/store/order-groups/{discounted['group']}"
    fields = ",".join(
        [
            *(f"+orders.{n}" for n in NEW_TOTALS),
            *(f"+orders.items.{n}" for n in LINE_DISCOUNTS),
            "+orders.items.adjustments.*",
            "+orders.shipping_methods.*",
            "+orders.shipping_methods.adjustments.*",
        ]
    )
    group = ok(await client.get(url, params={"fields": fields}, headers=headers))["order_group"]
    order = next(o for o in group["orders"] if o["seller_id"] == a)
    assert {name: order[name] for name in (*NEW_TOTALS, "discount_total", "total")} == {
        name: A_TOTALS[name] for name in (*NEW_TOTALS, "discount_total", "total")
    }
    (line,) = order["items"]
    assert (line["discount_total"], line["original_total"]) == (2.84, 33)
    assert [set(x) for x in line["adjustments"]] == [PUBLIC_ADJUSTMENT_KEYS | {"item_id"}] * 2
    assert [x["total"] for x in line["adjustments"]] == [1.32, 1.52]
    (method,) = order["shipping_methods"]
    assert method["discount_total"] == 1.1
    assert set(method["adjustments"][0]) == PUBLIC_ADJUSTMENT_KEYS | {"shipping_method_id"}
    assert "funded_by" not in str(group) and not set(FUNDING) & set(order)

    # Nor can it be asked for.
    for forbidden in (
        "+orders.items.adjustments.funded_by",
        "+orders.items.adjustments.seller_id",
        "+orders.shipping_methods.adjustments.funded_by",
        "+orders.operator_discount_total",
        "+orders.seller_discount_subtotal",
        "+orders.promotions.*",
    ):
        error(
            await client.get(url, params={"fields": forbidden}, headers=headers),
            400,
            "invalid_data",
        )
    listed = ok(
        await client.get(
            "/store/order-groups",
            params={"fields": "+orders.items.adjustments.*,+orders.original_total"},
            headers=headers,
        )
    )["order_groups"]
    assert "funded_by" not in str(listed) and "seller_id" not in str(
        [i for g in listed for o in g["orders"] for i in o["items"]]
    )


async def test_real_promotions_read_back_whole_on_every_order(client, admin_headers):
    """The examples' cart with the operator's 10 % and Bolt's own 2.00 (worked example 2),
    completed: every order's funding split sums to its discount, its adjustments to its lines'
    discounts, its totals to the cart's, and only Bolt's order links Bolt's promotion."""
    example = await example_market(client, admin_headers)
    await create_promotion(client, admin_headers, "BOLT2", fixed(2), seller_id=example.bolt)
    await create_promotion(client, admin_headers, "SUMMER10", percentage(10))
    cart = await example_cart(client, example)
    cart = ok(await apply_codes(client, example, cart["id"], "SUMMER10", "BOLT2"))["cart"]
    group = ok(await checkout(client, example, cart["id"]))["order_group"]
    orders = ok(
        await client.get(
            f"/admin/order-groups/{group['id']}",
            params={
                "fields": "orders.*,orders.items.*,orders.items.adjustments.*,"
                "orders.shipping_methods.*,orders.shipping_methods.adjustments.*,"
                "orders.promotions.*," + ",".join(f"orders.{n}" for n in FUNDING)
            },
            headers=admin_headers,
        )
    )["order_group"]["orders"]
    for name in (*NEW_TOTALS, "discount_total", "total"):
        assert sum(cents(o[name]) for o in orders) == cents(cart[name]), name
    for order in orders:
        split = [cents(order[f"{f}_discount_total"]) for f in ("operator", "seller")]
        assert sum(split) == cents(order["discount_total"]), order["seller_id"]
        owners = [*order["items"], *order["shipping_methods"]]
        for owner in owners:
            assert sum(cents(a["total"]) for a in owner["adjustments"]) == cents(
                owner["discount_total"]
            )
        seller_funded = sum(
            cents(a["total"])
            for o in owners
            for a in o["adjustments"]
            if a["funded_by"] == "seller"
        )
        assert seller_funded == split[1]
        codes = sorted(p["code"] for p in order["promotions"])
        assert codes == (
            ["BOLT2", "SUMMER10"] if order["seller_id"] == example.bolt else ["SUMMER10"]
        )
    bolt = next(o for o in orders if o["seller_id"] == example.bolt)
    assert cents(bolt["seller_discount_total"]) > 0
    assert all(cents(o["seller_discount_total"]) == 0 for o in orders if o is not bolt)

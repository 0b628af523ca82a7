"""Entering and removing codes on a cart (promotions.md, Store API and Errors): all or nothing,
case-insensitive codes, automatic promotions, the refresh on every cart change, and what the
store never sees."""

from __future__ import annotations

from tests.api.checkout_helpers import complete, pay
from tests.api.helpers import error, ok
from tests.api.promotion_helpers import (
    apply_codes,
    by_item,
    cents,
    create_promotion,
    example_cart,
    example_market,
    fixed,
    percentage,
)

CODES = "promo_codes must contain 1 to 20 codes"


async def test_codes_are_added_removed_and_replaced(client, admin_headers):
    example = await example_market(client, admin_headers)
    await create_promotion(client, admin_headers, "SUMMER10", percentage(10))
    await create_promotion(client, admin_headers, "FIVE", fixed(5))
    cart = await example_cart(client, example)
    url = f"/store/carts/{cart['id']}"

    cart = ok(await apply_codes(client, example, cart["id"], "Summer10"))["cart"]
    assert [p["code"] for p in cart["promotions"]] == ["SUMMER10"]
    assert set(cart["promotions"][0]) == {
        "id",
        "code",
        "is_automatic",
        "seller_id",
        "application_method",
    }
    # Adding a code already on the cart applies it again; nothing doubles.
    again = ok(await apply_codes(client, example, cart["id"], "SUMMER10"))["cart"]
    assert cents(again["total"]) == cents(cart["total"]) == 8605

    # The JS SDK's update replaces the set of entered codes.
    cart = ok(await client.post(url, json={"promo_codes": ["FIVE"]}, headers=example.market.store))[
        "cart"
    ]
    assert [p["code"] for p in cart["promotions"]] == ["FIVE"]
    assert cents(cart["total"]) == 8846

    cart = ok(
        await client.request(
            "DELETE",
            f"{url}/promotions",
            json={"promo_codes": ["five"]},
            headers=example.market.store,
        )
    )["cart"]
    assert cart["promotions"] == []
    assert cents(cart["total"]) == 9396
    assert all(line["adjustments"] == [] for line in cart["items"])


async def test_every_store_error_of_the_spec(client, admin_headers):
    example = await example_market(client, admin_headers)
    await create_promotion(client, admin_headers, "SUMMER10", percentage(10))
    await create_promotion(client, admin_headers, "DRAFTY", percentage(10), status="draft")
    await create_promotion(client, admin_headers, "AUTO5", fixed(5), is_automatic=True)
    eur = await create_promotion(
        client, admin_headers, "EUROS", {**fixed(5), "currency_code": "eur"}
    )
    cart = await example_cart(client, example)
    store = example.market.store
    url = f"/store/carts/{cart['id']}/promotions"

    for body in (
        {},
        {"promo_codes": []},
        {"promo_codes": "SUMMER10"},
        {"promo_codes": [""]},
        {"promo_codes": [1]},
        {"promo_codes": [f"C{n}" for n in range(21)]},
    ):
        error(await client.post(url, json=body, headers=store), 400, "invalid_data", CODES)
    for code in ("NOPE", "DRAFTY"):
        response = await apply_codes(client, example, cart["id"], "SUMMER10", code)
        error(response, 400, "invalid_data", f"The promotion code {code} is invalid")
        assert response.json()["code"] == "promotion_not_found"
    # All or none: SUMMER10 was not added with the invalid code.
    fresh = ok(await client.get(f"/store/carts/{cart['id']}", headers=store))["cart"]
    assert [p["code"] for p in fresh["promotions"]] == ["AUTO5"]

    response = await apply_codes(client, example, cart["id"], "EUROS")
    error(
        response,
        400,
        "not_allowed",
        f"Promotion code EUROS cannot be applied to cart {cart['id']}: "
        "it applies to eur carts only",
    )
    assert response.json()["code"] == "promotion_currency_mismatch"
    assert eur["id"]

    error(
        await client.request("DELETE", url, json={"promo_codes": ["SUMMER10"]}, headers=store),
        400,
        "invalid_data",
        f"Promotion code SUMMER10 is not applied to cart {cart['id']}",
    )
    error(
        await client.request("DELETE", url, json={"promo_codes": ["auto5"]}, headers=store),
        400,
        "invalid_data",
        "Promotion AUTO5 is applied automatically and cannot be removed",
    )
    # Entering an automatic promotion's code is accepted and changes nothing.
    same = ok(await apply_codes(client, example, cart["id"], "AUTO5"))["cart"]
    assert cents(same["total"]) == cents(fresh["total"])

    error(
        await apply_codes(client, example, "cart_unknown", "SUMMER10"),
        404,
        "not_found",
        "Cart with id cart_unknown was not found",
    )
    await mark_completed_cart(client, example, cart["id"])
    error(
        await apply_codes(client, example, cart["id"], "SUMMER10"),
        400,
        "invalid_data",
        f"Cart {cart['id']} is already completed.",
    )


async def mark_completed_cart(client, example, cart_id: str) -> None:
    await pay(client, example.market, cart_id)
    ok(await complete(client, example.market, cart_id))


async def test_automatic_promotions_and_the_refresh_on_every_change(client, admin_headers):
    example = await example_market(client, admin_headers)
    await create_promotion(
        client,
        admin_headers,
        "BIGCART",
        percentage(10),
        is_automatic=True,
        rules=[{"attribute": "item_total", "operator": "gte", "values": "70"}],
    )
    cart = await example_cart(client, example)  # items 71.92: the automatic 10 % applies
    assert [p["code"] for p in cart["promotions"]] == ["BIGCART"]
    assert cents(cart["discount_subtotal"]) == 719
    line = by_item(cart, example)["c1"]
    # Removing a unit of a1 takes the items below 70: the promotion drops by itself.
    a1 = by_item(cart, example)["a1"]
    cart = ok(
        await client.post(
            f"/store/carts/{cart['id']}/line-items/{a1['id']}",
            json={"quantity": 1},
            headers=example.market.store,
        )
    )["cart"]
    assert cart["promotions"] == []
    assert cents(cart["discount_total"]) == 0
    assert line["adjustments"][0]["code"] == "BIGCART"


async def test_an_entered_code_that_stops_applying_is_dropped(client, admin_headers):
    example = await example_market(client, admin_headers)
    await create_promotion(
        client,
        admin_headers,
        "COVE1",
        fixed(1),
        seller_id=example.cove,
    )
    cart = await example_cart(client, example)
    cart = ok(await apply_codes(client, example, cart["id"], "COVE1"))["cart"]
    c1 = by_item(cart, example)["c1"]
    assert [a["code"] for a in c1["adjustments"]] == ["COVE1"]
    # The seller-funded coupon touches only Cove's line.
    assert all(
        line["adjustments"] == [] for key, line in by_item(cart, example).items() if key != "c1"
    )
    cart = ok(
        await client.request(
            "DELETE",
            f"/store/carts/{cart['id']}/line-items/{c1['id']}",
            headers=example.market.store,
        )
    )["parent"]
    assert cart["promotions"] == []
    # Cove's line back: the code was dropped and is not re-applied by itself.
    cart = ok(
        await client.post(
            f"/store/carts/{cart['id']}/line-items",
            json={"variant_id": example.variants["c1"], "quantity": 1},
            headers=example.market.store,
        )
    )["cart"]
    assert cart["promotions"] == []


async def test_store_reads_never_show_funding_rules_or_budgets(client, admin_headers):
    example = await example_market(client, admin_headers)
    await create_promotion(
        client,
        admin_headers,
        "RULED",
        percentage(10),
        limit=5,
        rules=[{"attribute": "currency_code", "operator": "eq", "values": "usd"}],
    )
    cart = await example_cart(client, example)
    cart = ok(await apply_codes(client, example, cart["id"], "RULED"))["cart"]
    text = str(cart)
    for hidden in ("funded_by", "rules", "budget", "'limit'", "'used'"):
        assert hidden not in text, hidden
    adjustment = by_item(cart, example)["a1"]["adjustments"][0]
    assert set(adjustment) == {
        "id",
        "item_id",
        "promotion_id",
        "code",
        "description",
        "amount",
        "subtotal",
        "tax_total",
        "total",
        "is_tax_inclusive",
    }
    assert adjustment["id"].startswith("caliadj_")


async def test_a_code_with_nothing_to_discount_is_refused_naming_the_reason(client, admin_headers):
    example = await example_market(client, admin_headers)
    bolt_only = await create_promotion(
        client, admin_headers, "BOLTONLY", fixed(1), seller_id=example.bolt
    )
    cart = ok(
        await client.post(
            "/store/carts",
            json={
                "region_id": example.market.region["id"],
                "items": [{"variant_id": example.variants["a1"], "quantity": 1}],
            },
            headers=example.market.store,
        )
    )["cart"]
    response = await apply_codes(client, example, cart["id"], "BOLTONLY")
    error(
        response,
        400,
        "not_allowed",
        f"Promotion code BOLTONLY cannot be applied to cart {cart['id']}: no items of seller Bolt",
    )
    assert response.json()["code"] == "promotion_no_eligible_items"
    assert bolt_only["funded_by"] == "seller"

"""Property: for random multi-seller carts, the orders' totals sum to the cart's to the cent."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.checkout_helpers import cart_with_items, complete, pay
from tests.api.helpers import (
    create_product,
    create_seller,
    create_store_key,
    ok,
    variant,
)

_sellers = itertools.count()

TOTALS = (
    "item_total",
    "item_subtotal",
    "item_tax_total",
    "shipping_total",
    "shipping_subtotal",
    "shipping_tax_total",
    "subtotal",
    "tax_total",
    "discount_total",
    "discount_subtotal",
    "discount_tax_total",
    "original_total",
    "original_tax_total",
    "original_item_total",
    "original_shipping_total",
    "total",
)
PRICES = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2)
RATES = st.sampled_from(["0", "5", "7.25", "8.875", "10", "19", "20", "33.3333"])

carts = st.fixed_dictionaries(
    {
        "tax_rate": RATES,
        "tax_inclusive": st.booleans(),
        "sellers": st.lists(
            st.fixed_dictionaries(
                {
                    "shipping": PRICES,
                    "lines": st.lists(
                        st.tuples(PRICES, st.integers(min_value=1, max_value=7)),
                        min_size=1,
                        max_size=3,
                    ),
                }
            ),
            min_size=1,
            max_size=4,
        ),
    }
)


@pytest.mark.slow  # a marketplace and checkouts per generated example
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=carts)
async def test_order_totals_sum_to_the_cart_totals(client, admin_headers, spec):
    headers = admin_headers
    channel = ok(await client.post("/admin/sales-channels", json={"name": "P"}, headers=headers))
    channel_id = channel["sales_channel"]["id"]
    store = await create_store_key(client, headers, channel_id)
    region = ok(
        await client.post(
            "/admin/regions",
            json={
                "name": "R",
                "currency_code": "usd",
                "tax_rate": float(spec["tax_rate"]),
                "tax_inclusive": spec["tax_inclusive"],
            },
            headers=headers,
        )
    )["region"]
    items, options = [], {}
    for seller_spec in spec["sellers"]:
        seller = await create_seller(client, headers, name=f"Seller {next(_sellers)}")
        product = await create_product(
            client,
            headers,
            seller["id"],
            channels=(channel_id,),
            variants=[
                variant(f"V{n}", amount=float(price), inventory_quantity=100)
                for n, (price, _) in enumerate(seller_spec["lines"])
            ],
        )
        items += [
            (v["id"], quantity)
            for v, (_, quantity) in zip(product["variants"], seller_spec["lines"], strict=True)
        ]
        option = ok(
            await client.post(
                "/admin/shipping-options",
                json={
                    "name": "Ship",
                    "seller_id": seller["id"],
                    "region_id": region["id"],
                    "amount": float(seller_spec["shipping"]),
                },
                headers=headers,
            )
        )
        options[seller["id"]] = option["shipping_option"]["id"]

    class Market:  # the subset of checkout_helpers.Marketplace the helpers use
        pass

    market = Market()
    market.store, market.region, market.options = store, region, options
    cart = await cart_with_items(client, market, items)
    await pay(client, market, cart["id"])
    cart = ok(await client.get(f"/store/carts/{cart['id']}", headers=store))["cart"]
    group = ok(await complete(client, market, cart["id"]))["order_group"]
    assert group["seller_count"] == len(spec["sellers"])
    fields = ",".join(f"orders.{name}" for name in TOTALS)
    orders = ok(
        await client.get(
            f"/admin/order-groups/{group['id']}", params={"fields": fields}, headers=headers
        )
    )["order_group"]["orders"]
    for name in TOTALS:
        placed = sum(Decimal(str(order[name])) for order in orders)
        assert placed == Decimal(str(cart[name])), (name, placed, cart[name])
    assert Decimal(str(group["total"])) == Decimal(str(cart["total"]))
    for order in orders:
        assert Decimal(str(order["total"])) == Decimal(str(order["subtotal"])) + Decimal(
            str(order["tax_total"])
        )

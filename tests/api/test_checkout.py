"""Completing a multi-seller cart (checkout.md): split, money, preconditions, payment failures,
all-or-nothing, idempotency and events — through HTTP against PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mercato.checkout import service as checkout_service
from mercato.events.service import subscribe
from mercato.orders.models import Order, ReservationItem
from mercato.payments.models import ProviderCall
from mercato.settings import get_settings
from tests.api.checkout_helpers import build_marketplace, cart_with_items, complete, pay, ready_cart
from tests.api.helpers import error, ok

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


def cents(value) -> Decimal:
    return Decimal(str(value))


async def count(app, model, *where) -> int:
    async with app.state.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
async def market(client, admin_headers):
    """Overrides conftest's ``market``: three sellers, two variants each (10.99 and 3.50) — the
    totals these tests assert."""
    return await build_marketplace(client, admin_headers, sellers=3, prices=(10.99, 3.5))


async def test_three_sellers_give_three_orders_in_one_group(client, market):
    a, b, c = (s["id"] for s in market.sellers)
    cart = await ready_cart(
        client,
        market,
        [
            (market.variants[a][0], 3),
            (market.variants[a][1], 1),
            (market.variants[b][0], 2),
            (market.variants[c][1], 5),
        ],
    )
    body = ok(await complete(client, market, cart["id"]))
    assert body["type"] == "order_group"
    group = body["order_group"]
    assert set(group) == {
        "id",
        "display_id",
        "customer_id",
        "cart_id",
        "currency_code",
        "seller_count",
        "total",
        "created_at",
        "updated_at",
        "orders",
    }
    assert group["id"].startswith("og_") and group["cart_id"] == cart["id"]
    assert group["seller_count"] == 3 and len(group["orders"]) == 3
    assert {o["seller_id"] for o in group["orders"]} == {a, b, c}
    assert all(o["status"] == "pending" and o["currency_code"] == "usd" for o in group["orders"])
    assert isinstance(group["display_id"], int) and group["display_id"] > 0

    cart_after = ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
    assert cart_after["completed_at"] is not None
    detail = ok(
        await client.get(
            f"/admin/order-groups/{group['id']}",
            params={
                "fields": "+orders.items.*,+orders.shipping_methods.*,"
                + ",".join(f"+orders.{t}" for t in TOTALS)
            },
            headers=market.admin,
        )
    )["order_group"]
    # Every cart line lands in exactly one order, with the same quantity and price.
    placed = sorted(
        (o["seller_id"], i["variant_id"], i["quantity"], cents(i["unit_price"]))
        for o in detail["orders"]
        for i in o["items"]
    )
    assert placed == sorted(
        (line["seller_id"], line["variant_id"], line["quantity"], cents(line["unit_price"]))
        for line in cart_after["items"]
    )
    assert sum(len(o["items"]) for o in detail["orders"]) == len(cart_after["items"])
    # Each order carries its own seller's shipping method only.
    for order in detail["orders"]:
        assert [m["seller_id"] for m in order["shipping_methods"]] == [order["seller_id"]]
    # Sums match the cart to the cent, field by field.
    for name in TOTALS:
        assert sum(cents(o[name]) for o in detail["orders"]) == cents(cart_after[name]), name
    assert cents(group["total"]) == cents(cart_after["total"])


async def test_single_seller_cart_gives_a_group_of_one(client, market):
    seller = market.sellers[0]["id"]
    cart = await ready_cart(client, market, [(market.variants[seller][0], 2)])
    group = ok(await complete(client, market, cart["id"]))["order_group"]
    assert group["seller_count"] == 1 and len(group["orders"]) == 1
    assert group["orders"][0]["seller_id"] == seller


async def test_preconditions_are_checked_before_anything_is_written(client, app, market):
    a, b = market.sellers[0]["id"], market.sellers[1]["id"]
    empty = ok(
        await client.post(
            "/store/carts", json={"region_id": market.region["id"]}, headers=market.store
        )
    )["cart"]
    error(
        await complete(client, market, empty["id"]),
        400,
        "invalid_data",
        "Cannot complete a cart with no items",
    )

    no_email = await cart_with_items(client, market, [(market.variants[a][0], 1)], email=None)
    await pay(client, market, no_email["id"])
    assert "email" in error(await complete(client, market, no_email["id"]), 400, "invalid_data")

    unshipped = await cart_with_items(
        client, market, [(market.variants[a][0], 1), (market.variants[b][0], 1)], ship=False
    )
    ok(
        await client.post(
            f"/store/carts/{unshipped['id']}/shipping-methods",
            json={"option_id": market.options[a]},
            headers=market.store,
        )
    )
    await pay(client, market, unshipped["id"])
    error(
        await complete(client, market, unshipped["id"]),
        400,
        "invalid_data",
        f"No shipping method selected for seller {b}",
    )

    orphan = await cart_with_items(
        client, market, [(market.variants[a][0], 1), (market.variants[b][0], 1)]
    )
    line_b = next(i for i in orphan["items"] if i["seller_id"] == b)
    orphan = ok(
        await client.delete(
            f"/store/carts/{orphan['id']}/line-items/{line_b['id']}", headers=market.store
        )
    )["parent"]
    method_b = next(m for m in orphan["shipping_methods"] if m["seller_id"] == b)
    await pay(client, market, orphan["id"])
    error(
        await complete(client, market, orphan["id"]),
        400,
        "invalid_data",
        f"Shipping method {method_b['id']} belongs to seller {b}, who has no items in the cart",
    )

    unpaid = await cart_with_items(client, market, [(market.variants[a][0], 1)])
    error(
        await complete(client, market, unpaid["id"]),
        400,
        "invalid_data",
        "Payment collection has not been initiated for cart",
    )
    ok(
        await client.post(
            "/store/payment-collections", json={"cart_id": unpaid["id"]}, headers=market.store
        )
    )
    error(
        await complete(client, market, unpaid["id"]),
        400,
        "invalid_data",
        "Payment sessions are required to complete cart",
    )

    suspended = await ready_cart(client, market, [(market.variants[b][0], 1)])
    ok(await client.post(f"/admin/sellers/{b}", json={"status": "suspended"}, headers=market.admin))
    assert b in error(await complete(client, market, suspended["id"]), 400, "not_allowed")

    short = await ready_cart(client, market, [(market.variants[a][0], 5)])
    product_id = ok(await client.get(f"/admin/products?seller_id={a}", headers=market.admin))[
        "products"
    ][0]["id"]
    ok(
        await client.post(
            f"/admin/products/{product_id}/variants/{market.variants[a][0]}",
            json={"inventory_quantity": 4},
            headers=market.admin,
        )
    )
    body = ok(await complete(client, market, short["id"]), 400)
    assert body["code"] == "insufficient_inventory" and market.variants[a][0] in body["message"]

    assert await count(app, Order) == 0
    assert await count(app, ReservationItem) == 0
    assert ok(await client.get("/admin/order-groups", headers=market.admin))["count"] == 0


@pytest.mark.parametrize(
    ("outcome", "error_type", "message"),
    [
        ("decline", "payment_authorization_error", "Payment authorization failed"),
        (
            "requires_more",
            "payment_requires_more_error",
            "More information is required for payment",
        ),
    ],
)
async def test_payment_not_authorized_returns_the_cart_and_creates_nothing(
    client, app, market, outcome, error_type, message
):
    cart = await ready_cart(client, market, provider="pp_test", data={"outcome": outcome})
    body = ok(await complete(client, market, cart["id"]))
    assert body["type"] == "cart" and body["cart"]["id"] == cart["id"]
    assert body["cart"]["completed_at"] is None
    assert body["error"] == {"type": error_type, "name": "Error", "message": message}
    assert await count(app, Order) == 0
    # Nothing is left dangling at the provider: the attempt was cancelled.
    async with app.state.sessionmaker() as session:
        calls = [
            (c.operation, c.result)
            for c in await session.scalars(
                select(ProviderCall).order_by(ProviderCall.created_at, ProviderCall.id)
            )
        ]
    assert calls[0][0] == "authorize" and ("cancel", "canceled") in calls
    # Stock is untouched and the cart stays completable with a new session.
    available = ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
    assert available["completed_at"] is None
    await pay(client, market, cart["id"], "pp_test", outcome="authorize")
    assert ok(await complete(client, market, cart["id"]))["type"] == "order_group"


async def test_the_test_provider_waits_as_long_as_configured_in_every_call(
    client, app, market, monkeypatch
):
    """``MERCATO_TEST_PROVIDER_DELAY_MS`` stands in for a real processor's round trip: a declined
    completion calls ``pp_test`` twice (authorize, then cancel) and waits in each."""
    cart = await ready_cart(client, market, provider="pp_test", data={"outcome": "decline"})
    waits: list[float] = []
    sleep = asyncio.sleep

    async def noted_sleep(delay: float, *args):
        waits.append(delay)
        return await sleep(delay, *args)

    monkeypatch.setattr(asyncio, "sleep", noted_sleep)
    monkeypatch.setenv("MERCATO_TEST_PROVIDER_DELAY_MS", "150")
    get_settings.cache_clear()
    try:
        body = ok(await complete(client, market, cart["id"]))
    finally:
        monkeypatch.delenv("MERCATO_TEST_PROVIDER_DELAY_MS")
        get_settings.cache_clear()
    assert body["type"] == "cart"
    async with app.state.sessionmaker() as session:
        operations = sorted(c.operation for c in await session.scalars(select(ProviderCall)))
    assert operations == ["authorize", "cancel"]
    assert waits.count(0.15) == 2


async def test_failure_after_authorization_voids_it_and_leaves_no_trace(
    client, app, market, monkeypatch
):
    cart = await ready_cart(client, market, provider="pp_test", data={"outcome": "authorize"})

    async def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(checkout_service, "_place_orders", crash)
    response = await complete(client, market, cart["id"])
    assert response.status_code == 500
    assert response.json() == {"type": "unknown_error", "message": "An unknown error occurred."}
    async with app.state.sessionmaker() as session:
        operations = [c.operation for c in await session.scalars(select(ProviderCall))]
    assert sorted(operations) == ["authorize", "cancel"]
    assert await count(app, Order) == 0
    seller = market.sellers[0]["id"]
    product = ok(
        await client.get(
            f"/admin/products?seller_id={seller}&fields=*variants", headers=market.admin
        )
    )["products"][0]
    assert all(v["reserved_quantity"] == 0 for v in product["variants"])


async def test_completing_again_returns_the_same_group_and_creates_nothing(client, app, market):
    cart = await ready_cart(client, market)
    first = ok(await complete(client, market, cart["id"]))
    second = ok(await complete(client, market, cart["id"]))
    assert first == second
    assert await count(app, Order) == 3
    events = ok(await client.get("/admin/events", headers=market.admin))["events"]
    assert sorted(e["name"] for e in events) == ["order.placed"] * 3 + ["order_group.created"]


async def test_concurrent_completions_of_one_cart_create_one_group(client, app, market):
    cart = await ready_cart(client, market)
    responses = await asyncio.gather(*(complete(client, market, cart["id"]) for _ in range(20)))
    bodies = [ok(r) for r in responses]
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0]["type"] == "order_group"
    assert ok(await client.get("/admin/order-groups", headers=market.admin))["count"] == 1
    assert await count(app, Order) == 3
    async with app.state.sessionmaker() as session:
        authorizations = await session.scalar(
            select(func.count())
            .select_from(ProviderCall)
            .where(ProviderCall.operation == "authorize")
        )
    assert authorizations == 1


async def test_concurrent_buyers_of_the_last_units_never_oversell(client, admin_headers, app):
    market = await build_marketplace(client, admin_headers, sellers=2, stock=5)
    scarce = market.variants[market.sellers[0]["id"]][0]
    other = market.variants[market.sellers[1]["id"]][0]
    carts = [await ready_cart(client, market, [(scarce, 2), (other, 1)]) for _ in range(6)]
    responses = await asyncio.gather(*(complete(client, market, c["id"]) for c in carts))
    winners = [r for r in responses if r.status_code == 200]
    losers = [r for r in responses if r.status_code != 200]
    assert len(winners) == 2  # 2 + 2 of 5 units; a third would need 6
    assert all(
        r.status_code == 400 and r.json()["code"] == "insufficient_inventory" for r in losers
    )
    product = ok(
        await client.get(
            f"/admin/products?seller_id={market.sellers[0]['id']}&fields=*variants",
            headers=market.admin,
        )
    )["products"][0]
    level = next(v for v in product["variants"] if v["id"] == scarce)
    assert level["reserved_quantity"] == 4 and level["available_quantity"] == 1
    assert await count(app, Order) == 4
    # The losers' other seller's stock was not reserved either.
    product = ok(
        await client.get(
            f"/admin/products?seller_id={market.sellers[1]['id']}&fields=*variants",
            headers=market.admin,
        )
    )["products"][0]
    assert next(v for v in product["variants"] if v["id"] == other)["reserved_quantity"] == 2


async def test_events_are_dispatched_once_and_only_after_commit(client, app, market):
    seen: list[tuple[str, str, bool]] = []

    async def on_event(event):
        async with app.state.sessionmaker() as session:  # a new connection sees only committed rows
            committed = await session.scalar(
                select(func.count()).select_from(Order).where(Order.cart_id == cart["id"])
            )
        seen.append((event.name, event.data["id"], committed > 0))

    unsubscribe = [subscribe(name, on_event) for name in ("order.placed", "order_group.created")]
    try:
        cart = await ready_cart(client, market)
        group = ok(await complete(client, market, cart["id"]))["order_group"]
        ok(await complete(client, market, cart["id"]))
    finally:
        for stop in unsubscribe:
            stop()
    assert sorted(seen) == sorted(
        [("order.placed", o["id"], True) for o in group["orders"]]
        + [("order_group.created", group["id"], True)]
    )
    events = ok(
        await client.get("/admin/events", params={"resource_id": group["id"]}, headers=market.admin)
    )["events"]
    assert [e["name"] for e in events] == ["order_group.created"]
    assert events[0]["dispatched_at"] is not None and events[0]["data"] == {"id": group["id"]}


async def test_guest_checkout_has_no_customer(client, market):
    cart = await ready_cart(client, market)
    group = ok(await complete(client, market, cart["id"]))["order_group"]
    assert group["customer_id"] is None

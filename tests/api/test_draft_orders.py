"""Draft orders (order-changes.md §12, §13–§16): an operator's multi-seller draft converted into
one order group with one order per seller by checkout's split and allocation.

The §16 "Draft order" example to the cent (marked paid, or authorized in the store and each
order captured within its share); a three-seller draft whose orders' totals add up exactly to
the draft's; a second conversion that creates nothing; all or nothing (a suspended seller, a
variant out of stock); concurrent conversions; every validation error; the list."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text

from mercato.draft_orders.models import DraftOrder
from mercato.events.models import OutboxEvent
from mercato.orders.models import Order, OrderGroup, ReservationItem
from mercato.payments.models import Capture, Payment, PaymentCollection
from mercato.products.models import InventoryLevel
from mercato.sellers.models import StockLocation
from tests.api.cart_helpers import customer_headers
from tests.api.checkout_helpers import Marketplace, build_marketplace, complete, ready_cart
from tests.api.helpers import create_product, error, ok, variant

CONVERTED = "Draft order {} has been converted and cannot be changed"
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
    "total",
)


def cents(amount: float | int) -> int:
    """A major-unit JSON amount in minor units, exactly."""
    return int(Decimal(str(amount)) * 100)


@dataclass
class Drafts:
    """§16's marketplace without the checkout: A sells Shirt 30 (and Cap 12), B Mug 20 and
    Teapot 35; tax 10 %; A ships for 5.00 (``so_a``), B for 4.00 (``so_b``); 10 of each in
    stock."""

    client: Any
    app: Any
    market: Marketplace
    a: str
    b: str
    so_a: str
    so_b: str

    @property
    def admin(self) -> dict[str, str]:
        return self.market.admin

    @property
    def shirt(self) -> str:
        return self.market.variants[self.a][0]

    @property
    def cap(self) -> str:
        return self.market.variants[self.a][3]

    @property
    def mug(self) -> str:
        return self.market.variants[self.b][1]

    def example(self, **extra: Any) -> dict[str, Any]:
        """§16: 1 × Shirt (A) and 2 × Mug (B), shipping so_A and so_B."""
        return {
            "region_id": self.market.region["id"],
            "email": "buyer@example.com",
            "items": [
                {"variant_id": self.shirt, "quantity": 1},
                {"variant_id": self.mug, "quantity": 2},
            ],
            "shipping_methods": [
                {"shipping_option_id": self.so_a},
                {"shipping_option_id": self.so_b},
            ],
            **extra,
        }

    async def create(self, body: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        response = await self.post("/admin/draft-orders", body or self.example(**extra))
        return ok(response)["draft_order"]

    async def post(self, path: str, json: Any = None, headers: dict | None = None, **kw: Any):
        return await self.client.post(path, json=json, headers=headers or self.admin, **kw)

    async def get(self, draft_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/admin/draft-orders/{draft_id}", headers=self.admin)
        return ok(response)["draft_order"]

    async def convert(self, draft_id: str, headers: dict | None = None):
        return await self.post(f"/admin/draft-orders/{draft_id}/convert-to-order", None, headers)

    async def order(self, order_id: str) -> dict[str, Any]:
        fields = "+summary,*payment_collections,*items"
        response = await self.client.get(
            f"/admin/orders/{order_id}", headers=self.admin, params={"fields": fields}
        )
        return ok(response)["order"]

    async def rows(self) -> dict[str, Any]:
        """What a conversion writes: stock levels, reservations, groups, orders, collections,
        payments, captures and events."""
        async with self.app.state.sessionmaker() as session:
            levels = sorted(
                (lv.location_id, lv.variant_id, lv.stocked_quantity, lv.reserved_quantity)
                for lv in await session.scalars(select(InventoryLevel))
            )
            counts = {
                model.__tablename__: await session.scalar(select(func.count()).select_from(model))
                for model in (
                    OrderGroup,
                    Order,
                    ReservationItem,
                    PaymentCollection,
                    Payment,
                    Capture,
                    OutboxEvent,
                )
            }
        return {"levels": levels, **counts}

    async def reservations(self) -> list[tuple[str, str, int]]:
        """``(seller of the location, variant, quantity)`` of every reservation."""
        async with self.app.state.sessionmaker() as session:
            rows = await session.execute(
                select(
                    StockLocation.seller_id, ReservationItem.variant_id, ReservationItem.quantity
                )
                .join(StockLocation, StockLocation.id == ReservationItem.location_id)
                .order_by(StockLocation.seller_id)
            )
            return [tuple(r) for r in rows.all()]

    async def events(self) -> list[tuple[str, dict[str, Any]]]:
        async with self.app.state.sessionmaker() as session:
            found = await session.scalars(
                select(OutboxEvent).order_by(OutboxEvent.created_at, OutboxEvent.id)
            )
            return [(e.name, e.data) for e in found]


async def _drafts(client, app, admin, **marketplace: Any) -> Drafts:
    market = await build_marketplace(
        client,
        admin,
        **{"sellers": 2, "prices": (30, 20, 35, 12), "shipping": 5, "stock": 10, **marketplace},
    )
    a, b = (s["id"] for s in market.sellers[:2])
    so_b = ok(
        await client.post(
            "/admin/shipping-options",
            headers=admin,
            json={
                "name": "B standard",
                "seller_id": b,
                "region_id": market.region["id"],
                "amount": 4,
            },
        )
    )["shipping_option"]["id"]
    return Drafts(client, app, market, a, b, market.options[a], so_b)


def _sellers(draft: dict[str, Any]) -> dict[str, tuple[float, float, float, float]]:
    return {
        s["seller_id"]: (s["item_total"], s["shipping_total"], s["tax_total"], s["total"])
        for s in draft["sellers"]
    }


# --------------------------------------------------------------------------- §16, to the cent


async def test_the_worked_example_converts_and_is_marked_paid(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    before = await d.rows()
    draft = await d.create()
    assert (draft["status"], draft["is_draft_order"], draft["order_group_id"]) == (
        "draft",
        True,
        None,
    )
    assert _sellers(draft) == {d.a: (33, 5.5, 3.5, 38.5), d.b: (44, 4.4, 4.4, 48.4)}
    assert {s["seller_id"]: s["seller"]["id"] for s in draft["sellers"]} == {d.a: d.a, d.b: d.b}
    assert (draft["item_total"], draft["shipping_total"], draft["tax_total"]) == (77, 9.9, 7.9)
    assert draft["total"] == 86.9
    assert [(i["variant_id"], i["quantity"], i["total"]) for i in draft["items"]] == [
        (d.shirt, 1, 33),
        (d.mug, 2, 44),
    ]
    # Stock is not reserved before conversion.
    assert await d.rows() == before

    group = ok(await d.convert(draft["id"]))["order_group"]
    assert (group["total"], group["seller_count"], group["cart_id"]) == (86.9, 2, None)
    assert (group["status"], group["payment_status"]) == ("pending", "not_paid")
    orders = {o["seller_id"]: o for o in group["orders"]}
    assert {s: (o["status"], o["total"]) for s, o in orders.items()} == {
        d.a: ("pending", 38.5),
        d.b: ("pending", 48.4),
    }
    a_order, b_order = await d.order(orders[d.a]["id"]), await d.order(orders[d.b]["id"])
    for order in (a_order, b_order):
        assert (order["cart_id"], order["email"], order["payment_status"]) == (
            None,
            "buyer@example.com",
            "not_paid",
        )
        assert order["summary"]["pending_difference"] == order["total"]
        assert order["summary"]["amount_due"] == 0  # the draft's collection covers it
    # One collection of 86.90, not paid, allocated 38.50 / 48.40.
    [a_share], [b_share] = a_order["payment_collections"], b_order["payment_collections"]
    assert a_share["id"] == b_share["id"]
    assert (a_share["source"], a_share["status"], a_share["amount"]) == (
        "draft_order",
        "not_paid",
        38.5,
    )
    assert b_share["amount"] == 48.4
    async with app.state.sessionmaker() as session:
        collection = await session.get(PaymentCollection, a_share["id"])
        assert (collection.amount, collection.status, collection.cart_id) == (
            8690,
            "not_paid",
            None,
        )
        linked = await session.scalar(
            select(OrderGroup.draft_order_id).where(OrderGroup.id == group["id"])
        )
    assert linked == draft["id"]
    # Reserved at each seller's location; nothing else moved.
    assert sorted(await d.reservations()) == sorted([(d.a, d.shirt, 1), (d.b, d.mug, 2)])
    reserved = {(v, r) for _, v, _, r in (await d.rows())["levels"] if r}
    assert reserved == {(d.shirt, 1), (d.mug, 2)}
    # The draft is completed; its totals are its orders'.
    done = await d.get(draft["id"])
    assert (done["status"], done["order_group_id"]) == ("completed", group["id"])
    assert _sellers(done) == _sellers(draft)
    # Events: order.placed per order, the group's, the conversion's.
    assert await d.events() == [
        ("order.placed", {"id": orders[d.a]["id"]}),
        ("order.placed", {"id": orders[d.b]["id"]}),
        ("order_group.created", {"id": group["id"]}),
        ("draft_order.converted", {"id": draft["id"], "order_group_id": group["id"]}),
    ]

    # Mark-as-paid: the collection authorized and captured with pp_system_default, one capture
    # per order share.
    url = f"/admin/payment-collections/{a_share['id']}/mark-as-paid"
    error(
        await d.post(url, {"order_id": "order_nope"}),
        400,
        "invalid_data",
        f"Payment collection {a_share['id']} is not linked to order order_nope",
    )
    paid = ok(
        await d.post(
            url,
            {"order_id": orders[d.a]["id"]},
            params={"fields": "status,amount,authorized_amount,captured_amount"},
        )
    )["payment_collection"]
    assert paid == {
        "id": a_share["id"],
        "status": "completed",
        "amount": 86.9,
        "authorized_amount": 86.9,
        "captured_amount": 86.9,
    }
    for seller, total in ((d.a, 38.5), (d.b, 48.4)):
        order = await d.order(orders[seller]["id"])
        assert order["summary"]["paid_total"] == total
        assert order["summary"]["pending_difference"] == 0
        assert (order["status"], order["payment_status"]) == ("pending", "captured")
    async with app.state.sessionmaker() as session:
        [payment] = await session.scalars(
            select(Payment).where(Payment.payment_collection_id == a_share["id"])
        )
        captures = sorted(
            (c.order_id, c.amount)
            for c in await session.scalars(select(Capture).where(Capture.payment_id == payment.id))
        )
    assert payment.provider_id == "pp_system_default" and payment.amount == 8690
    assert captures == sorted([(orders[d.a]["id"], 3850), (orders[d.b]["id"], 4840)])
    group = ok(await client.get(f"/admin/order-groups/{group['id']}", headers=d.admin))
    assert group["order_group"]["payment_status"] == "captured"
    error(
        await d.post(url, {"order_id": orders[d.a]["id"]}),
        400,
        "not_allowed",
        "Can only mark 'not_paid' payment collection as paid",
    )
    # Refunds work per order as after checkout: the shared payment names its order.
    shared_by = ", ".join(sorted(o["id"] for o in orders.values()))
    error(
        await d.post(f"/admin/payments/{payment.id}/refund", {"amount": 1}),
        400,
        "invalid_data",
        f"order_id is required: payment {payment.id} is shared by orders {shared_by}",
    )
    ok(await d.post(f"/admin/orders/{orders[d.b]['id']}/refund", {"amount": 8.4}))
    b_after = await d.order(orders[d.b]["id"])
    assert b_after["summary"]["refunded_total"] == 8.4
    assert (await d.order(orders[d.a]["id"]))["summary"]["refunded_total"] == 0


async def test_the_customer_authorizes_the_draft_and_each_order_is_captured(
    client, app, admin_headers
):
    d = await _drafts(client, app, admin_headers)
    publishable = d.market.store
    customer = await customer_headers(client, publishable, "payer@example.com")
    me = ok(await client.get("/store/customers/me", headers={**publishable, **customer}))
    draft = await d.create(d.example(email=None, customer_id=me["customer"]["id"]))
    assert draft["email"] == "payer@example.com"  # the customer's
    group = ok(await d.convert(draft["id"]))["order_group"]
    assert group["customer_id"] == me["customer"]["id"]
    orders = {o["seller_id"]: o["id"] for o in group["orders"]}
    [share] = (await d.order(orders[d.a]))["payment_collections"]
    collection = share["id"]
    sessions = f"/store/payment-collections/{collection}/payment-sessions"

    # Someone else's (or no) token: the collection does not exist for them.
    stranger = await customer_headers(client, publishable, "stranger@example.com")
    for headers in (publishable, {**publishable, **stranger}):
        error(
            await d.post(sessions, {"provider_id": "pp_test"}, headers),
            404,
            "not_found",
            f"Payment collection with id {collection} was not found",
        )
    store = {**publishable, **customer}

    async def session_of(**data: Any) -> str:
        body = {"provider_id": "pp_test", **({"data": data} if data else {})}
        paid = ok(await d.post(sessions, body, store, params={"fields": "*payment_sessions"}))
        [payment_session] = paid["payment_collection"]["payment_sessions"]
        assert payment_session["amount"] == 86.9
        return payment_session["id"]

    async def authorize(session_id: str):
        return await d.post(f"{sessions}/{session_id}/authorize", None, store)

    declined = await session_of(outcome="decline")
    error(
        await authorize(declined),
        422,
        "payment_authorization_error",
        "Payment authorization failed",
    )
    assert (await d.order(orders[d.a]))["payment_status"] == "not_paid"

    session_id = await session_of()
    paid = ok(await authorize(session_id))["payment_collection"]
    assert (paid["status"], paid["amount"]) == ("authorized", 86.9)
    for order_id in orders.values():
        order = await d.order(order_id)
        assert (order["status"], order["payment_status"]) == ("pending", "authorized")
    ok(await authorize(session_id))  # the same session again: answered as the first time
    async with app.state.sessionmaker() as session:
        payments = list(
            await session.scalars(
                select(Payment).where(Payment.payment_collection_id == collection)
            )
        )
    assert len(payments) == 1 and payments[0].amount == 8690
    error(
        await d.post(
            f"/admin/payment-collections/{collection}/mark-as-paid", {"order_id": orders[d.a]}
        ),
        400,
        "not_allowed",
        "Can only mark 'not_paid' payment collection as paid",
    )

    # Each order is captured separately, within its share.
    ok(await d.post(f"/admin/orders/{orders[d.a]}/capture", {}))
    a_order = await d.order(orders[d.a])
    assert a_order["summary"]["paid_total"] == 38.5 and a_order["payment_status"] == "captured"
    assert (await d.order(orders[d.b]))["summary"]["paid_total"] == 0
    error(
        await d.post(f"/admin/orders/{orders[d.b]}/capture", {"amount": 48.41}),
        400,
        "invalid_data",
        f"Cannot capture more than 48.40 USD for order {orders[d.b]}",
    )
    ok(await d.post(f"/admin/orders/{orders[d.b]}/capture", {"amount": 20}))
    ok(await d.post(f"/admin/orders/{orders[d.b]}/capture", {}))
    b_order = await d.order(orders[d.b])
    assert (
        b_order["summary"]["paid_total"] == 48.4 and b_order["summary"]["pending_difference"] == 0
    )
    async with app.state.sessionmaker() as session:
        captures = sorted(
            (c.order_id, c.amount)
            for c in await session.scalars(
                select(Capture).where(Capture.payment_id == payments[0].id)
            )
        )
        status = await session.scalar(
            select(PaymentCollection.status).where(PaymentCollection.id == collection)
        )
    assert captures == sorted([(orders[d.a], 3850), (orders[d.b], 2000), (orders[d.b], 2840)])
    assert status == "completed"
    # The reservation is fulfilled like a checkout's: the Shirt leaves A's shelf.
    [shirt_line] = (await d.order(orders[d.a]))["items"]
    body = {"items": [{"id": shirt_line["id"], "quantity": 1}]}
    ok(await d.post(f"/admin/orders/{orders[d.a]}/fulfillments", body))
    levels = {v: (stocked, reserved) for _, v, stocked, reserved in (await d.rows())["levels"]}
    assert (levels[d.shirt], levels[d.mug]) == ((9, 0), (10, 2))


async def test_an_auto_capturing_provider_captures_each_order_share(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    group = ok(await d.convert((await d.create())["id"]))["order_group"]
    orders = [o["id"] for o in group["orders"]]
    collection = (await d.order(orders[0]))["payment_collections"][0]["id"]
    sessions = f"/store/payment-collections/{collection}/payment-sessions"
    paid = ok(
        await d.post(
            sessions,
            {"provider_id": "pp_test", "data": {"outcome": "capture"}},
            d.market.store,
            params={"fields": "*payment_sessions"},
        )
    )
    session_id = paid["payment_collection"]["payment_sessions"][0]["id"]
    done = ok(await d.post(f"{sessions}/{session_id}/authorize", None, d.market.store))
    assert done["payment_collection"]["status"] == "completed"
    assert [(await d.order(o))["summary"]["paid_total"] for o in orders] == [38.5, 48.4]


# --------------------------------------------------------------------------- splitting exactly


async def test_a_three_seller_draft_converts_into_orders_that_sum_to_it(client, app, admin_headers):
    """Awkward prices and an 8.875 % tax: every line's tax is rounded, and the three orders'
    totals still add up to the draft's to the cent (and each order's to its seller's)."""
    d = await _drafts(
        client,
        app,
        admin_headers,
        sellers=3,
        prices=(10.99, 3.33, 7.77),
        shipping=4.99,
        tax_rate=8.875,
    )
    c = d.market.sellers[2]["id"]
    body = {
        "region_id": d.market.region["id"],
        "email": "b2b@example.com",
        "items": [
            {"variant_id": d.market.variants[d.a][0], "quantity": 3},
            {"variant_id": d.market.variants[d.a][1], "quantity": 7},
            {"variant_id": d.market.variants[d.b][2], "quantity": 5, "unit_price": 6.01},
            {"variant_id": d.market.variants[c][1], "quantity": 1},
            {"title": "Engraving", "seller_id": c, "unit_price": 0.07, "quantity": 13},
        ],
        "shipping_methods": [
            {"shipping_option_id": d.so_a},
            {"shipping_option_id": d.market.options[d.b], "amount": 2.37},
            {"shipping_option_id": d.market.options[c], "name": "Courier"},
        ],
    }
    draft = await d.create(body)
    assert [i["title"] for i in draft["items"]][-1] == "Engraving"
    custom = draft["items"][-1]
    assert (custom["variant_id"], custom["product_id"], custom["unit_price"]) == (None, None, 0.07)
    assert [m["name"] for m in draft["shipping_methods"] if m["seller_id"] == c] == ["Courier"]
    group = ok(await d.convert(draft["id"]))["order_group"]
    assert group["seller_count"] == 3 and len(group["orders"]) == 3
    orders = [await d.order(o["id"]) for o in group["orders"]]
    for name in TOTALS:
        assert sum(cents(o[name]) for o in orders) == cents(draft[name]), name
    assert cents(group["total"]) == cents(draft["total"])
    by_seller = _sellers(draft)
    for order in orders:
        seller = by_seller[order["seller_id"]]
        assert (
            order["item_total"],
            order["shipping_total"],
            order["tax_total"],
            order["total"],
        ) == seller
        [share] = order["payment_collections"]
        assert share["amount"] == order["total"]
    # The custom item has no inventory: only the variants' units are reserved.
    reserved = {variant: q for _, variant, q in await d.reservations()}
    assert reserved == {
        d.market.variants[d.a][0]: 3,
        d.market.variants[d.a][1]: 7,
        d.market.variants[d.b][2]: 5,
        d.market.variants[c][1]: 1,
    }
    engraving = next(i for o in orders for i in o["items"] if i["title"] == "Engraving")
    assert (engraving["variant_id"], engraving["quantity"], engraving["unit_price"]) == (
        None,
        13,
        0.07,
    )


async def test_a_draft_with_nothing_to_pay_has_no_collection(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    body = {
        "region_id": d.market.region["id"],
        "email": "free@example.com",
        "items": [{"variant_id": d.shirt, "quantity": 1, "unit_price": 0}],
        "shipping_methods": [{"shipping_option_id": d.so_a, "amount": 0}],
    }
    group = ok(await d.convert((await d.create(body))["id"]))["order_group"]
    order = await d.order(group["orders"][0]["id"])
    assert (order["total"], order["payment_collections"]) == (0, [])
    assert (await d.rows())["payment_collection"] == 0


# --------------------------------------------------------------------------- idempotency, races


async def test_converting_again_answers_the_same_group_and_creates_nothing(
    client, app, admin_headers
):
    d = await _drafts(client, app, admin_headers)
    draft = await d.create()
    first = ok(await d.convert(draft["id"]))
    after = await d.rows()
    again = await d.convert(draft["id"])
    assert ok(again) == first
    assert await d.rows() == after  # no order, reservation, collection or event more
    # With an Idempotency-Key the stored answer is replayed.
    keyed = {**d.admin, "Idempotency-Key": "convert-1"}
    ok(await d.convert(draft["id"], keyed))
    replayed = await d.convert(draft["id"], keyed)
    assert replayed.headers["Idempotent-Replayed"] == "true" and ok(replayed) == first
    assert await d.rows() == after


async def test_concurrent_conversions_make_one_group(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    draft = await d.create()
    responses = await asyncio.gather(*(d.convert(draft["id"]) for _ in range(8)))
    bodies = [ok(r)["order_group"] for r in responses]
    assert len({b["id"] for b in bodies}) == 1
    rows = await d.rows()
    assert (rows["order_group"], rows["order"], rows["payment_collection"]) == (1, 2, 1)
    assert sorted(await d.reservations()) == sorted([(d.a, d.shirt, 1), (d.b, d.mug, 2)])
    names = [name for name, _ in await d.events()]
    assert names.count("order_group.created") == names.count("draft_order.converted") == 1


# --------------------------------------------------------------------------- all or nothing


async def test_a_suspended_seller_or_missing_stock_refuses_the_conversion_whole(
    client, app, admin_headers
):
    d = await _drafts(client, app, admin_headers)
    draft = await d.create()
    before = await d.rows()
    ok(await d.post(f"/admin/sellers/{d.b}", {"status": "suspended"}))
    error(
        await d.convert(draft["id"]),
        400,
        "not_allowed",
        f"Seller {d.b} is not active; draft order {draft['id']} cannot be converted",
    )
    assert await d.rows() == before
    assert (await d.get(draft["id"]))["status"] == "draft"
    ok(await d.post(f"/admin/sellers/{d.b}", {"status": "active"}))

    # A checkout takes 9 of the 10 Mugs: the draft's 2 are no longer there. A's Shirt, whose
    # level is updated first, is not left reserved either.
    cart = await ready_cart(client, d.market, [(d.mug, 9)])
    ok(await complete(client, d.market, cart["id"]))
    before = await d.rows()
    refused = await d.convert(draft["id"])
    error(refused, 400, "not_allowed", f"Variant {d.mug} does not have the required inventory")
    assert refused.json()["code"] == "insufficient_inventory"
    assert await d.rows() == before
    assert (await d.get(draft["id"]))["status"] == "draft"


# --------------------------------------------------------------------------- validation


async def test_create_refuses_bad_drafts_and_writes_nothing(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    h, region = d.admin, d.market.region["id"]
    channel = d.market.channel_id
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

    def body(**extra: Any) -> dict[str, Any]:
        return {"region_id": region, "email": "x@example.com", **extra}

    def items(*entries: dict[str, Any]) -> dict[str, Any]:
        return body(items=list(entries))

    cases: list[tuple[dict[str, Any], int, str, str | None]] = [
        (
            {"region_id": region},
            400,
            "invalid_data",
            "Either email or customer_id must be provided",
        ),
        (
            body(currency_code="eur"),
            400,
            "invalid_data",
            "Invalid request: currency_code: must be the region's currency (usd)",
        ),
        (body(region_id="reg_nope"), 400, "invalid_data", "Region with id reg_nope was not found"),
        (
            {"region_id": region, "customer_id": "cus_nope"},
            400,
            "invalid_data",
            "Customer with id cus_nope was not found",
        ),
        (
            body(sales_channel_id="sc_nope"),
            400,
            "invalid_data",
            "Sales channel with id sc_nope was not found",
        ),
        (body(email="not-an-email"), 400, "invalid_data", None),
        (
            items({"quantity": 1, "unit_price": 5, "seller_id": d.a}),
            400,
            "invalid_data",
            "Invalid request: items.0.title: is required for an item without variant_id",
        ),
        (
            items({"quantity": 1, "title": "Gift wrap", "seller_id": d.a}),
            400,
            "invalid_data",
            "Invalid request: items.0.unit_price: is required for an item without variant_id",
        ),
        (
            items({"quantity": 1, "title": "Gift wrap", "unit_price": 5}),
            400,
            "invalid_data",
            "Invalid request: items.0.seller_id: is required for an item without variant_id",
        ),
        (
            items({"quantity": 1, "title": "Gift wrap", "unit_price": 5, "seller_id": "sel_nope"}),
            400,
            "invalid_data",
            "Seller with id sel_nope was not found",
        ),
        (
            items({"quantity": 1, "title": "Gift wrap", "unit_price": 5, "seller_id": suspended}),
            400,
            "invalid_data",
            f"Seller {suspended} is not active",
        ),
        (
            items({"quantity": 1, "title": "Gift wrap", "unit_price": 1.234, "seller_id": d.a}),
            400,
            "invalid_data",
            "Invalid request: items.0.unit_price: 1.234 has more decimals than usd allows (2)",
        ),
        (items({"variant_id": d.shirt, "quantity": 0}), 400, "invalid_data", None),
        (
            items({"variant_id": "variant_nope", "quantity": 1}),
            404,
            "not_found",
            "Variant with id variant_nope was not found",
        ),
        (
            items({"variant_id": d.shirt, "quantity": 1, "seller_id": d.b}),
            400,
            "invalid_data",
            f"Variant {d.shirt} belongs to seller {d.a}, not to seller {d.b}",
        ),
        (
            items({"variant_id": unpublished, "quantity": 1}),
            400,
            "invalid_data",
            f"Product {draft_product['id']} of variant {unpublished} is not published",
        ),
        (
            items({"variant_id": not_in_channel, "quantity": 1}),
            400,
            "invalid_data",
            f"Variant {not_in_channel} is not available in sales channel {channel}",
        ),
        (
            items({"variant_id": gone, "quantity": 1}),
            400,
            "invalid_data",
            f"Seller {suspended} of variant {gone} is not active",
        ),
        (
            items({"variant_id": no_usd, "quantity": 1}),
            400,
            "invalid_data",
            f"Variant {no_usd} has no price in currency usd",
        ),
        (
            items({"variant_id": d.shirt, "quantity": 11}),
            400,
            "not_allowed",
            f"Variant {d.shirt} does not have the required inventory (11 requested, 10 available)",
        ),
        (
            items({"variant_id": d.shirt, "quantity": 6}, {"variant_id": d.shirt, "quantity": 5}),
            400,
            "not_allowed",
            f"Variant {d.shirt} does not have the required inventory (11 requested, 10 available)",
        ),
        (
            body(
                items=[{"variant_id": d.shirt, "quantity": 1}],
                shipping_methods=[{"shipping_option_id": "so_nope"}],
            ),
            404,
            "not_found",
            "Shipping option with id so_nope was not found",
        ),
        (
            body(
                items=[{"variant_id": d.shirt, "quantity": 1}],
                shipping_methods=[{"shipping_option_id": returns}],
            ),
            400,
            "invalid_data",
            f"Shipping option {returns} is a return option and cannot ship items to the customer",
        ),
        (
            body(
                items=[{"variant_id": d.shirt, "quantity": 1}],
                shipping_methods=[{"shipping_option_id": elsewhere}],
            ),
            400,
            "invalid_data",
            f"Shipping option {elsewhere} is not available in region {region}",
        ),
        (
            body(
                items=[{"variant_id": d.shirt, "quantity": 1}],
                shipping_methods=[{"shipping_option_id": d.so_b}],
            ),
            400,
            "invalid_data",
            f"Shipping option {d.so_b} belongs to seller {d.b}, who has no items in the draft order",
        ),
        (
            body(
                items=[{"variant_id": d.shirt, "quantity": 1}],
                shipping_methods=[{"shipping_option_id": d.so_a, "amount": 0.001}],
            ),
            400,
            "invalid_data",
            "Invalid request: shipping_methods.0.amount: 0.001 has more decimals than usd allows (2)",
        ),
        (body(foo=1), 400, "invalid_data", "Invalid request: Unrecognized fields: 'foo'"),
    ]
    for request, status, type_, message in cases:
        error(await d.post("/admin/draft-orders", request), status, type_, message)
    assert (await d.rows())["event_outbox"] == 0
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(DraftOrder)) == 0

    # A variant without a price is sold at the given one; a second method of a seller replaces
    # the first; amount and name default to the option's.
    express = ok(
        await client.post(
            "/admin/shipping-options",
            headers=h,
            json={"name": "A express", "seller_id": d.a, "region_id": region, "amount": 9},
        )
    )["shipping_option"]["id"]
    draft = await d.create(
        items(
            {"variant_id": no_usd, "quantity": 2, "unit_price": 7.5, "title": "Euro thing"},
            {"variant_id": d.shirt, "quantity": 1},
        )
        | {"shipping_methods": [{"shipping_option_id": d.so_a}, {"shipping_option_id": express}]}
    )
    assert draft["sales_channel_id"] == channel  # the only channel
    assert [(i["title"], i["unit_price"]) for i in draft["items"]] == [
        ("Euro thing", 7.5),
        (draft["items"][1]["title"], 30),
    ]
    assert [
        (m["shipping_option_id"], m["name"], m["amount"]) for m in draft["shipping_methods"]
    ] == [(express, "A express", 9)]
    # With two channels, the draft must name one.
    ok(await client.post("/admin/sales-channels", headers=h, json={"name": "Phone"}))
    error(
        await d.post("/admin/draft-orders", body()),
        400,
        "invalid_data",
        "Invalid request: sales_channel_id: is required unless exactly one sales channel exists",
    )
    ok(await d.post("/admin/draft-orders", body(sales_channel_id=channel)))


async def test_update_and_delete_rules(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    draft = await d.create()
    url = f"/admin/draft-orders/{draft['id']}"
    error(
        await d.post(url, {"email": None}),
        400,
        "invalid_data",
        "Either email or customer_id must be provided",
    )
    error(
        await d.post(url, {"sales_channel_id": None}),
        400,
        "invalid_data",
        "Invalid request: sales_channel_id: must not be null",
    )
    error(
        await d.post(url, {"customer_id": "cus_nope"}),
        400,
        "invalid_data",
        "Customer with id cus_nope was not found",
    )
    phone = ok(await client.post("/admin/sales-channels", headers=d.admin, json={"name": "Phone"}))
    phone_id = phone["sales_channel"]["id"]
    error(
        await d.post(url, {"sales_channel_id": phone_id}),
        400,
        "invalid_data",
        f"Variant {d.shirt} is not available in sales channel {phone_id}",
    )
    assert await d.get(draft["id"]) == draft  # refused changes changed nothing

    address = {"first_name": "Ada", "city": "Paris", "country_code": "FR"}
    updated = ok(
        await d.post(
            url,
            {"shipping_address": address, "metadata": {"po": "PO-7"}, "email": "ada@example.com"},
        )
    )["draft_order"]
    assert updated["shipping_address"]["country_code"] == "fr"
    assert (updated["email"], updated["metadata"]) == ("ada@example.com", {"po": "PO-7"})
    customer = await customer_headers(client, d.market.store, "ada.account@example.com")
    me = ok(await client.get("/store/customers/me", headers={**d.market.store, **customer}))
    cus = me["customer"]["id"]
    # A draft left without an email takes its customer's.
    ok(await d.post(url, {"customer_id": cus, "email": None}))
    assert (await d.get(draft["id"]))["email"] == "ada.account@example.com"
    group = ok(await d.convert(draft["id"]))["order_group"]
    assert group["customer_id"] == cus
    order = await d.order(group["orders"][0]["id"])
    assert (order["email"], order["shipping_address"]["city"]) == (
        "ada.account@example.com",
        "Paris",
    )

    for response in (
        await d.post(url, {"email": "z@example.com"}),
        await client.delete(url, headers=d.admin),
    ):
        error(response, 400, "invalid_data", CONVERTED.format(draft["id"]))

    other = await d.create(d.example(sales_channel_id=d.market.channel_id))
    deleted = ok(await client.delete(f"/admin/draft-orders/{other['id']}", headers=d.admin))
    assert deleted == {"id": other["id"], "object": "draft-order", "deleted": True}
    missing = f"Draft order with id {other['id']} was not found"
    for response in (
        await client.get(f"/admin/draft-orders/{other['id']}", headers=d.admin),
        await d.post(f"/admin/draft-orders/{other['id']}", {"email": "q@example.com"}),
        await client.delete(f"/admin/draft-orders/{other['id']}", headers=d.admin),
        await d.convert(other["id"]),
    ):
        error(response, 404, "not_found", missing)
    error(
        await d.convert("dord_nope"),
        404,
        "not_found",
        "Draft order with id dord_nope was not found",
    )


async def test_convert_refuses_incomplete_drafts(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    empty = await d.create({"region_id": d.market.region["id"], "email": "e@example.com"})
    assert empty["items"] == [] and empty["sellers"] == [] and empty["total"] == 0
    error(
        await d.convert(empty["id"]),
        400,
        "invalid_data",
        "Cannot convert a draft order with no items",
    )
    unshipped = await d.create(d.example(shipping_methods=[{"shipping_option_id": d.so_a}]))
    error(
        await d.convert(unshipped["id"]),
        400,
        "invalid_data",
        f"No shipping method selected for seller {d.b}",
    )
    # Data the routes cannot produce (a future edit could): a method without items, no email,
    # an active edit, a variant deleted since.
    broken = await d.create()
    b_method = next(m["id"] for m in broken["shipping_methods"] if m["seller_id"] == d.b)
    async with app.state.sessionmaker() as session:
        await session.execute(
            text("DELETE FROM draft_order_item WHERE draft_order_id = :d AND seller_id = :s"),
            {"d": broken["id"], "s": d.b},
        )
        await session.commit()
    error(
        await d.convert(broken["id"]),
        400,
        "invalid_data",
        f"Shipping method {b_method} belongs to seller {d.b}, who has no items in the draft order",
    )
    draft = await d.create()
    async with app.state.sessionmaker() as session:
        await session.execute(
            text("UPDATE draft_order SET email = NULL WHERE id = :d"), {"d": draft["id"]}
        )
        await session.commit()
    error(
        await d.convert(draft["id"]),
        400,
        "invalid_data",
        f"Draft order {draft['id']} has no email; set one before converting it",
    )
    edited = await d.create()
    async with app.state.sessionmaker() as session:
        await session.execute(
            text(
                "INSERT INTO order_change (id, draft_order_id, version, change_type, status) "
                "VALUES ('ordch_edit', :d, 1, 'edit', 'pending')"
            ),
            {"d": edited["id"]},
        )
        await session.commit()
    before = await d.rows()
    error(
        await d.convert(edited["id"]),
        400,
        "invalid_data",
        f"Draft order {edited['id']} has an active edit ordch_edit",
    )
    assert await d.rows() == before
    # One active change per draft: the partial unique index refuses a second.
    async with app.state.sessionmaker() as session:
        duplicate = await session.execute(
            text(
                "INSERT INTO order_change (id, draft_order_id, version, change_type, status) "
                "VALUES ('ordch_edit2', :d, 1, 'edit', 'pending') ON CONFLICT DO NOTHING "
                "RETURNING id"
            ),
            {"d": edited["id"]},
        )
        assert duplicate.first() is None


# --------------------------------------------------------------------------- the list


async def test_the_list_filters_searches_sorts_and_pages(client, app, admin_headers):
    d = await _drafts(client, app, admin_headers)
    h = d.admin
    phone = ok(await client.post("/admin/sales-channels", headers=h, json={"name": "Phone"}))
    phone_id = phone["sales_channel"]["id"]
    eur = ok(
        await client.post(
            "/admin/regions", headers=h, json={"name": "Europe", "currency_code": "eur"}
        )
    )["region"]["id"]
    customer = await customer_headers(client, d.market.store, "listed@example.com")
    cus = ok(await client.get("/store/customers/me", headers={**d.market.store, **customer}))
    cus_id = cus["customer"]["id"]

    def custom(**extra: Any) -> dict[str, Any]:
        return {
            "region_id": d.market.region["id"],
            "sales_channel_id": d.market.channel_id,
            "items": [{"title": "Service", "unit_price": 10, "seller_id": d.a, "quantity": 1}],
            **extra,
        }

    one = await d.create(custom(email="Alice.Smith@example.com"))
    two = await d.create(custom(customer_id=cus_id))
    three = await d.create(custom(email="bob_100%@example.com", sales_channel_id=phone_id))
    four = await d.create(custom(email="carl@example.com", region_id=eur))
    converted = await d.create(d.example(sales_channel_id=d.market.channel_id))
    ok(await d.convert(converted["id"]))
    gone = await d.create(custom(email="gone@example.com"))
    ok(await client.delete(f"/admin/draft-orders/{gone['id']}", headers=h))

    async def ids(**params: Any) -> list[str]:
        body = ok(await client.get("/admin/draft-orders", headers=h, params=params))
        assert body["count"] >= len(body["draft_orders"])
        return [x["id"] for x in body["draft_orders"]]

    drafts = [one["id"], two["id"], three["id"], four["id"]]
    assert await ids() == drafts[::-1]  # status draft by default, newest first
    assert await ids(status="completed") == [converted["id"]]
    assert set(await ids(**{"status[]": ["draft", "completed"]})) == {*drafts, converted["id"]}
    assert await ids(id=two["id"]) == [two["id"]]
    assert await ids(q="alice") == [one["id"]]
    assert await ids(q="100%") == [three["id"]]
    assert await ids(q="_") == [three["id"]]  # literal
    assert await ids(q=str(four["display_id"])) == [four["id"]]
    assert await ids(region_id=eur) == [four["id"]]
    assert await ids(sales_channel_id=phone_id) == [three["id"]]
    assert await ids(customer_id=cus_id) == [two["id"]]
    assert await ids(**{"created_at[$gte]": two["created_at"]}) == drafts[:0:-1]
    assert await ids(**{"updated_at[$lt]": two["created_at"]}) == [one["id"]]
    assert await ids(order="display_id") == drafts
    page = ok(
        await client.get(
            "/admin/draft-orders",
            headers=h,
            params={"order": "display_id", "limit": 2, "offset": 1, "fields": "id,sellers"},
        )
    )
    assert [x["id"] for x in page["draft_orders"]] == drafts[1:3]
    assert (page["count"], page["offset"], page["limit"]) == (4, 1, 2)
    assert set(page["draft_orders"][0]) == {"id", "sellers"}
    for params, message in (
        ({"seller_id": d.a}, "Invalid request: Unrecognized fields: 'seller_id'"),
        ({"status": "open"}, "status must be one of: completed, draft"),
        ({"order": "total"}, "Order field total is not valid"),
        ({"fields": "password"}, None),
    ):
        error(
            await client.get("/admin/draft-orders", headers=h, params=params),
            400,
            "invalid_data",
            message,
        )


async def test_every_filter_and_sort_of_the_list_leads_an_index(engine):
    from mercato.draft_orders.resources import DRAFT_ORDER_LIST

    async with engine.connect() as connection:
        leading = set(
            (
                await connection.execute(
                    text(
                        "SELECT a.attname FROM pg_index i"
                        " JOIN pg_attribute a ON a.attrelid = i.indrelid"
                        " AND a.attnum = i.indkey[0]"
                        " WHERE i.indrelid = 'draft_order'::regclass"
                    )
                )
            ).scalars()
        )
    columns = {f.column.key for f in DRAFT_ORDER_LIST.filters.values()}
    columns |= {c.key for c in DRAFT_ORDER_LIST.sortable.values()}
    assert columns == {
        "id",
        "region_id",
        "sales_channel_id",
        "customer_id",
        "status",
        "created_at",
        "updated_at",
        "display_id",
    }
    assert columns <= leading, columns - leading

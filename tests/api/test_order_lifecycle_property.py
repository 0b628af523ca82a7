"""Random sequences of capture, refund, fulfil, ship, deliver, cancel (fulfilment and order) and
complete over a multi-seller group; after every step the invariants of orders.md must hold.

Hypothesis generates and shrinks the operation sequences (a state machine whose rules are the
HTTP operations; a rule whose precondition does not hold must answer 4xx, never 5xx).
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from mercato.domain.statuses import GroupMember, group_statuses, order_payment_status
from mercato.orders.models import (
    Fulfillment,
    FulfillmentItem,
    Order,
    OrderGroup,
    OrderGroupOrder,
    OrderGroupSellerTally,
    OrderGroupTally,
    OrderLineItem,
    OrderPaymentCollection,
    ReservationItem,
)
from mercato.payments.models import Capture, Payment, Refund
from mercato.products.models import InventoryLevel
from tests.api.checkout_helpers import build_marketplace, complete, ready_cart
from tests.api.helpers import ok
from tests.api.recompute import fulfillment_status_of, payment_facts
from tests.api.tally_helpers import ORDER_TALLY_CHECKS

STOCK = 1000
OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            # weighted towards money and fulfilment; cancel/complete end an order's story
            [
                "capture",
                "capture",
                "refund",
                "refund",
                "fulfil",
                "fulfil",
                "ship",
                "deliver",
                "cancel_fulfillment",
                "cancel",
                "complete",
            ]
        ),
        st.integers(min_value=0, max_value=2),  # which order
        st.integers(min_value=1, max_value=100),  # amount in % of the bound / quantity
    ),
    min_size=1,
    max_size=16,
)


@pytest.fixture
async def market(client, admin_headers):
    """Overrides conftest's ``market``: three sellers, two variants each (10.99 and 7.25), stock
    ``STOCK``."""
    return await build_marketplace(
        client, admin_headers, sellers=3, prices=(10.99, 7.25), stock=STOCK
    )


async def apply(client, market, order_ids, operation) -> None:
    name, index, size = operation
    order_id = order_ids[index % len(order_ids)]
    order = ok(await client.get(f"/admin/orders/{order_id}", headers=market.admin))["order"]
    base = f"/admin/orders/{order_id}"
    if name in ("capture", "refund"):
        bound = order["total"] if name == "capture" else order["paid_total"]
        amount = round(max(bound * size / 100, 0.01), 2)
        response = await client.post(
            f"{base}/{name}", json={"amount": amount}, headers=market.admin
        )
    elif name == "fulfil":
        line = order["items"][size % len(order["items"])]
        quantity = 1 + size % line["quantity"]
        response = await client.post(
            f"{base}/fulfillments",
            json={"items": [{"id": line["id"], "quantity": quantity}]},
            headers=market.admin,
        )
    elif name in ("ship", "deliver", "cancel_fulfillment"):
        if not order["fulfillments"]:
            return
        fulfillment = order["fulfillments"][size % len(order["fulfillments"])]
        action = {
            "ship": "shipments",
            "deliver": "mark-as-delivered",
            "cancel_fulfillment": "cancel",
        }[name]
        body = {} if name != "ship" else {"labels": [{"tracking_number": f"T{size}"}]}
        response = await client.post(
            f"{base}/fulfillments/{fulfillment['id']}/{action}", json=body, headers=market.admin
        )
    else:
        response = await client.post(f"{base}/{name}", headers=market.admin)
    assert response.status_code in (200, 400), (operation, response.status_code, response.text)
    event(f"{name} -> {response.status_code}")


async def check_invariants(app, group_id: str) -> None:
    async with app.state.sessionmaker() as session:
        orders = list(
            await session.scalars(
                select(Order)
                .join(OrderGroupOrder, OrderGroupOrder.order_id == Order.id)
                .where(OrderGroupOrder.order_group_id == group_id)
                .order_by(Order.id)
            )
        )
        ids = [o.id for o in orders]
        shares = dict(
            (
                await session.execute(
                    select(OrderPaymentCollection.order_id, OrderPaymentCollection.amount).where(
                        OrderPaymentCollection.order_id.in_(ids)
                    )
                )
            ).all()
        )
        captured = defaultdict(
            int,
            (
                await session.execute(
                    select(Capture.order_id, func.sum(Capture.amount))
                    .where(Capture.order_id.in_(ids))
                    .group_by(Capture.order_id)
                )
            ).all(),
        )
        refunded = defaultdict(
            int,
            (
                await session.execute(
                    select(Refund.order_id, func.sum(Refund.amount))
                    .where(Refund.order_id.in_(ids))
                    .group_by(Refund.order_id)
                )
            ).all(),
        )
        for order in orders:
            assert captured[order.id] <= shares[order.id], "captured beyond the order's share"
            assert refunded[order.id] <= captured[order.id], "refunded beyond what was captured"
        authorized = await session.scalar(
            select(Payment.amount)
            .join(
                OrderPaymentCollection,
                OrderPaymentCollection.payment_collection_id == Payment.payment_collection_id,
            )
            .where(OrderPaymentCollection.order_id == ids[0])
        )
        assert sum(captured[i] for i in ids) <= authorized

        # Stored statuses equal the recomputed ones, for every order and the group.
        facts = await payment_facts(session, orders)
        fulfillment = await fulfillment_status_of(session, orders)
        for order in orders:
            assert order.payment_status == order_payment_status(facts[order.id])
            assert order.fulfillment_status == fulfillment[order.id]
        group = await session.get(OrderGroup, group_id)
        assert group.seller_ids == sorted({o.seller_id for o in orders})
        expected = group_statuses(
            GroupMember(o.status, o.payment_status, o.fulfillment_status, o.canceled_at is not None)
            for o in orders
        )
        assert (group.status, group.payment_status, group.fulfillment_status) == (
            expected.status,
            expected.payment_status,
            expected.fulfillment_status,
        )
        # The trigger-maintained tally (migration 0004) counts every status triple exactly.
        triples = func.count().label("n")
        counted = dict(
            (tuple(row[:3]), row[3])
            for row in await session.execute(
                select(
                    OrderGroup.status,
                    OrderGroup.payment_status,
                    OrderGroup.fulfillment_status,
                    triples,
                )
                .where(OrderGroup.deleted_at.is_(None))
                .group_by(
                    OrderGroup.status, OrderGroup.payment_status, OrderGroup.fulfillment_status
                )
            )
        )
        tallied = dict(
            (tuple(row[:3]), int(row[3]))
            for row in await session.execute(
                select(
                    OrderGroupTally.status,
                    OrderGroupTally.payment_status,
                    OrderGroupTally.fulfillment_status,
                    func.sum(OrderGroupTally.live),
                ).group_by(
                    OrderGroupTally.status,
                    OrderGroupTally.payment_status,
                    OrderGroupTally.fulfillment_status,
                )
            )
        )
        assert {k: v for k, v in tallied.items() if v} == counted
        per_seller = defaultdict(int)
        for seller_ids in await session.scalars(
            select(OrderGroup.seller_ids).where(OrderGroup.deleted_at.is_(None))
        ):
            for seller_id in seller_ids:
                per_seller[seller_id] += 1
        seller_tally = dict(
            (seller_id, int(live))
            for seller_id, live in await session.execute(
                select(OrderGroupSellerTally.seller_id, func.sum(OrderGroupSellerTally.live))
                .group_by(OrderGroupSellerTally.seller_id)
                .having(func.sum(OrderGroupSellerTally.live) != 0)
            )
        )
        assert seller_tally == per_seller
        # So do the order tallies (migration 0007), per status triple and per seller.
        for check in ORDER_TALLY_CHECKS:
            assert list(await session.execute(text(check))) == [], check

        # Stock is conserved: stocked + shipped-out (active fulfilments) == initial stock, and the
        # reserved quantity equals the open reservations, which equal what active orders still owe.
        # (over every order: earlier examples' groups share the same stock)
        lines = list(await session.scalars(select(OrderLineItem)))
        fulfilled = defaultdict(int)
        for variant_id, quantity in await session.execute(
            select(OrderLineItem.variant_id, FulfillmentItem.quantity)
            .join(FulfillmentItem, FulfillmentItem.line_item_id == OrderLineItem.id)
            .join(Fulfillment, Fulfillment.id == FulfillmentItem.fulfillment_id)
            .where(Fulfillment.canceled_at.is_(None))
        ):
            fulfilled[variant_id] += quantity
        reserved_items = defaultdict(int)
        for reservation in await session.scalars(select(ReservationItem)):
            reserved_items[reservation.variant_id] += reservation.quantity
        owed = defaultdict(int)
        canceled = set(
            await session.scalars(select(Order.id).where(Order.canceled_at.is_not(None)))
        )
        for line in lines:
            if line.order_id not in canceled:
                owed[line.variant_id] += line.quantity - line.fulfilled_quantity
        for level in await session.scalars(select(InventoryLevel)):
            assert (
                level.reserved_quantity
                == reserved_items[level.variant_id]
                == owed[level.variant_id]
            )
            assert level.stocked_quantity + fulfilled[level.variant_id] == STOCK


@pytest.mark.slow  # checkouts and order operations per generated example
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS)
async def test_random_operation_sequences_keep_every_invariant(client, app, market, operations):
    items = [(market.variants[s["id"]][n], 2 + n) for s in market.sellers for n in range(2)]
    cart = await ready_cart(client, market, items)
    group = ok(await complete(client, market, cart["id"]))["order_group"]
    order_ids = sorted(o["id"] for o in group["orders"])
    await check_invariants(app, group["id"])
    for operation in operations:
        await apply(client, market, order_ids, operation)
        await check_invariants(app, group["id"])

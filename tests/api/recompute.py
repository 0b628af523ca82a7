"""Statuses recomputed from the rows, to compare with the stored ones (the application keeps
them in the order-group aggregate; these read the facts straight from the tables)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.domain.statuses import (
    FulfillmentFacts,
    ItemFulfillmentFacts,
    OrderPaymentFacts,
    order_fulfillment_status,
)
from mercato.orders.models import Fulfillment, Order, OrderLineItem, OrderPaymentCollection
from mercato.payments.models import Capture, PaymentCollection, Refund


async def payment_facts(session: AsyncSession, orders: list[Order]) -> dict[str, OrderPaymentFacts]:
    """Each order's own share: allocation, its captures and refunds, the collection's state."""
    ids = [o.id for o in orders]
    links = {
        order_id: (amount, status)
        for order_id, amount, status in await session.execute(
            select(
                OrderPaymentCollection.order_id,
                OrderPaymentCollection.amount,
                PaymentCollection.status,
            )
            .join(
                PaymentCollection,
                PaymentCollection.id == OrderPaymentCollection.payment_collection_id,
            )
            .where(OrderPaymentCollection.order_id.in_(ids))
        )
    }
    captured = dict(
        (
            await session.execute(
                select(Capture.order_id, func.sum(Capture.amount))
                .where(Capture.order_id.in_(ids))
                .group_by(Capture.order_id)
            )
        ).all()
    )
    refunded = dict(
        (
            await session.execute(
                select(Refund.order_id, func.sum(Refund.amount))
                .where(Refund.order_id.in_(ids))
                .group_by(Refund.order_id)
            )
        ).all()
    )
    facts = {}
    for order in orders:
        allocated, status = links.get(order.id, (order.total, None))
        facts[order.id] = OrderPaymentFacts(
            allocated=allocated,
            captured=int(captured.get(order.id, 0)),
            refunded=int(refunded.get(order.id, 0)),
            collection_status=status,
            canceled=order.canceled_at is not None,
        )
    return facts


async def fulfillment_status_of(session: AsyncSession, orders: list[Order]) -> dict[str, str]:
    ids = [o.id for o in orders]
    fulfillments: dict[str, list[FulfillmentFacts]] = defaultdict(list)
    for f in await session.scalars(select(Fulfillment).where(Fulfillment.order_id.in_(ids))):
        fulfillments[f.order_id].append(
            FulfillmentFacts(
                packed=f.packed_at is not None,
                shipped=f.shipped_at is not None,
                delivered=f.delivered_at is not None,
                canceled=f.canceled_at is not None,
            )
        )
    items: dict[str, list[ItemFulfillmentFacts]] = defaultdict(list)
    for order_id, quantity, fulfilled in await session.execute(
        select(
            OrderLineItem.order_id, OrderLineItem.quantity, OrderLineItem.fulfilled_quantity
        ).where(OrderLineItem.order_id.in_(ids), OrderLineItem.requires_shipping)
    ):
        items[order_id].append(
            ItemFulfillmentFacts(quantity=quantity, fulfilled_quantity=fulfilled)
        )
    return {o.id: order_fulfillment_status(fulfillments[o.id], items[o.id]) for o in orders}

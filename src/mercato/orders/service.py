"""Order use cases shared by every per-order operation: scoping, locking and status upkeep.

Each order's ``payment_status`` / ``fulfillment_status`` and its group's aggregates are stored
columns. Whatever changes an order's money or fulfilments calls :func:`refresh_statuses` in the
same transaction, which recomputes them from the facts (``domain.statuses``) — never from a
sibling order — so they always equal the recomputed values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.domain.statuses import (
    FulfillmentFacts,
    GroupMember,
    ItemFulfillmentFacts,
    OrderPaymentFacts,
    group_statuses,
    order_fulfillment_status,
    order_payment_status,
)
from mercato.errors import not_found
from mercato.fulfillments.models import Fulfillment
from mercato.order_groups.models import OrderGroup, OrderGroupOrder
from mercato.orders.models import Order, OrderLineItem, OrderPaymentCollection
from mercato.payments.models import Capture, PaymentCollection, Refund


async def lock_order(
    session: AsyncSession, order_id: str, *, seller_id: str | None = None
) -> Order:
    """The order, row-locked for this transaction; another seller's order is simply not found."""
    query = select(Order).where(Order.id == order_id)
    if seller_id is not None:
        query = query.where(Order.seller_id == seller_id)
    order = await session.scalar(query.with_for_update())
    if order is None:
        raise not_found("Order", order_id)
    return order


async def get_order(session: AsyncSession, order_id: str, *, seller_id: str | None = None) -> Order:
    query = select(Order).where(Order.id == order_id)
    if seller_id is not None:
        query = query.where(Order.seller_id == seller_id)
    order = await session.scalar(query)
    if order is None:
        raise not_found("Order", order_id)
    return order


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


async def refresh_statuses(session: AsyncSession, orders: Iterable[Order]) -> None:
    """Recompute the orders' statuses, then their groups' aggregates (stored, same transaction)."""
    orders = list(orders)
    if not orders:
        return
    await session.flush()
    payments = await payment_facts(session, orders)
    fulfillment = await fulfillment_status_of(session, orders)
    now = datetime.now(UTC)
    for order in orders:
        order.payment_status = order_payment_status(payments[order.id])
        order.fulfillment_status = fulfillment[order.id]
        order.updated_at = now
    await session.flush()
    group_ids = set(
        await session.scalars(
            select(OrderGroupOrder.order_group_id).where(
                OrderGroupOrder.order_id.in_([o.id for o in orders])
            )
        )
    )
    for group_id in sorted(group_ids):
        await refresh_group(session, group_id, now=now)


async def refresh_group(
    session: AsyncSession, group_id: str, *, now: datetime | None = None
) -> OrderGroup:
    """A group's stored aggregates from all of its orders (locked in id order)."""
    group = await session.scalar(
        select(OrderGroup).where(OrderGroup.id == group_id).with_for_update()
    )
    assert group is not None
    members = list(
        await session.scalars(
            select(Order)
            .join(OrderGroupOrder, OrderGroupOrder.order_id == Order.id)
            .where(OrderGroupOrder.order_group_id == group_id)
            .order_by(Order.id)
        )
    )
    statuses = group_statuses(
        GroupMember(
            o.status, o.payment_status, o.fulfillment_status, was_canceled=o.canceled_at is not None
        )
        for o in members
    )
    group.status = statuses.status
    group.payment_status = statuses.payment_status
    group.fulfillment_status = statuses.fulfillment_status
    group.seller_count = len({o.seller_id for o in members})
    group.total = sum(o.total for o in members)
    group.updated_at = now or datetime.now(UTC)
    return group

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
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato.domain.events import ORDER_UPDATED
from mercato.domain.statuses import (
    FulfillmentFacts,
    GroupMember,
    ItemFulfillmentFacts,
    OrderPaymentFacts,
    ensure_can_cancel,
    group_statuses,
    order_fulfillment_status,
    order_payment_status,
)
from mercato.errors import invalid, not_found
from mercato.events.service import dispatch, emit
from mercato.orders.models import (
    Fulfillment,
    Order,
    OrderGroup,
    OrderGroupOrder,
    OrderLineItem,
    OrderPaymentCollection,
    ReservationItem,
)
from mercato.orders.repository import OrderGroupRepository
from mercato.payments.models import Capture, PaymentCollection, Refund
from mercato.products.models import InventoryLevel
from mercato.unit_of_work import UnitOfWork


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
    group.seller_ids = sorted({o.seller_id for o in members})
    group.total = sum(o.total for o in members)
    group.updated_at = now or datetime.now(UTC)
    return group


# ------------------------------------------------------------------------- status transitions


async def _fulfillment_facts(session: AsyncSession, order: Order) -> list[FulfillmentFacts]:
    return [
        FulfillmentFacts(
            packed=f.packed_at is not None,
            shipped=f.shipped_at is not None,
            delivered=f.delivered_at is not None,
            canceled=f.canceled_at is not None,
        )
        for f in await session.scalars(select(Fulfillment).where(Fulfillment.order_id == order.id))
    ]


def _refuse_archived(order: Order, action: str) -> None:
    if order.status == "archived":
        raise invalid(f"Order with id {order.id} is archived and cannot be {action}")


async def release_reservations(session: AsyncSession, order: Order) -> None:
    """Give the order's reserved units back (rows locked in (location, variant) order)."""
    reservations = list(
        await session.scalars(
            select(ReservationItem)
            .join(OrderLineItem, OrderLineItem.id == ReservationItem.line_item_id)
            .where(OrderLineItem.order_id == order.id)
        )
    )
    released: dict[tuple[str, str], int] = defaultdict(int)
    for reservation in reservations:
        released[(reservation.location_id, reservation.variant_id)] += reservation.quantity
    for (location_id, variant_id), quantity in sorted(released.items()):
        await session.execute(
            update(InventoryLevel)
            .where(
                InventoryLevel.location_id == location_id, InventoryLevel.variant_id == variant_id
            )
            .values(reserved_quantity=InventoryLevel.reserved_quantity - quantity)
        )
    if reservations:
        await session.execute(
            delete(ReservationItem).where(ReservationItem.id.in_([r.id for r in reservations]))
        )


async def cancel_order(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    order_id: str,
    seller_id: str | None = None,
    canceled_by: str | None = None,
) -> Order:
    """Void the order's uncaptured share, refund what was captured for it, release its
    reservations and mark it canceled — its siblings' authorization stays valid."""
    from mercato.orders.money import refund_captured, void_order_share

    async with sessionmaker() as session, session.begin():
        order = await lock_order(session, order_id, seller_id=seller_id)
        _refuse_archived(order, "canceled")
        ensure_can_cancel(order.id, order.status, await _fulfillment_facts(session, order))
        await void_order_share(session, sessionmaker=sessionmaker, order=order)
        event_ids = await refund_captured(
            session, sessionmaker=sessionmaker, order=order, created_by=canceled_by
        )
        await release_reservations(session, order)
        order.status = "canceled"
        order.canceled_at = datetime.now(UTC)
        await refresh_statuses(session, [order])
        event_ids.append(emit(session, "order.canceled", {"id": order.id}).id)
        await session.flush()
    await dispatch(sessionmaker, event_ids)
    return order


async def complete_order(uow: UnitOfWork, *, order_id: str, seller_id: str | None = None) -> None:
    """Mark the order completed (refused once archived); event ``order.completed``."""
    async with uow:
        groups = OrderGroupRepository(uow.session)
        group = await groups.for_order(order_id, seller_id=seller_id)
        group.complete(order_id, now=uow.now(), seller_id=seller_id)
        await groups.save(group)
        uow.track(group)
        await uow.commit()


async def archive_order(uow: UnitOfWork, *, order_id: str) -> None:
    """Archive a completed or canceled order; event ``order.archived``."""
    async with uow:
        groups = OrderGroupRepository(uow.session)
        group = await groups.for_order(order_id)
        group.archive(order_id, now=uow.now())
        await groups.save(group)
        uow.track(group)
        await uow.commit()


async def update_order(uow: UnitOfWork, *, order_id: str, changes: dict[str, Any]) -> None:
    """Email, addresses and metadata; totals and items change only through their own flows."""
    async with uow:
        order = await lock_order(uow.session, order_id)
        for name, value in changes.items():
            if name == "email" and value is None:
                raise invalid("Invalid request: email: must not be null")
            setattr(order, "metadata_" if name == "metadata" else name, value)
        order.updated_at = uow.now()
        uow.emit(ORDER_UPDATED, {"id": order.id})
        await uow.commit()

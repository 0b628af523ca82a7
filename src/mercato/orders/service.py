"""Order commands outside money and fulfilment: complete, archive, update; the order read.

Status changes go through the order-group aggregate (``domain.order_group``), which recomputes
the order's statuses and its group's aggregates in one place; money moves in
``orders.payment_workflows``, fulfilment in ``orders.fulfillments``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.domain.events import ORDER_UPDATED
from mercato.errors import invalid, not_found
from mercato.orders.models import Order, OrderLineItem
from mercato.orders.repository import change_group
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


async def order_lines(
    session: AsyncSession, order_id: str, item_ids: list[str] | None
) -> list[OrderLineItem]:
    """The order's lines (those an edit set to 0 included), all or ``item_ids``, by id: one
    statement (the order's existence is checked by the caller)."""
    query = select(OrderLineItem).where(OrderLineItem.order_id == order_id)
    if item_ids is not None:
        query = query.where(OrderLineItem.id.in_(item_ids))
    return list(await session.scalars(query.order_by(OrderLineItem.id)))


async def complete_order(uow: UnitOfWork, *, order_id: str, seller_id: str | None = None) -> None:
    """Mark the order completed (refused once archived); event ``order.completed``."""
    await change_group(
        uow,
        order_id,
        lambda group: group.complete(order_id, now=uow.now(), seller_id=seller_id),
        seller_id=seller_id,
    )


async def archive_order(uow: UnitOfWork, *, order_id: str) -> None:
    """Archive a completed or canceled order; event ``order.archived``."""
    await change_group(uow, order_id, lambda group: group.archive(order_id, now=uow.now()))


async def update_order(uow: UnitOfWork, *, order_id: str, changes: dict[str, Any]) -> None:
    """Email, addresses and metadata; totals and items change only through their own flows."""
    async with uow:
        order = await lock_order(uow.session, order_id)
        for name, value in changes.items():
            if name == "email" and value is None:
                raise invalid("Invalid request: email: must not be null")
            setattr(order, "metadata_" if name == "metadata" else name, value)
        order.updated_at = uow.now()
        uow.emit(ORDER_UPDATED, {"id": order.id}, seller_id=order.seller_id)
        await uow.commit()

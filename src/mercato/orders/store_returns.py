"""``POST /store/returns`` (order-changes.md §10): a customer returns items of one of their
orders. The return is begun, its items and return shipping added and the request confirmed in
one transaction (Medusa's create-and-complete), with the rules of the admin routes (§6.2)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from mercato.domain import returns as flows
from mercato.errors import not_found
from mercato.orders.models import Order as OrderRow
from mercato.orders.repository import OrderGroupRepository
from mercato.orders.returns_service import Outcome, shipping_quote
from mercato.return_reasons.service import check_reasons
from mercato.unit_of_work import UnitOfWork


async def create_store_return(
    uow: UnitOfWork,
    *,
    customer_id: str,
    order_id: str,
    items: Sequence[flows.RequestedItem],
    shipping_option_id: str,
    note: str | None = None,
) -> Outcome:
    """The customer's order's return, ``requested`` (event ``order.return_requested``, version
    + 1). Another customer's order, a guest's and an unknown id are alike not found; any refused
    rule leaves nothing behind."""
    async with uow:
        session = uow.session
        owned = await session.scalar(
            select(OrderRow.id).where(OrderRow.id == order_id, OrderRow.customer_id == customer_id)
        )
        if owned is None:
            raise not_found("Order", order_id)
        groups = OrderGroupRepository(session)
        group = await groups.for_order(order_id)
        order = group.order(order_id)
        actor = flows.Actor(customer_id, uow.now(), uow.ids)

        ret = flows.begin_return(group, order_id, actor, description=note)
        await check_reasons(session, [item.reason_id for item in items], order_id=order_id)
        flows.request_items(group, ret.id, items, actor)
        quote = await shipping_quote(session, shipping_option_id, order)
        flows.add_return_shipping(group, ret.id, quote, actor)
        flows.request_return(group, ret.id, actor)

        await groups.save(group)
        uow.track(group)
        await uow.commit()
    return Outcome(order_id, group.order(order_id), ret.id, None)

"""``POST /store/returns`` (order-changes.md §10): a customer returns items of one of their
orders. The return is begun, its items and return shipping added and the request confirmed in
one transaction (Medusa's create-and-complete), with the rules of the admin routes (§6.2)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.domain import returns as flows
from mercato.domain.order_group import Order
from mercato.errors import invalid, not_found
from mercato.orders.models import Order as OrderRow
from mercato.orders.repository import OrderGroupRepository
from mercato.orders.returns_service import Outcome
from mercato.regions.models import Region
from mercato.return_reasons.service import check_reasons
from mercato.shipping_options.models import ShippingOption
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
        quote = await _return_quote(session, shipping_option_id, order)
        flows.add_return_shipping(group, ret.id, quote, actor)
        flows.request_return(group, ret.id, actor)

        await groups.save(group)
        uow.track(group)
        await uow.commit()
    return Outcome(order_id, group.order(order_id), ret.id, None)


async def _return_quote(session: AsyncSession, option_id: str, order: Order) -> flows.ShippingQuote:
    """The option as the return's shipping method needs it, priced as the operator set it (the
    store cannot choose a price)."""
    option = await session.get(ShippingOption, option_id)
    if option is None or option.deleted_at is not None:
        raise not_found("Shipping option", option_id)
    if (
        option.seller_id == order.seller_id
        and option.region_id is None
        and option.currency_code != order.currency_code
    ):  # an every-region option of another currency does not serve the order's region
        raise invalid(f"Shipping option {option.id} is not available in region {order.region_id}")
    region = await session.get(Region, order.region_id)
    assert region is not None
    return flows.ShippingQuote(
        id=option.id,
        seller_id=option.seller_id,
        region_id=option.region_id,
        is_return=option.is_return,
        name=option.name,
        amount=option.amount,
        tax_rate=region.tax_rate,
        tax_inclusive=region.tax_inclusive,
    )

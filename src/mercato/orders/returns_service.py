"""Return and credit-line commands (order-changes.md §3.7, §6): load the order's group locked,
apply one rule of :mod:`mercato.domain.returns`, save, commit (events through the outbox).

Each command returns what its route renders: the order, its preview with the active change
applied (``order_preview``), and the return."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.domain import returns as flows
from mercato.domain.money import field_minor
from mercato.domain.order_changes import Return, active_change
from mercato.domain.order_group import Order, OrderGroup
from mercato.errors import not_found
from mercato.orders.change_models import OrderReturn
from mercato.orders.repository import OrderGroupRepository
from mercato.regions.models import Region
from mercato.return_reasons.service import check_reasons
from mercato.shipping_options.models import ShippingOption
from mercato.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Outcome:
    """The order a command changed, its preview (None once nothing is pending) and the return."""

    order_id: str
    preview: Order | None
    return_id: str | None
    change_id: str | None


async def order_of_return(
    session: AsyncSession, return_id: str, *, seller_id: str | None = None
) -> str:
    query = select(OrderReturn.order_id).where(OrderReturn.id == return_id)
    if seller_id is not None:
        query = query.where(OrderReturn.seller_id == seller_id)
    order_id = await session.scalar(query)
    if order_id is None:
        raise not_found("Return", return_id)
    return order_id


async def _on_return(
    uow: UnitOfWork,
    return_id: str,
    change: Callable[[OrderGroup, flows.Actor], Any],
    *,
    actor_id: str | None,
    seller_id: str | None,
    before: Callable[[AsyncSession, OrderGroup], Any] | None = None,
) -> Outcome:
    async with uow:
        order_id = await order_of_return(uow.session, return_id, seller_id=seller_id)
        return await _run(uow, order_id, change, actor_id, seller_id, before, return_id)


async def _run(
    uow: UnitOfWork,
    order_id: str,
    change: Callable[[OrderGroup, flows.Actor], Any],
    actor_id: str | None,
    seller_id: str | None,
    before: Callable[[AsyncSession, OrderGroup], Any] | None,
    return_id: str | None,
) -> Outcome:
    groups = OrderGroupRepository(uow.session)
    group = await groups.for_order(order_id, seller_id=seller_id)
    actor = flows.Actor(actor_id, uow.now(), uow.ids)
    if before is not None:
        await before(uow.session, group)
    result = change(group, actor)
    await groups.save(group)
    uow.track(group)
    await uow.commit()
    order = group.order(order_id)
    active = active_change(order)
    preview = flows.preview_order(group, order, actor) if active is not None else order
    ret_id = return_id or (result.id if isinstance(result, Return) else None)
    return Outcome(order_id, preview, ret_id, active.id if active else None)


# --------------------------------------------------------------------------- begin, update


async def begin_return(
    uow: UnitOfWork,
    *,
    order_id: str,
    actor_id: str | None,
    seller_id: str | None = None,
    location_id: str | None = None,
    description: str | None = None,
    internal_note: str | None = None,
    no_notification: bool | None = None,
    metadata: dict[str, Any] | None = None,
) -> Outcome:
    async with uow:
        return await _run(
            uow,
            order_id,
            lambda group, actor: flows.begin_return(
                group,
                order_id,
                actor,
                seller_id=seller_id,
                location_id=location_id,
                description=description,
                internal_note=internal_note,
                no_notification=no_notification,
                metadata=metadata,
            ),
            actor_id,
            seller_id,
            None,
            None,
        )


async def update_return(
    uow: UnitOfWork,
    *,
    return_id: str,
    actor_id: str | None,
    seller_id: str | None = None,
    **values: Any,
) -> Outcome:
    return await _on_return(
        uow,
        return_id,
        lambda group, actor: flows.update_return(group, return_id, actor, **values),
        actor_id=actor_id,
        seller_id=seller_id,
    )


def _reasons_checked(reason_ids: list[str | None], return_id: str) -> Any:
    async def check(session: AsyncSession, group: OrderGroup) -> None:
        order, _ = flows.find_return(group, return_id)
        await check_reasons(session, reason_ids, order_id=order.id)

    return check


async def request_items(
    uow: UnitOfWork,
    *,
    return_id: str,
    items: list[flows.RequestedItem],
    actor_id: str | None,
    seller_id: str | None = None,
) -> Outcome:
    return await _on_return(
        uow,
        return_id,
        lambda group, actor: flows.request_items(group, return_id, items, actor),
        actor_id=actor_id,
        seller_id=seller_id,
        before=_reasons_checked([i.reason_id for i in items], return_id),
    )


async def update_request_item(
    uow: UnitOfWork,
    *,
    return_id: str,
    action_id: str,
    actor_id: str | None,
    seller_id: str | None = None,
    **values: Any,
) -> Outcome:
    return await _on_return(
        uow,
        return_id,
        lambda group, actor: flows.update_request_item(
            group, return_id, action_id, actor, **values
        ),
        actor_id=actor_id,
        seller_id=seller_id,
        before=_reasons_checked([values.get("reason_id")], return_id),
    )


async def remove_action(
    uow: UnitOfWork,
    *,
    return_id: str,
    action_id: str,
    kinds: tuple[str, ...],
    actor_id: str | None,
    seller_id: str | None = None,
) -> Outcome:
    return await _on_return(
        uow,
        return_id,
        lambda group, actor: flows.remove_action(group, return_id, action_id, kinds, actor),
        actor_id=actor_id,
        seller_id=seller_id,
    )


# --------------------------------------------------------------------------- shipping


async def shipping_quote(
    session: AsyncSession, option_id: str, order: Order
) -> flows.ShippingQuote:
    """The shipping option as a change of ``order`` needs it: whose, where, which way, its
    price and the tax of the order's region (the domain checks it fits the order)."""
    option = await session.get(ShippingOption, option_id)
    if option is None or option.deleted_at is not None:
        raise not_found("Shipping option", option_id)
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
        currency_code=option.currency_code,
    )


async def add_return_shipping(
    uow: UnitOfWork,
    *,
    return_id: str,
    shipping_option_id: str,
    custom_amount: Decimal | None,
    actor_id: str | None,
    seller_id: str | None = None,
    **values: Any,
) -> Outcome:
    quotes: list[flows.ShippingQuote] = []

    async def load_option(session: AsyncSession, group: OrderGroup) -> None:
        order, _ = flows.find_return(group, return_id)
        quotes.append(await shipping_quote(session, shipping_option_id, order))

    def change(group: OrderGroup, actor: flows.Actor) -> Any:
        order, _ = flows.find_return(group, return_id)
        custom = (
            None
            if custom_amount is None
            else field_minor("custom_amount", custom_amount, order.currency_code)
        )
        return flows.add_return_shipping(
            group, return_id, quotes[0], actor, custom_amount=custom, **values
        )

    return await _on_return(
        uow, return_id, change, actor_id=actor_id, seller_id=seller_id, before=load_option
    )


async def update_return_shipping(
    uow: UnitOfWork,
    *,
    return_id: str,
    action_id: str,
    custom_amount: Decimal | None,
    actor_id: str | None,
    seller_id: str | None = None,
    **values: Any,
) -> Outcome:
    def change(group: OrderGroup, actor: flows.Actor) -> Any:
        order, _ = flows.find_return(group, return_id)
        custom = (
            None
            if custom_amount is None
            else field_minor("custom_amount", custom_amount, order.currency_code)
        )
        return flows.update_return_shipping(
            group, return_id, action_id, actor, custom_amount=custom, **values
        )

    return await _on_return(uow, return_id, change, actor_id=actor_id, seller_id=seller_id)


# --------------------------------------------------------------------------- the rest


async def on_return(
    uow: UnitOfWork,
    rule: Callable[..., Any],
    *,
    return_id: str,
    actor_id: str | None,
    seller_id: str | None = None,
    **values: Any,
) -> Outcome:
    """Any other return rule of :mod:`mercato.domain.returns` taking ``(group, return_id,
    actor, **values)``: request, discard, begin/confirm/discard receive, receive items,
    update a receipt, cancel."""
    return await _on_return(
        uow,
        return_id,
        lambda group, actor: rule(group, return_id, actor=actor, **values),
        actor_id=actor_id,
        seller_id=seller_id,
    )


async def add_credit_line(
    uow: UnitOfWork,
    *,
    order_id: str,
    amount: Decimal,
    reference: str,
    reference_id: str,
    metadata: dict[str, Any] | None,
    actor_id: str | None,
) -> Outcome:
    def change(group: OrderGroup, actor: flows.Actor) -> Any:
        order = group.order(order_id)
        minor = field_minor("amount", abs(amount), order.currency_code)
        return flows.add_credit_line(
            group,
            order_id,
            minor if amount >= 0 else -minor,
            actor,
            reference=reference,
            reference_id=reference_id,
            metadata=metadata,
        )

    async with uow:
        return await _run(uow, order_id, change, actor_id, None, None, None)


async def order_preview(uow: UnitOfWork, *, order_id: str, seller_id: str | None = None) -> Outcome:
    """The order with its active change applied, read under the group lock (nothing saved)."""
    async with uow:
        groups = OrderGroupRepository(uow.session)
        group = await groups.for_order(order_id, seller_id=seller_id)
        order = group.order(order_id)
        active = active_change(order)
        actor = flows.Actor(None, uow.now(), uow.ids)
        preview = flows.preview_order(group, order, actor)
        return Outcome(order_id, preview, None, active.id if active else None)

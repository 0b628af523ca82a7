"""Fulfilment of one seller's order: create (partial), ship, mark delivered, cancel.

Each command loads the order's group through the repository (rows locked in the repository's
order), lets the aggregate check the rules and change the state — statuses, quantities,
reservations and stock moves (``domain.order_group``) — saves it and commits once; the events
the aggregate raised go to the outbox of that transaction and are dispatched after the commit.

Inventory (reference medusa-orders.md §6.2 / §6.5): creating a fulfilment **converts** the
reservation checkout made for each line it packs (level ``stocked`` and ``reserved`` −q, the
reservation −q); what moved is recorded on the fulfilment so canceling it restores exactly that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import select

from mercato.domain.order_group import Label as DomainLabel
from mercato.domain.order_group import OptionFacts
from mercato.errors import not_found
from mercato.orders.payment_workflows import refuse_while_canceling
from mercato.orders.repository import OrderGroupRepository, change_group
from mercato.shipping_options.models import ShippingOption
from mercato.unit_of_work import UnitOfWork


class ItemQuantity(NamedTuple):
    """An order line id and a number of its units."""

    id: str
    quantity: int


class Label(NamedTuple):
    tracking_number: str
    tracking_url: str | None = None
    label_url: str | None = None


async def create_fulfillment(
    uow: UnitOfWork,
    *,
    order_id: str,
    items: Sequence[ItemQuantity],
    location_id: str | None = None,
    shipping_option_id: str | None = None,
    no_notification: bool | None = None,
    seller_id: str | None = None,
) -> str:
    """Pack ``items`` (partial allowed) at the seller's stock location, converting their
    reservations, to ship with ``shipping_option_id`` (a non-return option of the order's
    seller; default: the order's method's option); event ``order.fulfillment_created``.
    Returns the fulfilment's id."""
    async with uow:
        groups = OrderGroupRepository(uow.session)
        group = await groups.for_order(order_id, seller_id=seller_id)
        refuse_while_canceling(groups, group.id, order_id)
        option = None
        if shipping_option_id is not None:
            option = await _option_facts(uow, shipping_option_id)
        fulfillment = group.fulfil(
            order_id,
            [(item[0], item[1]) for item in items],
            fulfillment_id=uow.ids("ful"),
            location_id=location_id,
            shipping_option=option,
            no_notification=no_notification,
            seller_id=seller_id,
            now=uow.now(),
        )
        await groups.save(group)
        uow.track(group)
        await uow.commit()
    return fulfillment.id


async def _option_facts(uow: UnitOfWork, option_id: str) -> OptionFacts:
    row = (
        await uow.session.execute(
            select(ShippingOption.seller_id, ShippingOption.is_return).where(
                ShippingOption.id == option_id, ShippingOption.deleted_at.is_(None)
            )
        )
    ).first()
    if row is None:
        raise not_found("Shipping option", option_id)
    return OptionFacts(option_id, row.seller_id, row.is_return)


async def create_shipment(
    uow: UnitOfWork,
    *,
    order_id: str,
    fulfillment_id: str,
    items: Sequence[ItemQuantity] | None = None,
    labels: Sequence[Label] = (),
    no_notification: bool | None = None,
    seller_id: str | None = None,
) -> None:
    """Ship a whole fulfilment (``items``, when given, must be exactly its items) with its
    tracking labels; lines' ``shipped_quantity`` rise; event ``order.shipment_created``."""
    await change_group(
        uow,
        order_id,
        lambda group: group.ship(
            order_id,
            fulfillment_id,
            items=None if items is None else [(item[0], item[1]) for item in items],
            labels=[DomainLabel(uow.ids("fulla"), *Label(*label)) for label in labels],
            no_notification=no_notification,
            seller_id=seller_id,
            now=uow.now(),
        ),
        seller_id=seller_id,
    )


async def mark_delivered(
    uow: UnitOfWork,
    *,
    order_id: str,
    fulfillment_id: str,
    no_notification: bool | None = None,
    seller_id: str | None = None,
) -> None:
    """Set ``delivered_at`` (shipped or not, as Medusa does); lines' ``delivered_quantity``
    rise; event ``order.delivered``."""
    await change_group(
        uow,
        order_id,
        lambda group: group.deliver(
            order_id,
            fulfillment_id,
            no_notification=no_notification,
            seller_id=seller_id,
            now=uow.now(),
        ),
        seller_id=seller_id,
    )


async def cancel_fulfillment(
    uow: UnitOfWork,
    *,
    order_id: str,
    fulfillment_id: str,
    no_notification: bool | None = None,
    seller_id: str | None = None,
) -> None:
    """Cancel a fulfilment that has neither shipped nor been delivered: lines'
    ``fulfilled_quantity`` fall back and exactly the converted stock and reservations come
    back; event ``order.fulfillment_canceled``."""
    await change_group(
        uow,
        order_id,
        lambda group: group.cancel_fulfillment(
            order_id,
            fulfillment_id,
            no_notification=no_notification,
            seller_id=seller_id,
            ids=uow.ids,
            now=uow.now(),
        ),
        seller_id=seller_id,
    )

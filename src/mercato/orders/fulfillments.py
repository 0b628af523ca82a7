"""Fulfilment of one seller's order: create (partial), ship, mark delivered, cancel.

Every use case is one transaction that locks the order row first (``lock_order``, which also
scopes a seller's members to their own orders), then any ``inventory_level`` rows in
(location, variant) order — the order checkout uses — recomputes the stored statuses with
``refresh_statuses``, stages its event, commits, and dispatches the event after the commit.

Inventory (reference medusa-orders.md §6.2 / §6.5):

* Creating a fulfilment **converts** the reservation checkout made for each line it packs:
  ``stocked_quantity`` and ``reserved_quantity`` of the (location, variant) level both drop by the
  quantity, and the line's ``reservation_item`` shrinks by it (deleted at 0). Lines checkout did
  not reserve for (variants without managed inventory) move no stock.
* What was converted is recorded on the fulfilment (``converted_inventory``: line, variant,
  location, quantity), so canceling it restores exactly that — ``stocked`` and ``reserved`` rise
  again and the reservation is increased or re-created — even if the variant's
  ``manage_inventory`` changed in between (Medusa keeps the same fact as
  ``fulfillment_item.inventory_item_id``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato.errors import invalid, not_allowed, not_found
from mercato.events.service import dispatch, emit
from mercato.orders.models import (
    Fulfillment,
    FulfillmentItem,
    FulfillmentLabel,
    Order,
    OrderLineItem,
    ReservationItem,
)
from mercato.orders.service import lock_order, refresh_statuses
from mercato.products.models import InventoryLevel
from mercato.sellers.models import StockLocation

MIXED_SHIPPING = (
    "Fulfillment can only be created entirely with items with shipping or items without "
    "shipping. Split this request into 2 fulfillments."
)


class ItemQuantity(NamedTuple):
    """An order line id and a number of its units."""

    id: str
    quantity: int


class Label(NamedTuple):
    tracking_number: str
    tracking_url: str | None = None
    label_url: str | None = None


# --------------------------------------------------------------------------- use cases


async def create_fulfillment(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    order_id: str,
    items: Sequence[ItemQuantity],
    location_id: str | None = None,
    no_notification: bool | None = None,
    seller_id: str | None = None,
) -> Fulfillment:
    """Pack ``items`` (order line ids and quantities, partial allowed) at the seller's stock
    location, converting their reservations; event ``order.fulfillment_created``."""
    items = [ItemQuantity(*item) for item in items]
    async with sessionmaker() as session, session.begin():
        order = await lock_order(session, order_id, seller_id=seller_id)
        _refuse_canceled_order(order)
        lines = await _lines_to_fulfill(session, order, items)
        location = await _fulfillment_location(session, order, location_id)
        converted = await _convert_reservations(session, lines, items, location)
        now = datetime.now(UTC)
        fulfillment = Fulfillment(
            order_id=order.id,
            location_id=location,
            packed_at=now,
            no_notification=order.no_notification if no_notification is None else no_notification,
            converted_inventory=converted,
            created_at=now,
            updated_at=now,
        )
        session.add(fulfillment)
        await session.flush()
        for item in items:
            session.add(
                FulfillmentItem(
                    fulfillment_id=fulfillment.id, line_item_id=item.id, quantity=item.quantity
                )
            )
            lines[item.id].fulfilled_quantity += item.quantity
        event = await _finish(session, order, fulfillment, "order.fulfillment_created")
    await dispatch(sessionmaker, [event])
    return fulfillment


async def create_shipment(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    order_id: str,
    fulfillment_id: str,
    items: Sequence[ItemQuantity] | None = None,
    labels: Sequence[Label] = (),
    no_notification: bool | None = None,
    seller_id: str | None = None,
) -> Fulfillment:
    """Ship a whole fulfilment (``items``, when given, must be exactly its items) with its
    tracking labels; lines' ``shipped_quantity`` rise; event ``order.shipment_created``."""
    async with sessionmaker() as session, session.begin():
        order = await lock_order(session, order_id, seller_id=seller_id)
        _refuse_canceled_order(order)
        fulfillment = await _fulfillment(session, order, fulfillment_id)
        if fulfillment.canceled_at is not None:
            raise not_allowed("Cannot create shipment for a canceled fulfillment")
        if fulfillment.shipped_at is not None:
            raise not_allowed("Shipment has already been created")
        if fulfillment.delivered_at is not None:
            raise not_allowed(f"Fulfillment with id {fulfillment.id} already delivered")
        packed = await _fulfillment_items(session, fulfillment)
        if items is not None:
            _check_shipment_items(order, fulfillment, packed, [ItemQuantity(*i) for i in items])
        fulfillment.shipped_at = datetime.now(UTC)
        for label in labels:
            label = Label(*label)
            session.add(
                FulfillmentLabel(
                    fulfillment_id=fulfillment.id,
                    tracking_number=label.tracking_number,
                    tracking_url=label.tracking_url,
                    label_url=label.label_url,
                )
            )
        lines = await _lines(session, order, [i.line_item_id for i in packed])
        for item in packed:
            lines[item.line_item_id].shipped_quantity += item.quantity
        event = await _finish(
            session, order, fulfillment, "order.shipment_created", no_notification
        )
    await dispatch(sessionmaker, [event])
    return fulfillment


async def mark_delivered(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    order_id: str,
    fulfillment_id: str,
    no_notification: bool | None = None,
    seller_id: str | None = None,
) -> Fulfillment:
    """Set ``delivered_at`` (shipped or not, as Medusa does: ``shipped_at`` is left as it is);
    lines' ``delivered_quantity`` rise; event ``order.delivered``."""
    async with sessionmaker() as session, session.begin():
        order = await lock_order(session, order_id, seller_id=seller_id)
        _refuse_canceled_order(order)
        fulfillment = await _fulfillment(session, order, fulfillment_id)
        if fulfillment.canceled_at is not None:
            raise not_allowed("Cannot deliver an already canceled fulfillment")
        if fulfillment.delivered_at is not None:
            raise not_allowed("Fulfillment has already been marked delivered")
        fulfillment.delivered_at = datetime.now(UTC)
        packed = await _fulfillment_items(session, fulfillment)
        lines = await _lines(session, order, [i.line_item_id for i in packed])
        for item in packed:
            lines[item.line_item_id].delivered_quantity += item.quantity
        event = await _finish(session, order, fulfillment, "order.delivered", no_notification)
    await dispatch(sessionmaker, [event])
    return fulfillment


async def cancel_fulfillment(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    order_id: str,
    fulfillment_id: str,
    no_notification: bool | None = None,
    seller_id: str | None = None,
) -> Fulfillment:
    """Cancel a fulfilment that has neither shipped nor been delivered: lines'
    ``fulfilled_quantity`` fall back and the converted stock and reservations are restored;
    event ``order.fulfillment_canceled``."""
    async with sessionmaker() as session, session.begin():
        order = await lock_order(session, order_id, seller_id=seller_id)
        _refuse_canceled_order(order)
        fulfillment = await _fulfillment(session, order, fulfillment_id)
        if fulfillment.canceled_at is not None:
            raise not_allowed("The fulfillment is already canceled")
        if fulfillment.shipped_at is not None:
            raise not_allowed(
                "The fulfillment has already been shipped. Shipped fulfillments cannot be canceled"
            )
        if fulfillment.delivered_at is not None:
            raise not_allowed(f"Fulfillment with id {fulfillment.id} already delivered")
        fulfillment.canceled_at = datetime.now(UTC)
        packed = await _fulfillment_items(session, fulfillment)
        lines = await _lines(session, order, [i.line_item_id for i in packed])
        for item in packed:
            lines[item.line_item_id].fulfilled_quantity -= item.quantity
        await _restore_reservations(session, fulfillment.converted_inventory or [])
        event = await _finish(
            session, order, fulfillment, "order.fulfillment_canceled", no_notification
        )
    await dispatch(sessionmaker, [event])
    return fulfillment


# --------------------------------------------------------------------------- helpers


def _refuse_canceled_order(order: Order) -> None:
    if order.status == "canceled" or order.canceled_at is not None:
        raise invalid(f"Order with id {order.id} has been canceled.")


async def _fulfillment(session: AsyncSession, order: Order, fulfillment_id: str) -> Fulfillment:
    """The order's fulfilment (the order row is locked, so it cannot change under us)."""
    fulfillment = await session.scalar(
        select(Fulfillment).where(
            Fulfillment.id == fulfillment_id, Fulfillment.order_id == order.id
        )
    )
    if fulfillment is None:
        raise not_found("Fulfillment", fulfillment_id)
    return fulfillment


async def _fulfillment_items(
    session: AsyncSession, fulfillment: Fulfillment
) -> list[FulfillmentItem]:
    return list(
        await session.scalars(
            select(FulfillmentItem)
            .where(FulfillmentItem.fulfillment_id == fulfillment.id)
            .order_by(FulfillmentItem.id)
        )
    )


async def _lines(
    session: AsyncSession, order: Order, line_ids: Sequence[str]
) -> dict[str, OrderLineItem]:
    return {
        line.id: line
        for line in await session.scalars(
            select(OrderLineItem).where(
                OrderLineItem.order_id == order.id, OrderLineItem.id.in_(set(line_ids))
            )
        )
    }


async def _lines_to_fulfill(
    session: AsyncSession, order: Order, items: list[ItemQuantity]
) -> dict[str, OrderLineItem]:
    """The order lines named by ``items``, after Medusa's checks (reference §6.2)."""
    if not items:
        raise invalid("No items to fulfill")
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise invalid(f"Item {item.id} is listed more than once")
        seen.add(item.id)
        if item.quantity < 1:
            raise invalid(f"Quantity to fulfill of item {item.id} is required.")
    lines = await _lines(session, order, [i.id for i in items])
    missing = [i.id for i in items if i.id not in lines]
    if missing:
        raise invalid(
            f"Items with ids {', '.join(missing)} does not exist in order with id {order.id}."
        )
    if len({line.requires_shipping for line in lines.values()}) > 1:
        raise invalid(MIXED_SHIPPING)
    for item in items:
        line = lines[item.id]
        if item.quantity > line.quantity - line.fulfilled_quantity:
            raise invalid(f"Cannot fulfill more items than what was ordered for item {line.id}.")
    return lines


async def _fulfillment_location(
    session: AsyncSession, order: Order, location_id: str | None
) -> str:
    """The seller's one stock location; another location is refused."""
    own = await session.scalar(
        select(StockLocation.id).where(StockLocation.seller_id == order.seller_id)
    )
    if own is None:  # every seller gets one on creation; defensive
        raise invalid(
            "Cannot create fulfillment without stock location, the seller of order "
            f"{order.id} has none."
        )
    if location_id is not None and location_id != own:
        raise invalid(
            f"Stock location {location_id} is not the stock location of the order's seller"
        )
    return own


async def _convert_reservations(
    session: AsyncSession,
    lines: dict[str, OrderLineItem],
    items: list[ItemQuantity],
    location_id: str,
) -> list[dict[str, Any]]:
    """Turn the reservations of the packed units into shipped-out stock (reference §6.2):
    level ``stocked`` and ``reserved`` −q, reservation −q (deleted at 0). Returns what moved."""
    reservations: dict[str, list[ReservationItem]] = defaultdict(list)
    for reservation in await session.scalars(
        select(ReservationItem)
        .where(
            ReservationItem.line_item_id.in_([i.id for i in items]),
            ReservationItem.location_id == location_id,
        )
        .order_by(ReservationItem.created_at, ReservationItem.id)
    ):
        reservations[reservation.line_item_id].append(reservation)
    converted: list[dict[str, Any]] = []
    per_level: dict[tuple[str, str], int] = defaultdict(int)
    for item in items:
        held = reservations.get(item.id, [])
        if not held:  # checkout reserved nothing for this line: no managed inventory
            continue
        if sum(r.quantity for r in held) < item.quantity:
            raise invalid(
                f"Quantity to fulfill exceeds the reserved quantity for the item: {item.id}"
            )
        remaining = item.quantity
        for reservation in held:
            if remaining == 0:
                break
            taken = min(reservation.quantity, remaining)
            remaining -= taken
            reservation.quantity -= taken
            if reservation.quantity == 0:
                await session.delete(reservation)
            per_level[(reservation.location_id, reservation.variant_id)] += taken
            converted.append(
                {
                    "line_item_id": item.id,
                    "variant_id": reservation.variant_id,
                    "location_id": reservation.location_id,
                    "quantity": taken,
                }
            )
    for (location, variant_id), quantity in sorted(per_level.items()):
        level = await session.scalar(
            update(InventoryLevel)
            .where(
                InventoryLevel.location_id == location,
                InventoryLevel.variant_id == variant_id,
                InventoryLevel.reserved_quantity >= quantity,
            )
            .values(
                stocked_quantity=InventoryLevel.stocked_quantity - quantity,
                reserved_quantity=InventoryLevel.reserved_quantity - quantity,
            )
            .returning(InventoryLevel.id)
        )
        if level is None:  # the level no longer holds the reservation: refuse, roll back
            line = next(c["line_item_id"] for c in converted if c["variant_id"] == variant_id)
            raise invalid(f"Quantity to fulfill exceeds the reserved quantity for the item: {line}")
    return converted


async def _restore_reservations(session: AsyncSession, converted: list[dict[str, Any]]) -> None:
    """Undo :func:`_convert_reservations` exactly: level ``stocked`` and ``reserved`` +q, the
    line's reservation at that location increased or re-created."""
    per_level: dict[tuple[str, str], int] = defaultdict(int)
    per_reservation: dict[tuple[str, str, str], int] = defaultdict(int)
    for move in converted:
        key = (move["line_item_id"], move["variant_id"], move["location_id"])
        per_reservation[key] += move["quantity"]
        per_level[(move["location_id"], move["variant_id"])] += move["quantity"]
    for (location, variant_id), quantity in sorted(per_level.items()):
        await session.execute(
            update(InventoryLevel)
            .where(InventoryLevel.location_id == location, InventoryLevel.variant_id == variant_id)
            .values(
                stocked_quantity=InventoryLevel.stocked_quantity + quantity,
                reserved_quantity=InventoryLevel.reserved_quantity + quantity,
            )
        )
    for (line_id, variant_id, location), quantity in sorted(per_reservation.items()):
        reservation = await session.scalar(
            select(ReservationItem)
            .where(
                ReservationItem.line_item_id == line_id,
                ReservationItem.variant_id == variant_id,
                ReservationItem.location_id == location,
            )
            .order_by(ReservationItem.created_at, ReservationItem.id)
            .limit(1)
        )
        if reservation is None:
            session.add(
                ReservationItem(
                    line_item_id=line_id,
                    variant_id=variant_id,
                    location_id=location,
                    quantity=quantity,
                )
            )
        else:
            reservation.quantity += quantity


def _check_shipment_items(
    order: Order,
    fulfillment: Fulfillment,
    packed: list[FulfillmentItem],
    items: list[ItemQuantity],
) -> None:
    """A fulfilment ships whole: the items sent must be exactly what it packed."""
    sent: dict[str, int] = {}
    for item in items:
        if item.id in sent:
            raise invalid(f"Item {item.id} is listed more than once")
        sent[item.id] = item.quantity
    expected = {i.line_item_id: i.quantity for i in packed}
    if sent != expected:
        described = ", ".join(f"{line_id} × {q}" for line_id, q in sorted(expected.items()))
        raise invalid(
            f"The items of a shipment must be those of fulfillment {fulfillment.id} "
            f"of order {order.id}: {described}"
        )


async def _finish(
    session: AsyncSession,
    order: Order,
    fulfillment: Fulfillment,
    name: str,
    no_notification: bool | None = None,
) -> str:
    """Statuses recomputed in this transaction, then the event staged; returns its id."""
    fulfillment.updated_at = datetime.now(UTC)
    await refresh_statuses(session, [order])
    event = emit(
        session,
        name,
        {
            "id": order.id,
            "fulfillment_id": fulfillment.id,
            "no_notification": (
                fulfillment.no_notification if no_notification is None else no_notification
            ),
        },
    )
    await session.flush()
    return event.id

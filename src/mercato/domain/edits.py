"""Order edits on one seller's order, as order changes (order-changes.md §5, §9).

An operator or the seller's staff begin an ``edit`` change on an order, add lines of the seller's
variants (``ITEM_ADD``, the exchange/claim outbound rules), change or zero existing lines
(``ITEM_UPDATE``), add a shipping method (``SHIPPING_ADD``), optionally *request* the edit (the
customer may then pay what it will cost: §3.5 re-sync on the preview), and confirm it: the
engine applies the actions, stock is reserved and released at the seller's location, the
version moves and the change collection is re-synced. Canceling it releases nothing (nothing
was applied) but puts the change collection back to what the order owes without the edit; an
authorization taken on it for the edit is voided by the caller's workflow (:func:`request_cancel`
holds it, :func:`complete_cancel` books it).

Pure: no I/O; every function is one route's rule on the loaded :class:`OrderGroup` and touches
only the target order. Promotions do not exist yet: §9's adjustment rules are not applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mercato.domain import events as ev
from mercato.domain import exchanges as owned
from mercato.domain import returns as ret_flows
from mercato.domain.errors import DomainError
from mercato.domain.exchanges import OutboundItem, Tax, VariantQuote
from mercato.domain.order_changes import (
    NO_ACTIVE_CHANGE,
    ChangeAction,
    ChangeCollection,
    OrderChange,
    active_change,
    units_in_returns,
)
from mercato.domain.order_group import CONFLICT, MoneyRequest, Order, OrderGroup
from mercato.domain.returns import Actor, ShippingQuote

ITEM_KINDS = ("ITEM_ADD", "ITEM_UPDATE")


@dataclass(frozen=True, slots=True)
class LineEdit:
    """What ``POST …/items/item/:item_id`` (or an update of its action) asks of a line: its new
    quantity (0 removes it) and, optionally, a new unit price for the whole line."""

    quantity: int | None = None
    unit_price: int | None = None
    internal_note: str | None = None


# --------------------------------------------------------------------------- lookup


def edit_of(order: Order) -> OrderChange:
    """The order's active edit; none (or another kind of change) → 400 (§5)."""
    change = active_change(order)
    if change is None or change.change_type != "edit":
        raise DomainError(NO_ACTIVE_CHANGE)
    return change


def open_edit(
    group: OrderGroup, order_id: str, *, seller_id: str | None = None
) -> tuple[Order, OrderChange]:
    order = group.order(order_id, seller_id=seller_id)
    ret_flows.ensure_order_open(order)
    return order, edit_of(order)


# --------------------------------------------------------------------------- begin


def begin_edit(
    group: OrderGroup,
    order_id: str,
    actor: Actor,
    *,
    seller_id: str | None = None,
    description: str | None = None,
    internal_note: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> OrderChange:
    """A pending ``edit`` change on the order (§5: open, no other active change)."""
    order = group.order(order_id, seller_id=seller_id)
    ret_flows.ensure_order_open(order)
    ret_flows.ensure_no_active_change(order)
    return ret_flows.new_change(
        order,
        "edit",
        actor,
        description=description,
        internal_note=internal_note,
        metadata=metadata,
    )


# --------------------------------------------------------------------------- items


def add_items(
    group: OrderGroup,
    order_id: str,
    items: Sequence[OutboundItem],
    quotes: dict[str, VariantQuote],
    tax: Tax,
    actor: Actor,
    *,
    seller_id: str | None = None,
) -> OrderChange:
    """``ITEM_ADD`` of new lines: the seller's variants, priced with the region's tax,
    reserved at confirmation (the exchange and claim outbound rules)."""
    order, change = open_edit(group, order_id, seller_id=seller_id)
    owned.add_outbound_items(order, change, items, quotes, tax, actor)
    return _previewed(group, order, change, actor)


def check_editable(order: Order, line_id: str, quantity: int) -> None:
    """§9: a line with units in a return or claim keeps its units and value (§3.1); fulfilled
    units stay. A line taken out (quantity 0) is no longer in the order's ``items``."""
    ret_flows.check_lines(order, [line_id])
    line = order.line(line_id)
    if line.quantity == 0:
        raise DomainError(f"Items with ids {line_id} does not exist in order with id {order.id}.")
    if units_in_returns(line) or line.written_off_quantity or line.deducted_quantity:
        raise DomainError(f"Item {line_id} has returned or claimed units and cannot be edited")
    if quantity == 0 and line.fulfilled_quantity > 0:
        raise DomainError(f"Cannot remove fulfilled item: Item {line_id}.")
    if quantity < line.fulfilled_quantity:
        raise DomainError(
            f"Item {line_id} has already been fulfilled and quantity cannot be lower than "
            f"{line.fulfilled_quantity}."
        )


def update_item(
    group: OrderGroup,
    order_id: str,
    line_id: str,
    edit: LineEdit,
    quotes: dict[str, VariantQuote],
    tax: Tax,
    actor: Actor,
    *,
    seller_id: str | None = None,
) -> OrderChange:
    """``ITEM_UPDATE`` of an order line (``POST …/items/item/:item_id``): one per line in the
    change (a second call updates it; a unit price given before is kept). ``quotes`` holds the
    line's variant when it still exists: added units of a managed variant must be free at the
    seller's location. A deleted variant's line can still change; added units then reserve
    nothing."""
    order, change = open_edit(group, order_id, seller_id=seller_id)
    previous = next(
        (
            a
            for a in change.actions
            if a.action == "ITEM_UPDATE" and a.details["reference_id"] == line_id
        ),
        None,
    )
    _set_line(order, change, line_id, edit, quotes, tax, actor, previous=previous)
    return _previewed(group, order, change, actor)


def _set_line(
    order: Order,
    change: OrderChange,
    line_id: str,
    edit: LineEdit,
    quotes: dict[str, VariantQuote],
    tax: Tax,
    actor: Actor,
    *,
    previous: ChangeAction | None,
) -> None:
    old = previous.details if previous is not None else {}
    quantity = edit.quantity if edit.quantity is not None else old.get("quantity")
    if quantity is None:
        raise DomainError(f"Quantity of item {line_id} is required.")
    check_editable(order, line_id, quantity)
    line = order.line(line_id)
    unit_price = edit.unit_price if edit.unit_price is not None else old.get("unit_price")
    if unit_price is not None and unit_price != line.unit_price and line.discount_total:
        # Promotions are not re-run on orders: a discount fixed at placement cannot follow a
        # new price (order-changes.md §9).
        raise DomainError(f"Item {line_id} has promotions applied; its price cannot be changed")
    added = quantity - line.quantity
    quote = quotes.get(line.variant_id or "")
    managed = quote is not None and quote.manage_inventory
    backorder = quote is not None and quote.allow_backorder
    if added > 0 and quote is not None and managed and not backorder:
        excluding = previous.id if previous is not None else None
        owned.check_stock(order, change, quote, added, excluding=excluding)
    details = {
        "reference_id": line_id,
        "quantity": quantity,
        "quantity_diff": added,
        "unit_price": unit_price,
        "tax_rate": str(tax.rate),
        "variant_id": line.variant_id,
        "manage_inventory": managed,
        "allow_backorder": backorder,
        "reservation_id": old.get("reservation_id") or actor.ids("resitem"),
    }
    if previous is not None:
        previous.details = details
        if edit.internal_note is not None:
            previous.internal_note = edit.internal_note
        previous.updated_at = actor.now
        change.updated_at = actor.now
        return
    ret_flows.add_action(
        change,
        "ITEM_UPDATE",
        actor,
        reference="order_line_item",
        reference_id=line_id,
        internal_note=edit.internal_note,
        details=details,
    )


def update_action(
    group: OrderGroup,
    order_id: str,
    action_id: str,
    edit: LineEdit,
    quotes: dict[str, VariantQuote],
    tax: Tax,
    actor: Actor,
    *,
    seller_id: str | None = None,
) -> OrderChange:
    """``POST …/items/:action_id``: a new line's quantity or price (``ITEM_ADD``), or a line
    update's (``ITEM_UPDATE``)."""
    order, change = open_edit(group, order_id, seller_id=seller_id)
    action = change.action(action_id, *ITEM_KINDS)
    if action.action == "ITEM_UPDATE":
        line_id = action.details["reference_id"]
        _set_line(order, change, line_id, edit, quotes, tax, actor, previous=action)
        return _previewed(group, order, change, actor)
    if edit.quantity == 0:
        raise DomainError(
            f"Quantity of a new item must be at least 1; remove it with DELETE …/items/{action_id}"
        )
    owned.update_outbound_item(
        order,
        change,
        action_id,
        quotes,
        actor,
        quantity=edit.quantity,
        unit_price=edit.unit_price,
        internal_note=edit.internal_note,
    )
    return _previewed(group, order, change, actor)


def remove_action(
    group: OrderGroup,
    order_id: str,
    action_id: str,
    kinds: Sequence[str],
    actor: Actor,
    *,
    seller_id: str | None = None,
) -> OrderChange:
    """``DELETE …/items/:action_id`` or ``…/shipping-method/:action_id``."""
    order, change = open_edit(group, order_id, seller_id=seller_id)
    owned.remove(change, change.action(action_id, *kinds), actor)
    return _previewed(group, order, change, actor)


# --------------------------------------------------------------------------- shipping


def add_shipping(
    group: OrderGroup,
    order_id: str,
    quote: ShippingQuote,
    actor: Actor,
    *,
    seller_id: str | None = None,
    **values: Any,
) -> OrderChange:
    """A ``SHIPPING_ADD`` of the seller's outbound option (one per edit: another replaces
    it); ``values``: ``custom_amount``, ``description``, ``internal_note``, ``metadata``."""
    order, change = open_edit(group, order_id, seller_id=seller_id)
    owned.add_outbound_shipping(order, change, quote, actor, **values)
    return _previewed(group, order, change, actor)


def update_shipping(
    group: OrderGroup,
    order_id: str,
    action_id: str,
    actor: Actor,
    *,
    seller_id: str | None = None,
    **values: Any,
) -> OrderChange:
    order, change = open_edit(group, order_id, seller_id=seller_id)
    ret_flows.update_shipping(change, change.action(action_id, "SHIPPING_ADD"), actor, **values)
    return _previewed(group, order, change, actor)


def _previewed(group: OrderGroup, order: Order, change: OrderChange, actor: Actor) -> OrderChange:
    """The change after the preview gave its actions their amounts (saved with them)."""
    ret_flows.preview_order(group, order, actor)
    return change


# --------------------------------------------------------------------------- request, confirm


def request_edit(
    group: OrderGroup, order_id: str, actor: Actor, *, seller_id: str | None = None
) -> OrderChange:
    """``requested``: the customer may pay before the edit is confirmed, so the change
    collection is re-synced to the amount the order would owe once it is (§3.5, on the
    preview). Requesting again re-syncs again."""
    order, change = open_edit(group, order_id, seller_id=seller_id)
    change.status = "requested"
    change.requested_at = actor.now
    change.requested_by = actor.id
    change.updated_at = actor.now
    previewed = ret_flows.preview_order(group, order, actor)
    assert previewed.summary is not None
    ret_flows.sync_change_collection(group, order, change, actor, due=previewed.summary.amount_due)
    _event(group, ev.ORDER_EDIT_REQUESTED, order, change)
    return change


def confirm_edit(
    group: OrderGroup, order_id: str, actor: Actor, *, seller_id: str | None = None
) -> OrderChange:
    """Apply the edit (from ``pending`` or ``requested``): lines, reservations, version, §3.5
    re-sync."""
    order, change = open_edit(group, order_id, seller_id=seller_id)
    ret_flows.confirm(group, order, change, actor)
    _event(group, ev.ORDER_EDIT_CONFIRMED, order, change)
    return change


def _event(group: OrderGroup, name: str, order: Order, change: OrderChange) -> None:
    ret_flows.raise_event(group, name, order, order_change_id=change.id)


# --------------------------------------------------------------------------- cancel


def _authorized_for(order: Order, change: OrderChange) -> list[ChangeCollection]:
    """The collections created for the edit and authorized since (not canceled)."""
    return [
        c
        for c in order.change_collections
        if c.order_change_id == change.id and c.payment_id is not None and c.status != "canceled"
    ]


def request_cancel(
    group: OrderGroup, order_id: str, *, seller_id: str | None = None
) -> tuple[str, list[MoneyRequest]]:
    """Check the edit may be canceled and hold the voids of what was authorized for it and not
    captured (nothing may be captured meanwhile): ``(change id, voids)``. No void: the caller
    completes at once."""
    order = group.order(order_id, seller_id=seller_id)
    change = edit_of(order)
    voids = []
    for collection in _authorized_for(order, change):
        if collection.pending_capture or collection.pending_refund:
            raise DomainError(
                f"Order {order.id} has a payment operation in progress; retry once it has ended",
                type=CONFLICT,
            )
        uncaptured = collection.authorized_amount - collection.captured_amount
        if uncaptured > 0:
            assert collection.payment_id is not None and collection.provider_id is not None
            voids.append(
                MoneyRequest(
                    "void", order.id, collection.payment_id, collection.provider_id, uncaptured
                )
            )
            collection.pending_capture += uncaptured
    return change.id, voids


def complete_cancel(
    group: OrderGroup,
    order_id: str,
    change_id: str,
    voids: Sequence[MoneyRequest],
    actor: Actor,
) -> None:
    """The edit ``canceled`` (kept for the audit trail; nothing was applied) once the provider
    voided what :func:`request_cancel` held: those collections keep only what they captured
    (canceled when nothing), and the order's unpaid change collection is re-synced to what it
    owes without the edit (canceled when nothing: §9)."""
    order = group.order(order_id)
    change = edit_of(order)
    assert change.id == change_id
    for void in voids:
        group.abandon(void)
        collection = next(c for c in order.change_collections if c.payment_id == void.payment_id)
        collection.authorized_amount = collection.captured_amount
        collection.status = "canceled" if collection.captured_amount == 0 else "completed"
        collection.updated_at = actor.now
        ret_flows.collection_event(group, ev.PAYMENT_COLLECTION_UPDATED, order, collection)
    ret_flows.cancel_change(change, actor)
    group.refresh(actor.now, [order])
    ret_flows.sync_change_collection(group, order, change, actor)
    _event(group, ev.ORDER_EDIT_CANCELED, order, change)


def abandon_cancel(group: OrderGroup, voids: Sequence[MoneyRequest]) -> None:
    """The provider refused a void: the holds are released, the edit stays as it was."""
    for void in voids:
        group.abandon(void)

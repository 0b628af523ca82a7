"""Exchanges on one seller's order, as order changes (order-changes.md §5, §7).

An exchange takes units back (its return, created on the first inbound item or method) and sends
others out (new order lines of the same seller's variants, reserved at the seller's stock
location). Everything is recorded on the order's ``exchange`` change and applied at ``request``
with the engine's actions (``RETURN_ITEM``, ``ITEM_ADD``, ``SHIPPING_ADD``); a cancel is another
change whose actions reverse them (``CANCEL_RETURN_ITEM``, ``ITEM_REMOVE``, ``SHIPPING_REMOVE``).
The inbound and outbound helpers here serve claims too (:mod:`mercato.domain.claims`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mercato.domain import events as ev
from mercato.domain import returns as ret_flows
from mercato.domain.errors import NOT_ALLOWED, DomainError
from mercato.domain.order_changes import (
    NO_ACTIVE_CHANGE,
    ChangeAction,
    Exchange,
    OrderChange,
    Return,
    active_change,
    insufficient,
)
from mercato.domain.order_group import Order, OrderGroup
from mercato.domain.returns import Actor, RequestedItem, ShippingQuote
from mercato.domain.totals import TaxRate

INSUFFICIENT_INVENTORY = "insufficient_inventory"


@dataclass(frozen=True, slots=True)
class VariantQuote:
    """A variant as an outbound line needs it: whose, sellable, its price in the order's
    currency (None: none), its stock at the order's seller's location, its descriptive
    columns."""

    id: str
    seller_id: str
    product_id: str
    published: bool
    seller_active: bool
    unit_price: int | None
    manage_inventory: bool
    allow_backorder: bool
    requires_shipping: bool
    available: int
    snapshot: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboundItem:
    variant_id: str
    quantity: int
    unit_price: int | None = None
    internal_note: str | None = None
    allow_backorder: bool | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Tax:
    """The order's region's tax."""

    rate: TaxRate
    inclusive: bool


# --------------------------------------------------------------------------- lookup


def find_exchange(group: OrderGroup, exchange_id: str) -> tuple[Order, Exchange]:
    for order in group.orders:
        for exchange in order.exchanges:
            if exchange.id == exchange_id and not exchange.deleted:
                return order, exchange
    raise DomainError(f"Exchange with id {exchange_id} was not found", type="not_found")


def _change_of(order: Order, exchange: Exchange) -> OrderChange:
    change = active_change(order)
    if change is None or change.exchange_id != exchange.id or change.change_type != "exchange":
        raise DomainError(NO_ACTIVE_CHANGE)
    return change


def _open(group: OrderGroup, exchange_id: str) -> tuple[Order, Exchange, OrderChange]:
    order, exchange = find_exchange(group, exchange_id)
    ret_flows.ensure_order_open(order)
    return order, exchange, _change_of(order, exchange)


# --------------------------------------------------------------------------- shared parts


def inbound_return(order: Order, change: OrderChange, actor: Actor) -> Return:
    """The return of the change's exchange or claim, created on first use."""
    if change.return_id is not None:
        return next(r for r in order.returns if r.id == change.return_id)
    ret = Return(
        id=actor.ids("return"),
        order_id=order.id,
        seller_id=order.seller_id,
        location_id=order.location_id,
        exchange_id=change.exchange_id,
        claim_id=change.claim_id,
        order_version=order.version,
        no_notification=order.no_notification,
        created_by=actor.id,
        created_at=actor.now,
        updated_at=actor.now,
    )
    order.returns.append(ret)
    change.return_id = ret.id
    for exchange in order.exchanges:
        if exchange.id == change.exchange_id:
            exchange.return_id = ret.id
    for claim in order.claims:
        if claim.id == change.claim_id:
            claim.return_id = ret.id
    return ret


def add_inbound_items(
    order: Order,
    change: OrderChange,
    items: Sequence[RequestedItem],
    actor: Actor,
    *,
    check: bool = True,
) -> Return:
    # Checked before the return is created on first use: a refusal leaves nothing behind.
    ret_flows.check_return_items(order, change, items, check=check)
    ret = inbound_return(order, change, actor)
    ret_flows.add_return_items(order, change, ret, items, actor, check=check)
    return ret


def add_inbound_shipping(
    order: Order,
    change: OrderChange,
    quote: ShippingQuote,
    actor: Actor,
    *,
    default_amount: int | None = None,
    **values: Any,
) -> Return:
    ret_flows.check_option(order, quote, inbound=True)
    ret = inbound_return(order, change, actor)
    ret_flows.add_shipping(
        change, quote, actor, return_id=ret.id, default_amount=default_amount, **values
    )
    return ret


def add_outbound_shipping(
    order: Order,
    change: OrderChange,
    quote: ShippingQuote,
    actor: Actor,
    *,
    default_amount: int | None = None,
    **values: Any,
) -> None:
    ret_flows.check_option(order, quote, inbound=False)
    ret_flows.add_shipping(
        change, quote, actor, return_id=None, default_amount=default_amount, **values
    )


def shipping_action(change: OrderChange, action_id: str, *, inbound: bool) -> ChangeAction:
    """The change's inbound (a return's) or outbound ``SHIPPING_ADD`` ``action_id``."""
    action = change.action(action_id, "SHIPPING_ADD")
    if (action.return_id is not None) != inbound:
        raise DomainError(
            f"Order change action with id {action_id} was not found", type="not_found"
        )
    return action


def check_variant(
    order: Order,
    change: OrderChange,
    quote: VariantQuote,
    quantity: int,
    *,
    unit_price: int | None,
    allow_backorder: bool,
    excluding: str | None = None,
) -> None:
    """§5 Variants: the order's seller's, published, seller active, priced (unless
    ``unit_price``), and — managed, no backorder — in stock at the seller's location counting
    the change's other outbound units of it (backordered ones too: they are reserved all the
    same when the change is confirmed)."""
    if quote.seller_id != order.seller_id:
        raise DomainError(
            f"Variant {quote.id} belongs to seller {quote.seller_id}, not to seller "
            f"{order.seller_id} of order {order.id}"
        )
    if not quote.published:
        raise DomainError(f"Product {quote.product_id} of variant {quote.id} is not published")
    if not quote.seller_active:
        raise DomainError(f"Seller {quote.seller_id} of variant {quote.id} is not active")
    if unit_price is None and quote.unit_price is None:
        raise DomainError(f"Variant {quote.id} has no price in {order.currency_code}")
    if not quote.manage_inventory or quote.allow_backorder or allow_backorder:
        return
    pending = sum(
        int(a.details["quantity"])
        for a in change.actions
        if a.action == "ITEM_ADD" and a.details["variant_id"] == quote.id and a.id != excluding
    )
    if quantity + pending > quote.available:
        location = order.location_id or "-"
        raise DomainError(insufficient(quote.id, location), code=INSUFFICIENT_INVENTORY)


def add_outbound_items(
    order: Order,
    change: OrderChange,
    items: Sequence[OutboundItem],
    quotes: dict[str, VariantQuote],
    tax: Tax,
    actor: Actor,
    *,
    default_price: int | None = None,
) -> None:
    """``ITEM_ADD`` actions (claims price at ``default_price`` 0 unless ``unit_price``).
    Every item is checked before any is recorded (a refusal leaves the change as it was); the
    stock check counts the earlier items of the same call too."""
    earlier: dict[str, int] = {}
    for item in items:
        quote = quotes[item.variant_id]
        unit_price = item.unit_price if item.unit_price is not None else default_price
        check_variant(
            order,
            change,
            quote,
            item.quantity + earlier.get(quote.id, 0),
            unit_price=unit_price,
            allow_backorder=bool(item.allow_backorder),
        )
        earlier[quote.id] = earlier.get(quote.id, 0) + item.quantity
    for item in items:
        quote = quotes[item.variant_id]
        unit_price = item.unit_price if item.unit_price is not None else default_price
        backorder = bool(item.allow_backorder)
        line_id = actor.ids("ordli")
        price = unit_price if unit_price is not None else quote.unit_price
        assert price is not None
        add = ret_flows.add_action(
            change,
            "ITEM_ADD",
            actor,
            reference="order_line_item",
            reference_id=line_id,
            exchange_id=change.exchange_id,
            claim_id=change.claim_id,
            internal_note=item.internal_note,
            details={
                "reference_id": line_id,
                "variant_id": quote.id,
                "product_id": quote.product_id,
                "quantity": item.quantity,
                "unit_price": price,
                "custom_unit_price": item.unit_price,
                "tax_rate": str(tax.rate),
                "is_tax_inclusive": tax.inclusive,
                "requires_shipping": quote.requires_shipping,
                "manage_inventory": quote.manage_inventory,
                "allow_backorder": backorder or quote.allow_backorder,
                "reservation_id": actor.ids("resitem"),
                "outbound_item_id": actor.ids("claitem" if change.claim_id else "oexcitem"),
                "snapshot": {**quote.snapshot, "currency_code": order.currency_code},
                "metadata": item.metadata,
            },
        )
        add.updated_at = actor.now


def update_outbound_item(
    order: Order,
    change: OrderChange,
    action_id: str,
    quotes: dict[str, VariantQuote],
    actor: Actor,
    *,
    quantity: int | None = None,
    unit_price: int | None = None,
    internal_note: str | None = None,
) -> None:
    action = change.action(action_id, "ITEM_ADD")
    d = action.details
    quote = quotes[d["variant_id"]]
    new_quantity = quantity if quantity is not None else int(d["quantity"])
    price = unit_price if unit_price is not None else d.get("custom_unit_price")
    check_variant(
        order,
        change,
        quote,
        new_quantity,
        unit_price=price if price is not None else d["unit_price"],
        allow_backorder=bool(d.get("allow_backorder")),
        excluding=action.id,
    )
    action.details = {**d, "quantity": new_quantity}
    if unit_price is not None:
        action.details = {
            **action.details,
            "unit_price": unit_price,
            "custom_unit_price": unit_price,
        }
    if internal_note is not None:
        action.internal_note = internal_note
    action.updated_at = actor.now
    change.updated_at = actor.now


def remove(change: OrderChange, action: ChangeAction, actor: Actor) -> None:
    change.actions.remove(action)
    change.updated_at = actor.now


def return_refund_amount(change: OrderChange, ret: Return) -> int:
    return max(0, -sum(a.amount for a in change.actions if a.return_id == ret.id))


def mark_requested(order: Order, change: OrderChange, actor: Actor) -> Return | None:
    """After the change's confirmation: its return (if any) is ``requested``."""
    if change.return_id is None:
        return None
    ret = next(r for r in order.returns if r.id == change.return_id)
    ret.status = "requested"
    ret.requested_at = actor.now
    ret.updated_at = actor.now
    ret.refund_amount = return_refund_amount(change, ret)
    return ret


def check_cancelable(order: Order, line_owner: str, ret: Return | None, noun: str) -> None:
    """Outbound fulfilments canceled, nothing received back (§7, §8 cancel)."""
    outbound = {
        line.id
        for line in order.lines
        if line_owner in (line.exchange_id, line.claim_id) and line.quantity > 0
    }
    for fulfillment in order.fulfillments:
        if fulfillment.canceled_at is None and any(i in outbound for i, _ in fulfillment.items):
            raise DomainError(
                f"All fulfillments must be canceled before canceling {noun}", type=NOT_ALLOWED
            )
    if ret is not None and any(item.received_quantity > 0 for item in ret.items):
        raise DomainError("Can't cancel a return which has returned items", type=NOT_ALLOWED)


def reversal_actions(
    order: Order, change: OrderChange, owner: str, ret: Return | None, actor: Actor
) -> None:
    """The actions that take back what ``owner`` (an exchange or claim) applied: its return's
    units, its methods (inbound and outbound), its outbound lines and their reservations."""
    if ret is not None and not ret.is_canceled:
        for item in ret.items:
            ret_flows.add_action(
                change,
                "CANCEL_RETURN_ITEM",
                actor,
                reference="return",
                reference_id=ret.id,
                return_id=ret.id,
                exchange_id=change.exchange_id,
                claim_id=change.claim_id,
                details={"reference_id": item.item_id, "quantity": item.quantity},
            )
    for method in order.shipping_methods:
        mine = owner in (method.exchange_id, method.claim_id)
        if mine or (ret is not None and method.return_id == ret.id):
            ret_flows.add_action(
                change,
                "SHIPPING_REMOVE",
                actor,
                reference="order_shipping_method",
                reference_id=method.id,
                return_id=method.return_id,
                exchange_id=change.exchange_id,
                claim_id=change.claim_id,
                details={"shipping_method_id": method.id},
            )
    for line in order.lines:
        if owner in (line.exchange_id, line.claim_id) and line.quantity > 0:
            ret_flows.add_action(
                change,
                "ITEM_REMOVE",
                actor,
                reference="order_line_item",
                reference_id=line.id,
                exchange_id=change.exchange_id,
                claim_id=change.claim_id,
                details={"reference_id": line.id, "quantity": line.quantity},
            )
    if ret is not None and not ret.is_canceled:
        # Canceled before the confirmation refreshes the summary (as a return cancel).
        ret.status = "canceled"
        ret.canceled_at = actor.now
        ret.updated_at = actor.now


# --------------------------------------------------------------------------- routes


def begin_exchange(
    group: OrderGroup,
    order_id: str,
    actor: Actor,
    *,
    seller_id: str | None = None,
    description: str | None = None,
    internal_note: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Exchange:
    order = group.order(order_id, seller_id=seller_id)
    ret_flows.ensure_order_open(order)
    ret_flows.ensure_no_active_change(order)
    exchange = Exchange(
        id=actor.ids("oexc"),
        order_id=order.id,
        seller_id=order.seller_id,
        order_version=order.version,
        no_notification=order.no_notification,
        created_by=actor.id,
        metadata=metadata,
        created_at=actor.now,
        updated_at=actor.now,
    )
    order.exchanges.append(exchange)
    ret_flows.new_change(
        order,
        "exchange",
        actor,
        exchange_id=exchange.id,
        description=description,
        internal_note=internal_note,
    )
    return exchange


def _previewed(group: OrderGroup, order: Order, actor: Actor) -> None:
    ret_flows.preview_order(group, order, actor)


def exchange_inbound_items(
    group: OrderGroup, exchange_id: str, items: Sequence[RequestedItem], actor: Actor
) -> Return:
    order, _, change = _open(group, exchange_id)
    ret = add_inbound_items(order, change, items, actor)
    _previewed(group, order, actor)
    return ret


def exchange_update_inbound_item(
    group: OrderGroup, exchange_id: str, action_id: str, actor: Actor, **values: Any
) -> Return:
    order, _, change = _open(group, exchange_id)
    ret_flows.update_return_item(order, change, action_id, actor, **values)
    _previewed(group, order, actor)
    return inbound_return(order, change, actor)


def exchange_remove_action(
    group: OrderGroup, exchange_id: str, action_id: str, actor: Actor, *, kind: str
) -> Exchange | Return:
    """Drop an action: ``inbound_item``, ``inbound_shipping``, ``outbound_item`` or
    ``outbound_shipping``. Inbound removals answer the return, outbound ones the exchange."""
    order, exchange, change = _open(group, exchange_id)
    remove(change, _kind_action(change, action_id, kind), actor)
    _previewed(group, order, actor)
    if kind.startswith("inbound"):
        return inbound_return(order, change, actor)
    return exchange


def _kind_action(change: OrderChange, action_id: str, kind: str) -> ChangeAction:
    if kind == "inbound_item":
        return change.action(action_id, "RETURN_ITEM")
    if kind == "outbound_item":
        return change.action(action_id, "ITEM_ADD")
    return shipping_action(change, action_id, inbound=kind == "inbound_shipping")


def exchange_inbound_shipping(
    group: OrderGroup, exchange_id: str, quote: ShippingQuote, actor: Actor, **values: Any
) -> Return:
    order, _, change = _open(group, exchange_id)
    ret = add_inbound_shipping(order, change, quote, actor, **values)
    _previewed(group, order, actor)
    return ret


def exchange_update_shipping(
    group: OrderGroup,
    exchange_id: str,
    action_id: str,
    actor: Actor,
    *,
    inbound: bool,
    **values: Any,
) -> Exchange | Return:
    order, exchange, change = _open(group, exchange_id)
    ret_flows.update_shipping(
        change, shipping_action(change, action_id, inbound=inbound), actor, **values
    )
    _previewed(group, order, actor)
    return inbound_return(order, change, actor) if inbound else exchange


def exchange_outbound_items(
    group: OrderGroup,
    exchange_id: str,
    items: Sequence[OutboundItem],
    quotes: dict[str, VariantQuote],
    tax: Tax,
    actor: Actor,
) -> Exchange:
    order, exchange, change = _open(group, exchange_id)
    add_outbound_items(order, change, items, quotes, tax, actor)
    exchange.allow_backorder = exchange.allow_backorder or any(i.allow_backorder for i in items)
    _previewed(group, order, actor)
    return exchange


def exchange_update_outbound_item(
    group: OrderGroup,
    exchange_id: str,
    action_id: str,
    quotes: dict[str, VariantQuote],
    actor: Actor,
    **values: Any,
) -> Exchange:
    order, exchange, change = _open(group, exchange_id)
    update_outbound_item(order, change, action_id, quotes, actor, **values)
    _previewed(group, order, actor)
    return exchange


def exchange_outbound_shipping(
    group: OrderGroup, exchange_id: str, quote: ShippingQuote, actor: Actor, **values: Any
) -> Exchange:
    order, exchange, change = _open(group, exchange_id)
    add_outbound_shipping(order, change, quote, actor, **values)
    _previewed(group, order, actor)
    return exchange


def request_exchange(
    group: OrderGroup, exchange_id: str, actor: Actor, *, no_notification: bool | None = None
) -> Exchange:
    """Confirm the exchange: inbound units deducted, outbound lines added and reserved."""
    order, exchange, change = _open(group, exchange_id)
    kinds = {a.action for a in change.actions}
    if "RETURN_ITEM" not in kinds or "ITEM_ADD" not in kinds:
        raise DomainError(
            "Order exchange request should have at least 1 item inbound and 1 item outbound"
        )
    if no_notification is not None:
        exchange.no_notification = no_notification
    change.requested_at = actor.now
    change.requested_by = actor.id
    ret_flows.confirm(group, order, change, actor)
    mark_requested(order, change, actor)
    exchange.difference_due = sum(a.amount for a in change.actions)
    exchange.updated_at = actor.now
    ret_flows.raise_event(group, ev.EXCHANGE_CREATED, order, exchange_id=exchange.id)
    return exchange


def discard_exchange(group: OrderGroup, exchange_id: str, actor: Actor) -> Exchange:
    """``DELETE /admin/exchanges/:id/request``: the pending change canceled (kept), the
    exchange and its return deleted."""
    order, exchange = find_exchange(group, exchange_id)
    change = _change_of(order, exchange)
    ret_flows.cancel_change(change, actor)
    exchange.deleted = True
    for ret in order.returns:
        if ret.id == exchange.return_id:
            ret.deleted = True
    return exchange


def cancel_exchange(
    group: OrderGroup, exchange_id: str, actor: Actor, *, no_notification: bool | None = None
) -> Exchange:
    order, exchange = find_exchange(group, exchange_id)
    ret_flows.ensure_order_open(order)
    if exchange.canceled_at is not None:
        raise DomainError(f"Exchange with id {exchange.id} has been canceled.")
    pending = active_change(order)
    if pending is not None and pending.exchange_id == exchange.id:
        raise DomainError(
            f"Exchange {exchange.id} has not been requested; use DELETE "
            f"/admin/exchanges/{exchange.id}/request",
            type=NOT_ALLOWED,
        )
    ret = next((r for r in order.returns if r.id == exchange.return_id), None)
    check_cancelable(order, exchange.id, ret, "am exchange")
    ret_flows.ensure_no_active_change(order)
    change = ret_flows.new_change(
        order, "exchange", actor, exchange_id=exchange.id, return_id=exchange.return_id
    )
    reversal_actions(order, change, exchange.id, ret, actor)
    if no_notification is not None:
        exchange.no_notification = no_notification
    exchange.canceled_at = actor.now
    exchange.updated_at = actor.now
    ret_flows.confirm(group, order, change, actor)
    ret_flows.raise_event(group, ev.EXCHANGE_CANCELED, order, exchange_id=exchange.id)
    return exchange

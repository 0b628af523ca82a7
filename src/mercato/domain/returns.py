"""Returns and credit lines on one seller's order, as order changes (order-changes.md §3.7, §6).

Each function is one route's rule on the loaded :class:`OrderGroup`: it checks, records or
confirms the order's change, and leaves what the repository must write on the entities (the
return, its items, the change and its actions, the order's lines, stock moves). Only the target
order is read or written; its siblings are never touched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mercato.domain import events as ev
from mercato.domain.errors import NOT_ALLOWED, DomainError
from mercato.domain.events import DomainEvent
from mercato.domain.order_changes import (
    NO_ACTIVE_CHANGE,
    ApplyContext,
    ChangeAction,
    ChangeCollection,
    CreditLine,
    OrderChange,
    Return,
    active_change,
    apply_actions,
    preview,
    units_taken,
)
from mercato.domain.order_group import IdFactory, Order, OrderGroup
from mercato.domain.totals import TaxRate, shipping_totals

_RECEIVE_KINDS = ("RECEIVE_RETURN_ITEM", "RECEIVE_DAMAGED_RETURN_ITEM")


@dataclass(frozen=True, slots=True)
class RequestedItem:
    line_id: str
    quantity: int
    reason_id: str | None = None
    description: str | None = None
    internal_note: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ShippingQuote:
    """A shipping option as a change needs it: whose it is, where, which way, its price."""

    id: str
    seller_id: str
    region_id: str | None
    is_return: bool
    name: str
    amount: int
    tax_rate: TaxRate
    tax_inclusive: bool
    currency_code: str | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts (``user_…``, ``apk_…``, ``mem_…``, ``cus_…``), the time and id source."""

    id: str | None
    now: datetime
    ids: IdFactory


# --------------------------------------------------------------------------- guards


def ensure_order_open(order: Order) -> None:
    """Changes need a stored ``pending`` or ``completed`` order (§5)."""
    if order.is_canceled:
        raise DomainError(f"Order with id {order.id} has been canceled.")
    if order.status == "archived":
        raise DomainError(f"Order with id {order.id} has been archived.")


def ensure_no_active_change(order: Order) -> None:
    change = active_change(order)
    if change is not None:
        raise DomainError(
            f"Order ({order.id}) already has an existing active order change: "
            f"{change.id} ({change.change_type})"
        )


def find_return(group: OrderGroup, return_id: str) -> tuple[Order, Return]:
    for order in group.orders:
        for ret in order.returns:
            if ret.id == return_id and not ret.deleted:
                return order, ret
    raise DomainError(f"Return with id {return_id} was not found", type="not_found")


def _change_of(order: Order, ret: Return, change_type: str) -> OrderChange:
    change = active_change(order)
    if change is None or change.return_id != ret.id or change.change_type != change_type:
        raise DomainError(NO_ACTIVE_CHANGE)
    return change


def new_change(order: Order, change_type: str, actor: Actor, **values: Any) -> OrderChange:
    change = OrderChange(
        id=actor.ids("ordch"),
        order_id=order.id,
        change_type=change_type,
        version=order.version + 1,
        created_by=actor.id,
        created_at=actor.now,
        updated_at=actor.now,
        **values,
    )
    order.changes.append(change)
    return change


def add_action(change: OrderChange, action: str, actor: Actor, **values: Any) -> ChangeAction:
    added = ChangeAction(
        id=actor.ids("ordchact"),
        action=action,
        ordering=change.next_ordering(),
        created_at=actor.now,
        updated_at=actor.now,
        **values,
    )
    change.actions.append(added)
    change.updated_at = actor.now
    return added


def preview_order(group: OrderGroup, order: Order, actor: Actor) -> Order:
    """The order as if its active change were confirmed (the order itself when none is)."""
    change = active_change(order)
    if change is None:
        return order
    copy = preview(order, change, ApplyContext(actor.ids, actor.now))
    group.refresh_order(copy)
    return copy


def confirm(group: OrderGroup, order: Order, change: OrderChange, actor: Actor) -> None:
    """Apply every action of ``change`` to the order, bump its version, refresh it."""
    ctx = ApplyContext(actor.ids, actor.now)
    apply_actions(order, change, ctx)
    group.stock_moves.extend(ctx.stock_moves)
    for action in change.actions:
        action.applied = True
        action.updated_at = actor.now
    change.status = "confirmed"
    change.confirmed_at = actor.now
    change.confirmed_by = actor.id
    change.updated_at = actor.now
    order.version = change.version
    group.refresh(actor.now, [order])
    sync_change_collection(group, order, change, actor)


def sync_change_collection(
    group: OrderGroup,
    order: Order,
    change: OrderChange,
    actor: Actor,
    *,
    due: int | None = None,
) -> None:
    """§3.5: the order's unpaid change collection carries exactly its ``amount_due`` (or
    ``due``: a requested edit's, read on its preview) — created when something is due,
    re-amounted, or canceled once nothing is. The checkout collection and the siblings' shares
    are never touched."""
    assert order.summary is not None
    if due is None:
        due = order.summary.amount_due
    unpaid = next((c for c in order.change_collections if c.is_unpaid), None)
    if due > 0 and unpaid is None:
        created = ChangeCollection(
            id=actor.ids("pay_col"),
            order_change_id=change.id,
            currency_code=order.currency_code,
            amount=due,
            created_at=actor.now,
            updated_at=actor.now,
        )
        order.change_collections.append(created)
        collection_event(group, ev.PAYMENT_COLLECTION_CREATED, order, created)
    elif due > 0 and unpaid is not None and unpaid.amount != due:
        unpaid.amount = due
        unpaid.reamounted = True
        unpaid.updated_at = actor.now
        collection_event(group, ev.PAYMENT_COLLECTION_UPDATED, order, unpaid)
    elif due == 0 and unpaid is not None:
        unpaid.status = "canceled"
        unpaid.updated_at = actor.now
        collection_event(group, ev.PAYMENT_COLLECTION_UPDATED, order, unpaid)
    else:
        return
    group.refresh(actor.now, [order])


def collection_event(
    group: OrderGroup, name: str, order: Order, collection: ChangeCollection
) -> None:
    group.events.append(
        DomainEvent(
            name,
            {"order_id": order.id, "payment_collection_id": collection.id},
            seller_id=order.seller_id,
        )
    )


def raise_event(group: OrderGroup, name: str, order: Order, **data: Any) -> None:
    group.events.append(
        DomainEvent(name, {"order_id": order.id, **data}, seller_id=order.seller_id)
    )
    group.events.append(DomainEvent(ev.ORDER_GROUP_UPDATED, {"id": group.id, "order_id": order.id}))


# --------------------------------------------------------------------------- begin, update


def begin_return(
    group: OrderGroup,
    order_id: str,
    actor: Actor,
    *,
    seller_id: str | None = None,
    location_id: str | None = None,
    description: str | None = None,
    internal_note: str | None = None,
    no_notification: bool | None = None,
    metadata: dict[str, Any] | None = None,
) -> Return:
    """An ``open`` return and its pending ``return_request`` change."""
    order = group.order(order_id, seller_id=seller_id)
    ensure_order_open(order)
    ensure_no_active_change(order)
    check_location(order, location_id)
    ret = Return(
        id=actor.ids("return"),
        order_id=order.id,
        seller_id=order.seller_id,
        location_id=order.location_id,
        order_version=order.version,
        no_notification=order.no_notification if no_notification is None else no_notification,
        created_by=actor.id,
        metadata=metadata,
        created_at=actor.now,
        updated_at=actor.now,
    )
    order.returns.append(ret)
    new_change(
        order,
        "return_request",
        actor,
        return_id=ret.id,
        description=description,
        internal_note=internal_note,
    )
    return ret


def check_location(order: Order, location_id: str | None) -> None:
    if location_id is not None and location_id != order.location_id:
        raise DomainError(
            f"Location {location_id} is not the stock location of seller {order.seller_id}"
        )


def update_return(
    group: OrderGroup,
    return_id: str,
    actor: Actor,
    *,
    location_id: str | None = None,
    no_notification: bool | None = None,
    metadata: dict[str, Any] | None = None,
) -> Return:
    order, ret = find_return(group, return_id)
    ensure_order_open(order)
    _change_of(order, ret, "return_request")
    check_location(order, location_id)
    if no_notification is not None:
        ret.no_notification = no_notification
    if metadata is not None:
        ret.metadata = metadata
    ret.updated_at = actor.now
    return ret


# --------------------------------------------------------------------------- request items


def request_items(
    group: OrderGroup, return_id: str, items: Sequence[RequestedItem], actor: Actor
) -> Return:
    order, ret = find_return(group, return_id)
    ensure_order_open(order)
    change = _change_of(order, ret, "return_request")
    add_return_items(order, change, ret, items, actor)
    preview_order(group, order, actor)
    return ret


def add_return_items(
    order: Order,
    change: OrderChange,
    ret: Return,
    items: Sequence[RequestedItem],
    actor: Actor,
    *,
    check: bool = True,
) -> None:
    """``RETURN_ITEM`` actions of ``items`` for ``ret`` in ``change`` (a return request, or an
    exchange's or claim's inbound part), after §6.2's checks (``check=False``: the caller
    checks the quantities itself)."""
    check_return_items(order, change, items, check=check)
    for item in items:
        add_action(
            change,
            "RETURN_ITEM",
            actor,
            reference="return",
            reference_id=ret.id,
            return_id=ret.id,
            exchange_id=change.exchange_id,
            claim_id=change.claim_id,
            internal_note=item.internal_note,
            details={
                "reference_id": item.line_id,
                "quantity": item.quantity,
                "reason_id": item.reason_id,
                "description": item.description,
                "metadata": item.metadata,
                "return_item_id": actor.ids("retitem"),
            },
        )


def check_return_items(
    order: Order, change: OrderChange, items: Sequence[RequestedItem], *, check: bool = True
) -> None:
    """§6.2's checks of ``items`` as a whole, before anything is recorded: lines of the
    order, quantities ≥ 1 and (``check``) within the fulfilled units not yet taken."""
    check_lines(order, [item.line_id for item in items])
    for item in items:
        check_quantity(item.line_id, item.quantity)
    if check:
        wanted: dict[str, int] = defaultdict(int)
        for item in items:
            wanted[item.line_id] += item.quantity
        for line_id, quantity in wanted.items():
            check_returnable(order, change, line_id, quantity)


def check_lines(order: Order, line_ids: Sequence[str]) -> None:
    """Every id is an order line of ``order`` (§5)."""
    missing = [line_id for line_id in line_ids if not _has_line(order, line_id)]
    if missing:
        raise DomainError(
            f"Items with ids {', '.join(missing)} does not exist in order with id {order.id}."
        )


def check_quantity(line_id: str, quantity: int) -> None:
    """Units to return or receive are at least 1 (Medusa's text, for return and receipt)."""
    if quantity < 1:
        raise DomainError(f"Quantity to return of item {line_id} is required.")


def _has_line(order: Order, line_id: str) -> bool:
    return any(line.id == line_id for line in order.lines)


def check_returnable(
    order: Order,
    change: OrderChange,
    line_id: str,
    quantity: int,
    *,
    excluding: str | None = None,
) -> None:
    """``q ≤ fulfilled − units already in returns`` (the change's other actions included)."""
    check_free_units(
        order,
        change,
        line_id,
        quantity,
        kind="RETURN_ITEM",
        message=f"Cannot request to return more items than what was fulfilled for item {line_id}.",
        excluding=excluding,
    )


def check_free_units(
    order: Order,
    change: OrderChange,
    line_id: str,
    quantity: int,
    *,
    kind: str,
    message: str,
    excluding: str | None = None,
) -> None:
    """``q`` more units of the line, with the change's other ``kind`` actions on it (but
    ``excluding``), fit in its fulfilled units not yet in a return or claim (§6.2, §8)."""
    line = order.line(line_id)
    pending = sum(
        int(a.details["quantity"])
        for a in change.actions
        if a.action == kind and a.details["reference_id"] == line_id and a.id != excluding
    )
    if quantity + pending > line.fulfilled_quantity - units_taken(order, line):
        raise DomainError(message)


def update_request_item(
    group: OrderGroup,
    return_id: str,
    action_id: str,
    actor: Actor,
    *,
    quantity: int | None = None,
    reason_id: str | None = None,
    internal_note: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Return:
    order, ret = find_return(group, return_id)
    ensure_order_open(order)
    change = _change_of(order, ret, "return_request")
    update_return_item(
        order,
        change,
        action_id,
        actor,
        quantity=quantity,
        reason_id=reason_id,
        internal_note=internal_note,
        metadata=metadata,
    )
    preview_order(group, order, actor)
    return ret


def update_return_item(
    order: Order,
    change: OrderChange,
    action_id: str,
    actor: Actor,
    *,
    quantity: int | None = None,
    reason_id: str | None = None,
    internal_note: str | None = None,
    metadata: dict[str, Any] | None = None,
    check: bool = True,
) -> ChangeAction:
    """Update one ``RETURN_ITEM`` action of ``change``."""
    action = change.action(action_id, "RETURN_ITEM")
    if quantity is not None:
        check_quantity(action.details["reference_id"], quantity)
        if check:
            check_returnable(
                order, change, action.details["reference_id"], quantity, excluding=action.id
            )
        action.details = {**action.details, "quantity": quantity}
    if reason_id is not None:
        action.details = {**action.details, "reason_id": reason_id}
    if metadata is not None:
        action.details = {**action.details, "metadata": metadata}
    if internal_note is not None:
        action.internal_note = internal_note
    action.updated_at = actor.now
    return action


def remove_action(
    group: OrderGroup, return_id: str, action_id: str, kinds: Sequence[str], actor: Actor
) -> Return:
    """Drop one action of the return's active change (request items, shipping, receipts)."""
    order, ret = find_return(group, return_id)
    ensure_order_open(order)
    change = active_change(order)
    if change is None or change.return_id != ret.id:
        raise DomainError(NO_ACTIVE_CHANGE)
    action = change.action(action_id, *kinds)
    if action.return_id != ret.id:  # an exchange's or claim's outbound part is not the return's
        raise DomainError(
            f"Order change action with id {action_id} was not found", type="not_found"
        )
    change.actions.remove(action)
    change.updated_at = actor.now
    preview_order(group, order, actor)
    return ret


# --------------------------------------------------------------------------- shipping


def add_return_shipping(
    group: OrderGroup,
    return_id: str,
    quote: ShippingQuote,
    actor: Actor,
    *,
    custom_amount: int | None = None,
    description: str | None = None,
    internal_note: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Return:
    """The return's shipping method (one per change: another replaces it)."""
    order, ret = find_return(group, return_id)
    ensure_order_open(order)
    change = _change_of(order, ret, "return_request")
    check_return_option(order, quote)
    add_shipping(
        change,
        quote,
        actor,
        return_id=ret.id,
        custom_amount=custom_amount,
        description=description,
        internal_note=internal_note,
        metadata=metadata,
    )
    preview_order(group, order, actor)
    return ret


def add_shipping(
    change: OrderChange,
    quote: ShippingQuote,
    actor: Actor,
    *,
    return_id: str | None,
    custom_amount: int | None = None,
    default_amount: int | None = None,
    description: str | None = None,
    internal_note: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> ChangeAction:
    """A ``SHIPPING_ADD`` of the (checked) option: inbound with ``return_id``, outbound
    without. One method per direction per change: it replaces the pending one (§5)."""
    change.actions = [
        a
        for a in change.actions
        if not (a.action == "SHIPPING_ADD" and (a.return_id is None) == (return_id is None))
    ]
    price = custom_amount if custom_amount is not None else default_amount
    if price is None:
        price = quote.amount
    return add_action(
        change,
        "SHIPPING_ADD",
        actor,
        reference="order_shipping_method",
        reference_id=None,
        return_id=return_id,
        exchange_id=change.exchange_id,
        claim_id=change.claim_id,
        internal_note=internal_note,
        details={
            **_shipping_details(price, quote.tax_rate, quote.tax_inclusive),
            "shipping_method_id": actor.ids("ordsm"),
            "shipping_option_id": quote.id,
            "name": quote.name,
            "custom_amount": custom_amount,
            "description": description,
            "metadata": metadata,
        },
    )


def _shipping_details(price: int, tax_rate: TaxRate, inclusive: bool) -> dict[str, Any]:
    totals = shipping_totals(price, tax_rate, inclusive)
    return {
        "price": price,
        "tax_rate": str(tax_rate),
        "is_tax_inclusive": inclusive,
        "subtotal": totals.subtotal,
        "tax_total": totals.tax_total,
        "total": totals.total,
    }


def check_return_option(order: Order, quote: ShippingQuote) -> None:
    check_option(order, quote, inbound=True)


def check_option(order: Order, quote: ShippingQuote, *, inbound: bool) -> None:
    """The option is the order's seller's, serves its region and goes the right way (§5)."""
    if quote.seller_id != order.seller_id:
        raise DomainError(
            f"Shipping option {quote.id} belongs to seller {quote.seller_id}, not to seller "
            f"{order.seller_id} of order {order.id}"
        )
    elsewhere = quote.region_id is not None and quote.region_id != order.region_id
    # An every-region option priced in another currency does not serve the order's region.
    foreign = quote.currency_code is not None and quote.currency_code != order.currency_code
    if elsewhere or foreign:
        raise DomainError(
            f"Shipping option {quote.id} is not available in region {order.region_id}"
        )
    if inbound and not quote.is_return:
        raise DomainError(f"Shipping option {quote.id} is not a return option")
    if not inbound and quote.is_return:
        raise DomainError(
            f"Shipping option {quote.id} is a return option and cannot ship items to the customer"
        )


def update_return_shipping(
    group: OrderGroup,
    return_id: str,
    action_id: str,
    actor: Actor,
    *,
    custom_amount: int | None = None,
    internal_note: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Return:
    order, ret = find_return(group, return_id)
    ensure_order_open(order)
    change = _change_of(order, ret, "return_request")
    update_shipping(
        change,
        change.action(action_id, "SHIPPING_ADD"),
        actor,
        custom_amount=custom_amount,
        internal_note=internal_note,
        metadata=metadata,
    )
    preview_order(group, order, actor)
    return ret


def update_shipping(
    change: OrderChange,
    action: ChangeAction,
    actor: Actor,
    *,
    custom_amount: int | None = None,
    internal_note: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    from decimal import Decimal

    if custom_amount is not None:
        d = action.details
        action.details = {
            **d,
            **_shipping_details(custom_amount, Decimal(d["tax_rate"]), d["is_tax_inclusive"]),
            "custom_amount": custom_amount,
        }
    if metadata is not None:
        action.details = {**action.details, "metadata": metadata}
    if internal_note is not None:
        action.internal_note = internal_note
    action.updated_at = actor.now
    change.updated_at = actor.now


# --------------------------------------------------------------------------- request, discard


def request_return(
    group: OrderGroup, return_id: str, actor: Actor, *, no_notification: bool | None = None
) -> Return:
    """Confirm the return request: units deducted, the return ``requested``."""
    order, ret = find_return(group, return_id)
    ensure_order_open(order)
    change = _change_of(order, ret, "return_request")
    if not any(a.action == "RETURN_ITEM" for a in change.actions):
        raise DomainError("Order return request should have at least 1 item")
    if no_notification is not None:
        ret.no_notification = no_notification
    change.requested_at = actor.now
    change.requested_by = actor.id
    confirm(group, order, change, actor)
    ret.status = "requested"
    ret.requested_at = actor.now
    ret.updated_at = actor.now
    ret.refund_amount = max(0, -sum(a.amount for a in change.actions))
    raise_event(group, ev.RETURN_REQUESTED, order, return_id=ret.id)
    return ret


def discard_return(group: OrderGroup, return_id: str, actor: Actor) -> Return:
    """``DELETE /admin/returns/:id/request``: the pending change is canceled (kept for the
    audit trail) and the open return deleted."""
    order, ret = find_return(group, return_id)
    change = _change_of(order, ret, "return_request")
    if ret.status != "open":
        raise DomainError(NO_ACTIVE_CHANGE)
    cancel_change(change, actor)
    ret.deleted = True
    return ret


def cancel_change(change: OrderChange, actor: Actor) -> None:
    change.status = "canceled"
    change.canceled_at = actor.now
    change.canceled_by = actor.id
    change.updated_at = actor.now


# --------------------------------------------------------------------------- receive


def begin_receive(
    group: OrderGroup,
    return_id: str,
    actor: Actor,
    *,
    description: str | None = None,
    internal_note: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Return:
    order, ret = find_return(group, return_id)
    ensure_order_open(order)
    if ret.status not in ("requested", "partially_received"):
        raise DomainError(
            f"Return {ret.id} is {ret.status} and cannot be received", type=NOT_ALLOWED
        )
    ensure_no_active_change(order)
    new_change(
        order,
        "return_receive",
        actor,
        return_id=ret.id,
        description=description,
        internal_note=internal_note,
        metadata=metadata,
    )
    return ret


def receive_items(
    group: OrderGroup,
    return_id: str,
    items: Sequence[tuple[str, int, str | None]],
    actor: Actor,
    *,
    damaged: bool,
) -> Return:
    """Good (``receive-items``) or damaged (``dismiss-items``) units of the return's items."""
    order, ret = find_return(group, return_id)
    ensure_order_open(order)
    change = _change_of(order, ret, "return_receive")
    missing = [line_id for line_id, _, _ in items if ret.item_for(line_id) is None]
    if missing:
        raise DomainError(
            f"Items with ids {', '.join(missing)} does not exist in Return with id {ret.id}."
        )
    for line_id, quantity, _ in items:
        check_quantity(line_id, quantity)
    wanted: dict[str, int] = defaultdict(int)
    for line_id, quantity, _ in items:
        wanted[line_id] += quantity
    for line_id, quantity in wanted.items():
        _check_receivable(ret, change, line_id, quantity)
    kind = "RECEIVE_DAMAGED_RETURN_ITEM" if damaged else "RECEIVE_RETURN_ITEM"
    for line_id, quantity, note in items:
        add_action(
            change,
            kind,
            actor,
            reference="return",
            reference_id=ret.id,
            return_id=ret.id,
            internal_note=note,
            details={"reference_id": line_id, "quantity": quantity},
        )
    preview_order(group, order, actor)
    return ret


def _check_receivable(
    ret: Return, change: OrderChange, line_id: str, quantity: int, *, excluding: str | None = None
) -> None:
    item = ret.item_for(line_id)
    assert item is not None
    pending = sum(
        int(a.details["quantity"])
        for a in change.actions
        if a.action in _RECEIVE_KINDS and a.details["reference_id"] == line_id and a.id != excluding
    )
    if quantity + pending > item.quantity - item.received_quantity:
        raise DomainError(
            f"Cannot receive more items than what was requested to be returned for item {line_id}."
        )


def update_receive_item(
    group: OrderGroup,
    return_id: str,
    action_id: str,
    actor: Actor,
    *,
    damaged: bool,
    quantity: int | None = None,
    internal_note: str | None = None,
) -> Return:
    order, ret = find_return(group, return_id)
    ensure_order_open(order)
    change = _change_of(order, ret, "return_receive")
    kind = "RECEIVE_DAMAGED_RETURN_ITEM" if damaged else "RECEIVE_RETURN_ITEM"
    action = change.action(action_id, kind)
    if quantity is not None:
        check_quantity(action.details["reference_id"], quantity)
        _check_receivable(
            ret, change, action.details["reference_id"], quantity, excluding=action.id
        )
        action.details = {**action.details, "quantity": quantity}
    if internal_note is not None:
        action.internal_note = internal_note
    action.updated_at = actor.now
    preview_order(group, order, actor)
    return ret


def confirm_receive(group: OrderGroup, return_id: str, actor: Actor) -> Return:
    """Received units restocked (damaged ones not), their value released to ``refund_due``."""
    order, ret = find_return(group, return_id)
    ensure_order_open(order)
    change = _change_of(order, ret, "return_receive")
    confirm(group, order, change, actor)
    if any(item.received_quantity > 0 for item in ret.items):
        # A receipt confirmed with no units leaves the return ``requested``.
        done = all(item.received_quantity == item.quantity for item in ret.items)
        ret.status = "received" if done else "partially_received"
        ret.received_at = actor.now
    ret.updated_at = actor.now
    raise_event(group, ev.RETURN_RECEIVED, order, return_id=ret.id)
    return ret


def discard_receive(group: OrderGroup, return_id: str, actor: Actor) -> Return:
    """``DELETE /admin/returns/:id/receive``: the receive change is canceled, the return stays."""
    order, ret = find_return(group, return_id)
    change = _change_of(order, ret, "return_receive")
    cancel_change(change, actor)
    return ret


# --------------------------------------------------------------------------- cancel


def cancel_return(
    group: OrderGroup, return_id: str, actor: Actor, *, no_notification: bool | None = None
) -> Return:
    """Give the requested units' value back and drop the return's shipping method."""
    order, ret = find_return(group, return_id)
    ensure_order_open(order)
    if ret.status == "canceled":
        raise DomainError(f"Return with id {ret.id} has been canceled.")
    if ret.status == "open":
        raise DomainError(
            f"Return {ret.id} has not been requested; use DELETE /admin/returns/{ret.id}/request",
            type=NOT_ALLOWED,
        )
    if any(item.received_quantity > 0 for item in ret.items):
        raise DomainError("Can't cancel a return which has returned items", type=NOT_ALLOWED)
    ensure_no_active_change(order)
    change = new_change(order, "return_request", actor, return_id=ret.id)
    for item in ret.items:
        add_action(
            change,
            "CANCEL_RETURN_ITEM",
            actor,
            reference="return",
            reference_id=ret.id,
            return_id=ret.id,
            details={"reference_id": item.item_id, "quantity": item.quantity},
        )
    for method in order.shipping_methods:
        if method.return_id == ret.id:
            add_action(
                change,
                "SHIPPING_REMOVE",
                actor,
                reference="order_shipping_method",
                reference_id=method.id,
                return_id=ret.id,
                details={"shipping_method_id": method.id},
            )
    if no_notification is not None:
        ret.no_notification = no_notification
    # Canceled before the confirmation refreshes the summary: its items leave
    # ``return_requested_total`` in the same step as their value comes back.
    ret.status = "canceled"
    ret.canceled_at = actor.now
    ret.updated_at = actor.now
    confirm(group, order, change, actor)
    raise_event(group, ev.RETURN_CANCELED, order, return_id=ret.id)
    return ret


# --------------------------------------------------------------------------- credit lines


def add_credit_line(
    group: OrderGroup,
    order_id: str,
    amount: int,
    actor: Actor,
    *,
    reference: str | None,
    reference_id: str | None,
    metadata: dict[str, Any] | None = None,
) -> CreditLine:
    """``POST /admin/orders/:id/credit-lines``: settle a difference without moving money."""
    order = group.order(order_id)
    ensure_order_open(order)
    ensure_no_active_change(order)
    summary = order.summary
    assert summary is not None
    pending = summary.pending_difference
    if pending == 0:
        raise DomainError(
            "Can only create credit lines if the order has a positive or negative pending "
            "difference"
        )
    if amount > 0 and pending < 0:
        raise DomainError(
            "Can only create negative credit lines if the order has a negative pending difference"
        )
    if amount < 0 and pending > 0:
        raise DomainError(
            "Can only create positive credit lines if the order has a positive pending difference"
        )
    if amount > 0 and amount > pending:
        raise DomainError(
            "Cannot create more positive credit lines with amount more than the pending difference"
        )
    if amount < 0 and -amount > summary.refund_due:
        raise DomainError(
            "Cannot create more negative credit lines with amount more than the refund due"
        )
    change = new_change(order, "credit_line", actor)
    credit_line_id = actor.ids("ordcl")
    add_action(
        change,
        "CREDIT_LINE_ADD",
        actor,
        reference=reference,
        reference_id=reference_id,
        details={
            "credit_line_id": credit_line_id,
            "amount": amount,
            "reference": reference,
            "reference_id": reference_id,
            "metadata": metadata,
        },
    )
    confirm(group, order, change, actor)
    raise_event(group, ev.CREDIT_LINE_CREATED, order, credit_line_id=credit_line_id)
    return order.credit_lines[-1]

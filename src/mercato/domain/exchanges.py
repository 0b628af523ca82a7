"""Exchanges on one seller's order, as order changes (order-changes.md §5, §7).

An exchange takes units back (its return, created on the first inbound item or method) and sends
others out (new order lines of the same seller's variants, reserved at the seller's stock
location). Everything is recorded on the order's ``exchange`` change and applied at ``request``
with the engine's actions (``RETURN_ITEM``, ``ITEM_ADD``, ``SHIPPING_ADD``); a cancel is another
change whose actions reverse them (``CANCEL_RETURN_ITEM``, ``ITEM_REMOVE``, ``SHIPPING_REMOVE``).
The inbound, outbound and shipping rules, the discard and the cancel here serve claims too
(``kind="claim"``; what only claims have is :mod:`mercato.domain.claims`).
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
    Claim,
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

# What owns a change's inbound and outbound parts: ``"exchange"`` or ``"claim"`` (its
# ``change_type``), and the noun its messages use.
Owner = Exchange | Claim
_NOUNS = {"exchange": "Exchange", "claim": "Claim"}


def find_owner(group: OrderGroup, kind: str, owner_id: str) -> tuple[Order, Owner]:
    """The exchange or claim ``owner_id`` (``kind``) and its order; unknown is a 404."""
    for order in group.orders:
        owners: list[Exchange] | list[Claim] = (
            order.exchanges if kind == "exchange" else order.claims
        )
        for owner in owners:
            if owner.id == owner_id and not owner.deleted:
                return order, owner
    raise DomainError(f"{_NOUNS[kind]} with id {owner_id} was not found", type="not_found")


def find_exchange(group: OrderGroup, exchange_id: str) -> tuple[Order, Exchange]:
    order, exchange = find_owner(group, "exchange", exchange_id)
    assert isinstance(exchange, Exchange)
    return order, exchange


def _owned_by(change: OrderChange, kind: str, owner: Owner) -> bool:
    owner_id = change.claim_id if kind == "claim" else change.exchange_id
    return change.change_type == kind and owner_id == owner.id


def change_of(order: Order, kind: str, owner: Owner) -> OrderChange:
    """The owner's active change (it is being built); none → 400 (§5)."""
    change = active_change(order)
    if change is None or not _owned_by(change, kind, owner):
        raise DomainError(NO_ACTIVE_CHANGE)
    return change


def open_owner(group: OrderGroup, kind: str, owner_id: str) -> tuple[Order, Owner, OrderChange]:
    order, owner = find_owner(group, kind, owner_id)
    ret_flows.ensure_order_open(order)
    return order, owner, change_of(order, kind, owner)


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
    check_stock(order, change, quote, quantity, excluding=excluding)


def check_stock(
    order: Order,
    change: OrderChange,
    quote: VariantQuote,
    quantity: int,
    *,
    excluding: str | None = None,
) -> None:
    """``quantity`` more units of the variant, with the units the change's other actions
    (but ``excluding``) would reserve — new lines, and an edit's added units — are free at the
    seller's location (400 ``insufficient_inventory``)."""
    if quantity + reserved_by(change, quote.id, excluding=excluding) > quote.available:
        location = order.location_id or "-"
        raise DomainError(insufficient(quote.id, location), code=INSUFFICIENT_INVENTORY)


def reserved_by(change: OrderChange, variant_id: str, *, excluding: str | None = None) -> int:
    """The units of ``variant_id`` the change's actions (but ``excluding``) would reserve at
    confirmation (backordered ones too: they are reserved all the same)."""
    units = 0
    for a in change.actions:
        d = a.details
        if a.id == excluding or d.get("variant_id") != variant_id:
            continue
        if a.action == "ITEM_ADD":
            units += int(d["quantity"])
        elif a.action == "ITEM_UPDATE" and d.get("manage_inventory"):
            units += max(int(d["quantity_diff"]), 0)
    return units


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
                # the exchange's or claim's ``additional_items`` entry (an edit has none)
                "outbound_item_id": _outbound_item_id(change, actor),
                "snapshot": {**quote.snapshot, "currency_code": order.currency_code},
                "metadata": item.metadata,
            },
        )
        add.updated_at = actor.now


def _outbound_item_id(change: OrderChange, actor: Actor) -> str | None:
    if change.claim_id is not None:
        return actor.ids("claitem")
    if change.exchange_id is not None:
        return actor.ids("oexcitem")
    return None


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
    units, its methods (inbound and outbound), its outbound lines and their reservations, a
    claim's write-offs."""
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
    for claim in order.claims:
        if claim.id != owner:
            continue
        for claimed in claim.items:
            if claimed.is_additional_item:
                continue
            # A negative write-off gives back exactly what the claimed units deducted.
            ret_flows.add_action(
                change,
                "WRITE_OFF_ITEM",
                actor,
                reference="claim",
                reference_id=claim.id,
                claim_id=claim.id,
                details={
                    "reference_id": claimed.item_id,
                    "quantity": -claimed.quantity,
                    "claim_item_id": claimed.id,
                    "refund": claim.type == "refund",
                },
            )
    if ret is not None and not ret.is_canceled:
        # Canceled before the confirmation refreshes the summary (as a return cancel).
        ret.status = "canceled"
        ret.canceled_at = actor.now
        ret.updated_at = actor.now


# --------------------------------------------------------------------------- routes
#
# The inbound, outbound, shipping, discard and cancel rules serve exchanges and claims alike
# (``kind``); a claim's differences are kept here: its inbound units are checked against the
# claimed ones at request (not against the fulfilled ones now), its outbound lines and methods
# cost 0 unless priced, and a refund claim ships nothing out (§8).


def begin(
    group: OrderGroup,
    kind: str,
    order_id: str,
    actor: Actor,
    *,
    seller_id: str | None = None,
    description: str | None = None,
    internal_note: str | None = None,
    metadata: dict[str, Any] | None = None,
    **values: Any,
) -> Owner:
    """A new exchange or claim (``values``: a claim's ``type``, ``reason_id``) and its pending
    change on the order (§5: open, no other active change)."""
    order = group.order(order_id, seller_id=seller_id)
    ret_flows.ensure_order_open(order)
    ret_flows.ensure_no_active_change(order)
    common: dict[str, Any] = {
        "order_id": order.id,
        "seller_id": order.seller_id,
        "order_version": order.version,
        "no_notification": order.no_notification,
        "created_by": actor.id,
        "metadata": metadata,
        "created_at": actor.now,
        "updated_at": actor.now,
    }
    owner: Owner
    if kind == "claim":
        owner = Claim(id=actor.ids("claim"), **common, **values)
        order.claims.append(owner)
    else:
        owner = Exchange(id=actor.ids("oexc"), **common, **values)
        order.exchanges.append(owner)
    ret_flows.new_change(
        order,
        kind,
        actor,
        description=description,
        internal_note=internal_note,
        **{f"{kind}_id": owner.id},
    )
    return owner


def begin_exchange(group: OrderGroup, order_id: str, actor: Actor, **values: Any) -> Exchange:
    exchange = begin(group, "exchange", order_id, actor, **values)
    assert isinstance(exchange, Exchange)
    return exchange


def previewed(group: OrderGroup, order: Order, actor: Actor) -> None:
    ret_flows.preview_order(group, order, actor)


def _free(owner: Owner) -> int | None:
    """A claim's outbound lines and methods cost 0 unless priced (§8); an exchange's, their
    price."""
    return 0 if isinstance(owner, Claim) else None


def inbound_items(
    group: OrderGroup, kind: str, owner_id: str, items: Sequence[RequestedItem], actor: Actor
) -> Return:
    order, owner, change = open_owner(group, kind, owner_id)
    # A claim's inbound units are claimed units: checked against the claim at request.
    ret = add_inbound_items(order, change, items, actor, check=not isinstance(owner, Claim))
    previewed(group, order, actor)
    return ret


def update_inbound_item(
    group: OrderGroup, kind: str, owner_id: str, action_id: str, actor: Actor, **values: Any
) -> Return:
    order, owner, change = open_owner(group, kind, owner_id)
    ret_flows.update_return_item(
        order, change, action_id, actor, check=not isinstance(owner, Claim), **values
    )
    previewed(group, order, actor)
    return inbound_return(order, change, actor)


def remove_action(
    group: OrderGroup, kind: str, owner_id: str, action_id: str, actor: Actor, *, part: str
) -> Owner | Return:
    """Drop an action: ``inbound_item``, ``inbound_shipping``, ``outbound_item``,
    ``outbound_shipping`` or (claims) ``claim_item``. Inbound removals answer the return, the
    others the exchange or claim."""
    order, owner, change = open_owner(group, kind, owner_id)
    remove(change, _part_action(change, action_id, part), actor)
    previewed(group, order, actor)
    if part.startswith("inbound"):
        return inbound_return(order, change, actor)
    return owner


def _part_action(change: OrderChange, action_id: str, part: str) -> ChangeAction:
    if part == "inbound_item":
        return change.action(action_id, "RETURN_ITEM")
    if part == "outbound_item":
        return change.action(action_id, "ITEM_ADD")
    if part == "claim_item":
        return change.action(action_id, "WRITE_OFF_ITEM")
    return shipping_action(change, action_id, inbound=part == "inbound_shipping")


def inbound_shipping(
    group: OrderGroup, kind: str, owner_id: str, quote: ShippingQuote, actor: Actor, **values: Any
) -> Return:
    order, owner, change = open_owner(group, kind, owner_id)
    ret = add_inbound_shipping(order, change, quote, actor, default_amount=_free(owner), **values)
    previewed(group, order, actor)
    return ret


def outbound_shipping(
    group: OrderGroup, kind: str, owner_id: str, quote: ShippingQuote, actor: Actor, **values: Any
) -> Owner:
    order, owner, change = open_owner(group, kind, owner_id)
    add_outbound_shipping(order, change, quote, actor, default_amount=_free(owner), **values)
    previewed(group, order, actor)
    return owner


def update_shipping(
    group: OrderGroup,
    kind: str,
    owner_id: str,
    action_id: str,
    actor: Actor,
    *,
    inbound: bool,
    **values: Any,
) -> Owner | Return:
    order, owner, change = open_owner(group, kind, owner_id)
    ret_flows.update_shipping(
        change, shipping_action(change, action_id, inbound=inbound), actor, **values
    )
    previewed(group, order, actor)
    return inbound_return(order, change, actor) if inbound else owner


def outbound_items(
    group: OrderGroup,
    kind: str,
    owner_id: str,
    items: Sequence[OutboundItem],
    quotes: dict[str, VariantQuote],
    tax: Tax,
    actor: Actor,
) -> Owner:
    order, owner, change = open_owner(group, kind, owner_id)
    if isinstance(owner, Claim) and owner.type == "refund":
        raise DomainError("Outbound items are not allowed on a refund claim")
    add_outbound_items(order, change, items, quotes, tax, actor, default_price=_free(owner))
    if isinstance(owner, Exchange):
        owner.allow_backorder = owner.allow_backorder or any(i.allow_backorder for i in items)
    previewed(group, order, actor)
    return owner


def update_outbound(
    group: OrderGroup,
    kind: str,
    owner_id: str,
    action_id: str,
    quotes: dict[str, VariantQuote],
    actor: Actor,
    **values: Any,
) -> Owner:
    order, owner, change = open_owner(group, kind, owner_id)
    update_outbound_item(order, change, action_id, quotes, actor, **values)
    previewed(group, order, actor)
    return owner


def request_exchange(
    group: OrderGroup, exchange_id: str, actor: Actor, *, no_notification: bool | None = None
) -> Exchange:
    """Confirm the exchange: inbound units deducted, outbound lines added and reserved."""
    order, exchange = find_exchange(group, exchange_id)
    ret_flows.ensure_order_open(order)
    change = change_of(order, "exchange", exchange)
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


def discard(group: OrderGroup, kind: str, owner_id: str, actor: Actor) -> Owner:
    """``DELETE /admin/<exchanges|claims>/:id/request``: the pending change canceled (kept),
    the exchange or claim and its return deleted."""
    order, owner = find_owner(group, kind, owner_id)
    change = change_of(order, kind, owner)
    ret_flows.cancel_change(change, actor)
    owner.deleted = True
    for ret in order.returns:
        if ret.id == owner.return_id:
            ret.deleted = True
    return owner


def cancel(
    group: OrderGroup,
    kind: str,
    owner_id: str,
    actor: Actor,
    *,
    noun: str,
    event: str,
    no_notification: bool | None = None,
) -> Owner:
    """Cancel a requested exchange or claim (§7, §8): another change whose actions take back
    everything it applied; refused while an outbound fulfilment stands or once units came
    back."""
    order, owner = find_owner(group, kind, owner_id)
    ret_flows.ensure_order_open(order)
    if owner.canceled_at is not None:
        raise DomainError(f"{_NOUNS[kind]} with id {owner.id} has been canceled.")
    pending = active_change(order)
    if pending is not None and _owned_by(pending, kind, owner):
        raise DomainError(
            f"{_NOUNS[kind]} {owner.id} has not been requested; use DELETE "
            f"/admin/{kind}s/{owner.id}/request",
            type=NOT_ALLOWED,
        )
    ret = next((r for r in order.returns if r.id == owner.return_id), None)
    check_cancelable(order, owner.id, ret, noun)
    ret_flows.ensure_no_active_change(order)
    change = ret_flows.new_change(
        order, kind, actor, return_id=owner.return_id, **{f"{kind}_id": owner.id}
    )
    reversal_actions(order, change, owner.id, ret, actor)
    if no_notification is not None:
        owner.no_notification = no_notification
    owner.canceled_at = actor.now
    owner.updated_at = actor.now
    ret_flows.confirm(group, order, change, actor)
    ret_flows.raise_event(group, event, order, **{f"{kind}_id": owner.id})
    return owner


def cancel_exchange(
    group: OrderGroup, exchange_id: str, actor: Actor, *, no_notification: bool | None = None
) -> Owner:
    return cancel(
        group,
        "exchange",
        exchange_id,
        actor,
        noun="am exchange",  # Medusa's text, verbatim (§15)
        event=ev.EXCHANGE_CANCELED,
        no_notification=no_notification,
    )

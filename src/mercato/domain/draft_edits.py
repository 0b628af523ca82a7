"""Edits of a draft order (order-changes.md §12), as order changes.

An operator begins an ``edit`` change on a draft (``draft_order_id``, no order), adds lines of
any seller's variants or custom lines (``ITEM_ADD``), changes or zeroes the draft's lines
(``ITEM_UPDATE``), chooses a seller's shipping method (``SHIPPING_ADD``: one per seller, a
second replaces the first, as at draft creation) or drops one (``SHIPPING_REMOVE``), optionally
*requests* the edit, and confirms it (or cancels it). A draft reserves no stock and has no
payment, so an edit moves neither: confirming only rewrites the draft's items and methods.

The actions apply, in ``ordering``, to a :class:`Draft` value (its lines with their sellers, one
method per seller): to a copy for the preview (:func:`preview`), to the draft for real at
confirmation (:func:`confirm`). Each action's ``amount`` is its effect on the draft's total
(minor units). Totals are checkout's: tax per line at the region's rate, then sums, so each
seller's totals are exactly what its order gets at conversion.

Pure: no I/O; ids and time come in through the :class:`~mercato.domain.returns.Actor`. What needs
the database (is the variant sellable, is the option the region's, is there stock) is checked by
the caller before a rule runs (:class:`NewItem`, :class:`NewMethod`) and again at confirmation.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from mercato.domain.errors import DomainError
from mercato.domain.order_changes import NO_ACTIVE_CHANGE, ChangeAction, OrderChange
from mercato.domain.returns import Actor
from mercato.domain.totals import (
    DocumentTotals,
    LineTotals,
    TaxRate,
    document_totals,
    line_totals,
    shipping_totals,
)

ITEM_KINDS: Final = ("ITEM_ADD", "ITEM_UPDATE")
SHIPPING_KINDS: Final = ("SHIPPING_ADD", "SHIPPING_REMOVE")
ITEM_REFERENCE: Final = "draft_order_item"
METHOD_REFERENCE: Final = "draft_order_shipping_method"


# --------------------------------------------------------------------------- the draft


@dataclass(slots=True)
class DraftItem:
    """A line of the draft. ``snapshot`` holds what is only shown (``product_id``, ``title``,
    ``subtitle``, ``thumbnail``, ``product_title``, ``product_handle``, ``variant_title``,
    ``variant_sku``, ``requires_shipping``, ``metadata``: JSON values, kept in the
    ``ITEM_ADD``'s details). ``added_by``: the ``ITEM_ADD`` that adds it (None: a stored
    line)."""

    id: str
    seller_id: str
    variant_id: str | None
    quantity: int
    unit_price: int
    is_tax_inclusive: bool
    snapshot: dict[str, Any] = field(default_factory=dict)
    added_by: str | None = None
    # A line the edit adds, priced by the operator (``unit_price`` given) or by its variant.
    custom_price: bool = False
    totals: LineTotals = LineTotals(0, 0, 0)
    created_at: datetime | None = None  # a stored line's
    updated_at: datetime | None = None


@dataclass(slots=True)
class DraftMethod:
    """A seller's shipping method. ``added_by``: the ``SHIPPING_ADD`` that adds it."""

    id: str
    seller_id: str
    shipping_option_id: str
    name: str
    amount: int
    is_tax_inclusive: bool
    data: dict[str, Any] | None = None
    added_by: str | None = None
    totals: LineTotals = LineTotals(0, 0, 0)
    created_at: datetime | None = None  # a stored method's
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SellerTotals:
    """What one seller's order gets at conversion (minor units)."""

    seller_id: str
    item_total: int
    shipping_total: int
    tax_total: int
    total: int


@dataclass(slots=True)
class Draft:
    """A draft order's lines and methods at the region's ``tax_rate`` (``tax_inclusive``: the
    region's, for new lines). :func:`price` sets every ``totals``."""

    id: str
    currency_code: str
    tax_rate: TaxRate
    tax_inclusive: bool
    items: list[DraftItem] = field(default_factory=list)
    methods: list[DraftMethod] = field(default_factory=list)
    totals: DocumentTotals = DocumentTotals()

    def item(self, item_id: str) -> DraftItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    def method(self, method_id: str) -> DraftMethod | None:
        return next((m for m in self.methods if m.id == method_id), None)

    def method_of(self, seller_id: str) -> DraftMethod | None:
        return next((m for m in self.methods if m.seller_id == seller_id), None)

    @property
    def sellers_with_items(self) -> set[str]:
        return {i.seller_id for i in self.items}

    @property
    def amount(self) -> int:
        """The amount before tax (what the bound of a cart applies to)."""
        return sum(i.unit_price * i.quantity for i in self.items) + sum(
            m.amount for m in self.methods
        )

    def units(self) -> dict[str, int]:
        """Units of each variant across the draft's lines."""
        found: dict[str, int] = defaultdict(int)
        for item in self.items:
            if item.variant_id is not None:
                found[item.variant_id] += item.quantity
        return dict(found)

    def sellers(self) -> list[SellerTotals]:
        """Per seller with lines or a method (ascending seller id, as the split orders them):
        the sums of its lines' and method's totals."""
        parts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for item in self.items:
            part = parts[item.seller_id]
            part[0] += item.totals.total
            part[2] += item.totals.tax_total
        for method in self.methods:
            part = parts[method.seller_id]
            part[1] += method.totals.total
            part[2] += method.totals.tax_total
        return [
            SellerTotals(seller_id, items, shipping, tax, items + shipping)
            for seller_id, (items, shipping, tax) in sorted(parts.items())
        ]


def price(draft: Draft) -> None:
    """Every line's and method's totals, and the draft's (per line, then sums: checkout's)."""
    for item in draft.items:
        item.totals = line_totals(
            item.unit_price, item.quantity, draft.tax_rate, item.is_tax_inclusive
        )
    for method in draft.methods:
        method.totals = shipping_totals(method.amount, draft.tax_rate, method.is_tax_inclusive)
    draft.totals = document_totals(
        (i.totals for i in draft.items), (m.totals for m in draft.methods)
    )


def increased_units(before: Draft, after: Draft) -> dict[str, int]:
    """The variants ``after`` holds more units of than ``before``, with their units in
    ``after`` (what a stock check asks for: a draft's stock is not reserved, but it must be
    there when units are added)."""
    old = before.units()
    return {v: n for v, n in after.units().items() if n > old.get(v, 0)}


# --------------------------------------------------------------------------- the change


def _add(edit: OrderChange, name: str, actor: Actor, **values: Any) -> ChangeAction:
    """A new action at the end of the edit."""
    added = ChangeAction(
        id=actor.ids("ordchact"),
        action=name,
        ordering=edit.next_ordering(),
        created_at=actor.now,
        updated_at=actor.now,
        **values,
    )
    edit.actions.append(added)
    _touch(edit, actor)
    return added


def _touch(edit: OrderChange, actor: Actor) -> None:
    edit.updated_at = actor.now


def active(edit: OrderChange | None) -> OrderChange:
    """The draft's active edit; none → 400 (§5)."""
    if edit is None or not edit.is_active:
        raise DomainError(NO_ACTIVE_CHANGE)
    return edit


def active_edit_error(draft_id: str, change_id: str) -> DomainError:
    """§15: a draft has one active edit."""
    return DomainError(f"Draft order {draft_id} has an active edit {change_id}")


def begin(
    draft_id: str,
    version: int,
    actor: Actor,
    *,
    description: str | None = None,
    internal_note: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> OrderChange:
    """A pending ``edit`` of the draft (the caller checked that none is active)."""
    return OrderChange(
        id=actor.ids("ordch"),
        order_id=None,
        change_type="edit",
        draft_order_id=draft_id,
        version=version,
        description=description,
        internal_note=internal_note,
        created_by=actor.id,
        metadata=metadata,
        created_at=actor.now,
        updated_at=actor.now,
    )


# --------------------------------------------------------------------------- items


@dataclass(frozen=True, slots=True)
class NewItem:
    """A line to add, checked by the caller: a sellable variant's (``variant_id``; its price
    unless ``custom_unit_price``) or a custom one (an active seller's, its title and price)."""

    seller_id: str
    variant_id: str | None
    quantity: int
    unit_price: int
    custom_unit_price: int | None
    snapshot: dict[str, Any]
    internal_note: str | None = None


@dataclass(frozen=True, slots=True)
class LineEdit:
    """A line's new quantity (0 removes it) and, optionally, unit price."""

    quantity: int | None = None
    unit_price: int | None = None
    internal_note: str | None = None


def add_items(draft: Draft, edit: OrderChange, items: Sequence[NewItem], actor: Actor) -> None:
    """One ``ITEM_ADD`` per item, each a new line of the draft (any seller's)."""
    for item in items:
        item_id = actor.ids("dordli")
        _add(
            edit,
            "ITEM_ADD",
            actor,
            reference=ITEM_REFERENCE,
            reference_id=item_id,
            internal_note=item.internal_note,
            details={
                "reference_id": item_id,
                "seller_id": item.seller_id,
                "variant_id": item.variant_id,
                "quantity": item.quantity,
                "unit_price": item.unit_price,
                "custom_unit_price": item.custom_unit_price,
                "is_tax_inclusive": draft.tax_inclusive,
                "snapshot": item.snapshot,
            },
        )


def _stored_item(draft: Draft, item_id: str) -> DraftItem:
    item = draft.item(item_id)
    if item is None:
        raise DomainError(
            f"Items with ids {item_id} does not exist in draft order with id {draft.id}."
        )
    return item


def update_item(
    draft: Draft, edit: OrderChange, item_id: str, change: LineEdit, actor: Actor
) -> None:
    """``ITEM_UPDATE`` of a line of the draft (``POST …/edit/items/item/:item_id``): one per
    line in the change (a second call updates it; a unit price given before is kept)."""
    previous = next(
        (
            a
            for a in edit.actions
            if a.action == "ITEM_UPDATE" and a.details["reference_id"] == item_id
        ),
        None,
    )
    _set_line(draft, edit, item_id, change, actor, previous=previous)


def _set_line(
    draft: Draft,
    edit: OrderChange,
    item_id: str,
    change: LineEdit,
    actor: Actor,
    *,
    previous: ChangeAction | None,
) -> None:
    item = _stored_item(draft, item_id)
    old = previous.details if previous is not None else {}
    quantity = change.quantity if change.quantity is not None else old.get("quantity")
    if quantity is None:
        raise DomainError(f"Quantity of item {item_id} is required.")
    unit_price = change.unit_price if change.unit_price is not None else old.get("unit_price")
    details = {
        "reference_id": item_id,
        "seller_id": item.seller_id,
        "variant_id": item.variant_id,
        "quantity": quantity,
        "quantity_diff": quantity - item.quantity,
        "unit_price": unit_price,
    }
    if previous is None:
        _add(
            edit,
            "ITEM_UPDATE",
            actor,
            reference=ITEM_REFERENCE,
            reference_id=item_id,
            internal_note=change.internal_note,
            details=details,
        )
        return
    previous.details = details
    if change.internal_note is not None:
        previous.internal_note = change.internal_note
    previous.updated_at = actor.now
    _touch(edit, actor)


def update_action(
    draft: Draft, edit: OrderChange, action_id: str, change: LineEdit, actor: Actor
) -> ChangeAction:
    """``POST …/edit/items/:action_id``: a new line's quantity or price (``ITEM_ADD``), or a
    line update's (``ITEM_UPDATE``)."""
    action = edit.action(action_id, *ITEM_KINDS)
    if action.action == "ITEM_UPDATE":
        _set_line(draft, edit, action.details["reference_id"], change, actor, previous=action)
        return action
    if change.quantity == 0:
        raise DomainError(
            f"Quantity of a new item must be at least 1; remove it with DELETE …/items/{action_id}"
        )
    details = dict(action.details)
    if change.quantity is not None:
        details["quantity"] = change.quantity
    if change.unit_price is not None:
        details["unit_price"] = details["custom_unit_price"] = change.unit_price
    action.details = details
    if change.internal_note is not None:
        action.internal_note = change.internal_note
    action.updated_at = actor.now
    _touch(edit, actor)
    return action


def remove_action(edit: OrderChange, action_id: str, kinds: Sequence[str], actor: Actor) -> None:
    """``DELETE …/edit/items/:action_id`` or ``…/edit/shipping-methods/:action_id``."""
    edit.actions.remove(edit.action(action_id, *kinds))
    _touch(edit, actor)


# --------------------------------------------------------------------------- shipping


@dataclass(frozen=True, slots=True)
class NewMethod:
    """A method of a shipping option the caller checked (it exists, ships to the customer, in
    the draft's region): its seller, name and amount (``custom_amount`` or the option's)."""

    shipping_option_id: str
    seller_id: str
    name: str
    amount: int
    custom_amount: int | None = None
    description: str | None = None
    internal_note: str | None = None
    metadata: dict[str, Any] | None = None


def add_shipping(
    draft: Draft, edit: OrderChange, method: NewMethod, actor: Actor, *, replaces: str | None = None
) -> ChangeAction:
    """A ``SHIPPING_ADD``: the option's seller must have lines in the draft as edited; the
    method replaces that seller's (one per seller) and an earlier ``SHIPPING_ADD`` of that
    seller in the change. ``replaces`` (``POST …/shipping-methods/method/:method_id``) names the
    draft's method the option replaces: it must be of the option's seller."""
    if replaces is not None:
        stored = draft.method(replaces)
        if stored is None:
            raise DomainError(f"Shipping method with id {replaces} was not found", type="not_found")
        if stored.seller_id != method.seller_id:
            raise DomainError(
                f"Shipping option {method.shipping_option_id} belongs to seller "
                f"{method.seller_id}, not to seller {stored.seller_id} of shipping method "
                f"{stored.id}"
            )
    edit.actions = [
        a
        for a in edit.actions
        if not (a.action == "SHIPPING_ADD" and a.details["seller_id"] == method.seller_id)
    ]
    if method.seller_id not in preview(draft, edit).sellers_with_items:
        raise DomainError(
            f"Shipping option {method.shipping_option_id} belongs to seller {method.seller_id}, "
            "who has no items in the draft order"
        )
    method_id = actor.ids("dordsm")
    return _add(
        edit,
        "SHIPPING_ADD",
        actor,
        reference=METHOD_REFERENCE,
        reference_id=method_id,
        internal_note=method.internal_note,
        details={
            "shipping_method_id": method_id,
            "shipping_option_id": method.shipping_option_id,
            "seller_id": method.seller_id,
            "name": method.name,
            "amount": method.amount,
            "custom_amount": method.custom_amount,
            "is_tax_inclusive": draft.tax_inclusive,
            "replaces": replaces,
            "description": method.description,
            "metadata": method.metadata,
        },
    )


def remove_method(draft: Draft, edit: OrderChange, method_id: str, actor: Actor) -> ChangeAction:
    """A ``SHIPPING_REMOVE`` of one of the draft's methods still in the edited draft (a method
    the change adds is dropped with ``DELETE …/shipping-methods/:action_id``)."""
    stored = draft.method(method_id)
    if stored is None or preview(draft, edit).method(method_id) is None:
        raise DomainError(f"Shipping method with id {method_id} was not found", type="not_found")
    return _add(
        edit,
        "SHIPPING_REMOVE",
        actor,
        reference=METHOD_REFERENCE,
        reference_id=method_id,
        details={
            "reference_id": method_id,
            "shipping_option_id": stored.shipping_option_id,
            "seller_id": stored.seller_id,
        },
    )


def update_shipping(
    edit: OrderChange,
    action_id: str,
    actor: Actor,
    *,
    custom_amount: int | None = None,
    internal_note: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> ChangeAction:
    """``POST …/edit/shipping-methods/:action_id``: an added method's amount, note, metadata."""
    action = edit.action(action_id, "SHIPPING_ADD")
    details = dict(action.details)
    if custom_amount is not None:
        details["amount"] = details["custom_amount"] = custom_amount
    if metadata is not None:
        details["metadata"] = metadata
    action.details = details
    if internal_note is not None:
        action.internal_note = internal_note
    action.updated_at = actor.now
    _touch(edit, actor)
    return action


# --------------------------------------------------------------------------- applying


def _apply(draft: Draft, action: ChangeAction) -> None:
    """One action on ``draft`` (lenient: an action whose line or method is gone since, because
    another action was removed, changes nothing)."""
    d = action.details
    if action.action == "ITEM_ADD":
        draft.items.append(
            DraftItem(
                id=d["reference_id"],
                seller_id=d["seller_id"],
                variant_id=d["variant_id"],
                quantity=d["quantity"],
                unit_price=d["unit_price"],
                is_tax_inclusive=d["is_tax_inclusive"],
                snapshot=dict(d["snapshot"]),
                added_by=action.id,
                custom_price=d["custom_unit_price"] is not None,
            )
        )
    elif action.action == "ITEM_UPDATE":
        item = draft.item(d["reference_id"])
        if item is None:
            return
        if d["quantity"] == 0:
            draft.items.remove(item)
            return
        item.quantity = d["quantity"]
        if d["unit_price"] is not None:
            item.unit_price = d["unit_price"]
    elif action.action == "SHIPPING_ADD":
        draft.methods = [m for m in draft.methods if m.seller_id != d["seller_id"]]
        draft.methods.append(
            DraftMethod(
                id=d["shipping_method_id"],
                seller_id=d["seller_id"],
                shipping_option_id=d["shipping_option_id"],
                name=d["name"],
                amount=d["amount"],
                is_tax_inclusive=d["is_tax_inclusive"],
                added_by=action.id,
            )
        )
        draft.methods.sort(key=lambda m: m.seller_id)
    elif action.action == "SHIPPING_REMOVE":
        draft.methods = [m for m in draft.methods if m.id != d["reference_id"]]
    else:  # pragma: no cover - the routes record no other kind on a draft
        raise AssertionError(action.action)


def _applied(draft: Draft, edit: OrderChange) -> Draft:
    """A copy of ``draft`` with the edit's actions applied in ``ordering``, priced; each
    action's ``amount`` is what it moved the draft's total by."""
    result = copy.deepcopy(draft)
    price(result)
    for action in sorted(edit.actions, key=lambda a: a.ordering):
        before = result.totals.total
        _apply(result, action)
        price(result)
        action.amount = result.totals.total - before
    return result


def preview(draft: Draft, edit: OrderChange | None) -> Draft:
    """The draft as if its edit were confirmed (a priced copy of it when there is none)."""
    if edit is None or not edit.is_active:
        result = copy.deepcopy(draft)
        price(result)
        return result
    return _applied(draft, edit)


# --------------------------------------------------------------------------- lifecycle


def request(edit: OrderChange, actor: Actor) -> None:
    """``requested`` (again: the time and actor move)."""
    edit.status = "requested"
    edit.requested_at = actor.now
    edit.requested_by = actor.id
    _touch(edit, actor)


def confirm(draft: Draft, edit: OrderChange, actor: Actor) -> Draft:
    """The edit ``confirmed``, every action applied: the draft as it becomes (the caller
    writes its lines and methods)."""
    result = _applied(draft, edit)
    for action in edit.actions:
        action.applied = True
        action.updated_at = actor.now
    edit.status = "confirmed"
    edit.confirmed_at = actor.now
    edit.confirmed_by = actor.id
    _touch(edit, actor)
    return result


def cancel(edit: OrderChange, actor: Actor) -> None:
    """``canceled`` (kept for the audit trail; nothing was applied)."""
    edit.status = "canceled"
    edit.canceled_at = actor.now
    edit.canceled_by = actor.id
    _touch(edit, actor)

"""The order-change engine: changes, their ordered actions, returns, credit lines, the summary.

Every change of an order's contents (a return requested or received, a return canceled, a credit
line, an exchange, a claim, an order edit) is an :class:`OrderChange` holding ordered
:class:`ChangeAction` s. While the change is pending its actions are only *previewed*: they are
applied, in ``ordering``, to a copy of the order (:func:`preview`); confirming applies the same
actions, with the same code, to the order itself (:func:`apply_actions`). Each action computes
its own signed money effect (``amount``, order-changes.md §3.2) from the order as the earlier
actions left it, so a preview and the confirmation always agree.

Values of units are exact (§3.1): the first *k* of a line's *n* units are worth
``V(k) = round_half_even(total × k / n)``; a line keeps its deducted quantity *d* and value *D*,
and deducting *q* more units is worth ``V(d + q) − D``. Pure: no I/O, ids and time come in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final, Literal

from mercato.domain.errors import DomainError
from mercato.domain.money import round_half_even

if TYPE_CHECKING:
    from mercato.domain.order_group import Line, Order, ShippingMethod, StockMove

ChangeType = Literal["edit", "return_request", "return_receive", "exchange", "claim", "credit_line"]
ChangeStatus = Literal["pending", "requested", "confirmed", "declined", "canceled"]
ActionName = Literal[
    "ITEM_ADD",
    "ITEM_UPDATE",
    "ITEM_REMOVE",
    "RETURN_ITEM",
    "RECEIVE_RETURN_ITEM",
    "RECEIVE_DAMAGED_RETURN_ITEM",
    "CANCEL_RETURN_ITEM",
    "WRITE_OFF_ITEM",
    "SHIPPING_ADD",
    "SHIPPING_REMOVE",
    "CREDIT_LINE_ADD",
]
ReturnStatus = Literal["open", "requested", "partially_received", "received", "canceled"]

CHANGE_TYPES: Final[tuple[str, ...]] = (
    "edit",
    "return_request",
    "return_receive",
    "exchange",
    "claim",
    "credit_line",
)
CHANGE_STATUSES: Final[tuple[str, ...]] = (
    "pending",
    "requested",
    "confirmed",
    "declined",
    "canceled",
)
ACTIVE_CHANGE_STATUSES: Final = ("pending", "requested")
RETURN_STATUSES: Final[tuple[str, ...]] = (
    "open",
    "requested",
    "partially_received",
    "received",
    "canceled",
)

CLAIM_TYPES: Final[tuple[str, ...]] = ("refund", "replace")
CLAIM_REASONS: Final[tuple[str, ...]] = (
    "missing_item",
    "wrong_item",
    "production_failure",
    "other",
)

NO_ACTIVE_CHANGE = "An active Order Change is required to proceed"


# --------------------------------------------------------------------------- entities


@dataclass(slots=True)
class ChangeAction:
    """One step of a change. ``details`` holds the action's inputs (``reference_id`` = the
    order line, ``quantity``, ...); ``amount`` its signed money effect, set when it is applied."""

    id: str
    action: str
    ordering: int
    details: dict[str, Any]
    reference: str | None = None
    reference_id: str | None = None
    return_id: str | None = None
    exchange_id: str | None = None
    claim_id: str | None = None
    amount: int = 0
    internal_note: str | None = None
    applied: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class OrderChange:
    id: str
    order_id: str | None  # None: a draft order's edit (``draft_order_id``)
    change_type: str
    version: int
    status: str = "pending"
    return_id: str | None = None
    exchange_id: str | None = None
    claim_id: str | None = None
    draft_order_id: str | None = None
    description: str | None = None
    internal_note: str | None = None
    created_by: str | None = None
    requested_by: str | None = None
    requested_at: datetime | None = None
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    declined_by: str | None = None
    declined_reason: str | None = None
    declined_at: datetime | None = None
    canceled_by: str | None = None
    canceled_at: datetime | None = None
    metadata: dict[str, Any] | None = None
    actions: list[ChangeAction] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_CHANGE_STATUSES

    def ensure_modifiable(self) -> None:
        if not self.is_active:
            raise DomainError(f"Order change {self.id} is not active to be modified")

    def action(self, action_id: str, *kinds: str) -> ChangeAction:
        """The change's action ``action_id`` of one of ``kinds``; anything else is a 404."""
        for action in self.actions:
            if action.id == action_id and action.action in kinds:
                return action
        raise DomainError(
            f"Order change action with id {action_id} was not found", type="not_found"
        )

    def next_ordering(self) -> int:
        return max((a.ordering for a in self.actions), default=0) + 1


@dataclass(slots=True)
class ReturnItem:
    """Units of one order line in a return. ``received_quantity`` counts received **and**
    damaged units, ``damaged_quantity`` only the damaged ones (Medusa). ``deducted`` is the value
    the request deducted for these units (§3.1), released to ``refund_due`` as they arrive."""

    id: str
    item_id: str
    quantity: int
    deducted: int = 0
    received_quantity: int = 0
    damaged_quantity: int = 0
    reason_id: str | None = None
    note: str | None = None
    metadata: dict[str, Any] | None = None

    def value_of(self, units: int) -> int:
        """The part of ``deducted`` the first ``units`` of the item account for."""
        if self.quantity == 0:
            return 0
        return round_half_even(Fraction(self.deducted * units, self.quantity))

    @property
    def in_transit(self) -> int:
        """Deducted value of the units not received or dismissed yet."""
        return self.deducted - self.value_of(self.received_quantity)


@dataclass(slots=True)
class Return:
    id: str
    order_id: str
    seller_id: str
    location_id: str | None
    status: str = "open"
    exchange_id: str | None = None
    claim_id: str | None = None
    display_id: int | None = None
    order_version: int = 1
    no_notification: bool = False
    created_by: str | None = None
    requested_at: datetime | None = None
    received_at: datetime | None = None
    canceled_at: datetime | None = None
    metadata: dict[str, Any] | None = None
    items: list[ReturnItem] = field(default_factory=list)
    refund_amount: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted: bool = False

    def item_for(self, line_id: str) -> ReturnItem | None:
        return next((i for i in self.items if i.item_id == line_id), None)

    @property
    def is_canceled(self) -> bool:
        return self.status == "canceled"


@dataclass(slots=True)
class ExchangeItem:
    """An outbound line an exchange added (``additional_items``)."""

    id: str
    item_id: str
    quantity: int
    metadata: dict[str, Any] | None = None


@dataclass(slots=True)
class Exchange:
    """Units back (its return, created on the first inbound item) and others out (§2.3). No
    status: while its change is pending it is being built; then it is active until canceled."""

    id: str
    order_id: str
    seller_id: str
    return_id: str | None = None
    display_id: int | None = None
    order_version: int = 1
    difference_due: int = 0
    allow_backorder: bool = False
    no_notification: bool = False
    created_by: str | None = None
    canceled_at: datetime | None = None
    metadata: dict[str, Any] | None = None
    additional_items: list[ExchangeItem] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted: bool = False


@dataclass(slots=True)
class ClaimItem:
    """Claimed units of a line (``claim_items``) or an outbound line (``additional_items``,
    ``is_additional_item``). ``deducted`` is what a refund claim deducted for them (§3.1)."""

    id: str
    item_id: str
    quantity: int
    reason: str | None = None
    note: str | None = None
    metadata: dict[str, Any] | None = None
    deducted: int = 0
    is_additional_item: bool = False


@dataclass(slots=True)
class Claim:
    id: str
    order_id: str
    seller_id: str
    type: str
    return_id: str | None = None
    reason_id: str | None = None
    display_id: int | None = None
    order_version: int = 1
    refund_amount: int = 0
    no_notification: bool = False
    created_by: str | None = None
    canceled_at: datetime | None = None
    metadata: dict[str, Any] | None = None
    items: list[ClaimItem] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class CreditLine:
    id: str
    amount: int
    reference: str | None
    reference_id: str | None
    metadata: dict[str, Any] | None = None
    created_at: datetime | None = None


@dataclass(slots=True)
class ChangeCollection:
    """A payment collection an order change created for the order's amount due (§3.5): linked
    to this order only, its whole amount is the order's share."""

    id: str
    order_change_id: str | None
    currency_code: str
    amount: int
    status: str = "not_paid"
    authorized_amount: int = 0
    captured_amount: int = 0
    refunded_amount: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # The amount changed since loading: its payment sessions are stale and get deleted.
    reamounted: bool = False
    # Its authorized payment (§3.6: captured and refunded like the cart's share), and what
    # requests to the provider hold on it right now.
    payment_id: str | None = None
    provider_id: str | None = None
    pending_capture: int = 0
    pending_refund: int = 0

    @property
    def is_unpaid(self) -> bool:
        return self.status in ("not_paid", "awaiting")

    # The order's share of it is the whole collection: a share's vocabulary, for the money
    # rules that treat the cart's share and change collections alike.
    @property
    def allocated(self) -> int:
        return self.authorized_amount

    @property
    def captured(self) -> int:
        return self.captured_amount

    @property
    def refunded(self) -> int:
        return self.refunded_amount


# --------------------------------------------------------------------------- values


def unit_value(total: int, quantity: int, units: int) -> int:
    """``V(units)``: the value of the first ``units`` of a line of ``quantity`` worth ``total``."""
    if quantity == 0:
        return 0
    return round_half_even(Fraction(total * units, quantity))


def deduction(line: Line, units: int) -> int:
    """What deducting ``units`` more of ``line`` is worth: ``V(d + q) − D``, floored at 0."""
    return max(
        unit_value(line.total, line.quantity, line.deducted_quantity + units)
        - line.deducted_amount,
        0,
    )


# --------------------------------------------------------------------------- summary


@dataclass(frozen=True, slots=True)
class Summary:
    """``order.summary`` (§3.3), minor units."""

    original_order_total: int
    current_order_total: int
    credit_line_total: int
    paid_total: int
    refunded_total: int
    return_requested_total: int
    covered_total: int

    @property
    def accounting_total(self) -> int:
        return self.current_order_total

    @property
    def transaction_total(self) -> int:
        return self.paid_total - self.refunded_total

    @property
    def pending_difference(self) -> int:
        return self.current_order_total - self.transaction_total

    @property
    def refund_due(self) -> int:
        return max(0, -self.pending_difference - self.return_requested_total)

    @property
    def amount_due(self) -> int:
        return max(0, self.pending_difference - self.covered_total)

    def as_dict(self) -> dict[str, int]:
        """The stored and rendered fields (``covered_total`` is internal)."""
        return {
            "original_order_total": self.original_order_total,
            "current_order_total": self.current_order_total,
            "accounting_total": self.accounting_total,
            "credit_line_total": self.credit_line_total,
            "paid_total": self.paid_total,
            "refunded_total": self.refunded_total,
            "transaction_total": self.transaction_total,
            "pending_difference": self.pending_difference,
            "return_requested_total": self.return_requested_total,
            "refund_due": self.refund_due,
            "amount_due": self.amount_due,
        }


def summarize(order: Order, *, collection_open: bool) -> Summary:
    """The order's summary from its lines, shipping methods, credit lines, returns and share.

    ``collection_open``: the cart collection is not canceled, so the order's uncaptured share
    is money already secured (it counts in ``covered_total``)."""
    credit = sum(c.amount for c in order.credit_lines)
    current = (
        sum(line.total - line.deducted_amount for line in order.lines)
        + sum(m.total for m in order.shipping_methods)
        - credit
    )
    share = order.share
    paid = share.captured if share else 0
    refunded = share.refunded if share else 0
    covered = 0
    if share is not None and collection_open and not order.is_canceled:
        covered = max(share.allocated - share.captured, 0)
    # A change collection adds what it captured and refunded, and what it authorized and did
    # not capture yet.
    for change_collection in order.change_collections:
        paid += change_collection.captured_amount
        refunded += change_collection.refunded_amount
        if (
            change_collection.payment_id is not None
            and change_collection.status != "canceled"
            and not order.is_canceled
        ):
            covered += max(
                change_collection.authorized_amount - change_collection.captured_amount, 0
            )
    in_transit = sum(
        item.in_transit for ret in order.returns if not ret.is_canceled for item in ret.items
    )
    return Summary(
        original_order_total=order.original_total,
        current_order_total=current,
        credit_line_total=credit,
        paid_total=paid,
        refunded_total=refunded,
        return_requested_total=in_transit,
        covered_total=covered,
    )


# --------------------------------------------------------------------------- applying actions


@dataclass
class ApplyContext:
    """What applying actions needs from outside: new ids, the time, and where stock moves go."""

    ids: Callable[[str], str]
    now: datetime
    stock_moves: list[StockMove] = field(default_factory=list)


def apply_actions(order: Order, change: OrderChange, ctx: ApplyContext) -> None:
    """Apply the change's actions to ``order`` in ``ordering``; each records its ``amount``."""
    for action in sorted(change.actions, key=lambda a: a.ordering):
        _APPLY[action.action](order, action, ctx)


def preview(order: Order, change: OrderChange, ctx: ApplyContext) -> Order:
    """A copy of ``order`` with ``change`` applied (the order itself is untouched); the
    change's actions get the amounts the preview computed, which confirmation reproduces."""
    from copy import deepcopy

    copy = deepcopy(order)
    copied = next(c for c in copy.changes if c.id == change.id)
    apply_actions(copy, copied, ApplyContext(ctx.ids, ctx.now))
    for action, applied in zip(
        sorted(change.actions, key=lambda a: a.ordering),
        sorted(copied.actions, key=lambda a: a.ordering),
        strict=True,
    ):
        action.amount = applied.amount
    return copy


def _return_of(order: Order, action: ChangeAction) -> Return:
    for ret in order.returns:
        if ret.id == action.return_id:
            return ret
    raise DomainError(f"Return with id {action.return_id} was not found", type="not_found")


def _return_item(order: Order, action: ChangeAction) -> None:
    line = order.line(action.details["reference_id"])
    quantity = int(action.details["quantity"])
    ret = _return_of(order, action)
    # A claim's inbound units were claimed: their value already left (or stays), §3.2.
    value = 0 if ret.claim_id is not None else deduction(line, quantity)
    if ret.claim_id is None:
        line.deducted_quantity += quantity
    line.deducted_amount += value
    line.return_requested_quantity += quantity
    item = ret.item_for(line.id)
    if item is None:
        item = ReturnItem(
            id=action.details["return_item_id"],
            item_id=line.id,
            quantity=0,
            reason_id=action.details.get("reason_id"),
            note=action.details.get("description") or action.details.get("note"),
            metadata=action.details.get("metadata"),
        )
        ret.items.append(item)
    item.quantity += quantity
    item.deducted += value
    action.amount = -value


def _receive(order: Order, action: ChangeAction, ctx: ApplyContext, *, damaged: bool) -> None:
    from mercato.domain.order_group import StockMove

    line = order.line(action.details["reference_id"])
    quantity = int(action.details["quantity"])
    ret = _return_of(order, action)
    item = ret.item_for(line.id)
    assert item is not None
    item.received_quantity += quantity
    line.return_requested_quantity -= quantity
    if damaged:
        item.damaged_quantity += quantity
        line.return_dismissed_quantity += quantity
    else:
        line.return_received_quantity += quantity
        if line.variant_id is not None and ret.location_id is not None:
            ctx.stock_moves.append(StockMove(ret.location_id, line.variant_id, quantity, 0))
    action.amount = 0


def _receive_good(order: Order, action: ChangeAction, ctx: ApplyContext) -> None:
    _receive(order, action, ctx, damaged=False)


def _receive_damaged(order: Order, action: ChangeAction, ctx: ApplyContext) -> None:
    _receive(order, action, ctx, damaged=True)


def _cancel_return_item(order: Order, action: ChangeAction, ctx: ApplyContext) -> None:
    line = order.line(action.details["reference_id"])
    quantity = int(action.details["quantity"])
    ret = _return_of(order, action)
    item = ret.item_for(line.id)
    assert item is not None and item.received_quantity == 0
    if ret.claim_id is None:
        line.deducted_quantity -= quantity
    line.deducted_amount -= item.deducted
    line.return_requested_quantity -= quantity
    action.amount = item.deducted


def _shipping_add(order: Order, action: ChangeAction, ctx: ApplyContext) -> None:
    from mercato.domain.order_group import ShippingMethod

    d = action.details
    order.shipping_methods.append(
        ShippingMethod(
            id=d["shipping_method_id"],
            seller_id=order.seller_id,
            name=d["name"],
            amount=int(d["price"]),
            subtotal=int(d["subtotal"]),
            tax_total=int(d["tax_total"]),
            total=int(d["total"]),
            is_tax_inclusive=bool(d["is_tax_inclusive"]),
            shipping_option_id=d.get("shipping_option_id"),
            return_id=action.return_id,
            exchange_id=action.exchange_id,
            claim_id=action.claim_id,
        )
    )
    action.amount = int(d["total"])


def _shipping_remove(order: Order, action: ChangeAction, ctx: ApplyContext) -> None:
    method_id = action.details["shipping_method_id"]
    kept: list[ShippingMethod] = []
    removed = 0
    for method in order.shipping_methods:
        if method.id == method_id:
            removed += method.total
        else:
            kept.append(method)
    order.shipping_methods = kept
    action.amount = -removed


def _credit_line_add(order: Order, action: ChangeAction, ctx: ApplyContext) -> None:
    d = action.details
    amount = int(d["amount"])
    order.credit_lines.append(
        CreditLine(
            id=d["credit_line_id"],
            amount=amount,
            reference=d.get("reference"),
            reference_id=d.get("reference_id"),
            metadata=d.get("metadata"),
            created_at=ctx.now,
        )
    )
    action.amount = -amount


def _item_add(order: Order, action: ChangeAction, ctx: ApplyContext) -> None:
    """An outbound line of an exchange or claim, reserved at the seller's stock location
    (a managed variant; the level must have the units unless ``allow_backorder``)."""
    from decimal import Decimal

    from mercato.domain.order_group import Line, Reservation, StockMove
    from mercato.domain.totals import line_totals

    d = action.details
    quantity = int(d["quantity"])
    unit_price = int(d["unit_price"])
    inclusive = bool(d["is_tax_inclusive"])
    totals = line_totals(unit_price, quantity, Decimal(d["tax_rate"]), inclusive)
    line = Line(
        id=d["reference_id"],
        quantity=quantity,
        unit_price=unit_price,
        subtotal=totals.subtotal,
        tax_total=totals.tax_total,
        total=totals.total,
        requires_shipping=bool(d.get("requires_shipping", True)),
        is_tax_inclusive=inclusive,
        variant_id=d["variant_id"],
        product_id=d.get("product_id"),
        exchange_id=action.exchange_id,
        claim_id=action.claim_id,
        snapshot={**d.get("snapshot", {}), "metadata_": d.get("metadata")},
    )
    order.lines.append(line)
    location = order.location_id
    if d.get("manage_inventory") and location is not None:
        order.reservations.append(
            Reservation(d["reservation_id"], line.id, d["variant_id"], location, quantity)
        )
        ctx.stock_moves.append(
            StockMove(
                location,
                d["variant_id"],
                0,
                quantity,
                shortage=None
                if d.get("allow_backorder")
                else insufficient(d["variant_id"], location),
            )
        )
    for exchange in order.exchanges:
        if exchange.id == action.exchange_id:
            exchange.additional_items.append(
                ExchangeItem(d["outbound_item_id"], line.id, quantity, d.get("metadata"))
            )
    for claim in order.claims:
        if claim.id == action.claim_id:
            claim.items.append(
                ClaimItem(
                    d["outbound_item_id"],
                    line.id,
                    quantity,
                    metadata=d.get("metadata"),
                    is_additional_item=True,
                )
            )
    action.amount = totals.total


def _item_update(order: Order, action: ChangeAction, ctx: ApplyContext) -> None:
    """An order edit of an existing line (§9): its quantity becomes ``details.quantity`` (0
    takes it out of ``items``), its unit price ``details.unit_price`` when given (the whole
    line), and its totals are recomputed with ``details.tax_rate``. Added units are reserved at
    the seller's stock location (a managed variant; the level must have them unless
    backordered); removed units, unfulfilled by the edit's rules, leave the line's
    reservations. Lines with deducted units are never edited (§3.1), so ``amount`` is the line
    total after minus before."""
    from decimal import Decimal

    from mercato.domain.order_group import Reservation, StockMove
    from mercato.domain.totals import discounted_line_totals

    d = action.details
    line = order.line(d["reference_id"])
    quantity = int(d["quantity"])
    unit_price = line.unit_price if d.get("unit_price") is None else int(d["unit_price"])
    totals = discounted_line_totals(
        unit_price * quantity,
        [_kept_discount(line, quantity)],
        Decimal(d["tax_rate"]),
        line.is_tax_inclusive,
    ).line
    before = line.total - line.deducted_amount
    added = quantity - line.quantity
    line.quantity = quantity
    line.unit_price = unit_price
    line.subtotal, line.tax_total, line.total = totals.subtotal, totals.tax_total, totals.total
    line.discount_subtotal = totals.discount_subtotal
    line.discount_tax_total = totals.discount_tax_total
    line.discount_total = totals.discount_total
    location = order.location_id
    if added > 0 and d.get("manage_inventory") and location and line.variant_id:
        order.reservations.append(
            Reservation(d["reservation_id"], line.id, line.variant_id, location, added)
        )
        ctx.stock_moves.append(
            StockMove(
                location,
                line.variant_id,
                0,
                added,
                shortage=None
                if d.get("allow_backorder")
                else insufficient(line.variant_id, location),
            )
        )
    elif added < 0:
        _release(order, line.id, -added, ctx)
    action.amount = totals.total - before


def _kept_discount(line: Line, quantity: int) -> int:
    """What an edited line keeps of its placement discount (in its price basis): all of it when
    units are added (new units carry none), the exact share of the remaining units when units
    are taken away (order-changes.md §9, §3.1)."""
    discount = line.discount_total if line.is_tax_inclusive else line.discount_subtotal
    if quantity >= line.quantity or not discount:
        return discount
    return round_half_even(Fraction(discount * quantity, line.quantity))


def _release(order: Order, line_id: str, units: int, ctx: ApplyContext) -> None:
    """Up to ``units`` reserved units of the line given back to their levels, newest
    reservation first (a line of an unmanaged variant holds none)."""
    from mercato.domain.order_group import StockMove

    for reservation in reversed(order.reservations):
        if units == 0:
            break
        if reservation.line_id != line_id or reservation.quantity == 0:
            continue
        taken = min(reservation.quantity, units)
        reservation.quantity -= taken
        units -= taken
        ctx.stock_moves.append(
            StockMove(reservation.location_id, reservation.variant_id, 0, -taken)
        )
    order.reservations = [r for r in order.reservations if r.quantity > 0]


def insufficient(variant_id: str, location_id: str) -> str:
    """The message of an outbound reservation the seller's stock cannot take (§15)."""
    return f"Variant {variant_id} does not have the required inventory at location {location_id}"


def _item_remove(order: Order, action: ChangeAction, ctx: ApplyContext) -> None:
    """An outbound line taken back by a cancel: its reservations released, its quantity and
    totals 0 (a line of quantity 0 leaves ``items``, §2.4)."""
    from mercato.domain.order_group import StockMove

    line = order.line(action.details["reference_id"])
    kept = []
    for reservation in order.reservations:
        if reservation.line_id == line.id:
            ctx.stock_moves.append(
                StockMove(reservation.location_id, reservation.variant_id, 0, -reservation.quantity)
            )
        else:
            kept.append(reservation)
    order.reservations = kept
    action.amount = -(line.total - line.deducted_amount)
    line.quantity = 0
    line.subtotal = line.tax_total = line.total = 0


def _write_off_item(order: Order, action: ChangeAction, ctx: ApplyContext) -> None:
    """Claimed units: a refund claim deducts their value like a return (§3.2), a replace claim
    nothing. ``quantity`` < 0 takes back the write-off of a canceled claim item."""
    d = action.details
    line = order.line(d["reference_id"])
    quantity = int(d["quantity"])
    claim = next(c for c in order.claims if c.id == action.claim_id)
    refund = bool(d.get("refund"))
    if quantity < 0:
        item = next(i for i in claim.items if i.id == d["claim_item_id"])
        value = -item.deducted
    else:
        value = deduction(line, quantity) if refund else 0
        claim.items.append(
            ClaimItem(
                d["claim_item_id"],
                line.id,
                quantity,
                reason=d.get("reason") or "other",
                note=d.get("note"),
                metadata=d.get("metadata"),
                deducted=value,
            )
        )
    if refund:
        line.deducted_quantity += quantity
    line.deducted_amount += value
    line.written_off_quantity += quantity
    action.amount = -value


_APPLY: Final[dict[str, Callable[[Order, ChangeAction, ApplyContext], None]]] = {
    "ITEM_ADD": _item_add,
    "ITEM_UPDATE": _item_update,
    "ITEM_REMOVE": _item_remove,
    "WRITE_OFF_ITEM": _write_off_item,
    "RETURN_ITEM": lambda order, action, ctx: _return_item(order, action),
    "RECEIVE_RETURN_ITEM": _receive_good,
    "RECEIVE_DAMAGED_RETURN_ITEM": _receive_damaged,
    "CANCEL_RETURN_ITEM": _cancel_return_item,
    "SHIPPING_ADD": _shipping_add,
    "SHIPPING_REMOVE": _shipping_remove,
    "CREDIT_LINE_ADD": _credit_line_add,
}


def active_change(order: Order) -> OrderChange | None:
    return next((c for c in order.changes if c.is_active), None)


def units_in_returns(line: Line) -> int:
    """Units of the line in non-canceled returns (requested, received or dismissed)."""
    return (
        line.return_requested_quantity
        + line.return_received_quantity
        + line.return_dismissed_quantity
    )


def units_taken(order: Order, line: Line) -> int:
    """Units of the line in non-canceled returns and claims (§6.2: a claim's inbound units are
    claimed units and count once)."""
    claim_inbound = sum(
        item.quantity
        for ret in order.returns
        if ret.claim_id is not None and not ret.is_canceled and not ret.deleted
        for item in ret.items
        if item.item_id == line.id
    )
    return units_in_returns(line) + line.written_off_quantity - claim_inbound


def actions_of(change: OrderChange, *kinds: str) -> Iterable[ChangeAction]:
    return (a for a in change.actions if a.action in kinds)

"""The order group aggregate: one checkout's orders and every rule that changes them.

An :class:`OrderGroup` holds its orders; each :class:`Order` its lines, reservations,
fulfilments and its :class:`Share` of the group's payment collection. The operations — place,
capture, refund, cancel, fulfil, ship, deliver, complete, archive — check the rules, change the
entities, recompute the touched orders' statuses and the group's derived fields in one place
(:meth:`OrderGroup.refresh`) and return (and collect in :attr:`OrderGroup.events`) the domain
events they raise. Nothing here does I/O: ids and the time come from the caller, and what the
aggregate cannot change itself — inventory levels outside it, new money records — it lists in
:attr:`OrderGroup.stock_moves` and :attr:`OrderGroup.new_records` for the repository to write.

Money that moves at a payment provider takes two steps, so the provider is never called while
rows are locked: ``request_*`` checks the amount and holds it as *pending* (it counts against
what may still be captured or refunded until the request is settled), ``complete_*`` books it
once the provider said yes, ``abandon_*`` releases it when the provider said no.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from mercato.domain import events as ev
from mercato.domain.errors import INVALID_DATA, NOT_ALLOWED, DomainError
from mercato.domain.events import DomainEvent
from mercato.domain.money import exponent
from mercato.domain.order_changes import (
    ChangeCollection,
    Claim,
    CreditLine,
    Exchange,
    OrderChange,
    Return,
    Summary,
    active_change,
    summarize,
    units_taken,
)
from mercato.domain.statuses import (
    FulfillmentFacts,
    GroupMember,
    ItemFulfillmentFacts,
    OrderPaymentFacts,
    PaymentCollectionFacts,
    ensure_can_archive,
    ensure_can_cancel,
    ensure_can_complete,
    group_statuses,
    order_fulfillment_status,
    order_payment_status,
    shown_status,
)
from mercato.domain.totals import DocumentTotals, LineTotals, document_totals

IdFactory = Callable[[str], str]
"""``ids("capt")`` → a new id with that prefix (``mercato.db.base.new_id`` in production)."""

NOT_FOUND = "not_found"
CONFLICT = "conflict"

MIXED_SHIPPING = (
    "Fulfillment can only be created entirely with items with shipping or items without "
    "shipping. Split this request into 2 fulfillments."
)
# Medusa's message for ``POST /admin/payments/:id/capture`` (sic: "substracted").
PAYMENT_OVER_CAPTURE = (
    "You cannot capture more than the authorized amount substracted by what is already captured."
)


def format_amount(minor: int, currency_code: str) -> str:
    """``7150, "usd"`` → ``"71.50 USD"``: an amount as error messages write it."""
    places = exponent(currency_code)
    return f"{Decimal(minor).scaleb(-places):.{places}f} {currency_code.upper()}"


def not_found(entity: str, entity_id: str) -> DomainError:
    return DomainError(f"{entity} with id {entity_id} was not found", type=NOT_FOUND)


# --------------------------------------------------------------------------- entities


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A promotion's share of one line or shipping method, with its tax split."""

    id: str
    promotion_id: str
    code: str
    amount: int
    subtotal: int
    tax_total: int
    total: int
    is_tax_inclusive: bool
    funded_by: str
    seller_id: str
    position: int
    description: str | None = None


@dataclass(slots=True)
class Line:
    """An order line: the money fixed at placement and how far its units have gone.

    ``subtotal`` is before discounts, ``tax_total`` and ``total`` after them (promotions.md)."""

    id: str
    quantity: int
    unit_price: int
    subtotal: int
    tax_total: int
    total: int
    requires_shipping: bool = True
    is_tax_inclusive: bool = False
    variant_id: str | None = None
    product_id: str | None = None
    fulfilled_quantity: int = 0
    shipped_quantity: int = 0
    delivered_quantity: int = 0
    # How far units went back (order-changes.md §2.4 ``detail``), and the value deducted for
    # the ``deducted_quantity`` units (§3.1, internal).
    return_requested_quantity: int = 0
    return_received_quantity: int = 0
    return_dismissed_quantity: int = 0
    written_off_quantity: int = 0
    deducted_quantity: int = 0
    deducted_amount: int = 0
    exchange_id: str | None = None  # the exchange / claim whose outbound part added the line
    claim_id: str | None = None
    # Descriptive columns copied from the cart line (titles, sku, thumbnail, metadata, ...):
    # kept and written as they are, never read by a rule.
    snapshot: dict[str, Any] = field(default_factory=dict)
    discount_subtotal: int = 0
    discount_tax_total: int = 0
    discount_total: int = 0
    # The promotions' adjustments copied from the cart at placement (written once, not loaded).
    adjustments: list[Adjustment] = field(default_factory=list)


@dataclass(slots=True)
class ShippingMethod:
    id: str
    seller_id: str
    name: str
    amount: int
    subtotal: int
    tax_total: int
    total: int
    is_tax_inclusive: bool = False
    shipping_option_id: str | None = None
    data: dict[str, Any] | None = None
    return_id: str | None = None  # a return's shipping method
    exchange_id: str | None = None  # an exchange's or claim's method (inbound or outbound)
    claim_id: str | None = None
    discount_subtotal: int = 0
    discount_tax_total: int = 0
    discount_total: int = 0
    adjustments: list[Adjustment] = field(default_factory=list)


@dataclass(slots=True)
class Reservation:
    """Units of a line's variant held at the seller's stock location."""

    id: str
    line_id: str
    variant_id: str
    location_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Conversion:
    """Reserved units a fulfilment turned into shipped-out stock; restored exactly on cancel."""

    line_id: str
    variant_id: str
    location_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Label:
    id: str
    tracking_number: str
    tracking_url: str | None = None
    label_url: str | None = None


@dataclass(frozen=True, slots=True)
class OptionFacts:
    """What fulfilment rules read of a shipping option: its seller and whether it is a return
    option (admin-dashboard.md §7)."""

    id: str
    seller_id: str
    is_return: bool


@dataclass(slots=True)
class Fulfillment:
    id: str
    location_id: str
    items: tuple[tuple[str, int], ...]  # (line id, quantity), in request order
    shipping_option_id: str | None = None
    converted: tuple[Conversion, ...] = ()
    no_notification: bool = False
    packed_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    canceled_at: datetime | None = None
    labels: tuple[Label, ...] = ()
    updated_at: datetime | None = None

    def facts(self) -> FulfillmentFacts:
        return FulfillmentFacts(
            packed=self.packed_at is not None,
            shipped=self.shipped_at is not None,
            delivered=self.delivered_at is not None,
            canceled=self.canceled_at is not None,
        )


@dataclass(slots=True)
class Collection:
    """The customer's one payment collection for the cart, shared by the group's orders."""

    id: str
    currency_code: str
    amount: int
    status: str
    authorized_amount: int = 0
    captured_amount: int = 0
    refunded_amount: int = 0
    completed_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class Payment:
    """The authorized payment of the collection."""

    id: str
    collection_id: str
    provider_id: str
    amount: int
    session_id: str | None = None
    data: dict[str, Any] | None = None
    captured_at: datetime | None = None
    canceled_at: datetime | None = None


@dataclass(slots=True)
class Share:
    """One order's part of the collection: its allocation (its total at placement), what was
    captured and refunded for it, and what requests to the provider hold right now."""

    collection_id: str
    allocated: int
    captured: int = 0
    refunded: int = 0
    pending_capture: int = 0
    pending_refund: int = 0


@dataclass(frozen=True, slots=True)
class Capture:
    id: str
    payment_id: str
    order_id: str
    amount: int
    idempotency_key: str | None
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    payment_id: str
    order_id: str
    amount: int
    idempotency_key: str | None
    created_by: str | None
    created_at: datetime
    note: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Transaction:
    """Money that moved for one order: captures positive, refunds negative (Medusa 2.8)."""

    id: str
    order_id: str
    amount: int
    currency_code: str
    reference: str  # capture | refund
    reference_id: str
    created_at: datetime


Record = Capture | Refund | Transaction


@dataclass(frozen=True, slots=True)
class StockMove:
    """A change to one inventory level (``stocked``/``reserved`` deltas). A move with
    ``shortage`` set may only apply while the level still reserves at least ``-reserved``
    units — or, reserving (``reserved`` > 0), while it has that many units free (stocked −
    reserved); otherwise the repository refuses the whole operation with that message
    (``code: insufficient_inventory`` for a reservation)."""

    location_id: str
    variant_id: str
    stocked: int
    reserved: int
    shortage: str | None = None


@dataclass(frozen=True, slots=True)
class MoneyRequest:
    """A capture or refund held as pending until the provider has answered."""

    kind: str  # capture | refund
    order_id: str
    payment_id: str
    provider_id: str
    amount: int


@dataclass(slots=True)
class Order:
    """One seller's order of the group."""

    id: str
    seller_id: str
    currency_code: str
    status: str
    totals: DocumentTotals
    location_id: str | None = None  # the seller's stock location
    canceled_at: datetime | None = None
    no_notification: bool = False
    lines: list[Line] = field(default_factory=list)
    shipping_methods: list[ShippingMethod] = field(default_factory=list)
    reservations: list[Reservation] = field(default_factory=list)
    fulfillments: list[Fulfillment] = field(default_factory=list)
    share: Share | None = None
    payment_status: str = "not_paid"
    fulfillment_status: str = "not_fulfilled"
    updated_at: datetime | None = None
    region_id: str | None = None
    version: int = 1
    original_total: int = 0
    credit_lines: list[CreditLine] = field(default_factory=list)
    # The order's active change (if any) and every change an operation touched since loading.
    changes: list[OrderChange] = field(default_factory=list)
    returns: list[Return] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    change_collections: list[ChangeCollection] = field(default_factory=list)
    summary: Summary | None = None
    # ``status`` is the stored lifecycle; clients see ``requires_action`` over ``pending`` and
    # ``completed`` while a refund or an amount is due (order-changes.md §4).
    shown_status: str = "pending"
    # Descriptive columns copied from the cart at placement (email, addresses, region, ...):
    # written by the repository as they are, never read by a rule (like ``Line.snapshot``).
    snapshot: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.totals.total

    @property
    def current_total(self) -> int:
        return self.summary.current_order_total if self.summary else self.totals.total

    @property
    def is_canceled(self) -> bool:
        return self.status == "canceled" or self.canceled_at is not None

    def line(self, line_id: str) -> Line:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise not_found("Line item", line_id)

    def fulfillment(self, fulfillment_id: str) -> Fulfillment:
        for fulfillment in self.fulfillments:
            if fulfillment.id == fulfillment_id:
                return fulfillment
        raise not_found("Fulfillment", fulfillment_id)

    def purses(self) -> list[Purse]:
        """The order's money by collection, oldest first (order-changes.md §3.6): its share of
        the cart's collection, then the change collections it authorized."""
        found: list[Purse] = [self.share] if self.share is not None else []
        return found + [c for c in self.change_collections if c.payment_id is not None]

    @property
    def capturable(self) -> int:
        """What may still be captured: each collection's share minus its captures, held or
        done, and never more than the order still owes counting units in transit back
        (order-changes.md §3.6); 0 once canceled."""
        if self.is_canceled:
            return 0
        purses = self.purses()
        left = sum(_left_to_capture(purse) for purse in purses)
        summary = self.summary
        if summary is not None:
            owed = summary.pending_difference + summary.return_requested_total
            left = min(left, owed - sum(purse.pending_capture for purse in purses))
        return max(left, 0)

    @property
    def refundable(self) -> int:
        """What may still be refunded: captures minus refunds, held or done, of every
        collection."""
        return sum(_left_to_refund(purse) for purse in self.purses())


Purse = Share | ChangeCollection
"""One collection's money for one order: its share of the cart's collection, or a change
collection (linked to it alone). Both read ``allocated``, ``captured``, ``refunded`` and hold
``pending_capture`` / ``pending_refund``."""


def _left_to_capture(purse: Purse) -> int:
    if isinstance(purse, ChangeCollection) and purse.status == "canceled":
        return 0
    return max(purse.allocated - purse.captured - purse.pending_capture, 0)


def _left_to_refund(purse: Purse) -> int:
    return purse.captured - purse.refunded - purse.pending_refund


# --------------------------------------------------------------------------- the aggregate


@dataclass(slots=True)
class OrderGroup:
    """The aggregate root. Derived fields (``status``, ``seller_count``, ``total``, ...) are
    recomputed by every operation; ``events``, ``new_records`` and ``stock_moves`` collect what
    the operations produced since the group was loaded."""

    id: str
    cart_id: str | None
    customer_id: str | None
    sales_channel_id: str
    currency_code: str
    created_at: datetime
    orders: list[Order]
    collection: Collection | None = None
    payment: Payment | None = None
    updated_at: datetime | None = None
    status: str = "pending"
    payment_status: str = "not_paid"
    fulfillment_status: str = "not_fulfilled"
    seller_count: int = 0
    seller_ids: list[str] = field(default_factory=list)
    total: int = 0
    events: list[DomainEvent] = field(default_factory=list)
    new_records: list[Record] = field(default_factory=list)
    stock_moves: list[StockMove] = field(default_factory=list)
    # The draft order the group was converted from (order-changes.md §12); ``cart_id`` is None.
    draft_order_id: str | None = None

    # ----------------------------------------------------------------- lookup

    def order(self, order_id: str, *, seller_id: str | None = None) -> Order:
        """The group's order; another seller's order is simply not found (404)."""
        for order in self.orders:
            if order.id == order_id and (seller_id is None or order.seller_id == seller_id):
                return order
        raise not_found("Order", order_id)

    # ----------------------------------------------------------------- derived state

    def refresh(self, now: datetime, touched: Iterable[Order] = ()) -> None:
        """Recompute the touched orders' summaries and statuses, then the group's derived
        fields."""
        for order in touched:
            self.refresh_order(order)
            order.updated_at = now
        statuses = group_statuses(
            GroupMember(
                o.shown_status,
                o.payment_status,
                o.fulfillment_status,
                was_canceled=o.canceled_at is not None,
            )
            for o in self.orders
        )
        self.status = statuses.status
        self.payment_status = statuses.payment_status
        self.fulfillment_status = statuses.fulfillment_status
        self.seller_ids = sorted({o.seller_id for o in self.orders})
        self.seller_count = len(self.seller_ids)
        self.total = sum(o.current_total for o in self.orders)
        self.updated_at = now

    def refresh_order(self, order: Order) -> None:
        """The order's summary, shown status, payment and fulfilment statuses and totals."""
        collection = self.collection
        order.summary = summarize(
            order, collection_open=collection is not None and collection.status != "canceled"
        )
        order.totals = _order_totals(order)
        order.shown_status = shown_status(order.status, order.summary)
        order.payment_status = order_payment_status(
            self._payment_facts(order),
            (
                PaymentCollectionFacts(c.status, c.amount, c.captured_amount, c.refunded_amount)
                for c in order.change_collections
            ),
        )
        order.fulfillment_status = order_fulfillment_status(
            (f.facts() for f in order.fulfillments),
            (
                ItemFulfillmentFacts(
                    line.quantity,
                    line.fulfilled_quantity if line.requires_shipping else None,
                    returned=line.return_received_quantity + line.return_dismissed_quantity,
                )
                for line in order.lines
                if line.quantity > 0
            ),
        )

    def _payment_facts(self, order: Order) -> OrderPaymentFacts:
        share, collection = order.share, self.collection
        if share is None or collection is None:
            return OrderPaymentFacts(allocated=order.total)
        return OrderPaymentFacts(
            allocated=share.allocated,
            captured=share.captured,
            refunded=share.refunded,
            collection_status=collection.status,
            canceled=order.canceled_at is not None,
        )

    def _raise(self, event: DomainEvent) -> DomainEvent:
        self.events.append(event)
        return event

    def _order_event(self, name: str, order: Order, **data: Any) -> DomainEvent:
        return self._raise(DomainEvent(name, {"id": order.id, **data}, seller_id=order.seller_id))

    # ----------------------------------------------------------------- placement

    @classmethod
    def place(
        cls,
        *,
        group_id: str,
        cart_id: str | None,
        customer_id: str | None,
        sales_channel_id: str,
        currency_code: str,
        orders: Sequence[Order],
        collection: Collection | None,
        payment: Payment | None,
        captured: bool,
        ids: IdFactory,
        now: datetime,
        draft_order_id: str | None = None,
    ) -> OrderGroup:
        """A new group of ``orders`` (built by the caller from the cart split, each with its
        lines, shipping methods and reservations), each order's share of ``collection`` = its
        total. With ``payment`` the collection is authorized for the sum of the orders' totals
        (and captured at once when ``captured``: the provider did both); without, it stays
        unpaid (a draft order's, paid later: :meth:`authorize_collection`). Raises
        ``order.placed`` per order, then ``order_group.created`` — and, for a group converted
        from ``draft_order_id``, ``draft_order.converted``."""
        group = cls(
            id=group_id,
            cart_id=cart_id,
            customer_id=customer_id,
            sales_channel_id=sales_channel_id,
            currency_code=currency_code,
            created_at=now,
            orders=list(orders),
            collection=collection,
            payment=payment,
            draft_order_id=draft_order_id,
        )
        total = sum(o.total for o in group.orders)
        for order in group.orders:
            order.original_total = order.total
        if collection is not None:
            for order in group.orders:
                order.share = Share(collection_id=collection.id, allocated=order.total)
            if payment is not None:
                if collection.amount != total or payment.amount != total:
                    raise DomainError(
                        "The payment collection amount no longer matches the cart total; "
                        "start a new payment session"
                    )
                collection.status = "authorized"
                collection.authorized_amount = total
                collection.updated_at = now
                if captured:
                    collection.captured_amount = total
                    collection.completed_at = now
                    payment.captured_at = now
                    for order in group.orders:
                        assert order.share is not None
                        if order.total > 0:
                            group._book_capture(
                                order, order.share, order.total, None, None, now, ids
                            )
        group.refresh(now, group.orders)
        for order in group.orders:
            group._order_event(ev.ORDER_PLACED, order)
        group._raise(DomainEvent(ev.ORDER_GROUP_CREATED, {"id": group.id}))
        if draft_order_id is not None:
            group._raise(
                DomainEvent(
                    ev.DRAFT_ORDER_CONVERTED, {"id": draft_order_id, "order_group_id": group.id}
                )
            )
        return group

    # ----------------------------------------------------------------- captures

    def request_capture(
        self, order_id: str, amount: int | None, *, seller_id: str | None = None
    ) -> list[MoneyRequest]:
        """Hold ``amount`` (default: all that is left) for captures, drawn from the order's
        collections oldest first, each within its uncaptured share (order-changes.md §3.6): one
        request per collection touched."""
        order = self.order(order_id, seller_id=seller_id)
        _refuse_canceled(order)
        self._payment_of(order, "capture")
        currency = self.currency_code
        if amount == 0:
            raise DomainError("The amount to capture must be greater than 0")
        left = order.capturable
        if left == 0:
            allocated = sum(purse.allocated for purse in order.purses())
            raise DomainError(
                f"Order {order.id} has nothing left to capture: its share of "
                f"{format_amount(allocated, currency)} is already captured"
            )
        if amount is not None and amount > left:
            raise DomainError(
                f"Cannot capture more than {format_amount(left, currency)} for order {order.id}"
            )
        wanted = amount or left
        requests = []
        for purse in self._paid_purses(order):
            take = min(_left_to_capture(purse), wanted)
            if take > 0:
                requests.append(self._hold_capture(order, purse, take))
                wanted -= take
        return requests

    def request_payment_capture(self, payment_id: str, amount: int | None) -> list[MoneyRequest]:
        """``POST /admin/payments/:id/capture``. The cart's payment: across the orders in
        ascending id order, each capped at what is left of its share; a change collection's:
        its order's uncaptured part of it. Nothing left (or an already captured payment) is a
        no-op (an empty list), as in Medusa; more than what is left → Medusa's message."""
        payment = self.payment
        if payment is None or payment.id != payment_id:
            return self._request_change_payment_capture(payment_id, amount)
        if payment.canceled_at is not None:
            raise DomainError(f"The payment: {payment.id} has been canceled.")
        if payment.captured_at is not None:
            return []
        if amount == 0:
            raise DomainError("The amount to capture must be greater than 0")
        orders = sorted(self.orders, key=lambda o: o.id)
        left = {o.id: self._cart_capturable(o) for o in orders}
        wanted = sum(left.values()) if amount is None else amount
        if wanted > sum(left.values()):
            raise DomainError(PAYMENT_OVER_CAPTURE)
        requests = []
        for order in orders:
            take = min(left[order.id], wanted)
            if take > 0:
                assert order.share is not None
                requests.append(self._hold_capture(order, order.share, take))
                wanted -= take
        return requests

    def _request_change_payment_capture(
        self, payment_id: str, amount: int | None
    ) -> list[MoneyRequest]:
        for order in self.orders:
            for collection in order.change_collections:
                if collection.payment_id != payment_id:
                    continue
                if amount == 0:
                    raise DomainError("The amount to capture must be greater than 0")
                left = min(_left_to_capture(collection), order.capturable)
                if collection.status == "canceled" and collection.captured_amount == 0:
                    raise DomainError(f"The payment: {payment_id} has been canceled.")
                if left == 0 and amount is None:
                    return []
                if amount is not None and amount > left:
                    raise DomainError(PAYMENT_OVER_CAPTURE)
                return [self._hold_capture(order, collection, amount or left)]
        raise not_found("Payment", payment_id)

    def _cart_capturable(self, order: Order) -> int:
        """What the order may still capture from its share of the cart's collection."""
        if order.share is None:
            return 0
        return min(_left_to_capture(order.share), order.capturable)

    def _hold_capture(self, order: Order, purse: Purse, amount: int) -> MoneyRequest:
        assert 0 < amount <= order.capturable
        payment_id, provider_id = self._payment_ref(purse)
        purse.pending_capture += amount
        return MoneyRequest("capture", order.id, payment_id, provider_id, amount)

    def complete_capture(
        self,
        request: MoneyRequest,
        *,
        capture_id: str,
        idempotency_key: str | None,
        created_by: str | None,
        ids: IdFactory,
        now: datetime,
    ) -> DomainEvent:
        """Book a capture the provider made (its request was held as pending)."""
        order = self.order(request.order_id)
        assert request.kind == "capture"
        purse = self._purse_of(order, request.payment_id)
        purse.pending_capture = max(purse.pending_capture - request.amount, 0)
        capture = self._book_capture(
            order,
            purse,
            request.amount,
            idempotency_key,
            created_by,
            now,
            ids,
            capture_id=capture_id,
        )
        if isinstance(purse, Share):
            assert self.collection is not None
            self.collection.captured_amount += request.amount
        self._settle(now)
        self.refresh(now, [order])
        return self._raise(
            DomainEvent(
                ev.PAYMENT_CAPTURED,
                {"id": capture.payment_id, "order_id": order.id, "capture_id": capture.id},
                seller_id=order.seller_id,
            )
        )

    def _book_capture(
        self,
        order: Order,
        purse: Purse,
        amount: int,
        key: str | None,
        created_by: str | None,
        now: datetime,
        ids: IdFactory,
        *,
        capture_id: str | None = None,
    ) -> Capture:
        payment_id, _ = self._payment_ref(purse)
        capture = Capture(
            id=capture_id or ids("capt"),
            payment_id=payment_id,
            order_id=order.id,
            amount=amount,
            idempotency_key=key,
            created_by=created_by,
            created_at=now,
        )
        if isinstance(purse, ChangeCollection):
            purse.captured_amount += amount
            if purse.captured_amount >= purse.amount:
                purse.status = "completed"
            purse.updated_at = now
        else:
            purse.captured += amount
        self.new_records += [capture, self._ledger_entry(order, amount, capture.id, ids, now)]
        return capture

    def abandon(self, request: MoneyRequest) -> None:
        """Release a held amount: the provider refused it (or it was never sent)."""
        purse = self._purse_of(self.order(request.order_id), request.payment_id)
        if request.kind == "refund":
            purse.pending_refund = max(purse.pending_refund - request.amount, 0)
        else:  # a capture, or a void (which holds the uncaptured share against captures)
            purse.pending_capture = max(purse.pending_capture - request.amount, 0)

    # ----------------------------------------------------------------- refunds

    def request_refund(
        self,
        order_id: str,
        amount: int | None,
        *,
        seller_id: str | None = None,
        payment_id: str | None = None,
    ) -> list[MoneyRequest]:
        """Hold ``amount`` (default: the order's ``refund_due``) of what was captured for it,
        drawn from its captured collections newest first (order-changes.md §3.6) — or only
        from ``payment_id`` — one request per collection touched."""
        order = self.order(order_id, seller_id=seller_id)
        self._payment_of(order, "refund")
        purses = self._paid_purses(order)
        if payment_id is not None:
            purses = [self._purse_of(order, payment_id)]
        currency = self.currency_code
        if amount == 0:
            raise DomainError("The amount to refund must be greater than 0")
        left = min(order.refundable, sum(_left_to_refund(purse) for purse in purses))
        if left <= 0:
            purses = order.purses()
            raise DomainError(
                f"Order {order.id} has nothing to refund: "
                f"{format_amount(sum(p.captured for p in purses), currency)} was captured for "
                f"it and {format_amount(sum(p.refunded for p in purses), currency)} already "
                "refunded"
            )
        if amount is not None and amount > left:
            raise DomainError(
                f"Cannot refund more than {format_amount(left, currency)} for order {order.id}"
            )
        if amount is None:
            due = order.summary.refund_due if order.summary is not None else 0
            if due <= 0:
                raise DomainError(f"amount is required: order {order.id} has no refund due")
            amount = min(due, left)
        return self._hold_refunds(order, amount, purses)

    def _hold_refunds(
        self, order: Order, amount: int, purses: Sequence[Purse]
    ) -> list[MoneyRequest]:
        requests = []
        for purse in reversed(purses):
            take = min(_left_to_refund(purse), amount)
            if take > 0:
                payment_id, provider_id = self._payment_ref(purse)
                purse.pending_refund += take
                requests.append(MoneyRequest("refund", order.id, payment_id, provider_id, take))
                amount -= take
        return requests

    def complete_refund(
        self,
        request: MoneyRequest,
        *,
        refund_id: str,
        idempotency_key: str | None,
        created_by: str | None,
        ids: IdFactory,
        now: datetime,
        note: str | None = None,
        reason: str | None = None,
    ) -> DomainEvent:
        """Book a refund the provider made (its request was held as pending)."""
        order = self.order(request.order_id)
        assert request.kind == "refund"
        purse = self._purse_of(order, request.payment_id)
        purse.pending_refund = max(purse.pending_refund - request.amount, 0)
        refund = Refund(
            id=refund_id,
            payment_id=request.payment_id,
            order_id=order.id,
            amount=request.amount,
            idempotency_key=idempotency_key,
            created_by=created_by,
            created_at=now,
            note=note,
            reason=reason,
        )
        # Goodwill is what goes beyond the money the order owes back, units in transit
        # included: refunding them before they arrive is early, not a gift (else their value
        # would fall due a second time on receipt).
        owed_back = max(0, -order.summary.pending_difference) if order.summary else 0
        if request.amount > owed_back:
            self._book_credit_line(order, request.amount - owed_back, "refund", refund.id, ids, now)
        if isinstance(purse, ChangeCollection):
            purse.refunded_amount += request.amount
            purse.updated_at = now
        else:
            purse.refunded += request.amount
            assert self.collection is not None
            self.collection.refunded_amount += request.amount
            self.collection.updated_at = now
        self.new_records += [
            refund,
            self._ledger_entry(order, -request.amount, refund.id, ids, now),
        ]
        self._settle(now)
        self.refresh(now, [order])
        return self._raise(
            DomainEvent(
                ev.PAYMENT_REFUNDED,
                {"id": refund.payment_id, "order_id": order.id, "refund_id": refund.id},
                seller_id=order.seller_id,
            )
        )

    def _book_credit_line(
        self,
        order: Order,
        amount: int,
        reference: str,
        reference_id: str | None,
        ids: IdFactory,
        now: datetime,
    ) -> CreditLine:
        """A credit line written directly (refund excess, order cancel: no order change)."""
        credit_line = CreditLine(ids("ordcl"), amount, reference, reference_id, None, now)
        order.credit_lines.append(credit_line)
        self._raise(
            DomainEvent(
                ev.CREDIT_LINE_CREATED,
                {"order_id": order.id, "credit_line_id": credit_line.id},
                seller_id=order.seller_id,
            )
        )
        return credit_line

    def _ledger_entry(
        self, order: Order, amount: int, reference_id: str, ids: IdFactory, now: datetime
    ) -> Transaction:
        return Transaction(
            id=ids("ordtrx"),
            order_id=order.id,
            amount=amount,
            currency_code=order.currency_code,
            reference="capture" if amount > 0 else "refund",
            reference_id=reference_id,
            created_at=now,
        )

    def _paid_purses(self, order: Order) -> list[Purse]:
        """The order's collections a payment was authorized for, oldest first."""
        return [p for p in order.purses() if p is not order.share or self.payment is not None]

    def _payment_of(self, order: Order, operation: str) -> None:
        """400 unless the order has an authorized payment (the cart's or a change's)."""
        if not self._paid_purses(order):
            raise DomainError(f"Order {order.id} has no authorized payment to {operation}")

    def _payment_ref(self, purse: Purse) -> tuple[str, str]:
        """The payment (id, provider) that holds ``purse``'s money."""
        if isinstance(purse, ChangeCollection):
            assert purse.payment_id is not None and purse.provider_id is not None
            return purse.payment_id, purse.provider_id
        assert self.payment is not None
        return self.payment.id, self.payment.provider_id

    def _purse_of(self, order: Order, payment_id: str) -> Purse:
        for purse in self._paid_purses(order):
            if self._payment_ref(purse)[0] == payment_id:
                return purse
        raise not_found("Payment", payment_id)

    def _settle(self, now: datetime, *, voided: frozenset[str] = frozenset()) -> None:
        """The cart collection's and payment's bookkeeping after a money change.

        * the collection is ``completed`` once its captures reach its amount (Medusa 2.8);
        * the payment gets ``captured_at`` once no open order has anything left to capture;
        * every order voided (canceled): the collection is ``canceled``, and the payment
          ``canceled_at`` when nothing was ever captured.
        ``voided`` names orders whose share is being voided but are not marked canceled yet.
        """
        collection, payment = self.collection, self.payment
        if collection is None:
            return
        shared = [o for o in self.orders if o.share is not None]
        open_orders = [o for o in shared if o.id not in voided and not o.is_canceled]
        left = sum(max(o.share.allocated - o.share.captured, 0) for o in open_orders if o.share)
        if (
            collection.status != "canceled"
            and collection.amount > 0
            and collection.captured_amount >= collection.amount
        ):
            collection.status = "completed"
            collection.completed_at = collection.completed_at or now
        if shared and not open_orders:
            collection.status = "canceled"
            if payment is not None and collection.captured_amount == 0:
                payment.canceled_at = payment.canceled_at or now
        elif (
            payment is not None
            and left == 0
            and collection.captured_amount > 0
            and payment.captured_at is None
        ):
            payment.captured_at = now
        collection.updated_at = now

    # ----------------------------------------------------------------- a draft's collection

    def authorize_collection(self, payment: Payment, *, now: datetime) -> None:
        """The customer's (or the operator's) payment authorized the group's unpaid shared
        collection — a converted draft order's (order-changes.md §10, §12): its whole amount is
        secured and each order's share is captured and refunded as after checkout."""
        collection = self.collection
        if collection is None or collection.id != payment.collection_id:
            raise not_found("Payment collection", payment.collection_id)
        if self.payment is not None or collection.status not in ("not_paid", "awaiting"):
            raise DomainError(
                f"Payment collection {collection.id} is {collection.status} and cannot be paid",
                type=NOT_ALLOWED,
            )
        if payment.amount != collection.amount:
            raise DomainError(
                f"Payment collection {collection.id} amounts to "
                f"{format_amount(collection.amount, self.currency_code)}, not "
                f"{format_amount(payment.amount, self.currency_code)}",
                type=NOT_ALLOWED,
            )
        collection.status = "authorized"
        collection.authorized_amount = collection.amount
        collection.updated_at = now
        self.payment = payment
        self.refresh(now, self.orders)

    def capture_collection(
        self, *, key: str, created_by: str | None, ids: IdFactory, now: datetime
    ) -> list[DomainEvent]:
        """Capture what every order may still capture of its share of the shared collection,
        one capture per order (ascending id; idempotency key ``<key>:<order id>``): the
        operator's mark-as-paid, or a provider that captured at authorization. A canceled
        order's share is not captured."""
        payment = self.payment
        assert payment is not None, "authorize the collection first"
        events = []
        for order in sorted(self.orders, key=lambda o: o.id):
            amount = self._cart_capturable(order)
            if amount > 0:
                request = MoneyRequest("capture", order.id, payment.id, payment.provider_id, amount)
                events.append(
                    self.complete_capture(
                        request,
                        capture_id=ids("capt"),
                        idempotency_key=f"{key}:{order.id}",
                        created_by=created_by,
                        ids=ids,
                        now=now,
                    )
                )
        return events

    # ----------------------------------------------------------------- change collections

    def authorize_change_collection(
        self,
        order_id: str,
        collection_id: str,
        *,
        payment_id: str,
        provider_id: str,
        now: datetime,
    ) -> None:
        """The customer's payment authorized a change collection (order-changes.md §10): its
        whole amount is now secured for the order and captured like its share."""
        order = self.order(order_id)
        collection = self._change_collection(order, collection_id)
        collection.status = "authorized"
        collection.authorized_amount = collection.amount
        collection.payment_id = payment_id
        collection.provider_id = provider_id
        collection.updated_at = now
        self.refresh(now, [order])

    def _change_collection(self, order: Order, collection_id: str) -> ChangeCollection:
        for collection in order.change_collections:
            if collection.id == collection_id:
                return collection
        raise not_found("Payment collection", collection_id)

    # ----------------------------------------------------------------- cancel

    def request_cancel(
        self, order_id: str, *, seller_id: str | None = None
    ) -> tuple[list[MoneyRequest], list[MoneyRequest]]:
        """Check the order may be canceled and hold what must move at the provider: the voids
        of its uncaptured shares and the refunds of what was captured for it, per collection.
        Nothing else changes until :meth:`complete_cancel`."""
        order = self.order(order_id, seller_id=seller_id)
        _refuse_archived(order, "canceled")
        ensure_can_cancel(order.id, order.status, (f.facts() for f in order.fulfillments))
        _refuse_active_change(order)
        purses = self._paid_purses(order)
        if any(p.pending_capture or p.pending_refund for p in purses):
            raise DomainError(
                f"Order {order.id} has a payment operation in progress; retry once it has ended",
                type=CONFLICT,
            )
        voids = []
        for purse in purses:
            uncaptured = _left_to_capture(purse)
            if uncaptured:
                payment_id, provider_id = self._payment_ref(purse)
                voids.append(MoneyRequest("void", order.id, payment_id, provider_id, uncaptured))
                # Nothing may be captured while the void is under way.
                purse.pending_capture += uncaptured
        refunds = self._hold_refunds(order, order.refundable, purses)
        return voids, refunds

    def complete_cancel(
        self,
        order_id: str,
        *,
        voids: Sequence[MoneyRequest],
        refunds: Sequence[tuple[MoneyRequest, str, str]],
        canceled_by: str | None,
        ids: IdFactory,
        now: datetime,
    ) -> DomainEvent:
        """Cancel the order once the provider voided and refunded what :meth:`request_cancel`
        held (each refund with its record id and key): reservations released, the refunds booked, the
        order ``canceled``."""
        order = self.order(order_id)
        for void in voids:
            self.abandon(void)
        # Medusa 2.8: the remaining current total becomes a credit line first, so the canceled
        # order's current total is 0 and its refund is exactly what is due.
        self.refresh_order(order)
        assert order.summary is not None
        if order.summary.current_order_total != 0:
            self._book_credit_line(
                order, order.summary.current_order_total, "order", order.id, ids, now
            )
            self.refresh_order(order)
        for refund, refund_id, key in refunds:
            self.complete_refund(
                refund,
                refund_id=refund_id,
                idempotency_key=key,
                created_by=canceled_by,
                ids=ids,
                now=now,
                reason="order_canceled",
            )
        self._settle(now, voided=frozenset({order.id}))
        voided = {void.payment_id for void in voids}
        for change_collection in order.change_collections:
            if change_collection.is_unpaid or (
                change_collection.payment_id in voided and change_collection.captured_amount == 0
            ):
                change_collection.status = "canceled"
                change_collection.updated_at = now
        self._release_reservations(order)
        order.status = "canceled"
        order.canceled_at = now
        self.refresh(now, [order])
        return self._order_event(ev.ORDER_CANCELED, order)

    def abandon_cancel(
        self, voids: Sequence[MoneyRequest], refunds: Sequence[MoneyRequest]
    ) -> None:
        """The provider refused a void or a refund: release what was held."""
        for request in [*refunds, *voids]:
            self.abandon(request)

    def _release_reservations(self, order: Order) -> None:
        released: dict[tuple[str, str], int] = defaultdict(int)
        for reservation in order.reservations:
            released[(reservation.location_id, reservation.variant_id)] += reservation.quantity
        for (location_id, variant_id), quantity in sorted(released.items()):
            self.stock_moves.append(StockMove(location_id, variant_id, 0, -quantity))
        order.reservations = []

    # ----------------------------------------------------------------- status transitions

    def complete(self, order_id: str, *, now: datetime, seller_id: str | None = None) -> None:
        order = self.order(order_id, seller_id=seller_id)
        _refuse_archived(order, "completed")
        ensure_can_complete(order.id, order.status)
        order.status = "completed"
        self.refresh(now, [order])
        self._order_event(ev.ORDER_COMPLETED, order)

    def archive(self, order_id: str, *, now: datetime) -> None:
        order = self.order(order_id)
        ensure_can_archive(order.id, order.shown_status)
        order.status = "archived"
        self.refresh(now, [order])
        self._order_event(ev.ORDER_ARCHIVED, order)

    # ----------------------------------------------------------------- fulfilment

    def fulfil(
        self,
        order_id: str,
        items: Sequence[tuple[str, int]],
        *,
        fulfillment_id: str,
        location_id: str | None = None,
        shipping_option: OptionFacts | None = None,
        no_notification: bool | None = None,
        seller_id: str | None = None,
        now: datetime,
    ) -> Fulfillment:
        """Pack ``items`` (line id, quantity; partial allowed) at the seller's stock location,
        converting the lines' reservations into shipped-out stock. ``shipping_option`` must be
        a non-return option of the order's seller; without it the fulfilment ships with the
        order's method's option."""
        order = self.order(order_id, seller_id=seller_id)
        _refuse_canceled(order)
        _refuse_active_change(order)
        if not items:
            raise DomainError("Fulfillment items cannot be empty")
        lines = _lines_to_fulfil(order, items)
        location = _fulfilment_location(order, location_id)
        option_id = _fulfilment_option(order, shipping_option)
        converted = self._convert_reservations(order, items, location)
        fulfillment = Fulfillment(
            id=fulfillment_id,
            location_id=location,
            items=tuple((line_id, quantity) for line_id, quantity in items),
            shipping_option_id=option_id,
            converted=tuple(converted),
            no_notification=order.no_notification if no_notification is None else no_notification,
            packed_at=now,
            updated_at=now,
        )
        order.fulfillments.append(fulfillment)
        for line_id, quantity in items:
            lines[line_id].fulfilled_quantity += quantity
        self._fulfilment_event(ev.FULFILLMENT_CREATED, order, fulfillment, None, now)
        return fulfillment

    def _convert_reservations(
        self, order: Order, items: Sequence[tuple[str, int]], location_id: str
    ) -> list[Conversion]:
        """Reserved units of the packed lines leave the shelf: level ``stocked`` and
        ``reserved`` −q, the reservation −q (dropped at 0). Lines checkout reserved nothing for
        (variants without managed inventory) move no stock."""
        converted: list[Conversion] = []
        per_level: dict[tuple[str, str], int] = defaultdict(int)
        first_line: dict[str, str] = {}
        for line_id, quantity in items:
            held = [
                r
                for r in order.reservations
                if r.line_id == line_id and r.location_id == location_id
            ]
            if not held:
                continue
            if sum(r.quantity for r in held) < quantity:
                raise DomainError(
                    f"Quantity to fulfill exceeds the reserved quantity for the item: {line_id}"
                )
            remaining = quantity
            for reservation in held:
                if remaining == 0:
                    break
                taken = min(reservation.quantity, remaining)
                remaining -= taken
                reservation.quantity -= taken
                per_level[(reservation.location_id, reservation.variant_id)] += taken
                first_line.setdefault(reservation.variant_id, line_id)
                converted.append(
                    Conversion(line_id, reservation.variant_id, reservation.location_id, taken)
                )
        order.reservations = [r for r in order.reservations if r.quantity > 0]
        for (location, variant_id), quantity in sorted(per_level.items()):
            self.stock_moves.append(
                StockMove(
                    location,
                    variant_id,
                    -quantity,
                    -quantity,
                    shortage="Quantity to fulfill exceeds the reserved quantity for the item: "
                    + first_line[variant_id],
                )
            )
        return converted

    def ship(
        self,
        order_id: str,
        fulfillment_id: str,
        *,
        items: Sequence[tuple[str, int]] | None = None,
        labels: Sequence[Label] = (),
        no_notification: bool | None = None,
        seller_id: str | None = None,
        now: datetime,
    ) -> Fulfillment:
        """Ship a whole fulfilment (``items``, when given, must be exactly its items)."""
        order = self.order(order_id, seller_id=seller_id)
        _refuse_canceled(order)
        fulfillment = order.fulfillment(fulfillment_id)
        if fulfillment.canceled_at is not None:
            raise DomainError("Cannot create shipment for a canceled fulfillment", type=NOT_ALLOWED)
        if fulfillment.shipped_at is not None:
            raise DomainError("Shipment has already been created", type=NOT_ALLOWED)
        if fulfillment.delivered_at is not None:
            raise DomainError(
                f"Fulfillment with id {fulfillment.id} already delivered", type=NOT_ALLOWED
            )
        if items is not None:
            _check_shipment_items(order, fulfillment, items)
        fulfillment.shipped_at = now
        fulfillment.labels = _with_new_labels(fulfillment.labels, labels)
        for line_id, quantity in fulfillment.items:
            order.line(line_id).shipped_quantity += quantity
        self._fulfilment_event(ev.SHIPMENT_CREATED, order, fulfillment, no_notification, now)
        return fulfillment

    def deliver(
        self,
        order_id: str,
        fulfillment_id: str,
        *,
        no_notification: bool | None = None,
        seller_id: str | None = None,
        now: datetime,
    ) -> Fulfillment:
        """Mark delivered (shipped or not, as Medusa does; ``shipped_at`` stays as it is)."""
        order = self.order(order_id, seller_id=seller_id)
        _refuse_canceled(order)
        fulfillment = order.fulfillment(fulfillment_id)
        if fulfillment.canceled_at is not None:
            raise DomainError("Cannot deliver an already canceled fulfillment", type=NOT_ALLOWED)
        if fulfillment.delivered_at is not None:
            raise DomainError("Fulfillment has already been marked delivered", type=NOT_ALLOWED)
        fulfillment.delivered_at = now
        for line_id, quantity in fulfillment.items:
            order.line(line_id).delivered_quantity += quantity
        self._fulfilment_event(ev.DELIVERED, order, fulfillment, no_notification, now)
        return fulfillment

    def cancel_fulfillment(
        self,
        order_id: str,
        fulfillment_id: str,
        *,
        no_notification: bool | None = None,
        seller_id: str | None = None,
        ids: IdFactory,
        now: datetime,
    ) -> Fulfillment:
        """Cancel a fulfilment that neither shipped nor was delivered: the lines' fulfilled
        quantities fall back and exactly the converted stock and reservations come back."""
        order = self.order(order_id, seller_id=seller_id)
        _refuse_canceled(order)
        _refuse_active_change(order)
        fulfillment = order.fulfillment(fulfillment_id)
        if fulfillment.canceled_at is not None:
            raise DomainError("The fulfillment is already canceled", type=NOT_ALLOWED)
        if fulfillment.shipped_at is not None:
            raise DomainError(
                "The fulfillment has already been shipped. Shipped fulfillments cannot be canceled",
                type=NOT_ALLOWED,
            )
        if fulfillment.delivered_at is not None:
            raise DomainError(
                f"Fulfillment with id {fulfillment.id} already delivered", type=NOT_ALLOWED
            )
        for line_id, quantity in fulfillment.items:
            # Units in a return or a claim must stay fulfilled: a return's would be restocked
            # twice, a claim's written off without having been sent.
            line = order.line(line_id)
            if line.fulfilled_quantity - quantity < units_taken(order, line):
                raise DomainError(
                    f"Item {line_id} has units in a return or claim; fulfillment "
                    f"{fulfillment.id} cannot be canceled",
                    type=NOT_ALLOWED,
                )
        fulfillment.canceled_at = now
        for line_id, quantity in fulfillment.items:
            order.line(line_id).fulfilled_quantity -= quantity
        self._restore(order, fulfillment.converted, ids)
        self._fulfilment_event(ev.FULFILLMENT_CANCELED, order, fulfillment, no_notification, now)
        return fulfillment

    def _restore(self, order: Order, converted: Iterable[Conversion], ids: IdFactory) -> None:
        per_level: dict[tuple[str, str], int] = defaultdict(int)
        per_reservation: dict[tuple[str, str, str], int] = defaultdict(int)
        for move in converted:
            per_reservation[(move.line_id, move.variant_id, move.location_id)] += move.quantity
            per_level[(move.location_id, move.variant_id)] += move.quantity
        for (location, variant_id), quantity in sorted(per_level.items()):
            self.stock_moves.append(StockMove(location, variant_id, quantity, quantity))
        for (line_id, variant_id, location), quantity in sorted(per_reservation.items()):
            existing = next(
                (
                    r
                    for r in order.reservations
                    if (r.line_id, r.variant_id, r.location_id) == (line_id, variant_id, location)
                ),
                None,
            )
            if existing is None:
                order.reservations.append(
                    Reservation(ids("resitem"), line_id, variant_id, location, quantity)
                )
            else:
                existing.quantity += quantity

    def _fulfilment_event(
        self,
        name: str,
        order: Order,
        fulfillment: Fulfillment,
        no_notification: bool | None,
        now: datetime,
    ) -> None:
        fulfillment.updated_at = now
        self.refresh(now, [order])
        self._order_event(
            name,
            order,
            fulfillment_id=fulfillment.id,
            no_notification=(
                fulfillment.no_notification if no_notification is None else no_notification
            ),
        )


# --------------------------------------------------------------------------- rules


def _discounted(item: Line | ShippingMethod) -> LineTotals:
    """A line's or shipping method's stored totals, its discounts included."""
    return LineTotals(
        item.subtotal,
        item.tax_total,
        item.total,
        item.discount_subtotal,
        item.discount_tax_total,
        item.discount_total,
    )


def _order_totals(order: Order) -> DocumentTotals:
    """The order's totals from its lines and shipping methods (a return's shipping method
    included); ``total`` subtracts the credit lines (orders.md)."""
    totals = document_totals(
        map(_discounted, order.lines), map(_discounted, order.shipping_methods)
    )
    credit = sum(c.amount for c in order.credit_lines)
    return replace(totals, total=totals.total - credit)


def _refuse_canceled(order: Order) -> None:
    if order.is_canceled:
        raise DomainError(f"Order with id {order.id} has been canceled.", type=INVALID_DATA)


def _refuse_active_change(order: Order) -> None:
    change = active_change(order)
    if change is not None:
        raise DomainError(
            f"Order ({order.id}) already has an existing active order change: "
            f"{change.id} ({change.change_type})"
        )


def _refuse_archived(order: Order, action: str) -> None:
    if order.status == "archived":
        raise DomainError(f"Order with id {order.id} is archived and cannot be {action}")


def _lines_to_fulfil(order: Order, items: Sequence[tuple[str, int]]) -> dict[str, Line]:
    """The order lines named by ``items``, after Medusa's checks (reference §6.2)."""
    if not items:
        raise DomainError("No items to fulfill")
    seen: set[str] = set()
    for line_id, quantity in items:
        if line_id in seen:
            raise DomainError(f"Item {line_id} is listed more than once")
        seen.add(line_id)
        if quantity < 1:
            raise DomainError(f"Quantity to fulfill of item {line_id} is required.")
    lines = {line.id: line for line in order.lines if line.id in seen}
    missing = [line_id for line_id, _ in items if line_id not in lines]
    if missing:
        raise DomainError(
            f"Items with ids {', '.join(missing)} does not exist in order with id {order.id}."
        )
    if len({line.requires_shipping for line in lines.values()}) > 1:
        raise DomainError(MIXED_SHIPPING)
    for line_id, quantity in items:
        line = lines[line_id]
        if quantity > line.quantity - line.fulfilled_quantity:
            raise DomainError(
                f"Cannot fulfill more items than what was ordered for item {line.id}."
            )
    return lines


def _fulfilment_location(order: Order, location_id: str | None) -> str:
    """The seller's one stock location; another location is refused."""
    if order.location_id is None:
        raise DomainError(
            "Cannot create fulfillment without stock location, the seller of order "
            f"{order.id} has none."
        )
    if location_id is not None and location_id != order.location_id:
        raise DomainError(
            f"Location {location_id} is not the stock location of seller {order.seller_id}"
        )
    return order.location_id


def _fulfilment_option(order: Order, option: OptionFacts | None) -> str | None:
    """The option a fulfilment ships with: the one given (a non-return option of the order's
    seller) or the option of the order's shipping method."""
    if option is None:
        return next(
            (
                m.shipping_option_id
                for m in order.shipping_methods
                if m.shipping_option_id is not None
                and m.return_id is None
                and m.exchange_id is None
                and m.claim_id is None
            ),
            None,
        )
    if option.seller_id != order.seller_id:
        raise DomainError(
            f"Shipping option {option.id} does not belong to seller {order.seller_id}"
        )
    if option.is_return:
        raise DomainError(
            f"Shipping option {option.id} is a return option and cannot ship items to the customer"
        )
    return option.id


def _with_new_labels(kept: tuple[Label, ...], added: Sequence[Label]) -> tuple[Label, ...]:
    """``kept`` and the ``added`` labels not identical (tracking number and URLs) to one of
    them or to an earlier one of ``added``."""
    seen = {(label.tracking_number, label.tracking_url, label.label_url) for label in kept}
    result = list(kept)
    for label in added:
        key = (label.tracking_number, label.tracking_url, label.label_url)
        if key not in seen:
            seen.add(key)
            result.append(label)
    return tuple(result)


def _check_shipment_items(
    order: Order, fulfillment: Fulfillment, items: Sequence[tuple[str, int]]
) -> None:
    """A fulfilment ships whole: the items sent must be exactly what it packed."""
    sent = dict(items)
    if len(sent) != len(items) or sent != dict(fulfillment.items):
        raise DomainError(f"Shipment items must be the items of fulfillment {fulfillment.id}")

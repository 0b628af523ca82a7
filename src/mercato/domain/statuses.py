"""Order statuses: derived payment / fulfillment status, group aggregation, status transitions.

* Per order (orders.md): Medusa v2.8's ``getLastPaymentStatus`` and ``getLastFulfillmentStatus``
  (reference medusa-orders.md §2.2 / §2.3), fed with **that order's own** facts, so a sibling's
  capture or shipment never moves another order's status.
* Per group (order-groups.md, "Status aggregation"): the same priority rules lifted to the orders
  of the group.
* Transitions (reference §2.1 and §4.8 "Cancel order"): the guards, with Medusa's exact messages.

Everything here is pure and works on integer minor units, so amount comparisons are exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final, Literal, Protocol, get_args

from mercato.domain.errors import INVALID_DATA, NOT_ALLOWED, DomainError

OrderStatus = Literal["pending", "completed", "draft", "archived", "canceled", "requires_action"]
# An order group's status: its orders' (no drafts: a group is placed, never drafted).
GroupStatus = Literal["pending", "completed", "archived", "canceled", "requires_action"]
PaymentStatus = Literal[
    "not_paid",
    "awaiting",
    "authorized",
    "partially_authorized",
    "captured",
    "partially_captured",
    "partially_refunded",
    "refunded",
    "canceled",
    "requires_action",
]
FulfillmentStatus = Literal[
    "not_fulfilled",
    "partially_fulfilled",
    "fulfilled",
    "partially_shipped",
    "shipped",
    "partially_delivered",
    "delivered",
    "partially_returned",
    "returned",
    "canceled",
]

# The vocabularies as values, from the types above (one definition each): the resources'
# filters, the CHECK constraints of the stored columns (``orders.models``) and the tests use them.
ORDER_STATUSES: Final[tuple[OrderStatus, ...]] = get_args(OrderStatus)
# The stored lifecycle under the shown status (order-changes.md §4): never requires_action.
LIFECYCLE_STATUSES: Final = tuple(s for s in ORDER_STATUSES if s != "requires_action")
GROUP_STATUSES: Final[tuple[GroupStatus, ...]] = get_args(GroupStatus)
PAYMENT_STATUSES: Final[tuple[PaymentStatus, ...]] = get_args(PaymentStatus)
FULFILLMENT_STATUSES: Final[tuple[FulfillmentStatus, ...]] = get_args(FulfillmentStatus)

# Collection statuses that getLastPaymentStatus reads from its per-status buckets. Every other
# value (completed, failed, partially_captured, ...) lands in a bucket Medusa never reads, so it is
# ignored; captured/refunded are derived from amounts only (this also is Mercur's #1399 fix
# against double counting).
_BUCKETED_COLLECTION_STATUSES: Final = frozenset(
    {"not_paid", "awaiting", "authorized", "partially_authorized", "canceled", "requires_action"}
)


# --------------------------------------------------------------------------- payment status


@dataclass(frozen=True, slots=True)
class PaymentCollectionFacts:
    """The fields of one payment collection that ``getLastPaymentStatus`` reads (minor units)."""

    status: str
    amount: int
    captured_amount: int = 0
    refunded_amount: int = 0


def last_payment_status(collections: Iterable[PaymentCollectionFacts]) -> PaymentStatus:
    """Port of Medusa v2.8 ``getLastPaymentStatus`` (reference §2.2), exact integer equality.

    Quirks kept on purpose (the reference says to copy them): a collection whose *status* is
    ``partially_authorized`` is never read, so it yields ``not_paid``; a refund is measured against
    ``amount`` (not against what was captured), and ``refunded`` wins when the refunded and
    captured counters are equal — so a partial capture followed by any partial refund is
    ``refunded``; a zero-amount collection counts as captured.
    """
    pcs = list(collections)
    count: dict[str, Fraction] = {}

    def bump(key: str, by: Fraction) -> None:
        count[key] = count.get(key, Fraction(0)) + by

    for pc in pcs:
        if pc.captured_amount > 0 or pc.amount == 0:
            bump("captured", Fraction(1) if pc.captured_amount == pc.amount else Fraction(1, 2))
        if pc.refunded_amount > 0:
            bump("refunded", Fraction(1) if pc.refunded_amount == pc.amount else Fraction(1, 2))
        if pc.status in _BUCKETED_COLLECTION_STATUSES:
            bump(pc.status, Fraction(1))

    def n(key: str) -> Fraction:
        return count.get(key, Fraction(0))

    total = len(pcs)
    active = total - n("canceled")
    if n("requires_action") > 0:
        return "requires_action"
    if n("refunded") > 0:
        return "refunded" if n("refunded") == n("captured") else "partially_refunded"
    if n("captured") > 0:
        return "captured" if n("captured") == active else "partially_captured"
    if n("authorized") > 0:
        return "authorized" if n("authorized") == active else "partially_authorized"
    if n("canceled") > 0 and n("canceled") == total:
        return "canceled"
    if n("awaiting") > 0:
        return "awaiting"
    return "not_paid"


@dataclass(frozen=True, slots=True)
class OrderPaymentFacts:
    """One order's share of the cart's single payment collection (orders.md, "Money").

    * ``allocated``: the order's allocated amount on its payment-collection link (= its total).
    * ``captured`` / ``refunded``: sums of the captures / refunds attributed to this order.
    * ``collection_status``: the shared collection's status (``not_paid``, ``awaiting``,
      ``authorized``, ``partially_authorized``, ``completed``, ``failed``, ``canceled``,
      ``requires_action``); ``None`` when the order has no payment collection (a free cart).
    * ``canceled``: this order's share was voided (the order was canceled); the order then sees
      its share as a ``canceled`` collection whatever the shared collection's state.
    """

    allocated: int
    captured: int = 0
    refunded: int = 0
    collection_status: str | None = None
    canceled: bool = False

    def as_collection(self) -> PaymentCollectionFacts | None:
        """The order's virtual collection: its own amounts with the shared (or voided) status."""
        if self.collection_status is None:
            return None
        return PaymentCollectionFacts(
            status="canceled" if self.canceled else self.collection_status,
            amount=self.allocated,
            captured_amount=self.captured,
            refunded_amount=self.refunded,
        )


def order_payment_status(
    facts: OrderPaymentFacts, change_collections: Iterable[PaymentCollectionFacts] = ()
) -> PaymentStatus:
    """Per-order ``payment_status``: ``getLastPaymentStatus`` over the order's own share and the
    collections its changes created (order-changes.md §4), never a sibling's."""
    pc = facts.as_collection()
    return last_payment_status([*([] if pc is None else [pc]), *change_collections])


# --------------------------------------------------------------------------- fulfillment status


@dataclass(frozen=True, slots=True)
class FulfillmentFacts:
    """Which timestamps of one fulfillment are set (``packed_at``, ``shipped_at``, ...)."""

    packed: bool = False
    shipped: bool = False
    delivered: bool = False
    canceled: bool = False


@dataclass(frozen=True, slots=True)
class ItemFulfillmentFacts:
    """An order line's ordered quantity and how much of it is fulfilled.

    ``fulfilled_quantity=None`` means "unknown" and, as in Medusa, never counts as unfulfilled;
    Mercato always knows it (orders.md: the rule applies on list and detail alike).
    """

    quantity: int
    fulfilled_quantity: int | None = 0
    # Units received or dismissed back from the customer (order-changes.md §4).
    returned: int = 0


def order_fulfillment_status(
    fulfillments: Iterable[FulfillmentFacts], items: Iterable[ItemFulfillmentFacts] = ()
) -> FulfillmentStatus:
    """Port of Medusa ``getLastFulfillmentStatus`` including the unfulfilled-items rule (§2.3).

    Each fulfillment counts once, in its most advanced non-canceled state (canceled first, then
    delivered, shipped, packed); one with none of those flags counts only in the total. A level
    is reached fully only when every non-canceled fulfillment is at it and no item is unfulfilled.

    First (order-changes.md §4, seed 003): once any unit came back, ``returned`` when every
    line's units all came back, else ``partially_returned``.
    """
    items = list(items)
    if any(i.returned > 0 for i in items):
        return "returned" if all(i.returned == i.quantity for i in items) else "partially_returned"
    counted = {"canceled": 0, "delivered": 0, "shipped": 0, "fulfilled": 0}
    total = 0
    for f in fulfillments:
        total += 1
        if f.canceled:
            counted["canceled"] += 1
        elif f.delivered:
            counted["delivered"] += 1
        elif f.shipped:
            counted["shipped"] += 1
        elif f.packed:
            counted["fulfilled"] += 1
    active = total - counted["canceled"]
    unfulfilled = any(
        i.fulfilled_quantity is not None and i.fulfilled_quantity < i.quantity for i in items
    )
    levels: tuple[tuple[str, FulfillmentStatus, FulfillmentStatus], ...] = (
        ("delivered", "delivered", "partially_delivered"),
        ("shipped", "shipped", "partially_shipped"),
        ("fulfilled", "fulfilled", "partially_fulfilled"),
    )
    for key, full, partial in levels:
        if counted[key] > 0:
            return full if counted[key] == active and not unfulfilled else partial
    if counted["canceled"] > 0 and counted["canceled"] == total:
        return "canceled"
    return "not_fulfilled"


# --------------------------------------------------------------------------- group aggregation


@dataclass(frozen=True, slots=True)
class GroupMember:
    """One order of a group, as the aggregation needs it.

    ``was_canceled`` marks an order canceled before being archived (``canceled_at`` set): its
    status is then ``archived`` but it still is a canceled order for the payment / fulfillment
    rules' "every non-canceled order".
    """

    status: str
    payment_status: str = "not_paid"
    fulfillment_status: str = "not_fulfilled"
    was_canceled: bool = False

    @property
    def is_canceled(self) -> bool:
        return self.status == "canceled" or self.was_canceled


@dataclass(frozen=True, slots=True)
class GroupStatuses:
    status: str
    payment_status: PaymentStatus
    fulfillment_status: FulfillmentStatus


def group_status(order_statuses: Iterable[str]) -> GroupStatus:
    """Group ``status`` from its orders' statuses (order-groups.md, first matching rule wins).

    ``canceled`` if all canceled; ``archived`` if all archived/canceled and one archived;
    ``completed`` if all completed/archived/canceled and one completed; ``requires_action`` if
    any requires action; else ``pending``. An empty group (never stored) is ``pending``.
    """
    statuses = list(order_statuses)
    if not statuses:
        return "pending"
    present = set(statuses)
    if present == {"canceled"}:
        return "canceled"
    if present <= {"archived", "canceled"} and "archived" in present:
        return "archived"
    if present <= {"completed", "archived", "canceled"} and "completed" in present:
        return "completed"
    if "requires_action" in present:
        return "requires_action"
    return "pending"


def _level(
    orders: Sequence[GroupMember],
    attr: str,
    members: frozenset[str],
    full: str,
) -> bool | None:
    """None if no order has a status in ``members``; else whether every non-canceled order is
    exactly ``full`` (vacuously true when every order is canceled)."""
    values = [getattr(o, attr) for o in orders]
    if not any(v in members for v in values):
        return None
    return all(getattr(o, attr) == full for o in orders if not o.is_canceled)


def group_payment_status(orders: Iterable[GroupMember]) -> PaymentStatus:
    """Group ``payment_status`` (order-groups.md, first rule that matches wins).

    any requires_action → requires_action; any (partially_)refunded → refunded if every
    non-canceled order is refunded else partially_refunded; the same for captured, then
    authorized; all canceled → canceled; any awaiting → awaiting; else not_paid.
    "Non-canceled" is the **order** status (see :attr:`GroupMember.is_canceled`), so a canceled
    sibling never keeps the group at a partial status; "all canceled" is every order's
    *payment* status being ``canceled``.
    """
    members = list(orders)
    values = [o.payment_status for o in members]
    if "requires_action" in values:
        return "requires_action"
    ladder: tuple[tuple[PaymentStatus, PaymentStatus], ...] = (
        ("refunded", "partially_refunded"),
        ("captured", "partially_captured"),
        ("authorized", "partially_authorized"),
    )
    for full, partial in ladder:
        every = _level(members, "payment_status", frozenset({full, partial}), full)
        if every is not None:
            return full if every else partial
    if values and all(v == "canceled" for v in values):
        return "canceled"
    if "awaiting" in values:
        return "awaiting"
    return "not_paid"


_RETURNED: Final = frozenset({"returned", "partially_returned"})


def group_fulfillment_status(orders: Iterable[GroupMember]) -> FulfillmentStatus:
    """Group ``fulfillment_status`` (order-groups.md, order-changes.md §4).

    First: any order (partially_)returned → returned if every non-canceled order is returned,
    else partially_returned.

    any (partially_)delivered → delivered if every non-canceled order is delivered else
    partially_delivered; the same for shipped, then fulfilled; all canceled → canceled; else
    not_fulfilled. "Non-canceled" and "all canceled" read as in :func:`group_payment_status`.
    """
    members = list(orders)
    values = [o.fulfillment_status for o in members]
    returned = _level(members, "fulfillment_status", _RETURNED, "returned")
    if returned is not None:
        return "returned" if returned else "partially_returned"
    ladder: tuple[tuple[FulfillmentStatus, FulfillmentStatus], ...] = (
        ("delivered", "partially_delivered"),
        ("shipped", "partially_shipped"),
        ("fulfilled", "partially_fulfilled"),
    )
    for full, partial in ladder:
        every = _level(members, "fulfillment_status", frozenset({full, partial}), full)
        if every is not None:
            return full if every else partial
    if values and all(v == "canceled" for v in values):
        return "canceled"
    return "not_fulfilled"


def group_statuses(orders: Iterable[GroupMember]) -> GroupStatuses:
    """All three derived group statuses at once."""
    members = list(orders)
    return GroupStatuses(
        status=group_status(o.status for o in members),
        payment_status=group_payment_status(members),
        fulfillment_status=group_fulfillment_status(members),
    )


# --------------------------------------------------------------------------- transitions


class _Dues(Protocol):
    @property
    def refund_due(self) -> int: ...

    @property
    def amount_due(self) -> int: ...


def shown_status(status: str, summary: _Dues | None) -> str:
    """The status clients see (order-changes.md §4): ``requires_action`` over a stored
    ``pending`` or ``completed`` while a refund or an amount is due."""
    if (
        status in ("pending", "completed")
        and summary is not None
        and (summary.refund_due > 0 or summary.amount_due > 0)
    ):
        return "requires_action"
    return status


def ensure_can_cancel(
    order_id: str, status: str, fulfillments: Iterable[FulfillmentFacts] = ()
) -> None:
    """Guards of Medusa's cancelOrderWorkflow (reference §4.8), in its order.

    Already canceled → ``Order with id <id> has been canceled.`` (invalid_data); any fulfillment
    not canceled → ``All fulfillments must be canceled before canceling an order``
    (not_allowed). Medusa has no other guard (a completed order may be canceled).
    """
    if status == "canceled":
        raise DomainError(f"Order with id {order_id} has been canceled.", type=INVALID_DATA)
    if any(not f.canceled for f in fulfillments):
        raise DomainError(
            "All fulfillments must be canceled before canceling an order", type=NOT_ALLOWED
        )


def ensure_can_complete(order_id: str, status: str) -> None:
    """Any status but ``canceled`` may complete (reference §2.1); else Medusa's message."""
    if status == "canceled":
        raise DomainError(
            f"Orders {order_id} are canceled and cannot be completed", type=INVALID_DATA
        )


def ensure_can_archive(order_id: str, status: str) -> None:
    """Only completed, canceled or draft orders may be archived (reference §2.1).

    The message is Medusa's, inverted relative to the rule (sic), kept for compatibility.
    """
    if status not in {"completed", "canceled", "draft"}:
        raise DomainError(
            f"Orders {order_id} are completed, canceled, or in draft and cannot be archived",
            type=INVALID_DATA,
        )

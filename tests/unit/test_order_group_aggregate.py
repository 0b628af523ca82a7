"""The order group aggregate alone (no database): a hypothesis state machine drives random
captures, refunds, payment captures, cancels, fulfilments, shipments, deliveries, completes,
archives — some refused by the provider half-way — every return route (order-changes.md §6),
every exchange route (§7), every claim route (§8), every order edit route (§9), credit lines and the customer paying change
collections (so money moves across several collections, §3.6) over a multi-seller group, and
checks every invariant of orders.md and order-changes.md after each step; plus examples: §16's
worked return, exchange and claims, exact unit values (§3.1) and the exact messages."""

from __future__ import annotations

import copy
import itertools
from collections import defaultdict
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from mercato.domain import claims, edits, exchanges, returns
from mercato.domain import events as ev
from mercato.domain.edits import LineEdit
from mercato.domain.errors import DomainError
from mercato.domain.exchanges import OutboundItem, Tax, VariantQuote
from mercato.domain.order_changes import (
    CLAIM_REASONS,
    NO_ACTIVE_CHANGE,
    ChangeAction,
    Claim,
    Exchange,
    OrderChange,
    Return,
    units_taken,
)
from mercato.domain.order_group import (
    PAYMENT_OVER_CAPTURE,
    Capture,
    Collection,
    Label,
    Line,
    MoneyRequest,
    Order,
    OrderGroup,
    Payment,
    Refund,
    Reservation,
    ShippingMethod,
    StockMove,
    format_amount,
)
from mercato.domain.returns import Actor, RequestedItem, ShippingQuote
from mercato.domain.statuses import (
    FulfillmentFacts,
    GroupMember,
    ItemFulfillmentFacts,
    OrderPaymentFacts,
    PaymentCollectionFacts,
    group_statuses,
    order_fulfillment_status,
    order_payment_status,
)
from mercato.domain.totals import LineTotals, document_totals, line_totals, shipping_totals

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Ids:
    def __init__(self) -> None:
        self._numbers = itertools.count(1)

    def __call__(self, prefix: str) -> str:
        return f"{prefix}_{next(self._numbers):04d}"


def _line(
    ids: Ids,
    quantity: int,
    unit_price: int,
    *,
    requires_shipping: bool = True,
    tax_rate: int = 0,
) -> Line:
    totals = line_totals(unit_price, quantity, tax_rate, False)
    return Line(
        id=ids("ordli"),
        quantity=quantity,
        unit_price=unit_price,
        subtotal=totals.subtotal,
        tax_total=totals.tax_total,
        total=totals.total,
        requires_shipping=requires_shipping,
        variant_id=ids("variant"),
    )


def build_group(
    ids: Ids,
    orders_spec: list[list[tuple[int, int, bool]]],
    *,
    paid: bool = True,
    captured: bool = False,
    tax_rate: int = 0,
    shipping: list[int] | None = None,
) -> tuple[OrderGroup, dict[tuple[str, str], list[int]]]:
    """A placed group: one order per entry of ``orders_spec`` (lines of (quantity, unit price,
    managed)), each managed line reserved at its seller's location, taxed at ``tax_rate`` %
    (exclusive, items and shipping), with one shipping method of ``shipping[n]`` when given;
    returns it with the inventory levels (location, variant) → [stocked, reserved]."""
    orders = []
    inventory: dict[tuple[str, str], list[int]] = {}
    for n, lines_spec in enumerate(orders_spec):
        location = f"sloc_{n}"
        lines = [_line(ids, q, p, tax_rate=tax_rate) for q, p, _ in lines_spec]
        reservations = []
        for line, (quantity, _, managed) in zip(lines, lines_spec, strict=True):
            if managed:
                assert line.variant_id is not None
                reservations.append(
                    Reservation(ids("resitem"), line.id, line.variant_id, location, quantity)
                )
                inventory[(location, line.variant_id)] = [quantity + 5, quantity]
        methods = []
        if shipping is not None:
            totals = shipping_totals(shipping[n], tax_rate, False)
            methods.append(
                ShippingMethod(
                    id=ids("ordsm"),
                    seller_id=f"sel_{n}",
                    name="Standard",
                    amount=shipping[n],
                    subtotal=totals.subtotal,
                    tax_total=totals.tax_total,
                    total=totals.total,
                    shipping_option_id=f"so_{n}",
                )
            )
        orders.append(
            Order(
                id=ids("order"),
                seller_id=f"sel_{n}",
                currency_code="usd",
                status="pending",
                totals=document_totals(
                    (LineTotals(li.subtotal, li.tax_total, li.total) for li in lines),
                    (LineTotals(m.subtotal, m.tax_total, m.total) for m in methods),
                ),
                location_id=location,
                region_id="reg_1",
                lines=lines,
                shipping_methods=methods,
                reservations=reservations,
            )
        )
    grand = sum(o.total for o in orders)
    collection = Collection(ids("pay_col"), "usd", grand, "awaiting") if paid else None
    payment = (
        Payment(ids("pay"), collection.id, "pp_test", grand) if collection is not None else None
    )
    group = OrderGroup.place(
        group_id=ids("og"),
        cart_id="cart_1",
        customer_id=None,
        sales_channel_id="sc_1",
        currency_code="usd",
        orders=orders,
        collection=collection,
        payment=payment,
        captured=captured,
        ids=ids,
        now=T0,
    )
    return group, inventory


def apply_moves(inventory: dict[tuple[str, str], list[int]], moves: list[StockMove]) -> None:
    """The repository's update of each level; a variant without a level (inventory not
    managed) moves nothing, unless the move needs the level (``shortage``)."""
    for move in moves:
        level = inventory.get((move.location_id, move.variant_id))
        if level is None:
            assert move.shortage is None, move.shortage
            continue
        if move.shortage is not None and move.reserved > 0:
            # A new reservation needs the units free (the repository's guarded update).
            assert level[0] - level[1] >= move.reserved, move.shortage
        elif move.shortage is not None:
            assert level[1] >= -move.reserved, move.shortage
        level[0] += move.stocked
        level[1] += move.reserved


# --------------------------------------------------------------------------- examples


def test_placement_raises_events_and_derives_the_group():
    ids = Ids()
    group, _ = build_group(ids, [[(2, 500, True)], [(1, 1250, True), (3, 100, False)]])
    assert [e.name for e in group.events] == [
        ev.ORDER_PLACED,
        ev.ORDER_PLACED,
        ev.ORDER_GROUP_CREATED,
    ]
    assert [e.seller_id for e in group.events] == ["sel_0", "sel_1", None]
    assert group.total == 1000 + 1550 and group.seller_count == 2
    assert group.payment_status == "authorized"
    assert all(o.payment_status == "authorized" for o in group.orders)
    assert [o.share.allocated for o in group.orders if o.share] == [1000, 1550]


def test_capture_messages_and_caps():
    ids = Ids()
    group, _ = build_group(ids, [[(2, 500, True)], [(1, 1250, True)]])
    a = group.orders[0]
    with pytest.raises(DomainError) as refused:
        group.request_capture(a.id, 1001)
    assert refused.value.message == f"Cannot capture more than 10.00 USD for order {a.id}"
    with pytest.raises(DomainError) as refused:
        group.request_capture(a.id, 0)
    assert refused.value.message == "The amount to capture must be greater than 0"
    with pytest.raises(DomainError) as refused:
        group.request_capture(a.id, None, seller_id="sel_1")
    assert refused.value.type == "not_found"
    assert refused.value.message == f"Order with id {a.id} was not found"

    [held] = group.request_capture(a.id, 600)
    # While the provider works on it, the held amount cannot be captured twice.
    with pytest.raises(DomainError) as refused:
        group.request_capture(a.id, 401)
    assert refused.value.message == f"Cannot capture more than 4.00 USD for order {a.id}"
    group.complete_capture(
        held, capture_id="capt_1", idempotency_key="k", created_by=None, ids=ids, now=T0
    )
    assert a.payment_status == "partially_captured"
    assert group.payment_status == "partially_captured"
    assert group.orders[1].payment_status == "authorized"  # a sibling never moves
    [rest] = group.request_capture(a.id, None)
    assert rest.amount == 400
    group.abandon(rest)
    assert a.capturable == 400


def test_refund_is_bounded_by_what_this_order_captured():
    ids = Ids()
    group, _ = build_group(ids, [[(2, 500, True)], [(1, 1250, True)]], captured=True)
    a, b = group.orders
    [request] = group.request_refund(a.id, 250)
    group.complete_refund(
        request, refund_id="ref_1", idempotency_key=None, created_by=None, ids=ids, now=T0
    )
    with pytest.raises(DomainError) as refused:
        group.request_refund(a.id, 751)
    assert refused.value.message == f"Cannot refund more than 7.50 USD for order {a.id}"
    assert b.refundable == 1250 and a.refundable == 750


def test_cancel_voids_refunds_and_releases_only_its_own_order():
    ids = Ids()
    group, inventory = build_group(ids, [[(2, 500, True)], [(1, 1250, True)]])
    a, b = group.orders
    [held] = group.request_capture(a.id, 300)
    group.complete_capture(
        held, capture_id="capt_1", idempotency_key=None, created_by=None, ids=ids, now=T0
    )
    [void], [refund] = group.request_cancel(a.id)
    assert void.amount == 700 and refund.amount == 300
    assert a.capturable == 0 and a.refundable == 0
    group.complete_cancel(
        a.id, voids=[void], refunds=[(refund, "ref_1", "k")], canceled_by=None, ids=ids, now=T0
    )
    apply_moves(inventory, group.stock_moves)
    assert a.status == "canceled" and a.reservations == []
    assert a.payment_status == "refunded"
    assert b.status == "pending" and b.payment_status == "authorized" and b.reservations
    assert [e.name for e in group.events[-2:]] == [ev.PAYMENT_REFUNDED, ev.ORDER_CANCELED]
    assert inventory[("sloc_0", a.lines[0].variant_id)][1] == 0


def test_fulfilment_lifecycle_and_messages():
    ids = Ids()
    group, inventory = build_group(ids, [[(3, 500, True), (1, 100, False)]])
    order = group.orders[0]
    managed, unmanaged = order.lines
    with pytest.raises(DomainError) as refused:
        group.fulfil(order.id, [(managed.id, 4)], fulfillment_id="ful_1", now=T0)
    assert refused.value.message == (
        f"Cannot fulfill more items than what was ordered for item {managed.id}."
    )
    fulfillment = group.fulfil(order.id, [(managed.id, 2)], fulfillment_id="ful_1", now=T0)
    apply_moves(inventory, group.stock_moves)
    assert inventory[("sloc_0", managed.variant_id)] == [6, 1]
    assert order.fulfillment_status == "partially_fulfilled"
    group.ship(order.id, fulfillment.id, labels=[Label("fulla_1", "T1")], now=T0)
    with pytest.raises(DomainError) as refused:
        group.ship(order.id, fulfillment.id, now=T0)
    assert refused.value.message == "Shipment has already been created"
    with pytest.raises(DomainError) as refused:
        group.cancel_fulfillment(order.id, fulfillment.id, ids=ids, now=T0)
    assert refused.value.message == (
        "The fulfillment has already been shipped. Shipped fulfillments cannot be canceled"
    )
    group.deliver(order.id, fulfillment.id, now=T0)
    with pytest.raises(DomainError) as refused:
        group.deliver(order.id, fulfillment.id, now=T0)
    assert refused.value.message == "Fulfillment has already been marked delivered"
    assert order.fulfillment_status == "partially_delivered"
    with pytest.raises(DomainError) as refused:
        group.request_cancel(order.id)
    assert refused.value.message == "All fulfillments must be canceled before canceling an order"


# --------------------------------------------------------------------------- returns (examples)


def demo_group(ids: Ids) -> tuple[OrderGroup, dict[tuple[str, str], list[int]]]:
    """order-changes.md §16's setup (USD, 10 % exclusive tax): order A = 2 × Shirt 30.00
    (66.00) + shipping 5.00 (5.50) = 71.50; order B = 1 × Mug 20.00 (22.00) + 4.00 (4.40) =
    26.40; one collection of 97.90 authorized."""
    group, inventory = build_group(
        ids, [[(2, 3000, True)], [(1, 2000, True)]], tax_rate=10, shipping=[500, 400]
    )
    a, b = group.orders
    assert (a.total, b.total, group.total) == (7150, 2640, 9790)
    return group, inventory


def actor(ids: Ids) -> Actor:
    return Actor("user_1", T0, ids)


RETURN_OPTION_A = ShippingQuote(
    id="so_A_ret",
    seller_id="sel_0",
    region_id="reg_1",
    is_return=True,
    name="Return",
    amount=300,
    tax_rate=10,
    tax_inclusive=False,
)


def figures(summary) -> tuple[int, int, int, int]:
    return (
        summary.current_order_total,
        summary.pending_difference,
        summary.return_requested_total,
        summary.refund_due,
    )


def captured_and_shipped(group: OrderGroup, ids: Ids, order: Order) -> None:
    [held] = group.request_capture(order.id, None)
    group.complete_capture(
        held, capture_id=ids("capt"), idempotency_key=None, created_by=None, ids=ids, now=T0
    )
    items = [(line.id, line.quantity) for line in order.lines]
    fulfillment = group.fulfil(order.id, items, fulfillment_id=ids("ful"), now=T0)
    group.ship(order.id, fulfillment.id, now=T0)


def test_worked_example_return_of_order_a_fully_captured():
    ids = Ids()
    group, inventory = demo_group(ids)
    a, b = group.orders
    shirt = a.lines[0]
    captured_and_shipped(group, ids, a)
    apply_moves(inventory, group.stock_moves)
    moves_seen = len(group.stock_moves)
    assert a.summary is not None and a.summary.paid_total == 7150
    assert figures(a.summary) == (7150, 0, 0, 0)
    b_before = copy.deepcopy(b)

    # 1. An open return; the summary does not move.
    placed_summary = a.summary
    ret = returns.begin_return(group, a.id, actor(ids))
    assert ret.status == "open" and ret.location_id == "sloc_0"
    assert a.summary == placed_summary and a.version == 1

    # 2. One Shirt: V(1) of 66.00 / 2 = 33.00, in the preview only.
    returns.request_items(group, ret.id, [RequestedItem(shirt.id, 1)], actor(ids))
    preview = returns.preview_order(group, a, actor(ids)).summary
    assert preview is not None and figures(preview) == (3850, -3300, 3300, 0)
    assert a.summary == placed_summary and shirt.deducted_amount == 0

    # 3. Return shipping 3.00 + 10 %: +3.30.
    returns.add_return_shipping(group, ret.id, RETURN_OPTION_A, actor(ids))
    preview = returns.preview_order(group, a, actor(ids)).summary
    assert preview is not None and figures(preview) == (4180, -2970, 3300, 0)

    # 4. Requested: version 2, nothing to refund yet (the Shirt is in transit).
    returns.request_return(group, ret.id, actor(ids))
    assert ret.status == "requested" and ret.refund_amount == 2970 and a.version == 2
    assert figures(a.summary) == (4180, -2970, 3300, 0)
    assert (a.shown_status, a.fulfillment_status) == ("pending", "shipped")
    assert (shirt.deducted_quantity, shirt.deducted_amount) == (1, 3300)
    assert shirt.return_requested_quantity == 1

    # 5. Received: 29.70 due, one Shirt back on A's shelf.
    returns.begin_receive(group, ret.id, actor(ids))
    returns.receive_items(group, ret.id, [(shirt.id, 1, None)], actor(ids), damaged=False)
    returns.confirm_receive(group, ret.id, actor(ids))
    assert ret.status == "received" and a.version == 3
    assert figures(a.summary) == (4180, -2970, 0, 2970)
    assert group.stock_moves[moves_seen:] == [StockMove("sloc_0", shirt.variant_id, 1, 0)]
    assert (a.shown_status, a.fulfillment_status) == ("requires_action", "partially_returned")
    assert (group.status, group.fulfillment_status) == ("requires_action", "partially_returned")

    # Before that refund: 80.00 is above the cap (paid 71.50 − refunded 0) ...
    with pytest.raises(DomainError) as refused:
        group.request_refund(a.id, 8000)
    assert refused.value.message == f"Cannot refund more than 71.50 USD for order {a.id}"
    # ... and 40.00 is allowed, its 10.30 above refund_due booked as a credit line.
    other = copy.deepcopy(group)
    other_a = other.orders[0]
    [held] = other.request_refund(other_a.id, 4000)
    other.complete_refund(
        held, refund_id="ref_x", idempotency_key=None, created_by=None, ids=ids, now=T0
    )
    assert [(c.amount, c.reference, c.reference_id) for c in other_a.credit_lines] == [
        (1030, "refund", "ref_x")
    ]
    assert other_a.summary is not None
    assert figures(other_a.summary) == (3150, 0, 0, 0)
    assert other_a.summary.credit_line_total == 1030 and other_a.shown_status == "pending"

    # 6. The default refund is refund_due.
    [held] = group.request_refund(a.id, None)
    assert held.amount == 2970
    group.complete_refund(
        held, refund_id="ref_1", idempotency_key=None, created_by=None, ids=ids, now=T0
    )
    assert a.summary.refunded_total == 2970 and a.summary.transaction_total == 4180
    assert figures(a.summary) == (4180, 0, 0, 0) and a.credit_lines == []
    assert (a.shown_status, a.payment_status) == ("pending", "partially_refunded")
    assert group.payment_status == "partially_refunded"
    assert group.total == 4180 + 2640
    assert b == b_before  # order B never moved


def test_a_refund_before_the_units_arrive_is_not_refunded_again():
    """Refunding a return's value while its units travel is early, not goodwill: no credit line,
    and nothing falls due again when they arrive (else the customer is paid twice)."""
    ids = Ids()
    group, _ = demo_group(ids)
    a = group.orders[0]
    shirt = a.lines[0]
    captured_and_shipped(group, ids, a)
    ret = returns.begin_return(group, a.id, actor(ids))
    returns.request_items(group, ret.id, [RequestedItem(shirt.id, 1)], actor(ids))
    returns.request_return(group, ret.id, actor(ids))
    assert a.summary is not None and figures(a.summary) == (3850, -3300, 3300, 0)
    [held] = group.request_refund(a.id, 3500)  # the Shirt's 33.00, and 2.00 more
    group.complete_refund(
        held, refund_id="ref_1", idempotency_key=None, created_by=None, ids=ids, now=T0
    )
    assert [(c.amount, c.reference) for c in a.credit_lines] == [(200, "refund")]
    assert figures(a.summary) == (3650, 0, 3300, 0)
    returns.begin_receive(group, ret.id, actor(ids))
    returns.receive_items(group, ret.id, [(shirt.id, 1, None)], actor(ids), damaged=False)
    returns.confirm_receive(group, ret.id, actor(ids))
    assert figures(a.summary) == (3650, 0, 0, 0)
    assert a.shown_status == "pending"


def test_value_of_units_is_exact_to_the_cent():
    """§3.1: 3 × 3.33 + 10 % = 10.99; the units deduct 3.66, 3.67, 3.66, and a cancel gives
    back its own deduction so that all units still deduct exactly 10.99."""
    ids = Ids()
    group, _ = build_group(ids, [[(3, 333, True)]], tax_rate=10, captured=True)
    order = group.orders[0]
    line = order.lines[0]
    assert line.total == 1099
    group.fulfil(order.id, [(line.id, 3)], fulfillment_id="ful_1", now=T0)

    def return_one() -> Return:
        ret = returns.begin_return(group, order.id, actor(ids))
        returns.request_items(group, ret.id, [RequestedItem(line.id, 1)], actor(ids))
        returns.request_return(group, ret.id, actor(ids))
        return ret

    first, second, third = return_one(), return_one(), return_one()
    assert [r.items[0].deducted for r in (first, second, third)] == [366, 367, 366]
    assert (line.deducted_quantity, line.deducted_amount) == (3, 1099)
    returns.cancel_return(group, second.id, actor(ids))
    assert (line.deducted_quantity, line.deducted_amount) == (2, 732)
    again = return_one()
    assert again.items[0].deducted == 367
    assert (line.deducted_quantity, line.deducted_amount) == (3, 1099)
    assert order.summary is not None and order.summary.current_order_total == 0

    # The same within one change: three actions of one unit each.
    ids = Ids()
    group, _ = build_group(ids, [[(3, 333, True)]], tax_rate=10)
    order = group.orders[0]
    line = order.lines[0]
    group.fulfil(order.id, [(line.id, 3)], fulfillment_id="ful_1", now=T0)
    ret = returns.begin_return(group, order.id, actor(ids))
    for _ in range(3):
        returns.request_items(group, ret.id, [RequestedItem(line.id, 1)], actor(ids))
    change = order.changes[-1]
    assert [a.amount for a in change.actions] == [-366, -367, -366]
    returns.request_return(group, ret.id, actor(ids))
    assert [a.amount for a in change.actions] == [-366, -367, -366]
    assert ret.refund_amount == 1099 and ret.items[0].deducted == 1099


def test_partial_and_damaged_receipt_restocks_only_good_units():
    ids = Ids()
    group, inventory = build_group(
        ids, [[(3, 333, True)], [(1, 500, True)]], tax_rate=10, captured=True
    )
    order, sibling = group.orders
    line = order.lines[0]
    group.fulfil(order.id, [(line.id, 3)], fulfillment_id="ful_1", now=T0)
    apply_moves(inventory, group.stock_moves)
    key = ("sloc_0", line.variant_id)
    assert inventory[key] == [5, 0]
    sibling_before = copy.deepcopy(sibling)

    ret = returns.begin_return(group, order.id, actor(ids))
    returns.request_items(group, ret.id, [RequestedItem(line.id, 3)], actor(ids))
    returns.request_return(group, ret.id, actor(ids))
    assert order.summary is not None
    assert figures(order.summary) == (0, -1099, 1099, 0)

    returns.begin_receive(group, ret.id, actor(ids))
    returns.receive_items(group, ret.id, [(line.id, 1, None)], actor(ids), damaged=False)
    returns.receive_items(group, ret.id, [(line.id, 1, "torn")], actor(ids), damaged=True)
    with pytest.raises(DomainError) as refused:
        returns.receive_items(group, ret.id, [(line.id, 2, None)], actor(ids), damaged=False)
    assert refused.value.message == (
        f"Cannot receive more items than what was requested to be returned for item {line.id}."
    )
    returns.confirm_receive(group, ret.id, actor(ids))
    apply_moves(inventory, group.stock_moves[1:])
    assert inventory[key] == [6, 0]  # the damaged unit is not restocked
    item = ret.items[0]
    assert (item.quantity, item.received_quantity, item.damaged_quantity) == (3, 2, 1)
    assert (
        line.return_requested_quantity,
        line.return_received_quantity,
        line.return_dismissed_quantity,
    ) == (1, 1, 1)
    # Two of three units arrived: round(10.99 × 2 / 3) = 7.33 is due, 3.66 still in transit.
    assert figures(order.summary) == (0, -1099, 366, 733)
    assert ret.status == "partially_received" and order.fulfillment_status == "partially_returned"
    assert order.shown_status == "requires_action"

    # Cancel is refused once units came back.
    with pytest.raises(DomainError) as refused:
        returns.cancel_return(group, ret.id, actor(ids))
    assert refused.value.message == "Can't cancel a return which has returned items"
    assert refused.value.type == "not_allowed"
    # So is canceling the fulfilment those units came from.
    with pytest.raises(DomainError) as refused:
        group.cancel_fulfillment(order.id, "ful_1", ids=ids, now=T0)
    assert refused.value.message == (
        f"Item {line.id} has units in a return or claim; fulfillment ful_1 cannot be canceled"
    )

    returns.begin_receive(group, ret.id, actor(ids))
    returns.receive_items(group, ret.id, [(line.id, 1, None)], actor(ids), damaged=False)
    returns.confirm_receive(group, ret.id, actor(ids))
    apply_moves(inventory, group.stock_moves[2:])
    assert inventory[key] == [7, 0]
    assert figures(order.summary) == (0, -1099, 0, 1099)
    assert ret.status == "received" and order.fulfillment_status == "returned"
    assert order.version == 4
    assert sibling == sibling_before


def test_cancel_gives_the_value_back():
    ids = Ids()
    group, _ = demo_group(ids)
    a, b = group.orders
    shirt = a.lines[0]
    captured_and_shipped(group, ids, a)
    placed_summary = a.summary
    b_before = copy.deepcopy(b)
    ret = returns.begin_return(group, a.id, actor(ids))
    with pytest.raises(DomainError) as refused:
        returns.cancel_return(group, ret.id, actor(ids))
    assert refused.value.message == (
        f"Return {ret.id} has not been requested; use DELETE /admin/returns/{ret.id}/request"
    )
    assert refused.value.type == "not_allowed"
    returns.request_items(group, ret.id, [RequestedItem(shirt.id, 2)], actor(ids))
    returns.add_return_shipping(group, ret.id, RETURN_OPTION_A, actor(ids))
    returns.request_return(group, ret.id, actor(ids))
    assert figures(a.summary) == (550 + 330, -(7150 - 880), 6600, 0)

    returns.cancel_return(group, ret.id, actor(ids))
    assert ret.status == "canceled" and a.version == 3
    assert a.summary == placed_summary
    assert [m.return_id for m in a.shipping_methods] == [None]
    assert (shirt.deducted_quantity, shirt.deducted_amount) == (0, 0)
    assert shirt.return_requested_quantity == 0
    assert (a.shown_status, a.fulfillment_status) == ("pending", "shipped")
    assert [c.action for c in a.changes[-1].actions] == ["CANCEL_RETURN_ITEM", "SHIPPING_REMOVE"]
    assert [c.amount for c in a.changes[-1].actions] == [6600, -330]
    with pytest.raises(DomainError) as refused:
        returns.cancel_return(group, ret.id, actor(ids))
    assert refused.value.message == f"Return with id {ret.id} has been canceled."
    assert b == b_before


def test_one_active_change_per_order_and_route_messages():
    ids = Ids()
    group, _ = demo_group(ids)
    a, b = group.orders
    shirt, mug = a.lines[0], b.lines[0]
    group.fulfil(a.id, [(shirt.id, 1)], fulfillment_id="ful_1", now=T0)
    ret = returns.begin_return(group, a.id, actor(ids))
    change = a.changes[0]
    assert (change.change_type, change.status, change.version) == ("return_request", "pending", 2)
    busy = (
        f"Order ({a.id}) already has an existing active order change: {change.id} (return_request)"
    )
    refusals = [
        lambda: returns.begin_return(group, a.id, actor(ids)),
        lambda: returns.add_credit_line(
            group, a.id, 100, actor(ids), reference=None, reference_id=None
        ),
        lambda: group.fulfil(a.id, [(shirt.id, 1)], fulfillment_id="ful_2", now=T0),
        lambda: group.cancel_fulfillment(a.id, "ful_1", ids=ids, now=T0),
    ]
    for refusal in refusals:
        with pytest.raises(DomainError) as refused:
            refusal()
        assert refused.value.message == busy
    # A sibling is free: its own change does not wait for A's.
    other = returns.begin_return(group, b.id, actor(ids))
    returns.discard_return(group, other.id, actor(ids))

    def message(operation) -> str:
        with pytest.raises(DomainError) as refused:
            operation()
        return refused.value.message

    assert message(lambda: returns.request_return(group, ret.id, actor(ids))) == (
        "Order return request should have at least 1 item"
    )
    assert (
        message(
            lambda: returns.request_items(group, ret.id, [RequestedItem(shirt.id, 2)], actor(ids))
        )
        == f"Cannot request to return more items than what was fulfilled for item {shirt.id}."
    )
    assert (
        message(
            lambda: returns.request_items(group, ret.id, [RequestedItem(shirt.id, 0)], actor(ids))
        )
        == f"Quantity to return of item {shirt.id} is required."
    )
    assert (
        message(
            lambda: returns.request_items(group, ret.id, [RequestedItem(mug.id, 1)], actor(ids))
        )
        == f"Items with ids {mug.id} does not exist in order with id {a.id}."
    )
    foreign = ShippingQuote("so_B_ret", "sel_1", "reg_1", True, "Return", 300, 10, False)
    assert message(lambda: returns.add_return_shipping(group, ret.id, foreign, actor(ids))) == (
        f"Shipping option so_B_ret belongs to seller sel_1, not to seller sel_0 of order {a.id}"
    )
    outbound = ShippingQuote("so_A", "sel_0", "reg_1", False, "Standard", 500, 10, False)
    assert message(lambda: returns.add_return_shipping(group, ret.id, outbound, actor(ids))) == (
        "Shipping option so_A is not a return option"
    )
    assert message(lambda: returns.begin_receive(group, ret.id, actor(ids))) == (
        f"Return {ret.id} is open and cannot be received"
    )
    assert message(lambda: returns.confirm_receive(group, ret.id, actor(ids))) == (
        "An active Order Change is required to proceed"
    )
    returns.request_items(group, ret.id, [RequestedItem(shirt.id, 1)], actor(ids))
    returns.request_return(group, ret.id, actor(ids))
    # A receipt confirmed without units leaves the return requested.
    returns.begin_receive(group, ret.id, actor(ids))
    returns.confirm_receive(group, ret.id, actor(ids))
    assert ret.status == "requested" and ret.received_at is None
    assert a.version == 3


# --------------------------------------------------------------------------- exchanges (examples)


def teapot(order: Order, available: int = 3, *, seller_id: str = "sel_1") -> VariantQuote:
    """Seller B's Teapot (35.00) as the exchange routes load it for ``order``."""
    return VariantQuote(
        id="variant_teapot",
        seller_id=seller_id,
        product_id="prod_teapot",
        published=True,
        seller_active=True,
        unit_price=3500,
        manage_inventory=True,
        allow_backorder=False,
        requires_shipping=True,
        available=available,
    )


OUTBOUND_OPTION_B = ShippingQuote("so_B", "sel_1", "reg_1", False, "Standard", 400, 10, False)


def test_worked_example_exchange_of_order_b_authorized_only():
    """§16: inbound 1 Mug (22.00), outbound 1 Teapot (38.50), shipping 0 → current 42.90,
    a change collection of 16.50 for B only, the Teapot reserved at B's location."""
    ids = Ids()
    group, inventory = demo_group(ids)
    a, b = group.orders
    mug = b.lines[0]
    group.fulfil(b.id, [(mug.id, 1)], fulfillment_id="ful_1", now=T0)
    inventory[("sloc_1", "variant_teapot")] = [3, 0]
    apply_moves(inventory, group.stock_moves)
    moves_seen = len(group.stock_moves)
    a_before = copy.deepcopy(a)
    quotes = {"variant_teapot": teapot(b)}

    exchange = exchanges.begin_exchange(group, b.id, actor(ids))
    ret = exchanges.inbound_items(
        group, "exchange", exchange.id, [RequestedItem(mug.id, 1)], actor(ids)
    )
    assert ret.exchange_id == exchange.id and exchange.return_id == ret.id
    exchanges.outbound_items(
        group,
        "exchange",
        exchange.id,
        [OutboundItem("variant_teapot", 1)],
        quotes,
        Tax(10, False),
        actor(ids),
    )
    exchanges.outbound_shipping(
        group, "exchange", exchange.id, OUTBOUND_OPTION_B, actor(ids), custom_amount=0
    )
    preview = returns.preview_order(group, b, actor(ids)).summary
    assert preview is not None and figures(preview) == (4290, 4290, 2200, 0)
    assert b.version == 1 and b.change_collections == []

    exchanges.request_exchange(group, exchange.id, actor(ids))
    assert b.summary is not None and figures(b.summary) == (4290, 4290, 2200, 0)
    assert b.summary.amount_due == 1650 and exchange.difference_due == 1650
    assert [(c.amount, c.status) for c in b.change_collections] == [(1650, "not_paid")]
    assert (b.shown_status, b.payment_status) == ("requires_action", "partially_authorized")
    assert ret.status == "requested" and b.version == 2
    line = b.lines[-1]
    assert (line.exchange_id, line.quantity, line.total) == (exchange.id, 1, 3850)
    assert [
        (r.line_id, r.location_id, r.quantity) for r in b.reservations if r.line_id == line.id
    ] == [(line.id, "sloc_1", 1)]
    apply_moves(inventory, group.stock_moves[moves_seen:])
    assert inventory[("sloc_1", "variant_teapot")] == [3, 1]
    assert group.total == 7150 + 4290
    assert [e.name for e in group.events[-3:]] == [
        ev.PAYMENT_COLLECTION_CREATED,
        ev.EXCHANGE_CREATED,
        ev.ORDER_GROUP_UPDATED,
    ]
    assert a == a_before  # order A never moved

    # Canceling gives everything back: the Teapot's reservation, the Mug's value, the due.
    moves_seen = len(group.stock_moves)
    exchanges.cancel_exchange(group, exchange.id, actor(ids))
    apply_moves(inventory, group.stock_moves[moves_seen:])
    assert inventory[("sloc_1", "variant_teapot")] == [3, 0]
    assert figures(b.summary) == (2640, 2640, 0, 0) and b.summary.amount_due == 0
    assert [(c.amount, c.status) for c in b.change_collections] == [(1650, "canceled")]
    assert (line.quantity, line.total) == (0, 0) and ret.status == "canceled"
    assert (b.shown_status, b.version) == ("pending", 3)
    assert [c.action for c in b.changes[-1].actions] == [
        "CANCEL_RETURN_ITEM",
        "SHIPPING_REMOVE",
        "ITEM_REMOVE",
    ]
    assert a == a_before


def test_exchange_refusals_change_nothing():
    """A refused inbound or outbound call records nothing: not the exchange's return (created
    on first use), not the valid items before a refused one."""
    ids = Ids()
    group, _ = demo_group(ids)
    b = group.orders[1]
    mug = b.lines[0]
    group.fulfil(b.id, [(mug.id, 1)], fulfillment_id="ful_1", now=T0)
    exchange = exchanges.begin_exchange(group, b.id, actor(ids))
    before = copy.deepcopy(group.orders)

    with pytest.raises(DomainError) as refused:
        exchanges.inbound_items(
            group, "exchange", exchange.id, [RequestedItem(mug.id, 0)], actor(ids)
        )
    assert refused.value.message == f"Quantity to return of item {mug.id} is required."
    with pytest.raises(DomainError) as refused:
        exchanges.inbound_items(
            group, "exchange", exchange.id, [RequestedItem(mug.id, 2)], actor(ids)
        )
    assert refused.value.message == (
        f"Cannot request to return more items than what was fulfilled for item {mug.id}."
    )
    assert group.orders == before and exchange.return_id is None

    quotes = {"variant_teapot": teapot(b, 2), "variant_shirt": teapot(b, seller_id="sel_0")}
    quotes["variant_shirt"] = replace(quotes["variant_shirt"], id="variant_shirt")
    refusals = [
        # The second item is another seller's.
        ([OutboundItem("variant_teapot", 1), OutboundItem("variant_shirt", 1)], None),
        # Together they need more than the seller has free.
        (
            [OutboundItem("variant_teapot", 1), OutboundItem("variant_teapot", 2)],
            "insufficient_inventory",
        ),
    ]
    for items, code in refusals:
        with pytest.raises(DomainError) as refused:
            exchanges.outbound_items(
                group, "exchange", exchange.id, items, quotes, Tax(10, False), actor(ids)
            )
        assert refused.value.code == code
        assert group.orders == before
    message = "Order exchange request should have at least 1 item inbound and 1 item outbound"
    with pytest.raises(DomainError) as refused:
        exchanges.request_exchange(group, exchange.id, actor(ids))
    assert refused.value.message == message
    assert group.orders == before


def test_a_backordered_outbound_item_takes_the_stock_the_others_are_checked_against():
    """A backordered outbound item is reserved like any other at request, so the stock check of
    the change's other items counts it: otherwise the add passes and the request's guarded
    reservation (the repository's check at confirmation) always refuses."""
    ids = Ids()
    group, inventory = demo_group(ids)
    b = group.orders[1]
    mug = b.lines[0]
    group.fulfil(b.id, [(mug.id, 1)], fulfillment_id="ful_1", now=T0)
    inventory[("sloc_1", "variant_teapot")] = [2, 0]
    apply_moves(inventory, group.stock_moves)
    moves_seen = len(group.stock_moves)
    quotes = {"variant_teapot": teapot(b, available=2)}
    exchange = exchanges.begin_exchange(group, b.id, actor(ids))
    exchanges.inbound_items(group, "exchange", exchange.id, [RequestedItem(mug.id, 1)], actor(ids))
    backordered = OutboundItem("variant_teapot", 2, allow_backorder=True)
    exchanges.outbound_items(
        group, "exchange", exchange.id, [backordered], quotes, Tax(10, False), actor(ids)
    )
    with pytest.raises(DomainError) as refused:
        exchanges.outbound_items(
            group,
            "exchange",
            exchange.id,
            [OutboundItem("variant_teapot", 1)],
            quotes,
            Tax(10, False),
            actor(ids),
        )
    assert refused.value.code == "insufficient_inventory"
    assert refused.value.message == (
        "Variant variant_teapot does not have the required inventory at location sloc_1"
    )
    # Within one call too.
    with pytest.raises(DomainError) as refused:
        exchanges.outbound_items(
            group,
            "exchange",
            exchange.id,
            [
                OutboundItem("variant_teapot", 1, allow_backorder=True),
                OutboundItem("variant_teapot", 1),
            ],
            quotes,
            Tax(10, False),
            actor(ids),
        )
    assert refused.value.code == "insufficient_inventory"
    exchanges.request_exchange(group, exchange.id, actor(ids))
    apply_moves(inventory, group.stock_moves[moves_seen:])
    assert inventory[("sloc_1", "variant_teapot")] == [2, 2]


# --------------------------------------------------------------------------- claims (examples)


def shirt_quote(order: Order, available: int = 3) -> VariantQuote:
    """Seller A's Shirt (30.00) as the claim routes load it for ``order``."""
    line = order.lines[0]
    assert line.variant_id is not None
    return VariantQuote(
        id=line.variant_id,
        seller_id="sel_0",
        product_id="prod_shirt",
        published=True,
        seller_active=True,
        unit_price=3000,
        manage_inventory=True,
        allow_backorder=False,
        requires_shipping=True,
        available=available,
    )


def test_worked_example_claims_of_order_a_fully_captured():
    """§16: a refund claim of 1 Shirt deducts 33.00 (a refund of 33.00 settles it); a replace
    claim ships a Shirt for free, reserved at A's location, and its inbound Shirt moves no
    money and is restocked on receipt. Order B never moves."""
    ids = Ids()
    group, inventory = demo_group(ids)
    a, b = group.orders
    shirt = a.lines[0]
    captured_and_shipped(group, ids, a)
    apply_moves(inventory, group.stock_moves)
    b_before = copy.deepcopy(b)
    key = ("sloc_0", shirt.variant_id)
    assert inventory[key] == [5, 0]

    claim = claims.begin_claim(group, a.id, actor(ids), type="refund")
    claims.add_claim_items(
        group, claim.id, [claims.ClaimedItem(shirt.id, 1, "production_failure")], actor(ids)
    )
    with pytest.raises(DomainError) as refused:
        exchanges.outbound_items(
            group,
            "claim",
            claim.id,
            [OutboundItem(shirt.variant_id, 1)],
            {shirt.variant_id: shirt_quote(a)},
            Tax(10, False),
            actor(ids),
        )
    assert refused.value.message == "Outbound items are not allowed on a refund claim"
    claims.request_claim(group, claim.id, actor(ids))
    assert a.summary is not None and figures(a.summary) == (3850, -3300, 0, 3300)
    assert claim.refund_amount == 3300 and a.version == 2
    assert (shirt.deducted_quantity, shirt.written_off_quantity) == (1, 1)
    assert a.shown_status == "requires_action"
    [held] = group.request_refund(a.id, None)
    assert held.amount == 3300
    group.complete_refund(
        held, refund_id="ref_1", idempotency_key=None, created_by=None, ids=ids, now=T0
    )
    assert figures(a.summary) == (3850, 0, 0, 0) and a.credit_lines == []
    assert a.shown_status == "pending"

    # Replace claim of the other Shirt: free replacement, free shipping, no collection.
    moves_seen = len(group.stock_moves)
    claim = claims.begin_claim(group, a.id, actor(ids), type="replace")
    claims.add_claim_items(
        group, claim.id, [claims.ClaimedItem(shirt.id, 1, "missing_item")], actor(ids)
    )
    message = "A replace claim must have at least 1 outbound item"
    with pytest.raises(DomainError) as refused:
        claims.request_claim(group, claim.id, actor(ids))
    assert refused.value.message == message
    exchanges.outbound_items(
        group,
        "claim",
        claim.id,
        [OutboundItem(shirt.variant_id, 1)],
        {shirt.variant_id: shirt_quote(a)},
        Tax(10, False),
        actor(ids),
    )
    option_a = ShippingQuote("so_A", "sel_0", "reg_1", False, "Standard", 500, 10, False)
    exchanges.outbound_shipping(group, "claim", claim.id, option_a, actor(ids))
    ret = exchanges.inbound_items(
        group, "claim", claim.id, [RequestedItem(shirt.id, 2)], actor(ids)
    )
    with pytest.raises(DomainError) as refused:
        claims.request_claim(group, claim.id, actor(ids))
    assert refused.value.message == (
        f"Cannot return more items than were claimed for item {shirt.id}."
    )
    action = next(x for x in a.changes[-1].actions if x.action == "RETURN_ITEM")
    exchanges.update_inbound_item(group, "claim", claim.id, action.id, actor(ids), quantity=1)
    claims.request_claim(group, claim.id, actor(ids))
    assert figures(a.summary) == (3850, 0, 0, 0) and a.change_collections == []
    assert [x.amount for x in a.changes[-1].actions] == [0, 0, 0, 0]
    assert claim.refund_amount == 0 and ret.status == "requested"
    replacement = a.lines[-1]
    assert (replacement.claim_id, replacement.unit_price, replacement.total) == (claim.id, 0, 0)
    apply_moves(inventory, group.stock_moves[moves_seen:])
    assert inventory[key] == [5, 1]
    # Every fulfilled Shirt is claimed: none is left to return or claim.
    other = returns.begin_return(group, a.id, actor(ids))
    with pytest.raises(DomainError) as refused:
        returns.request_items(group, other.id, [RequestedItem(shirt.id, 1)], actor(ids))
    assert refused.value.message == (
        f"Cannot request to return more items than what was fulfilled for item {shirt.id}."
    )
    returns.discard_return(group, other.id, actor(ids))

    # The claimed Shirt comes back: restocked, no money.
    moves_seen = len(group.stock_moves)
    returns.begin_receive(group, ret.id, actor(ids))
    returns.receive_items(group, ret.id, [(shirt.id, 1, None)], actor(ids), damaged=False)
    returns.confirm_receive(group, ret.id, actor(ids))
    apply_moves(inventory, group.stock_moves[moves_seen:])
    assert inventory[key] == [6, 1]
    assert figures(a.summary) == (3850, 0, 0, 0)
    with pytest.raises(DomainError) as refused:
        claims.cancel_claim(group, claim.id, actor(ids))
    assert refused.value.message == "Can't cancel a return which has returned items"
    assert b == b_before


def test_a_refused_claim_item_update_changes_nothing():
    """A valid quantity with an unknown reason is refused and leaves the action as it was (the
    quantity was once written before the reason was checked)."""
    ids = Ids()
    group, _ = demo_group(ids)
    a = group.orders[0]
    shirt = a.lines[0]
    group.fulfil(a.id, [(shirt.id, 2)], fulfillment_id="ful_1", now=T0)
    claim = claims.begin_claim(group, a.id, actor(ids), type="refund")
    claims.add_claim_items(group, claim.id, [claims.ClaimedItem(shirt.id, 1)], actor(ids))
    action = a.changes[-1].actions[0]
    before = copy.deepcopy(group.orders)
    with pytest.raises(DomainError) as refused:
        claims.update_claim_item(group, claim.id, action.id, actor(ids), quantity=2, reason="x")
    assert refused.value.message == (
        "reason must be one of missing_item, wrong_item, production_failure, other"
    )
    assert group.orders == before and action.details["quantity"] == 1


def test_claimed_units_keep_their_fulfilment():
    """Canceling the fulfilment of claimed units is refused, as for units in a return: they
    would be reserved and shipped again although written off (and here refunded)."""
    ids = Ids()
    group, _ = demo_group(ids)
    a = group.orders[0]
    shirt = a.lines[0]
    group.fulfil(a.id, [(shirt.id, 2)], fulfillment_id="ful_1", now=T0)
    claim = claims.begin_claim(group, a.id, actor(ids), type="refund")
    claims.add_claim_items(group, claim.id, [claims.ClaimedItem(shirt.id, 1)], actor(ids))
    claims.request_claim(group, claim.id, actor(ids))
    with pytest.raises(DomainError) as refused:
        group.cancel_fulfillment(a.id, "ful_1", ids=ids, now=T0)
    assert refused.value.message == (
        f"Item {shirt.id} has units in a return or claim; fulfillment ful_1 cannot be canceled"
    )
    assert refused.value.type == "not_allowed"
    assert (shirt.fulfilled_quantity, units_taken(a, shirt)) == (2, 1)
    # Once the claim is canceled, the fulfilment may go.
    claims.cancel_claim(group, claim.id, actor(ids))
    group.cancel_fulfillment(a.id, "ful_1", ids=ids, now=T0)
    assert (shirt.fulfilled_quantity, units_taken(a, shirt)) == (0, 0)


# --------------------------------------------------------------------------- state machine

quantities = st.integers(min_value=1, max_value=3)
amounts = st.one_of(st.none(), st.integers(min_value=0, max_value=3000))
line_specs = st.lists(
    st.tuples(quantities, st.integers(min_value=0, max_value=900), st.booleans()),
    min_size=1,
    max_size=3,
)
RECEIVE_KINDS = ("RECEIVE_RETURN_ITEM", "RECEIVE_DAMAGED_RETURN_ITEM")


def value_of(total: int, n: int, k: int) -> int:
    """``V(k)`` of order-changes.md §3.1, written with decimals (not the domain's helper)."""
    if n == 0:
        return 0
    exact = Decimal(total * k) / Decimal(n)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def taxed(amount: int, rate: int) -> int:
    """A shipping amount with exclusive tax at ``rate`` %, rounded half-even."""
    tax = (Decimal(amount * rate) / 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return amount + int(tax)


@dataclass
class ModelItem:
    """The test's own account of one return item."""

    quantity: int = 0
    value: int = 0
    received: int = 0
    damaged: int = 0

    @property
    def in_transit(self) -> int:
        return self.value - value_of(self.value, self.quantity, self.received)


@dataclass
class ModelReturn:
    order_id: str
    status: str = "open"  # open requested partially_received received canceled deleted
    shipping: int = 0  # total of its confirmed shipping method
    items: dict[str, ModelItem] = field(default_factory=dict)
    claim: bool = False  # a claim's return: its units are claimed ones, worth nothing (§3.2)


@dataclass
class ModelOutbound:
    """The test's account of one outbound unit batch: what the exchange adds."""

    variant_id: str
    quantity: int
    unit_price: int
    managed: bool  # reserved at the seller's location
    backorder: bool = False


@dataclass
class ModelExchange:
    order_id: str
    status: str = "pending"  # pending requested canceled deleted
    return_id: str | None = None
    pending: dict[str, ModelOutbound] = field(default_factory=dict)  # ITEM_ADD action → adds
    lines: dict[str, ModelOutbound] = field(default_factory=dict)  # outbound line → once added
    shipping: int = 0  # total of its outbound method, once requested
    difference_due: int = 0  # Σ of the amounts of the change that requested it


@dataclass
class ModelClaimed:
    """Units a claim wrote off, and the value a refund claim deducted for them."""

    line_id: str
    quantity: int
    value: int


@dataclass
class ModelClaim(ModelExchange):
    """An exchange's account (outbound lines, methods, its return) plus the claimed units;
    ``difference_due`` holds Σ of its request's amounts, so ``refund_amount`` = max(0, −it)."""

    type: str = "refund"
    claimed: list[ModelClaimed] = field(default_factory=list)


@dataclass
class ModelPurse:
    """A change collection the customer authorized (order-changes.md §3.6): what was
    authorized for its order, under which payment; ``voided`` once the order's cancel voided it
    with nothing captured (the collection is then ``canceled``)."""

    order_id: str
    collection_id: str
    payment_id: str
    authorized: int
    voided: bool = False


@dataclass
class ModelEdit:
    """The test's account of one order edit (§9): its new lines, line updates (line,
    quantity, unit price or None) and method price, by action."""

    order_id: str
    status: str = "pending"  # pending requested confirmed canceled
    adds: dict[str, ModelOutbound] = field(default_factory=dict)
    updates: dict[str, tuple[str, int, int | None]] = field(default_factory=dict)
    shipping: dict[str, int] = field(default_factory=dict)


CANCEL_PATHS = ("as is", "fulfilled", "fulfilled, canceled", "received")
OWNER_PARTS = {
    "inbound_item": "RETURN_ITEM",
    "outbound_item": "ITEM_ADD",
    "inbound_shipping": "SHIPPING_ADD",
    "outbound_shipping": "SHIPPING_ADD",
    "claim_item": "WRITE_OFF_ITEM",
}
OWNER_EVENTS = {
    "exchange": (ev.EXCHANGE_CREATED, ev.EXCHANGE_CANCELED),
    "claim": (ev.CLAIM_CREATED, ev.CLAIM_CANCELED),
}


class OrderGroupMachine(RuleBasedStateMachine):
    """Random operations on one group — captures, refunds, cancels, fulfilments, every return,
    exchange and claim route over any of its orders, change collections paid; after each, the
    invariants of orders.md and order-changes.md hold, recomputed from the test's own model."""

    @initialize(
        orders=st.lists(line_specs, min_size=1, max_size=3),
        captured=st.booleans(),
        tax_rate=st.sampled_from([0, 10, 7]),
        shipping=st.one_of(st.none(), st.lists(st.integers(0, 900), min_size=3, max_size=3)),
        fulfilled=st.sampled_from([True, True, False]),
        extras=st.lists(
            st.tuples(st.integers(0, 4), st.one_of(st.none(), st.integers(0, 5000))),
            min_size=3,
            max_size=3,
        ),
    )
    def place(self, orders, captured, tax_rate, shipping, fulfilled, extras):
        self.ids = Ids()
        self.clock = itertools.count(1)
        self.group, self.inventory = build_group(
            self.ids, orders, captured=captured, tax_rate=tax_rate, shipping=shipping
        )
        self.tax_rate = tax_rate
        # The sellers' variants an exchange may send out: those of the order's lines (managed
        # ones have a level at the seller's location) and one more per seller, with a little
        # stock and maybe no price in the order's currency.
        self.variant_seller: dict[str, str] = {}
        self.prices: dict[str, int | None] = {}
        for order, (stock, price) in zip(self.group.orders, extras, strict=False):
            for line in order.lines:
                assert line.variant_id is not None
                self.variant_seller[line.variant_id] = order.seller_id
                self.prices[line.variant_id] = line.unit_price
            extra = f"variant_extra_{order.seller_id}"
            self.variant_seller[extra] = order.seller_id
            self.prices[extra] = price
            assert order.location_id is not None
            self.inventory[(order.location_id, extra)] = [stock, 0]
        self.managed = {variant for _, variant in self.inventory}
        self.initial_stock = {key: level[0] for key, level in self.inventory.items()}
        self.authorized = self.group.collection.authorized_amount
        self.moves_seen = 0
        self.events_seen = len(self.group.events)
        # The test's model: fixed amounts from placement, then what each step must do.
        self.line_totals = {li.id: li.total for o in self.group.orders for li in o.lines}
        self.placed_shipping = {
            o.id: sum(m.total for m in o.shipping_methods) for o in self.group.orders
        }
        self.deducted = {li.id: [0, 0] for o in self.group.orders for li in o.lines}  # d, D
        self.versions = {o.id: 1 for o in self.group.orders}
        self.credit = {o.id: 0 for o in self.group.orders}
        self.unpaid: dict[str, int | None] = {o.id: None for o in self.group.orders}
        self.returns: dict[str, ModelReturn] = {}
        self.restocked: dict[tuple[str, str], int] = defaultdict(int)
        self.focus: str | None = None  # the return a flow works on
        self.focus_line: str | None = None  # and the line it receives
        self.exchanges: dict[str, ModelExchange] = {}
        self.focus_exchange: str | None = None  # the exchange a flow works on
        self.claims: dict[str, ModelClaim] = {}
        self.focus_claim: str | None = None  # the claim a flow works on
        # The change collections each order authorized, oldest first.
        self.purses: dict[str, list[ModelPurse]] = {o.id: [] for o in self.group.orders}
        self.refused: DomainError | None = None
        self.edits: dict[str, ModelEdit] = {}  # by change id
        self.focus_order: str | None = None  # the order an edit flow works on
        # Each placed or edit-added line's quantity and unit price (§9).
        self.line_model = {
            li.id: (li.quantity, li.unit_price) for o in self.group.orders for li in o.lines
        }
        if fulfilled:
            for order in self.group.orders:
                items = [(line.id, line.quantity) for line in order.lines]
                self.group.fulfil(order.id, items, fulfillment_id=self.ids("ful"), now=self.now())
            apply_moves(self.inventory, self.group.stock_moves)
            self.moves_seen = len(self.group.stock_moves)
            self.events_seen = len(self.group.events)

    # ----------------------------------------------------------------- helpers

    def now(self) -> datetime:
        return T0 + timedelta(seconds=next(self.clock))

    def actor(self) -> Actor:
        return Actor("user_1", self.now(), self.ids)

    def attempt(self, operation) -> bool:
        """Run ``operation``; a refusal must leave the aggregate exactly as it was."""
        before = copy.deepcopy(self.group)
        self.refused = None
        try:
            operation()
        except DomainError as error:
            assert _state(self.group) == _state(before)
            self.refused = error
            return False
        apply_moves(self.inventory, self.group.stock_moves[self.moves_seen :])
        self.moves_seen = len(self.group.stock_moves)
        return True

    @contextmanager
    def only(self, order_id: str):
        """Every order but ``order_id`` must come out of the block exactly as it went in."""
        siblings = {o.id: copy.deepcopy(o) for o in self.group.orders if o.id != order_id}
        yield
        for order in self.group.orders:
            if order.id != order_id:
                assert order == siblings[order.id], f"sibling {order.id} changed"

    def new_events(self) -> list[str]:
        names = [e.name for e in self.group.events[self.events_seen :]]
        self.events_seen = len(self.group.events)
        return names

    def pick(self, data, items):
        return data.draw(st.sampled_from(items))

    def pick_return(self, data) -> str:
        """The flow's return, else mostly the latest one (so flows go on), else any."""
        if self.focus is not None:
            return self.focus
        if data.draw(st.integers(0, 3)) > 0:
            return list(self.returns)[-1]
        return self.pick(data, sorted(self.returns))

    def return_of(self, return_id: str) -> tuple[Order, Return]:
        model = self.returns[return_id]
        order = self.group.order(model.order_id)
        return order, next(r for r in order.returns if r.id == return_id)

    def is_open(self, order: Order) -> bool:
        return order.status not in ("canceled", "archived") and order.canceled_at is None

    def active(self, order: Order) -> OrderChange | None:
        changes = [c for c in order.changes if c.status in ("pending", "requested")]
        return changes[0] if changes else None

    def change_for(self, return_id: str, change_type: str) -> OrderChange | None:
        """The return's active change of ``change_type`` when a route may act on it."""
        order, _ = self.return_of(return_id)
        change = self.active(order)
        if (
            self.returns[return_id].status == "deleted"
            or change is None
            or change.return_id != return_id
            or change.change_type != change_type
        ):
            return None
        return change

    def taken(self, order: Order, line: Line) -> int:
        """Units of ``line`` in requested returns and claims (a claim's inbound units are
        claimed units: they count once, §6.2)."""
        in_returns = sum(
            item.quantity
            for r in self.returns.values()
            if r.order_id == order.id
            and not r.claim
            and r.status not in ("open", "canceled", "deleted")
            for line_id, item in r.items.items()
            if line_id == line.id
        )
        claimed = sum(
            c.quantity
            for x in self.claims.values()
            if x.order_id == order.id and x.status == "requested"
            for c in x.claimed
            if c.line_id == line.id
        )
        return in_returns + claimed

    def returnable(
        self,
        order: Order,
        line: Line,
        change: OrderChange,
        skip: str = "",
        kind: str = "RETURN_ITEM",
    ) -> int:
        """Fulfilled units of ``line`` in no return or claim yet, nor in the change's other
        actions of ``kind`` (``WRITE_OFF_ITEM``: what may still be claimed)."""
        pending = sum(
            a.details["quantity"]
            for a in change.actions
            if a.action == kind and a.details["reference_id"] == line.id and a.id != skip
        )
        return line.fulfilled_quantity - self.taken(order, line) - pending

    def receivable(self, return_id: str, line_id: str, change: OrderChange, skip: str = "") -> int:
        item = self.returns[return_id].items[line_id]
        pending = sum(
            a.details["quantity"]
            for a in change.actions
            if a.action in RECEIVE_KINDS and a.details["reference_id"] == line_id and a.id != skip
        )
        return item.quantity - item.received - pending

    def expected_summary(
        self, order: Order, *, extra_current: int = 0, extra_transit: int = 0
    ) -> dict[str, int]:
        """``order.summary`` from first principles (order-changes.md §3.3): the lines' totals
        (at placement, or as the model priced an exchange's outbound line) less the model's
        deductions, shipping (placed, returns', exchanges' outbound), the model's credit lines,
        the capture and refund records, the return items' values still in transit; ``extra_*``
        add a pending change's effects (a preview)."""
        lines = sum(self.line_totals[li.id] - self.deducted[li.id][1] for li in order.lines)
        mine = [r for r in self.returns.values() if r.order_id == order.id]
        shipping = self.placed_shipping[order.id] + sum(
            r.shipping for r in mine if r.status not in ("open", "canceled", "deleted")
        )
        shipping += self.outbound_shipping(order)
        credit = self.credit[order.id]
        current = lines + shipping - credit + extra_current
        records = [r for r in self.group.new_records if r.order_id == order.id]
        paid = sum(r.amount for r in records if isinstance(r, Capture))
        refunded = sum(r.amount for r in records if isinstance(r, Refund))
        in_transit = extra_transit + sum(
            item.in_transit
            for r in mine
            if r.status not in ("canceled", "deleted")
            for item in r.items.values()
        )
        pending = current - paid + refunded
        # Money secured and not captured yet: the uncaptured part of the cart share and of each
        # authorized change collection; an unpaid change collection is not (§3.3).
        covered = 0
        if order.canceled_at is None:
            covered = sum(
                left
                for payment_id, left, _ in self.money_of(order)
                if payment_id != self.group.payment.id or self.group.collection.status != "canceled"
            )
        return {
            "original_order_total": order.original_total,
            "current_order_total": current,
            "accounting_total": current,
            "credit_line_total": credit,
            "paid_total": paid,
            "refunded_total": refunded,
            "transaction_total": paid - refunded,
            "pending_difference": pending,
            "return_requested_total": in_transit,
            "refund_due": max(0, -pending - in_transit),
            "amount_due": max(0, pending - covered),
        }

    def outbound_shipping(self, order: Order) -> int:
        """Totals of the outbound methods of the order's active (requested) exchanges and
        claims."""
        return sum(
            x.shipping
            for x in [*self.exchanges.values(), *self.claims.values()]
            if x.order_id == order.id and x.status == "requested"
        )

    def money_of(self, order: Order) -> list[tuple[str, int, int]]:
        """The order's authorized payments, oldest first (§3.6): the cart's, then the change
        collections' in the order the customer authorized them; each with what is left to
        capture (its authorization less the captures recorded under it; nothing once voided)
        and to refund (those captures less the refunds recorded under it)."""
        records = [r for r in self.group.new_records if r.order_id == order.id]
        found = []
        assert order.share is not None
        purses = [(self.group.payment.id, order.original_total, False)] + [
            (p.payment_id, p.authorized, p.voided) for p in self.purses[order.id]
        ]
        for payment_id, authorized, voided in purses:
            captured = sum(
                r.amount for r in records if isinstance(r, Capture) and r.payment_id == payment_id
            )
            refunded = sum(
                r.amount for r in records if isinstance(r, Refund) and r.payment_id == payment_id
            )
            left = 0 if voided else max(authorized - captured, 0)
            found.append((payment_id, left, captured - refunded))
        return found

    def capturable(self, order: Order) -> int:
        """§3.6's capture cap: what the authorizations leave, within what the order still
        owes counting units in transit back; 0 once canceled."""
        if order.is_canceled:
            return 0
        summary = self.expected_summary(order)
        owed = summary["pending_difference"] + summary["return_requested_total"]
        return max(min(sum(left for _, left, _ in self.money_of(order)), owed), 0)

    # ----------------------------------------------------------------- money

    def split(self, purses: list[tuple[str, int]], amount: int) -> list[tuple[str, int]]:
        """``amount`` drawn from ``purses`` (payment, what it has left) in that order, each up
        to what it has left: the requests a capture (oldest first) or a refund (newest first)
        must make, one per payment touched."""
        taken = []
        for payment_id, left in purses:
            take = min(left, amount)
            if take > 0:
                taken.append((payment_id, take))
                amount -= take
        assert amount == 0
        return taken

    def provider(self, payment_id: str) -> str:
        return "pp_test" if payment_id == self.group.payment.id else "pp_change"

    def check_requests(
        self, held: list[MoneyRequest], kind: str, order: Order, expected: list[tuple[str, int]]
    ) -> None:
        assert [(r.payment_id, r.amount) for r in held] == expected
        for request in held:
            assert (request.kind, request.order_id) == (kind, order.id)
            assert request.provider_id == self.provider(request.payment_id)

    def book_capture(self, request: MoneyRequest) -> None:
        self.group.complete_capture(
            request,
            capture_id=self.ids("capt"),
            idempotency_key=None,
            created_by=None,
            ids=self.ids,
            now=self.now(),
        )

    @rule(data=st.data(), amount=amounts)
    def capture(self, data, amount):
        """Capture from the order's authorized payments oldest first, each within its
        uncaptured part, the whole within what the order owes (§3.6); the provider says yes
        or no to each request."""
        self.capture_on(data, self.pick(data, self.group.orders), amount)

    def capture_on(self, data, order: Order, amount: int | None) -> None:
        money = self.money_of(order)
        cap = self.capturable(order)
        expected = (
            not order.is_canceled and amount != 0 and cap > 0 and (amount is None or amount <= cap)
        )
        message = None
        if not order.is_canceled and amount != 0 and 0 < cap < (amount or 0):
            message = f"Cannot capture more than {format_amount(cap, 'usd')} for order {order.id}"
        held: list[MoneyRequest] = []
        with self.only(order.id):
            done = self.attempt(lambda: held.extend(self.group.request_capture(order.id, amount)))
            assert done == expected, self.refused
            if not done:
                assert message is None or (self.refused and self.refused.message == message)
                assert self.new_events() == []
                return
            wanted = cap if amount is None else amount
            self.check_requests(
                held, "capture", order, self.split([(p, left) for p, left, _ in money], wanted)
            )
            booked = 0
            for request in held:
                if data.draw(st.booleans()):
                    self.book_capture(request)
                    booked += 1
                else:
                    self.group.abandon(request)
            assert self.new_events() == [ev.PAYMENT_CAPTURED] * booked

    @rule(data=st.data(), amount=amounts)
    def refund(self, data, amount):
        """Refund from the order's captured payments newest first, within what it captured
        and did not refund; without an amount, ``refund_due``. The provider says yes or no to
        each request; what a booked refund gives beyond what the order owes back (units in
        transit included) is booked as a credit line (§3.6)."""
        self.refund_on(data, self.pick(data, self.group.orders), amount)

    def refund_on(self, data, order: Order, amount: int | None) -> None:
        summary = self.expected_summary(order)
        due = summary["refund_due"]
        owed_back = max(0, -summary["pending_difference"])
        money = self.money_of(order)
        refundable = sum(left for _, _, left in money)
        expected = (
            amount != 0 and refundable > 0 and (due > 0 if amount is None else amount <= refundable)
        )
        held: list[MoneyRequest] = []
        with self.only(order.id):
            done = self.attempt(lambda: held.extend(self.group.request_refund(order.id, amount)))
            assert done == expected, self.refused
            if not done:
                assert self.new_events() == []
                return
            # Without an amount: what is due, within what may still be refunded.
            total = min(due, refundable) if amount is None else amount
            self.check_requests(
                held, "refund", order, self.split([(p, r) for p, _, r in reversed(money)], total)
            )
            events = []
            for request in held:
                if not data.draw(st.sampled_from([True, True, True, False])):
                    self.group.abandon(request)
                    continue
                self.group.complete_refund(
                    request,
                    refund_id=self.ids("ref"),
                    idempotency_key=None,
                    created_by=None,
                    ids=self.ids,
                    now=self.now(),
                )
                excess = max(request.amount - owed_back, 0)
                owed_back = max(owed_back - request.amount, 0)
                self.credit[order.id] += excess
                events += [ev.CREDIT_LINE_CREATED] * (excess > 0) + [ev.PAYMENT_REFUNDED]
            assert self.new_events() == events

    @rule(data=st.data(), amount=amounts)
    def capture_payment(self, data, amount):
        """``POST /admin/payments/:id/capture``: the cart's payment across the orders, or a
        change collection's payment for its order."""
        change_purses = [p for purses in self.purses.values() for p in purses]
        purse = self.pick(data, [None, *change_purses]) if change_purses else None
        if purse is not None:
            self.capture_change_payment(purse, amount)
            return
        held: list[MoneyRequest] = []
        if self.attempt(
            lambda: held.extend(self.group.request_payment_capture(self.group.payment.id, amount))
        ):
            for request in held:
                assert request.payment_id == self.group.payment.id
                self.book_capture(request)
            assert self.new_events() == [ev.PAYMENT_CAPTURED] * len(held)

    def capture_change_payment(self, purse: ModelPurse, amount: int | None) -> None:
        order = self.group.order(purse.order_id)
        left = min(
            dict((p, x) for p, x, _ in self.money_of(order))[purse.payment_id],
            self.capturable(order),
        )
        expected = amount != 0 and not purse.voided and (amount is None or amount <= left)
        held: list[MoneyRequest] = []
        with self.only(order.id):
            done = self.attempt(
                lambda: held.extend(self.group.request_payment_capture(purse.payment_id, amount))
            )
            assert done == expected, self.refused
            if amount is not None and amount > left and not purse.voided and amount != 0:
                assert self.refused is not None
                assert self.refused.message == PAYMENT_OVER_CAPTURE
            if not done:
                assert self.new_events() == []
                return
            wanted = left if amount is None else amount
            self.check_requests(
                held, "capture", order, [(purse.payment_id, wanted)] if wanted else []
            )
            for request in held:
                self.book_capture(request)
            assert self.new_events() == [ev.PAYMENT_CAPTURED] * len(held)

    @precondition(
        lambda self: hasattr(self, "group") and any(v is not None for v in self.unpaid.values())
    )
    @rule(data=st.data())
    def authorize_change_collection(self, data):
        """The customer pays an order's unpaid change collection (§10): its whole amount is
        secured for the order, counted in ``covered_total`` until captured."""
        orders = [o for o in self.group.orders if self.unpaid[o.id] is not None]
        self.authorize_on(self.pick(data, orders))

    def authorize_on(self, order: Order) -> None:
        [collection] = [c for c in order.change_collections if c.status in ("not_paid", "awaiting")]
        assert collection.amount == self.unpaid[order.id] and self.is_open(order)
        payment_id = self.ids("pay")
        with self.only(order.id):
            self.group.authorize_change_collection(
                order.id,
                collection.id,
                payment_id=payment_id,
                provider_id="pp_change",
                now=self.now(),
            )
        assert self.new_events() == []
        assert (collection.status, collection.authorized_amount) == (
            "authorized",
            collection.amount,
        )
        self.purses[order.id].append(
            ModelPurse(order.id, collection.id, payment_id, collection.amount)
        )
        self.unpaid[order.id] = None

    def pay_flow(self, data, order: Order) -> None:
        """The customer pays the order's unpaid change collection (if any); then maybe a
        capture (by default across its collections, oldest first) and a refund (newest
        first), maybe a cancel."""
        if self.unpaid[order.id] is not None:
            self.authorize_on(order)
        if data.draw(st.booleans()):
            self.capture_on(data, order, data.draw(st.sampled_from([None, None, 1, 1000])))
        if data.draw(st.booleans()):
            self.refund_on(data, order, data.draw(st.sampled_from([None, 1, 1000, 5000])))
        if data.draw(st.integers(0, 2)) == 0:
            self.unwind_and_cancel(data, order)

    def unwind_and_cancel(self, data, order: Order) -> None:
        """Cancel the order once it can be: its pending change discarded, its exchanges,
        claims and returns canceled, its fulfilments canceled (each step refused where the
        rules say so); then the cancel voids and refunds each of its collections."""
        if not self.is_open(order):
            return
        self.settle_active(data, order)
        for fulfillment in list(order.fulfillments):
            if fulfillment.canceled_at is None and fulfillment.shipped_at is None:
                self.cancel_fulfillment_of(order, fulfillment.id)
        for kind in ("exchange", "claim"):
            for owner_id, model in list(self.owners(kind).items()):
                if model.order_id == order.id and model.status == "requested":
                    self.cancel_owner(owner_id, kind)
        for return_id, model in list(self.returns.items()):
            if model.order_id == order.id and model.status == "requested":
                self.focus = return_id
                self.cancel_return(data)
                self.focus = None
        for fulfillment in list(order.fulfillments):
            if fulfillment.canceled_at is None and fulfillment.shipped_at is None:
                self.cancel_fulfillment_of(order, fulfillment.id)
        self.cancel_on(data, order, data.draw(st.sampled_from([True, True, False])))

    @rule(data=st.data(), provider_says_yes=st.booleans())
    def cancel(self, data, provider_says_yes):
        """Cancel an order: each authorized payment's uncaptured part voided (oldest first),
        each captured one refunded in full (newest first); the remaining current total
        becomes a credit line first."""
        self.cancel_on(data, self.pick(data, self.group.orders), provider_says_yes)

    def cancel_on(self, data, order: Order, provider_says_yes: bool) -> None:
        money = self.money_of(order)
        held: list = []
        with self.only(order.id):
            if not self.attempt(lambda: held.extend(self.group.request_cancel(order.id))):
                assert self.new_events() == []
                return
            assert self.active(order) is None
            voids, refunds = held
            self.check_requests(voids, "void", order, [(p, x) for p, x, _ in money if x > 0])
            self.check_requests(
                refunds, "refund", order, [(p, r) for p, _, r in reversed(money) if r > 0]
            )
            if not provider_says_yes:
                self.group.abandon_cancel(voids, refunds)
                return
            # The remaining current total becomes a credit line first (Medusa 2.8), then the
            # refund's part above what is due another one.
            remaining = self.expected_summary(order)["current_order_total"]
            self.credit[order.id] += remaining
            owed_back = max(0, -self.expected_summary(order)["pending_difference"])
            excess = max(sum(r.amount for r in refunds) - owed_back, 0)
            self.credit[order.id] += excess
            self.attempt(
                lambda: self.group.complete_cancel(
                    order.id,
                    voids=voids,
                    refunds=[(r, self.ids("ref"), self.ids("key")) for r in refunds],
                    canceled_by=None,
                    ids=self.ids,
                    now=self.now(),
                )
            )
            expected = (
                [ev.CREDIT_LINE_CREATED] * (remaining != 0)
                + [ev.CREDIT_LINE_CREATED] * (excess != 0)
                + [ev.PAYMENT_REFUNDED] * len(refunds)
                + [ev.ORDER_CANCELED]
            )
            assert self.new_events() == expected
            assert order.status == "canceled" and order.reservations == []
            # A change collection voided with nothing captured is canceled; unpaid ones too.
            voided = {v.payment_id for v in voids}
            for purse in self.purses[order.id]:
                purse.voided = purse.payment_id in voided and all(
                    r.payment_id != purse.payment_id
                    for r in self.group.new_records
                    if isinstance(r, Capture)
                )
            self.unpaid[order.id] = None

    # ----------------------------------------------------------------- fulfilment, lifecycle

    @rule(data=st.data())
    def fulfil(self, data):
        order = self.pick(data, self.group.orders)
        lines = data.draw(st.lists(st.sampled_from(order.lines), unique_by=lambda x: x.id))
        items = [(line.id, data.draw(st.integers(min_value=0, max_value=3))) for line in lines]
        self.fulfil_items(order, items)

    def fulfil_items(self, order: Order, items: list[tuple[str, int]]) -> str | None:
        """Fulfil ``items`` of ``order`` (maybe refused); the new fulfilment's id."""
        fulfillment_id = self.ids("ful")
        with self.only(order.id):
            if self.attempt(
                lambda: self.group.fulfil(
                    order.id, items, fulfillment_id=fulfillment_id, now=self.now()
                )
            ):
                assert self.active(order) is None
                assert self.new_events() == [ev.FULFILLMENT_CREATED]
                return fulfillment_id
        return None

    def _fulfilment(self, data):
        order = self.pick(data, self.group.orders)
        if not order.fulfillments:
            return order, None
        return order, self.pick(data, order.fulfillments)

    @rule(data=st.data())
    def ship(self, data):
        order, fulfillment = self._fulfilment(data)
        with self.only(order.id):
            if fulfillment is not None and self.attempt(
                lambda: self.group.ship(order.id, fulfillment.id, now=self.now())
            ):
                assert self.new_events() == [ev.SHIPMENT_CREATED]

    @rule(data=st.data())
    def deliver(self, data):
        order, fulfillment = self._fulfilment(data)
        with self.only(order.id):
            if fulfillment is not None and self.attempt(
                lambda: self.group.deliver(order.id, fulfillment.id, now=self.now())
            ):
                assert self.new_events() == [ev.DELIVERED]

    @rule(data=st.data())
    def cancel_fulfillment(self, data):
        order, fulfillment = self._fulfilment(data)
        if fulfillment is not None:
            self.cancel_fulfillment_of(order, fulfillment.id)

    def cancel_fulfillment_of(self, order: Order, fulfillment_id: str) -> bool:
        """Cancel a fulfilment; never while units of its lines are in a return or claim
        beyond what would stay fulfilled (they would ship or be restocked twice)."""
        fulfillment = order.fulfillment(fulfillment_id)
        blocked = [
            line_id
            for line_id, q in fulfillment.items
            if order.line(line_id).fulfilled_quantity - q < self.taken(order, order.line(line_id))
        ]
        cancelable = (
            not order.is_canceled
            and self.active(order) is None
            and fulfillment.canceled_at is None
            and fulfillment.shipped_at is None
            and fulfillment.delivered_at is None
        )
        with self.only(order.id):
            done = self.attempt(
                lambda: self.group.cancel_fulfillment(
                    order.id, fulfillment_id, ids=self.ids, now=self.now()
                )
            )
        if cancelable and blocked:
            assert self.refused is not None and self.refused.message == (
                f"Item {blocked[0]} has units in a return or claim; fulfillment {fulfillment_id} "
                "cannot be canceled"
            )
        assert done == (cancelable and not blocked), self.refused
        assert self.new_events() == ([ev.FULFILLMENT_CANCELED] if done else [])
        return done

    @rule(data=st.data())
    def complete(self, data):
        order = self.pick(data, self.group.orders)
        with self.only(order.id):
            if self.attempt(lambda: self.group.complete(order.id, now=self.now())):
                assert self.new_events() == [ev.ORDER_COMPLETED]

    @rule(data=st.data())
    def archive(self, data):
        order = self.pick(data, self.group.orders)
        with self.only(order.id):
            if self.attempt(lambda: self.group.archive(order.id, now=self.now())):
                assert self.new_events() == [ev.ORDER_ARCHIVED]

    # ----------------------------------------------------------------- returns

    def route(
        self,
        order: Order,
        operation,
        expected: bool,
        events: list[str] | None = None,
        *,
        message: str | None = None,
    ) -> bool:
        """Run one change route on ``order``: it succeeds exactly when ``expected`` (refused
        with ``message`` when given), touches no sibling, and raises ``events`` when it
        succeeds (nothing when refused; a confirmation's events are checked by
        :meth:`confirmed`)."""
        with self.only(order.id):
            done = self.attempt(operation)
        assert done == expected, self.refused
        if not done and message is not None:
            assert self.refused is not None and self.refused.message == message
        if not done or events is not None:
            assert self.new_events() == (events if done else [])
        return done

    def confirmed(self, order: Order, events: list[str]) -> None:
        """A change of ``order`` was confirmed: version + 1, and its unpaid change collection
        re-synced to ``amount_due`` (§3.5) before the change's own ``events``."""
        self.versions[order.id] += 1
        due = self.expected_summary(order)["amount_due"]
        held = self.unpaid[order.id]
        synced = []
        if due > 0 and held is None:
            synced = [ev.PAYMENT_COLLECTION_CREATED]
        elif (due > 0 and held != due) or (due == 0 and held is not None):
            synced = [ev.PAYMENT_COLLECTION_UPDATED]
        self.unpaid[order.id] = due or None
        assert self.new_events() == synced + events

    @rule(data=st.data())
    def begin_return(self, data):
        order = self.pick(data, self.group.orders)
        begun: list[Return] = []
        expected = self.is_open(order) and self.active(order) is None
        if self.route(
            order,
            lambda: begun.append(returns.begin_return(self.group, order.id, self.actor())),
            expected,
            [],
        ):
            ret = begun[0]
            assert ret.status == "open" and ret.location_id == order.location_id
            self.returns[ret.id] = ModelReturn(order.id)

    @precondition(lambda self: bool(getattr(self, "returns", None)))
    @rule(data=st.data(), quantity=st.integers(0, 3), foreign=st.booleans())
    def request_items(self, data, quantity, foreign):
        return_id = self.pick_return(data)
        order, _ = self.return_of(return_id)
        pool = [li for o in self.group.orders for li in o.lines] if foreign else order.lines
        line = self.pick(data, pool)
        change = self.change_for(return_id, "return_request")
        expected = (
            change is not None
            and self.is_open(order)
            and line in order.lines
            and 1 <= quantity <= self.returnable(order, line, change)
        )
        item = returns.RequestedItem(line.id, quantity)
        self.route(
            order,
            lambda: returns.request_items(self.group, return_id, [item], self.actor()),
            expected,
            [],
        )

    def _action(self, data, kinds: tuple[str, ...]) -> tuple[str, Order, ChangeAction] | None:
        """A random action of one of ``kinds`` for some return in its order's active change
        (the return's own change, or the exchange's whose inbound part it is)."""
        found = []
        for return_id, model in sorted(self.returns.items()):
            order = self.group.order(model.order_id)
            change = self.active(order)
            if change is not None and change.return_id == return_id:
                found += [
                    (return_id, order, a)
                    for a in change.actions
                    if a.action in kinds and a.return_id == return_id
                ]
        return self.pick(data, found) if found else None

    @precondition(lambda self: bool(getattr(self, "returns", None)))
    @rule(data=st.data(), quantity=st.integers(0, 3))
    def update_request_item(self, data, quantity):
        picked = self._action(data, ("RETURN_ITEM",))
        if picked is None:
            return
        return_id, order, action = picked
        change = self.change_for(return_id, "return_request")
        line = order.line(action.details["reference_id"])
        # An exchange's inbound items are updated with the exchange's routes.
        expected = (
            change is not None
            and self.is_open(order)
            and 1 <= quantity <= self.returnable(order, line, change, skip=action.id)
        )
        self.route(
            order,
            lambda: returns.update_request_item(
                self.group, return_id, action.id, self.actor(), quantity=quantity
            ),
            expected,
            [],
        )

    @precondition(lambda self: bool(getattr(self, "returns", None)))
    @rule(data=st.data(), wrong_kind=st.booleans())
    def remove_action(self, data, wrong_kind):
        picked = self._action(data, ("RETURN_ITEM", "SHIPPING_ADD", *RECEIVE_KINDS))
        if picked is None:
            return
        return_id, order, action = picked
        kinds = ("CREDIT_LINE_ADD",) if wrong_kind else (action.action,)
        expected = self.is_open(order) and not wrong_kind
        self.route(
            order,
            lambda: returns.remove_action(self.group, return_id, action.id, kinds, self.actor()),
            expected,
            [],
        )
        if expected:
            assert action not in (self.active(order) or OrderChange("", "", "", 0)).actions

    @precondition(lambda self: bool(getattr(self, "returns", None)))
    @rule(
        data=st.data(),
        amount=st.integers(0, 1000),
        custom=st.one_of(st.none(), st.integers(0, 1000)),
        is_return=st.booleans(),
    )
    def add_return_shipping(self, data, amount, custom, is_return):
        return_id = self.pick_return(data)
        order, _ = self.return_of(return_id)
        seller = self.pick(data, sorted({o.seller_id for o in self.group.orders}))
        quote = returns.ShippingQuote(
            id=f"so_ret_{seller}",
            seller_id=seller,
            region_id="reg_1",
            is_return=is_return,
            name="Return",
            amount=amount,
            tax_rate=10,
            tax_inclusive=False,
        )
        change = self.change_for(return_id, "return_request")
        expected = (
            change is not None and self.is_open(order) and seller == order.seller_id and is_return
        )
        if self.route(
            order,
            lambda: returns.add_return_shipping(
                self.group, return_id, quote, self.actor(), custom_amount=custom
            ),
            expected,
            [],
        ):
            assert change is not None
            methods = [a for a in change.actions if a.action == "SHIPPING_ADD"]
            assert len(methods) == 1  # another one replaces the pending one
            price = amount if custom is None else custom
            assert methods[0].details["total"] == methods[0].amount == taxed(price, 10)

    @precondition(lambda self: bool(getattr(self, "returns", None)))
    @rule(data=st.data(), custom=st.integers(0, 1000))
    def update_return_shipping(self, data, custom):
        picked = self._action(data, ("SHIPPING_ADD",))
        if picked is None:
            return
        return_id, order, action = picked
        if self.route(
            order,
            lambda: returns.update_return_shipping(
                self.group, return_id, action.id, self.actor(), custom_amount=custom
            ),
            self.is_open(order) and self.change_for(return_id, "return_request") is not None,
            [],
        ):
            assert action.amount == taxed(custom, 10)

    @precondition(lambda self: bool(getattr(self, "returns", None)))
    @rule(data=st.data())
    def request_return(self, data):
        return_id = self.pick_return(data)
        order, ret = self.return_of(return_id)
        change = self.change_for(return_id, "return_request")
        expected = (
            change is not None
            and self.is_open(order)
            and any(a.action == "RETURN_ITEM" for a in change.actions)
        )
        previewed = {a.id: a.amount for a in change.actions} if change else {}
        if not self.route(
            order,
            lambda: returns.request_return(self.group, return_id, self.actor()),
            expected,
        ):
            return
        assert change is not None and change.status == "confirmed"
        # A preview and the confirmation agree on every action's amount.
        assert {a.id: a.amount for a in change.actions} == previewed
        model = self.returns[return_id]
        model.status = "requested"
        total = 0
        for action in sorted(change.actions, key=lambda a: a.ordering):
            if action.action == "SHIPPING_ADD":
                model.shipping = taxed(action.details["price"], 10)
                assert action.amount == model.shipping
                total += model.shipping
                continue
            assert action.action == "RETURN_ITEM"
            line_id, q = action.details["reference_id"], action.details["quantity"]
            d, deducted = self.deducted[line_id]
            line = order.line(line_id)
            value = max(value_of(self.line_totals[line_id], line.quantity, d + q) - deducted, 0)
            self.deducted[line_id] = [d + q, deducted + value]
            item = model.items.setdefault(line_id, ModelItem())
            item.quantity += q
            item.value += value
            assert action.amount == -value
            total -= value
        assert ret.refund_amount == max(0, -total)
        self.confirmed(order, [ev.RETURN_REQUESTED, ev.ORDER_GROUP_UPDATED])

    @precondition(lambda self: bool(getattr(self, "returns", None)))
    @rule(data=st.data())
    def discard_return(self, data):
        return_id = self.pick_return(data)
        order, ret = self.return_of(return_id)
        change = self.change_for(return_id, "return_request")
        expected = change is not None and self.returns[return_id].status == "open"
        if self.route(
            order,
            lambda: returns.discard_return(self.group, return_id, self.actor()),
            expected,
            [],
        ):
            assert change is not None and change.status == "canceled" and ret.deleted
            self.returns[return_id].status = "deleted"

    @precondition(lambda self: bool(getattr(self, "returns", None)))
    @rule(data=st.data())
    def begin_receive(self, data):
        return_id = self.pick_return(data)
        order, _ = self.return_of(return_id)
        expected = (
            self.is_open(order)
            and self.returns[return_id].status in ("requested", "partially_received")
            and self.active(order) is None
        )
        self.route(
            order,
            lambda: returns.begin_receive(self.group, return_id, self.actor()),
            expected,
            [],
        )

    @precondition(lambda self: bool(getattr(self, "returns", None)))
    @rule(data=st.data(), quantity=st.integers(0, 3), damaged=st.booleans())
    def receive_items(self, data, quantity, damaged):
        return_id = self.pick_return(data)
        order, _ = self.return_of(return_id)
        model = self.returns[return_id]
        # Mostly a line of the return; sometimes any line of the order.
        pool = [li for li in order.lines if li.id in model.items] or order.lines
        if self.focus_line is not None:
            line = order.line(self.focus_line)
        else:
            line = self.pick(data, pool if data.draw(st.booleans()) else order.lines)
        change = self.change_for(return_id, "return_receive")
        model = self.returns[return_id]
        expected = (
            change is not None
            and self.is_open(order)
            and line.id in model.items
            and 1 <= quantity <= self.receivable(return_id, line.id, change)
        )
        self.route(
            order,
            lambda: returns.receive_items(
                self.group, return_id, [(line.id, quantity, None)], self.actor(), damaged=damaged
            ),
            expected,
            [],
        )

    @precondition(lambda self: bool(getattr(self, "returns", None)))
    @rule(data=st.data(), quantity=st.integers(0, 3))
    def update_receive_item(self, data, quantity):
        picked = self._action(data, RECEIVE_KINDS)
        if picked is None:
            return
        return_id, order, action = picked
        change = self.change_for(return_id, "return_receive")
        assert change is not None
        line_id = action.details["reference_id"]
        expected = self.is_open(order) and (
            1 <= quantity <= self.receivable(return_id, line_id, change, skip=action.id)
        )
        self.route(
            order,
            lambda: returns.update_receive_item(
                self.group,
                return_id,
                action.id,
                self.actor(),
                damaged=action.action == "RECEIVE_DAMAGED_RETURN_ITEM",
                quantity=quantity,
            ),
            expected,
            [],
        )

    @precondition(lambda self: bool(getattr(self, "returns", None)))
    @rule(data=st.data())
    def confirm_receive(self, data):
        return_id = self.pick_return(data)
        order, _ = self.return_of(return_id)
        change = self.change_for(return_id, "return_receive")
        expected = change is not None and self.is_open(order)
        if not self.route(
            order,
            lambda: returns.confirm_receive(self.group, return_id, self.actor()),
            expected,
        ):
            return
        assert change is not None
        model = self.returns[return_id]
        for action in change.actions:
            line = order.line(action.details["reference_id"])
            q = action.details["quantity"]
            item = model.items[line.id]
            item.received += q
            if action.action == "RECEIVE_DAMAGED_RETURN_ITEM":
                item.damaged += q
            else:
                self.restocked[(order.location_id, line.variant_id)] += q
            assert action.amount == 0
        # A receipt of no units leaves the return as it was (a claim's return may have none).
        if any(i.received for i in model.items.values()):
            done = all(i.received == i.quantity for i in model.items.values())
            model.status = "received" if done else "partially_received"
        self.confirmed(order, [ev.RETURN_RECEIVED, ev.ORDER_GROUP_UPDATED])

    @precondition(lambda self: bool(getattr(self, "returns", None)))
    @rule(data=st.data())
    def discard_receive(self, data):
        return_id = self.pick_return(data)
        order, _ = self.return_of(return_id)
        change = self.change_for(return_id, "return_receive")
        if self.route(
            order,
            lambda: returns.discard_receive(self.group, return_id, self.actor()),
            change is not None,
            [],
        ):
            assert change is not None and change.status == "canceled"

    @precondition(lambda self: bool(getattr(self, "returns", None)))
    @rule(data=st.data())
    def cancel_return(self, data):
        return_id = self.pick_return(data)
        order, ret = self.return_of(return_id)
        model = self.returns[return_id]
        expected = (
            self.is_open(order)
            and model.status == "requested"
            and not any(i.received for i in model.items.values())
            and self.active(order) is None
        )
        if not self.route(
            order,
            lambda: returns.cancel_return(self.group, return_id, self.actor()),
            expected,
        ):
            return
        # The requested units' value comes back exactly; the return's shipping goes. A
        # claim's return deducted nothing: its units stay claimed.
        for line_id, item in model.items.items():
            if not model.claim:
                d, deducted = self.deducted[line_id]
                self.deducted[line_id] = [d - item.quantity, deducted - item.value]
        model.status = "canceled"
        assert ret.status == "canceled"
        assert all(m.return_id != return_id for m in order.shipping_methods)
        self.confirmed(order, [ev.RETURN_CANCELED, ev.ORDER_GROUP_UPDATED])

    @rule(data=st.data(), shipping=st.booleans())
    def return_flow(self, data, shipping):
        """Begin a return, request one or two items, maybe a shipping method, request it."""
        self.begin_return(data)
        if not self.returns:
            return
        self.focus = list(self.returns)[-1]
        for _ in range(data.draw(st.integers(1, 2))):
            self.request_items(data, data.draw(st.integers(1, 3)), False)
        if shipping:
            self.add_return_shipping(data, data.draw(st.integers(0, 1000)), None, True)
        self.request_return(data)
        self.focus = None

    @precondition(lambda self: bool(getattr(self, "returns", None)))
    @rule(data=st.data(), damaged=st.booleans())
    def receive_flow(self, data, damaged):
        """Begin a receipt of a requested return, receive (and maybe dismiss) units, confirm."""
        waiting = [
            i
            for i, r in self.returns.items()
            if r.status in ("requested", "partially_received") and r.items
        ]
        if not waiting:
            return
        target = self.pick(data, waiting)
        # Another pending change of the order goes first.
        self.settle_active(data, self.return_of(target)[0])
        self.focus = target
        self.begin_receive(data)
        for kind in (False, True) if damaged else (False,):
            items = self.returns[self.focus].items
            self.focus_line = self.pick(data, sorted(items))
            left = items[self.focus_line].quantity - items[self.focus_line].received
            self.receive_items(data, data.draw(st.integers(1, max(left, 1))), kind)
        self.confirm_receive(data)
        self.focus = self.focus_line = None

    @rule(data=st.data(), amount=st.integers(-3000, 3000))
    def add_credit_line(self, data, amount):
        order = self.pick(data, self.group.orders)
        summary = self.expected_summary(order)
        pending = summary["pending_difference"]
        expected = (
            self.is_open(order)
            and self.active(order) is None
            and pending != 0
            and not (amount > 0 and (pending < 0 or amount > pending))
            and not (amount < 0 and (pending > 0 or -amount > summary["refund_due"]))
        )
        if self.route(
            order,
            lambda: returns.add_credit_line(
                self.group, order.id, amount, self.actor(), reference="x", reference_id=None
            ),
            expected,
        ):
            self.credit[order.id] += amount
            self.confirmed(order, [ev.CREDIT_LINE_CREATED, ev.ORDER_GROUP_UPDATED])

    # ----------------------------------------------------------------- exchanges and claims
    #
    # Both are built with the owner-generic rules of ``exchanges`` (``kind``: "exchange" or
    # "claim"); the model of each is a ModelExchange (a ModelClaim for a claim).

    def owners(self, kind: str) -> Mapping[str, ModelExchange]:
        return self.exchanges if kind == "exchange" else self.claims

    def pick_owner(self, data, kind: str) -> str:
        """The flow's exchange or claim, else mostly the latest one (so flows go on), else
        any."""
        focus = self.focus_exchange if kind == "exchange" else self.focus_claim
        if focus is not None:
            return focus
        owners = self.owners(kind)
        if data.draw(st.integers(0, 3)) > 0:
            return list(owners)[-1]
        return self.pick(data, sorted(owners))

    def owner_of(self, kind: str, owner_id: str) -> tuple[Order, Exchange | Claim]:
        order = self.group.order(self.owners(kind)[owner_id].order_id)
        found: list[Exchange] | list[Claim] = (
            order.exchanges if kind == "exchange" else order.claims
        )
        return order, next(x for x in found if x.id == owner_id)

    @staticmethod
    def owner_id_of(change: OrderChange) -> str | None:
        return change.exchange_id if change.change_type == "exchange" else change.claim_id

    def owner_change(self, kind: str, owner_id: str) -> OrderChange | None:
        """The exchange's or claim's pending change, when its builder routes may act on it."""
        order, _ = self.owner_of(kind, owner_id)
        change = self.active(order)
        if (
            self.owners(kind)[owner_id].status != "pending"
            or change is None
            or change.change_type != kind
            or self.owner_id_of(change) != owner_id
        ):
            return None
        return change

    def track_return(self, kind: str, owner_id: str) -> None:
        """The exchange's or claim's return, created with its first inbound item or method,
        joins the model as an open return."""
        order, owner = self.owner_of(kind, owner_id)
        model = self.owners(kind)[owner_id]
        if model.return_id is None and owner.return_id is not None:
            ret = next(r for r in order.returns if r.id == owner.return_id)
            assert (ret.status, ret.exchange_id, ret.claim_id, ret.location_id) == (
                "open",
                owner_id if kind == "exchange" else None,
                owner_id if kind == "claim" else None,
                order.location_id,
            )
            model.return_id = ret.id
            self.returns[ret.id] = ModelReturn(order.id, claim=kind == "claim")
        assert owner.return_id == model.return_id is not None

    def quote(self, order: Order, variant_id: str) -> VariantQuote:
        """A variant as the exchange routes would load it for ``order``: its seller, its price
        in the order's currency, its free stock at the order's seller's location."""
        level = self.inventory.get((order.location_id or "", variant_id))
        return VariantQuote(
            id=variant_id,
            seller_id=self.variant_seller[variant_id],
            product_id=f"prod_{variant_id}",
            published=True,
            seller_active=True,
            unit_price=self.prices[variant_id],
            manage_inventory=variant_id in self.managed,
            allow_backorder=False,
            requires_shipping=True,
            available=level[0] - level[1] if level else 0,
        )

    def draw_outbound(self, data, order: Order, foreign: bool, most: int = 7) -> OutboundItem:
        """An outbound item: a variant of the order's seller (or of another one), sometimes
        more units than the seller has free, sometimes a price override or a backorder."""
        pool = sorted(
            v for v, seller in self.variant_seller.items() if (seller == order.seller_id) != foreign
        )
        if not pool:
            pool = sorted(v for v, s in self.variant_seller.items() if s == order.seller_id)
        return OutboundItem(
            variant_id=self.pick(data, pool),
            quantity=data.draw(st.integers(1, most)),
            unit_price=data.draw(st.one_of(st.none(), st.none(), st.integers(0, 5000))),
            allow_backorder=data.draw(st.sampled_from([None, None, None, None, None, True])),
        )

    def owner_effects(
        self, kind: str, order: Order, change: OrderChange
    ) -> list[tuple[ChangeAction, int]]:
        """Each action of an exchange's or claim's change with the amount the model gives it
        (§3.2), in ``ordering``: an exchange's inbound units and a refund claim's claimed
        units ``−(V(d + q) − D)`` (cumulative within the change), a claim's inbound units and a
        replace claim's claimed units 0, methods their taxed price, outbound lines their taxed
        line total."""
        model = self.owners(kind)[self.owner_id_of(change) or ""]
        refund_claim = isinstance(model, ModelClaim) and model.type == "refund"
        deducted = {line_id: list(dd) for line_id, dd in self.deducted.items()}
        effects = []
        for action in sorted(change.actions, key=lambda a: a.ordering):
            if action.action in ("RETURN_ITEM", "WRITE_OFF_ITEM"):
                deducts = kind == "exchange" if action.action == "RETURN_ITEM" else refund_claim
                if not deducts:
                    effects.append((action, 0))
                    continue
                line = order.line(action.details["reference_id"])
                q = action.details["quantity"]
                d, taken = deducted[line.id]
                value = max(value_of(self.line_totals[line.id], line.quantity, d + q) - taken, 0)
                deducted[line.id] = [d + q, taken + value]
                effects.append((action, -value))
            elif action.action == "SHIPPING_ADD":
                effects.append((action, taxed(action.details["price"], 10)))
            else:
                assert action.action == "ITEM_ADD"
                out = model.pending[action.id]
                effects.append((action, taxed(out.unit_price * out.quantity, self.tax_rate)))
        return effects

    def _owner_action(
        self, data, kinds: tuple[str, ...] | None = None, only: str | None = None
    ) -> tuple[str, str, Order, OrderChange, ChangeAction] | None:
        """A random action (of one of ``kinds``) of some exchange's or claim's pending change:
        (kind, owner id, order, change, action)."""
        found = []
        for kind in ("exchange", "claim") if only is None else (only,):
            for owner_id in sorted(self.owners(kind)):
                change = self.owner_change(kind, owner_id)
                if change is not None:
                    order, _ = self.owner_of(kind, owner_id)
                    found += [
                        (kind, owner_id, order, change, a)
                        for a in change.actions
                        if kinds is None or a.action in kinds
                    ]
        return self.pick(data, found) if found else None

    # begin

    @rule(data=st.data())
    def begin_exchange(self, data):
        self.begin_on("exchange", self.pick(data, self.group.orders))

    @rule(data=st.data(), claim_type=st.sampled_from(["refund", "replace", "replace", "swap"]))
    def begin_claim(self, data, claim_type):
        self.begin_on("claim", self.pick(data, self.group.orders), claim_type)

    def begin_on(self, kind: str, order: Order, claim_type: str = "refund") -> str | None:
        begun: list[Exchange | Claim] = []
        expected = self.is_open(order) and self.active(order) is None
        message = None
        if kind == "exchange":

            def begin() -> None:
                begun.append(exchanges.begin_exchange(self.group, order.id, self.actor()))
        else:
            if claim_type not in ("refund", "replace"):
                expected, message = False, "type must be one of refund, replace"

            def begin() -> None:
                begun.append(
                    claims.begin_claim(self.group, order.id, self.actor(), type=claim_type)
                )

        if not self.route(order, begin, expected, [], message=message):
            return None
        owner = begun[0]
        change = self.active(order)
        assert change is not None and change.change_type == kind
        assert self.owner_id_of(change) == owner.id and change.version == order.version + 1
        assert owner.return_id is None and owner.seller_id == order.seller_id
        if isinstance(owner, Claim):
            assert owner.type == claim_type
            self.claims[owner.id] = ModelClaim(order.id, type=claim_type)
        else:
            self.exchanges[owner.id] = ModelExchange(order.id)
        return owner.id

    # claim items

    @precondition(lambda self: bool(getattr(self, "claims", None)))
    @rule(
        data=st.data(),
        quantity=st.integers(0, 3),
        foreign=st.booleans(),
        reason=st.sampled_from([None, *CLAIM_REASONS, "lost"]),
    )
    def claim_items(self, data, quantity, foreign, reason):
        claim_id = self.pick_owner(data, "claim")
        order, _ = self.owner_of("claim", claim_id)
        pool = [li for o in self.group.orders for li in o.lines] if foreign else order.lines
        picked = [(self.pick(data, pool), quantity)]
        if data.draw(st.integers(0, 3)) == 0:
            picked.append((self.pick(data, order.lines), data.draw(st.integers(1, 3))))
        self.add_claim_items(claim_id, picked, reason)

    def add_claim_items(
        self, claim_id: str, picked: list[tuple[Line, int]], reason: str | None = None
    ) -> None:
        """Claim units: refused unless every line is the order's, every quantity ≥ 1, the
        reason known and, per line, the units within the fulfilled ones not yet in a return
        or claim (the change's other claimed units counted) — that one with §8's message."""
        order, _ = self.owner_of("claim", claim_id)
        model = self.claims[claim_id]
        change = self.owner_change("claim", claim_id)
        mine = {li.id for li in order.lines}
        valid = (
            change is not None
            and self.is_open(order)
            and all(line.id in mine and q >= 1 for line, q in picked)
            and (reason is None or reason in CLAIM_REASONS)
        )
        wanted: dict[str, int] = defaultdict(int)
        for line, q in picked:
            wanted[line.id] += q
        message = None
        if valid:
            assert change is not None
            for line_id, q in wanted.items():
                free = self.returnable(order, order.line(line_id), change, kind="WRITE_OFF_ITEM")
                if q > free:
                    message = f"Cannot claim more items than what was fulfilled for item {line_id}."
                    break
        before = len(change.actions) if change is not None else 0
        items = [claims.ClaimedItem(line.id, q, reason) for line, q in picked]
        if not self.route(
            order,
            lambda: claims.add_claim_items(self.group, claim_id, items, self.actor()),
            valid and message is None,
            [],
            message=message,
        ):
            return
        assert change is not None
        assert [
            (
                a.action,
                a.claim_id,
                a.details["reference_id"],
                a.details["quantity"],
                a.details["reason"],
                a.details["refund"],
            )
            for a in change.actions[before:]
        ] == [
            ("WRITE_OFF_ITEM", claim_id, line.id, q, reason or "other", model.type == "refund")
            for line, q in picked
        ]

    @precondition(lambda self: bool(getattr(self, "claims", None)))
    @rule(
        data=st.data(),
        quantity=st.one_of(st.none(), st.integers(0, 3)),
        reason=st.sampled_from([None, *CLAIM_REASONS, "lost"]),
    )
    def update_claim_item(self, data, quantity, reason):
        picked = self._owner_action(data, ("WRITE_OFF_ITEM",), only="claim")
        if picked is None:
            return
        _, claim_id, order, change, action = picked
        line = order.line(action.details["reference_id"])
        free = self.returnable(order, line, change, skip=action.id, kind="WRITE_OFF_ITEM")
        message = None
        if self.is_open(order) and quantity is not None and quantity > max(free, 0):
            message = f"Cannot claim more items than what was fulfilled for item {line.id}."
        expected = (
            self.is_open(order)
            and (quantity is None or 1 <= quantity <= free)
            and (reason is None or reason in CLAIM_REASONS)
        )
        before = dict(action.details)
        if self.route(
            order,
            lambda: claims.update_claim_item(
                self.group, claim_id, action.id, self.actor(), quantity=quantity, reason=reason
            ),
            expected,
            [],
            message=message,
        ):
            assert action.details == {
                **before,
                "quantity": before["quantity"] if quantity is None else quantity,
                "reason": before["reason"] if reason is None else reason,
            }

    # inbound

    @precondition(lambda self: bool(getattr(self, "exchanges", None)))
    @rule(data=st.data(), quantity=st.integers(0, 3), foreign=st.booleans())
    def exchange_inbound_items(self, data, quantity, foreign):
        self.owner_inbound_items(data, "exchange", quantity, foreign)

    @precondition(lambda self: bool(getattr(self, "claims", None)))
    @rule(data=st.data(), quantity=st.integers(0, 3), foreign=st.booleans())
    def claim_inbound_items(self, data, quantity, foreign):
        self.owner_inbound_items(data, "claim", quantity, foreign)

    def owner_inbound_items(self, data, kind: str, quantity: int, foreign: bool) -> None:
        owner_id = self.pick_owner(data, kind)
        order, _ = self.owner_of(kind, owner_id)
        pool = [li for o in self.group.orders for li in o.lines] if foreign else order.lines
        picked = [(self.pick(data, pool), quantity)]
        if data.draw(st.integers(0, 3)) == 0:
            picked.append((self.pick(data, order.lines), data.draw(st.integers(1, 3))))
        self.add_inbound(kind, owner_id, picked)

    def add_inbound(self, kind: str, owner_id: str, picked: list[tuple[Line, int]]) -> None:
        """Inbound units: lines of the order, quantities ≥ 1 and — an exchange's — within the
        fulfilled units not yet in a return or claim. A claim's are checked against its
        claimed units at request (§8)."""
        order, _ = self.owner_of(kind, owner_id)
        change = self.owner_change(kind, owner_id)
        mine = {li.id for li in order.lines}
        expected = change is not None and self.is_open(order)
        wanted: dict[str, int] = defaultdict(int)
        for line, q in picked:
            expected = expected and line.id in mine and q >= 1
            wanted[line.id] += q
        if expected and kind == "exchange":
            assert change is not None
            expected = all(
                q <= self.returnable(order, order.line(line_id), change)
                for line_id, q in wanted.items()
            )
        items = [RequestedItem(line.id, q) for line, q in picked]
        if self.route(
            order,
            lambda: exchanges.inbound_items(self.group, kind, owner_id, items, self.actor()),
            expected,
            [],
        ):
            self.track_return(kind, owner_id)

    @precondition(
        lambda self: bool(getattr(self, "exchanges", None) or getattr(self, "claims", None))
    )
    @rule(data=st.data(), quantity=st.integers(0, 3))
    def update_inbound_item(self, data, quantity):
        picked = self._owner_action(data, ("RETURN_ITEM",))
        if picked is None:
            return
        kind, owner_id, order, change, action = picked
        line = order.line(action.details["reference_id"])
        expected = self.is_open(order) and quantity >= 1
        if kind == "exchange":
            expected = expected and quantity <= self.returnable(order, line, change, skip=action.id)
        if self.route(
            order,
            lambda: exchanges.update_inbound_item(
                self.group, kind, owner_id, action.id, self.actor(), quantity=quantity
            ),
            expected,
            [],
        ):
            assert action.details["quantity"] == quantity

    # shipping

    @precondition(lambda self: bool(getattr(self, "exchanges", None)))
    @rule(
        data=st.data(),
        amount=st.integers(0, 1000),
        custom=st.one_of(st.none(), st.integers(0, 1000)),
        inbound=st.booleans(),
        is_return=st.booleans(),
    )
    def exchange_shipping(self, data, amount, custom, inbound, is_return):
        self.owner_shipping(data, "exchange", amount, custom, inbound, is_return)

    @precondition(lambda self: bool(getattr(self, "claims", None)))
    @rule(
        data=st.data(),
        amount=st.integers(0, 1000),
        custom=st.one_of(st.none(), st.integers(0, 1000)),
        inbound=st.booleans(),
        is_return=st.booleans(),
    )
    def claim_shipping(self, data, amount, custom, inbound, is_return):
        self.owner_shipping(data, "claim", amount, custom, inbound, is_return)

    def owner_shipping(
        self, data, kind: str, amount: int, custom: int | None, inbound: bool, is_return: bool
    ) -> None:
        """An inbound (return option) or outbound (not a return option) method of the seller;
        a second one of a direction replaces the first. An exchange's costs the option's
        amount, a claim's 0 (§8), unless ``custom_amount``."""
        owner_id = self.pick_owner(data, kind)
        order, _ = self.owner_of(kind, owner_id)
        seller = self.pick(data, sorted({o.seller_id for o in self.group.orders}))
        quote = returns.ShippingQuote(
            id=f"so_{'ret' if is_return else 'out'}_{seller}",
            seller_id=seller,
            region_id="reg_1",
            is_return=is_return,
            name="Exchange" if kind == "exchange" else "Claim",
            amount=amount,
            tax_rate=10,
            tax_inclusive=False,
        )
        change = self.owner_change(kind, owner_id)
        expected = (
            change is not None
            and self.is_open(order)
            and seller == order.seller_id
            and is_return == inbound
        )
        add = exchanges.inbound_shipping if inbound else exchanges.outbound_shipping
        if not self.route(
            order,
            lambda: add(self.group, kind, owner_id, quote, self.actor(), custom_amount=custom),
            expected,
            [],
        ):
            return
        assert change is not None
        if inbound:
            self.track_return(kind, owner_id)
        methods = [
            a
            for a in change.actions
            if a.action == "SHIPPING_ADD" and (a.return_id is not None) == inbound
        ]
        assert len(methods) == 1  # one method per direction: another replaces it
        price = custom if custom is not None else (amount if kind == "exchange" else 0)
        assert methods[0].details["price"] == price
        assert methods[0].details["total"] == methods[0].amount == taxed(price, 10)

    # outbound

    @precondition(lambda self: bool(getattr(self, "exchanges", None)))
    @rule(data=st.data(), foreign=st.booleans())
    def exchange_outbound_items(self, data, foreign):
        self.owner_outbound_items(data, "exchange", foreign)

    @precondition(lambda self: bool(getattr(self, "claims", None)))
    @rule(data=st.data(), foreign=st.booleans())
    def claim_outbound_items(self, data, foreign):
        self.owner_outbound_items(data, "claim", foreign)

    def owner_outbound_items(self, data, kind: str, foreign: bool) -> None:
        owner_id = self.pick_owner(data, kind)
        order, _ = self.owner_of(kind, owner_id)
        items = [self.draw_outbound(data, order, foreign)]
        if data.draw(st.integers(0, 3)) == 0:
            items.append(self.draw_outbound(data, order, False))
        self.add_outbound(kind, owner_id, items)

    def add_outbound(self, kind: str, owner_id: str, items: list[OutboundItem]) -> None:
        """Outbound lines: refused on a refund claim; else each a variant of the order's
        seller, priced (a claim's cost 0 unless ``unit_price``), in stock unless backordered."""
        order, _ = self.owner_of(kind, owner_id)
        change = self.owner_change(kind, owner_id)
        model = self.owners(kind)[owner_id]
        quotes = {v: self.quote(order, v) for v in self.variant_seller}
        expected = change is not None and self.is_open(order)
        message = None
        if expected and isinstance(model, ModelClaim) and model.type == "refund":
            expected, message = False, "Outbound items are not allowed on a refund claim"
        default = None if kind == "exchange" else 0
        # The stock check counts the change's other outbound units of the variant (§5),
        # backordered ones too: they are reserved at the request all the same.
        held: dict[str, int] = defaultdict(int)
        for out in model.pending.values():
            held[out.variant_id] += out.quantity
        for item in items:
            quote = quotes[item.variant_id]
            refusal = None
            if quote.seller_id != order.seller_id:
                refusal = (
                    f"Variant {quote.id} belongs to seller {quote.seller_id}, not to seller "
                    f"{order.seller_id} of order {order.id}"
                )
            elif item.unit_price is None and default is None and quote.unit_price is None:
                refusal = f"Variant {quote.id} has no price in usd"
            elif (
                quote.manage_inventory
                and not item.allow_backorder
                and held[quote.id] + item.quantity > quote.available
            ):
                refusal = (
                    f"Variant {quote.id} does not have the required inventory at location "
                    f"{order.location_id}"
                )
            held[quote.id] += item.quantity
            if refusal is not None and expected:
                expected, message = False, refusal
        before = len(change.actions) if change is not None else 0
        if not self.route(
            order,
            lambda: exchanges.outbound_items(
                self.group,
                kind,
                owner_id,
                items,
                quotes,
                Tax(self.tax_rate, False),
                self.actor(),
            ),
            expected,
            [],
            message=message,
        ):
            if message is not None and "inventory" in message:
                assert self.refused is not None and self.refused.code == "insufficient_inventory"
            return
        assert change is not None
        added = change.actions[before:]
        assert len(added) == len(items)
        for action, item in zip(added, items, strict=True):
            price = item.unit_price
            if price is None:
                price = self.prices[item.variant_id] if kind == "exchange" else 0
            assert price is not None
            out = ModelOutbound(
                item.variant_id,
                item.quantity,
                price,
                managed=item.variant_id in self.managed,
                backorder=bool(item.allow_backorder),
            )
            model.pending[action.id] = out
            d = action.details
            assert action.action == "ITEM_ADD" and self.owner_id_of(change) == owner_id
            assert (action.exchange_id, action.claim_id) == (
                (owner_id, None) if kind == "exchange" else (None, owner_id)
            )
            assert (d["variant_id"], d["quantity"], d["unit_price"]) == (
                out.variant_id,
                out.quantity,
                out.unit_price,
            )
            assert action.amount == taxed(out.unit_price * out.quantity, self.tax_rate)

    @precondition(
        lambda self: bool(getattr(self, "exchanges", None) or getattr(self, "claims", None))
    )
    @rule(
        data=st.data(),
        quantity=st.integers(1, 7),
        unit_price=st.one_of(st.none(), st.integers(0, 5000)),
    )
    def update_outbound_item(self, data, quantity, unit_price):
        picked = self._owner_action(data, ("ITEM_ADD",))
        if picked is None:
            return
        kind, owner_id, order, change, action = picked
        out = self.owners(kind)[owner_id].pending[action.id]
        quote = self.quote(order, out.variant_id)
        others = sum(
            o.quantity
            for a_id, o in self.owners(kind)[owner_id].pending.items()
            if a_id != action.id and o.variant_id == out.variant_id
        )
        expected = self.is_open(order) and (
            not out.managed or out.backorder or quantity + others <= quote.available
        )
        if self.route(
            order,
            lambda: exchanges.update_outbound(
                self.group,
                kind,
                owner_id,
                action.id,
                {out.variant_id: quote},
                self.actor(),
                quantity=quantity,
                unit_price=unit_price,
            ),
            expected,
            [],
        ):
            out.quantity = quantity
            if unit_price is not None:
                out.unit_price = unit_price
            assert action.amount == taxed(out.unit_price * out.quantity, self.tax_rate)

    # remove an action

    @precondition(
        lambda self: bool(getattr(self, "exchanges", None) or getattr(self, "claims", None))
    )
    @rule(data=st.data(), part=st.sampled_from(sorted(OWNER_PARTS)))
    def remove_owner_action(self, data, part):
        picked = self._owner_action(data)
        if picked is None:
            return
        kind, owner_id, order, change, action = picked
        if action.action == "SHIPPING_ADD":
            actual = "inbound_shipping" if action.return_id is not None else "outbound_shipping"
        else:
            actual = next(p for p, name in OWNER_PARTS.items() if name == action.action)
        if data.draw(st.booleans()):
            part = actual
        self.remove_part(kind, owner_id, order, change, action, part, actual)

    def remove_part(
        self,
        kind: str,
        owner_id: str,
        order: Order,
        change: OrderChange,
        action: ChangeAction,
        part: str,
        actual: str,
    ) -> None:
        """``DELETE …/<part>/:action_id``: an action of another part is not found."""
        expected = self.is_open(order) and part == actual
        message = None
        if self.is_open(order) and part != actual:
            message = f"Order change action with id {action.id} was not found"
        if self.route(
            order,
            lambda: exchanges.remove_action(
                self.group, kind, owner_id, action.id, self.actor(), part=part
            ),
            expected,
            [],
            message=message,
        ):
            assert action not in change.actions
            self.owners(kind)[owner_id].pending.pop(action.id, None)

    # request, discard, cancel

    @precondition(lambda self: bool(getattr(self, "exchanges", None)))
    @rule(data=st.data())
    def request_exchange(self, data):
        self.request_owner(data, "exchange")

    @precondition(lambda self: bool(getattr(self, "claims", None)))
    @rule(data=st.data())
    def request_claim(self, data):
        self.request_owner(data, "claim")

    @staticmethod
    def request_refusal(model: ModelExchange, change: OrderChange) -> str | None:
        """Why the request of the exchange's or claim's change is refused (§7, §8), if it
        is."""
        kinds = {a.action for a in change.actions}
        if not isinstance(model, ModelClaim):
            if "RETURN_ITEM" in kinds and "ITEM_ADD" in kinds:
                return None
            return "Order exchange request should have at least 1 item inbound and 1 item outbound"
        if "WRITE_OFF_ITEM" not in kinds:
            return "Order claim request should have at least 1 item"
        if model.type == "replace" and "ITEM_ADD" not in kinds:
            return "A replace claim must have at least 1 outbound item"
        claimed: dict[str, int] = defaultdict(int)
        inbound: dict[str, int] = defaultdict(int)
        for a in change.actions:
            if a.action == "WRITE_OFF_ITEM":
                claimed[a.details["reference_id"]] += a.details["quantity"]
            elif a.action == "RETURN_ITEM":
                inbound[a.details["reference_id"]] += a.details["quantity"]
        for line_id, q in inbound.items():
            if q > claimed[line_id]:
                return f"Cannot return more items than were claimed for item {line_id}."
        return None

    def request_owner(self, data, kind: str) -> None:
        owner_id = self.pick_owner(data, kind)
        order, owner = self.owner_of(kind, owner_id)
        change = self.owner_change(kind, owner_id)
        model = self.owners(kind)[owner_id]
        message = None
        if change is not None and self.is_open(order):
            message = self.request_refusal(model, change)
        expected = change is not None and self.is_open(order) and message is None
        effects = self.owner_effects(kind, order, change) if expected and change else []
        previewed = {a.id: a.amount for a in change.actions} if change else {}
        request = exchanges.request_exchange if kind == "exchange" else claims.request_claim
        if not self.route(
            order,
            lambda: request(self.group, owner_id, self.actor()),
            expected,
            message=message,
        ):
            return
        assert change is not None and change.status == "confirmed"
        # A preview and the confirmation agree on every action's amount, and with the model.
        assert {a.id: a.amount for a in change.actions} == previewed
        assert [a.amount for a, _ in effects] == [amount for _, amount in effects]
        model_return = self.returns[model.return_id] if model.return_id else None
        assert model_return is not None or kind == "claim"
        for action, amount in effects:
            if action.action in ("RETURN_ITEM", "WRITE_OFF_ITEM"):
                line_id, q = action.details["reference_id"], action.details["quantity"]
                deducts = (
                    kind == "exchange"
                    if action.action == "RETURN_ITEM"
                    else isinstance(model, ModelClaim) and model.type == "refund"
                )
                if deducts:
                    d, taken = self.deducted[line_id]
                    self.deducted[line_id] = [d + q, taken - amount]
            if action.action == "RETURN_ITEM":
                assert model_return is not None
                item = model_return.items.setdefault(line_id, ModelItem())
                item.quantity += q
                item.value -= amount
            elif action.action == "WRITE_OFF_ITEM":
                assert isinstance(model, ModelClaim)
                model.claimed.append(ModelClaimed(line_id, q, -amount))
            elif action.action == "SHIPPING_ADD" and action.return_id is not None:
                assert model_return is not None
                model_return.shipping = amount
            elif action.action == "SHIPPING_ADD":
                model.shipping = amount
            else:
                line_id = action.details["reference_id"]
                out = model.pending[action.id]
                line = order.line(line_id)
                assert (line.exchange_id, line.claim_id) == (action.exchange_id, action.claim_id)
                assert (line.variant_id, line.quantity, line.unit_price, line.total) == (
                    out.variant_id,
                    out.quantity,
                    out.unit_price,
                    amount,
                )
                # Reserved at the seller's location (a managed variant), nowhere else.
                held = [
                    (r.location_id, r.quantity) for r in order.reservations if r.line_id == line_id
                ]
                assert held == ([(order.location_id, out.quantity)] if out.managed else [])
                self.line_totals[line_id] = amount
                self.deducted[line_id] = [0, 0]
                model.lines[line_id] = out
        model.pending = {}
        model.status = "requested"
        if model_return is not None:
            model_return.status = "requested"
        # difference_due = Σ of the exchange's action amounts; a claim's refund_amount =
        # max(0, −Σ of its amounts) (§2.3).
        model.difference_due = sum(amount for _, amount in effects)
        if isinstance(owner, Claim):
            assert owner.refund_amount == max(0, -model.difference_due)
        else:
            assert owner.difference_due == model.difference_due
        if model.return_id is not None:
            ret = self.return_of(model.return_id)[1]
            assert ret.refund_amount == max(
                0, -sum(amount for a, amount in effects if a.return_id == ret.id)
            )
        self.confirmed(order, [OWNER_EVENTS[kind][0], ev.ORDER_GROUP_UPDATED])

    @precondition(lambda self: bool(getattr(self, "exchanges", None)))
    @rule(data=st.data())
    def discard_exchange(self, data):
        self.discard_owner(self.pick_owner(data, "exchange"), "exchange")

    @precondition(lambda self: bool(getattr(self, "claims", None)))
    @rule(data=st.data())
    def discard_claim(self, data):
        self.discard_owner(self.pick_owner(data, "claim"), "claim")

    def discard_owner(self, owner_id: str, kind: str) -> None:
        """``DELETE …/request``: the pending change canceled, the exchange or claim and its
        return deleted."""
        order, owner = self.owner_of(kind, owner_id)
        change = self.owner_change(kind, owner_id)

        def discard() -> None:
            if kind == "exchange":
                exchanges.discard(self.group, "exchange", owner_id, self.actor())
            else:
                claims.discard_claim(self.group, owner_id, self.actor())

        if not self.route(order, discard, change is not None, []):
            return
        assert change is not None and change.status == "canceled" and owner.deleted
        model = self.owners(kind)[owner_id]
        model.status = "deleted"
        model.pending = {}
        if model.return_id is not None:
            assert self.return_of(model.return_id)[1].deleted
            self.returns[model.return_id].status = "deleted"

    @precondition(lambda self: bool(getattr(self, "exchanges", None)))
    @rule(data=st.data())
    def cancel_exchange(self, data):
        self.cancel_owner(self.pick_owner(data, "exchange"), "exchange")

    @precondition(lambda self: bool(getattr(self, "claims", None)))
    @rule(data=st.data())
    def cancel_claim(self, data):
        self.cancel_owner(self.pick_owner(data, "claim"), "claim")

    def cancel_owner(self, owner_id: str, kind: str) -> None:
        """Cancel a requested exchange or claim: refused while an outbound fulfilment stands or
        once units came back; else everything it applied is taken back exactly — inbound
        units, methods, outbound lines and their reservations, a claim's write-offs."""
        order, owner = self.owner_of(kind, owner_id)
        model = self.owners(kind)[owner_id]
        model_return = self.returns[model.return_id] if model.return_id else None
        outbound = {line_id for line_id in model.lines if order.line(line_id).quantity > 0}
        shipped_out = any(
            f.canceled_at is None and any(line_id in outbound for line_id, _ in f.items)
            for f in order.fulfillments
        )
        came_back = model_return is not None and any(
            i.received for i in model_return.items.values()
        )
        busy = self.active(order)
        noun = "Exchange" if kind == "exchange" else "Claim"
        message = None
        if model.status == "deleted":
            message = f"{noun} with id {owner_id} was not found"
        elif self.is_open(order):
            if model.status == "canceled":
                message = f"{noun} with id {owner_id} has been canceled."
            elif model.status == "pending":
                message = (
                    f"{noun} {owner_id} has not been requested; use DELETE "
                    f"/admin/{kind}s/{owner_id}/request"
                )
            elif shipped_out:
                message = "All fulfillments must be canceled before canceling " + (
                    "am exchange" if kind == "exchange" else "a claim"
                )
            elif came_back:
                message = "Can't cancel a return which has returned items"
            elif busy is not None:
                message = (
                    f"Order ({order.id}) already has an existing active order change: "
                    f"{busy.id} ({busy.change_type})"
                )
        expected = (
            model.status == "requested"
            and self.is_open(order)
            and not shipped_out
            and not came_back
            and busy is None
        )
        held = sorted(
            (r.location_id, r.variant_id, 0, -r.quantity)
            for r in order.reservations
            if r.line_id in model.lines
        )
        moves_before = len(self.group.stock_moves)
        current_before = self.expected_summary(order)["current_order_total"]

        def cancel() -> None:
            if kind == "exchange":
                exchanges.cancel_exchange(self.group, owner_id, self.actor())
            else:
                claims.cancel_claim(self.group, owner_id, self.actor())

        if not self.route(order, cancel, expected, message=message):
            return
        # Exactly the outbound lines' reservations are released; nothing else moves.
        moves = self.group.stock_moves[moves_before:]
        assert sorted((m.location_id, m.variant_id, m.stocked, m.reserved) for m in moves) == held
        assert not any(r.line_id in model.lines for r in order.reservations)
        if model_return is not None and model_return.status != "canceled":
            for line_id, item in model_return.items.items():
                if not model_return.claim:
                    d, taken = self.deducted[line_id]
                    self.deducted[line_id] = [d - item.quantity, taken - item.value]
            model_return.status = "canceled"
        reversal = order.changes[-1]
        if isinstance(model, ModelClaim):
            # Negative write-offs give back exactly what each claimed batch deducted.
            assert [
                (a.details["reference_id"], a.details["quantity"], a.amount)
                for a in reversal.actions
                if a.action == "WRITE_OFF_ITEM"
            ] == [(c.line_id, -c.quantity, c.value) for c in model.claimed]
            if model.type == "refund":
                for claimed in model.claimed:
                    d, taken = self.deducted[claimed.line_id]
                    self.deducted[claimed.line_id] = [d - claimed.quantity, taken - claimed.value]
        for line_id in model.lines:
            # Never returned nor claimed: those units keep their fulfilment, which blocks
            # the cancel.
            assert self.deducted[line_id] == [0, 0]
            self.line_totals[line_id] = 0
            if line_id in self.line_model:
                # An edit updated this outbound line (§9): the cancel removes all of it, the
                # edit's units too (§7, §8), and keeps its unit price.
                self.line_model[line_id] = (0, self.line_model[line_id][1])
        model.status = "canceled"
        assert owner.canceled_at is not None
        assert (reversal.change_type, self.owner_id_of(reversal), reversal.status) == (
            kind,
            owner_id,
            "confirmed",
        )
        # The reversal's amounts are exactly what the current total moves by.
        current_after = self.expected_summary(order)["current_order_total"]
        assert sum(a.amount for a in reversal.actions) == current_after - current_before
        self.confirmed(order, [OWNER_EVENTS[kind][1], ev.ORDER_GROUP_UPDATED])

    def settle_active(self, data, order: Order) -> None:
        """Discard the order's pending change (if any), so that a flow can begin its own."""
        pending = self.active(order)
        if pending is None:
            return
        if pending.change_type in ("exchange", "claim"):
            owner_id = self.owner_id_of(pending)
            assert owner_id is not None
            self.discard_owner(owner_id, pending.change_type)
        elif pending.change_type == "edit":
            if not self.cancel_edit_on(order):
                self.confirm_edit_on(order)
        elif pending.change_type == "return_request":
            self.focus = pending.return_id
            self.discard_return(data)
        else:
            self.focus = pending.return_id
            self.discard_receive(data)
        self.focus = None
        assert self.active(order) is None

    # flows

    @rule(data=st.data(), shipping=st.booleans())
    def exchange_flow(self, data, shipping):
        """On an open order (its pending change discarded, its lines fulfilled when nothing
        could be returned): begin an exchange, add returnable inbound units and a few outbound
        ones, maybe methods, and request it."""
        order = self.pick(data, self.group.orders)
        if not self.is_open(order):
            return
        self.settle_active(data, order)
        if not any(self.returnable(order, li, OrderChange("", "", "", 0)) for li in order.lines):
            self.fulfil_rest(order)
        exchange_id = self.begin_on("exchange", order)
        if exchange_id is None:
            return
        self.focus_exchange = exchange_id
        for _ in range(data.draw(st.integers(1, 2))):
            change = self.owner_change("exchange", exchange_id)
            assert change is not None
            options = [(li, self.returnable(order, li, change)) for li in order.lines]
            options = [(li, n) for li, n in options if n > 0]
            if options:
                line, most = self.pick(data, options)
                self.add_inbound("exchange", exchange_id, [(line, data.draw(st.integers(1, most)))])
        for _ in range(data.draw(st.integers(1, 2))):
            self.add_outbound(
                "exchange", exchange_id, [self.draw_outbound(data, order, False, most=3)]
            )
        if shipping:
            self.owner_shipping(data, "exchange", data.draw(st.integers(0, 1000)), None, True, True)
            price = data.draw(st.sampled_from([None, 0]))
            self.owner_shipping(
                data, "exchange", data.draw(st.integers(0, 1000)), price, False, False
            )
        self.request_owner(data, "exchange")
        self.focus_exchange = None
        if data.draw(st.booleans()):
            self.pay_flow(data, order)
        if data.draw(st.booleans()):
            self.cancel_after(
                data, "exchange", exchange_id, data.draw(st.sampled_from(CANCEL_PATHS))
            )

    @rule(
        data=st.data(),
        claim_type=st.sampled_from(["refund", "replace"]),
        shipping=st.booleans(),
        inbound=st.booleans(),
    )
    def claim_flow(self, data, claim_type, shipping, inbound):
        """On an open order (its pending change discarded, its lines fulfilled when nothing
        could be claimed): begin a claim, claim units (sometimes one more than is free:
        refused), replacements for a replace claim, maybe claimed units sent back (sometimes
        more than claimed: the request is refused until they are removed), maybe methods
        (free unless priced); request it."""
        order = self.pick(data, self.group.orders)
        if not self.is_open(order):
            return
        self.settle_active(data, order)
        none = OrderChange("", "", "", 0)
        if not any(self.returnable(order, li, none, kind="WRITE_OFF_ITEM") for li in order.lines):
            self.fulfil_rest(order)
        claim_id = self.begin_on("claim", order, claim_type)
        if claim_id is None:
            return
        self.focus_claim = claim_id
        for _ in range(data.draw(st.integers(1, 2))):
            change = self.owner_change("claim", claim_id)
            assert change is not None
            options = [
                (li, self.returnable(order, li, change, kind="WRITE_OFF_ITEM"))
                for li in order.lines
            ]
            options = [(li, n) for li, n in options if n > 0]
            if options:
                line, most = self.pick(data, options)
                q = (
                    most + 1
                    if data.draw(st.integers(0, 4)) == 0
                    else data.draw(st.integers(1, most))
                )
                reason = data.draw(st.sampled_from([None, *CLAIM_REASONS]))
                self.add_claim_items(claim_id, [(line, q)], reason)
        if claim_type == "replace":
            for _ in range(data.draw(st.integers(1, 2))):
                self.add_outbound(
                    "claim", claim_id, [self.draw_outbound(data, order, False, most=3)]
                )
        change = self.owner_change("claim", claim_id)
        assert change is not None
        claimed = [
            (a.details["reference_id"], a.details["quantity"])
            for a in change.actions
            if a.action == "WRITE_OFF_ITEM"
        ]
        if inbound and claimed:
            line_id, most = self.pick(data, claimed)
            q = data.draw(st.integers(1, most)) + data.draw(st.sampled_from([0, 0, 0, 1]))
            self.add_inbound("claim", claim_id, [(order.line(line_id), q)])
        if shipping:
            custom = data.draw(st.sampled_from([None, None, 0, 250]))
            self.owner_shipping(data, "claim", data.draw(st.integers(0, 1000)), custom, True, True)
            custom = data.draw(st.sampled_from([None, None, 0, 250]))
            self.owner_shipping(
                data, "claim", data.draw(st.integers(0, 1000)), custom, False, False
            )
        self.request_owner(data, "claim")
        if self.refused is not None and self.refused.message.startswith("Cannot return more"):
            # Send back only what was claimed: drop the inbound units and request again.
            for action in [a for a in change.actions if a.action == "RETURN_ITEM"]:
                self.remove_part(
                    "claim", claim_id, order, change, action, "inbound_item", "inbound_item"
                )
            self.request_owner(data, "claim")
        self.focus_claim = None
        if data.draw(st.integers(0, 3)) == 0:
            # Claimed units keep their fulfilment (refused unless others of the line are free).
            claimed = {c.line_id for c in self.claims[claim_id].claimed}
            for fulfillment in order.fulfillments:
                if fulfillment.canceled_at is None and any(
                    line_id in claimed for line_id, _ in fulfillment.items
                ):
                    self.cancel_fulfillment_of(order, fulfillment.id)
        if data.draw(st.booleans()):
            self.pay_flow(data, order)
        if data.draw(st.integers(0, 2)) == 0:
            self.cancel_after(data, "claim", claim_id, data.draw(st.sampled_from(CANCEL_PATHS)))

    def fulfil_rest(self, order: Order) -> None:
        """Fulfil every unfulfilled unit of the order (refused when nothing is left)."""
        items = [(li.id, li.quantity - li.fulfilled_quantity) for li in order.lines]
        self.fulfil_items(order, [(i, q) for i, q in items if q > 0])

    @rule(
        data=st.data(),
        how=st.sampled_from(CANCEL_PATHS),
        kind=st.sampled_from(["exchange", "claim"]),
    )
    def cancel_flow(self, data, how, kind):
        """Cancel some requested exchange or claim (see :meth:`cancel_after`)."""
        requested = sorted(i for i, x in self.owners(kind).items() if x.status == "requested")
        if requested:
            self.cancel_after(data, kind, self.pick(data, requested), how)

    def cancel_after(self, data, kind: str, owner_id: str, how: str) -> None:
        """Cancel a requested exchange or claim as it is; once its outbound lines were
        fulfilled (refused), or once that fulfilment was canceled again; or once a unit of its
        return came back (refused)."""
        order, _ = self.owner_of(kind, owner_id)
        if not self.is_open(order):
            return
        self.settle_active(data, order)
        model = self.owners(kind)[owner_id]
        if how.startswith("fulfilled") and model.lines:
            lines = [order.line(i) for i in sorted(model.lines)]
            items = [(li.id, li.quantity - li.fulfilled_quantity) for li in lines]
            fulfillment_id = self.fulfil_items(order, [(i, q) for i, q in items if q > 0])
            if fulfillment_id is not None and how == "fulfilled, canceled":
                assert self.cancel_fulfillment_of(order, fulfillment_id)
        elif how == "received" and model.return_id is not None:
            items = self.returns[model.return_id].items
            if self.returns[model.return_id].status == "requested" and items:
                self.focus, self.focus_line = model.return_id, sorted(items)[0]
                self.begin_receive(data)
                self.receive_items(data, 1, data.draw(st.booleans()))
                self.confirm_receive(data)
                self.focus = self.focus_line = None
        self.cancel_owner(owner_id, kind)

    # ----------------------------------------------------------------- invariants

    # ----------------------------------------------------------------- order edits (§9)

    def edit_of(self, order: Order) -> tuple[ModelEdit, OrderChange] | None:
        """The order's active edit and the model's account of it."""
        change = self.active(order)
        if change is None or change.change_type != "edit":
            return None
        return self.edits[change.id], change

    def pick_edit_order(self, data) -> Order:
        """The flow's order, else mostly an order with an active edit, else any order that
        had one."""
        if self.focus_order is not None:
            return self.group.order(self.focus_order)
        live = [o for o in self.group.orders if self.edit_of(o) is not None]
        if live and data.draw(st.integers(0, 4)) > 0:
            return self.pick(data, live)
        ids = sorted({m.order_id for m in self.edits.values()})
        return self.group.order(self.pick(data, ids))

    def edit_held(self, order: Order, model: ModelEdit, variant_id: str, skip: str = "") -> int:
        """Units of ``variant_id`` the edit's actions (but ``skip``) would reserve: its new
        lines' units and the units its line updates add to a managed variant's line."""
        held = sum(
            o.quantity for a, o in model.adds.items() if a != skip and o.variant_id == variant_id
        )
        for action_id, (line_id, quantity, _) in model.updates.items():
            line = order.line(line_id)
            if action_id != skip and line.variant_id == variant_id and variant_id in self.managed:
                held += max(quantity - line.quantity, 0)
        return held

    def edit_effects(self, order: Order, model: ModelEdit) -> dict[str, int]:
        """Each action of the edit with the amount the model gives it (§3.2): a new line its
        taxed total, a line update the line's taxed total after minus before, a method its
        taxed price."""
        effects = {
            a: taxed(o.unit_price * o.quantity, self.tax_rate) for a, o in model.adds.items()
        }
        for action_id, (line_id, quantity, unit_price) in model.updates.items():
            line = order.line(line_id)
            price = line.unit_price if unit_price is None else unit_price
            effects[action_id] = taxed(price * quantity, self.tax_rate) - line.total
        for action_id, price in model.shipping.items():
            effects[action_id] = taxed(price, 10)
        return effects

    def synced(self, order: Order, due: int) -> list[str]:
        """§3.5: the unpaid change collection re-synced to ``due`` — the events it raises."""
        held = self.unpaid[order.id]
        events = []
        if due > 0 and held is None:
            events = [ev.PAYMENT_COLLECTION_CREATED]
        elif (due > 0 and held != due) or (due == 0 and held is not None):
            events = [ev.PAYMENT_COLLECTION_UPDATED]
        self.unpaid[order.id] = due or None
        return events

    @rule(data=st.data())
    def begin_edit(self, data):
        self.begin_edit_on(self.pick(data, self.group.orders))

    def begin_edit_on(self, order: Order) -> None:
        expected = self.is_open(order) and self.active(order) is None
        begun: list[OrderChange] = []
        if not self.route(
            order,
            lambda: begun.append(edits.begin_edit(self.group, order.id, self.actor())),
            expected,
            [],
        ):
            return
        change = begun[0]
        assert self.active(order) is change and change.change_type == "edit"
        assert change.version == order.version + 1 and change.actions == []
        self.edits[change.id] = ModelEdit(order.id)

    @precondition(lambda self: bool(getattr(self, "edits", None)))
    @rule(data=st.data(), foreign=st.booleans())
    def edit_add_items(self, data, foreign):
        """New lines: the order's seller's variants, priced, in stock unless backordered."""
        order = self.pick_edit_order(data)
        items = [self.draw_outbound(data, order, foreign)]
        if data.draw(st.integers(0, 3)) == 0:
            items.append(self.draw_outbound(data, order, False))
        current = self.edit_of(order)
        quotes = {v: self.quote(order, v) for v in self.variant_seller}
        expected = current is not None and self.is_open(order)
        message = None if expected or not self.is_open(order) else NO_ACTIVE_CHANGE
        held: dict[str, int] = defaultdict(int)
        if current is not None:
            for variant_id in self.variant_seller:
                held[variant_id] = self.edit_held(order, current[0], variant_id)
        for item in items:
            quote = quotes[item.variant_id]
            refusal = None
            if quote.seller_id != order.seller_id:
                refusal = (
                    f"Variant {quote.id} belongs to seller {quote.seller_id}, not to seller "
                    f"{order.seller_id} of order {order.id}"
                )
            elif item.unit_price is None and quote.unit_price is None:
                refusal = f"Variant {quote.id} has no price in usd"
            elif (
                quote.manage_inventory
                and not item.allow_backorder
                and held[quote.id] + item.quantity > quote.available
            ):
                refusal = (
                    f"Variant {quote.id} does not have the required inventory at location "
                    f"{order.location_id}"
                )
            held[quote.id] += item.quantity
            if refusal is not None and expected:
                expected, message = False, refusal
        before = len(current[1].actions) if current is not None else 0
        if not self.route(
            order,
            lambda: edits.add_items(
                self.group,
                order.id,
                items,
                quotes,
                Tax(self.tax_rate, False),
                self.actor(),
            ),
            expected,
            [],
            message=message,
        ):
            return
        assert current is not None
        model, change = current
        added = change.actions[before:]
        assert len(added) == len(items)
        for action, item in zip(added, items, strict=True):
            price = self.prices[item.variant_id] if item.unit_price is None else item.unit_price
            assert price is not None
            out = ModelOutbound(
                item.variant_id,
                item.quantity,
                price,
                managed=item.variant_id in self.managed,
                backorder=bool(item.allow_backorder),
            )
            model.adds[action.id] = out
            d = action.details
            assert action.action == "ITEM_ADD"
            assert (action.exchange_id, action.claim_id, action.return_id) == (None, None, None)
            assert (d["variant_id"], d["quantity"], d["unit_price"]) == (
                out.variant_id,
                out.quantity,
                out.unit_price,
            )
            assert action.amount == taxed(out.unit_price * out.quantity, self.tax_rate)

    @precondition(lambda self: bool(getattr(self, "edits", None)))
    @rule(
        data=st.data(),
        quantity=st.one_of(st.integers(0, 6), st.none()),
        unit_price=st.one_of(st.none(), st.none(), st.integers(0, 5000)),
        by_action=st.booleans(),
    )
    def edit_update_item(self, data, quantity, unit_price, by_action):
        """``ITEM_UPDATE`` of a line (``…/items/item/:id``, or its action's route): refused on
        a line taken out, a line with returned or claimed units, below its fulfilled units,
        or beyond free stock; one action per line, a unit price given before kept."""
        order = self.pick_edit_order(data)
        line = self.pick(data, order.lines)
        current = self.edit_of(order)
        previous = None
        if current is not None:
            previous = next(
                (a for a, (li, _, _) in current[0].updates.items() if li == line.id), None
            )
        message = None
        if not self.is_open(order):
            expected = False
        elif current is None:
            expected, message = False, NO_ACTIVE_CHANGE
        else:
            model = current[0]
            old = model.updates[previous] if previous is not None else None
            q = quantity if quantity is not None else (old[1] if old else None)
            expected = False
            quote = self.quote(order, line.variant_id or "")
            if q is None:
                message = f"Quantity of item {line.id} is required."
            elif line.quantity == 0:
                message = f"Items with ids {line.id} does not exist in order with id {order.id}."
            elif self.taken(order, line) or line.written_off_quantity or self.deducted[line.id][0]:
                message = f"Item {line.id} has returned or claimed units and cannot be edited"
            elif q == 0 and line.fulfilled_quantity > 0:
                message = f"Cannot remove fulfilled item: Item {line.id}."
            elif q < line.fulfilled_quantity:
                message = (
                    f"Item {line.id} has already been fulfilled and quantity cannot be lower "
                    f"than {line.fulfilled_quantity}."
                )
            elif (
                quote.manage_inventory
                and q > line.quantity
                and q - line.quantity + self.edit_held(order, model, quote.id, skip=previous or "")
                > quote.available
            ):
                message = (
                    f"Variant {quote.id} does not have the required inventory at location "
                    f"{order.location_id}"
                )
            else:
                expected = True
        quotes = {v: self.quote(order, v) for v in self.variant_seller}
        edit = LineEdit(quantity=quantity, unit_price=unit_price)
        tax = Tax(self.tax_rate, False)

        def update() -> None:
            if by_action and previous is not None:
                edits.update_action(self.group, order.id, previous, edit, quotes, tax, self.actor())
            else:
                edits.update_item(self.group, order.id, line.id, edit, quotes, tax, self.actor())

        if not self.route(order, update, expected, [], message=message):
            return
        assert current is not None
        model, change = current
        mine = [
            a
            for a in change.actions
            if a.action == "ITEM_UPDATE" and a.details["reference_id"] == line.id
        ]
        assert len(mine) == 1 and (previous is None or mine[0].id == previous)
        action = mine[0]
        old = model.updates.get(action.id)
        q = quantity if quantity is not None else (old[1] if old else None)
        assert q is not None
        price = unit_price if unit_price is not None else (old[2] if old else None)
        model.updates[action.id] = (line.id, q, price)
        d = action.details
        assert (d["quantity"], d["quantity_diff"], d["unit_price"]) == (q, q - line.quantity, price)
        effective = line.unit_price if price is None else price
        assert action.amount == taxed(effective * q, self.tax_rate) - line.total

    @precondition(lambda self: bool(getattr(self, "edits", None)))
    @rule(
        data=st.data(),
        quantity=st.integers(0, 7),
        unit_price=st.one_of(st.none(), st.integers(0, 5000)),
    )
    def edit_update_added(self, data, quantity, unit_price):
        """A new line's quantity or price (``…/items/:action_id``): at least 1, in stock."""
        order = self.pick_edit_order(data)
        current = self.edit_of(order)
        if current is None or not current[0].adds:
            return
        model, change = current
        action_id = self.pick(data, sorted(model.adds))
        out = model.adds[action_id]
        quote = self.quote(order, out.variant_id)
        expected = self.is_open(order) and quantity >= 1
        if (
            expected
            and out.managed
            and not out.backorder
            and quantity + self.edit_held(order, model, out.variant_id, skip=action_id)
            > quote.available
        ):
            expected = False
        quotes = {v: self.quote(order, v) for v in self.variant_seller}
        if not self.route(
            order,
            lambda: edits.update_action(
                self.group,
                order.id,
                action_id,
                LineEdit(quantity=quantity, unit_price=unit_price),
                quotes,
                Tax(self.tax_rate, False),
                self.actor(),
            ),
            expected,
            [],
        ):
            return
        out.quantity = quantity
        if unit_price is not None:
            out.unit_price = unit_price
        action = change.action(action_id, "ITEM_ADD")
        assert action.amount == taxed(out.unit_price * out.quantity, self.tax_rate)

    @precondition(lambda self: bool(getattr(self, "edits", None)))
    @rule(data=st.data(), wrong_kind=st.booleans())
    def edit_remove_action(self, data, wrong_kind):
        order = self.pick_edit_order(data)
        current = self.edit_of(order)
        if current is None or not current[1].actions:
            return
        model, change = current
        action = self.pick(data, change.actions)
        shipping = action.action == "SHIPPING_ADD"
        kinds = ("SHIPPING_ADD",) if shipping != wrong_kind else edits.ITEM_KINDS
        if not self.route(
            order,
            lambda: edits.remove_action(self.group, order.id, action.id, kinds, self.actor()),
            self.is_open(order) and not wrong_kind,
            [],
        ):
            return
        assert action not in change.actions
        model.adds.pop(action.id, None)
        model.updates.pop(action.id, None)
        model.shipping.pop(action.id, None)

    @precondition(lambda self: bool(getattr(self, "edits", None)))
    @rule(
        data=st.data(),
        amount=st.integers(0, 1000),
        custom=st.one_of(st.none(), st.integers(0, 1000)),
        is_return=st.sampled_from([False, False, False, True]),
    )
    def edit_shipping(self, data, amount, custom, is_return):
        """The seller's outbound method (one per edit: another replaces it)."""
        order = self.pick_edit_order(data)
        current = self.edit_of(order)
        seller = self.pick(data, sorted({o.seller_id for o in self.group.orders}))
        quote = returns.ShippingQuote(
            id=f"so_{'ret' if is_return else 'out'}_{seller}",
            seller_id=seller,
            region_id="reg_1",
            is_return=is_return,
            name="Edit",
            amount=amount,
            tax_rate=10,
            tax_inclusive=False,
        )
        expected = (
            current is not None
            and self.is_open(order)
            and seller == order.seller_id
            and not is_return
        )
        if not self.route(
            order,
            lambda: edits.add_shipping(
                self.group, order.id, quote, self.actor(), custom_amount=custom
            ),
            expected,
            [],
        ):
            return
        assert current is not None
        model, change = current
        methods = [a for a in change.actions if a.action == "SHIPPING_ADD"]
        assert len(methods) == 1
        price = amount if custom is None else custom
        assert methods[0].details["price"] == price
        assert methods[0].amount == taxed(price, 10)
        model.shipping = {methods[0].id: price}

    @precondition(lambda self: bool(getattr(self, "edits", None)))
    @rule(data=st.data())
    def request_edit(self, data):
        """``requested``: the change collection re-synced to what the order will owe once the
        edit is confirmed (§3.5 on the preview); requesting again re-syncs again."""
        order = self.pick_edit_order(data)
        current = self.edit_of(order)
        expected = current is not None and self.is_open(order)
        due = 0
        if current is not None:
            effects = self.edit_effects(order, current[0])
            due = self.expected_summary(order, extra_current=sum(effects.values()))["amount_due"]
        held = self.unpaid[order.id]
        if not self.route(
            order,
            lambda: edits.request_edit(self.group, order.id, self.actor()),
            expected,
        ):
            return
        assert current is not None
        model, change = current
        assert change.status == "requested" and self.active(order) is change
        model.status = "requested"
        events = self.synced(order, due)
        assert self.new_events() == [*events, ev.ORDER_EDIT_REQUESTED, ev.ORDER_GROUP_UPDATED]
        unpaid = [c for c in order.change_collections if c.is_unpaid]
        assert [c.amount for c in unpaid] == ([due] if due else [])
        if due and held is None:
            assert unpaid[0].order_change_id == change.id

    @precondition(lambda self: bool(getattr(self, "edits", None)))
    @rule(data=st.data())
    def confirm_edit(self, data):
        self.confirm_edit_on(self.pick_edit_order(data))

    def confirm_edit_on(self, order: Order) -> None:
        """Lines added, updated and taken out, reservations adjusted exactly (added units
        reserved, removed unfulfilled units released), the method added, version + 1, the
        change collection re-synced."""
        current = self.edit_of(order)
        expected = current is not None and self.is_open(order)
        effects: dict[str, int] = {}
        moves: list[tuple[str, str, int, int]] = []
        lines_before: dict[str, tuple[int, int]] = {}
        if current is not None:
            model = current[0]
            effects = self.edit_effects(order, model)
            location = order.location_id or ""
            for out in model.adds.values():
                if out.managed:
                    moves.append((location, out.variant_id, 0, out.quantity))
            for line_id, quantity, _ in model.updates.values():
                line = order.line(line_id)
                lines_before[line_id] = (line.quantity, line.fulfilled_quantity)
                if line.variant_id in self.managed and quantity != line.quantity:
                    assert line.variant_id is not None
                    moves.append((location, line.variant_id, 0, quantity - line.quantity))
        moves_before = len(self.group.stock_moves)
        current_before = self.expected_summary(order)["current_order_total"]
        previewed = {a.id: a.amount for a in current[1].actions} if current else {}
        if not self.route(
            order,
            lambda: edits.confirm_edit(self.group, order.id, self.actor()),
            expected,
        ):
            return
        assert current is not None
        model, change = current
        assert change.status == "confirmed"
        amounts = {a.id: a.amount for a in change.actions}
        assert amounts == previewed == effects
        # Net per level (a release may take several reservations, newest first).
        net: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for m in self.group.stock_moves[moves_before:]:
            net[(m.location_id, m.variant_id)][0] += m.stocked
            net[(m.location_id, m.variant_id)][1] += m.reserved
        want: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for location, variant, stocked, reserved in moves:
            want[(location, variant)][0] += stocked
            want[(location, variant)][1] += reserved
        assert dict(net) == dict(want)
        for action in change.actions:
            if action.action == "ITEM_ADD":
                out = model.adds[action.id]
                line = order.line(action.details["reference_id"])
                assert (line.exchange_id, line.claim_id) == (None, None)
                assert (line.variant_id, line.quantity, line.unit_price, line.total) == (
                    out.variant_id,
                    out.quantity,
                    out.unit_price,
                    effects[action.id],
                )
                held = [
                    (r.location_id, r.quantity) for r in order.reservations if r.line_id == line.id
                ]
                assert held == ([(order.location_id, out.quantity)] if out.managed else [])
                self.line_totals[line.id] = line.total
                self.line_model[line.id] = (line.quantity, line.unit_price)
                self.deducted[line.id] = [0, 0]
            elif action.action == "ITEM_UPDATE":
                line_id, quantity, price = model.updates[action.id]
                line = order.line(line_id)
                assert line.quantity == quantity
                assert line.fulfilled_quantity == lines_before[line_id][1]
                self.line_totals[line_id] += effects[action.id]
                self.line_model[line_id] = (quantity, line.unit_price)
                for owner in [*self.exchanges.values(), *self.claims.values()]:
                    if line_id in owner.lines:
                        owner.lines[line_id].quantity = quantity
                        owner.lines[line_id].unit_price = line.unit_price
                if price is not None:
                    assert line.unit_price == price
            else:
                self.placed_shipping[order.id] += effects[action.id]
        model.status = "confirmed"
        current_after = self.expected_summary(order)["current_order_total"]
        assert current_after - current_before == sum(effects.values())
        self.confirmed(order, [ev.ORDER_EDIT_CONFIRMED, ev.ORDER_GROUP_UPDATED])

    @precondition(lambda self: bool(getattr(self, "edits", None)))
    @rule(data=st.data())
    def cancel_edit(self, data):
        self.cancel_edit_on(self.pick_edit_order(data))

    def cancel_edit_on(self, order: Order) -> bool:
        """A pending or requested edit canceled: nothing applied, nothing reserved or
        released; the collection re-synced to what the order owes without it (an unpaid one
        created at the request canceled when nothing is due). Edits whose collection the
        customer authorized are left alone (voiding belongs to the workflow)."""
        current = self.edit_of(order)
        if current is not None and any(
            c.order_change_id == current[1].id and c.payment_id is not None
            for c in order.change_collections
        ):
            return False
        moves_before = len(self.group.stock_moves)
        lines_before = copy.deepcopy(order.lines)

        def cancel() -> None:
            change_id, voids = edits.request_cancel(self.group, order.id)
            assert voids == []
            edits.complete_cancel(self.group, order.id, change_id, voids, self.actor())

        message = None if current is not None else NO_ACTIVE_CHANGE
        if not self.route(order, cancel, current is not None, message=message):
            return False
        assert current is not None
        model, change = current
        assert change.status == "canceled" and self.active(order) is None
        assert len(self.group.stock_moves) == moves_before and order.lines == lines_before
        model.status = "canceled"
        due = self.expected_summary(order)["amount_due"]
        events = self.synced(order, due)
        assert self.new_events() == [*events, ev.ORDER_EDIT_CANCELED, ev.ORDER_GROUP_UPDATED]
        return True

    @rule(data=st.data(), request=st.booleans(), cancel=st.booleans())
    def edit_flow(self, data, request, cancel):
        """A whole edit on one order: begin, change a line, add one, maybe a method, maybe
        request, then confirm (or cancel)."""
        order = self.pick(data, self.group.orders)
        if not self.is_open(order):
            return
        self.settle_active(data, order)
        self.begin_edit_on(order)
        if self.edit_of(order) is None:
            return
        self.focus_order = order.id
        try:
            self.edit_update_item(data, data.draw(st.integers(0, 6)), None, False)
            self.edit_add_items(data, False)
            if data.draw(st.integers(0, 2)) == 0:
                self.edit_update_added(
                    data, data.draw(st.integers(0, 4)), data.draw(st.one_of(st.none(), amounts))
                )
            if data.draw(st.integers(0, 2)) == 0:
                self.edit_update_item(
                    data, data.draw(st.integers(0, 6)), data.draw(st.integers(0, 900)), True
                )
            if data.draw(st.integers(0, 3)) == 0:
                self.edit_remove_action(data, False)
            if data.draw(st.booleans()):
                self.edit_shipping(data, data.draw(st.integers(0, 900)), None, False)
            if request:
                self.request_edit(data)
            if cancel:
                self.cancel_edit_on(order)
            else:
                self.confirm_edit_on(order)
        finally:
            self.focus_order = None

    @precondition(lambda self: hasattr(self, "group"))
    @invariant()
    def money_stays_within_each_collection(self):
        """Per collection (the cart share, each change collection): refunded ≤ captured ≤
        authorized, nothing held between steps, and what the records say; per order: Σ
        captures ≤ Σ authorized."""
        cart = self.group.payment.id
        for order in self.group.orders:
            money = {p: (left, back) for p, left, back in self.money_of(order)}
            records = [r for r in self.group.new_records if r.order_id == order.id]
            booked: dict[tuple[type, str], int] = defaultdict(int)
            for record in records:
                if isinstance(record, Capture | Refund):
                    booked[(type(record), record.payment_id)] += record.amount

            share = order.share
            assert share is not None
            assert (share.captured, share.refunded) == (
                booked[(Capture, cart)],
                booked[(Refund, cart)],
            )
            authorized = share.allocated
            captured = share.captured
            purses = {p.collection_id: p for p in self.purses[order.id]}
            for collection in order.change_collections:
                assert collection.pending_capture == 0 and collection.pending_refund == 0
                purse = purses.get(collection.id)
                if purse is None:
                    # Never authorized: unpaid (the one carrying amount_due), or canceled.
                    assert collection.payment_id is None and collection.status in (
                        "not_paid",
                        "canceled",
                    )
                    assert (
                        collection.authorized_amount,
                        collection.captured_amount,
                        collection.refunded_amount,
                    ) == (0, 0, 0)
                    continue
                assert (collection.payment_id, collection.provider_id) == (
                    purse.payment_id,
                    "pp_change",
                )
                assert collection.amount == collection.authorized_amount == purse.authorized
                assert (collection.captured_amount, collection.refunded_amount) == (
                    booked[(Capture, purse.payment_id)],
                    booked[(Refund, purse.payment_id)],
                )
                assert (
                    0
                    <= collection.refunded_amount
                    <= collection.captured_amount
                    <= collection.authorized_amount
                )
                status = "authorized"
                if purse.voided:
                    status = "canceled"
                elif collection.captured_amount >= collection.amount:
                    status = "completed"
                assert collection.status == status
                assert money[purse.payment_id] == (
                    0 if purse.voided else collection.amount - collection.captured_amount,
                    collection.captured_amount - collection.refunded_amount,
                )
                authorized += collection.authorized_amount
                captured += collection.captured_amount
            assert captured <= authorized
            assert order.refundable == sum(back for _, back in money.values())
            assert order.capturable == self.capturable(order)
        captured_total = 0
        for order in self.group.orders:
            share = order.share
            assert share is not None
            assert 0 <= share.refunded <= share.captured <= share.allocated
            assert share.pending_capture == 0 and share.pending_refund == 0
            assert share.allocated == order.original_total
            captured_total += share.captured
        assert captured_total <= self.authorized
        assert self.group.collection.captured_amount == captured_total
        assert self.group.collection.refunded_amount == sum(
            o.share.refunded for o in self.group.orders if o.share
        )

    @precondition(lambda self: hasattr(self, "group"))
    @invariant()
    def summary_equals_its_recomputation(self):
        for order in self.group.orders:
            assert order.summary is not None
            assert order.summary.as_dict() == self.expected_summary(order)
            assert sum(c.amount for c in order.credit_lines) == self.credit[order.id]
        assert self.group.total == sum(
            self.expected_summary(o)["current_order_total"] for o in self.group.orders
        )

    @precondition(lambda self: hasattr(self, "group"))
    @invariant()
    def lines_and_returns_agree_with_the_model(self):
        for order in self.group.orders:
            mine = {i: r for i, r in self.returns.items() if r.order_id == order.id}
            for line in order.lines:
                d, deducted = self.deducted[line.id]
                assert (line.deducted_quantity, line.deducted_amount) == (d, deducted)
                assert 0 <= deducted <= line.total
                if d == line.quantity:
                    assert deducted == line.total  # every unit deducts exactly the total
                items = [
                    r.items[line.id]
                    for r in mine.values()
                    if r.status not in ("canceled", "deleted") and line.id in r.items
                ]
                # Deducted: units of plain and exchange returns, and of refund claims (§3.1).
                claimed = [
                    c
                    for x in self.claims.values()
                    if x.order_id == order.id and x.status == "requested"
                    for c in x.claimed
                    if c.line_id == line.id
                ]
                refund_claimed = [
                    c
                    for x in self.claims.values()
                    if x.order_id == order.id and x.status == "requested" and x.type == "refund"
                    for c in x.claimed
                    if c.line_id == line.id
                ]
                returned = [
                    r.items[line.id]
                    for r in mine.values()
                    if not r.claim
                    and r.status not in ("canceled", "deleted")
                    and line.id in r.items
                ]
                assert d == sum(i.quantity for i in returned) + sum(
                    c.quantity for c in refund_claimed
                )
                assert deducted == sum(i.value for i in returned) + sum(
                    c.value for c in refund_claimed
                )
                assert line.written_off_quantity == sum(c.quantity for c in claimed)
                # Units in returns and claims (a claim's inbound ones once) are fulfilled ones.
                assert units_taken(order, line) == self.taken(order, line)
                assert d <= self.taken(order, line) <= line.fulfilled_quantity
                assert line.return_requested_quantity == sum(i.quantity - i.received for i in items)
                assert line.return_received_quantity == sum(i.received - i.damaged for i in items)
                assert line.return_dismissed_quantity == sum(i.damaged for i in items)
            for ret in order.returns:
                model = mine[ret.id]
                assert ret.deleted == (model.status == "deleted")
                if not ret.deleted:
                    assert ret.status == model.status
                got = {
                    i.item_id: (i.quantity, i.deducted, i.received_quantity, i.damaged_quantity)
                    for i in ret.items
                }
                assert got == {
                    line_id: (i.quantity, i.value, i.received, i.damaged)
                    for line_id, i in model.items.items()
                }
            assert sum(m.total for m in order.shipping_methods) == self.placed_shipping[
                order.id
            ] + sum(
                r.shipping for r in mine.values() if r.status not in ("open", "canceled")
            ) + self.outbound_shipping(order)

    @precondition(lambda self: hasattr(self, "group"))
    @invariant()
    def exchanges_and_claims_agree_with_the_model(self):
        for order in self.group.orders:
            owners: list[tuple[str, Exchange | Claim]] = [
                ("exchange", x) for x in order.exchanges
            ] + [("claim", c) for c in order.claims]
            for kind, owner in owners:
                model = self.owners(kind)[owner.id]
                assert owner.deleted == (model.status == "deleted")
                assert (owner.canceled_at is not None) == (model.status == "canceled")
                assert owner.return_id == model.return_id
                assert owner.seller_id == order.seller_id
                lines = {
                    li.id: li
                    for li in order.lines
                    if owner.id == (li.exchange_id if kind == "exchange" else li.claim_id)
                }
                assert set(lines) == set(model.lines)
                if isinstance(owner, Claim):
                    assert isinstance(model, ModelClaim) and owner.type == model.type
                    additional = [i.item_id for i in owner.items if i.is_additional_item]
                    claimed = [
                        (i.item_id, i.quantity, i.deducted)
                        for i in owner.items
                        if not i.is_additional_item
                    ]
                    assert claimed == [(c.line_id, c.quantity, c.value) for c in model.claimed]
                else:
                    additional = [i.item_id for i in owner.additional_items]
                assert sorted(additional) == sorted(model.lines)
                if model.status in ("requested", "canceled"):
                    # difference_due = Σ of the amounts of the change that requested it; a
                    # claim's refund_amount = max(0, −that Σ) (§2.3).
                    requested = next(
                        c
                        for c in order.changes
                        if c.change_type == kind
                        and self.owner_id_of(c) == owner.id
                        and c.status == "confirmed"
                    )
                    total = sum(a.amount for a in requested.actions)
                    assert model.difference_due == total
                    if isinstance(owner, Claim):
                        assert owner.refund_amount == max(0, -total)
                    else:
                        assert owner.difference_due == total
                for line_id, out in model.lines.items():
                    line = lines[line_id]
                    if model.status == "canceled":
                        assert (line.quantity, line.total) == (0, 0)
                    else:
                        assert (line.variant_id, line.quantity, line.unit_price) == (
                            out.variant_id,
                            out.quantity,
                            out.unit_price,
                        )
                        assert line.total == self.line_totals[line_id]

    @precondition(lambda self: hasattr(self, "group"))
    @invariant()
    def pending_exchanges_and_claims_preview_to_the_cent(self):
        """A pending exchange's or claim's preview is the summary the model gives the order
        with its actions applied: outbound lines and methods added, an exchange's inbound
        units deducted and in transit, a refund claim's claimed units deducted (§3.4,
        previews)."""
        for order in self.group.orders:
            change = self.active(order)
            if change is not None and change.change_type == "edit":
                edit = self.edits[change.id]
                amounts = self.edit_effects(order, edit)
                assert {a.id: a.amount for a in change.actions} == amounts
                preview = returns.preview_order(self.group, order, self.actor())
                assert preview.summary is not None
                assert preview.summary.as_dict() == self.expected_summary(
                    order, extra_current=sum(amounts.values())
                )
                continue
            if change is None or change.change_type not in ("exchange", "claim"):
                continue
            effects = self.owner_effects(change.change_type, order, change)
            preview = returns.preview_order(self.group, order, self.actor())
            assert [a.amount for a, _ in effects] == [amount for _, amount in effects]
            assert preview.summary is not None
            assert preview.summary.as_dict() == self.expected_summary(
                order,
                extra_current=sum(amount for _, amount in effects),
                extra_transit=-sum(amount for a, amount in effects if a.action == "RETURN_ITEM"),
            )

    @precondition(lambda self: hasattr(self, "group"))
    @invariant()
    def edited_lines_agree_with_the_model(self):
        """Placed and edit-added lines: the quantity and unit price the model gives them, and
        totals exact to the cent with the line's tax (§9: a price applies to the whole line)."""
        for order in self.group.orders:
            for line in order.lines:
                if line.id not in self.line_model:
                    continue
                quantity, price = self.line_model[line.id]
                assert (line.quantity, line.unit_price) == (quantity, price)
                assert (
                    line.total
                    == self.line_totals[line.id]
                    == taxed(price * quantity, self.tax_rate)
                )
                assert line.subtotal == price * quantity
                assert line.tax_total == line.total - line.subtotal

    @precondition(lambda self: hasattr(self, "group"))
    @invariant()
    def one_active_change_and_versions(self):
        for order in self.group.orders:
            active = [c for c in order.changes if c.status in ("pending", "requested")]
            assert len(active) <= 1
            for change in active:
                assert change.version == order.version + 1
            assert order.version == self.versions[order.id]
            confirmed = [c for c in order.changes if c.status == "confirmed"]
            assert [c.version for c in confirmed] == list(range(2, order.version + 1))

    @precondition(lambda self: hasattr(self, "group"))
    @invariant()
    def stock_is_conserved(self):
        fulfilled: dict[tuple[str, str], int] = defaultdict(int)
        owed: dict[tuple[str, str], int] = defaultdict(int)
        reserved: dict[tuple[str, str], int] = defaultdict(int)
        for order in self.group.orders:
            for f in order.fulfillments:
                if f.canceled_at is None:
                    for move in f.converted:
                        fulfilled[(move.location_id, move.variant_id)] += move.quantity
            for r in order.reservations:
                assert r.quantity > 0
                reserved[(r.location_id, r.variant_id)] += r.quantity
            if not order.is_canceled:
                for line in order.lines:
                    key = (order.location_id, line.variant_id)
                    mine = sum(r.quantity for r in order.reservations if r.line_id == line.id)
                    if key in self.inventory:
                        owed[key] += line.quantity - line.fulfilled_quantity
                        # Each line holds its unfulfilled units (outbound lines too).
                        assert mine == line.quantity - line.fulfilled_quantity
                    else:
                        assert mine == 0
        for key, (stocked, held) in self.inventory.items():
            # Units out of the shelf are those fulfilled, less those received back (good ones).
            assert stocked + fulfilled[key] - self.restocked[key] == self.initial_stock[key]
            assert held == reserved[key] == owed[key] >= 0

    @precondition(lambda self: hasattr(self, "group"))
    @invariant()
    def statuses_equal_their_recomputation(self):
        group = self.group
        for order in group.orders:
            share = order.share
            assert share is not None
            assert order.payment_status == order_payment_status(
                OrderPaymentFacts(
                    allocated=share.allocated,
                    captured=share.captured,
                    refunded=share.refunded,
                    collection_status=group.collection.status,
                    canceled=order.canceled_at is not None,
                ),
                [
                    PaymentCollectionFacts(c.status, c.amount, c.captured_amount, c.refunded_amount)
                    for c in order.change_collections
                ],
            )
            # One unpaid change collection at most, carrying exactly the amount due (§3.5).
            unpaid = [c for c in order.change_collections if c.status in ("not_paid", "awaiting")]
            assert [c.amount for c in unpaid] == (
                [] if self.unpaid[order.id] is None else [self.unpaid[order.id]]
            )
            active = self.active(order)
            if active is not None and self.edits.get(active.id, ModelEdit("")).status == (
                "requested"
            ):
                # A requested edit's collection carries what the order would owe with the
                # edit as it was last requested (§3.5 on the preview, checked by the request
                # rule); actions changed since move it only when it is requested again.
                pass
            elif not order.is_canceled:
                assert sum(c.amount for c in unpaid) == self.expected_summary(order)["amount_due"]
            came_back: dict[str, int] = defaultdict(int)
            for model in self.returns.values():
                if model.order_id == order.id and model.status != "canceled":
                    for line_id, item in model.items.items():
                        came_back[line_id] += item.received
            assert order.fulfillment_status == order_fulfillment_status(
                [
                    FulfillmentFacts(
                        f.packed_at is not None,
                        f.shipped_at is not None,
                        f.delivered_at is not None,
                        f.canceled_at is not None,
                    )
                    for f in order.fulfillments
                ],
                [
                    ItemFulfillmentFacts(
                        line.quantity,
                        line.fulfilled_quantity if line.requires_shipping else None,
                        returned=came_back[line.id],
                    )
                    for line in order.lines
                    if line.quantity > 0  # a canceled exchange's line leaves ``items``
                ],
            )
            summary = self.expected_summary(order)
            dues = summary["refund_due"] > 0 or summary["amount_due"] > 0
            shown = (
                "requires_action"
                if order.status in ("pending", "completed") and dues
                else order.status
            )
            assert order.shown_status == shown
            for line in order.lines:
                assert 0 <= line.delivered_quantity <= line.quantity
                assert 0 <= line.shipped_quantity <= line.fulfilled_quantity <= line.quantity
        expected = group_statuses(
            GroupMember(
                o.shown_status, o.payment_status, o.fulfillment_status, o.canceled_at is not None
            )
            for o in group.orders
        )
        assert (group.status, group.payment_status, group.fulfillment_status) == (
            expected.status,
            expected.payment_status,
            expected.fulfillment_status,
        )
        assert group.seller_count == len({o.seller_id for o in group.orders})


def _state(group: OrderGroup):
    """Everything an operation may change, for "a refusal changes nothing"."""
    return (
        copy.deepcopy(group.orders),
        copy.deepcopy(group.collection),
        copy.deepcopy(group.payment),
        len(group.events),
        len(group.new_records),
        len(group.stock_moves),
        (group.status, group.payment_status, group.fulfillment_status, group.total),
    )


OrderGroupMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# 200 runs of up to 50 steps (about 35 s of CPU)
test_order_group_state_machine = pytest.mark.slow(OrderGroupMachine.TestCase)


class Scripted:
    """Stands in for ``st.data()`` when a test drives the state machine by hand: each draw
    returns the next scripted value, so the steps are the same on every run."""

    def __init__(self, *values: object) -> None:
        self.values = list(values)

    def draw(self, strategy: object) -> object:
        return self.values.pop(0)


MACHINE_INVARIANTS = (
    "money_stays_within_each_collection",
    "summary_equals_its_recomputation",
    "lines_and_returns_agree_with_the_model",
    "exchanges_and_claims_agree_with_the_model",
    "pending_exchanges_and_claims_preview_to_the_cent",
    "edited_lines_agree_with_the_model",
    "one_active_change_and_versions",
    "stock_is_conserved",
    "statuses_equal_their_recomputation",
)


@pytest.mark.parametrize(
    ("kind", "unit_price"), [("claim", None), ("claim", 150), ("exchange", None)]
)
def test_machine_cancels_an_owner_whose_outbound_line_an_edit_raised(kind, unit_price):
    """Regression (hypothesis, Dec 2026): an edit raised a replace claim's outbound line, then
    the claim was canceled. The cancel removes the whole line, the edit's units too (§7, §8:
    outbound lines removed); the machine's model kept the edited quantity, and its
    ``edited_lines_agree_with_the_model`` failed with (0, 0) != (5, 0). An exchange's line
    goes the same way. Steps driven by hand, so that CI covers them without the hypothesis
    database."""
    machine = OrderGroupMachine()
    machine.place(
        orders=[[(3, 878, True)]],
        captured=False,
        tax_rate=0,
        shipping=None,
        fulfilled=True,
        extras=[(0, 540), (0, None), (0, 401)],
    )

    def check() -> None:
        for name in MACHINE_INVARIANTS:
            getattr(machine, name)()

    order = machine.group.orders[0]
    shirt = order.lines[0]
    assert shirt.variant_id is not None
    owner_id = machine.begin_on(kind, order, "replace")
    assert owner_id is not None
    if kind == "claim":
        machine.focus_claim = owner_id
        machine.add_claim_items(owner_id, [(shirt, 1)])
    else:
        machine.focus_exchange = owner_id
        machine.add_inbound(kind, owner_id, [(shirt, 1)])
    machine.add_outbound(kind, owner_id, [OutboundItem(shirt.variant_id, 2, unit_price)])
    machine.request_owner(Scripted(), kind)
    machine.focus_claim = machine.focus_exchange = None
    model = machine.owners(kind)[owner_id]
    assert model.status == "requested"
    check()
    replacement = order.lines[-1]
    assert (replacement.exchange_id or replacement.claim_id, replacement.quantity) == (
        owner_id,
        2,
    )
    price = replacement.unit_price

    machine.begin_edit_on(order)
    machine.focus_order = order.id
    machine.edit_update_item(Scripted(replacement), 5, None, False)
    machine.focus_order = None
    machine.confirm_edit_on(order)
    check()
    assert machine.line_model[replacement.id] == (5, price)

    machine.cancel_owner(owner_id, kind)
    assert model.status == "canceled"
    assert (replacement.quantity, replacement.unit_price, replacement.total) == (0, price, 0)
    assert machine.line_model[replacement.id] == (0, price)
    assert not any(r.line_id == replacement.id for r in order.reservations)
    check()
    machine.teardown()

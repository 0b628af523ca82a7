"""The order group aggregate alone (no database): a hypothesis state machine drives random
captures, refunds, payment captures, cancels, fulfilments, shipments, deliveries, completes and
archives — some refused by the provider half-way — and checks every invariant of orders.md after
each step; plus examples of the exact messages."""

from __future__ import annotations

import copy
import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from mercato.domain import events as ev
from mercato.domain.errors import DomainError
from mercato.domain.order_group import (
    Collection,
    Label,
    Line,
    MoneyRequest,
    Order,
    OrderGroup,
    Payment,
    Reservation,
    StockMove,
)
from mercato.domain.statuses import (
    FulfillmentFacts,
    GroupMember,
    ItemFulfillmentFacts,
    OrderPaymentFacts,
    group_statuses,
    order_fulfillment_status,
    order_payment_status,
)
from mercato.domain.totals import DocumentTotals

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Ids:
    def __init__(self) -> None:
        self._numbers = itertools.count(1)

    def __call__(self, prefix: str) -> str:
        return f"{prefix}_{next(self._numbers):04d}"


def _line(ids: Ids, quantity: int, unit_price: int, *, requires_shipping: bool = True) -> Line:
    total = quantity * unit_price
    return Line(
        id=ids("ordli"),
        quantity=quantity,
        unit_price=unit_price,
        subtotal=total,
        tax_total=0,
        total=total,
        requires_shipping=requires_shipping,
        variant_id=ids("variant"),
    )


def build_group(
    ids: Ids,
    orders_spec: list[list[tuple[int, int, bool]]],
    *,
    paid: bool = True,
    captured: bool = False,
) -> tuple[OrderGroup, dict[tuple[str, str], list[int]]]:
    """A placed group: one order per entry of ``orders_spec`` (lines of (quantity, unit price,
    managed)), each managed line reserved at its seller's location; returns it with the
    inventory levels (location, variant) → [stocked, reserved]."""
    orders = []
    inventory: dict[tuple[str, str], list[int]] = {}
    for n, lines_spec in enumerate(orders_spec):
        location = f"sloc_{n}"
        lines = [_line(ids, q, p) for q, p, _ in lines_spec]
        reservations = []
        for line, (quantity, _, managed) in zip(lines, lines_spec, strict=True):
            if managed:
                assert line.variant_id is not None
                reservations.append(
                    Reservation(ids("resitem"), line.id, line.variant_id, location, quantity)
                )
                inventory[(location, line.variant_id)] = [quantity + 5, quantity]
        total = sum(line.total for line in lines)
        orders.append(
            Order(
                id=ids("order"),
                seller_id=f"sel_{n}",
                currency_code="usd",
                status="pending",
                totals=DocumentTotals(item_total=total, item_subtotal=total, total=total),
                location_id=location,
                lines=lines,
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
    for move in moves:
        level = inventory[(move.location_id, move.variant_id)]
        if move.shortage is not None:
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

    held = group.request_capture(a.id, 600)
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
    rest = group.request_capture(a.id, None)
    assert rest.amount == 400
    group.abandon(rest)
    assert a.capturable == 400


def test_refund_is_bounded_by_what_this_order_captured():
    ids = Ids()
    group, _ = build_group(ids, [[(2, 500, True)], [(1, 1250, True)]], captured=True)
    a, b = group.orders
    request = group.request_refund(a.id, 250)
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
    held = group.request_capture(a.id, 300)
    group.complete_capture(
        held, capture_id="capt_1", idempotency_key=None, created_by=None, ids=ids, now=T0
    )
    void, refund = group.request_cancel(a.id)
    assert void is not None and void.amount == 700
    assert refund is not None and refund.amount == 300
    assert a.capturable == 0 and a.refundable == 0
    group.complete_cancel(
        a.id, void=void, refund=refund, refund_id="ref_1", canceled_by=None, ids=ids, now=T0
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


# --------------------------------------------------------------------------- state machine

quantities = st.integers(min_value=1, max_value=3)
amounts = st.one_of(st.none(), st.integers(min_value=0, max_value=3000))
line_specs = st.lists(
    st.tuples(quantities, st.integers(min_value=0, max_value=900), st.booleans()),
    min_size=1,
    max_size=3,
)


class OrderGroupMachine(RuleBasedStateMachine):
    """Random operations on one group; after each, the invariants of orders.md hold."""

    @initialize(
        orders=st.lists(line_specs, min_size=1, max_size=3),
        captured=st.booleans(),
    )
    def place(self, orders, captured):
        self.ids = Ids()
        self.clock = itertools.count(1)
        self.group, self.inventory = build_group(self.ids, orders, captured=captured)
        self.initial_stock = {key: level[0] for key, level in self.inventory.items()}
        self.authorized = self.group.collection.authorized_amount
        self.moves_seen = 0
        self.events_seen = len(self.group.events)

    def now(self) -> datetime:
        return T0 + timedelta(seconds=next(self.clock))

    def attempt(self, operation) -> bool:
        """Run ``operation``; a refusal must leave the aggregate exactly as it was."""
        before = copy.deepcopy(self.group)
        try:
            operation()
        except DomainError:
            assert _state(self.group) == _state(before)
            return False
        apply_moves(self.inventory, self.group.stock_moves[self.moves_seen :])
        self.moves_seen = len(self.group.stock_moves)
        return True

    def new_events(self) -> list[str]:
        names = [e.name for e in self.group.events[self.events_seen :]]
        self.events_seen = len(self.group.events)
        return names

    def pick(self, data, items):
        return data.draw(st.sampled_from(items))

    @rule(data=st.data(), amount=amounts, provider_says_yes=st.booleans())
    def capture(self, data, amount, provider_says_yes):
        order = self.pick(data, self.group.orders)
        held: list[MoneyRequest] = []
        if not self.attempt(lambda: held.append(self.group.request_capture(order.id, amount))):
            assert self.new_events() == []
            return
        if provider_says_yes:
            self.group.complete_capture(
                held[0],
                capture_id=self.ids("capt"),
                idempotency_key=None,
                created_by=None,
                ids=self.ids,
                now=self.now(),
            )
            assert self.new_events() == [ev.PAYMENT_CAPTURED]
        else:
            self.group.abandon(held[0])
            assert self.new_events() == []

    @rule(data=st.data(), amount=amounts)
    def refund(self, data, amount):
        order = self.pick(data, self.group.orders)
        held: list[MoneyRequest] = []
        if self.attempt(lambda: held.append(self.group.request_refund(order.id, amount))):
            self.group.complete_refund(
                held[0],
                refund_id=self.ids("ref"),
                idempotency_key=None,
                created_by=None,
                ids=self.ids,
                now=self.now(),
            )
            # Refunding more than is due books the excess as a credit line (§3.6).
            assert self.new_events() in (
                [ev.PAYMENT_REFUNDED],
                [ev.CREDIT_LINE_CREATED, ev.PAYMENT_REFUNDED],
            )

    @rule(amount=amounts)
    def capture_payment(self, amount):
        held: list[MoneyRequest] = []
        if self.attempt(lambda: held.extend(self.group.request_payment_capture(amount))):
            for request in held:
                self.group.complete_capture(
                    request,
                    capture_id=self.ids("capt"),
                    idempotency_key=None,
                    created_by=None,
                    ids=self.ids,
                    now=self.now(),
                )
            assert self.new_events() == [ev.PAYMENT_CAPTURED] * len(held)

    @rule(data=st.data(), provider_says_yes=st.booleans())
    def cancel(self, data, provider_says_yes):
        order = self.pick(data, self.group.orders)
        held: list = []
        if not self.attempt(lambda: held.extend(self.group.request_cancel(order.id))):
            return
        void, refund = held
        if provider_says_yes:
            self.attempt(
                lambda: self.group.complete_cancel(
                    order.id,
                    void=void,
                    refund=refund,
                    refund_id=self.ids("ref") if refund else None,
                    canceled_by=None,
                    ids=self.ids,
                    now=self.now(),
                )
            )
            # The remaining current total becomes a credit line first (Medusa 2.8).
            expected = [ev.PAYMENT_REFUNDED] if refund else []
            names = self.new_events()
            assert names in (
                [*expected, ev.ORDER_CANCELED],
                [ev.CREDIT_LINE_CREATED, *expected, ev.ORDER_CANCELED],
            )
            assert order.status == "canceled" and order.reservations == []
        else:
            self.group.abandon_cancel(void, refund)

    @rule(data=st.data())
    def fulfil(self, data):
        order = self.pick(data, self.group.orders)
        lines = data.draw(st.lists(st.sampled_from(order.lines), unique_by=lambda x: x.id))
        items = [(line.id, data.draw(st.integers(min_value=0, max_value=3))) for line in lines]
        if self.attempt(
            lambda: self.group.fulfil(
                order.id, items, fulfillment_id=self.ids("ful"), now=self.now()
            )
        ):
            assert self.new_events() == [ev.FULFILLMENT_CREATED]

    def _fulfilment(self, data):
        order = self.pick(data, self.group.orders)
        if not order.fulfillments:
            return order, None
        return order, self.pick(data, order.fulfillments)

    @rule(data=st.data())
    def ship(self, data):
        order, fulfillment = self._fulfilment(data)
        if fulfillment is not None and self.attempt(
            lambda: self.group.ship(order.id, fulfillment.id, now=self.now())
        ):
            assert self.new_events() == [ev.SHIPMENT_CREATED]

    @rule(data=st.data())
    def deliver(self, data):
        order, fulfillment = self._fulfilment(data)
        if fulfillment is not None and self.attempt(
            lambda: self.group.deliver(order.id, fulfillment.id, now=self.now())
        ):
            assert self.new_events() == [ev.DELIVERED]

    @rule(data=st.data())
    def cancel_fulfillment(self, data):
        order, fulfillment = self._fulfilment(data)
        if fulfillment is not None and self.attempt(
            lambda: self.group.cancel_fulfillment(
                order.id, fulfillment.id, ids=self.ids, now=self.now()
            )
        ):
            assert self.new_events() == [ev.FULFILLMENT_CANCELED]

    @rule(data=st.data())
    def complete(self, data):
        order = self.pick(data, self.group.orders)
        if self.attempt(lambda: self.group.complete(order.id, now=self.now())):
            assert self.new_events() == [ev.ORDER_COMPLETED]

    @rule(data=st.data())
    def archive(self, data):
        order = self.pick(data, self.group.orders)
        if self.attempt(lambda: self.group.archive(order.id, now=self.now())):
            assert self.new_events() == [ev.ORDER_ARCHIVED]

    @precondition(lambda self: hasattr(self, "group"))
    @invariant()
    def money_stays_within_each_share(self):
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
                    if key in self.inventory:
                        owed[key] += line.quantity - line.fulfilled_quantity
        for key, (stocked, held) in self.inventory.items():
            assert stocked + fulfilled[key] == self.initial_stock[key]
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
                )
            )
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
                    ItemFulfillmentFacts(line.quantity, line.fulfilled_quantity)
                    for line in order.lines
                    if line.requires_shipping
                ],
            )
            for line in order.lines:
                assert 0 <= line.delivered_quantity <= line.quantity
                assert 0 <= line.shipped_quantity <= line.fulfilled_quantity <= line.quantity
        expected = group_statuses(
            GroupMember(o.status, o.payment_status, o.fulfillment_status, o.canceled_at is not None)
            for o in group.orders
        )
        assert (group.status, group.payment_status, group.fulfillment_status) == (
            expected.status,
            expected.payment_status,
            expected.fulfillment_status,
        )
        assert group.total == sum(o.total for o in group.orders)
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
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# 200 runs of up to 40 steps
test_order_group_state_machine = pytest.mark.slow(OrderGroupMachine.TestCase)

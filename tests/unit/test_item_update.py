"""``ITEM_UPDATE`` in the order-change engine (order-changes.md §3.2, §9), without a database:
its amount is the line total after minus before, a unit price applies to the whole line, added
units are reserved at the seller's location and removed ones released, and the preview and the
confirmation agree."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from itertools import count

from mercato.domain.order_changes import (
    ApplyContext,
    ChangeAction,
    OrderChange,
    apply_actions,
    preview,
)
from mercato.domain.order_group import Line, Order, Reservation, StockMove
from mercato.domain.totals import DocumentTotals

NOW = datetime(2026, 1, 1, tzinfo=UTC)
_numbers = count()


def _ids(prefix: str) -> str:
    return f"{prefix}_{next(_numbers)}"


def _order() -> Order:
    """2 × 30.00 + 10 % tax (66.00), both units reserved at ``sloc_a``, one fulfilled."""
    line = Line("ordli_1", 2, 3000, 6000, 600, 6600, variant_id="variant_shirt")
    line.fulfilled_quantity = 1
    return Order(
        id="order_a",
        seller_id="sel_a",
        currency_code="usd",
        status="pending",
        totals=DocumentTotals(),
        location_id="sloc_a",
        lines=[line],
        reservations=[Reservation("resitem_1", "ordli_1", "variant_shirt", "sloc_a", 1)],
    )


def _update(order: Order, **details: object) -> OrderChange:
    change = OrderChange("ordch_1", order.id, "edit", 2)
    change.actions.append(
        ChangeAction(
            "ordchact_1",
            "ITEM_UPDATE",
            1,
            {
                "reference_id": "ordli_1",
                "tax_rate": str(Decimal("10")),
                "manage_inventory": True,
                "reservation_id": "resitem_new",
                **details,
            },
        )
    )
    order.changes.append(change)
    return change


def test_added_units_are_reserved_and_priced_with_the_line():
    order = _order()
    change = _update(order, quantity=3, quantity_diff=1)
    ctx = ApplyContext(_ids, NOW)
    apply_actions(order, change, ctx)
    line = order.lines[0]
    assert (line.quantity, line.subtotal, line.tax_total, line.total) == (3, 9000, 900, 9900)
    assert change.actions[0].amount == 3300
    assert ctx.stock_moves == [
        StockMove(
            "sloc_a",
            "variant_shirt",
            0,
            1,
            shortage="Variant variant_shirt does not have the required inventory at location "
            "sloc_a",
        )
    ]
    assert sorted((r.id, r.quantity) for r in order.reservations) == [
        ("resitem_1", 1),
        ("resitem_new", 1),
    ]


def test_a_backordered_variant_is_reserved_without_a_shortage():
    order = _order()
    change = _update(order, quantity=4, quantity_diff=2, allow_backorder=True)
    ctx = ApplyContext(_ids, NOW)
    apply_actions(order, change, ctx)
    assert ctx.stock_moves == [StockMove("sloc_a", "variant_shirt", 0, 2)]


def test_removed_unfulfilled_units_are_released_and_a_price_applies_to_the_whole_line():
    order = _order()
    change = _update(order, quantity=1, quantity_diff=-1, unit_price=2500)
    ctx = ApplyContext(_ids, NOW)
    apply_actions(order, change, ctx)
    line = order.lines[0]
    assert (line.quantity, line.unit_price, line.total) == (1, 2500, 2750)
    assert change.actions[0].amount == 2750 - 6600
    assert ctx.stock_moves == [StockMove("sloc_a", "variant_shirt", 0, -1)]
    assert order.reservations == []


def test_quantity_0_takes_the_line_out_and_the_preview_agrees_with_the_confirmation():
    order = _order()
    order.lines[0].fulfilled_quantity = 0
    order.reservations[0].quantity = 2
    change = _update(order, quantity=0, quantity_diff=-2)
    previewed = preview(order, change, ApplyContext(_ids, NOW))
    assert previewed.lines[0].quantity == 0 and previewed.lines[0].total == 0
    assert change.actions[0].amount == -6600
    assert order.lines[0].quantity == 2  # the preview changed a copy
    ctx = ApplyContext(_ids, NOW)
    apply_actions(order, change, ctx)
    assert change.actions[0].amount == -6600
    assert ctx.stock_moves == [StockMove("sloc_a", "variant_shirt", 0, -2)]
    assert order.reservations == []

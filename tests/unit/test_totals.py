"""Line and document totals: worked examples and the exact-split property."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.domain.money import to_minor
from mercato.domain.split import CartLine, CartShippingMethod, group_by_seller
from mercato.domain.totals import (
    DocumentTotals,
    LineTotals,
    compute_document_totals,
    document_totals,
    line_totals,
    shipping_totals,
    to_rate,
)

# ----------------------------------------------------------------------------- line totals


@pytest.mark.parametrize(
    ("unit_price", "quantity", "rate", "inclusive", "expected"),
    [
        # exclusive: subtotal = amount, tax on top
        (1000, 1, Decimal("10"), False, LineTotals(1000, 100, 1100)),
        (1999, 3, Decimal("10"), False, LineTotals(5997, 600, 6597)),  # 599.7 -> 600
        (10000, 1, Decimal("6"), False, LineTotals(10000, 600, 10600)),
        (500, 2, Decimal("0"), False, LineTotals(1000, 0, 1000)),
        (0, 5, Decimal("10"), False, LineTotals(0, 0, 0)),
        (1000, 0, Decimal("10"), False, LineTotals(0, 0, 0)),
        # inclusive: total = amount, tax extracted (reference example 3: 106 incl. 6 % -> 100 + 6)
        (10600, 1, Decimal("6"), True, LineTotals(10000, 600, 10600)),
        (1100, 1, Decimal("10"), True, LineTotals(1000, 100, 1100)),
        (1000, 1, Decimal("10"), True, LineTotals(909, 91, 1000)),  # 90.909.. -> 91
        (999, 2, Decimal("20"), True, LineTotals(1665, 333, 1998)),  # 333.0 exactly
        # fractional rate 8.875 %
        (1000, 1, Decimal("8.875"), False, LineTotals(1000, 89, 1089)),  # 88.75 -> 89
        (1000, 1, Decimal("8.875"), True, LineTotals(918, 82, 1000)),  # 81.51.. -> 82
    ],
)
def test_line_totals_examples(
    unit_price: int, quantity: int, rate: Decimal, inclusive: bool, expected: LineTotals
) -> None:
    assert line_totals(unit_price, quantity, rate, inclusive) == expected


@pytest.mark.parametrize(
    ("amount", "rate", "inclusive", "tax"),
    [
        # exclusive ties at x.5 round to the even neighbour
        (5, Decimal("10"), False, 0),  # 0.5 -> 0
        (15, Decimal("10"), False, 2),  # 1.5 -> 2
        (25, Decimal("10"), False, 2),  # 2.5 -> 2
        (35, Decimal("10"), False, 4),  # 3.5 -> 4
        (400, Decimal("8.875"), False, 36),  # 35.5 -> 36
        (1200, Decimal("8.875"), False, 106),  # 106.5 -> 106
        # inclusive ties: rate 100 % -> tax = amount / 2
        (1, Decimal("100"), True, 0),  # 0.5 -> 0
        (3, Decimal("100"), True, 2),  # 1.5 -> 2
        (5, Decimal("100"), True, 2),  # 2.5 -> 2
        (7, Decimal("100"), True, 4),  # 3.5 -> 4
    ],
)
def test_half_even_ties(amount: int, rate: Decimal, inclusive: bool, tax: int) -> None:
    totals = line_totals(amount, 1, rate, inclusive)
    assert totals.tax_total == tax
    assert totals.total == totals.subtotal + totals.tax_total


def test_tax_is_computed_on_the_line_amount_not_per_unit() -> None:
    # per unit: 0.5 -> 0 each, i.e. 0 in total; on the line: 3 x 5 x 10 % = 1.5 -> 2
    assert line_totals(5, 3, Decimal("10"), False).tax_total == 2


def test_zero_exponent_currency_jpy() -> None:
    unit = to_minor("1000", "jpy")
    assert unit == 1000
    assert line_totals(unit, 3, Decimal("10"), False) == LineTotals(3000, 300, 3300)
    assert line_totals(unit, 1, Decimal("10"), True) == LineTotals(909, 91, 1000)
    assert line_totals(1, 5, Decimal("10"), False) == LineTotals(5, 0, 5)  # 0.5 yen -> 0
    assert line_totals(3, 5, Decimal("10"), False) == LineTotals(15, 2, 17)  # 1.5 yen -> 2


def test_shipping_is_a_quantity_one_line() -> None:
    assert shipping_totals(1000, Decimal("10"), False) == line_totals(1000, 1, Decimal("10"), False)
    assert shipping_totals(1000, Decimal("10"), True) == LineTotals(909, 91, 1000)


def test_rate_types() -> None:
    assert to_rate(Decimal("8.875")) == Fraction(71, 8)
    assert to_rate(Fraction(71, 8)) == Fraction(71, 8)
    assert to_rate(10) == 10
    assert line_totals(1000, 1, Fraction(71, 8), False) == line_totals(
        1000, 1, Decimal("8.875"), False
    )
    with pytest.raises(TypeError):
        to_rate(8.875)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        to_rate(True)
    with pytest.raises(ValueError):
        to_rate(Decimal("-1"))
    with pytest.raises(ValueError):
        to_rate(Decimal("NaN"))


def test_rejects_bad_amounts() -> None:
    with pytest.raises(TypeError):
        line_totals(10.5, 1, Decimal("10"), False)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        line_totals(10, Decimal("1"), Decimal("10"), False)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        line_totals(-1, 1, Decimal("10"), False)
    with pytest.raises(ValueError):
        line_totals(1, -1, Decimal("10"), False)


# ----------------------------------------------------------------------------- document totals


def test_document_totals_medusa_definitions() -> None:
    items = [
        line_totals(1000, 2, Decimal("10"), False),  # 2000 + 200
        line_totals(550, 1, Decimal("10"), True),  # 500 + 50 (incl.)
    ]
    shipping = [shipping_totals(500, Decimal("10"), False)]  # 500 + 50
    doc = document_totals(items, shipping)
    assert doc == DocumentTotals(
        item_total=2750,
        item_subtotal=2500,
        item_tax_total=250,
        shipping_total=550,
        shipping_subtotal=500,
        shipping_tax_total=50,
        subtotal=3000,  # items + shipping, pre-tax (Medusa)
        tax_total=300,
        discount_total=0,
        total=3300,
        original_item_total=2750,  # no discounts: the same as item_total / shipping_total
        original_shipping_total=550,
    )
    assert doc.original_total == 3300
    assert doc.as_dict()["subtotal"] == 3000
    assert doc.as_dict()["original_total"] == 3300


def test_reference_example_order_without_discounts() -> None:
    # Reference worked example 2 without its adjustments: item 50 (no tax), shipping 10 at 10 %.
    item = line_totals(5000, 1, 0, False)
    ship = shipping_totals(1000, Decimal("10"), False)
    doc = document_totals([item], [ship])
    assert (doc.subtotal, doc.tax_total, doc.item_total, doc.shipping_total, doc.total) == (
        6000,
        100,
        5000,
        1100,
        6100,
    )


def test_empty_document_is_zero() -> None:
    assert document_totals([], []) == DocumentTotals()
    assert DocumentTotals() + DocumentTotals() == DocumentTotals()


def test_compute_document_totals_from_objects() -> None:
    lines = [
        CartLine("l1", "sel_a", quantity=2, unit_price=1000),
        CartLine("l2", "sel_b", quantity=1, unit_price=1100, is_tax_inclusive=True),
    ]
    methods = [CartShippingMethod("sm1", "sel_a", amount=500)]
    doc = compute_document_totals(lines, methods, Decimal("10"))
    assert doc.item_subtotal == 3000
    assert doc.item_tax_total == 300
    assert doc.item_total == 3300
    assert doc.shipping_total == 550
    assert doc.total == 3850


# ----------------------------------------------------------------------------- properties

RATES = st.one_of(
    st.sampled_from([Decimal("0"), Decimal("5"), Decimal("8.875"), Decimal("10"), Decimal("20")]),
    st.decimals(min_value=0, max_value=50, places=3, allow_nan=False, allow_infinity=False),
    st.fractions(min_value=0, max_value=50, max_denominator=1000),
)
SELLERS = st.sampled_from([f"sel_{c}" for c in "ABCDEFGHIJ"])


@st.composite
def carts(draw: st.DrawFn) -> tuple[list[CartLine], list[CartShippingMethod]]:
    n = draw(st.integers(min_value=1, max_value=25))
    lines = [
        CartLine(
            id=f"cali_{i}",
            seller_id=draw(SELLERS),
            quantity=draw(st.integers(min_value=1, max_value=50)),
            unit_price=draw(st.integers(min_value=0, max_value=10_000_000)),
            requires_shipping=draw(st.booleans()),
            is_tax_inclusive=draw(st.booleans()),
        )
        for i in range(n)
    ]
    sellers = sorted({line.seller_id for line in lines})
    methods = [
        CartShippingMethod(
            id=f"casm_{s}",
            seller_id=s,
            amount=draw(st.integers(min_value=0, max_value=100_000)),
            is_tax_inclusive=draw(st.booleans()),
        )
        for s in sellers
        if draw(st.booleans()) or any(x.requires_shipping for x in lines if x.seller_id == s)
    ]
    return lines, methods


@settings(max_examples=300, deadline=None)
@given(cart=carts(), rate=RATES)
def test_split_totals_sum_exactly_to_cart_totals(
    cart: tuple[list[CartLine], list[CartShippingMethod]], rate: Decimal | Fraction
) -> None:
    lines, methods = cart
    cart_totals = compute_document_totals(lines, methods, rate)
    drafts = group_by_seller(lines, methods)
    order_totals = [compute_document_totals(d.lines, d.shipping_methods, rate) for d in drafts]
    summed = sum(order_totals, DocumentTotals())
    for name, value in cart_totals.as_dict().items():
        assert summed.as_dict()[name] == value, name
    assert summed == cart_totals
    for doc in [cart_totals, *order_totals]:
        assert doc.total == doc.subtotal + doc.tax_total - doc.discount_total
        assert doc.subtotal == doc.item_subtotal + doc.shipping_subtotal
        assert doc.tax_total == doc.item_tax_total + doc.shipping_tax_total
        assert doc.total == doc.item_total + doc.shipping_total


@settings(max_examples=500, deadline=None)
@given(
    unit_price=st.integers(min_value=0, max_value=10**12),
    quantity=st.integers(min_value=0, max_value=10_000),
    rate=RATES,
    inclusive=st.booleans(),
)
def test_every_line_total_is_subtotal_plus_tax(
    unit_price: int, quantity: int, rate: Decimal | Fraction, inclusive: bool
) -> None:
    t = line_totals(unit_price, quantity, rate, inclusive)
    assert all(isinstance(v, int) for v in (t.subtotal, t.tax_total, t.total))
    assert t.total == t.subtotal + t.tax_total
    amount = unit_price * quantity
    exact_rate = Fraction(rate)
    if inclusive:
        assert t.total == amount
        exact_tax = amount * exact_rate / (100 + exact_rate)
    else:
        assert t.subtotal == amount
        exact_tax = amount * exact_rate / 100
    # rounded to the nearest minor unit
    assert abs(t.tax_total - exact_tax) <= Fraction(1, 2)
    assert 0 <= t.tax_total <= t.total

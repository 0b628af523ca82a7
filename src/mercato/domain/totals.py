"""Line and document (cart / order) totals in exact integer minor units.

Rules (marketplace-setup.md, Regions): one tax rate per region applies to items and shipping; with
``tax_inclusive`` prices already contain the tax. Tax is computed **per line** from the line amount
(``unit_price × quantity``) and rounded half-even to the minor unit, then summed. Because every
document figure is a plain sum of per-line figures, splitting a cart's lines into several orders
gives order totals that add up exactly to the cart's totals (checkout.md, "Money").

Unlike Medusa (which never rounds and keeps 20-digit decimals), amounts here are integers of minor
units, so the rounding happens once, on each line's tax.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from mercato.domain.money import allocate, round_half_even

TaxRate = Decimal | Fraction | int
"""A tax rate in percent (``Decimal("10")`` = 10 %, ``Decimal("8.875")``). Never a float."""


def to_rate(rate: TaxRate) -> Fraction:
    """Exact rational percent; floats are refused because they cannot hold 8.875 % exactly."""
    if isinstance(rate, bool) or not isinstance(rate, Decimal | Fraction | int):
        raise TypeError(f"tax rate must be a Decimal, Fraction or int, not {type(rate).__name__}")
    if isinstance(rate, Decimal) and not rate.is_finite():
        raise ValueError(f"tax rate must be finite, got {rate}")
    value = Fraction(rate)
    if value < 0:
        raise ValueError(f"tax rate must not be negative, got {rate}")
    return value


@dataclass(frozen=True, slots=True)
class LineTotals:
    """Totals of one item line, shipping method or adjustment (minor units).

    ``subtotal`` is the pre-tax amount **before** discounts, ``tax_total`` the rounded tax and
    ``total`` the gross amount, both **after** discounts; ``discount_*`` are the promotions' share
    (promotions.md, "Tax after discounts"). Always ``total == subtotal − discount_subtotal +
    tax_total`` and ``discount_total == discount_subtotal + discount_tax_total``.
    """

    subtotal: int
    tax_total: int
    total: int
    discount_subtotal: int = 0
    discount_tax_total: int = 0
    discount_total: int = 0

    @property
    def original_total(self) -> int:
        """Medusa's total before discounts."""
        return self.total + self.discount_total

    @property
    def original_tax_total(self) -> int:
        """The tax before discounts (t₀)."""
        return self.tax_total + self.discount_tax_total


@dataclass(frozen=True, slots=True)
class DiscountedTotals:
    """A line's totals after its adjustments, and each adjustment's own subtotal / tax / total
    (in the order of the amounts given), which sum to the line's ``discount_*`` fields."""

    line: LineTotals
    adjustments: tuple[LineTotals, ...] = ()


def line_totals(
    unit_price: int, quantity: int, tax_rate: TaxRate, tax_inclusive: bool
) -> LineTotals:
    """Totals of an item line: tax from ``unit_price × quantity``, rounded half-even.

    Exclusive: ``tax = round(amount × rate / 100)``, ``subtotal = amount``.
    Inclusive: ``tax = round(amount × rate / (100 + rate))``, ``subtotal = amount − tax``.
    """
    _check_int("unit_price", unit_price)
    _check_int("quantity", quantity)
    if unit_price < 0:
        raise ValueError(f"unit_price must not be negative, got {unit_price}")
    if quantity < 0:
        raise ValueError(f"quantity must not be negative, got {quantity}")
    rate = to_rate(tax_rate)
    amount = unit_price * quantity
    if tax_inclusive:
        tax = round_half_even(amount * rate / (100 + rate))
        return LineTotals(subtotal=amount - tax, tax_total=tax, total=amount)
    tax = round_half_even(amount * rate / 100)
    return LineTotals(subtotal=amount, tax_total=tax, total=amount + tax)


def discounted_line_totals(
    amount: int, adjustment_amounts: Sequence[int], tax_rate: TaxRate, tax_inclusive: bool
) -> DiscountedTotals:
    """Totals of a line (``amount = unit_price × quantity``) or shipping method after discounts.

    Tax is recomputed on ``amount − d`` (``d`` = Σ adjustments) and rounded half-even once per
    line, like :func:`line_totals`, so every document figure stays a plain sum of line figures and a
    split cart's orders add up exactly. The tax the discounts remove (``t₀ − t``) is allocated over
    the adjustments by their amounts (largest remainder), so funders' shares add up too.
    """
    _check_int("amount", amount)
    for value in adjustment_amounts:
        _check_int("adjustment amount", value)
        if value < 0:
            raise ValueError(f"adjustment amounts must not be negative, got {value}")
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {amount}")
    discount = sum(adjustment_amounts)
    if discount > amount:
        raise ValueError(f"adjustments {discount} exceed the line amount {amount}")
    rate = to_rate(tax_rate)
    divisor = 100 + rate if tax_inclusive else Fraction(100)
    original_tax = round_half_even(amount * rate / divisor)
    tax = round_half_even((amount - discount) * rate / divisor)
    discount_tax = original_tax - tax
    if tax_inclusive:
        line = LineTotals(
            subtotal=amount - original_tax,
            tax_total=tax,
            total=amount - discount,
            discount_subtotal=discount - discount_tax,
            discount_tax_total=discount_tax,
            discount_total=discount,
        )
    else:
        line = LineTotals(
            subtotal=amount,
            tax_total=tax,
            total=amount - discount + tax,
            discount_subtotal=discount,
            discount_tax_total=discount_tax,
            discount_total=discount + discount_tax,
        )
    parts = allocate(discount_tax, list(adjustment_amounts))
    adjustments = []
    for value, part in zip(adjustment_amounts, parts, strict=True):
        subtotal = value - part if tax_inclusive else value
        adjustments.append(LineTotals(subtotal=subtotal, tax_total=part, total=subtotal + part))
    return DiscountedTotals(line=line, adjustments=tuple(adjustments))


def shipping_totals(amount: int, tax_rate: TaxRate, tax_inclusive: bool) -> LineTotals:
    """Totals of a shipping method: the same rule as a line with quantity 1."""
    return line_totals(amount, 1, tax_rate, tax_inclusive)


@dataclass(frozen=True, slots=True)
class DocumentTotals:
    """Totals of a cart or an order, following Medusa v2.8 ``decorateCartTotals`` (reference §3.3)
    with promotions (promotions.md, "Tax after discounts").

    * ``item_*`` / ``shipping_*``: sums of the item lines' / shipping methods' own values;
      ``*_subtotal`` before discounts, ``*_tax_total`` and ``*_total`` after them.
    * ``subtotal = item_subtotal + shipping_subtotal`` — Medusa's subtotal **includes shipping**,
      excludes tax and is before discounts (reference worked example 2: item 50 + shipping 10 →
      subtotal 60).
    * ``tax_total = item_tax_total + shipping_tax_total`` (after discounts).
    * ``discount_*``: sums over items and shipping; ``discount_total = discount_subtotal +
      discount_tax_total``.
    * ``total = subtotal − discount_subtotal + tax_total = item_total + shipping_total``.
    * ``original_item_total`` / ``original_shipping_total``: the same sums before discounts.
    """

    item_total: int = 0
    item_subtotal: int = 0
    item_tax_total: int = 0
    shipping_total: int = 0
    shipping_subtotal: int = 0
    shipping_tax_total: int = 0
    subtotal: int = 0
    tax_total: int = 0
    discount_total: int = 0
    total: int = 0
    discount_subtotal: int = 0
    discount_tax_total: int = 0
    original_item_total: int = 0
    original_shipping_total: int = 0

    @property
    def original_total(self) -> int:
        """Medusa ``original_total`` (before discounts); equals ``total`` without discounts."""
        return self.total + self.discount_total

    @property
    def original_tax_total(self) -> int:
        """The tax before discounts; equals ``tax_total`` without discounts."""
        return self.tax_total + self.discount_tax_total

    def __add__(self, other: DocumentTotals) -> DocumentTotals:
        """Field-wise sum, e.g. the orders of one group or the parts of a split cart."""
        if not isinstance(other, DocumentTotals):
            return NotImplemented
        return DocumentTotals(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def as_dict(self) -> dict[str, int]:
        """The totals as the API field names (minor units; convert with ``money.to_major``)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["original_total"] = self.original_total
        values["original_tax_total"] = self.original_tax_total
        return values


def document_totals(
    items: Iterable[LineTotals], shipping_methods: Iterable[LineTotals] = ()
) -> DocumentTotals:
    """Sum already-computed line totals into a document's totals (see :class:`DocumentTotals`)."""
    item_list = list(items)
    shipping_list = list(shipping_methods)
    both = item_list + shipping_list
    item_subtotal = sum(line.subtotal for line in item_list)
    item_tax_total = sum(line.tax_total for line in item_list)
    item_total = sum(line.total for line in item_list)
    shipping_subtotal = sum(line.subtotal for line in shipping_list)
    shipping_tax_total = sum(line.tax_total for line in shipping_list)
    shipping_total = sum(line.total for line in shipping_list)
    subtotal = item_subtotal + shipping_subtotal
    tax_total = item_tax_total + shipping_tax_total
    discount_subtotal = sum(line.discount_subtotal for line in both)
    return DocumentTotals(
        item_total=item_total,
        item_subtotal=item_subtotal,
        item_tax_total=item_tax_total,
        shipping_total=shipping_total,
        shipping_subtotal=shipping_subtotal,
        shipping_tax_total=shipping_tax_total,
        subtotal=subtotal,
        tax_total=tax_total,
        discount_total=sum(line.discount_total for line in both),
        total=subtotal - discount_subtotal + tax_total,
        discount_subtotal=discount_subtotal,
        discount_tax_total=sum(line.discount_tax_total for line in both),
        original_item_total=sum(line.original_total for line in item_list),
        original_shipping_total=sum(line.original_total for line in shipping_list),
    )


class PricedItem(Protocol):
    """What :func:`compute_document_totals` reads from an item line (a cart or order line)."""

    @property
    def unit_price(self) -> int: ...

    @property
    def quantity(self) -> int: ...

    @property
    def is_tax_inclusive(self) -> bool: ...


class PricedShipping(Protocol):
    """What :func:`compute_document_totals` reads from a shipping method."""

    @property
    def amount(self) -> int: ...

    @property
    def is_tax_inclusive(self) -> bool: ...


def item_line_totals(item: PricedItem, tax_rate: TaxRate) -> LineTotals:
    """Totals of one line object carrying ``unit_price``, ``quantity`` and ``is_tax_inclusive``."""
    return line_totals(item.unit_price, item.quantity, tax_rate, item.is_tax_inclusive)


def shipping_method_totals(method: PricedShipping, tax_rate: TaxRate) -> LineTotals:
    """Totals of one shipping method object carrying ``amount`` and ``is_tax_inclusive``."""
    return shipping_totals(method.amount, tax_rate, method.is_tax_inclusive)


def compute_document_totals(
    items: Iterable[PricedItem],
    shipping_methods: Iterable[PricedShipping],
    tax_rate: TaxRate,
) -> DocumentTotals:
    """Totals of a cart or order from its lines and shipping methods at the region's rate."""
    return document_totals(
        (item_line_totals(item, tax_rate) for item in items),
        (shipping_method_totals(method, tax_rate) for method in shipping_methods),
    )


def _check_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int of minor units, not {type(value).__name__}")

"""Property: random multi-seller carts and promotion stacks split into orders exactly."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.domain.money import round_half_even
from mercato.domain.promotions import (
    Application,
    ApplicationMethod,
    CartContext,
    CartLine,
    CartShipping,
    Promotion,
    Rule,
    apply_promotions,
    stacking_key,
)
from mercato.domain.totals import (
    DiscountedTotals,
    DocumentTotals,
    LineTotals,
    discounted_line_totals,
    document_totals,
    to_rate,
)

NOW = datetime(2026, 7, 1, tzinfo=UTC)
SELLERS = ("sel_a", "sel_b", "sel_c", "sel_d")
RATES = st.one_of(
    st.sampled_from([Decimal("0"), Decimal("10"), Decimal("8.875"), Decimal("25")]),
    st.decimals(min_value=0, max_value=25, places=3, allow_nan=False, allow_infinity=False),
)


@st.composite
def carts(draw: st.DrawFn) -> CartContext:
    sellers = SELLERS[: draw(st.integers(1, 4))]
    inclusive = draw(st.booleans())
    n = draw(st.integers(1, 6))
    lines = tuple(
        CartLine(
            id=f"cali_{i:02d}",
            seller_id=draw(st.sampled_from(sellers)),
            product_id=f"prod_{i}",
            variant_id=f"var_{i}",
            unit_price=draw(st.integers(0, 100000)),
            quantity=draw(st.integers(1, 5)),
            is_tax_inclusive=inclusive,
        )
        for i in range(n)
    )
    shipping = tuple(
        CartShipping(
            id=f"casm_{s}",
            seller_id=s,
            shipping_option_id=f"so_{s}",
            amount=draw(st.integers(0, 5000)),
            is_tax_inclusive=inclusive,
        )
        for s in sorted({line.seller_id for line in lines})
        if draw(st.booleans())
    )
    return CartContext(
        id="cart_1",
        currency_code="usd",
        region_id="reg_1",
        sales_channel_id="sc_1",
        customer_id=None,
        customer_group_ids=frozenset(),
        shipping_country_code=None,
        tax_rate=draw(RATES),
        tax_inclusive=inclusive,
        lines=lines,
        shipping_methods=shipping,
        now=NOW,
    )


@st.composite
def target_rules(draw: st.DrawFn, target: str) -> tuple[Rule, ...]:
    """None (every line) or an ``in`` rule over some product ids / shipping options."""
    if not draw(st.booleans()):
        return ()
    if target == "shipping_methods":
        options = draw(st.sets(st.sampled_from([f"so_{s}" for s in SELLERS]), min_size=1))
        return (Rule("shipping_methods.shipping_option_id", "in", tuple(sorted(options))),)
    products = draw(st.sets(st.sampled_from([f"prod_{i}" for i in range(6)]), min_size=1))
    return (Rule("items.product_id", "in", tuple(sorted(products))),)


@st.composite
def promotions(draw: st.DrawFn) -> list[Promotion]:
    result = []
    for i in range(draw(st.integers(1, 4))):
        seller_id = draw(st.one_of(st.none(), st.sampled_from(SELLERS)))
        kind = draw(st.sampled_from(["fixed", "percentage"]))
        target = draw(st.sampled_from(["items", "order", "shipping_methods"]))
        allocation = "across" if target == "order" else draw(st.sampled_from(["each", "across"]))
        method = ApplicationMethod(
            type=kind,
            target_type=target,
            allocation=allocation,
            percentage=(
                Decimal(draw(st.integers(1, 10000))) / 100 if kind == "percentage" else None
            ),
            amount=draw(st.integers(1, 50000)) if kind == "fixed" else None,
            currency_code="usd" if kind == "fixed" else None,
            max_quantity=(
                draw(st.integers(1, 5)) if allocation == "each" and target == "items" else None
            ),
            apply_to_quantity=None,
            buy_rules_min_quantity=None,
            target_rules=draw(target_rules(target)),
        )
        funded_by: Literal["operator", "seller"] = (
            "seller" if seller_id and draw(st.booleans()) else "operator"
        )
        result.append(
            Promotion(
                id=f"promo_{i}",
                code=f"P{i}",
                type="standard",
                status="active",
                is_automatic=False,
                is_tax_inclusive=draw(st.booleans()),
                seller_id=seller_id,
                funded_by=funded_by,
                limit=None,
                used=0,
                created_at=NOW - timedelta(days=draw(st.integers(0, 3))),
                method=method,
            )
        )
    return result


def _fixed_in_region_basis(p: Promotion, ctx: CartContext) -> int:
    value = p.method.amount or 0
    rate = to_rate(ctx.tax_rate)
    if p.is_tax_inclusive and not ctx.tax_inclusive:
        return round_half_even(Fraction(value) * 100 / (100 + rate))
    if ctx.tax_inclusive and not p.is_tax_inclusive:
        return round_half_even(Fraction(value) * (100 + rate) / 100)
    return value


def _check_across_totals(ctx: CartContext, application: Application) -> None:
    """Replays the stack: each ``across`` promotion's adjustments sum to its rounded-once D."""
    remaining = {line.id: line.unit_price * line.quantity for line in ctx.lines}
    remaining.update({m.id: m.amount for m in ctx.shipping_methods})
    seller_of = {t.id: t.seller_id for t in (*ctx.lines, *ctx.shipping_methods)}
    key_of = {line.id: line.product_id for line in ctx.lines}
    key_of.update({m.id: m.shipping_option_id for m in ctx.shipping_methods})
    shipping_ids = {m.id for m in ctx.shipping_methods}
    for p in application.applied:
        mine = [a for a in application.adjustments if a.promotion_id == p.id]
        if p.method.allocation == "across":
            shipping = p.method.target_type == "shipping_methods"
            eligible = sum(
                amount
                for target_id, amount in remaining.items()
                if (target_id in shipping_ids) == shipping
                and (p.seller_id is None or seller_of[target_id] == p.seller_id)
                and all(key_of[target_id] in rule.values for rule in p.method.target_rules)
            )
            if p.method.type == "percentage":
                d = round_half_even(Fraction(p.method.percentage or 0) / 100 * eligible)
            else:
                d = min(_fixed_in_region_basis(p, ctx), eligible)
            assert sum(a.amount for a in mine) == d
        for a in mine:
            target_id = a.item_id or a.shipping_method_id
            assert target_id is not None
            remaining[target_id] -= a.amount
            assert remaining[target_id] >= 0


def _sum(totals: list[DocumentTotals]) -> DocumentTotals:
    result = DocumentTotals()
    for t in totals:
        result = result + t
    return result


@settings(max_examples=500, deadline=None)
@given(ctx=carts(), stack=promotions())
def test_random_stacks_split_exactly(ctx: CartContext, stack: list[Promotion]) -> None:
    application = apply_promotions(ctx, stack)
    assert [p.id for p in application.applied] == [
        p.id for p in sorted(application.applied, key=stacking_key)
    ]
    assert len(application.applied) + len(application.rejected) == len(stack)
    by_id = {p.id: p for p in stack}
    per_target: dict[str, DiscountedTotals] = {}
    targets = [
        (line.id, line.seller_id, line.unit_price * line.quantity, "item", line.product_id)
        for line in ctx.lines
    ] + [
        (m.id, m.seller_id, m.amount, "shipping", m.shipping_option_id)
        for m in ctx.shipping_methods
    ]
    for target_id, seller_id, amount, kind, key in targets:
        mine = [
            a for a in application.adjustments if target_id in (a.item_id, a.shipping_method_id)
        ]
        assert all(a.amount > 0 for a in mine)
        assert sum(a.amount for a in mine) <= amount
        for a in mine:
            promotion = by_id[a.promotion_id]
            assert a.seller_id == seller_id
            assert promotion.seller_id in (None, seller_id)  # seller promotions stay in scope
            assert (a.item_id is None) == (kind == "shipping")
            assert (promotion.method.target_type == "shipping_methods") == (kind == "shipping")
            assert a.funded_by == promotion.funded_by
            assert all(key in rule.values for rule in promotion.method.target_rules)
        result = discounted_line_totals(
            amount, [a.amount for a in mine], ctx.tax_rate, ctx.tax_inclusive
        )
        line = result.line
        per_target[target_id] = result
        assert line.discount_total == line.discount_subtotal + line.discount_tax_total
        assert line.total == line.subtotal - line.discount_subtotal + line.tax_total
        assert line.original_total == (
            amount if ctx.tax_inclusive else amount + line.original_tax_total
        )
        assert sum(p.subtotal for p in result.adjustments) == line.discount_subtotal
        assert sum(p.tax_total for p in result.adjustments) == line.discount_tax_total
        assert sum(p.total for p in result.adjustments) == line.discount_total
        funded: dict[str, int] = {}
        for a, part in zip(mine, result.adjustments, strict=True):
            assert part.total == part.subtotal + part.tax_total
            funded[a.funded_by] = funded.get(a.funded_by, 0) + part.total
        assert sum(funded.values()) == line.discount_total
    _check_across_totals(ctx, application)

    def totals_of(seller_id: str | None) -> DocumentTotals:
        items: list[LineTotals] = [
            per_target[line.id].line
            for line in ctx.lines
            if seller_id is None or line.seller_id == seller_id
        ]
        methods = [
            per_target[m.id].line
            for m in ctx.shipping_methods
            if seller_id is None or m.seller_id == seller_id
        ]
        return document_totals(items, methods)

    cart = totals_of(None)
    orders = [totals_of(s) for s in sorted({line.seller_id for line in ctx.lines})]
    assert _sum(orders) == cart
    for doc in [cart, *orders]:
        assert doc.discount_total == doc.discount_subtotal + doc.discount_tax_total
        assert doc.total == doc.subtotal - doc.discount_subtotal + doc.tax_total
        assert doc.total == doc.item_total + doc.shipping_total
        assert doc.original_total == doc.original_item_total + doc.original_shipping_total
    for name in [f.name for f in fields(DocumentTotals)] + ["original_total", "original_tax_total"]:
        assert getattr(cart, name) == sum(getattr(o, name) for o in orders), name
    assert cart.discount_total == sum(
        part.total for result in per_target.values() for part in result.adjustments
    )

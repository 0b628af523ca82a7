"""Promotions domain: the worked examples of promotions.md to the cent, then each rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import pytest

from mercato.domain.promotions import (
    ALIASES,
    CART_RULE_ATTRIBUTES,
    ITEM_RULE_ATTRIBUTES,
    SHIPPING_RULE_ATTRIBUTES,
    Adjustment,
    Application,
    ApplicationMethod,
    Budget,
    Campaign,
    CartContext,
    CartLine,
    CartShipping,
    Promotion,
    Rule,
    apply_promotions,
    discount_usage,
    discounted_totals,
    funding_totals,
    stacking_key,
)
from mercato.domain.totals import (
    DocumentTotals,
    LineTotals,
    discounted_line_totals,
    document_totals,
    line_totals,
)

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def method(
    type: Literal["fixed", "percentage"] = "percentage",
    target_type: Literal["items", "shipping_methods", "order"] = "order",
    allocation: Literal["each", "across"] = "across",
    value: str | int = "10",
    currency_code: str | None = None,
    **kwargs: Any,
) -> ApplicationMethod:
    return ApplicationMethod(
        type=type,
        target_type=target_type,
        allocation=allocation,
        percentage=Decimal(value) if type == "percentage" else None,
        amount=int(value) if type == "fixed" else None,
        currency_code=currency_code if currency_code or type == "percentage" else "usd",
        max_quantity=kwargs.pop("max_quantity", None),
        apply_to_quantity=kwargs.pop("apply_to_quantity", None),
        buy_rules_min_quantity=kwargs.pop("buy_rules_min_quantity", None),
        **kwargs,
    )


def promo(id: str = "promo_1", m: ApplicationMethod | None = None, **kwargs: Any) -> Promotion:
    seller_id = kwargs.pop("seller_id", None)
    values: dict[str, Any] = {
        "id": id,
        "code": id.upper(),
        "type": "standard",
        "status": "active",
        "is_automatic": False,
        "is_tax_inclusive": False,
        "seller_id": seller_id,
        "funded_by": "seller" if seller_id else "operator",
        "limit": None,
        "used": 0,
        "created_at": T0,
        "method": m or method(),
    }
    values.update(kwargs)
    return Promotion(**values)


def example_cart(inclusive: bool = False, **kwargs: Any) -> CartContext:
    """promotions.md's worked-example cart: USD, 10 %, sellers Acme / Bolt / Cove."""
    lines = (
        CartLine("a1", "acme", "prod_a", "var_a", 1999, 2, inclusive),
        CartLine("b1", "bolt", "prod_b1", "var_b1", 1500, 1, inclusive),
        CartLine("b2", "bolt", "prod_b2", "var_b2", 333, 3, inclusive),
        CartLine("c1", "cove", "prod_c", "var_c", 695, 1, inclusive),
    )
    shipping = (
        CartShipping("smA", "acme", "so_a", 499, inclusive),
        CartShipping("smB", "bolt", "so_b", 500, inclusive),
        CartShipping("smC", "cove", "so_c", 350, inclusive),
    )
    values: dict[str, Any] = {
        "id": "cart_1",
        "currency_code": "usd",
        "region_id": "reg_us",
        "sales_channel_id": "sc_web",
        "customer_id": "cus_1",
        "customer_group_ids": frozenset({"cusgroup_vip", "cusgroup_b2b"}),
        "shipping_country_code": "us",
        "tax_rate": Decimal("10"),
        "tax_inclusive": inclusive,
        "lines": lines,
        "shipping_methods": shipping,
        "now": NOW,
    }
    values.update(kwargs)
    return CartContext(**values)


def amounts(application: Application) -> dict[str, int]:
    """Σ adjustment amounts per line / method id."""
    result: dict[str, int] = {}
    for a in application.adjustments:
        key = a.item_id or a.shipping_method_id
        assert key is not None
        result[key] = result.get(key, 0) + a.amount
    return result


def by_promotion(application: Application, promotion_id: str) -> dict[str, int]:
    return {
        (a.item_id or a.shipping_method_id or ""): a.amount
        for a in application.adjustments
        if a.promotion_id == promotion_id
    }


def of(application: Application, target_id: str) -> list[Adjustment]:
    return [a for a in application.adjustments if target_id in (a.item_id, a.shipping_method_id)]


def discounted(ctx: CartContext, application: Application, target_id: str) -> Any:
    for line in ctx.lines:
        if line.id == target_id:
            amount = line.unit_price * line.quantity
            break
    else:
        amount = next(m.amount for m in ctx.shipping_methods if m.id == target_id)
    adjustments = [a.amount for a in of(application, target_id)]
    return discounted_line_totals(amount, adjustments, ctx.tax_rate, ctx.tax_inclusive)


def seller_totals(ctx: CartContext, application: Application, seller_id: str) -> DocumentTotals:
    """One seller's order totals after the split: a plain sum of its lines' figures."""
    items = [
        discounted(ctx, application, line.id).line
        for line in ctx.lines
        if line.seller_id == seller_id
    ]
    methods = [
        discounted(ctx, application, m.id).line
        for m in ctx.shipping_methods
        if m.seller_id == seller_id
    ]
    return document_totals(items, methods)


def cart_totals(ctx: CartContext, application: Application) -> DocumentTotals:
    return document_totals(
        [discounted(ctx, application, line.id).line for line in ctx.lines],
        [discounted(ctx, application, m.id).line for m in ctx.shipping_methods],
    )


def funding(ctx: CartContext, application: Application, seller_id: str) -> dict[str, LineTotals]:
    """Σ adjustment subtotal / tax / total by ``funded_by`` on one seller's lines."""
    sums: dict[str, list[int]] = {}
    for target in [*ctx.lines, *ctx.shipping_methods]:
        if target.seller_id != seller_id:
            continue
        adjustments = of(application, target.id)
        parts = discounted(ctx, application, target.id).adjustments
        for adjustment, part in zip(adjustments, parts, strict=True):
            bucket = sums.setdefault(adjustment.funded_by, [0, 0, 0])
            bucket[0] += part.subtotal
            bucket[1] += part.tax_total
            bucket[2] += part.total
    return {k: LineTotals(*v) for k, v in sums.items()}


SELLERS = ("acme", "bolt", "cove")


# ----------------------------------------------------------------------------- totals


def test_discounted_line_totals_without_adjustments_equals_line_totals() -> None:
    for inclusive in (False, True):
        result = discounted_line_totals(3998, [], Decimal("10"), inclusive)
        assert result.line == line_totals(1999, 2, Decimal("10"), inclusive)
        assert result.adjustments == ()


def test_discounted_line_totals_reference_example() -> None:
    # ../reference/medusa-orders.md §3.3 example 1: item 100, 6 %, promotion 10 -> total 95.40
    result = discounted_line_totals(10000, [1000], Decimal("6"), False)
    assert result.line == LineTotals(
        subtotal=10000,
        tax_total=540,
        total=9540,
        discount_subtotal=1000,
        discount_tax_total=60,
        discount_total=1060,
    )
    assert result.line.original_total == 10600
    assert result.line.original_tax_total == 600
    assert result.adjustments == (LineTotals(1000, 60, 1060),)


def test_discounted_line_totals_inclusive() -> None:
    # 1100 incl. 10 % (tax 100), discount 110 incl. -> 990 incl. (tax 90)
    result = discounted_line_totals(1100, [55, 55], Decimal("10"), True)
    assert result.line == LineTotals(
        subtotal=1000,
        tax_total=90,
        total=990,
        discount_subtotal=100,
        discount_tax_total=10,
        discount_total=110,
    )
    assert result.adjustments == (LineTotals(50, 5, 55), LineTotals(50, 5, 55))


def test_discounted_line_totals_refuses_more_than_the_amount() -> None:
    with pytest.raises(ValueError):
        discounted_line_totals(100, [60, 41], Decimal("10"), False)
    with pytest.raises(ValueError):
        discounted_line_totals(100, [-1], Decimal("10"), False)


def test_document_totals_sum_discounts() -> None:
    line = discounted_line_totals(10000, [1000], Decimal("6"), False).line
    ship = discounted_line_totals(1000, [1000], Decimal("10"), False).line
    doc = document_totals([line], [ship])
    assert doc.subtotal == 11000
    assert doc.discount_subtotal == 2000
    assert doc.discount_tax_total == 160
    assert doc.discount_total == 2160
    assert doc.tax_total == 540
    assert doc.total == 9540 == doc.item_total + doc.shipping_total
    assert doc.original_item_total == 10600
    assert doc.original_shipping_total == 1100
    assert doc.original_total == 11700
    assert doc.original_tax_total == 700
    assert doc.as_dict()["original_tax_total"] == 700
    assert (doc + doc).discount_subtotal == 4000


# ----------------------------------------------------------------------------- worked examples


def test_example_cart_without_promotions() -> None:
    ctx = example_cart()
    application = apply_promotions(ctx, [])
    totals = [seller_totals(ctx, application, s).total for s in SELLERS]
    assert totals == [4947, 3299, 1150]
    cart = cart_totals(ctx, application)
    assert (cart.total, cart.subtotal, cart.tax_total) == (9396, 8541, 855)


def test_example_1_operator_ten_percent_across() -> None:
    ctx = example_cart()
    application = apply_promotions(ctx, [promo("promo_op10")])
    assert amounts(application) == {"a1": 400, "b1": 150, "b2": 100, "c1": 69}
    assert all(a.funded_by == "operator" for a in application.adjustments)
    assert [a.seller_id for a in application.adjustments] == ["acme", "bolt", "bolt", "cove"]
    lines = {
        line_id: discounted(ctx, application, line_id).line for line_id in amounts(application)
    }
    assert {k: (v.tax_total, v.discount_total, v.total) for k, v in lines.items()} == {
        "a1": (360, 440, 3958),
        "b1": (135, 165, 1485),
        "b2": (90, 110, 989),
        "c1": (63, 76, 689),
    }
    orders = [seller_totals(ctx, application, s) for s in SELLERS]
    assert [(o.discount_total, o.total) for o in orders] == [(440, 4507), (275, 3024), (76, 1074)]
    cart = cart_totals(ctx, application)
    assert (cart.discount_subtotal, cart.discount_tax_total, cart.discount_total) == (719, 72, 791)
    assert (cart.tax_total, cart.total) == (783, 8605)
    assert cart.total == sum(o.total for o in orders)
    for seller, order in zip(SELLERS, orders, strict=True):
        assert funding(ctx, application, seller)["operator"].total == order.discount_total


def test_example_2_fixed_five_across() -> None:
    ctx = example_cart()
    application = apply_promotions(ctx, [promo("promo_5", method("fixed", value=500))])
    assert amounts(application) == {"a1": 278, "b1": 104, "b2": 70, "c1": 48}
    taxes = [discounted(ctx, application, i).line.tax_total for i in ("a1", "b1", "b2", "c1")]
    assert taxes == [372, 140, 93, 65]
    orders = [seller_totals(ctx, application, s) for s in SELLERS]
    assert [(o.discount_total, o.total) for o in orders] == [(306, 4641), (191, 3108), (53, 1097)]
    cart = cart_totals(ctx, application)
    assert (cart.discount_subtotal, cart.discount_tax_total, cart.total) == (500, 50, 8846)


def test_example_2_tax_inclusive_variant() -> None:
    ctx = example_cart(inclusive=True)
    before = cart_totals(ctx, apply_promotions(ctx, []))
    assert (before.total, before.tax_total) == (8541, 775)
    application = apply_promotions(
        ctx, [promo("promo_5", method("fixed", value=500), is_tax_inclusive=True)]
    )
    assert amounts(application) == {"a1": 278, "b1": 104, "b2": 70, "c1": 48}
    assert all(a.is_tax_inclusive for a in application.adjustments)
    for line in ctx.lines:
        result = discounted(ctx, application, line.id).line
        assert result.total == line.unit_price * line.quantity - amounts(application)[line.id]
    cart = cart_totals(ctx, application)
    assert (cart.total, cart.tax_total, cart.discount_total) == (8041, 730, 500)
    assert cart.total == sum(seller_totals(ctx, application, s).total for s in SELLERS)


def test_example_3_seller_and_operator_stacked() -> None:
    ctx = example_cart()
    bolt2 = promo(
        "promo_bolt2",
        method("fixed", value=200),
        seller_id="bolt",
        created_at=T0 + timedelta(days=1),  # later than the operator's: order is by funder
    )
    op10 = promo("promo_op10")
    application = apply_promotions(ctx, [op10, bolt2])
    assert [p.id for p in application.applied] == ["promo_bolt2", "promo_op10"]
    assert by_promotion(application, "promo_bolt2") == {"b1": 120, "b2": 80}
    assert by_promotion(application, "promo_op10") == {"a1": 400, "b1": 138, "b2": 92, "c1": 69}
    assert [(a.promotion_id, a.item_id) for a in application.adjustments] == [
        ("promo_bolt2", "b1"),
        ("promo_bolt2", "b2"),
        ("promo_op10", "a1"),
        ("promo_op10", "b1"),
        ("promo_op10", "b2"),
        ("promo_op10", "c1"),
    ]
    expected = {
        "a1": (400, 360, 40, [40], 3958),
        "b1": (258, 124, 26, [12, 14], 1366),
        "b2": (172, 83, 17, [8, 9], 910),
        "c1": (69, 63, 7, [7], 689),
    }
    for line_id, (d, t, discount_tax, split, total) in expected.items():
        result = discounted(ctx, application, line_id)
        assert result.line.discount_total - result.line.discount_tax_total == (
            result.line.discount_subtotal
        )
        assert (
            result.line.discount_subtotal,
            result.line.tax_total,
            result.line.discount_tax_total,
            [a.tax_total for a in result.adjustments],
            result.line.total,
        ) == (d, t, discount_tax, split, total)
    order_b = seller_totals(ctx, application, "bolt")
    assert (order_b.discount_total, order_b.total) == (473, 2826)
    assert funding_totals(ctx, application, "bolt") == {
        "seller": LineTotals(200, 20, 220),
        "operator": LineTotals(230, 23, 253),
    }
    cart_funding = funding_totals(ctx, application)
    assert cart_funding["seller"].total + cart_funding["operator"].total == (
        cart_totals(ctx, application).discount_total
    )
    assert discounted_totals(ctx, application)["b1"] == discounted(ctx, application, "b1")
    bolt_funding = funding(ctx, application, "bolt")
    assert (bolt_funding["seller"].total, bolt_funding["operator"].total) == (220, 253)
    assert (bolt_funding["seller"].subtotal, bolt_funding["operator"].subtotal) == (200, 230)
    orders = [seller_totals(ctx, application, s).total for s in SELLERS]
    assert orders == [4507, 2826, 1074]
    assert cart_totals(ctx, application).total == 8407


def test_example_4_free_shipping() -> None:
    ctx = example_cart()
    free = promo(
        "promo_ship",
        method("percentage", "shipping_methods", "each", value=100),
        rules=(Rule("item_total", "gte", ("50",)),),
    )
    application = apply_promotions(ctx, [free])
    assert amounts(application) == {"smA": 499, "smB": 500, "smC": 350}
    orders = [seller_totals(ctx, application, s) for s in SELLERS]
    assert [o.shipping_tax_total for o in orders] == [0, 0, 0]
    assert [o.discount_total for o in orders] == [549, 550, 385]
    assert [o.total for o in orders] == [4398, 2749, 765]
    assert cart_totals(ctx, application).total == 7912

    cove = promo(
        "promo_cove",
        method("percentage", "shipping_methods", "each", value=100),
        seller_id="cove",
        rules=(Rule("item_total", "gte", ("20",)),),
    )
    application = apply_promotions(ctx, [cove])
    assert application.adjustments == ()
    assert [(r.reason, r.detail) for r in application.rejected] == [
        ("promotion_rules_not_met", "the cart does not meet its conditions (item_total)")
    ]


# ----------------------------------------------------------------------------- rejections


def rejection(ctx: CartContext, promotion: Promotion) -> tuple[str, str]:
    application = apply_promotions(ctx, [promotion])
    assert application.adjustments == () and application.applied == ()
    [rejected] = application.rejected
    assert (rejected.promotion_id, rejected.code) == (promotion.id, promotion.code)
    return rejected.reason, rejected.detail


def campaign(**kwargs: Any) -> Campaign:
    values: dict[str, Any] = {"id": "procamp_1", "starts_at": None, "ends_at": None, "budget": None}
    values.update(kwargs)
    return Campaign(**values)


def test_rejection_not_active() -> None:
    ctx = example_cart()
    gone = ("promotion_not_found", "the promotion is no longer active")
    assert rejection(ctx, promo(status="draft")) == gone
    assert rejection(ctx, promo(status="inactive")) == gone
    assert rejection(ctx, promo(deleted=True)) == gone


def test_rejection_campaign_dates() -> None:
    ctx = example_cart()
    starts = datetime(2026, 8, 1, tzinfo=UTC)
    assert rejection(ctx, promo(campaign=campaign(starts_at=starts))) == (
        "promotion_not_started",
        "the campaign starts at 2026-08-01T00:00:00.000Z",
    )
    assert rejection(ctx, promo(campaign=campaign(ends_at=NOW))) == (
        "promotion_expired",
        "the campaign ended at 2026-07-01T12:00:00.000Z",
    )
    # starts_at <= now < ends_at applies
    window = campaign(starts_at=NOW, ends_at=NOW + timedelta(microseconds=1))
    assert apply_promotions(ctx, [promo(campaign=window)]).applied


def test_rejection_budgets_and_limit() -> None:
    ctx = example_cart()
    exhausted = ("promotion_budget_exhausted", "the campaign budget is exhausted")
    usage = Budget("probudg_1", "usage", limit=3, used=3, currency_code=None)
    assert rejection(ctx, promo(campaign=campaign(budget=usage))) == exhausted
    room = replace(usage, used=2)
    assert apply_promotions(ctx, [promo(campaign=campaign(budget=room))]).applied
    spend = Budget("probudg_2", "spend", limit=1500, used=1500, currency_code="usd")
    assert rejection(ctx, promo(campaign=campaign(budget=spend))) == exhausted
    assert rejection(ctx, promo(limit=5, used=5)) == (
        "promotion_limit_reached",
        "the promotion's usage limit is reached",
    )
    assert apply_promotions(ctx, [promo(limit=5, used=4)]).applied


def test_spend_budget_whole_discount_must_fit() -> None:
    # example 5: 15.00 budget, 7.19 per cart
    ctx = example_cart()
    spend = Budget("probudg_2", "spend", limit=1500, used=1438, currency_code="usd")
    assert rejection(ctx, promo(campaign=campaign(budget=spend))) == (
        "promotion_budget_exhausted",
        "the campaign budget is exhausted",
    )
    fits = replace(spend, used=1500 - 719)
    application = apply_promotions(ctx, [promo(campaign=campaign(budget=fits))])
    assert discount_usage(application) == {"procamp_1": 719}


def test_spend_budget_counts_every_promotion_of_the_campaign_in_the_cart() -> None:
    ctx = example_cart()
    spend = Budget("probudg_2", "spend", limit=1000, used=0, currency_code="usd")
    shared = campaign(budget=spend)
    first = promo("promo_a", campaign=shared)  # 719
    second = promo("promo_b", method("fixed", value=500), campaign=shared, created_at=NOW)
    application = apply_promotions(ctx, [second, first])
    assert [p.id for p in application.applied] == ["promo_a"]
    assert [r.reason for r in application.rejected] == ["promotion_budget_exhausted"]
    assert discount_usage(application) == {"procamp_1": 719}


def test_usage_budget_counts_a_cart_once() -> None:
    ctx = example_cart()
    usage = Budget("probudg_1", "usage", limit=1, used=0, currency_code=None)
    shared = campaign(budget=usage)
    application = apply_promotions(
        ctx,
        [
            promo("promo_a", campaign=shared),
            promo("promo_b", method("fixed", value=100), campaign=shared),
        ],
    )
    assert [p.id for p in application.applied] == ["promo_a", "promo_b"]


def test_rejection_currency() -> None:
    ctx = example_cart()
    assert rejection(ctx, promo(m=method("fixed", value=100, currency_code="eur"))) == (
        "promotion_currency_mismatch",
        "it applies to eur carts only",
    )
    assert rejection(ctx, promo(m=method(currency_code="EUR"))) == (
        "promotion_currency_mismatch",
        "it applies to eur carts only",
    )
    spend = Budget("probudg_2", "spend", limit=10000, used=0, currency_code="eur")
    assert rejection(ctx, promo(campaign=campaign(budget=spend)))[0] == (
        "promotion_currency_mismatch"
    )
    assert apply_promotions(ctx, [promo(m=method(currency_code="USD"))]).applied


def test_rejection_no_eligible_items() -> None:
    ctx = example_cart()
    target = method(target_rules=(Rule("items.product.id", "eq", ("prod_x",)),))
    assert rejection(ctx, promo(m=target)) == ("promotion_no_eligible_items", "no eligible items")
    other = replace(ctx, lines=ctx.lines[:1], shipping_methods=ctx.shipping_methods[:1])
    assert rejection(other, promo(seller_id="bolt", seller_name="Bolt")) == (
        "promotion_no_eligible_items",
        "no items of seller Bolt",
    )
    # nothing left to discount after a 100 % promotion
    full = promo("promo_full", method(value="100"))
    application = apply_promotions(ctx, [full, promo("promo_more", created_at=NOW)])
    assert [r.reason for r in application.rejected] == ["promotion_no_eligible_items"]


def test_rejections_are_in_input_order() -> None:
    ctx = example_cart()
    application = apply_promotions(
        ctx,
        [
            promo("promo_z", status="draft", created_at=NOW),
            promo("promo_a", limit=1, used=1),
            promo("promo_ok"),
        ],
    )
    assert [r.promotion_id for r in application.rejected] == ["promo_z", "promo_a"]
    assert [p.id for p in application.applied] == ["promo_ok"]


# ----------------------------------------------------------------------------- rules


def applies(ctx: CartContext, *rules: Rule) -> bool:
    application = apply_promotions(ctx, [promo(rules=rules)])
    if application.applied:
        return True
    assert application.rejected[0].reason == "promotion_rules_not_met"
    return False


def test_id_operators() -> None:
    ctx = example_cart()
    assert applies(ctx, Rule("region.id", "eq", ("reg_us",)))
    assert not applies(ctx, Rule("region.id", "eq", ("reg_eu",)))
    assert applies(ctx, Rule("region.id", "in", ("reg_eu", "reg_us")))
    assert not applies(ctx, Rule("region.id", "ne", ("reg_eu", "reg_us")))
    assert applies(ctx, Rule("region.id", "ne", ("reg_eu",)))
    assert applies(ctx, Rule("sales_channel_id", "eq", ("sc_web",)))
    assert applies(ctx, Rule("currency_code", "in", ("eur", "usd")))
    assert not applies(ctx, Rule("currency_code", "ne", ("usd",)))
    assert applies(ctx, Rule("shipping_address.country_code", "eq", ("us",)))
    assert not applies(
        replace(ctx, shipping_country_code=None),
        Rule("shipping_address.country_code", "eq", ("us",)),
    )
    assert applies(ctx, Rule("customer.id", "eq", ("cus_1",)))
    assert not applies(ctx, Rule("customer.id", "ne", ("cus_1",)))


def test_rule_names_the_failing_attribute() -> None:
    ctx = example_cart()
    rules = (Rule("region.id", "eq", ("reg_us",)), Rule("customer.id", "eq", ("cus_2",)))
    assert rejection(ctx, promo(rules=rules)) == (
        "promotion_rules_not_met",
        "the cart does not meet its conditions (customer.id)",
    )


def test_customer_groups_are_list_valued() -> None:
    ctx = example_cart()
    assert applies(ctx, Rule("customer.groups.id", "eq", ("cusgroup_vip",)))
    assert applies(ctx, Rule("customer.groups.id", "in", ("cusgroup_x", "cusgroup_b2b")))
    assert not applies(ctx, Rule("customer.groups.id", "in", ("cusgroup_x",)))
    assert not applies(ctx, Rule("customer.groups.id", "ne", ("cusgroup_x", "cusgroup_vip")))
    assert applies(ctx, Rule("customer.groups.id", "ne", ("cusgroup_x",)))


def test_guest_carts_never_match_customer_eq_in() -> None:
    guest = example_cart(customer_id=None, customer_group_ids=frozenset())
    assert not applies(guest, Rule("customer.id", "eq", ("cus_1",)))
    assert not applies(guest, Rule("customer.id", "in", ("cus_1", "cus_2")))
    assert not applies(guest, Rule("customer.groups.id", "in", ("cusgroup_vip",)))
    assert applies(guest, Rule("customer.id", "ne", ("cus_1",)))


def test_item_total_numeric_operators() -> None:
    ctx = example_cart()  # item total 71.92
    assert applies(ctx, Rule("item_total", "eq", ("71.92",)))
    assert applies(ctx, Rule("item_total", "eq", ("71.920",)))  # decimals, not strings
    assert not applies(ctx, Rule("item_total", "eq", ("71.9",)))
    assert applies(ctx, Rule("item_total", "gt", ("71.91",)))
    assert not applies(ctx, Rule("item_total", "gt", ("71.92",)))
    assert applies(ctx, Rule("item_total", "gte", ("71.92",)))
    assert not applies(ctx, Rule("item_total", "gte", ("71.93",)))
    assert applies(ctx, Rule("item_total", "lt", ("100",)))  # "100" < "71.92" as strings
    assert not applies(ctx, Rule("item_total", "lt", ("71.92",)))
    assert applies(ctx, Rule("item_total", "lte", ("71.92",)))
    assert not applies(ctx, Rule("item_total", "lte", ("9",)))
    assert not applies(ctx, Rule("item_total", "gte", ("abc",)))


def test_item_total_uses_the_currency_exponent() -> None:
    ctx = example_cart(currency_code="jpy")  # 7192 yen
    assert applies(ctx, Rule("item_total", "eq", ("7192",)))


def test_item_total_is_before_discounts_and_seller_scoped() -> None:
    ctx = example_cart()
    op = promo("promo_op", method(value="50"))
    bolt = promo(
        "promo_bolt",
        method(value="10"),
        seller_id="bolt",
        rules=(Rule("item_total", "eq", ("24.99",)),),  # b1 + b2 before any discount
    )
    application = apply_promotions(ctx, [op, bolt])
    assert [p.id for p in application.applied] == ["promo_bolt", "promo_op"]
    assert set(by_promotion(application, "promo_bolt")) == {"b1", "b2"}


def test_target_rules_and_aliases() -> None:
    ctx = example_cart()
    for attribute, value, expected in [
        ("items.product.id", "prod_b1", {"b1"}),
        ("items.product_id", "prod_b1", {"b1"}),
        ("items.variant.id", "var_c", {"c1"}),
        ("items.variant_id", "var_c", {"c1"}),
        ("items.seller.id", "bolt", {"b1", "b2"}),
        ("items.seller_id", "bolt", {"b1", "b2"}),
    ]:
        rules = (Rule(attribute, "eq", (value,)),)
        application = apply_promotions(ctx, [promo(m=method(target_rules=rules))])
        assert set(amounts(application)) == expected, attribute
    ne = (Rule("items.seller.id", "ne", ("bolt",)),)
    assert set(amounts(apply_promotions(ctx, [promo(m=method(target_rules=ne))]))) == {"a1", "c1"}
    for attribute, value, expected in [
        ("shipping_methods.shipping_option_id", "so_b", {"smB"}),
        ("shipping_methods.seller.id", "cove", {"smC"}),
        ("shipping_methods.seller_id", "cove", {"smC"}),
    ]:
        rules = (Rule(attribute, "in", (value,)),)
        m = method("percentage", "shipping_methods", "across", value=50, target_rules=rules)
        assert set(amounts(apply_promotions(ctx, [promo(m=m)]))) == expected, attribute


def test_rule_vocabulary_exports() -> None:
    assert set(CART_RULE_ATTRIBUTES) == {
        "customer.id",
        "customer.groups.id",
        "region.id",
        "sales_channel_id",
        "currency_code",
        "shipping_address.country_code",
        "item_total",
    }
    assert "gte" in CART_RULE_ATTRIBUTES["item_total"]
    assert "gte" not in CART_RULE_ATTRIBUTES["region.id"]
    assert set(ITEM_RULE_ATTRIBUTES) == {"items.product.id", "items.variant.id", "items.seller.id"}
    assert set(SHIPPING_RULE_ATTRIBUTES) == {
        "shipping_methods.shipping_option_id",
        "shipping_methods.seller.id",
    }
    assert all(v in ITEM_RULE_ATTRIBUTES or v in SHIPPING_RULE_ATTRIBUTES for v in ALIASES.values())


# ----------------------------------------------------------------------------- amounts


def test_percentage_each_with_max_quantity() -> None:
    ctx = example_cart()
    m = method("percentage", "items", "each", value="10", max_quantity=2)
    # a1 2 units: 10 % of 3998 = 399.8 -> 400; b2 3 units, 2 discounted: 10 % x 999 x 2/3 = 66.6
    assert amounts(apply_promotions(ctx, [promo(m=m)])) == {
        "a1": 400,
        "b1": 150,
        "b2": 67,
        "c1": 70,
    }


def test_fixed_each_with_max_quantity_capped_by_remaining() -> None:
    ctx = example_cart()
    m = method("fixed", "items", "each", value=400, max_quantity=2)
    # a1: 400 x 2 = 800; b1: 400 x 1; b2: 400 x 2 (of 3 units) = 800 <= 999; c1: 400
    assert amounts(apply_promotions(ctx, [promo(m=m)])) == {
        "a1": 800,
        "b1": 400,
        "b2": 800,
        "c1": 400,
    }
    big = method("fixed", "items", "each", value=1000, max_quantity=5)
    assert amounts(apply_promotions(ctx, [promo(m=big)])) == {
        "a1": 2000,
        "b1": 1000,
        "b2": 999,
        "c1": 695,
    }


def test_fixed_across_capped_by_remaining() -> None:
    ctx = example_cart()
    m = method("fixed", "items", "across", value=100000)
    application = apply_promotions(ctx, [promo(m=m)])
    assert amounts(application) == {"a1": 3998, "b1": 1500, "b2": 999, "c1": 695}
    assert cart_totals(ctx, application).item_total == 0


def test_fixed_value_converted_between_tax_bases() -> None:
    # 5.50 incl. 10 % on an exclusive cart = 5.00 excl.
    ctx = example_cart()
    incl = promo(m=method("fixed", "items", "across", value=550), is_tax_inclusive=True)
    assert sum(amounts(apply_promotions(ctx, [incl])).values()) == 500
    # 5.00 excl. on an inclusive cart = 5.50 incl.
    ctx_incl = example_cart(inclusive=True)
    excl = promo(m=method("fixed", "items", "across", value=500))
    assert sum(amounts(apply_promotions(ctx_incl, [excl])).values()) == 550
    # half-even: 1.05 incl. 10 % = 0.954.. -> 0.95; shipping each
    ship = promo(m=method("fixed", "shipping_methods", "each", value=105), is_tax_inclusive=True)
    assert amounts(apply_promotions(ctx, [ship])) == {"smA": 95, "smB": 95, "smC": 95}


def test_shipping_across() -> None:
    ctx = example_cart()
    m = method("fixed", "shipping_methods", "across", value=100)
    application = apply_promotions(ctx, [promo(m=m)])
    # 100 by 499 / 500 / 350: 36.96, 37.04, 25.93 -> 36 + 37 + 25 = 98, +1 smC .93, +1 smA .96
    assert amounts(application) == {"smA": 37, "smB": 37, "smC": 26}
    assert all(a.item_id is None for a in application.adjustments)


def test_buyget_cheapest_units() -> None:
    ctx = example_cart()
    m = method(
        "percentage",
        "items",
        "each",
        value="100",
        apply_to_quantity=2,
        buy_rules_min_quantity=2,
        buy_rules=(Rule("items.product.id", "eq", ("prod_a",)),),
    )
    # buy 2 of prod_a, get the 2 cheapest units free: b2's units at 3.33
    application = apply_promotions(ctx, [promo("promo_bg", m, type="buyget")])
    assert amounts(application) == {"b2": 666}
    # ties by line id: with four units at 3.33, b2 gets 3 and a second line one
    cheap = replace(ctx.lines[3], unit_price=333)
    ctx2 = replace(ctx, lines=(*ctx.lines[:3], cheap))
    m4 = replace(m, apply_to_quantity=4)
    assert amounts(apply_promotions(ctx2, [promo("promo_bg", m4, type="buyget")])) == {
        "b2": 999,
        "c1": 333,
    }
    # fixed per unit
    fixed = replace(m, type="fixed", percentage=None, amount=100, currency_code="usd")
    assert amounts(apply_promotions(ctx, [promo("promo_bg", fixed, type="buyget")])) == {"b2": 200}
    # not enough bought
    more = replace(m, buy_rules_min_quantity=3)
    assert rejection(ctx, promo("promo_bg", more, type="buyget")) == (
        "promotion_rules_not_met",
        "the cart does not meet its conditions (items.product.id)",
    )


def test_stacking_order() -> None:
    def p(
        id: str,
        type: Literal["standard", "buyget"] = "standard",
        target: Literal["items", "shipping_methods", "order"] = "order",
        **kw: Any,
    ) -> Promotion:
        allocation: Literal["each", "across"] = "each" if target == "shipping_methods" else "across"
        return promo(id, method(target_type=target, allocation=allocation), type=type, **kw)

    promotions = [
        p("ship_op", target="shipping_methods"),
        p("ship_seller", target="shipping_methods", seller_id="bolt"),
        p("items_op_late", target="items", created_at=NOW),
        p("order_op_b"),
        p("order_op_a"),
        p("order_seller", seller_id="bolt", created_at=NOW),
        p("bg", type="buyget", target="items"),
    ]
    ordered = [x.id for x in sorted(promotions, key=stacking_key)]
    assert ordered == [
        "bg",
        "order_seller",
        "order_op_a",
        "order_op_b",
        "items_op_late",
        "ship_seller",
        "ship_op",
    ]


def test_stacked_promotions_work_on_remaining_amounts() -> None:
    ctx = example_cart()
    half = promo("promo_half", method(value="50"))
    again = promo("promo_again", method(value="50"), created_at=NOW)
    application = apply_promotions(ctx, [again, half])
    assert by_promotion(application, "promo_half") == {"a1": 1999, "b1": 750, "b2": 500, "c1": 347}
    # second 50 % on what is left: 1999, 750, 499, 348 (Σ 3596 -> 1798)
    assert sum(by_promotion(application, "promo_again").values()) == 1798
    for line in ctx.lines:
        assert amounts(application)[line.id] <= line.unit_price * line.quantity

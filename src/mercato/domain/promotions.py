"""Promotions applied to a multi-seller cart: eligibility, stacking and exact amounts.

Pure domain (promotions.md, "Where a discount goes: adjustments"): given a cart snapshot and the
candidate promotions, :func:`apply_promotions` says which apply, in which order, and the adjustment
of each (promotion, line) in integer minor units. ``across`` discounts are rounded once and then
allocated by largest remainder, so the per-seller orders of a split cart add up to the cart's
discount exactly; taxes after discounts are :func:`mercato.domain.totals.discounted_line_totals`.
No I/O: the caller loads the promotions (with their campaign and budget) and persists the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Literal

from mercato.domain.money import allocate, exponent, round_half_even
from mercato.domain.totals import (
    DiscountedTotals,
    LineTotals,
    TaxRate,
    discounted_line_totals,
    to_rate,
)

PromotionType = Literal["standard", "buyget"]

# ----------------------------------------------------------------------------- rule vocabulary

ID_OPERATORS: tuple[str, ...] = ("eq", "ne", "in")
NUMBER_OPERATORS: tuple[str, ...] = ("eq", "gt", "gte", "lt", "lte")

CART_RULE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "customer.id": ID_OPERATORS,
    "customer.groups.id": ID_OPERATORS,
    "region.id": ID_OPERATORS,
    "sales_channel_id": ID_OPERATORS,
    "currency_code": ID_OPERATORS,
    "shipping_address.country_code": ID_OPERATORS,
    "item_total": NUMBER_OPERATORS,
}
"""``rules`` (cart conditions): attribute → the operators it takes."""

ITEM_RULE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "items.product.id": ID_OPERATORS,
    "items.variant.id": ID_OPERATORS,
    "items.seller.id": ID_OPERATORS,
}
"""``target_rules`` of ``items`` / ``order`` promotions and every ``buy_rules``."""

SHIPPING_RULE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "shipping_methods.shipping_option_id": ID_OPERATORS,
    "shipping_methods.seller.id": ID_OPERATORS,
}
"""``target_rules`` of ``shipping_methods`` promotions."""

SELLER_RULE_ATTRIBUTES: frozenset[str] = frozenset(
    {"items.seller.id", "shipping_methods.seller.id"}
)
"""Operator promotions only (a seller-scoped promotion cannot name sellers)."""

NUMERIC_ATTRIBUTES: frozenset[str] = frozenset({"item_total"})

ALIASES: dict[str, str] = {
    "items.product_id": "items.product.id",
    "items.variant_id": "items.variant.id",
    "items.seller_id": "items.seller.id",
    "shipping_methods.seller_id": "shipping_methods.seller.id",
}
"""Accepted spellings → the canonical one that is stored and returned."""


def canonical_attribute(attribute: str) -> str:
    return ALIASES.get(attribute, attribute)


# ----------------------------------------------------------------------------- rejection reasons

NOT_FOUND = "promotion_not_found"
NOT_STARTED = "promotion_not_started"
EXPIRED = "promotion_expired"
BUDGET_EXHAUSTED = "promotion_budget_exhausted"
LIMIT_REACHED = "promotion_limit_reached"
CURRENCY_MISMATCH = "promotion_currency_mismatch"
RULES_NOT_MET = "promotion_rules_not_met"
NO_ELIGIBLE_ITEMS = "promotion_no_eligible_items"

# ----------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Rule:
    attribute: str  # canonical spelling, e.g. "items.product.id", "item_total"
    operator: str  # eq, ne, in, gt, gte, lt, lte
    values: tuple[str, ...]  # as stored (numbers as decimal strings, major units for item_total)


@dataclass(frozen=True, slots=True)
class Budget:
    id: str
    type: Literal["spend", "usage"]
    limit: int | None  # usage: number of carts; spend: minor units of currency_code
    used: int  # same unit as limit
    currency_code: str | None


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    starts_at: datetime | None
    ends_at: datetime | None
    budget: Budget | None


@dataclass(frozen=True, slots=True)
class ApplicationMethod:
    type: Literal["fixed", "percentage"]
    target_type: Literal["items", "shipping_methods", "order"]
    allocation: Literal["each", "across"]
    percentage: Decimal | None  # for percentage (e.g. Decimal("10"))
    amount: int | None  # for fixed: minor units of currency_code
    currency_code: str | None
    max_quantity: int | None
    apply_to_quantity: int | None
    buy_rules_min_quantity: int | None
    target_rules: tuple[Rule, ...] = ()
    buy_rules: tuple[Rule, ...] = ()


@dataclass(frozen=True, slots=True)
class Promotion:
    id: str
    code: str
    type: PromotionType
    status: str  # draft | active | inactive
    is_automatic: bool
    is_tax_inclusive: bool
    seller_id: str | None
    funded_by: Literal["operator", "seller"]
    limit: int | None
    used: int
    created_at: datetime
    method: ApplicationMethod
    rules: tuple[Rule, ...] = ()
    campaign: Campaign | None = None
    deleted: bool = False
    seller_name: str | None = None  # for the "no items of seller <name>" reason text


@dataclass(frozen=True, slots=True)
class CartLine:
    id: str
    seller_id: str
    product_id: str
    variant_id: str
    unit_price: int
    quantity: int
    is_tax_inclusive: bool


@dataclass(frozen=True, slots=True)
class CartShipping:
    id: str
    seller_id: str
    shipping_option_id: str
    amount: int
    is_tax_inclusive: bool


@dataclass(frozen=True, slots=True)
class CartContext:
    id: str
    currency_code: str
    region_id: str
    sales_channel_id: str
    customer_id: str | None
    customer_group_ids: frozenset[str]
    shipping_country_code: str | None
    tax_rate: TaxRate  # the region's
    tax_inclusive: bool  # the region's
    lines: tuple[CartLine, ...]
    shipping_methods: tuple[CartShipping, ...]
    now: datetime


@dataclass(frozen=True, slots=True)
class Adjustment:
    promotion_id: str
    code: str
    item_id: str | None
    shipping_method_id: str | None
    amount: int  # minor units, in the line's price basis
    is_tax_inclusive: bool  # the line's basis
    funded_by: str
    seller_id: str  # the line's seller


@dataclass(frozen=True, slots=True)
class Rejection:
    promotion_id: str
    code: str
    reason: str  # one of the reason codes above
    detail: str  # the reason text of promotions.md's table


@dataclass(frozen=True, slots=True)
class Application:
    adjustments: tuple[Adjustment, ...]  # promotions in stacking order, then line / method id
    applied: tuple[Promotion, ...]  # promotions with >= 1 adjustment, stacking order
    rejected: tuple[Rejection, ...]  # given promotions that are not applicable (input order)


# ----------------------------------------------------------------------------- stacking


def stacking_key(p: Promotion) -> tuple[int, int, datetime, str]:
    """``buyget`` first, then ``items``/``order``, then ``shipping_methods``; within each,
    seller-funded before operator-funded (a seller's own reduction acts like a price change),
    then ``created_at``, then ``id``."""
    if p.type == "buyget":
        group = 0
    elif p.method.target_type == "shipping_methods":
        group = 2
    else:
        group = 1
    return (group, 0 if p.funded_by == "seller" else 1, p.created_at, p.id)


# ----------------------------------------------------------------------------- rules


def _number(value: str) -> Decimal | None:
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _compare(operator: str, left: Decimal, right: Decimal) -> bool:
    match operator:
        case "eq":
            return left == right
        case "gt":
            return left > right
        case "gte":
            return left >= right
        case "lt":
            return left < right
        case "lte":
            return left <= right
    return False


def _match_ids(rule: Rule, actual: Sequence[str], fold: bool = False) -> bool:
    """``eq``/``in``: any element is one of the values; ``ne``: none is."""
    values = {v.lower() for v in rule.values} if fold else set(rule.values)
    present = any((a.lower() if fold else a) in values for a in actual)
    match rule.operator:
        case "eq" | "in":
            return present
        case "ne":
            return not present
    return False


def _match_number(rule: Rule, actual: Decimal) -> bool:
    """Context value *op* rule value, as exact decimals (``in`` = equal to any value)."""
    numbers = [_number(v) for v in rule.values]
    if rule.operator == "in":
        return any(n is not None and n == actual for n in numbers)
    if rule.operator == "ne":
        return all(n is not None and n != actual for n in numbers)
    return bool(numbers) and all(
        n is not None and _compare(rule.operator, actual, n) for n in numbers
    )


def _scope_lines(ctx: CartContext, p: Promotion) -> list[CartLine]:
    lines = [line for line in ctx.lines if p.seller_id is None or line.seller_id == p.seller_id]
    return sorted(lines, key=lambda line: line.id)


def _scope_methods(ctx: CartContext, p: Promotion) -> list[CartShipping]:
    methods = [m for m in ctx.shipping_methods if p.seller_id is None or m.seller_id == p.seller_id]
    return sorted(methods, key=lambda m: m.id)


def _item_total(ctx: CartContext, p: Promotion) -> Decimal:
    """Σ ``unit_price × quantity`` of the scope's lines before discounts, in major units."""
    minor = sum(line.unit_price * line.quantity for line in _scope_lines(ctx, p))
    return Decimal(minor).scaleb(-exponent(ctx.currency_code))


def cart_rule_matches(rule: Rule, ctx: CartContext, p: Promotion) -> bool:
    """Whether one ``rules`` entry holds for the cart (seller-scoped: ``item_total`` of the
    seller's lines). Guest carts have no customer, so ``customer.*`` ``eq``/``in`` never match."""
    attribute = canonical_attribute(rule.attribute)
    match attribute:
        case "item_total":
            return _match_number(rule, _item_total(ctx, p))
        case "customer.id":
            return _match_ids(rule, [ctx.customer_id] if ctx.customer_id else [])
        case "customer.groups.id":
            groups = sorted(ctx.customer_group_ids) if ctx.customer_id else []
            return _match_ids(rule, groups)
        case "region.id":
            return _match_ids(rule, [ctx.region_id])
        case "sales_channel_id":
            return _match_ids(rule, [ctx.sales_channel_id])
        case "currency_code":
            return _match_ids(rule, [ctx.currency_code], fold=True)
        case "shipping_address.country_code":
            country = ctx.shipping_country_code
            return _match_ids(rule, [country] if country else [], fold=True)
    return False


def line_rule_matches(rule: Rule, line: CartLine) -> bool:
    """Whether one ``target_rules`` / ``buy_rules`` entry holds for an item line."""
    match canonical_attribute(rule.attribute):
        case "items.product.id":
            return _match_ids(rule, [line.product_id])
        case "items.variant.id":
            return _match_ids(rule, [line.variant_id])
        case "items.seller.id":
            return _match_ids(rule, [line.seller_id])
    return False


def shipping_rule_matches(rule: Rule, method: CartShipping) -> bool:
    """Whether one ``target_rules`` entry holds for a shipping method."""
    match canonical_attribute(rule.attribute):
        case "shipping_methods.shipping_option_id":
            return _match_ids(rule, [method.shipping_option_id])
        case "shipping_methods.seller.id":
            return _match_ids(rule, [method.seller_id])
    return False


# ----------------------------------------------------------------------------- eligibility


def _iso(moment: datetime) -> str:
    """``2026-06-01T00:00:00.000Z``, the API's timestamp spelling."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _spend_budget(p: Promotion) -> Budget | None:
    budget = p.campaign.budget if p.campaign else None
    return budget if budget is not None and budget.type == "spend" else None


def _static_rejection(
    p: Promotion, ctx: CartContext, usage_campaigns: set[str]
) -> tuple[str, str] | None:
    """The first reason (promotions.md's table order) that does not depend on amounts."""
    if p.deleted or p.status != "active":
        return NOT_FOUND, "the promotion is no longer active"
    campaign = p.campaign
    if campaign is not None:
        if campaign.starts_at is not None and ctx.now < campaign.starts_at:
            return NOT_STARTED, f"the campaign starts at {_iso(campaign.starts_at)}"
        if campaign.ends_at is not None and ctx.now >= campaign.ends_at:
            return EXPIRED, f"the campaign ended at {_iso(campaign.ends_at)}"
        budget = campaign.budget
        if budget is not None and budget.limit is not None:
            # usage: +1 per cart per campaign, already counted if another promotion of it applied
            usage_full = (
                budget.type == "usage"
                and campaign.id not in usage_campaigns
                and budget.used + 1 > budget.limit
            )
            spend_full = budget.type == "spend" and budget.used >= budget.limit
            if usage_full or spend_full:
                return BUDGET_EXHAUSTED, "the campaign budget is exhausted"
    if p.limit is not None and p.used + 1 > p.limit:
        return LIMIT_REACHED, "the promotion's usage limit is reached"
    cart_currency = ctx.currency_code.lower()
    spend = _spend_budget(p)
    for currency in (p.method.currency_code, spend.currency_code if spend else None):
        if currency is not None and currency.lower() != cart_currency:
            return CURRENCY_MISMATCH, f"it applies to {currency.lower()} carts only"
    for rule in p.rules:
        if not cart_rule_matches(rule, ctx, p):
            return RULES_NOT_MET, (
                f"the cart does not meet its conditions ({canonical_attribute(rule.attribute)})"
            )
    if p.type == "buyget":
        wanted = p.method.buy_rules_min_quantity or 0
        bought = sum(
            line.quantity
            for line in _scope_lines(ctx, p)
            if all(line_rule_matches(rule, line) for rule in p.method.buy_rules)
        )
        if bought < wanted:
            named = (
                canonical_attribute(p.method.buy_rules[0].attribute)
                if p.method.buy_rules
                else "buy_rules_min_quantity"
            )
            return RULES_NOT_MET, f"the cart does not meet its conditions ({named})"
    return None


def _no_items_detail(p: Promotion) -> str:
    if p.seller_id is not None:
        return f"no items of seller {p.seller_name or p.seller_id}"
    return "no eligible items"


# ----------------------------------------------------------------------------- amounts


def _fixed_value(p: Promotion, ctx: CartContext) -> int:
    """The fixed value in the region's price basis, converted half-even at the region rate."""
    value = p.method.amount or 0
    if p.is_tax_inclusive == ctx.tax_inclusive:
        return value
    rate = to_rate(ctx.tax_rate)
    if p.is_tax_inclusive:  # inclusive value, exclusive prices
        return round_half_even(Fraction(value) * 100 / (100 + rate))
    return round_half_even(Fraction(value) * (100 + rate) / 100)


def _percent(p: Promotion) -> Fraction:
    return Fraction(p.method.percentage or 0) / 100


def _each(
    p: Promotion, ctx: CartContext, targets: list[tuple[str, int, int]]
) -> list[tuple[str, int]]:
    """``each``: per target ``(id, remaining, quantity)``, capped by ``max_quantity`` units."""
    result = []
    for target_id, remaining, quantity in targets:
        units = quantity if p.method.max_quantity is None else min(quantity, p.method.max_quantity)
        if p.method.type == "percentage":
            amount = round_half_even(_percent(p) * remaining * units / quantity)
        else:
            amount = _fixed_value(p, ctx) * units
        result.append((target_id, min(amount, remaining)))
    return result


def _across(
    p: Promotion, ctx: CartContext, targets: list[tuple[str, int, int]]
) -> list[tuple[str, int]]:
    """``across``/``order``: the total rounded once, then allocated by remaining amounts."""
    remaining = [r for _, r, _ in targets]
    if p.method.type == "percentage":
        total = round_half_even(_percent(p) * sum(remaining))
    else:
        total = _fixed_value(p, ctx)
    total = min(total, sum(remaining))
    parts = allocate(total, remaining)
    return [(target_id, part) for (target_id, _, _), part in zip(targets, parts, strict=True)]


def _buyget(
    p: Promotion, ctx: CartContext, targets: list[tuple[str, int, int]]
) -> list[tuple[str, int]]:
    """The ``apply_to_quantity`` cheapest target units (by remaining unit price, ties by line
    id) get the value per unit, once per cart, capped by each line's remaining amount."""
    left = p.method.apply_to_quantity or 0
    chosen: dict[str, int] = {}
    for target_id, _, quantity in sorted(targets, key=lambda t: (Fraction(t[1], t[2]), t[0])):
        if left <= 0:
            break
        units = min(quantity, left)
        chosen[target_id] = units
        left -= units
    result = []
    for target_id, remaining, quantity in targets:
        units = chosen.get(target_id, 0)
        if not units:
            continue
        if p.method.type == "percentage":
            amount = round_half_even(_percent(p) * remaining * units / quantity)
        else:
            amount = _fixed_value(p, ctx) * units
        result.append((target_id, min(amount, remaining)))
    return result


def _compute(
    p: Promotion, ctx: CartContext, remaining_items: dict[str, int], remaining_ship: dict[str, int]
) -> list[Adjustment]:
    """The promotion's adjustments on the current remaining amounts (empty: nothing eligible)."""
    method = p.method
    amounts: list[tuple[str, int]]
    if method.target_type == "shipping_methods" and p.type != "buyget":
        methods = {
            m.id: m
            for m in _scope_methods(ctx, p)
            if remaining_ship[m.id] > 0
            and all(shipping_rule_matches(rule, m) for rule in method.target_rules)
        }
        targets = [(m.id, remaining_ship[m.id], 1) for m in methods.values()]
        if not targets:
            return []
        if method.allocation == "each":
            amounts = _each(p, ctx, targets)
        else:
            amounts = _across(p, ctx, targets)
        return [
            Adjustment(
                promotion_id=p.id,
                code=p.code,
                item_id=None,
                shipping_method_id=method_id,
                amount=amount,
                is_tax_inclusive=methods[method_id].is_tax_inclusive,
                funded_by=p.funded_by,
                seller_id=methods[method_id].seller_id,
            )
            for method_id, amount in amounts
            if amount > 0
        ]
    lines = {
        line.id: line
        for line in _scope_lines(ctx, p)
        if remaining_items[line.id] > 0
        and all(line_rule_matches(rule, line) for rule in method.target_rules)
    }
    item_targets = [(line.id, remaining_items[line.id], line.quantity) for line in lines.values()]
    if not item_targets:
        return []
    if p.type == "buyget":
        amounts = _buyget(p, ctx, item_targets)
    elif method.target_type == "items" and method.allocation == "each":
        amounts = _each(p, ctx, item_targets)
    else:
        amounts = _across(p, ctx, item_targets)
    return [
        Adjustment(
            promotion_id=p.id,
            code=p.code,
            item_id=line_id,
            shipping_method_id=None,
            amount=amount,
            is_tax_inclusive=lines[line_id].is_tax_inclusive,
            funded_by=p.funded_by,
            seller_id=lines[line_id].seller_id,
        )
        for line_id, amount in amounts
        if amount > 0
    ]


# ----------------------------------------------------------------------------- application


def apply_promotions(ctx: CartContext, promotions: Sequence[Promotion]) -> Application:
    """Apply the candidate promotions (entered codes and automatic ones) to the cart.

    Promotions apply in :func:`stacking_key` order, each on the lines' remaining amounts (what
    earlier promotions left). A promotion that is not applicable — including one whose whole
    discount does not fit its spend budget (never a partial discount) — is rejected with the
    spec's reason code and text and changes nothing.
    """
    remaining_items = {line.id: line.unit_price * line.quantity for line in ctx.lines}
    remaining_ship = {m.id: m.amount for m in ctx.shipping_methods}
    spent: dict[str, int] = {}  # campaign id -> this cart's adjustments so far
    usage_campaigns: set[str] = set()
    rejections: dict[int, Rejection] = {}
    adjustments: list[Adjustment] = []
    applied: list[Promotion] = []

    def reject(index: int, p: Promotion, reason: str, detail: str) -> None:
        rejections[index] = Rejection(promotion_id=p.id, code=p.code, reason=reason, detail=detail)

    order = sorted(range(len(promotions)), key=lambda i: stacking_key(promotions[i]))
    for index in order:
        p = promotions[index]
        static = _static_rejection(p, ctx, usage_campaigns)
        if static is not None:
            reject(index, p, *static)
            continue
        found = _compute(p, ctx, remaining_items, remaining_ship)
        if not found:
            reject(index, p, NO_ELIGIBLE_ITEMS, _no_items_detail(p))
            continue
        spend = _spend_budget(p)
        campaign = p.campaign
        total = sum(a.amount for a in found)
        if (
            campaign is not None
            and spend is not None
            and spend.limit is not None
            and spend.used + spent.get(campaign.id, 0) + total > spend.limit
        ):
            reject(index, p, BUDGET_EXHAUSTED, "the campaign budget is exhausted")
            continue
        if campaign is not None:
            spent[campaign.id] = spent.get(campaign.id, 0) + total
            usage_campaigns.add(campaign.id)
        for adjustment in found:
            if adjustment.item_id is not None:
                remaining_items[adjustment.item_id] -= adjustment.amount
            elif adjustment.shipping_method_id is not None:
                remaining_ship[adjustment.shipping_method_id] -= adjustment.amount
        adjustments.extend(found)
        applied.append(p)
    return Application(
        adjustments=tuple(adjustments),
        applied=tuple(applied),
        rejected=tuple(rejections[i] for i in sorted(rejections)),
    )


def discount_usage(application: Application) -> dict[str, int]:
    """``campaign_id → Σ adjustment amounts`` of the cart (what a spend budget consumes)."""
    campaign_of = {p.id: p.campaign.id for p in application.applied if p.campaign is not None}
    usage: dict[str, int] = {}
    for adjustment in application.adjustments:
        campaign_id = campaign_of.get(adjustment.promotion_id)
        if campaign_id is not None:
            usage[campaign_id] = usage.get(campaign_id, 0) + adjustment.amount
    return usage


def adjustments_of(application: Application, target_id: str) -> list[Adjustment]:
    """The adjustments of one line or shipping method, in stacking order."""
    return [
        a
        for a in application.adjustments
        if a.item_id == target_id or a.shipping_method_id == target_id
    ]


def discounted_totals(ctx: CartContext, application: Application) -> dict[str, DiscountedTotals]:
    """``line or shipping method id → its totals after discounts``, the adjustments' own totals
    in :func:`adjustments_of` order (what a cart read and the split copy)."""
    result: dict[str, DiscountedTotals] = {}
    for line in ctx.lines:
        result[line.id] = discounted_line_totals(
            line.unit_price * line.quantity,
            [a.amount for a in adjustments_of(application, line.id)],
            ctx.tax_rate,
            line.is_tax_inclusive,
        )
    for method in ctx.shipping_methods:
        result[method.id] = discounted_line_totals(
            method.amount,
            [a.amount for a in adjustments_of(application, method.id)],
            ctx.tax_rate,
            method.is_tax_inclusive,
        )
    return result


def funding_totals(
    ctx: CartContext, application: Application, seller_id: str | None = None
) -> dict[str, LineTotals]:
    """``funded_by → Σ adjustment subtotal / tax_total / total`` over the cart (or one seller's
    lines and shipping): the ``operator_discount_*`` / ``seller_discount_*`` figures, whose
    ``total``s sum to the document's ``discount_total``."""
    totals = discounted_totals(ctx, application)
    sums: dict[str, tuple[int, int, int]] = {"operator": (0, 0, 0), "seller": (0, 0, 0)}
    targets = [(line.id, line.seller_id) for line in ctx.lines]
    targets += [(method.id, method.seller_id) for method in ctx.shipping_methods]
    for target_id, target_seller in targets:
        if seller_id is not None and target_seller != seller_id:
            continue
        parts = totals[target_id].adjustments
        for adjustment, part in zip(adjustments_of(application, target_id), parts, strict=True):
            subtotal, tax, total = sums.get(adjustment.funded_by, (0, 0, 0))
            sums[adjustment.funded_by] = (
                subtotal + part.subtotal,
                tax + part.tax_total,
                total + part.total,
            )
    return {funder: LineTotals(*values) for funder, values in sums.items()}

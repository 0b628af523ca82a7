"""What shoppers see of carts (checkout.md, "Cart object"), and the store's shipping options.

Amounts are stored in minor units and rendered in the cart currency's major unit. Line, shipping
method and cart totals are :class:`Computed` fields: one batch of queries per rendered page.

Default cart selection (``GET /store/carts/:id`` and every cart-returning route)::

    id, region_id, currency_code, sales_channel_id, customer_id, email, shipping_address,
    billing_address, completed_at, metadata, item_total, item_subtotal, item_tax_total,
    shipping_total, shipping_subtotal, shipping_tax_total, subtotal, tax_total, discount_total,
    discount_subtotal, discount_tax_total, original_total, original_tax_total,
    original_item_total, original_shipping_total, total, promotions, created_at, updated_at,
    items.*            (id, variant_id, product_id, seller_id, title, subtitle, thumbnail,
                        product_title, product_handle, variant_title, variant_sku, quantity,
                        unit_price, requires_shipping, is_tax_inclusive, subtotal, tax_total,
                        total, <discount fields>, metadata)
    items.adjustments.*, shipping_methods.adjustments.*
                       (id, item_id | shipping_method_id, promotion_id, code, description,
                        amount, subtotal, tax_total, total, is_tax_inclusive)
    shipping_methods.* (id, shipping_option_id, seller_id, name, amount, subtotal, tax_total,
                        total, <discount fields>)
    payment_collection.* with payment_collection.payment_sessions.*  (null without a collection)

``<discount fields>``: discount_subtotal, discount_tax_total, discount_total, original_tax_total,
original_total (promotions.md, Tax after discounts). The store never sees who funds a discount.
Also selectable: lines' ``cart_id``, ``created_at``, ``updated_at``; methods'
``is_tax_inclusive``, ``data``, ``created_at``, ``updated_at``; the ``region`` relation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.carts.models import (
    Cart,
    CartLineItem,
    CartLineItemAdjustment,
    CartShippingMethod,
    CartShippingMethodAdjustment,
)
from mercato.carts.service import (
    adjustment_amounts,
    line_discounts,
    method_discounts,
    totals_by_cart,
)
from mercato.domain.money import to_major
from mercato.domain.totals import LineTotals, discounted_line_totals
from mercato.errors import invalid, not_found
from mercato.payments.models import PaymentCollection
from mercato.payments.resources import PAYMENT_COLLECTION
from mercato.promotions.models import Promotion, PromotionApplicationMethod
from mercato.promotions.store import store_promotion
from mercato.query.fields import (
    Computed,
    FieldRules,
    Relation,
    RenderContext,
    Resource,
    Tree,
    render,
)
from mercato.query.fields import select as select_fields
from mercato.query.loaders import belongs_to, has_many
from mercato.query.values import attr, timestamp
from mercato.regions.models import Region
from mercato.regions.resources import REGION
from mercato.shipping_options.resources import SHIPPING_OPTION

TOTALS = (
    "item_total",
    "item_subtotal",
    "item_tax_total",
    "shipping_total",
    "shipping_subtotal",
    "shipping_tax_total",
    "subtotal",
    "tax_total",
    "discount_total",
    "discount_subtotal",
    "discount_tax_total",
    "original_total",
    "original_tax_total",
    "original_item_total",
    "original_shipping_total",
    "total",
)


async def _pricing(ctx: RenderContext, cart_ids: set[str]) -> dict[str, tuple[str, Any]]:
    """``cart_id → (currency_code, tax_rate)`` in one query per render pass."""
    return await ctx.shared(("pricing", frozenset(cart_ids)), lambda: _read_pricing(ctx, cart_ids))


async def _adjustments(ctx: RenderContext, cart_ids: set[str]) -> dict[str, list[int]]:
    """The carts' adjustment amounts by line / method id, read once per render pass."""
    return await ctx.shared(
        ("adjustments", frozenset(cart_ids)), lambda: adjustment_amounts(ctx.session, cart_ids)
    )


async def _read_pricing(ctx: RenderContext, cart_ids: set[str]) -> dict[str, tuple[str, Any]]:
    rows = await ctx.session.execute(
        select(Cart.id, Cart.currency_code, Region.tax_rate)
        .join(Region, Region.id == Cart.region_id)
        .where(Cart.id.in_(cart_ids))
    )
    return {cart_id: (currency, rate) for cart_id, currency, rate in rows}


DISCOUNTS = ("discount_subtotal", "discount_tax_total", "discount_total")
LINE_AMOUNTS = (
    "subtotal",
    "tax_total",
    "total",
    *DISCOUNTS,
    "original_tax_total",
    "original_total",
)


def _amounts(totals: LineTotals, currency: str) -> dict[str, Any]:
    return {
        "subtotal": to_major(totals.subtotal, currency),
        "tax_total": to_major(totals.tax_total, currency),
        "total": to_major(totals.total, currency),
        "discount_subtotal": to_major(totals.discount_subtotal, currency),
        "discount_tax_total": to_major(totals.discount_tax_total, currency),
        "discount_total": to_major(totals.discount_total, currency),
        "original_tax_total": to_major(totals.original_tax_total, currency),
        "original_total": to_major(totals.original_total, currency),
    }


async def _line_amounts(ctx: RenderContext, lines: list[Any]) -> list[dict[str, Any]]:
    pricing = await _pricing(ctx, {line.cart_id for line in lines})
    amounts = await _adjustments(ctx, {line.cart_id for line in lines})
    result = []
    for line in lines:
        currency, rate = pricing[line.cart_id]
        totals = line_discounts(line, rate, amounts.get(line.id, ())).line
        result.append(
            {"unit_price": to_major(line.unit_price, currency), **_amounts(totals, currency)}
        )
    return result


async def _method_amounts(ctx: RenderContext, methods: list[Any]) -> list[dict[str, Any]]:
    pricing = await _pricing(ctx, {method.cart_id for method in methods})
    amounts = await _adjustments(ctx, {method.cart_id for method in methods})
    result = []
    for method in methods:
        currency, rate = pricing[method.cart_id]
        totals = method_discounts(method, rate, amounts.get(method.id, ())).line
        result.append({"amount": to_major(method.amount, currency), **_amounts(totals, currency)})
    return result


def _owner(adjustment: Any) -> str:
    return str(getattr(adjustment, "item_id", None) or adjustment.shipping_method_id)


async def _adjustment_split(ctx: RenderContext, adjustments: list[Any]) -> list[dict[str, Any]]:
    """Each adjustment's share of its line's tax (promotions.md: the line's
    ``discount_tax_total`` allocated over its adjustments by amount)."""
    cart_ids = {a.cart_id for a in adjustments}
    pricing = await _pricing(ctx, cart_ids)
    siblings: dict[str, list[Any]] = {}  # a relation renders every adjustment of its owner
    for adjustment in sorted(adjustments, key=lambda a: a.position):
        siblings.setdefault(_owner(adjustment), []).append(adjustment)
    owners = {
        owner_id: (amount, inclusive)
        for owner_id, amount, inclusive in await ctx.session.execute(
            select(
                CartLineItem.id,
                CartLineItem.unit_price * CartLineItem.quantity,
                CartLineItem.is_tax_inclusive,
            )
            .where(CartLineItem.id.in_(siblings))
            .union_all(
                select(
                    CartShippingMethod.id,
                    CartShippingMethod.amount,
                    CartShippingMethod.is_tax_inclusive,
                ).where(CartShippingMethod.id.in_(siblings))
            )
        )
    }
    result = []
    for adjustment in adjustments:
        currency, rate = pricing[adjustment.cart_id]
        key = _owner(adjustment)
        amount, inclusive = owners[key]
        split = discounted_line_totals(
            int(amount), [a.amount for a in siblings[key]], rate, inclusive
        )
        part = split.adjustments[siblings[key].index(adjustment)]
        result.append(
            {
                "amount": to_major(adjustment.amount, currency),
                "subtotal": to_major(part.subtotal, currency),
                "tax_total": to_major(part.tax_total, currency),
                "total": to_major(part.total, currency),
            }
        )
    return result


async def _cart_totals(ctx: RenderContext, carts: list[Any]) -> list[dict[str, Any]]:
    totals = await totals_by_cart(ctx.session, carts)
    return [
        {name: to_major(value, cart.currency_code) for name, value in t.as_dict().items()}
        for cart, t in zip(carts, totals, strict=True)
    ]


async def _cart_promotions(ctx: RenderContext, carts: list[Any]) -> list[dict[str, Any]]:
    """The promotions that gave the cart an adjustment (store view: no rules, budgets or
    funding), in the order they were applied."""
    cart_ids = [cart.id for cart in carts]
    used = (
        select(
            CartLineItemAdjustment.cart_id,
            CartLineItemAdjustment.promotion_id,
            CartLineItemAdjustment.position,
        )
        .where(CartLineItemAdjustment.cart_id.in_(cart_ids))
        .union_all(
            select(
                CartShippingMethodAdjustment.cart_id,
                CartShippingMethodAdjustment.promotion_id,
                CartShippingMethodAdjustment.position,
            ).where(CartShippingMethodAdjustment.cart_id.in_(cart_ids))
        )
        .subquery()
    )
    rows = await ctx.session.execute(
        select(used.c.cart_id, Promotion, PromotionApplicationMethod)
        .join(Promotion, Promotion.id == used.c.promotion_id)
        .join(PromotionApplicationMethod, PromotionApplicationMethod.promotion_id == Promotion.id)
        .order_by(used.c.cart_id, used.c.position)
    )
    found: dict[str, dict[str, dict[str, Any]]] = {cart_id: {} for cart_id in cart_ids}
    for cart_id, promotion, method in rows:
        found[cart_id].setdefault(promotion.id, store_promotion(promotion, method))
    return [{"promotions": list(found[cart.id].values())} for cart in carts]


def _adjustment(owner: str) -> dict[str, Any]:
    return {
        "id": attr("id"),
        owner: attr(owner),
        "promotion_id": attr("promotion_id"),
        "code": attr("code"),
        "description": attr("description"),
        **{
            name: Computed(_adjustment_split, name)
            for name in ("amount", "subtotal", "tax_total", "total")
        },
        "is_tax_inclusive": attr("is_tax_inclusive"),
        "created_at": timestamp("created_at"),
    }


_ADJUSTMENT_DEFAULTS = (
    "id",
    "promotion_id",
    "code",
    "description",
    "amount",
    "subtotal",
    "tax_total",
    "total",
    "is_tax_inclusive",
)
LINE_ITEM_ADJUSTMENT = Resource(
    name="line_item_adjustment",
    fields=_adjustment("item_id"),
    defaults=("item_id", *_ADJUSTMENT_DEFAULTS),
)
SHIPPING_METHOD_ADJUSTMENT = Resource(
    name="shipping_method_adjustment",
    fields=_adjustment("shipping_method_id"),
    defaults=("shipping_method_id", *_ADJUSTMENT_DEFAULTS),
)

LINE_ITEM = Resource(
    name="line_item",
    fields={
        "id": attr("id"),
        "cart_id": attr("cart_id"),
        "variant_id": attr("variant_id"),
        "product_id": attr("product_id"),
        "seller_id": attr("seller_id"),
        "title": attr("title"),
        "subtitle": attr("subtitle"),
        "thumbnail": attr("thumbnail"),
        "product_title": attr("product_title"),
        "product_handle": attr("product_handle"),
        "variant_title": attr("variant_title"),
        "variant_sku": attr("variant_sku"),
        "quantity": attr("quantity"),
        "unit_price": Computed(_line_amounts, "unit_price"),
        "requires_shipping": attr("requires_shipping"),
        "is_tax_inclusive": attr("is_tax_inclusive"),
        **{name: Computed(_line_amounts, name) for name in LINE_AMOUNTS},
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "adjustments": Relation(
            lambda: LINE_ITEM_ADJUSTMENT,
            has_many(
                CartLineItemAdjustment, "item_id", order_by=(CartLineItemAdjustment.position,)
            ),
            many=True,
        )
    },
    defaults=(
        "id",
        "variant_id",
        "product_id",
        "seller_id",
        "title",
        "subtitle",
        "thumbnail",
        "product_title",
        "product_handle",
        "variant_title",
        "variant_sku",
        "quantity",
        "unit_price",
        "requires_shipping",
        "is_tax_inclusive",
        "subtotal",
        "tax_total",
        "total",
        *DISCOUNTS,
        "original_tax_total",
        "original_total",
        "metadata",
    ),
)

SHIPPING_METHOD = Resource(
    name="shipping_method",
    fields={
        "id": attr("id"),
        "cart_id": attr("cart_id"),
        "shipping_option_id": attr("shipping_option_id"),
        "seller_id": attr("seller_id"),
        "name": attr("name"),
        "amount": Computed(_method_amounts, "amount"),
        "is_tax_inclusive": attr("is_tax_inclusive"),
        **{name: Computed(_method_amounts, name) for name in LINE_AMOUNTS},
        "data": attr("data"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "adjustments": Relation(
            lambda: SHIPPING_METHOD_ADJUSTMENT,
            has_many(
                CartShippingMethodAdjustment,
                "shipping_method_id",
                order_by=(CartShippingMethodAdjustment.position,),
            ),
            many=True,
        )
    },
    defaults=(
        "id",
        "shipping_option_id",
        "seller_id",
        "name",
        "amount",
        "subtotal",
        "tax_total",
        "total",
        *DISCOUNTS,
        "original_tax_total",
        "original_total",
    ),
)

CART = Resource(
    name="cart",
    fields={
        "id": attr("id"),
        "region_id": attr("region_id"),
        "currency_code": attr("currency_code"),
        "sales_channel_id": attr("sales_channel_id"),
        "customer_id": attr("customer_id"),
        "email": attr("email"),
        "shipping_address": attr("shipping_address"),
        "billing_address": attr("billing_address"),
        "completed_at": timestamp("completed_at"),
        "metadata": attr("metadata_"),
        **{name: Computed(_cart_totals, name) for name in TOTALS},
        "promotions": Computed(_cart_promotions, "promotions"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "items": Relation(
            lambda: LINE_ITEM,
            has_many(CartLineItem, "cart_id", order_by=(CartLineItem.created_at, CartLineItem.id)),
            many=True,
        ),
        "shipping_methods": Relation(
            lambda: SHIPPING_METHOD,
            has_many(
                CartShippingMethod,
                "cart_id",
                order_by=(CartShippingMethod.created_at, CartShippingMethod.id),
            ),
            many=True,
        ),
        # The collection points at the cart: match ``payment_collection.cart_id`` to ``cart.id``.
        "payment_collection": Relation(
            lambda: PAYMENT_COLLECTION,
            belongs_to(PaymentCollection, "id", key="cart_id"),
            many=False,
        ),
        "region": Relation(lambda: REGION, belongs_to(Region, "region_id"), many=False),
    },
    defaults=(
        "id",
        "region_id",
        "currency_code",
        "sales_channel_id",
        "customer_id",
        "email",
        "shipping_address",
        "billing_address",
        "completed_at",
        "metadata",
        *TOTALS,
        "promotions",
        "created_at",
        "updated_at",
    ),
)

CART_FIELDS = FieldRules(
    defaults=(
        *CART.defaults,
        "items.*",
        "items.adjustments.*",
        "shipping_methods.*",
        "shipping_methods.adjustments.*",
        "payment_collection.*",
    )
)

STORE_SHIPPING_OPTION_FIELDS = FieldRules(
    defaults=(
        "id",
        "name",
        "amount",
        "currency_code",
        "seller_id",
        "region_id",
        "seller.id",
        "seller.name",
        "seller.handle",
    ),
    allowed=(
        "id",
        "name",
        "amount",
        "currency_code",
        "price_type",
        "seller_id",
        "region_id",
        "seller.id",
        "seller.name",
        "seller.handle",
        "seller.logo",
    ),
)


def fields_tree(
    resource: Resource,
    rules: FieldRules,
    params: Mapping[str, Any],
    *,
    accepted: frozenset[str] = frozenset({"fields"}),
) -> Tree:
    """Validate a route's query string (only ``accepted`` keys) and its ``fields`` selection —
    before the use case runs, so a bad query never follows a committed mutation."""
    unknown = [k for k in params if k not in accepted]
    if unknown:
        raise invalid(
            f"Invalid request: Unrecognized fields: {', '.join(repr(k) for k in unknown)}"
        )
    fields_param = params.get("fields")
    if fields_param is not None and not isinstance(fields_param, str):
        raise invalid("fields must be a comma-separated string")
    return select_fields(resource, rules, fields_param)


def cart_tree(params: Mapping[str, Any]) -> Tree:
    return fields_tree(CART, CART_FIELDS, params)


async def render_cart(
    session: AsyncSession, cart: Cart | str, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The cart object as the store sees it, with the route's ``fields`` (``params`` is the
    parsed query; only ``fields`` is accepted). ``cart`` may be a loaded row or an id."""
    tree = cart_tree(params or {})
    if isinstance(cart, str):
        row = await session.get(Cart, cart, populate_existing=True)
        if row is None:
            raise not_found("Cart", cart)
        cart = row
    return (await render(RenderContext(session), CART, [cart], tree))[0]


async def render_shipping_options(
    session: AsyncSession, options: list[Any], tree: Tree
) -> list[dict[str, Any]]:
    return await render(RenderContext(session), SHIPPING_OPTION, options, tree)

"""What clients see of an order: stored columns, money in major units, the summary computed
from the order's own transactions, and batched relations."""

from __future__ import annotations

from collections import defaultdict
from functools import cache, cached_property
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, cast, func, literal_column, select, union_all

from mercato.carts.resources import DISCOUNTS
from mercato.carts.resources import LINE_ITEM as CART_LINE_ITEM
from mercato.carts.resources import TOTALS as CART_TOTALS
from mercato.customers.models import Customer
from mercato.customers.resources import CUSTOMER
from mercato.domain.money import to_major
from mercato.domain.statuses import FULFILLMENT_STATUSES, ORDER_STATUSES, PAYMENT_STATUSES
from mercato.orders.change_resources import order_change_relations, vendor_owned_fields
from mercato.orders.models import (
    Order,
    OrderLineItem,
    OrderLineItemAdjustment,
    OrderPromotion,
    OrderShippingMethod,
    OrderShippingMethodAdjustment,
)
from mercato.orders.payment_views import ORDER_PAYMENT_COLLECTION, payment_collections
from mercato.products.models import ProductVariant
from mercato.products.resources import VARIANT
from mercato.promotions.models import Promotion
from mercato.query.driver import FixedQuery, keys_param, model_columns
from mercato.query.fields import Computed, Field, FieldRules, Relation, RenderContext, Resource
from mercato.query.loaders import belongs_to, has_many, through
from mercato.query.values import absent, attr, constant, money, money_sum, shape, timestamp
from mercato.regions.models import Region
from mercato.regions.resources import REGION
from mercato.sales_channels.models import SalesChannel
from mercato.sales_channels.resources import SALES_CHANNEL
from mercato.sellers.models import Seller
from mercato.sellers.resources import SELLER

# An order shows the totals its cart showed (promotions.md, Tax after discounts): all stored
# at placement but ``original_total`` and ``original_tax_total``, which the row implies.
TOTAL_FIELDS = CART_TOTALS
_IMPLIED_TOTALS = {
    "original_total": money_sum("total", "discount_total"),
    "original_tax_total": money_sum("tax_total", "discount_tax_total"),
}
# A line's or shipping method's discount figures, as a cart's lines show them.
LINE_DISCOUNT_FIELDS = (*DISCOUNTS, "original_tax_total", "original_total")
_LINE_DISCOUNTS = {
    **{name: money(name) for name in DISCOUNTS},
    **_IMPLIED_TOTALS,
}
FUNDING_FIELDS = (
    "operator_discount_subtotal",
    "operator_discount_total",
    "seller_discount_subtotal",
    "seller_discount_total",
)


@cache
def _facts_query() -> FixedQuery:
    """Per order of a page: its group."""
    from mercato.orders.models import OrderGroupOrder

    return FixedQuery(
        select(OrderGroupOrder.order_id, OrderGroupOrder.order_group_id).where(
            keys_param(OrderGroupOrder.order_id)
        )
    )


# The order columns the facts read: the money comes from the stored summary (order-changes.md
# §3.3), the group from one statement for the page.
_FACT_READS = ("id", "summary", "currency_code")

SUMMARY_FIELDS = (
    "original_order_total",
    "current_order_total",
    "accounting_total",
    "credit_line_total",
    "paid_total",
    "refunded_total",
    "transaction_total",
    "pending_difference",
    "return_requested_total",
    "refund_due",
    "amount_due",
)


async def _order_facts(ctx: RenderContext, orders: list[Any]) -> list[dict[str, Any]]:
    """Each order's group id and its money from the stored summary, shared by every field that
    shows one of them."""
    rows = await _facts_query().rows(
        ctx.session, connection=await ctx.driver(), keys=list({o.id for o in orders})
    )
    groups: dict[str, str] = dict(rows)
    result = []
    for order in orders:
        currency = order.currency_code
        stored = order.summary or {}
        summary = {name: to_major(int(stored.get(name, 0)), currency) for name in SUMMARY_FIELDS}
        result.append(
            {
                "order_group_id": groups.get(order.id),
                "paid_total": summary["paid_total"],
                "refunded_total": summary["refunded_total"],
                "refundable_amount": to_major(
                    int(stored.get("paid_total", 0)) - int(stored.get("refunded_total", 0)),
                    currency,
                ),
                "credit_line_total": summary["credit_line_total"],
                "summary": summary,
                "original_order_total": summary["original_order_total"],
            }
        )
    return result


DETAIL_FIELDS = (
    "fulfilled_quantity",
    "shipped_quantity",
    "delivered_quantity",
    "return_requested_quantity",
    "return_received_quantity",
    "return_dismissed_quantity",
    "written_off_quantity",
    "deducted_quantity",
)


def _detail(line: Any) -> dict[str, int]:
    """A line's ``detail`` (order-changes.md §2.4): how far its units went, both ways."""
    return {name: getattr(line, name) for name in DETAIL_FIELDS}


@cache
def _funding_query() -> FixedQuery:
    """Per order of a page and funder: Σ ``subtotal`` and Σ ``total`` of its line and
    shipping-method adjustments (minor units), in one statement."""
    parts = union_all(
        *(
            select(
                model.order_id.label("order_id"),
                model.funded_by.label("funded_by"),
                model.subtotal.label("subtotal"),
                model.total.label("total"),
            ).where(keys_param(model.order_id))
            for model in (OrderLineItemAdjustment, OrderShippingMethodAdjustment)
        )
    ).subquery("parts")
    return FixedQuery(
        select(
            parts.c.order_id,
            parts.c.funded_by,
            cast(func.sum(parts.c.subtotal), BigInteger).label("subtotal"),
            cast(func.sum(parts.c.total), BigInteger).label("total"),
        ).group_by(parts.c.order_id, parts.c.funded_by)
    )


async def _funding(ctx: RenderContext, orders: list[Any]) -> list[dict[str, Any]]:
    """Who pays for each order's discounts (promotions.md, Tax after discounts): the operator
    owes the seller the operator-funded part, the seller bears its own; the two ``*_total``
    sum to the order's ``discount_total``."""
    rows = await _funding_query().rows(
        ctx.session, connection=await ctx.driver(), keys=list({o.id for o in orders})
    )
    sums: dict[tuple[str, str], tuple[int, int]] = {
        (row.order_id, row.funded_by): (int(row.subtotal), int(row.total)) for row in rows
    }
    result = []
    for order in orders:
        currency = order.currency_code
        values: dict[str, Any] = {}
        for funder in ("operator", "seller"):
            subtotal, total = sums.get((order.id, funder), (0, 0))
            values[f"{funder}_discount_subtotal"] = to_major(subtotal, currency)
            values[f"{funder}_discount_total"] = to_major(total, currency)
        result.append(values)
    return result


class _Adjustments:
    """A line's (or shipping method's) adjustments in stacking order, for a page of owners in
    one statement. Adjustments store no currency: each row carries its owner's, so its money
    renders like any other."""

    reads = ("id",)

    def __init__(
        self,
        model: type[OrderLineItemAdjustment] | type[OrderShippingMethodAdjustment],
        owner: type[OrderLineItem] | type[OrderShippingMethod],
        key: str,
    ) -> None:
        self.model, self.owner, self.key = model, owner, key

    @cached_property
    def query(self) -> FixedQuery:
        model, owner = self.model, self.owner
        foreign_key = getattr(model, self.key)
        return FixedQuery(
            select(*model_columns(model), owner.currency_code.label("currency_code"))
            .join(owner, owner.id == foreign_key)
            .where(keys_param(foreign_key))
            .order_by(foreign_key, model.position, model.id)
        )

    async def __call__(self, ctx: RenderContext, rows: list[Any]) -> list[list[Any]]:
        found: dict[str, list[Any]] = defaultdict(list)
        key = self.key
        for row in await self.query.rows(
            ctx.session, connection=await ctx.driver(), keys=list({r.id for r in rows})
        ):
            found[getattr(row, key)].append(row)
        return [found.get(r.id, []) for r in rows]


def _adjustment_fields(owner: str) -> dict[str, Any]:
    return {
        "id": attr("id"),
        owner: attr(owner),
        "order_id": attr("order_id"),
        "promotion_id": attr("promotion_id"),
        "code": attr("code"),
        "description": attr("description"),
        "amount": money("amount"),
        "subtotal": money("subtotal"),
        "tax_total": money("tax_total"),
        "total": money("total"),
        "is_tax_inclusive": attr("is_tax_inclusive"),
        "funded_by": attr("funded_by"),
        "seller_id": attr("seller_id"),
        "created_at": timestamp("created_at"),
    }


# The store's shape of an adjustment (the cart's); admin and vendor reads add who funds it.
ADJUSTMENT_PUBLIC_FIELDS = (
    "promotion_id",
    "code",
    "description",
    "amount",
    "subtotal",
    "tax_total",
    "total",
    "is_tax_inclusive",
)
ADJUSTMENT_FUNDING_FIELDS = ("funded_by", "seller_id")
LINE_ITEM_ADJUSTMENT = Resource(
    name="line_item_adjustment",
    fields=_adjustment_fields("item_id"),
    defaults=("id", "item_id", *ADJUSTMENT_PUBLIC_FIELDS, *ADJUSTMENT_FUNDING_FIELDS),
)
SHIPPING_METHOD_ADJUSTMENT = Resource(
    name="shipping_method_adjustment",
    fields=_adjustment_fields("shipping_method_id"),
    defaults=("id", "shipping_method_id", *ADJUSTMENT_PUBLIC_FIELDS, *ADJUSTMENT_FUNDING_FIELDS),
)

# Seed 004's order ↔ promotion links: what produced the order's adjustments.
ORDER_PROMOTION = Resource(
    name="promotion",
    fields={
        "id": attr("id"),
        "code": attr("code"),
        "is_automatic": attr("is_automatic"),
        "funded_by": attr("funded_by"),
    },
    defaults=("id", "code", "is_automatic", "funded_by"),
)

_NUMBER = {"type": "number"}


def _line_refundable(line: Any) -> Any:
    """The line's ``total`` less the value its deducted units took (order-changes.md §3.1)."""
    return to_major(line.total - line.deducted_amount, line.currency_code)


# Variants have a title, no options (admin-dashboard.md §5.1); the catalogue's variant already
# answers the inventory relations Mercato lacks (no kits: a variant is its own inventory item).
_VARIANT_OPTION_VALUE = shape("product_option_value", "id", "value", "option_id")
# An order line's variant: the catalogue's, with its (empty) options.
ORDER_VARIANT = Resource(
    name="variant",
    fields=VARIANT.fields,
    relations={**VARIANT.relations, "options": absent(_VARIANT_OPTION_VALUE, many=True)},
    defaults=VARIANT.defaults,
)


LINE_ITEM = Resource(
    name="line_item",
    fields={
        "id": attr("id"),
        "order_id": attr("order_id"),
        "variant_id": attr("variant_id"),
        "product_id": attr("product_id"),
        "title": attr("title"),
        "subtitle": attr("subtitle"),
        "thumbnail": attr("thumbnail"),
        "product_title": attr("product_title"),
        "product_handle": attr("product_handle"),
        "variant_title": attr("variant_title"),
        "variant_sku": attr("variant_sku"),
        "quantity": attr("quantity"),
        "unit_price": money("unit_price"),
        "requires_shipping": attr("requires_shipping"),
        "is_tax_inclusive": attr("is_tax_inclusive"),
        "subtotal": money("subtotal"),
        "tax_total": money("tax_total"),
        "total": money("total"),
        **_LINE_DISCOUNTS,
        "fulfilled_quantity": attr("fulfilled_quantity"),
        "shipped_quantity": attr("shipped_quantity"),
        "delivered_quantity": attr("delivered_quantity"),
        "detail": Field(_detail, DETAIL_FIELDS),
        "refundable_total": Field(
            _line_refundable, ("total", "deducted_amount", "currency_code"), schema=_NUMBER
        ),
        "exchange_id": attr("exchange_id"),
        "claim_id": attr("claim_id"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "variant": Relation(
            lambda: ORDER_VARIANT, belongs_to(ProductVariant, "variant_id"), many=False
        ),
        "adjustments": Relation(
            lambda: LINE_ITEM_ADJUSTMENT,
            _Adjustments(OrderLineItemAdjustment, OrderLineItem, "item_id"),
            many=True,
        ),
    },
    # An order line is the snapshot of a cart line: the same default fields, discounts
    # included (its seller is the order's), plus what the admin dashboard reads of ``*items``
    # unguarded (admin-dashboard.md §5.1): ``detail``, ``adjustments``, ``created_at``.
    defaults=(
        *(
            f
            for f in CART_LINE_ITEM.defaults
            if f != "seller_id" and f not in CART_LINE_ITEM.relations
        ),
        "detail",
        "adjustments",
        "created_at",
    ),
)


async def _itself(ctx: RenderContext, rows: list[Any]) -> list[Any]:
    return rows


# ``GET /admin/orders/:id/line-items`` (admin-dashboard.md §5.3): Medusa's order items, each a
# line's quantity in the order and the line (``item``); Mercato's line is both.
ORDER_ITEM = Resource(
    name="order_item",
    fields={
        "item_id": attr("id"),
        "quantity": attr("quantity"),
    },
    relations={"item": Relation(lambda: LINE_ITEM, _itself, many=False)},
    defaults=("item_id", "quantity", "item"),
)
ORDER_ITEM_FIELDS = FieldRules(defaults=ORDER_ITEM.defaults)


SHIPPING_METHOD = Resource(
    name="shipping_method",
    fields={
        "id": attr("id"),
        "order_id": attr("order_id"),
        "shipping_option_id": attr("shipping_option_id"),
        "seller_id": attr("seller_id"),
        "name": attr("name"),
        "amount": money("amount"),
        "is_tax_inclusive": attr("is_tax_inclusive"),
        "subtotal": money("subtotal"),
        "tax_total": money("tax_total"),
        "total": money("total"),
        **_LINE_DISCOUNTS,
        "data": attr("data"),
        "return_id": attr("return_id"),
        "created_at": timestamp("created_at"),
    },
    relations={
        "adjustments": Relation(
            lambda: SHIPPING_METHOD_ADJUSTMENT,
            _Adjustments(OrderShippingMethodAdjustment, OrderShippingMethod, "shipping_method_id"),
            many=True,
        ),
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
        *LINE_DISCOUNT_FIELDS,
        "adjustments",
        "created_at",
    ),
)


# Σ over the order's lines and over its shipping methods (admin-dashboard.md §5.1).
PART_TOTAL_FIELDS = (
    "item_discount_total",
    "shipping_discount_total",
    "original_item_tax_total",
    "original_shipping_tax_total",
)


@cache
def _part_totals_query() -> FixedQuery:
    """Per order of a page and part (``item``, ``shipping``): Σ ``discount_total`` and Σ
    ``original_tax_total`` (``tax_total + discount_tax_total``) in minor units, one statement.
    Lines an edit or a canceled exchange set to 0 are no longer the order's (as ``items``)."""
    parts = union_all(
        *(
            select(
                model.order_id.label("order_id"),
                literal_column(f"'{part}'").label("part"),
                model.discount_total.label("discount_total"),
                (model.tax_total + model.discount_tax_total).label("original_tax_total"),
            ).where(keys_param(model.order_id), *where)
            for part, model, where in (
                ("item", OrderLineItem, (OrderLineItem.quantity > literal_column("0"),)),
                ("shipping", OrderShippingMethod, ()),
            )
        )
    ).subquery("parts")
    return FixedQuery(
        select(
            parts.c.order_id,
            parts.c.part,
            cast(func.sum(parts.c.discount_total), BigInteger).label("discount_total"),
            cast(func.sum(parts.c.original_tax_total), BigInteger).label("original_tax_total"),
        ).group_by(parts.c.order_id, parts.c.part)
    )


async def _part_totals(ctx: RenderContext, orders: list[Any]) -> list[dict[str, Any]]:
    rows = await _part_totals_query().rows(
        ctx.session, connection=await ctx.driver(), keys=list({o.id for o in orders})
    )
    sums = {
        (row.order_id, row.part): (int(row.discount_total), int(row.original_tax_total))
        for row in rows
    }
    result = []
    for order in orders:
        currency = order.currency_code
        values: dict[str, Any] = {}
        for part in ("item", "shipping"):
            discount, original_tax = sums.get((order.id, part), (0, 0))
            values[f"{part}_discount_total"] = to_major(discount, currency)
            values[f"original_{part}_tax_total"] = to_major(original_tax, currency)
        result.append(values)
    return result


def _fulfillment_resource() -> Resource:
    from mercato.orders.fulfillment_resources import FULFILLMENT

    return FULFILLMENT


async def _fulfillments(ctx: RenderContext, orders: list[Any]) -> list[Any]:
    from mercato.orders.fulfillment_resources import fulfillments_of_orders

    return await fulfillments_of_orders(ctx, orders)


ORDER = Resource(
    name="order",
    fields={
        "id": attr("id"),
        "display_id": attr("display_id"),
        "custom_display_id": constant(None),
        "status": attr("status"),
        "seller_id": attr("seller_id"),
        "customer_id": attr("customer_id"),
        "email": attr("email"),
        "region_id": attr("region_id"),
        "sales_channel_id": attr("sales_channel_id"),
        "currency_code": attr("currency_code"),
        "cart_id": attr("cart_id"),
        "version": attr("version"),
        "order_group_id": Computed(_order_facts, "order_group_id", reads=_FACT_READS),
        "no_notification": attr("no_notification"),
        "canceled_at": timestamp("canceled_at"),
        "metadata": attr("metadata_"),
        "shipping_address": attr("shipping_address"),
        "billing_address": attr("billing_address"),
        "payment_status": attr("payment_status"),
        "fulfillment_status": attr("fulfillment_status"),
        **{name: _IMPLIED_TOTALS.get(name) or money(name) for name in TOTAL_FIELDS},
        **{
            name: Computed(_funding, name, reads=("id", "currency_code")) for name in FUNDING_FIELDS
        },
        "paid_total": Computed(_order_facts, "paid_total", reads=_FACT_READS),
        "refunded_total": Computed(_order_facts, "refunded_total", reads=_FACT_READS),
        "refundable_amount": Computed(_order_facts, "refundable_amount", reads=_FACT_READS),
        "refundable_total": Computed(_order_facts, "refundable_amount", reads=_FACT_READS),
        **{
            name: Computed(_part_totals, name, reads=("id", "currency_code"))
            for name in PART_TOTAL_FIELDS
        },
        "credit_line_total": Computed(_order_facts, "credit_line_total", reads=_FACT_READS),
        "summary": Computed(_order_facts, "summary", reads=_FACT_READS),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "items": Relation(
            lambda: LINE_ITEM,
            has_many(
                OrderLineItem,
                "order_id",
                order_by=(OrderLineItem.id,),
                # A line an exchange or claim cancel took back (quantity 0) leaves ``items``.
                where=OrderLineItem.quantity > literal_column("0"),
            ),
            many=True,
        ),
        "shipping_methods": Relation(
            lambda: SHIPPING_METHOD, has_many(OrderShippingMethod, "order_id"), many=True
        ),
        "seller": Relation(lambda: SELLER, belongs_to(Seller, "seller_id"), many=False),
        "sales_channel": Relation(
            lambda: SALES_CHANNEL, belongs_to(SalesChannel, "sales_channel_id"), many=False
        ),
        "region": Relation(lambda: REGION, belongs_to(Region, "region_id"), many=False),
        "customer": Relation(lambda: CUSTOMER, belongs_to(Customer, "customer_id"), many=False),
        "payment_collections": Relation(
            lambda: ORDER_PAYMENT_COLLECTION, payment_collections, many=True
        ),
        "fulfillments": Relation(_fulfillment_resource, _fulfillments, many=True),
        "promotions": Relation(
            lambda: ORDER_PROMOTION,
            through(Promotion, OrderPromotion, "order_id", "promotion_id"),
            many=True,
        ),
        **order_change_relations(),
    },
    defaults=(
        "id",
        "display_id",
        "version",
        "status",
        "seller_id",
        "customer_id",
        "email",
        "region_id",
        "sales_channel_id",
        "currency_code",
        "cart_id",
        "order_group_id",
        "payment_status",
        "fulfillment_status",
        *TOTAL_FIELDS,
        "summary",
        "created_at",
        "updated_at",
    ),
)

# ``GET /admin/orders/:id?version=1`` (admin-dashboard.md §6): the order as placed, for the
# timeline's "Order placed"; its total is the summary's ``original_order_total``.
PLACED_ORDER = Resource(
    name="order",
    fields={
        "id": attr("id"),
        "version": Field(lambda r: 1, (), expr="1", schema={"type": "integer"}),
        "display_id": attr("display_id"),
        "currency_code": attr("currency_code"),
        "created_at": timestamp("created_at"),
        "total": Computed(_order_facts, "original_order_total", reads=_FACT_READS),
    },
    defaults=("id", "version", "display_id", "currency_code", "created_at", "total"),
)
PLACED_ORDER_FIELDS = FieldRules(defaults=PLACED_ORDER.defaults, allowed=PLACED_ORDER.defaults)

# Answered whatever ``fields`` says (admin-dashboard.md §6): Medusa's list workflow attaches
# the statuses, its detail workflow (``get-order-detail``) also ``status`` and ``version``.
ORDER_LIST_ALWAYS = ("id", "payment_status", "fulfillment_status")
ORDER_DETAIL_ALWAYS = (*ORDER_LIST_ALWAYS, "status", "version")

ORDER_DETAIL_FIELDS = FieldRules(
    always=ORDER_DETAIL_ALWAYS,
    defaults=(
        *ORDER.defaults,
        "no_notification",
        "canceled_at",
        "metadata",
        "shipping_address",
        "billing_address",
        *FUNDING_FIELDS,
        "paid_total",
        "refunded_total",
        "refundable_amount",
        "credit_line_total",
        "items.*",
        "items.detail",
        "items.adjustments.*",
        "shipping_methods.*",
        "shipping_methods.adjustments.*",
        "payment_collections.*",
        "fulfillments.*",
        "credit_lines.*",
        "fulfillments.items.*",
        "fulfillments.labels.*",
        "seller.id",
        "seller.name",
        "seller.handle",
        "customer.id",
        "customer.email",
        "customer.first_name",
        "customer.last_name",
    ),
)
ORDER_LIST_FIELDS = FieldRules(defaults=ORDER.defaults, always=ORDER_LIST_ALWAYS)

# A seller sees its own order only: never the group (siblings, group total) nor the customer's
# whole payment (payment_collections shows this order's share).
_VENDOR_HIDDEN = ("order_group_id", "cart_id")
# The admin dashboard's compatibility fields (admin-dashboard.md §5): admin routes only.
_DASHBOARD_ONLY = ("custom_display_id", "refundable_total", *PART_TOTAL_FIELDS)
_VENDOR_ALLOWED = (
    *(f for f in ORDER.fields if f not in _VENDOR_HIDDEN and f not in _DASHBOARD_ONLY),
    "items.*",
    "shipping_methods.*",
    "payment_collections.*",
    "fulfillments.*",
    "credit_lines.*",
    "promotions.*",
    "returns.*",
    "returns.items.*",
    "order_changes.*",
    "order_changes.actions.*",
    "order_change.*",
    "order_change.actions.*",
    *vendor_owned_fields(),
    "seller.*",
    "customer.id",
    "customer.email",
    "customer.first_name",
    "customer.last_name",
    "customer.phone",
)
VENDOR_ORDER_LIST_FIELDS = FieldRules(
    defaults=tuple(f for f in ORDER.defaults if f not in _VENDOR_HIDDEN), allowed=_VENDOR_ALLOWED
)
VENDOR_ORDER_DETAIL_FIELDS = FieldRules(
    defaults=tuple(f for f in ORDER_DETAIL_FIELDS.defaults if f not in _VENDOR_HIDDEN),
    allowed=_VENDOR_ALLOWED,
)


def _order_search(text):
    """Display id (exact number), the order's email and its customer's email or name
    (case-insensitive substrings)."""
    from sqlalchemy import or_

    from mercato.query.listing import ilike_any

    customers = select(Customer.id).where(
        ilike_any(text, Customer.email, Customer.first_name, Customer.last_name)
    )
    clauses = [ilike_any(text, Order.email), Order.customer_id.in_(customers)]
    if text.is_number:
        clauses.append(Order.display_id == text.number)
    return or_(*clauses)


def _order_filters() -> dict:
    from mercato.query.listing import Filter

    payment = frozenset(PAYMENT_STATUSES)
    fulfillment = frozenset(FULFILLMENT_STATUSES)
    statuses = frozenset(ORDER_STATUSES)
    return {
        "id": Filter(Order.id),
        "status": Filter(Order.status, choices=statuses),
        "customer_id": Filter(Order.customer_id),
        "sales_channel_id": Filter(Order.sales_channel_id),
        "region_id": Filter(Order.region_id),
        "payment_status": Filter(Order.payment_status, choices=payment),
        "fulfillment_status": Filter(Order.fulfillment_status, choices=fulfillment),
        "created_at": Filter(Order.created_at, "datetime"),
        "updated_at": Filter(Order.updated_at, "datetime"),
    }


_STATUSES = ("status", "payment_status", "fulfillment_status")


def _tally_count(*, vendor: bool):
    """The count from the trigger-maintained tallies (migration 0007): all orders, or one or a
    few sellers' (the admin ``seller_id`` filter, or the vendor's own), with or without status
    filters; any other filter counts rows. An order has one seller and one status triple, so
    every comparison sums exactly. The status filters read the stored columns the tallies are
    keyed by."""
    from mercato.orders.models import OrderSellerTally, OrderTally
    from mercato.query.listing import EQUALITY
    from mercato.query.tally import TallyCount, count_from_tallies, on_column

    per_seller = {name: on_column(getattr(OrderSellerTally, name)) for name in _STATUSES}
    if vendor:
        mine = (OrderSellerTally.seller_id == bindparam("seller_id", type_=String),)
        return count_from_tallies(TallyCount(OrderSellerTally.live, per_seller, scope=mine))
    # Excluding sellers would read most of the per-seller tally: those forms count rows.
    sellers = on_column(OrderSellerTally.seller_id, EQUALITY - {"$ne", "$nin"})
    return count_from_tallies(
        TallyCount(
            OrderTally.live, {name: on_column(getattr(OrderTally, name)) for name in _STATUSES}
        ),
        TallyCount(OrderSellerTally.live, {**per_seller, "seller_id": sellers}),
    )


def _order_list(*, with_seller_filter: bool, fields: FieldRules, scope: tuple = ()):
    from mercato.query.listing import Filter, ListSpec

    filters = _order_filters()
    if with_seller_filter:
        filters["seller_id"] = Filter(Order.seller_id)
    return ListSpec(
        model=Order,
        resource=ORDER,
        plural="orders",
        fields=fields,
        filters=filters,
        sortable={
            "created_at": Order.created_at,
            "updated_at": Order.updated_at,
            "display_id": Order.display_id,
        },
        q=_order_search,
        scope=scope,
        count_from=_tally_count(vendor=not with_seller_filter),
    )


ORDER_LIST = _order_list(with_seller_filter=True, fields=ORDER_LIST_FIELDS)
# The logged-in member's seller: ``run_list(..., bind={"seller_id": ...})``.
VENDOR_ORDER_LIST = _order_list(
    with_seller_filter=False,
    fields=VENDOR_ORDER_LIST_FIELDS,
    scope=(Order.seller_id == bindparam("seller_id"),),
)

"""What clients see of an order group: admins everything, customers a fixed safe selection."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    any_,
    bindparam,
    cast,
    func,
    select,
    union_all,
)

from mercato.carts.models import Cart
from mercato.customers.models import Customer
from mercato.customers.resources import CUSTOMER
from mercato.domain.money import to_major
from mercato.domain.statuses import FULFILLMENT_STATUSES, GROUP_STATUSES, PAYMENT_STATUSES
from mercato.orders.models import (
    Order,
    OrderGroup,
    OrderGroupOrder,
    OrderGroupSellerTally,
    OrderGroupTally,
)
from mercato.orders.resources import (
    ADJUSTMENT_PUBLIC_FIELDS,
    LINE_DISCOUNT_FIELDS,
    ORDER,
    SUMMARY_FIELDS,
    TOTAL_FIELDS,
)
from mercato.query.driver import FixedQuery, keys_param
from mercato.query.fields import Computed, FieldRules, Relation, RenderContext, Resource
from mercato.query.listing import (
    Filter,
    ListSpec,
    PageIndex,
    Prefetched,
    SearchText,
    ilike_any,
)
from mercato.query.loaders import belongs_to, through
from mercato.query.tally import TallyCount, TallyTerm, count_from_tallies, on_column
from mercato.query.values import attr, money, timestamp


def _cart_resource() -> Resource:
    from mercato.carts.resources import CART

    return CART


_carts = belongs_to(Cart, "cart_id")


@cache
def _summary_query() -> FixedQuery:
    """Per group of a page: each summary field summed over its orders' stored summaries
    (minor units), in one statement."""
    return FixedQuery(
        select(
            OrderGroupOrder.order_group_id,
            *(
                cast(
                    func.coalesce(func.sum(cast(Order.summary[name].astext, BigInteger)), 0),
                    BigInteger,
                ).label(name)
                for name in SUMMARY_FIELDS
            ),
        )
        .join_from(OrderGroupOrder, Order, Order.id == OrderGroupOrder.order_id)
        .where(keys_param(OrderGroupOrder.order_group_id))
        .group_by(OrderGroupOrder.order_group_id)
    )


async def _group_summary(ctx: RenderContext, groups: list[Any]) -> list[dict[str, Any]]:
    """The group's ``summary`` (order-groups.md): each field the sum of that field of its
    orders' ``summary``, in the group's currency (every order of a group shares it)."""
    rows = await _summary_query().rows(
        ctx.session, connection=await ctx.driver(), keys=list({g.id for g in groups})
    )
    sums = {row[0]: row[1:] for row in rows}
    result = []
    for group in groups:
        found = sums.get(group.id)
        currency = group.currency_code
        result.append(
            {
                "summary": {
                    name: to_major(int(found[i]) if found else 0, currency)
                    for i, name in enumerate(SUMMARY_FIELDS)
                }
            }
        )
    return result


GROUP_DISCOUNTS = ("discount_subtotal", "discount_tax_total", "discount_total")


@cache
def _discounts_query() -> FixedQuery:
    """Per group of a page: its orders' discount totals summed, in one statement."""
    return FixedQuery(
        select(
            OrderGroupOrder.order_group_id,
            *(
                cast(func.coalesce(func.sum(getattr(Order, name)), 0), BigInteger).label(name)
                for name in GROUP_DISCOUNTS
            ),
        )
        .join_from(OrderGroupOrder, Order, Order.id == OrderGroupOrder.order_id)
        .where(keys_param(OrderGroupOrder.order_group_id))
        .group_by(OrderGroupOrder.order_group_id)
    )


async def _group_discounts(ctx: RenderContext, groups: list[Any]) -> list[dict[str, Any]]:
    """The group's discounts: sums of its orders' (promotions.md: every figure of a group is a
    sum of its orders')."""
    rows = await _discounts_query().rows(
        ctx.session, connection=await ctx.driver(), keys=list({g.id for g in groups})
    )
    sums = {row[0]: row[1:] for row in rows}
    return [
        {
            name: to_major(int(sums[g.id][i]) if g.id in sums else 0, g.currency_code)
            for i, name in enumerate(GROUP_DISCOUNTS)
        }
        for g in groups
    ]


ORDER_GROUP = Resource(
    name="order_group",
    fields={
        "id": attr("id"),
        "display_id": attr("display_id"),
        "customer_id": attr("customer_id"),
        "cart_id": attr("cart_id"),
        "draft_order_id": attr("draft_order_id"),
        "sales_channel_id": attr("sales_channel_id"),
        "currency_code": attr("currency_code"),
        "seller_count": attr("seller_count"),
        "total": money("total"),
        "summary": Computed(_group_summary, "summary", reads=("id", "currency_code")),
        **{
            name: Computed(_group_discounts, name, reads=("id", "currency_code"))
            for name in GROUP_DISCOUNTS
        },
        "status": attr("status"),
        "payment_status": attr("payment_status"),
        "fulfillment_status": attr("fulfillment_status"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "orders": Relation(
            lambda: ORDER,
            through(Order, OrderGroupOrder, "order_group_id", "order_id"),
            many=True,
        ),
        "customer": Relation(lambda: CUSTOMER, belongs_to(Customer, "customer_id"), many=False),
        "cart": Relation(_cart_resource, _carts, many=False),
    },
    defaults=(
        "id",
        "display_id",
        "customer_id",
        "cart_id",
        "currency_code",
        "seller_count",
        "total",
        "status",
        "payment_status",
        "fulfillment_status",
        "created_at",
        "updated_at",
    ),
)

_LIST_DEFAULTS = ORDER_GROUP.defaults
_ADMIN_ALLOWED = (*ORDER_GROUP.fields, "orders.*", "customer.*", "cart.*")
ADMIN_GROUP_LIST_FIELDS = FieldRules(defaults=_LIST_DEFAULTS, allowed=_ADMIN_ALLOWED)
ADMIN_GROUP_DETAIL_FIELDS = FieldRules(
    defaults=(
        *_LIST_DEFAULTS,
        *(
            f"orders.{f}"
            for f in (
                "id",
                "display_id",
                "status",
                "seller_id",
                "seller.id",
                "seller.name",
                "seller.handle",
                "currency_code",
                "payment_status",
                "fulfillment_status",
                "subtotal",
                "shipping_total",
                "tax_total",
                "discount_total",
                "total",
                "items.id",
                "items.title",
                "items.variant_title",
                "items.quantity",
                "items.unit_price",
                "items.total",
            )
        ),
    ),
    allowed=_ADMIN_ALLOWED,
)

STORE_GROUP_FIELD_PATHS = (
    "id",
    "display_id",
    "customer_id",
    "currency_code",
    "seller_count",
    "total",
    *GROUP_DISCOUNTS,
    "status",
    "payment_status",
    "fulfillment_status",
    "created_at",
    "updated_at",
    "orders.id",
    "orders.display_id",
    "orders.status",
    "orders.seller_id",
    "orders.payment_status",
    "orders.fulfillment_status",
    "orders.currency_code",
    "orders.total",
    "orders.subtotal",
    "orders.item_total",
    "orders.shipping_total",
    "orders.tax_total",
    "orders.discount_total",
    "orders.seller.id",
    "orders.seller.name",
    "orders.seller.handle",
    "orders.seller.logo",
    "orders.items.id",
    "orders.items.title",
    "orders.items.subtitle",
    "orders.items.thumbnail",
    "orders.items.product_title",
    "orders.items.variant_title",
    "orders.items.quantity",
    "orders.items.unit_price",
    "orders.items.total",
    "orders.items.variant_id",
    "orders.items.variant.id",
    "orders.items.variant.title",
    "orders.items.variant.sku",
    "orders.items.variant.product.id",
    "orders.items.variant.product.handle",
    "orders.items.variant.product.title",
    "orders.items.variant.product.thumbnail",
)
_STORE_METHOD_FIELDS = (
    "id",
    "shipping_option_id",
    "seller_id",
    "name",
    "amount",
    "subtotal",
    "tax_total",
    "total",
    *LINE_DISCOUNT_FIELDS,
)
# Allowed, not default (order-groups.md, order-changes.md §10): the money, the returns and the
# payment collections of the group's orders; their every total and their lines' and shipping
# methods' discounts and adjustments (promotions.md), never who funds them.
STORE_GROUP_EXTRA_PATHS = (
    "summary",
    "orders.summary",
    *(f"orders.{f}" for f in TOTAL_FIELDS if f"orders.{f}" not in STORE_GROUP_FIELD_PATHS),
    *(f"orders.items.{f}" for f in LINE_DISCOUNT_FIELDS),
    *(f"orders.shipping_methods.{f}" for f in _STORE_METHOD_FIELDS),
    *(f"orders.items.adjustments.{f}" for f in ("id", "item_id", *ADJUSTMENT_PUBLIC_FIELDS)),
    *(
        f"orders.shipping_methods.adjustments.{f}"
        for f in ("id", "shipping_method_id", *ADJUSTMENT_PUBLIC_FIELDS)
    ),
    *(
        f"orders.returns.{f}"
        for f in ("id", "display_id", "status", "refund_amount", "requested_at", "received_at")
    ),
    *(f"orders.returns.items.{f}" for f in ("item_id", "quantity", "received_quantity")),
    *(
        f"orders.payment_collections.{f}"
        for f in ("id", "source", "amount", "currency_code", "status")
    ),
)
STORE_GROUP_FIELDS = FieldRules(
    defaults=STORE_GROUP_FIELD_PATHS, allowed=(*STORE_GROUP_FIELD_PATHS, *STORE_GROUP_EXTRA_PATHS)
)

# The body of a successful completion (checkout.md).
COMPLETION_FIELDS = FieldRules(
    defaults=(
        "id",
        "display_id",
        "customer_id",
        "cart_id",
        "currency_code",
        "seller_count",
        "total",
        "created_at",
        "updated_at",
        "orders.id",
        "orders.display_id",
        "orders.seller_id",
        "orders.status",
        "orders.total",
        "orders.currency_code",
    )
)


def _has_order_of_seller(op: str, sellers: Any):
    """Groups with at least one order of the seller(s) (``sellers``: an array parameter): a GIN
    probe of ``seller_ids``."""
    contains = OrderGroup.seller_ids.overlap(sellers)
    return ~contains if op in ("$ne", "$nin") else contains


def _matching(text: SearchText, *email_conditions: Any) -> ColumnElement[bool]:
    """Group id and cart id (exact), display id (exact number), or an email/name condition.

    One index-backed branch per alternative: an ``OR`` across columns (one of them a subquery)
    can only be evaluated by scanning every group."""
    branches = [
        select(OrderGroup.id).where(OrderGroup.id == text.text),
        select(OrderGroup.id).where(OrderGroup.cart_id == text.text),
        *(select(OrderGroup.id).where(condition) for condition in email_conditions),
    ]
    if text.is_number:
        branches.append(select(OrderGroup.id).where(OrderGroup.display_id == text.number))
    return OrderGroup.id.in_(union_all(*branches))


def _matching_customers(text: SearchText) -> Select:
    return select(Customer.id).where(
        ilike_any(text, Customer.email, Customer.first_name, Customer.last_name)
    )


def _matching_guest_carts(text: SearchText) -> Select:
    """Completed guest carts whose email matches: a guest group's email is its cart's (the
    partial trigram index of migration 0006 holds exactly these carts)."""
    return select(Cart.id).where(
        Cart.customer_id.is_(None), Cart.completed_at.is_not(None), ilike_any(text, Cart.email)
    )


def _matching_people(text: SearchText) -> Any:
    """Customer ids (``cus_…``) and guest cart ids (``cart_…``) in one list: their prefixes
    keep them apart."""
    return union_all(_matching_customers(text), _matching_guest_carts(text))


# ``q``: group id and cart id (exact), display id (exact number), the group's email (the
# customer's, or the guest cart's) and the customer's name (case-insensitive substring). The
# substring searches (trigram indexes where pg_trgm exists) run once, not once for the count
# and again for the page.
_SEARCH = Prefetched(
    ids=_matching_people,
    build=lambda text, ids: _matching(
        text, OrderGroup.customer_id == any_(ids), OrderGroup.cart_id == any_(ids)
    ),
    fallback=lambda text: _matching(
        text,
        OrderGroup.customer_id.in_(_matching_customers(text)),
        OrderGroup.cart_id.in_(_matching_guest_carts(text)),
    ),
)

_STATUS_TERMS = {
    name: on_column(getattr(OrderGroupTally, name))
    for name in ("status", "payment_status", "fulfillment_status")
}
# The live groups matching status filters, or of one seller, from the trigger-maintained
# tallies (migration 0004); any other combination of filters counts rows. A group is counted
# under each of its sellers, so only one seller's count is exact.
tally_count = count_from_tallies(
    TallyCount(OrderGroupTally.live, _STATUS_TERMS),
    TallyCount(
        OrderGroupSellerTally.live,
        {
            "seller_id": TallyTerm(  # the filter's parameter is an array (of one, for $eq)
                lambda op, sellers: OrderGroupSellerTally.seller_id == any_(sellers),
                frozenset({"$eq"}),
            )
        },
    ),
)


LIVE = OrderGroup.deleted_at.is_(None)
# The logged-in customer's groups: ``bind={"customer_id": ...}``.
OWNED = (OrderGroup.customer_id == bindparam("customer_id"),)
_DATES = {
    "created_at": Filter(OrderGroup.created_at, "datetime"),
    "updated_at": Filter(OrderGroup.updated_at, "datetime"),
}

ADMIN_GROUP_LIST = ListSpec(
    model=OrderGroup,
    resource=ORDER_GROUP,
    plural="order_groups",
    fields=ADMIN_GROUP_LIST_FIELDS,
    filters={
        "id": Filter(OrderGroup.id),
        "customer_id": Filter(OrderGroup.customer_id),
        "seller_id": Filter(
            _has_order_of_seller,
            page_index=PageIndex(
                link=OrderGroupOrder,
                key=OrderGroupOrder.seller_id,
                row_id=OrderGroupOrder.order_group_id,
                orders={"created_at": OrderGroupOrder.group_created_at},
            ),
        ),
        "status": Filter(OrderGroup.status, choices=frozenset(GROUP_STATUSES)),
        "payment_status": Filter(OrderGroup.payment_status, choices=frozenset(PAYMENT_STATUSES)),
        "fulfillment_status": Filter(
            OrderGroup.fulfillment_status, choices=frozenset(FULFILLMENT_STATUSES)
        ),
        "sales_channel_id": Filter(OrderGroup.sales_channel_id),
        **_DATES,
    },
    sortable={
        "created_at": OrderGroup.created_at,
        "updated_at": OrderGroup.updated_at,
        "display_id": OrderGroup.display_id,
    },
    q=_SEARCH,
    scope=(LIVE,),
    count_from=tally_count,
)

STORE_GROUP_LIST = ListSpec(
    model=OrderGroup,
    resource=ORDER_GROUP,
    plural="order_groups",
    fields=STORE_GROUP_FIELDS,
    filters={"id": Filter(OrderGroup.id), **_DATES},
    sortable={"created_at": OrderGroup.created_at, "display_id": OrderGroup.display_id},
    scope=(LIVE, *OWNED),
)

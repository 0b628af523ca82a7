"""What admins see of draft orders (order-changes.md §12) and how they list.

Default selection (list and detail)::

    id, display_id, status, is_draft_order, region_id, currency_code, sales_channel_id,
    customer_id, email, shipping_address, billing_address, no_notification_order,
    order_group_id, metadata, <cart totals>, original_total, created_at, updated_at,
    items.*, shipping_methods.*,
    sellers: [{seller_id, seller {id, name, handle}, item_total, shipping_total, tax_total,
               total}]

``sellers`` are the totals each seller's order gets at conversion: sums of that seller's
stored item and method totals (per-line tax, as checkout: they add up exactly to the draft's),
one statement for the page. Also selectable: the items' ``variant`` and the ``region``,
``customer`` and ``order_group`` relations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from functools import cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import BigInteger, cast, func, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.customers.models import Customer
from mercato.customers.resources import CUSTOMER
from mercato.domain.draft_edits import Draft, DraftItem, DraftMethod
from mercato.domain.money import to_major
from mercato.domain.order_changes import ACTIVE_CHANGE_STATUSES
from mercato.draft_orders.models import (
    DRAFT_ORDER_STATUSES,
    DraftOrder,
    DraftOrderItem,
    DraftOrderShippingMethod,
)
from mercato.orders.change_models import OrderChange
from mercato.orders.change_resources import ORDER_CHANGE, ORDER_CHANGE_FIELDS
from mercato.orders.models import OrderGroup
from mercato.products.models import ProductVariant
from mercato.products.resources import VARIANT
from mercato.query.driver import FixedQuery, keys_param
from mercato.query.fields import (
    Computed,
    Field,
    FieldRules,
    Relation,
    RenderContext,
    Resource,
    Tree,
    render,
)
from mercato.query.fields import select as select_fields
from mercato.query.listing import Filter, ListSpec, SearchText, ilike_any, run_retrieve
from mercato.query.loaders import belongs_to, has_many
from mercato.query.values import attr, money, timestamp
from mercato.regions.models import Region
from mercato.regions.resources import REGION
from mercato.sellers.models import Seller

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
    "total",
)


@cache
def _seller_totals_query() -> FixedQuery:
    """Per draft of a page and seller: the seller's item and shipping amounts (minor units)
    and its id, name and handle."""
    zero: Any = literal_column("0")
    parts = union_all(
        select(
            DraftOrderItem.draft_order_id.label("draft_order_id"),
            DraftOrderItem.seller_id.label("seller_id"),
            DraftOrderItem.tax_total.label("item_tax"),
            DraftOrderItem.total.label("item_total"),
            zero.label("shipping_tax"),
            zero.label("shipping_total"),
        ).where(keys_param(DraftOrderItem.draft_order_id)),
        select(
            DraftOrderShippingMethod.draft_order_id,
            DraftOrderShippingMethod.seller_id,
            zero,
            zero,
            DraftOrderShippingMethod.tax_total,
            DraftOrderShippingMethod.total,
        ).where(keys_param(DraftOrderShippingMethod.draft_order_id)),
    ).subquery("parts")

    def total(column: Any) -> Any:
        return cast(func.sum(column), BigInteger)

    return FixedQuery(
        select(
            parts.c.draft_order_id,
            parts.c.seller_id,
            Seller.name,
            Seller.handle,
            total(parts.c.item_tax).label("item_tax"),
            total(parts.c.item_total).label("item_total"),
            total(parts.c.shipping_tax).label("shipping_tax"),
            total(parts.c.shipping_total).label("shipping_total"),
        )
        .join(Seller, Seller.id == parts.c.seller_id)
        .group_by(parts.c.draft_order_id, parts.c.seller_id, Seller.name, Seller.handle)
        .order_by(parts.c.draft_order_id, parts.c.seller_id)
    )


async def _sellers(ctx: RenderContext, drafts: list[Any]) -> list[dict[str, Any]]:
    """Each draft's ``sellers`` (ascending seller id, as the split orders them)."""
    rows = await _seller_totals_query().rows(
        ctx.session, connection=await ctx.driver(), keys=list({d.id for d in drafts})
    )
    found: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        found[row.draft_order_id].append(row)
    result = []
    for draft in drafts:
        currency = draft.currency_code
        result.append(
            {
                "sellers": [
                    {
                        "seller_id": row.seller_id,
                        "seller": {"id": row.seller_id, "name": row.name, "handle": row.handle},
                        "item_total": to_major(row.item_total, currency),
                        "shipping_total": to_major(row.shipping_total, currency),
                        "tax_total": to_major(row.item_tax + row.shipping_tax, currency),
                        "total": to_major(row.item_total + row.shipping_total, currency),
                    }
                    for row in found[draft.id]
                ]
            }
        )
    return result


DRAFT_ORDER_ITEM = Resource(
    name="item",
    fields={
        "id": attr("id"),
        "draft_order_id": attr("draft_order_id"),
        "seller_id": attr("seller_id"),
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
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "variant": Relation(lambda: VARIANT, belongs_to(ProductVariant, "variant_id"), many=False),
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
        "metadata",
    ),
)

DRAFT_ORDER_SHIPPING_METHOD = Resource(
    name="shipping_method",
    fields={
        "id": attr("id"),
        "draft_order_id": attr("draft_order_id"),
        "shipping_option_id": attr("shipping_option_id"),
        "seller_id": attr("seller_id"),
        "name": attr("name"),
        "amount": money("amount"),
        "is_tax_inclusive": attr("is_tax_inclusive"),
        "subtotal": money("subtotal"),
        "tax_total": money("tax_total"),
        "total": money("total"),
        "data": attr("data"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
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
    ),
)


def _order_group_resource() -> Resource:
    from mercato.orders.group_resources import ORDER_GROUP

    return ORDER_GROUP


DRAFT_ORDER = Resource(
    name="draft_order",
    fields={
        "id": attr("id"),
        "display_id": attr("display_id"),
        "status": attr("status"),
        "is_draft_order": Field(
            lambda _: True, (), expr="True", schema={"type": "boolean", "const": True}
        ),
        "region_id": attr("region_id"),
        "currency_code": attr("currency_code"),
        "sales_channel_id": attr("sales_channel_id"),
        "customer_id": attr("customer_id"),
        "email": attr("email"),
        "shipping_address": attr("shipping_address"),
        "billing_address": attr("billing_address"),
        "no_notification_order": attr("no_notification_order"),
        "order_group_id": attr("order_group_id"),
        "metadata": attr("metadata_"),
        **{name: money(name) for name in TOTALS},
        "original_total": money("total"),
        "sellers": Computed(_sellers, "sellers", reads=("id", "currency_code")),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "items": Relation(
            lambda: DRAFT_ORDER_ITEM,
            has_many(
                DraftOrderItem,
                "draft_order_id",
                order_by=(DraftOrderItem.created_at, DraftOrderItem.id),
            ),
            many=True,
        ),
        "shipping_methods": Relation(
            lambda: DRAFT_ORDER_SHIPPING_METHOD,
            has_many(
                DraftOrderShippingMethod,
                "draft_order_id",
                order_by=(DraftOrderShippingMethod.seller_id, DraftOrderShippingMethod.id),
            ),
            many=True,
        ),
        "region": Relation(lambda: REGION, belongs_to(Region, "region_id"), many=False),
        "customer": Relation(lambda: CUSTOMER, belongs_to(Customer, "customer_id"), many=False),
        "order_group": Relation(
            _order_group_resource, belongs_to(OrderGroup, "order_group_id"), many=False
        ),
    },
    defaults=(
        "id",
        "display_id",
        "status",
        "is_draft_order",
        "region_id",
        "currency_code",
        "sales_channel_id",
        "customer_id",
        "email",
        "shipping_address",
        "billing_address",
        "no_notification_order",
        "order_group_id",
        "metadata",
        *TOTALS,
        "original_total",
        "sellers",
        "created_at",
        "updated_at",
    ),
)

DRAFT_ORDER_FIELDS = FieldRules(
    defaults=(*DRAFT_ORDER.defaults, "items.*", "shipping_methods.*"),
    allowed=(
        *DRAFT_ORDER.fields,
        "items.*",
        "items.variant.*",
        "shipping_methods.*",
        "region.*",
        "customer.*",
        "order_group.*",
    ),
)


def _search(text: SearchText) -> Any:
    """``q``: the display id (exact number) or the email (case-insensitive substring)."""
    clauses = [ilike_any(text, DraftOrder.email)]
    if text.is_number:
        clauses.append(DraftOrder.display_id == text.number)
    return or_(*clauses)


DRAFT_ORDER_LIST = ListSpec(
    model=DraftOrder,
    resource=DRAFT_ORDER,
    plural="draft_orders",
    fields=DRAFT_ORDER_FIELDS,
    filters={
        "id": Filter(DraftOrder.id),
        "region_id": Filter(DraftOrder.region_id),
        "sales_channel_id": Filter(DraftOrder.sales_channel_id),
        "customer_id": Filter(DraftOrder.customer_id),
        "status": Filter(DraftOrder.status, choices=frozenset(DRAFT_ORDER_STATUSES)),
        "created_at": Filter(DraftOrder.created_at, "datetime"),
        "updated_at": Filter(DraftOrder.updated_at, "datetime"),
    },
    sortable={
        "created_at": DraftOrder.created_at,
        "updated_at": DraftOrder.updated_at,
        "display_id": DraftOrder.display_id,
    },
    q=_search,
    scope=(DraftOrder.deleted_at.is_(None),),
)
DEFAULT_STATUS = "draft"
"""The list shows drafts not yet converted unless ``status`` says otherwise (§12)."""


# --------------------------------------------------------------------------- the edit's preview


async def render_draft_preview(
    session: AsyncSession, draft_id: str, preview: Draft | None, params: Mapping[str, Any]
) -> dict[str, Any]:
    """``draft_order_preview`` (order-changes.md §12): the draft with the route's ``fields``
    and its active edit as ``order_change`` (null when none). With ``preview`` (the draft as if
    its edit were confirmed), the totals, ``sellers``, ``items`` and ``shipping_methods`` are
    the preview's, each line and method carrying the change's ``actions`` on it; without, the
    stored draft (after a confirm: the draft the edit made)."""
    draft = await session.scalar(
        select(DraftOrder)
        .where(DraftOrder.id == draft_id)
        .execution_options(populate_existing=True)
    )
    rendered = await run_retrieve(
        session, resource=DRAFT_ORDER, rules=DRAFT_ORDER_FIELDS, row=draft, params=params
    )
    change = await session.scalar(
        select(OrderChange)
        .where(
            OrderChange.draft_order_id == draft_id,
            OrderChange.status.in_(ACTIVE_CHANGE_STATUSES),
        )
        .execution_options(populate_existing=True)
    )
    rendered["order_change"] = (
        await run_retrieve(
            session, resource=ORDER_CHANGE, rules=ORDER_CHANGE_FIELDS, row=change, params={}
        )
        if change is not None
        else None
    )
    if preview is None:
        return rendered
    currency = preview.currency_code
    for name, value in preview.totals.as_dict().items():
        if name in rendered:
            rendered[name] = to_major(value, currency)
    if "sellers" in rendered:
        rendered["sellers"] = await _preview_sellers(session, preview)
    tree = select_fields(DRAFT_ORDER, DRAFT_ORDER_FIELDS, params.get("fields"))
    actions = (rendered["order_change"] or {}).get("actions") or []
    ctx = RenderContext(session)
    for name, resource, rows in (
        ("items", DRAFT_ORDER_ITEM, [_item_row(preview, i) for i in preview.items]),
        (
            "shipping_methods",
            DRAFT_ORDER_SHIPPING_METHOD,
            [_method_row(preview, m) for m in preview.methods],
        ),
    ):
        sub: Tree | None = tree.get(name)
        if name not in rendered or sub is None:
            continue
        rendered[name] = await render(ctx, resource, rows, sub)
        for entry in rendered[name]:
            entry["actions"] = [a for a in actions if a.get("reference_id") == entry["id"]]
    return rendered


def _item_row(preview: Draft, item: DraftItem) -> SimpleNamespace:
    snapshot = item.snapshot
    return SimpleNamespace(
        id=item.id,
        draft_order_id=preview.id,
        seller_id=item.seller_id,
        variant_id=item.variant_id,
        currency_code=preview.currency_code,
        quantity=item.quantity,
        unit_price=item.unit_price,
        is_tax_inclusive=item.is_tax_inclusive,
        subtotal=item.totals.subtotal,
        tax_total=item.totals.tax_total,
        total=item.totals.total,
        metadata_=snapshot.get("metadata"),
        created_at=item.created_at,
        updated_at=item.updated_at,
        **{
            name: snapshot.get(name)
            for name in (
                "product_id",
                "title",
                "subtitle",
                "thumbnail",
                "product_title",
                "product_handle",
                "variant_title",
                "variant_sku",
                "requires_shipping",
            )
        },
    )


def _method_row(preview: Draft, method: DraftMethod) -> SimpleNamespace:
    return SimpleNamespace(
        id=method.id,
        draft_order_id=preview.id,
        shipping_option_id=method.shipping_option_id,
        seller_id=method.seller_id,
        currency_code=preview.currency_code,
        name=method.name,
        amount=method.amount,
        is_tax_inclusive=method.is_tax_inclusive,
        subtotal=method.totals.subtotal,
        tax_total=method.totals.tax_total,
        total=method.totals.total,
        data=method.data,
        created_at=method.created_at,
        updated_at=method.updated_at,
    )


async def _preview_sellers(session: AsyncSession, preview: Draft) -> list[dict[str, Any]]:
    totals = preview.sellers()
    names = (
        {
            row.id: row
            for row in (
                await session.execute(
                    select(Seller.id, Seller.name, Seller.handle).where(
                        Seller.id.in_([t.seller_id for t in totals])
                    )
                )
            ).all()
        }
        if totals
        else {}
    )
    currency = preview.currency_code
    return [
        {
            "seller_id": t.seller_id,
            "seller": {
                "id": t.seller_id,
                "name": names[t.seller_id].name,
                "handle": names[t.seller_id].handle,
            },
            "item_total": to_major(t.item_total, currency),
            "shipping_total": to_major(t.shipping_total, currency),
            "tax_total": to_major(t.tax_total, currency),
            "total": to_major(t.total, currency),
        }
        for t in totals
    ]

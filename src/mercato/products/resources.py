"""What clients see of products: admin sees everything, the store a published, channel-scoped
view with the seller's public face."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, any_, bindparam, exists, select
from sqlalchemy.dialects.postgresql import ARRAY

from mercato.products.models import (
    PRODUCT_STATUSES,
    InventoryLevel,
    Price,
    Product,
    ProductSalesChannel,
    ProductVariant,
)
from mercato.query.fields import Computed, FieldRules, Relation, RenderContext, Resource
from mercato.query.listing import Filter, ListSpec, SearchText, ilike_any
from mercato.query.loaders import belongs_to, has_many, through
from mercato.query.values import attr, money, timestamp
from mercato.sales_channels.models import SalesChannel
from mercato.sales_channels.resources import SALES_CHANNEL
from mercato.sellers.models import Seller
from mercato.sellers.resources import SELLER


async def _inventory(ctx: RenderContext, variants: list[Any]) -> list[dict[str, Any]]:
    """Stocked, reserved and available quantity of each variant, in one query for the page."""
    rows = await ctx.session.execute(
        select(
            InventoryLevel.variant_id,
            InventoryLevel.stocked_quantity,
            InventoryLevel.reserved_quantity,
        ).where(InventoryLevel.variant_id.in_({v.id for v in variants}))
    )
    levels = {variant_id: (stocked, reserved) for variant_id, stocked, reserved in rows}
    result = []
    for variant in variants:
        stocked, reserved = levels.get(variant.id, (0, 0))
        result.append(
            {
                "inventory_quantity": stocked,
                "reserved_quantity": reserved,
                "available_quantity": stocked - reserved,
            }
        )
    return result


PRICE = Resource(
    name="price",
    fields={
        "id": attr("id"),
        "variant_id": attr("variant_id"),
        "currency_code": attr("currency_code"),
        "amount": money("amount"),
    },
    defaults=("id", "variant_id", "currency_code", "amount"),
)

VARIANT = Resource(
    name="variant",
    fields={
        "id": attr("id"),
        "product_id": attr("product_id"),
        "title": attr("title"),
        "sku": attr("sku"),
        "manage_inventory": attr("manage_inventory"),
        "allow_backorder": attr("allow_backorder"),
        "requires_shipping": attr("requires_shipping"),
        "variant_rank": attr("rank"),
        "inventory_quantity": Computed(_inventory, "inventory_quantity"),
        "reserved_quantity": Computed(_inventory, "reserved_quantity"),
        "available_quantity": Computed(_inventory, "available_quantity"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "prices": Relation(
            lambda: PRICE, has_many(Price, "variant_id", order_by=(Price.currency_code,)), many=True
        ),
        "product": Relation(lambda: PRODUCT, belongs_to(Product, "product_id"), many=False),
    },
    defaults=(
        "id",
        "product_id",
        "title",
        "sku",
        "manage_inventory",
        "allow_backorder",
        "requires_shipping",
        "variant_rank",
        "inventory_quantity",
        "reserved_quantity",
        "available_quantity",
        "metadata",
        "created_at",
        "updated_at",
    ),
)

PRODUCT: Resource = Resource(
    name="product",
    fields={
        "id": attr("id"),
        "title": attr("title"),
        "handle": attr("handle"),
        "description": attr("description"),
        "thumbnail": attr("thumbnail"),
        "status": attr("status"),
        "seller_id": attr("seller_id"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "variants": Relation(
            lambda: VARIANT,
            has_many(
                ProductVariant,
                "product_id",
                order_by=(ProductVariant.rank, ProductVariant.id),
                where=ProductVariant.deleted_at.is_(None),
            ),
            many=True,
        ),
        "seller": Relation(lambda: SELLER, belongs_to(Seller, "seller_id"), many=False),
        "sales_channels": Relation(
            lambda: SALES_CHANNEL,
            through(SalesChannel, ProductSalesChannel, "product_id", "sales_channel_id"),
            many=True,
        ),
    },
    defaults=(
        "id",
        "title",
        "handle",
        "description",
        "thumbnail",
        "status",
        "seller_id",
        "metadata",
        "created_at",
        "updated_at",
    ),
)

_PRODUCT_DEFAULTS = (
    *PRODUCT.defaults,
    "variants.*",
    "variants.prices.*",
    "seller.id",
    "seller.name",
    "seller.handle",
)
PRODUCT_FIELDS = FieldRules(
    defaults=(*_PRODUCT_DEFAULTS, "sales_channels.id", "sales_channels.name")
)
VARIANT_FIELDS = FieldRules(defaults=(*VARIANT.defaults, "prices.*"))

_STORE_PRODUCT_FIELDS = tuple(f for f in PRODUCT.defaults if f != "metadata")
_STORE_VARIANT_FIELDS = tuple(
    f"variants.{f}" for f in VARIANT.defaults if f not in ("metadata", "reserved_quantity")
)
STORE_PRODUCT_FIELDS = FieldRules(
    defaults=(
        *_STORE_PRODUCT_FIELDS,
        *_STORE_VARIANT_FIELDS,
        "variants.prices.*",
        "seller.id",
        "seller.name",
        "seller.handle",
        "seller.logo",
    ),
    allowed=(
        *_STORE_PRODUCT_FIELDS,
        *_STORE_VARIANT_FIELDS,
        "variants.prices.*",
        "seller.id",
        "seller.name",
        "seller.handle",
        "seller.logo",
    ),
)


def in_channel(op: str, channel_ids: Any) -> ColumnElement[bool]:
    """Products linked to one of the sales channels (``channel_ids``: an array parameter)."""
    linked = exists().where(
        ProductSalesChannel.product_id == Product.id,
        ProductSalesChannel.sales_channel_id == any_(channel_ids),
    )
    return ~linked if op in ("$ne", "$nin") else linked


# What the store sells: published products of an active seller, in one of the publishable key's
# sales channels (bound by ``store_scope_values``).
STORE_SCOPE = (
    Product.deleted_at.is_(None),
    Product.status == "published",
    in_channel("$in", bindparam("store_channel_ids", type_=ARRAY(String))),
    Product.seller_id.in_(
        select(Seller.id).where(Seller.status == "active", Seller.deleted_at.is_(None))
    ),
)


def store_scope_values(store: Any) -> dict[str, Any]:
    """The values of ``STORE_SCOPE``'s parameters for a store request's context."""
    return {"store_channel_ids": list(store.sales_channel_ids)}


_FILTERS = {
    "id": Filter(Product.id),
    "handle": Filter(Product.handle),
    "seller_id": Filter(Product.seller_id),
    "created_at": Filter(Product.created_at, "datetime"),
    "updated_at": Filter(Product.updated_at, "datetime"),
}
_SORTABLE = {
    "created_at": Product.created_at,
    "updated_at": Product.updated_at,
    "title": Product.title,
}


def _search(text: SearchText) -> ColumnElement[bool]:
    return ilike_any(text, Product.title, Product.handle, Product.description)


PRODUCT_LIST = ListSpec(
    model=Product,
    resource=PRODUCT,
    plural="products",
    fields=PRODUCT_FIELDS,
    filters={
        **_FILTERS,
        "status": Filter(Product.status, choices=frozenset(PRODUCT_STATUSES)),
        "sales_channel_id": Filter(in_channel),
    },
    sortable=_SORTABLE,
    q=_search,
    scope=(Product.deleted_at.is_(None),),
)
STORE_PRODUCT_LIST = ListSpec(
    model=Product,
    resource=PRODUCT,
    plural="products",
    fields=STORE_PRODUCT_FIELDS,
    filters=_FILTERS,
    sortable=_SORTABLE,
    q=_search,
    scope=STORE_SCOPE,
)

"""What clients see of products: admin sees everything, the store a published, channel-scoped
view with the seller's public face."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, any_, bindparam, exists, literal_column, select
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
from mercato.query.values import absent, attr, constant, money, shape, timestamp
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


_COLLECTION = shape("product_collection", "id", "title", "handle")
_TYPE = shape("product_type", "id", "value")
_TAG = shape("product_tag", "id", "value")
_OPTION = shape("product_option", "id", "title", "product_id")
_IMAGE = shape("product_image", "id", "url", "rank")
_CATEGORY = shape("product_category", "id", "name", "handle")
_LOCATION_LEVEL = shape(
    "inventory_level",
    "id",
    "inventory_item_id",
    "location_id",
    "stocked_quantity",
    "reserved_quantity",
    "incoming_quantity",
    "available_quantity",
)
_INVENTORY_ITEM = shape(
    "inventory_item",
    "id",
    "sku",
    "title",
    "requires_shipping",
    relations={"location_levels": absent(_LOCATION_LEVEL, many=True)},
)
_VARIANT_INVENTORY_ITEM = shape(
    "variant_inventory_item",
    "id",
    "variant_id",
    "inventory_item_id",
    "required_quantity",
    relations={"inventory": absent(_INVENTORY_ITEM, many=False)},
)

# The seller is the shipping profile (admin-dashboard.md §5.1, §7): the dashboard's fulfil form
# ships the lines whose product's profile is the chosen option's ``shipping_profile_id``.
SHIPPING_PROFILE = Resource(
    name="shipping_profile",
    fields={
        "id": attr("id"),
        "name": attr("name"),
        "type": constant("default", {"type": "string", "const": "default"}),
    },
    defaults=("id", "name", "type"),
)

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
        # Mercato's variant is its own inventory item, without kits or per-location levels.
        "inventory": absent(_INVENTORY_ITEM, many=True),
        "inventory_items": absent(_VARIANT_INVENTORY_ITEM, many=True),
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
        "shipping_profile": Relation(
            lambda: SHIPPING_PROFILE, belongs_to(Seller, "seller_id"), many=False
        ),
        "collection": absent(_COLLECTION, many=False),
        "type": absent(_TYPE, many=False),
        "tags": absent(_TAG, many=True),
        "options": absent(_OPTION, many=True),
        "images": absent(_IMAGE, many=True),
        "categories": absent(_CATEGORY, many=True),
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


def _no_product(op: str, values: Any) -> ColumnElement[bool]:
    """A filter on a concept Mercato lacks (types, tags, collections, categories): no product
    has one, so every value matches nothing (and excluding values keeps every product)."""
    return literal_column("true" if op in ("$ne", "$nin") else "false")


def _is_giftcard(op: str, values: Any) -> ColumnElement[bool]:
    """Mercato sells no gift cards: ``false`` matches every product, ``true`` none."""
    matched = literal_column("false") == any_(values)
    return ~matched if op in ("$ne", "$nin") else matched


# Medusa's ``proposed`` and ``rejected`` are accepted; no product has them.
_ADMIN_STATUSES = frozenset({*PRODUCT_STATUSES, "proposed", "rejected"})

PRODUCT_LIST = ListSpec(
    model=Product,
    resource=PRODUCT,
    plural="products",
    fields=PRODUCT_FIELDS,
    filters={
        **_FILTERS,
        "status": Filter(Product.status, choices=_ADMIN_STATUSES),
        "sales_channel_id": Filter(in_channel),
        "is_giftcard": Filter(_is_giftcard, "boolean"),
        "type_id": Filter(_no_product),
        "tag_id": Filter(_no_product),
        "collection_id": Filter(_no_product),
        "category_id": Filter(_no_product),
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

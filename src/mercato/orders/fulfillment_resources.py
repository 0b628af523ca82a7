"""What clients see of fulfilments (orders.md "Fulfilment", admin-dashboard.md §5.1).

Medusa fields Mercato has no concept for answer constants: ``provider_id`` ``"manual_manual"``
(every fulfilment is manual), ``created_by`` / ``marked_shipped_by`` and ``metadata`` null.
``requires_shipping`` is true when any of its lines requires shipping; ``shipping_option`` is the
option it ships with (whose ``service_zone.fulfillment_set`` is synthetic, §7)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from mercato.orders.models import Fulfillment, FulfillmentItem, FulfillmentLabel, OrderLineItem
from mercato.query.driver import FixedQuery, keys_param
from mercato.query.fields import Computed, Relation, RenderContext, Resource
from mercato.query.loaders import belongs_to, has_many
from mercato.query.values import attr, constant, timestamp
from mercato.shipping_options.models import ShippingOption
from mercato.shipping_options.resources import SHIPPING_OPTION

PROVIDER_ID = "manual_manual"

FULFILLMENT_ITEM = Resource(
    name="fulfillment_item",
    fields={
        "id": attr("id"),
        "fulfillment_id": attr("fulfillment_id"),
        "line_item_id": attr("line_item_id"),
        "title": attr("title"),
        "sku": attr("sku"),
        "quantity": attr("quantity"),
    },
    defaults=("id", "fulfillment_id", "line_item_id", "title", "sku", "quantity"),
)

FULFILLMENT_LABEL = Resource(
    name="fulfillment_label",
    fields={
        "id": attr("id"),
        "fulfillment_id": attr("fulfillment_id"),
        "tracking_number": attr("tracking_number"),
        "tracking_url": attr("tracking_url"),
        "label_url": attr("label_url"),
        "created_at": timestamp("created_at"),
    },
    defaults=("id", "tracking_number", "tracking_url", "label_url", "created_at"),
)


_REQUIRES_SHIPPING = FixedQuery(
    select(
        FulfillmentItem.fulfillment_id,
        func.bool_or(OrderLineItem.requires_shipping).label("requires_shipping"),
    )
    .join(OrderLineItem, OrderLineItem.id == FulfillmentItem.line_item_id)
    .where(keys_param(FulfillmentItem.fulfillment_id))
    .group_by(FulfillmentItem.fulfillment_id)
)


async def _requires_shipping(ctx: RenderContext, fulfillments: list[Any]) -> list[dict[str, Any]]:
    """Whether any line of each fulfilment requires shipping, in one statement for the page."""
    rows = await _REQUIRES_SHIPPING.rows(
        ctx.session, connection=await ctx.driver(), keys=list({f.id for f in fulfillments})
    )
    found = {fulfillment_id: bool(value) for fulfillment_id, value in rows}
    return [{"requires_shipping": found.get(f.id, False)} for f in fulfillments]


FULFILLMENT = Resource(
    name="fulfillment",
    fields={
        "id": attr("id"),
        "order_id": attr("order_id"),
        "location_id": attr("location_id"),
        "shipping_option_id": attr("shipping_option_id"),
        "provider_id": constant(PROVIDER_ID),
        "requires_shipping": Computed(_requires_shipping, "requires_shipping", reads=("id",)),
        "packed_at": timestamp("packed_at"),
        "shipped_at": timestamp("shipped_at"),
        "delivered_at": timestamp("delivered_at"),
        "canceled_at": timestamp("canceled_at"),
        "no_notification": attr("no_notification"),
        "data": attr("data"),
        "metadata": constant(None),
        "created_by": constant(None),
        "marked_shipped_by": constant(None),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "items": Relation(
            lambda: FULFILLMENT_ITEM, has_many(FulfillmentItem, "fulfillment_id"), many=True
        ),
        "labels": Relation(
            lambda: FULFILLMENT_LABEL, has_many(FulfillmentLabel, "fulfillment_id"), many=True
        ),
        "shipping_option": Relation(
            lambda: SHIPPING_OPTION,
            belongs_to(ShippingOption, "shipping_option_id"),
            many=False,
        ),
    },
    defaults=(
        "id",
        "location_id",
        "shipping_option_id",
        "provider_id",
        "requires_shipping",
        "packed_at",
        "shipped_at",
        "delivered_at",
        "canceled_at",
        "data",
        "metadata",
        "created_at",
        "updated_at",
        "created_by",
        "marked_shipped_by",
    ),
)

fulfillments_of_orders = has_many(
    Fulfillment, "order_id", order_by=(Fulfillment.created_at, Fulfillment.id)
)

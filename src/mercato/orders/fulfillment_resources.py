from mercato.orders.models import Fulfillment, FulfillmentItem, FulfillmentLabel
from mercato.query.fields import Relation, Resource
from mercato.query.loaders import has_many
from mercato.query.values import attr, timestamp

FULFILLMENT_ITEM = Resource(
    name="fulfillment_item",
    fields={
        "id": attr("id"),
        "fulfillment_id": attr("fulfillment_id"),
        "line_item_id": attr("line_item_id"),
        "quantity": attr("quantity"),
    },
    defaults=("id", "fulfillment_id", "line_item_id", "quantity"),
)

FULFILLMENT_LABEL = Resource(
    name="fulfillment_label",
    fields={
        "id": attr("id"),
        "tracking_number": attr("tracking_number"),
        "tracking_url": attr("tracking_url"),
        "label_url": attr("label_url"),
    },
    defaults=("id", "tracking_number", "tracking_url", "label_url"),
)

FULFILLMENT = Resource(
    name="fulfillment",
    fields={
        "id": attr("id"),
        "order_id": attr("order_id"),
        "location_id": attr("location_id"),
        "packed_at": timestamp("packed_at"),
        "shipped_at": timestamp("shipped_at"),
        "delivered_at": timestamp("delivered_at"),
        "canceled_at": timestamp("canceled_at"),
        "no_notification": attr("no_notification"),
        "data": attr("data"),
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
    },
    defaults=(
        "id",
        "location_id",
        "packed_at",
        "shipped_at",
        "delivered_at",
        "canceled_at",
        "created_at",
        "updated_at",
    ),
)

fulfillments_of_orders = has_many(
    Fulfillment, "order_id", order_by=(Fulfillment.created_at, Fulfillment.id)
)

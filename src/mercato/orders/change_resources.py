"""What clients see of order changes (order-changes.md §2): changes with their actions,
returns with their items, credit lines; and the returns list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, literal_column, or_

from mercato.orders.change_models import (
    OrderChange,
    OrderChangeAction,
    OrderCreditLine,
    OrderReturn,
    ReturnItem,
)
from mercato.query.fields import FieldRules, Relation, RenderContext, Resource
from mercato.query.listing import Filter, ListSpec
from mercato.query.loaders import belongs_to, has_many
from mercato.query.values import attr, money, timestamp
from mercato.return_reasons.models import ReturnReason
from mercato.return_reasons.resources import RETURN_REASON

ORDER_CHANGE_ACTION = Resource(
    name="order_change_action",
    fields={
        "id": attr("id"),
        "order_change_id": attr("order_change_id"),
        "order_id": attr("order_id"),
        "return_id": attr("return_id"),
        "exchange_id": attr("exchange_id"),
        "claim_id": attr("claim_id"),
        "version": attr("version"),
        "ordering": attr("ordering"),
        "action": attr("action"),
        "reference": attr("reference"),
        "reference_id": attr("reference_id"),
        "details": attr("details"),
        "amount": money("amount"),
        "internal_note": attr("internal_note"),
        "applied": attr("applied"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    defaults=(
        "id",
        "order_change_id",
        "order_id",
        "return_id",
        "version",
        "ordering",
        "action",
        "reference",
        "reference_id",
        "details",
        "amount",
        "internal_note",
        "applied",
        "created_at",
        "updated_at",
    ),
)

_CHANGE_FIELDS = (
    "id",
    "order_id",
    "draft_order_id",
    "return_id",
    "exchange_id",
    "claim_id",
    "version",
    "change_type",
    "status",
    "description",
    "internal_note",
    "created_by",
    "requested_by",
    "confirmed_by",
    "declined_by",
    "declined_reason",
    "canceled_by",
)
_CHANGE_TIMES = (
    "requested_at",
    "confirmed_at",
    "declined_at",
    "canceled_at",
    "created_at",
    "updated_at",
)
ORDER_CHANGE = Resource(
    name="order_change",
    fields={
        **{name: attr(name) for name in _CHANGE_FIELDS},
        **{name: timestamp(name) for name in _CHANGE_TIMES},
        "metadata": attr("metadata_"),
    },
    relations={
        "actions": Relation(
            lambda: ORDER_CHANGE_ACTION,
            has_many(
                OrderChangeAction,
                "order_change_id",
                order_by=(OrderChangeAction.ordering, OrderChangeAction.id),
            ),
            many=True,
        ),
    },
    defaults=(*_CHANGE_FIELDS, *_CHANGE_TIMES, "metadata", "actions.*"),
)

RETURN_ITEM = Resource(
    name="return_item",
    fields={
        "id": attr("id"),
        "return_id": attr("return_id"),
        "item_id": attr("item_id"),
        "quantity": attr("quantity"),
        "received_quantity": attr("received_quantity"),
        "damaged_quantity": attr("damaged_quantity"),
        "reason_id": attr("reason_id"),
        "note": attr("note"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "reason": Relation(
            lambda: RETURN_REASON, belongs_to(ReturnReason, "reason_id"), many=False
        ),
    },
    defaults=(
        "id",
        "return_id",
        "item_id",
        "quantity",
        "received_quantity",
        "damaged_quantity",
        "reason_id",
        "note",
        "metadata",
    ),
)


def _order_resource() -> Resource:
    from mercato.orders.resources import ORDER

    return ORDER


def _shipping_method_resource() -> Resource:
    from mercato.orders.resources import SHIPPING_METHOD

    return SHIPPING_METHOD


def _order_model() -> type:
    from mercato.orders.models import Order

    return Order


def _methods_loader() -> Any:
    from mercato.orders.models import OrderShippingMethod

    return has_many(OrderShippingMethod, "return_id")


RETURN = Resource(
    name="return",
    fields={
        "id": attr("id"),
        "display_id": attr("display_id"),
        "order_id": attr("order_id"),
        "seller_id": attr("seller_id"),
        "exchange_id": attr("exchange_id"),
        "claim_id": attr("claim_id"),
        "order_version": attr("order_version"),
        "status": attr("status"),
        "location_id": attr("location_id"),
        "no_notification": attr("no_notification"),
        "currency_code": attr("currency_code"),
        "refund_amount": money("refund_amount"),
        "created_by": attr("created_by"),
        "requested_at": timestamp("requested_at"),
        "received_at": timestamp("received_at"),
        "canceled_at": timestamp("canceled_at"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "items": Relation(
            lambda: RETURN_ITEM,
            has_many(ReturnItem, "return_id", order_by=(ReturnItem.id,)),
            many=True,
        ),
        "shipping_methods": Relation(_shipping_method_resource, _methods_loader(), many=True),
        "order": Relation(_order_resource, belongs_to(_order_model(), "order_id"), many=False),
    },
    defaults=(
        "id",
        "display_id",
        "order_id",
        "seller_id",
        "exchange_id",
        "claim_id",
        "order_version",
        "status",
        "location_id",
        "no_notification",
        "refund_amount",
        "created_by",
        "requested_at",
        "received_at",
        "canceled_at",
        "metadata",
        "created_at",
        "updated_at",
        "items.*",
        "shipping_methods.*",
    ),
)

CREDIT_LINE = Resource(
    name="credit_line",
    fields={
        "id": attr("id"),
        "order_id": attr("order_id"),
        "amount": money("amount"),
        "reference": attr("reference"),
        "reference_id": attr("reference_id"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    defaults=("id", "amount", "reference", "reference_id", "metadata", "created_at"),
)

RETURN_FIELDS = FieldRules(defaults=RETURN.defaults)
_RETURN_FILTERS = {
    "id": Filter(OrderReturn.id),
    "order_id": Filter(OrderReturn.order_id),
    "status": Filter(OrderReturn.status),
    "created_at": Filter(OrderReturn.created_at, "datetime"),
    "updated_at": Filter(OrderReturn.updated_at, "datetime"),
}
_RETURN_SORTS = {"created_at": OrderReturn.created_at, "display_id": OrderReturn.display_id}
RETURN_LIST = ListSpec(
    model=OrderReturn,
    resource=RETURN,
    plural="returns",
    fields=RETURN_FIELDS,
    filters={**_RETURN_FILTERS, "seller_id": Filter(OrderReturn.seller_id)},
    sortable=_RETURN_SORTS,
)
VENDOR_RETURN_LIST = ListSpec(
    model=OrderReturn,
    resource=RETURN,
    plural="returns",
    fields=RETURN_FIELDS,
    filters=_RETURN_FILTERS,
    sortable=_RETURN_SORTS,
    scope=(OrderReturn.seller_id == bindparam("seller_id"),),
)
ORDER_CHANGE_FIELDS = FieldRules(defaults=ORDER_CHANGE.defaults)


_ACTIVE_CHANGES = has_many(
    OrderChange,
    "order_id",
    # Literal values: the loader's statement is compiled once for the driver (no bind lists).
    where=or_(
        OrderChange.status == literal_column("'pending'"),
        OrderChange.status == literal_column("'requested'"),
    ),
    order_by=(OrderChange.created_at, OrderChange.id),
)


async def _active_change(ctx: RenderContext, orders: list[Any]) -> list[Any]:
    """Each order's active change (at most one: a partial unique index), or None."""
    found = await _ACTIVE_CHANGES(ctx, orders)
    return [changes[0] if changes else None for changes in found]


def order_change_relations() -> dict[str, Relation]:
    """The order's relations to its changes: the active ``order_change`` (or null; §2.4),
    ``returns``, ``order_changes``, ``credit_lines``."""
    return {
        "order_change": Relation(lambda: ORDER_CHANGE, _active_change, many=False),
        "returns": Relation(
            lambda: RETURN,
            has_many(OrderReturn, "order_id", order_by=(OrderReturn.created_at, OrderReturn.id)),
            many=True,
        ),
        "order_changes": Relation(
            lambda: ORDER_CHANGE,
            has_many(OrderChange, "order_id", order_by=(OrderChange.created_at, OrderChange.id)),
            many=True,
        ),
        "credit_lines": Relation(
            lambda: CREDIT_LINE,
            has_many(
                OrderCreditLine,
                "order_id",
                order_by=(OrderCreditLine.created_at, OrderCreditLine.id),
            ),
            many=True,
        ),
    }

"""What clients see of order changes (order-changes.md §2): changes with their actions,
returns with their items, credit lines; and the returns list."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, false, literal_column, or_, true

from mercato.orders.change_models import (
    OrderChange,
    OrderChangeAction,
    OrderClaim,
    OrderClaimItem,
    OrderCreditLine,
    OrderExchange,
    OrderExchangeItem,
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
        "exchange_id",
        "claim_id",
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
        "exchanges": Relation(
            lambda: EXCHANGE,
            has_many(
                OrderExchange, "order_id", order_by=(OrderExchange.created_at, OrderExchange.id)
            ),
            many=True,
        ),
        "claims": Relation(
            lambda: CLAIM,
            has_many(OrderClaim, "order_id", order_by=(OrderClaim.created_at, OrderClaim.id)),
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


# --------------------------------------------------------------------------- exchanges, claims

_RETURN_ITEMS = has_many(ReturnItem, "return_id", order_by=(ReturnItem.id,))


async def _return_items(ctx: RenderContext, rows: list[Any]) -> list[Any]:
    """The items of each exchange's or claim's return (none before its first inbound item)."""
    found = await _RETURN_ITEMS(ctx, [SimpleNamespace(id=r.return_id) for r in rows])
    return [
        items if row.return_id is not None else [] for row, items in zip(rows, found, strict=True)
    ]


def _owned_methods(owner: str) -> Any:
    from mercato.orders.models import OrderShippingMethod

    return has_many(OrderShippingMethod, owner)


def _owned_lines(owner: str) -> Any:
    from mercato.orders.models import OrderLineItem

    return has_many(OrderLineItem, owner, order_by=(OrderLineItem.id,))


def _line_resource() -> Resource:
    from mercato.orders.resources import LINE_ITEM

    return LINE_ITEM


_OWNED_COMMON = {
    "id": attr("id"),
    "display_id": attr("display_id"),
    "order_id": attr("order_id"),
    "seller_id": attr("seller_id"),
    "return_id": attr("return_id"),
    "order_version": attr("order_version"),
    "currency_code": attr("currency_code"),
    "no_notification": attr("no_notification"),
    "created_by": attr("created_by"),
    "canceled_at": timestamp("canceled_at"),
    "metadata": attr("metadata_"),
    "created_at": timestamp("created_at"),
    "updated_at": timestamp("updated_at"),
}
_OWNED_DEFAULTS = (
    "id",
    "display_id",
    "order_id",
    "seller_id",
    "return_id",
    "order_version",
    "no_notification",
    "created_by",
    "canceled_at",
    "metadata",
    "created_at",
    "updated_at",
)

EXCHANGE_ITEM = Resource(
    name="exchange_item",
    fields={
        "id": attr("id"),
        "exchange_id": attr("exchange_id"),
        "item_id": attr("item_id"),
        "quantity": attr("quantity"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    defaults=("id", "exchange_id", "item_id", "quantity", "metadata"),
)

EXCHANGE = Resource(
    name="exchange",
    fields={
        **_OWNED_COMMON,
        "difference_due": money("difference_due"),
        "allow_backorder": attr("allow_backorder"),
    },
    relations={
        "additional_items": Relation(
            lambda: EXCHANGE_ITEM,
            has_many(OrderExchangeItem, "exchange_id", order_by=(OrderExchangeItem.id,)),
            many=True,
        ),
        "return_items": Relation(lambda: RETURN_ITEM, _return_items, many=True),
        "shipping_methods": Relation(
            _shipping_method_resource, _owned_methods("exchange_id"), many=True
        ),
        "items": Relation(_line_resource, _owned_lines("exchange_id"), many=True),
        "return": Relation(lambda: RETURN, belongs_to(OrderReturn, "return_id"), many=False),
        "order": Relation(_order_resource, belongs_to(_order_model(), "order_id"), many=False),
    },
    defaults=(
        *_OWNED_DEFAULTS,
        "difference_due",
        "allow_backorder",
        "additional_items.*",
        "return_items.*",
        "shipping_methods.*",
    ),
)

CLAIM_ITEM = Resource(
    name="claim_item",
    fields={
        "id": attr("id"),
        "claim_id": attr("claim_id"),
        "item_id": attr("item_id"),
        "quantity": attr("quantity"),
        "reason": attr("reason"),
        "note": attr("note"),
        "is_additional_item": attr("is_additional_item"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    defaults=("id", "claim_id", "item_id", "quantity", "reason", "note", "metadata"),
)

CLAIM = Resource(
    name="claim",
    fields={
        **_OWNED_COMMON,
        "type": attr("type"),
        "reason_id": attr("reason_id"),
        "refund_amount": money("refund_amount"),
    },
    relations={
        "claim_items": Relation(
            lambda: CLAIM_ITEM,
            has_many(
                OrderClaimItem,
                "claim_id",
                order_by=(OrderClaimItem.id,),
                where=OrderClaimItem.is_additional_item.is_(false()),
            ),
            many=True,
        ),
        "additional_items": Relation(
            lambda: CLAIM_ITEM,
            has_many(
                OrderClaimItem,
                "claim_id",
                order_by=(OrderClaimItem.id,),
                where=OrderClaimItem.is_additional_item.is_(true()),
            ),
            many=True,
        ),
        "return_items": Relation(lambda: RETURN_ITEM, _return_items, many=True),
        "shipping_methods": Relation(
            _shipping_method_resource, _owned_methods("claim_id"), many=True
        ),
        "items": Relation(_line_resource, _owned_lines("claim_id"), many=True),
        "return": Relation(lambda: RETURN, belongs_to(OrderReturn, "return_id"), many=False),
        "order": Relation(_order_resource, belongs_to(_order_model(), "order_id"), many=False),
    },
    defaults=(
        *_OWNED_DEFAULTS,
        "type",
        "reason_id",
        "refund_amount",
        "claim_items.*",
        "additional_items.*",
        "return_items.*",
        "shipping_methods.*",
    ),
)

EXCHANGE_FIELDS = FieldRules(defaults=EXCHANGE.defaults)
CLAIM_FIELDS = FieldRules(defaults=CLAIM.defaults)


def _list_filters(model: Any) -> dict[str, Filter]:
    return {
        "id": Filter(model.id),
        "order_id": Filter(model.order_id),
        "created_at": Filter(model.created_at, "datetime"),
        "updated_at": Filter(model.updated_at, "datetime"),
    }


EXCHANGE_LIST = ListSpec(
    model=OrderExchange,
    resource=EXCHANGE,
    plural="exchanges",
    fields=EXCHANGE_FIELDS,
    filters={**_list_filters(OrderExchange), "seller_id": Filter(OrderExchange.seller_id)},
    sortable={"created_at": OrderExchange.created_at, "display_id": OrderExchange.display_id},
)
VENDOR_EXCHANGE_LIST = ListSpec(
    model=OrderExchange,
    resource=EXCHANGE,
    plural="exchanges",
    fields=EXCHANGE_FIELDS,
    filters=_list_filters(OrderExchange),
    sortable={"created_at": OrderExchange.created_at, "display_id": OrderExchange.display_id},
    scope=(OrderExchange.seller_id == bindparam("seller_id"),),
)
CLAIM_LIST = ListSpec(
    model=OrderClaim,
    resource=CLAIM,
    plural="claims",
    fields=CLAIM_FIELDS,
    filters={
        **_list_filters(OrderClaim),
        "type": Filter(OrderClaim.type),
        "seller_id": Filter(OrderClaim.seller_id),
    },
    sortable={"created_at": OrderClaim.created_at, "display_id": OrderClaim.display_id},
)
VENDOR_CLAIM_LIST = ListSpec(
    model=OrderClaim,
    resource=CLAIM,
    plural="claims",
    fields=CLAIM_FIELDS,
    filters={**_list_filters(OrderClaim), "type": Filter(OrderClaim.type)},
    sortable={"created_at": OrderClaim.created_at, "display_id": OrderClaim.display_id},
    scope=(OrderClaim.seller_id == bindparam("seller_id"),),
)


def vendor_owned_fields() -> tuple[str, ...]:
    """What a vendor may select of its order's ``exchanges`` and ``claims`` (§2.4): their fields,
    items and methods, not their ``order`` / ``return`` relations (the order is the one read;
    its returns are ``returns``)."""
    paths: list[str] = []
    for relation, resource in (("exchanges", EXCHANGE), ("claims", CLAIM)):
        paths += [f"{relation}.{name}" for name in resource.fields]
        paths += [
            f"{relation}.{name}.*" for name in resource.relations if name not in ("order", "return")
        ]
    return tuple(paths)

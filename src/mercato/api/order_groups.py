"""``/admin/order-groups``, ``/admin/orders/:id/order-group`` and ``/store/order-groups``."""

from __future__ import annotations

from sqlalchemy import select

from mercato.api.deps import CurrentCustomer, Query, Session
from mercato.api.openapi import list_operation, render_operation
from mercato.errors import not_found
from mercato.http.routing import APIRouter
from mercato.orders.group_resources import (
    ADMIN_GROUP_DETAIL_FIELDS,
    ADMIN_GROUP_LIST,
    LIVE,
    ORDER_GROUP,
    OWNED,
    STORE_GROUP_FIELDS,
    STORE_GROUP_LIST,
)
from mercato.orders.models import OrderGroup, OrderGroupOrder
from mercato.query.listing import find_or_404, run_list, run_retrieve

admin_router = APIRouter(tags=["admin: order groups"])
store_router = APIRouter(prefix="/store/order-groups", tags=["store: order groups"])
ENTITY = "Order group"


@admin_router.get(
    "/admin/order-groups",
    operation_id="AdminListOrderGroups",
    openapi_extra=list_operation(ADMIN_GROUP_LIST),
)
async def list_order_groups(session: Session, params: Query) -> dict:
    """Every group; filters select groups, never change their computed fields."""
    return await run_list(session, ADMIN_GROUP_LIST, params)


@admin_router.get(
    "/admin/order-groups/{group_id}",
    operation_id="AdminGetOrderGroup",
    openapi_extra=render_operation(ORDER_GROUP, ADMIN_GROUP_DETAIL_FIELDS),
)
async def get_order_group(group_id: str, session: Session, params: Query) -> dict:
    group = await find_or_404(session, OrderGroup, ENTITY, group_id)
    return {
        "order_group": await run_retrieve(
            session, resource=ORDER_GROUP, rules=ADMIN_GROUP_DETAIL_FIELDS, row=group, params=params
        )
    }


@admin_router.get(
    "/admin/orders/{order_id}/order-group",
    operation_id="AdminGetOrderOrderGroup",
    openapi_extra=render_operation(ORDER_GROUP, ADMIN_GROUP_DETAIL_FIELDS),
)
async def get_order_order_group(order_id: str, session: Session, params: Query) -> dict:
    """The group containing the order; 404 when the order is unknown or in no group."""
    group = await session.scalar(
        select(OrderGroup)
        .join(OrderGroupOrder, OrderGroupOrder.order_group_id == OrderGroup.id)
        .where(OrderGroupOrder.order_id == order_id, LIVE)
    )
    if group is None:
        raise not_found("Order group for order", order_id)
    return {
        "order_group": await run_retrieve(
            session, resource=ORDER_GROUP, rules=ADMIN_GROUP_DETAIL_FIELDS, row=group, params=params
        )
    }


@store_router.get(
    "", operation_id="StoreListOrderGroups", openapi_extra=list_operation(STORE_GROUP_LIST)
)
async def store_list_order_groups(
    session: Session, customer: CurrentCustomer, params: Query
) -> dict:
    """The logged-in customer's groups only."""
    return await run_list(session, STORE_GROUP_LIST, params, bind={"customer_id": customer.id})


@store_router.get(
    "/{group_id}",
    operation_id="StoreGetOrderGroup",
    openapi_extra=render_operation(ORDER_GROUP, STORE_GROUP_FIELDS),
)
async def store_get_order_group(
    group_id: str, session: Session, customer: CurrentCustomer, params: Query
) -> dict:
    """Another customer's group, a guest group and an unknown id give the same 404."""
    group = await find_or_404(
        session, OrderGroup, ENTITY, group_id, scope=OWNED, bind={"customer_id": customer.id}
    )
    return {
        "order_group": await run_retrieve(
            session, resource=ORDER_GROUP, rules=STORE_GROUP_FIELDS, row=group, params=params
        )
    }

"""``/admin/orders`` and ``/vendor/orders`` (a seller's members see their own orders only)."""

from __future__ import annotations

from mercato.api.deps import Providers, Query, Session, UoW, Vendor
from mercato.api.openapi import list_operation, render_operation
from mercato.http.routing import APIRouter
from mercato.orders import payment_workflows as money
from mercato.orders import service
from mercato.orders.rendering import render_order
from mercato.orders.resources import (
    ORDER,
    ORDER_DETAIL_FIELDS,
    ORDER_LIST,
    VENDOR_ORDER_DETAIL_FIELDS,
    VENDOR_ORDER_LIST,
)
from mercato.orders.schemas import UpdateOrder
from mercato.query.listing import run_list

admin_router = APIRouter(prefix="/admin/orders", tags=["admin: orders"])
vendor_router = APIRouter(prefix="/vendor/orders", tags=["vendor: orders"])
_ADMIN_ORDER = render_operation(ORDER, ORDER_DETAIL_FIELDS)
_VENDOR_ORDER = render_operation(ORDER, VENDOR_ORDER_DETAIL_FIELDS)


@admin_router.get("", operation_id="AdminListOrders", openapi_extra=list_operation(ORDER_LIST))
async def list_orders(session: Session, params: Query) -> dict:
    """Filters: id, q (display id, email, customer name), status, seller_id, customer_id,
    sales_channel_id, region_id, payment_status, fulfillment_status, created_at, updated_at."""
    return await run_list(session, ORDER_LIST, params)


@admin_router.get("/{order_id}", operation_id="AdminGetOrder", openapi_extra=_ADMIN_ORDER)
async def get_order(order_id: str, session: Session, params: Query) -> dict:
    order = await service.get_order(session, order_id)
    return await render_order(session, order, params, fresh=True)


@admin_router.post("/{order_id}", operation_id="AdminUpdateOrder", openapi_extra=_ADMIN_ORDER)
async def update_order(
    order_id: str, body: UpdateOrder, uow: UoW, session: Session, params: Query
) -> dict:
    """Change the email, addresses or metadata."""
    changes = body.model_dump(exclude_unset=True)
    await service.update_order(uow, order_id=order_id, changes=changes)
    return await render_order(session, await service.get_order(session, order_id), params)


@admin_router.post(
    "/{order_id}/cancel", operation_id="AdminCancelOrder", openapi_extra=_ADMIN_ORDER
)
async def cancel_order(
    order_id: str, uow: UoW, providers: Providers, session: Session, params: Query
) -> dict:
    """Void the uncaptured share, refund the captured part, release reservations."""
    await money.cancel_order(uow, order_id=order_id, providers=providers)
    return await render_order(session, await service.get_order(session, order_id), params)


@admin_router.post(
    "/{order_id}/complete", operation_id="AdminCompleteOrder", openapi_extra=_ADMIN_ORDER
)
async def complete_order(order_id: str, uow: UoW, session: Session, params: Query) -> dict:
    await service.complete_order(uow, order_id=order_id)
    return await render_order(session, await service.get_order(session, order_id), params)


@admin_router.post(
    "/{order_id}/archive", operation_id="AdminArchiveOrder", openapi_extra=_ADMIN_ORDER
)
async def archive_order(order_id: str, uow: UoW, session: Session, params: Query) -> dict:
    await service.archive_order(uow, order_id=order_id)
    return await render_order(session, await service.get_order(session, order_id), params)


@vendor_router.get(
    "", operation_id="VendorListOrders", openapi_extra=list_operation(VENDOR_ORDER_LIST)
)
async def vendor_list_orders(session: Session, vendor: Vendor, params: Query) -> dict:
    """The seller's own orders; the same filters as the admin list except ``seller_id``."""
    return await run_list(session, VENDOR_ORDER_LIST, params, bind={"seller_id": vendor.seller_id})


@vendor_router.get("/{order_id}", operation_id="VendorGetOrder", openapi_extra=_VENDOR_ORDER)
async def vendor_get_order(order_id: str, session: Session, vendor: Vendor, params: Query) -> dict:
    order = await service.get_order(session, order_id, seller_id=vendor.seller_id)
    return await render_order(session, order, params, vendor=True, fresh=True)


@vendor_router.post(
    "/{order_id}/cancel", operation_id="VendorCancelOrder", openapi_extra=_VENDOR_ORDER
)
async def vendor_cancel_order(
    order_id: str, uow: UoW, providers: Providers, session: Session, vendor: Vendor, params: Query
) -> dict:
    await money.cancel_order(
        uow,
        order_id=order_id,
        seller_id=vendor.seller_id,
        providers=providers,
    )
    order = await service.get_order(session, order_id, seller_id=vendor.seller_id)
    return await render_order(session, order, params, vendor=True)


@vendor_router.post(
    "/{order_id}/complete", operation_id="VendorCompleteOrder", openapi_extra=_VENDOR_ORDER
)
async def vendor_complete_order(
    order_id: str, uow: UoW, session: Session, vendor: Vendor, params: Query
) -> dict:
    await service.complete_order(uow, order_id=order_id, seller_id=vendor.seller_id)
    order = await service.get_order(session, order_id, seller_id=vendor.seller_id)
    return await render_order(session, order, params, vendor=True)

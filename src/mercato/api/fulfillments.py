"""Fulfilment routes for admins and for a seller's members (orders.md "Fulfilment").

Admin and vendor handlers call the same use cases; the vendor ones pass the member's seller, so
another seller's order is a 404 and nothing is touched. Every route answers ``{order}`` rendered
for its audience with the order detail's ``fields`` rules (whose defaults carry the fulfilments,
their items and labels, so the caller learns a new fulfilment's id).
"""

from __future__ import annotations

from typing import Any

from mercato.api.deps import Query, Session, UoW, Vendor
from mercato.api.openapi import render_operation
from mercato.errors import invalid
from mercato.http.routing import APIRouter
from mercato.orders import fulfillments as service
from mercato.orders.rendering import render_order
from mercato.orders.resources import ORDER, ORDER_DETAIL_FIELDS, VENDOR_ORDER_DETAIL_FIELDS
from mercato.orders.schemas import (
    CancelFulfillment,
    CreateFulfillment,
    CreateShipment,
    MarkDelivered,
)
from mercato.orders.service import get_order
from mercato.query.fields import select as select_fields

admin_router = APIRouter(prefix="/admin/orders", tags=["admin: fulfillments"])
vendor_router = APIRouter(prefix="/vendor/orders", tags=["vendor: fulfillments"])
_ADMIN_ORDER = render_operation(ORDER, ORDER_DETAIL_FIELDS)
_VENDOR_ORDER = render_operation(ORDER, VENDOR_ORDER_DETAIL_FIELDS)


def _render_params(params: dict[str, Any], *, vendor: bool) -> dict[str, Any]:
    """Check the query before anything is written (a bad ``fields`` must not follow a commit)."""
    unknown = [k for k in params if k != "fields"]
    if unknown:
        raise invalid(
            f"Invalid request: Unrecognized fields: {', '.join(repr(k) for k in unknown)}"
        )
    fields = params.get("fields")
    if fields is not None and not isinstance(fields, str):
        raise invalid("fields must be a comma-separated string")
    select_fields(ORDER, VENDOR_ORDER_DETAIL_FIELDS if vendor else ORDER_DETAIL_FIELDS, fields)
    return params


async def _respond(
    session: Session, order_id: str, params: dict[str, Any], *, seller_id: str | None = None
) -> dict:
    order = await get_order(session, order_id, seller_id=seller_id)
    return await render_order(session, order, params, vendor=seller_id is not None)


def _items(items) -> list[service.ItemQuantity] | None:
    if items is None:
        return None
    return [service.ItemQuantity(i.id, i.quantity) for i in items]


async def _create(
    session: Session, uow: UoW, order_id: str, body: CreateFulfillment, params, seller_id
) -> dict:
    rendered = _render_params(params, vendor=seller_id is not None)
    await service.create_fulfillment(
        uow,
        order_id=order_id,
        items=_items(body.items) or [],
        location_id=body.location_id,
        shipping_option_id=body.shipping_option_id,
        no_notification=body.no_notification,
        seller_id=seller_id,
    )
    return await _respond(session, order_id, rendered, seller_id=seller_id)


async def _ship(
    session: Session,
    uow: UoW,
    order_id: str,
    fulfillment_id: str,
    body: CreateShipment,
    params,
    seller_id,
) -> dict:
    rendered = _render_params(params, vendor=seller_id is not None)
    await service.create_shipment(
        uow,
        order_id=order_id,
        fulfillment_id=fulfillment_id,
        items=_items(body.items),
        labels=[
            service.Label(label.tracking_number, label.tracking_url, label.label_url)
            for label in body.labels or []
        ],
        no_notification=body.no_notification,
        seller_id=seller_id,
    )
    return await _respond(session, order_id, rendered, seller_id=seller_id)


async def _deliver(
    session: Session,
    uow: UoW,
    order_id: str,
    fulfillment_id: str,
    body: MarkDelivered | None,
    params,
    seller_id,
) -> dict:
    rendered = _render_params(params, vendor=seller_id is not None)
    await service.mark_delivered(
        uow,
        order_id=order_id,
        fulfillment_id=fulfillment_id,
        no_notification=body.no_notification if body else None,
        seller_id=seller_id,
    )
    return await _respond(session, order_id, rendered, seller_id=seller_id)


async def _cancel(
    session: Session,
    uow: UoW,
    order_id: str,
    fulfillment_id: str,
    body: CancelFulfillment | None,
    params,
    seller_id,
) -> dict:
    rendered = _render_params(params, vendor=seller_id is not None)
    await service.cancel_fulfillment(
        uow,
        order_id=order_id,
        fulfillment_id=fulfillment_id,
        no_notification=body.no_notification if body else None,
        seller_id=seller_id,
    )
    return await _respond(session, order_id, rendered, seller_id=seller_id)


# --------------------------------------------------------------------------- admin


@admin_router.post(
    "/{order_id}/fulfillments",
    operation_id="AdminCreateOrderFulfillment",
    openapi_extra=_ADMIN_ORDER,
)
async def create_fulfillment(
    order_id: str, body: CreateFulfillment, session: Session, uow: UoW, params: Query
) -> dict:
    """Pack order lines (partial allowed) at the seller's stock location; converts reservations."""
    return await _create(session, uow, order_id, body, params, None)


@admin_router.post(
    "/{order_id}/fulfillments/{fulfillment_id}/shipments",
    operation_id="AdminCreateOrderShipment",
    openapi_extra=_ADMIN_ORDER,
)
async def create_shipment(
    order_id: str,
    fulfillment_id: str,
    body: CreateShipment,
    session: Session,
    uow: UoW,
    params: Query,
) -> dict:
    """Ship a fulfilment with its tracking labels."""
    return await _ship(session, uow, order_id, fulfillment_id, body, params, None)


@admin_router.post(
    "/{order_id}/fulfillments/{fulfillment_id}/mark-as-delivered",
    operation_id="AdminMarkOrderFulfillmentAsDelivered",
    openapi_extra=_ADMIN_ORDER,
)
async def mark_delivered(
    order_id: str,
    fulfillment_id: str,
    session: Session,
    uow: UoW,
    params: Query,
    body: MarkDelivered | None = None,
) -> dict:
    return await _deliver(session, uow, order_id, fulfillment_id, body, params, None)


@admin_router.post(
    "/{order_id}/fulfillments/{fulfillment_id}/cancel",
    operation_id="AdminCancelOrderFulfillment",
    openapi_extra=_ADMIN_ORDER,
)
async def cancel_fulfillment(
    order_id: str,
    fulfillment_id: str,
    session: Session,
    uow: UoW,
    params: Query,
    body: CancelFulfillment | None = None,
) -> dict:
    """Refused once shipped or delivered; restores stock and reservations."""
    return await _cancel(session, uow, order_id, fulfillment_id, body, params, None)


# --------------------------------------------------------------------------- vendor


@vendor_router.post(
    "/{order_id}/fulfillments",
    operation_id="VendorCreateOrderFulfillment",
    openapi_extra=_VENDOR_ORDER,
)
async def vendor_create_fulfillment(
    order_id: str,
    body: CreateFulfillment,
    session: Session,
    uow: UoW,
    vendor: Vendor,
    params: Query,
) -> dict:
    return await _create(session, uow, order_id, body, params, vendor.seller_id)


@vendor_router.post(
    "/{order_id}/fulfillments/{fulfillment_id}/shipments",
    operation_id="VendorCreateOrderShipment",
    openapi_extra=_VENDOR_ORDER,
)
async def vendor_create_shipment(
    order_id: str,
    fulfillment_id: str,
    body: CreateShipment,
    session: Session,
    uow: UoW,
    vendor: Vendor,
    params: Query,
) -> dict:
    return await _ship(session, uow, order_id, fulfillment_id, body, params, vendor.seller_id)


@vendor_router.post(
    "/{order_id}/fulfillments/{fulfillment_id}/mark-as-delivered",
    operation_id="VendorMarkOrderFulfillmentAsDelivered",
    openapi_extra=_VENDOR_ORDER,
)
async def vendor_mark_delivered(
    order_id: str,
    fulfillment_id: str,
    session: Session,
    uow: UoW,
    vendor: Vendor,
    params: Query,
    body: MarkDelivered | None = None,
) -> dict:
    return await _deliver(session, uow, order_id, fulfillment_id, body, params, vendor.seller_id)


@vendor_router.post(
    "/{order_id}/fulfillments/{fulfillment_id}/cancel",
    operation_id="VendorCancelOrderFulfillment",
    openapi_extra=_VENDOR_ORDER,
)
async def vendor_cancel_fulfillment(
    order_id: str,
    fulfillment_id: str,
    session: Session,
    uow: UoW,
    vendor: Vendor,
    params: Query,
    body: CancelFulfillment | None = None,
) -> dict:
    return await _cancel(session, uow, order_id, fulfillment_id, body, params, vendor.seller_id)

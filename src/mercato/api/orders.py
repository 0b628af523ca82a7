"""``/admin/orders`` and ``/vendor/orders`` (a seller's members see their own orders only)."""

from __future__ import annotations

from mercato.api.deps import Providers, Query, Session, UoW, Vendor
from mercato.api.openapi import (
    envelope,
    list_operation,
    operation,
    query_parameter,
    render_operation,
)
from mercato.errors import invalid
from mercato.http.routing import APIRouter
from mercato.orders import payment_workflows as money
from mercato.orders import service
from mercato.orders.rendering import render_order
from mercato.orders.resources import (
    ORDER,
    ORDER_DETAIL_FIELDS,
    ORDER_ITEM,
    ORDER_ITEM_FIELDS,
    ORDER_LIST,
    PLACED_ORDER,
    PLACED_ORDER_FIELDS,
    VENDOR_ORDER_DETAIL_FIELDS,
    VENDOR_ORDER_LIST,
)
from mercato.orders.schemas import UpdateOrder
from mercato.query.fields import RenderContext, render
from mercato.query.fields import select as select_fields
from mercato.query.listing import run_list, run_retrieve
from mercato.query.openapi import fields_parameter, item_schema

admin_router = APIRouter(prefix="/admin/orders", tags=["admin: orders"])
vendor_router = APIRouter(prefix="/vendor/orders", tags=["vendor: orders"])
_ADMIN_ORDER = render_operation(ORDER, ORDER_DETAIL_FIELDS)
_VENDOR_ORDER = render_operation(ORDER, VENDOR_ORDER_DETAIL_FIELDS)
_VERSION = query_parameter(
    "version",
    {"type": "integer", "minimum": 1},
    "The current version (a plain read) or `1`: the order as placed, fields limited to `id, "
    "version, display_id, currency_code, created_at, total` (`total` = "
    "`summary.original_order_total`); any other version is 400.",
)
_ADMIN_GET_ORDER = operation(
    parameters=[fields_parameter(ORDER, ORDER_DETAIL_FIELDS), _VERSION],
    body=envelope(
        {
            "order": {
                "anyOf": [
                    item_schema(ORDER, ORDER_DETAIL_FIELDS),
                    item_schema(PLACED_ORDER, PLACED_ORDER_FIELDS),  # ``?version=1``
                ]
            }
        }
    ),
)


@admin_router.get("", operation_id="AdminListOrders", openapi_extra=list_operation(ORDER_LIST))
async def list_orders(session: Session, params: Query) -> dict:
    """Filters: id, q (display id, email, customer name), status, seller_id, customer_id,
    sales_channel_id, region_id, payment_status, fulfillment_status, created_at, updated_at."""
    return await run_list(session, ORDER_LIST, params)


@admin_router.get("/{order_id}", operation_id="AdminGetOrder", openapi_extra=_ADMIN_GET_ORDER)
async def get_order(order_id: str, session: Session, params: Query) -> dict:
    """``?version=`` reads the current version or the order as placed (``1``)."""
    order = await service.get_order(session, order_id)
    if "version" in params:
        params = dict(params)
        version = params.pop("version")
        if version != str(order.version):
            if version != "1":
                raise invalid(
                    f"Only version 1 and the current version {order.version} of order "
                    f"{order_id} can be read"
                )
            placed = await run_retrieve(
                session, resource=PLACED_ORDER, rules=PLACED_ORDER_FIELDS, row=order, params=params
            )
            return {"order": placed}
    return await render_order(session, order, params, fresh=True)


_LINE_ITEMS = operation(
    parameters=[
        fields_parameter(ORDER_ITEM, ORDER_ITEM_FIELDS),
        query_parameter(
            "item_id",
            {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "Only these lines (one id or a list, `item_id[]=…`).",
        ),
        query_parameter(
            "version",
            {"type": "integer", "minimum": 1},
            "A version of the order, 1 to the current one (the timeline names the version of an "
            "edit). Lines are answered as they are now: lines an edit removed are still listed.",
        ),
    ],
    body=envelope(
        {"order_items": {"type": "array", "items": item_schema(ORDER_ITEM, ORDER_ITEM_FIELDS)}}
    ),
    errors=(404,),
)


@admin_router.get(
    "/{order_id}/line-items", operation_id="AdminListOrderLineItems", openapi_extra=_LINE_ITEMS
)
async def list_order_line_items(order_id: str, session: Session, params: Query) -> dict:
    """The order's lines as Medusa's order items ``{item_id, quantity, item}``, lines an edit
    set to 0 included (the timeline reads them after a change)."""
    unknown = [k for k in params if k not in ("fields", "item_id", "version")]
    if unknown:
        raise invalid(
            f"Invalid request: Unrecognized fields: {', '.join(repr(k) for k in unknown)}"
        )
    fields = params.get("fields")
    if fields is not None and not isinstance(fields, str):
        raise invalid("fields must be a comma-separated string")
    raw = params.get("item_id")
    item_ids = [raw] if isinstance(raw, str) else raw
    if item_ids is not None and not (
        isinstance(item_ids, list) and all(isinstance(i, str) for i in item_ids)
    ):
        raise invalid("item_id must be a string or a list of strings")
    tree = select_fields(ORDER_ITEM, ORDER_ITEM_FIELDS, fields)
    order = await service.get_order(session, order_id)
    version = params.get("version")
    if version is not None and not (
        isinstance(version, str) and version.isdigit() and 1 <= int(version) <= order.version
    ):
        raise invalid(f"version must be a version of order {order_id}, 1 to {order.version}")
    rows = await service.order_lines(session, order_id, item_ids)
    return {"order_items": await render(RenderContext(session), ORDER_ITEM, rows, tree)}


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

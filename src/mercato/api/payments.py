"""``/store/payment-collections``; per-order capture and refund for admins and sellers
(``/admin|vendor/orders/:id/capture|refund``) and ``/admin/payments/:id/capture``."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import (
    Admin,
    AdminActor,
    OptionalCustomer,
    Providers,
    Query,
    Session,
    UoW,
    Vendor,
)
from mercato.api.idempotency import IdempotencyKey, StoreIdempotencyKey
from mercato.api.openapi import envelope, operation, render_operation
from mercato.carts import payments as service
from mercato.carts.resources import fields_tree
from mercato.errors import invalid
from mercato.http.routing import APIRouter
from mercato.orders import change_payments
from mercato.orders import payment_workflows as money
from mercato.orders.rendering import render_order
from mercato.orders.resources import ORDER, ORDER_DETAIL_FIELDS, VENDOR_ORDER_DETAIL_FIELDS
from mercato.orders.service import get_order
from mercato.payments.models import PaymentCollection
from mercato.payments.rendering import payment_view
from mercato.payments.resources import PAYMENT_COLLECTION, PAYMENT_COLLECTION_FIELDS
from mercato.payments.schemas import (
    CaptureAmount,
    CapturePayment,
    CreatePaymentCollection,
    CreatePaymentSession,
    MarkAsPaid,
    RefundAmount,
    RefundPayment,
)
from mercato.query.fields import RenderContext, render

store_router = APIRouter(prefix="/store/payment-collections", tags=["store: payments"])


def _tree(params: dict):
    return fields_tree(PAYMENT_COLLECTION, PAYMENT_COLLECTION_FIELDS, params)


async def _render(session, collection: PaymentCollection, tree) -> dict:
    rendered = await render(RenderContext(session), PAYMENT_COLLECTION, [collection], tree)
    return {"payment_collection": rendered[0]}


@store_router.post(
    "",
    operation_id="StoreCreatePaymentCollection",
    # an unknown cart is a 404 (checkout.md); a cart being completed, 409
    openapi_extra=render_operation(
        PAYMENT_COLLECTION, PAYMENT_COLLECTION_FIELDS, errors=(404, 409)
    ),
)
async def create_payment_collection(
    body: CreatePaymentCollection,
    session: Session,
    uow: UoW,
    customer: OptionalCustomer,
    params: Query,
) -> dict:
    """The cart's payment collection for its total; the same collection on every call."""
    tree = _tree(params)
    collection = await service.get_or_create_payment_collection(
        uow, cart_id=body.cart_id, customer=customer
    )
    return await _render(session, collection, tree)


@store_router.post(
    "/{collection_id}/payment-sessions",
    operation_id="StoreCreatePaymentSession",
    openapi_extra=render_operation(PAYMENT_COLLECTION, PAYMENT_COLLECTION_FIELDS, errors=(409,)),
)
async def create_payment_session(
    collection_id: str,
    body: CreatePaymentSession,
    session: Session,
    uow: UoW,
    customer: OptionalCustomer,
    params: Query,
) -> dict:
    """Start paying with a provider enabled in the cart's (or order's) region; replaces earlier
    sessions. A change or draft order collection (order-changes.md §10) is paid here too."""
    tree = _tree(params)
    if await change_payments.is_change_collection(session, collection_id):
        await change_payments.create_payment_session(
            uow, collection_id=collection_id, customer=customer, **body.model_dump()
        )
        return await _render(session, await _collection(session, collection_id), tree)
    collection = await service.create_payment_session(
        uow, collection_id=collection_id, customer=customer, **body.model_dump()
    )
    return await _render(session, collection, tree)


async def _collection(session: AsyncSession, collection_id: str) -> PaymentCollection:
    row = await session.get(PaymentCollection, collection_id, populate_existing=True)
    assert row is not None
    return row


@store_router.post(
    "/{collection_id}/payment-sessions/{session_id}/authorize",
    operation_id="StoreAuthorizePaymentSession",
    openapi_extra=render_operation(
        PAYMENT_COLLECTION, PAYMENT_COLLECTION_FIELDS, errors=(404, 409, 422)
    ),
)
async def authorize_payment_session(
    collection_id: str,
    session_id: str,
    session: Session,
    uow: UoW,
    providers: Providers,
    customer: OptionalCustomer,
    params: Query,
    key: StoreIdempotencyKey,
) -> dict:
    """Authorize an order change's or a draft order's collection (order-changes.md §10); a
    cart's collection is paid by completing the cart. 422 when the provider declines or needs
    more."""
    tree = _tree(params)
    await change_payments.authorize(
        uow,
        collection_id=collection_id,
        session_id=session_id,
        customer=customer,
        providers=providers,
    )
    return await _render(session, await _collection(session, collection_id), tree)


admin_collections_router = APIRouter(tags=["admin: payments"])


@admin_collections_router.post(
    "/admin/payment-collections/{collection_id}/mark-as-paid",
    operation_id="AdminMarkPaymentCollectionAsPaid",
    openapi_extra=render_operation(PAYMENT_COLLECTION, PAYMENT_COLLECTION_FIELDS),
)
async def mark_payment_collection_as_paid(
    collection_id: str,
    body: MarkAsPaid,
    session: Session,
    uow: UoW,
    actor: Admin,
    params: Query,
    key: IdempotencyKey,
) -> dict:
    """Record an order change's or a draft order's collection as paid outside any processor
    (order-changes.md §3.6): authorized and captured with ``pp_system_default``, one capture
    per order share."""
    tree = _tree(params)
    await change_payments.mark_as_paid(
        uow, collection_id=collection_id, order_id=body.order_id, created_by=_admin_id(actor)
    )
    return await _render(session, await _collection(session, collection_id), tree)


# ``payment_view``: the payment with its captures and refunds.
_PAYMENT = {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}

# Per-order capture and refund (orders.md "Money"); vendor routes are scoped to the member's seller.
admin_router = APIRouter(tags=["admin: payments"])
vendor_router = APIRouter(tags=["vendor: payments"])


def _admin_id(actor: AdminActor) -> str | None:
    return actor.user_id or actor.api_key_id


async def _order_body(
    session: AsyncSession, order_id: str, params: dict[str, Any], *, seller_id: str | None = None
) -> dict[str, Any]:
    order = await get_order(session, order_id, seller_id=seller_id)
    return await render_order(session, order, params, vendor=seller_id is not None)


def _check(params: dict, *, vendor: bool = False) -> None:
    """A bad query string is refused before any money moves."""
    fields_tree(ORDER, VENDOR_ORDER_DETAIL_FIELDS if vendor else ORDER_DETAIL_FIELDS, params)


@admin_router.post(
    "/admin/orders/{order_id}/capture",
    operation_id="AdminCaptureOrder",
    openapi_extra=render_operation(ORDER, ORDER_DETAIL_FIELDS),
)
async def admin_capture_order(
    order_id: str,
    uow: UoW,
    providers: Providers,
    session: Session,
    actor: Admin,
    params: Query,
    idempotency_key: IdempotencyKey,
    body: CaptureAmount | None = None,
) -> dict:
    """Capture up to the order's share minus what is captured for it (default: all of it)."""
    _check(params)
    await money.capture_order(
        uow,
        order_id=order_id,
        amount=body.amount if body else None,
        created_by=_admin_id(actor),
        idempotency_key=idempotency_key,
        providers=providers,
    )
    return await _order_body(session, order_id, params)


@admin_router.post(
    "/admin/orders/{order_id}/refund",
    operation_id="AdminRefundOrder",
    openapi_extra=render_operation(ORDER, ORDER_DETAIL_FIELDS),
)
async def admin_refund_order(
    order_id: str,
    uow: UoW,
    providers: Providers,
    session: Session,
    actor: Admin,
    params: Query,
    idempotency_key: IdempotencyKey,
    body: RefundAmount | None = None,
) -> dict:
    """Refund up to what was captured for the order minus its refunds (default: all of it)."""
    _check(params)
    body = body or RefundAmount()
    await money.refund_order(
        uow,
        order_id=order_id,
        amount=body.amount,
        note=body.note,
        reason=body.reason,
        created_by=_admin_id(actor),
        idempotency_key=idempotency_key,
        providers=providers,
    )
    return await _order_body(session, order_id, params)


@admin_router.post(
    "/admin/payments/{payment_id}/capture",
    operation_id="AdminCapturePayment",
    openapi_extra=operation(body=envelope({"payment": _PAYMENT})),
)
async def admin_capture_payment(
    payment_id: str,
    uow: UoW,
    providers: Providers,
    session: Session,
    actor: Admin,
    params: Query,
    idempotency_key: IdempotencyKey,
    body: CapturePayment | None = None,
) -> dict:
    """Medusa-compatible: capture across the payment's orders (by order id), each capped at
    what is left of its share; default everything left; a fully captured payment is a no-op.
    ``order_id`` captures for that order only (as ``POST /admin/orders/:id/capture``); an
    ``amount`` on a payment serving several orders needs it."""
    if params:
        unknown = ", ".join(repr(k) for k in params)
        raise invalid(f"Invalid request: Unrecognized fields: {unknown}")
    body = body or CapturePayment()
    order_id = await money.capture_target(session, payment_id, body.order_id, body.amount)
    if order_id is not None:
        await money.capture_order(
            uow,
            order_id=order_id,
            amount=body.amount,
            created_by=_admin_id(actor),
            idempotency_key=idempotency_key,
            providers=providers,
        )
    else:
        await money.capture_payment(
            uow,
            payment_id=payment_id,
            amount=body.amount,
            created_by=_admin_id(actor),
            idempotency_key=idempotency_key,
            providers=providers,
        )
    return {"payment": await payment_view(session, payment_id)}


@admin_router.post(
    "/admin/payments/{payment_id}/refund",
    operation_id="AdminRefundPayment",
    openapi_extra=operation(body=envelope({"payment": _PAYMENT})),
)
async def admin_refund_payment(
    payment_id: str,
    uow: UoW,
    providers: Providers,
    session: Session,
    actor: Admin,
    params: Query,
    idempotency_key: IdempotencyKey,
    body: RefundPayment | None = None,
) -> dict:
    """Medusa's route, for one order of the payment (``order_id``, required when the payment is
    shared): the same caps as ``POST /admin/orders/:id/refund`` (order-changes.md §3.6)."""
    if params:
        unknown = ", ".join(repr(k) for k in params)
        raise invalid(f"Invalid request: Unrecognized fields: {unknown}")
    body = body or RefundPayment()
    order_id = await money.order_of_payment(session, payment_id, body.order_id)
    await money.refund_order(
        uow,
        order_id=order_id,
        payment_id=payment_id,
        amount=body.amount,
        note=body.note,
        reason=body.refund_reason_id,
        created_by=_admin_id(actor),
        idempotency_key=idempotency_key,
        providers=providers,
    )
    return {"payment": await payment_view(session, payment_id)}


@vendor_router.post(
    "/vendor/orders/{order_id}/capture",
    operation_id="VendorCaptureOrder",
    openapi_extra=render_operation(ORDER, VENDOR_ORDER_DETAIL_FIELDS),
)
async def vendor_capture_order(
    order_id: str,
    uow: UoW,
    providers: Providers,
    session: Session,
    vendor: Vendor,
    params: Query,
    idempotency_key: IdempotencyKey,
    body: CaptureAmount | None = None,
) -> dict:
    """The seller's own order only (another seller's order is not found)."""
    _check(params, vendor=True)
    await money.capture_order(
        uow,
        order_id=order_id,
        amount=body.amount if body else None,
        seller_id=vendor.seller_id,
        created_by=vendor.member_id,
        idempotency_key=idempotency_key,
        providers=providers,
    )
    return await _order_body(session, order_id, params, seller_id=vendor.seller_id)


@vendor_router.post(
    "/vendor/orders/{order_id}/refund",
    operation_id="VendorRefundOrder",
    openapi_extra=render_operation(ORDER, VENDOR_ORDER_DETAIL_FIELDS),
)
async def vendor_refund_order(
    order_id: str,
    uow: UoW,
    providers: Providers,
    session: Session,
    vendor: Vendor,
    params: Query,
    idempotency_key: IdempotencyKey,
    body: RefundAmount | None = None,
) -> dict:
    """The seller's own order only (another seller's order is not found)."""
    _check(params, vendor=True)
    body = body or RefundAmount()
    await money.refund_order(
        uow,
        order_id=order_id,
        amount=body.amount,
        note=body.note,
        reason=body.reason,
        seller_id=vendor.seller_id,
        created_by=vendor.member_id,
        idempotency_key=idempotency_key,
        providers=providers,
    )
    return await _order_body(session, order_id, params, seller_id=vendor.seller_id)

"""``/admin/orders`` reads."""

from __future__ import annotations

from fastapi import APIRouter

from mercato.http.deps import Query, Session
from mercato.orders.models import Order
from mercato.orders.views import ORDER, ORDER_DETAIL_FIELDS, ORDER_LIST
from mercato.query.listing import get_or_404, run_list, run_retrieve

admin_router = APIRouter(prefix="/admin/orders", tags=["admin: orders"])
vendor_router = APIRouter(prefix="/vendor/orders", tags=["vendor: orders"])


@admin_router.get("", operation_id="AdminListOrders")
async def list_orders(session: Session, params: Query) -> dict:
    return await run_list(session, ORDER_LIST, params)


@admin_router.get("/{order_id}", operation_id="AdminGetOrder")
async def get_order(order_id: str, session: Session, params: Query) -> dict:
    order = await get_or_404(session, Order, "Order", order_id)
    return {
        "order": await run_retrieve(
            session, resource=ORDER, rules=ORDER_DETAIL_FIELDS, row=order, params=params
        )
    }

"""``/admin/draft-orders`` (order-changes.md §12): an operator's multi-seller draft, and its
conversion into an order group with one order per seller. The draft's edit routes
(``…/edit…``) are not here yet."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Query, Session, UoW
from mercato.api.idempotency import IdempotencyKey
from mercato.api.openapi import delete_operation, list_operation, render_operation
from mercato.carts.resources import fields_tree
from mercato.draft_orders import service
from mercato.draft_orders.models import DraftOrder
from mercato.draft_orders.resources import (
    DEFAULT_STATUS,
    DRAFT_ORDER,
    DRAFT_ORDER_FIELDS,
    DRAFT_ORDER_LIST,
)
from mercato.draft_orders.schemas import CreateDraftOrder, UpdateDraftOrder
from mercato.errors import invalid
from mercato.http.responses import deleted
from mercato.http.routing import APIRouter
from mercato.orders.group_resources import ADMIN_GROUP_DETAIL_FIELDS, ORDER_GROUP
from mercato.orders.models import OrderGroup
from mercato.query.listing import find_or_404, run_list, run_retrieve

admin_router = APIRouter(prefix="/admin/draft-orders", tags=["admin: draft orders"])
ENTITY = service.ENTITY


async def _render(session: AsyncSession, draft_id: str, params: dict[str, Any]) -> dict:
    draft = await find_or_404(session, DraftOrder, ENTITY, draft_id)
    return {
        "draft_order": await run_retrieve(
            session, resource=DRAFT_ORDER, rules=DRAFT_ORDER_FIELDS, row=draft, params=params
        )
    }


def _check(params: dict[str, Any]) -> None:
    """A bad query string is refused before anything is written."""
    fields_tree(DRAFT_ORDER, DRAFT_ORDER_FIELDS, params)


@admin_router.get(
    "", operation_id="AdminListDraftOrders", openapi_extra=list_operation(DRAFT_ORDER_LIST)
)
async def list_draft_orders(session: Session, params: Query) -> dict:
    """Drafts not yet converted (``status`` defaults to ``draft``), newest first."""
    if "status" not in params:
        params = {**params, "status": DEFAULT_STATUS}
    return await run_list(session, DRAFT_ORDER_LIST, params)


@admin_router.post(
    "",
    operation_id="AdminCreateDraftOrder",
    # an unknown variant or shipping option in the body is a 404 (order-changes.md §15)
    openapi_extra=render_operation(DRAFT_ORDER, DRAFT_ORDER_FIELDS, errors=(404,)),
)
async def create_draft_order(
    body: CreateDraftOrder,
    session: Session,
    uow: UoW,
    params: Query,
    idempotency_key: IdempotencyKey,
) -> dict:
    """Items of any sellers (a variant's, or custom: title, unit price and seller), one
    shipping method per seller; stock is not reserved before conversion."""
    _check(params)
    draft_id = await service.create_draft_order(uow, **body.model_dump())
    return await _render(session, draft_id, params)


@admin_router.get(
    "/{draft_id}",
    operation_id="AdminGetDraftOrder",
    openapi_extra=render_operation(DRAFT_ORDER, DRAFT_ORDER_FIELDS),
)
async def get_draft_order(draft_id: str, session: Session, params: Query) -> dict:
    return await _render(session, draft_id, params)


@admin_router.post(
    "/{draft_id}",
    operation_id="AdminUpdateDraftOrder",
    openapi_extra=render_operation(DRAFT_ORDER, DRAFT_ORDER_FIELDS),
)
async def update_draft_order(
    draft_id: str,
    body: UpdateDraftOrder,
    session: Session,
    uow: UoW,
    params: Query,
    idempotency_key: IdempotencyKey,
) -> dict:
    """Customer, email, sales channel, addresses, metadata; a converted draft is refused."""
    _check(params)
    changes = body.model_dump(exclude_unset=True)
    if "sales_channel_id" in changes and changes["sales_channel_id"] is None:
        raise invalid("Invalid request: sales_channel_id: must not be null")
    await service.update_draft_order(uow, draft_id=draft_id, changes=changes)
    return await _render(session, draft_id, params)


@admin_router.delete(
    "/{draft_id}", operation_id="AdminDeleteDraftOrder", openapi_extra=delete_operation()
)
async def delete_draft_order(draft_id: str, uow: UoW, idempotency_key: IdempotencyKey) -> dict:
    await service.delete_draft_order(uow, draft_id=draft_id)
    return deleted(draft_id, "draft-order")


@admin_router.post(
    "/{draft_id}/convert-to-order",
    operation_id="AdminConvertDraftOrder",
    openapi_extra=render_operation(ORDER_GROUP, ADMIN_GROUP_DETAIL_FIELDS),
)
async def convert_draft_order(
    draft_id: str,
    session: Session,
    uow: UoW,
    params: Query,
    idempotency_key: IdempotencyKey,
) -> dict:
    """One order per seller in a new order group, as checkout splits (idempotent: a converted
    draft answers its group, nothing is created); stock reserved at each seller's location; an
    unpaid ``draft_order`` payment collection allocated per order unless the total is 0."""
    fields_tree(ORDER_GROUP, ADMIN_GROUP_DETAIL_FIELDS, params)
    group_id = await service.convert_draft_order(uow, draft_id=draft_id)
    group = await find_or_404(session, OrderGroup, "Order group", group_id)
    return {
        "order_group": await run_retrieve(
            session, resource=ORDER_GROUP, rules=ADMIN_GROUP_DETAIL_FIELDS, row=group, params=params
        )
    }

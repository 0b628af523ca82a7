"""``/admin/return-reasons`` (CRUD), ``/store/return-reasons`` and ``/vendor/return-reasons``
(reads): marketplace-wide reasons for returning an item (order-changes.md §2.2, §10, §11)."""

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Query, Session, UoW
from mercato.api.idempotency import IdempotencyKey
from mercato.api.openapi import delete_operation, list_operation, render_operation
from mercato.http.responses import deleted
from mercato.http.routing import APIRouter
from mercato.query.fields import FieldRules
from mercato.query.listing import find_or_404, run_list, run_retrieve
from mercato.return_reasons import service
from mercato.return_reasons.models import ReturnReason
from mercato.return_reasons.resources import (
    PUBLIC_RETURN_REASON_FIELDS,
    PUBLIC_RETURN_REASON_LIST,
    RETURN_REASON,
    RETURN_REASON_FIELDS,
    RETURN_REASON_LIST,
)
from mercato.return_reasons.schemas import CreateReturnReason, UpdateReturnReason

admin_router = APIRouter(prefix="/admin/return-reasons", tags=["admin: return reasons"])
store_router = APIRouter(prefix="/store/return-reasons", tags=["store: return reasons"])
vendor_router = APIRouter(prefix="/vendor/return-reasons", tags=["vendor: return reasons"])
ENTITY = service.ENTITY


async def _render(
    session: AsyncSession,
    reason: ReturnReason,
    params: dict,
    rules: FieldRules = RETURN_REASON_FIELDS,
) -> dict:
    return {
        "return_reason": await run_retrieve(
            session, resource=RETURN_REASON, rules=rules, row=reason, params=params
        )
    }


@admin_router.get(
    "", operation_id="AdminListReturnReasons", openapi_extra=list_operation(RETURN_REASON_LIST)
)
async def list_return_reasons(session: Session, params: Query) -> dict:
    return await run_list(session, RETURN_REASON_LIST, params)


@admin_router.post(
    "",
    operation_id="AdminCreateReturnReason",
    openapi_extra=render_operation(RETURN_REASON, RETURN_REASON_FIELDS),
)
async def create_return_reason(
    body: CreateReturnReason,
    session: Session,
    uow: UoW,
    params: Query,
    idempotency_key: IdempotencyKey,
) -> dict:
    """A reason, optionally under a parent (a reason with children cannot be applied itself)."""
    reason = await service.create_return_reason(uow, **body.model_dump())
    return await _render(session, reason, params)


@admin_router.get(
    "/{reason_id}",
    operation_id="AdminGetReturnReason",
    openapi_extra=render_operation(RETURN_REASON, RETURN_REASON_FIELDS),
)
async def get_return_reason(reason_id: str, session: Session, params: Query) -> dict:
    return await _render(
        session, await find_or_404(session, ReturnReason, ENTITY, reason_id), params
    )


@admin_router.post(
    "/{reason_id}",
    operation_id="AdminUpdateReturnReason",
    openapi_extra=render_operation(RETURN_REASON, RETURN_REASON_FIELDS),
)
async def update_return_reason(
    reason_id: str,
    body: UpdateReturnReason,
    session: Session,
    uow: UoW,
    params: Query,
    idempotency_key: IdempotencyKey,
) -> dict:
    """``value``, ``label``, ``description``, ``metadata``; the parent cannot change."""
    reason = await service.update_return_reason(
        uow, reason_id=reason_id, changes=body.model_dump(exclude_unset=True)
    )
    return await _render(session, reason, params)


@admin_router.delete(
    "/{reason_id}", operation_id="AdminDeleteReturnReason", openapi_extra=delete_operation()
)
async def delete_return_reason(reason_id: str, uow: UoW, idempotency_key: IdempotencyKey) -> dict:
    await service.delete_return_reason(uow, reason_id=reason_id)
    return deleted(reason_id, "return_reason")


@store_router.get(
    "",
    operation_id="StoreListReturnReasons",
    openapi_extra=list_operation(PUBLIC_RETURN_REASON_LIST),
)
async def store_list_return_reasons(session: Session, params: Query) -> dict:
    return await run_list(session, PUBLIC_RETURN_REASON_LIST, params)


@store_router.get(
    "/{reason_id}",
    operation_id="StoreGetReturnReason",
    openapi_extra=render_operation(RETURN_REASON, PUBLIC_RETURN_REASON_FIELDS),
)
async def store_get_return_reason(reason_id: str, session: Session, params: Query) -> dict:
    reason = await find_or_404(session, ReturnReason, ENTITY, reason_id)
    return await _render(session, reason, params, PUBLIC_RETURN_REASON_FIELDS)


@vendor_router.get(
    "",
    operation_id="VendorListReturnReasons",
    openapi_extra=list_operation(PUBLIC_RETURN_REASON_LIST),
)
async def vendor_list_return_reasons(session: Session, params: Query) -> dict:
    """Read-only: sellers apply the operator's reasons to their returns."""
    return await run_list(session, PUBLIC_RETURN_REASON_LIST, params)

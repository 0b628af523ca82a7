"""``/admin/customer-groups``: named sets of customers that promotion rules target with
``customer.groups.id`` (promotions.md, "Customer groups"): CRUD and their members."""

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Query, Session, UoW
from mercato.api.idempotency import IdempotencyKey
from mercato.api.openapi import delete_operation, list_operation, render_operation
from mercato.customers import groups_service as service
from mercato.customers.models import CustomerGroup
from mercato.customers.resources import (
    CUSTOMER_GROUP,
    CUSTOMER_GROUP_FIELDS,
    CUSTOMER_GROUP_LIST,
)
from mercato.customers.schemas import (
    CreateCustomerGroup,
    ManageGroupCustomers,
    UpdateCustomerGroup,
)
from mercato.http.responses import deleted
from mercato.http.routing import APIRouter
from mercato.query.listing import find_or_404, run_list, run_retrieve

router = APIRouter(prefix="/admin/customer-groups", tags=["admin: customer groups"])
ENTITY = service.ENTITY
# Writes that can meet a live group of the same name answer 422 ``duplicate_error``.
_WRITE = render_operation(CUSTOMER_GROUP, CUSTOMER_GROUP_FIELDS, errors=(422,))


async def _render(session: AsyncSession, group: CustomerGroup, params: dict) -> dict:
    return {
        "customer_group": await run_retrieve(
            session,
            resource=CUSTOMER_GROUP,
            rules=CUSTOMER_GROUP_FIELDS,
            row=group,
            params=params,
        )
    }


@router.get(
    "",
    operation_id="AdminListCustomerGroups",
    openapi_extra=list_operation(CUSTOMER_GROUP_LIST),
)
async def list_customer_groups(session: Session, params: Query) -> dict:
    return await run_list(session, CUSTOMER_GROUP_LIST, params)


@router.post("", operation_id="AdminCreateCustomerGroup", openapi_extra=_WRITE)
async def create_customer_group(
    body: CreateCustomerGroup,
    session: Session,
    uow: UoW,
    params: Query,
    idempotency_key: IdempotencyKey,
) -> dict:
    group = await service.create_customer_group(uow, **body.model_dump())
    return await _render(session, group, params)


@router.get(
    "/{group_id}",
    operation_id="AdminGetCustomerGroup",
    openapi_extra=render_operation(CUSTOMER_GROUP, CUSTOMER_GROUP_FIELDS),
)
async def get_customer_group(group_id: str, session: Session, params: Query) -> dict:
    return await _render(
        session, await find_or_404(session, CustomerGroup, ENTITY, group_id), params
    )


@router.post("/{group_id}", operation_id="AdminUpdateCustomerGroup", openapi_extra=_WRITE)
async def update_customer_group(
    group_id: str,
    body: UpdateCustomerGroup,
    session: Session,
    uow: UoW,
    params: Query,
    idempotency_key: IdempotencyKey,
) -> dict:
    group = await service.update_customer_group(
        uow, group_id=group_id, changes=body.model_dump(exclude_unset=True)
    )
    return await _render(session, group, params)


@router.delete(
    "/{group_id}", operation_id="AdminDeleteCustomerGroup", openapi_extra=delete_operation()
)
async def delete_customer_group(group_id: str, uow: UoW, idempotency_key: IdempotencyKey) -> dict:
    """Soft delete; the group's memberships are removed."""
    await service.delete_customer_group(uow, group_id=group_id)
    return deleted(group_id, "customer_group")


@router.post(
    "/{group_id}/customers",
    operation_id="AdminManageCustomerGroupCustomers",
    openapi_extra=render_operation(CUSTOMER_GROUP, CUSTOMER_GROUP_FIELDS),
)
async def manage_customers(
    group_id: str,
    body: ManageGroupCustomers,
    session: Session,
    uow: UoW,
    params: Query,
    idempotency_key: IdempotencyKey,
) -> dict:
    """Add and remove members, all or nothing (an unknown customer id: 400)."""
    group = await service.manage_customers(uow, group_id=group_id, add=body.add, remove=body.remove)
    return await _render(session, group, params)

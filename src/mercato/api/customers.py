"""``/admin/customers`` and the store's own-customer routes."""

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import CurrentCustomer, Query, Session, UoW, token_claims
from mercato.api.openapi import CUSTOMER_TOKEN, PUBLISHABLE_KEY, list_operation, render_operation
from mercato.customers import service
from mercato.customers.models import Customer
from mercato.customers.resources import (
    CUSTOMER,
    CUSTOMER_FIELDS,
    CUSTOMER_LIST,
    STORE_CUSTOMER_FIELDS,
)
from mercato.customers.schemas import RegisterCustomer, UpdateCustomer
from mercato.errors import unauthorized
from mercato.http.routing import APIRouter
from mercato.query.fields import FieldRules
from mercato.query.listing import find_or_404, run_list, run_retrieve

admin_router = APIRouter(prefix="/admin/customers", tags=["admin: customers"])
store_router = APIRouter(prefix="/store/customers", tags=["store: customers"])
# Step two of registration takes the registration token, which is no customer's yet.
_REGISTRATION = {
    **render_operation(CUSTOMER, STORE_CUSTOMER_FIELDS, errors=(401, 422)),
    "security": [{PUBLISHABLE_KEY: [], CUSTOMER_TOKEN: []}],
}


async def _render(
    session: AsyncSession,
    customer: Customer,
    params: dict,
    rules: FieldRules = CUSTOMER_FIELDS,
) -> dict:
    """The admin sees the customer's ``groups`` (``fields=+groups.*``); the shopper does not."""
    return {
        "customer": await run_retrieve(
            session, resource=CUSTOMER, rules=rules, row=customer, params=params
        )
    }


@admin_router.get(
    "", operation_id="AdminListCustomers", openapi_extra=list_operation(CUSTOMER_LIST)
)
async def list_customers(session: Session, params: Query) -> dict:
    return await run_list(session, CUSTOMER_LIST, params)


@admin_router.get(
    "/{customer_id}",
    operation_id="AdminGetCustomer",
    openapi_extra=render_operation(CUSTOMER, CUSTOMER_FIELDS),
)
async def get_customer(customer_id: str, session: Session, params: Query) -> dict:
    return await _render(
        session, await find_or_404(session, Customer, "Customer", customer_id), params
    )


@admin_router.post(
    "/{customer_id}",
    operation_id="AdminUpdateCustomer",
    openapi_extra=render_operation(CUSTOMER, CUSTOMER_FIELDS),
)
async def update_customer(
    customer_id: str, body: UpdateCustomer, session: Session, uow: UoW, params: Query
) -> dict:
    customer = await service.update_customer(
        uow, customer_id=customer_id, changes=body.model_dump(exclude_unset=True)
    )
    return await _render(session, customer, params)


@store_router.post("", operation_id="StoreCreateCustomer", openapi_extra=_REGISTRATION)
async def register(
    body: RegisterCustomer, request: Request, session: Session, uow: UoW, params: Query
) -> dict:
    """Step two of registration: bearer = the token from ``/auth/customer/emailpass/register``."""
    claims = token_claims(request)
    if claims is None:
        raise unauthorized()
    customer = await service.register_customer(uow, claims=claims, **body.model_dump())
    return await _render(session, customer, params, STORE_CUSTOMER_FIELDS)


@store_router.get(
    "/me",
    operation_id="StoreGetCustomerMe",
    openapi_extra=render_operation(CUSTOMER, STORE_CUSTOMER_FIELDS),
)
async def me(customer: CurrentCustomer, session: Session, params: Query) -> dict:
    return await _render(session, customer, params, STORE_CUSTOMER_FIELDS)


@store_router.post(
    "/me",
    operation_id="StoreUpdateCustomerMe",
    openapi_extra=render_operation(CUSTOMER, STORE_CUSTOMER_FIELDS),
)
async def update_me(
    body: UpdateCustomer, customer: CurrentCustomer, session: Session, uow: UoW, params: Query
) -> dict:
    customer = await service.update_customer(
        uow, customer_id=customer.id, changes=body.model_dump(exclude_unset=True)
    )
    return await _render(session, customer, params, STORE_CUSTOMER_FIELDS)

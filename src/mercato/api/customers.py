"""``/admin/customers`` and the store's own-customer routes."""

from fastapi import Request

from mercato.api.deps import CurrentCustomer, Query, Session, token_claims
from mercato.customers import service
from mercato.customers.models import Customer
from mercato.customers.resources import CUSTOMER, CUSTOMER_FIELDS, CUSTOMER_LIST
from mercato.customers.schemas import RegisterCustomer, UpdateCustomer
from mercato.errors import unauthorized
from mercato.http.routing import APIRouter
from mercato.query.listing import find_or_404, get_or_404, run_list, run_retrieve

admin_router = APIRouter(prefix="/admin/customers", tags=["admin: customers"])
store_router = APIRouter(prefix="/store/customers", tags=["store: customers"])


async def _render(session, customer: Customer, params: dict) -> dict:
    return {
        "customer": await run_retrieve(
            session, resource=CUSTOMER, rules=CUSTOMER_FIELDS, row=customer, params=params
        )
    }


@admin_router.get("", operation_id="AdminListCustomers")
async def list_customers(session: Session, params: Query) -> dict:
    return await run_list(session, CUSTOMER_LIST, params)


@admin_router.get("/{customer_id}", operation_id="AdminGetCustomer")
async def get_customer(customer_id: str, session: Session, params: Query) -> dict:
    return await _render(
        session, await find_or_404(session, Customer, "Customer", customer_id), params
    )


@admin_router.post("/{customer_id}", operation_id="AdminUpdateCustomer")
async def update_customer(
    customer_id: str, body: UpdateCustomer, session: Session, params: Query
) -> dict:
    customer = await get_or_404(session, Customer, "Customer", customer_id)
    customer = await service.update_customer(
        session, customer=customer, changes=body.model_dump(exclude_unset=True)
    )
    return await _render(session, customer, params)


@store_router.post("", operation_id="StoreCreateCustomer")
async def register(
    body: RegisterCustomer, request: Request, session: Session, params: Query
) -> dict:
    """Step two of registration: bearer = the token from ``/auth/customer/emailpass/register``."""
    claims = token_claims(request)
    if claims is None:
        raise unauthorized()
    customer = await service.register_customer(session, claims=claims, **body.model_dump())
    return await _render(session, customer, params)


@store_router.get("/me", operation_id="StoreGetCustomerMe")
async def me(customer: CurrentCustomer, session: Session, params: Query) -> dict:
    return await _render(session, customer, params)


@store_router.post("/me", operation_id="StoreUpdateCustomerMe")
async def update_me(
    body: UpdateCustomer, customer: CurrentCustomer, session: Session, params: Query
) -> dict:
    customer = await service.update_customer(
        session, customer=customer, changes=body.model_dump(exclude_unset=True)
    )
    return await _render(session, customer, params)

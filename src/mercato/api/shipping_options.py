"""``/admin/shipping-options``."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import CurrentCustomer, OptionalCustomer, Query, Session, UoW
from mercato.api.openapi import (
    delete_operation,
    envelope,
    list_operation,
    operation,
    query_parameter,
    render_operation,
)
from mercato.carts import service as carts_service
from mercato.carts.resources import (
    STORE_SHIPPING_OPTION_FIELDS,
    fields_tree,
    render_shipping_options,
)
from mercato.errors import invalid, not_found
from mercato.http.responses import deleted
from mercato.http.routing import APIRouter
from mercato.orders.models import Order
from mercato.query.fields import FieldRules
from mercato.query.listing import find_or_404, run_list, run_retrieve
from mercato.query.openapi import fields_parameter, item_schema
from mercato.shipping_options import service
from mercato.shipping_options.models import ShippingOption
from mercato.shipping_options.resources import (
    SHIPPING_OPTION,
    SHIPPING_OPTION_FIELDS,
    SHIPPING_OPTION_LIST,
)
from mercato.shipping_options.schemas import CreateShippingOption, UpdateShippingOption

router = APIRouter(prefix="/admin/shipping-options", tags=["admin: shipping options"])
store_router = APIRouter(prefix="/store/shipping-options", tags=["store: shipping options"])
return_options_router = APIRouter(
    prefix="/store/return-shipping-options", tags=["store: shipping options"]
)
ENTITY = service.ENTITY
_RETURN_OPTION_DEFAULTS = ("id", "name", "amount", "seller_id", "region_id")
STORE_RETURN_OPTION_FIELDS = FieldRules(
    defaults=_RETURN_OPTION_DEFAULTS, allowed=(*_RETURN_OPTION_DEFAULTS, "currency_code")
)
_RETURN_OPTIONS = operation(
    parameters=[
        query_parameter(
            "order_id", {"type": "string"}, "The customer's order to return.", required=True
        ),
        fields_parameter(SHIPPING_OPTION, STORE_RETURN_OPTION_FIELDS),
    ],
    body=envelope(
        {
            "shipping_options": {
                "type": "array",
                "items": item_schema(SHIPPING_OPTION, STORE_RETURN_OPTION_FIELDS),
            }
        }
    ),
    errors=(404,),
)
_STORE_OPTIONS = operation(
    parameters=[
        query_parameter("cart_id", {"type": "string"}, "The cart to ship.", required=True),
        fields_parameter(SHIPPING_OPTION, STORE_SHIPPING_OPTION_FIELDS),
    ],
    body=envelope(
        {
            "shipping_options": {
                "type": "array",
                "items": item_schema(SHIPPING_OPTION, STORE_SHIPPING_OPTION_FIELDS),
            }
        }
    ),
    errors=(404,),
)


async def _render(session: AsyncSession, option: ShippingOption, params: dict) -> dict:
    return {
        "shipping_option": await run_retrieve(
            session,
            resource=SHIPPING_OPTION,
            rules=SHIPPING_OPTION_FIELDS,
            row=option,
            params=params,
        )
    }


@router.get(
    "", operation_id="AdminListShippingOptions", openapi_extra=list_operation(SHIPPING_OPTION_LIST)
)
async def list_shipping_options(session: Session, params: Query) -> dict:
    return await run_list(session, SHIPPING_OPTION_LIST, params)


@router.post(
    "",
    operation_id="AdminCreateShippingOption",
    openapi_extra=render_operation(SHIPPING_OPTION, SHIPPING_OPTION_FIELDS),
)
async def create_shipping_option(
    body: CreateShippingOption, session: Session, uow: UoW, params: Query
) -> dict:
    """A seller's flat-rate option for one region, or every region of ``currency_code``."""
    option = await service.create_shipping_option(uow, **body.model_dump())
    return await _render(session, option, params)


@router.get(
    "/{option_id}",
    operation_id="AdminGetShippingOption",
    openapi_extra=render_operation(SHIPPING_OPTION, SHIPPING_OPTION_FIELDS),
)
async def get_shipping_option(option_id: str, session: Session, params: Query) -> dict:
    return await _render(
        session, await find_or_404(session, ShippingOption, ENTITY, option_id), params
    )


@router.post(
    "/{option_id}",
    operation_id="AdminUpdateShippingOption",
    openapi_extra=render_operation(SHIPPING_OPTION, SHIPPING_OPTION_FIELDS),
)
async def update_shipping_option(
    option_id: str, body: UpdateShippingOption, session: Session, uow: UoW, params: Query
) -> dict:
    option = await service.update_shipping_option(
        uow, option_id=option_id, changes=body.model_dump(exclude_unset=True)
    )
    return await _render(session, option, params)


@router.delete(
    "/{option_id}", operation_id="AdminDeleteShippingOption", openapi_extra=delete_operation()
)
async def delete_shipping_option(option_id: str, uow: UoW) -> dict:
    await service.delete_shipping_option(uow, option_id=option_id)
    return deleted(option_id, "shipping_option")


@store_router.get("", operation_id="StoreListShippingOptions", openapi_extra=_STORE_OPTIONS)
async def store_list_shipping_options(
    session: Session, customer: OptionalCustomer, params: Query
) -> dict:
    """``?cart_id=`` (required): options of the sellers with items in the cart that serve the
    cart's region (``{id, name, amount, currency_code, seller_id, seller, region_id}``)."""
    tree = fields_tree(
        SHIPPING_OPTION,
        STORE_SHIPPING_OPTION_FIELDS,
        params,
        accepted=frozenset({"cart_id", "fields"}),
    )
    cart_id = params.get("cart_id")
    if cart_id is None or cart_id == "":
        raise invalid("Invalid request: cart_id: is required")
    if not isinstance(cart_id, str):
        raise invalid("Invalid request: cart_id: must be a single value")
    options = await carts_service.list_shipping_options(session, cart_id=cart_id, customer=customer)
    return {"shipping_options": await render_shipping_options(session, options, tree)}


@return_options_router.get(
    "", operation_id="StoreListReturnShippingOptions", openapi_extra=_RETURN_OPTIONS
)
async def store_list_return_shipping_options(
    session: Session, customer: CurrentCustomer, params: Query
) -> dict:
    """``?order_id=`` (required, the logged-in customer's order): the return options of the
    order's seller that serve its region (``{id, name, amount, seller_id, region_id}``)."""
    tree = fields_tree(
        SHIPPING_OPTION,
        STORE_RETURN_OPTION_FIELDS,
        params,
        accepted=frozenset({"order_id", "fields"}),
    )
    order_id = params.get("order_id")
    if order_id is None or order_id == "":
        raise invalid("Invalid request: order_id: is required")
    if not isinstance(order_id, str):
        raise invalid("Invalid request: order_id: must be a single value")
    order = (
        await session.execute(
            select(Order.seller_id, Order.region_id, Order.currency_code).where(
                Order.id == order_id, Order.customer_id == customer.id
            )
        )
    ).first()
    if order is None:  # another customer's order, a guest's and an unknown id alike
        raise not_found("Order", order_id)
    options = await service.list_return_options(
        session,
        seller_id=order.seller_id,
        region_id=order.region_id,
        currency_code=order.currency_code,
    )
    return {"shipping_options": await render_shipping_options(session, options, tree)}

"""``POST /store/returns`` (order-changes.md §10): a logged-in customer returns items of one of
their orders, requested at once; the operator or the seller receives it (``/admin/returns``,
``/vendor/returns``)."""

from mercato.api.deps import CurrentCustomer, Query, Session, UoW
from mercato.api.idempotency import StoreIdempotencyKey
from mercato.api.openapi import render_operation
from mercato.domain import returns as flows
from mercato.errors import invalid, not_allowed
from mercato.http.routing import APIRouter
from mercato.orders import store_returns as service
from mercato.orders.change_models import OrderReturn
from mercato.orders.change_resources import RETURN
from mercato.orders.return_schemas import CreateStoreReturn
from mercato.query.fields import FieldRules
from mercato.query.fields import select as select_fields
from mercato.query.listing import run_retrieve

router = APIRouter(prefix="/store/returns", tags=["store: returns"])

# Medusa's StoreReturn, plus the seller and the shipping method; never who created it, the
# notification flag or the metadata.
_STORE_RETURN_PATHS = (
    "id",
    "display_id",
    "order_id",
    "seller_id",
    "exchange_id",
    "claim_id",
    "status",
    "location_id",
    "refund_amount",
    "requested_at",
    "received_at",
    "canceled_at",
    "created_at",
    "updated_at",
    "items.id",
    "items.item_id",
    "items.quantity",
    "items.received_quantity",
    "items.damaged_quantity",
    "items.reason_id",
    "items.note",
    "shipping_methods.id",
    "shipping_methods.shipping_option_id",
    "shipping_methods.name",
    "shipping_methods.amount",
    "shipping_methods.subtotal",
    "shipping_methods.tax_total",
    "shipping_methods.total",
)
STORE_RETURN_FIELDS = FieldRules(
    defaults=_STORE_RETURN_PATHS,
    allowed=(
        *_STORE_RETURN_PATHS,
        "currency_code",
        "items.reason.id",
        "items.reason.value",
        "items.reason.label",
    ),
)


def _check_fields(params: dict) -> None:
    unknown = [k for k in params if k != "fields"]
    if unknown:
        raise invalid(
            f"Invalid request: Unrecognized fields: {', '.join(repr(k) for k in unknown)}"
        )
    fields = params.get("fields")
    if fields is not None and not isinstance(fields, str):
        raise invalid("fields must be a comma-separated string")
    select_fields(RETURN, STORE_RETURN_FIELDS, fields)


@router.post(
    "",
    operation_id="StoreCreateReturn",
    openapi_extra=render_operation(RETURN, STORE_RETURN_FIELDS, key="return", errors=(404,)),
)
async def create_return(
    body: CreateStoreReturn,
    uow: UoW,
    session: Session,
    customer: CurrentCustomer,
    params: Query,
    key: StoreIdempotencyKey,
) -> dict:
    """Return items of the customer's order (``order_id``): the return is created with its items
    and the seller's return option (``GET /store/return-shipping-options``) and requested at
    once (``status: requested``). ``receive_now``, ``location_id`` and
    ``return_shipping.price`` are Medusa fields the store cannot set (400 ``not_allowed``)."""
    refused = body.refused_fields()
    if refused:
        raise not_allowed(f"{refused[0]} cannot be set from the store")
    _check_fields(params)  # before the return exists: a bad ``fields`` creates nothing
    outcome = await service.create_store_return(
        uow,
        customer_id=customer.id,
        order_id=body.order_id,
        items=[flows.RequestedItem(i.id, i.quantity, i.reason_id, i.note) for i in body.items],
        shipping_option_id=body.return_shipping.option_id,
        note=body.note,
    )
    row = await session.get(OrderReturn, outcome.return_id)
    return {
        "return": await run_retrieve(
            session, resource=RETURN, rules=STORE_RETURN_FIELDS, row=row, params=params
        )
    }

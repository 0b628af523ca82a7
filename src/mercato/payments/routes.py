"""``/store/payment-collections``."""

from fastapi import APIRouter

from mercato.carts.views import fields_tree
from mercato.http.deps import OptionalCustomer, Query, Session
from mercato.payments import service
from mercato.payments.models import PaymentCollection
from mercato.payments.schemas import CreatePaymentCollection, CreatePaymentSession
from mercato.payments.views import PAYMENT_COLLECTION, PAYMENT_COLLECTION_FIELDS
from mercato.query.fields import RenderContext, render

store_router = APIRouter(prefix="/store/payment-collections", tags=["store: payments"])


def _tree(params: dict):
    return fields_tree(PAYMENT_COLLECTION, PAYMENT_COLLECTION_FIELDS, params)


async def _render(session, collection: PaymentCollection, tree) -> dict:
    rendered = await render(RenderContext(session), PAYMENT_COLLECTION, [collection], tree)
    return {"payment_collection": rendered[0]}


@store_router.post("", operation_id="StoreCreatePaymentCollection")
async def create_payment_collection(
    body: CreatePaymentCollection, session: Session, customer: OptionalCustomer, params: Query
) -> dict:
    """The cart's payment collection for its total; the same collection on every call."""
    tree = _tree(params)
    collection = await service.get_or_create_payment_collection(
        session, cart_id=body.cart_id, customer=customer
    )
    return await _render(session, collection, tree)


@store_router.post("/{collection_id}/payment-sessions", operation_id="StoreCreatePaymentSession")
async def create_payment_session(
    collection_id: str,
    body: CreatePaymentSession,
    session: Session,
    customer: OptionalCustomer,
    params: Query,
) -> dict:
    """Start paying with a provider enabled in the cart's region; replaces earlier sessions."""
    tree = _tree(params)
    collection = await service.create_payment_session(
        session, collection_id=collection_id, customer=customer, **body.model_dump()
    )
    return await _render(session, collection, tree)

# Per-order capture and refund (orders.md "Money"); vendor routes are scoped to the member's seller.
admin_router = APIRouter(tags=["admin: payments"])
vendor_router = APIRouter(tags=["vendor: payments"])

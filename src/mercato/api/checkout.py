"""``POST /store/carts/:id/complete``."""

from __future__ import annotations

from mercato.api.deps import OptionalCustomer, Providers, Query, Session, Store, UoW
from mercato.api.openapi import envelope, operation
from mercato.carts.resources import CART, CART_FIELDS, cart_tree, render_cart
from mercato.checkout.service import complete_cart
from mercato.http.routing import APIRouter
from mercato.orders.group_resources import COMPLETION_FIELDS, ORDER_GROUP
from mercato.orders.models import OrderGroup
from mercato.query.listing import find_or_404, run_retrieve
from mercato.query.openapi import fields_parameter, item_schema

router = APIRouter(prefix="/store/carts", tags=["store: checkout"])
# The group, or — the payment declined or needing more — the cart and the provider's error.
_COMPLETION = operation(
    parameters=[fields_parameter(CART, CART_FIELDS)],
    body={
        "oneOf": [
            envelope(
                {
                    "type": {"const": "order_group"},
                    "order_group": item_schema(ORDER_GROUP, COMPLETION_FIELDS),
                }
            ),
            envelope(
                {
                    "type": {"const": "cart"},
                    "cart": item_schema(CART, CART_FIELDS),
                    "error": envelope(
                        {
                            "type": {"type": "string"},
                            "name": {"type": "string"},
                            "message": {"type": "string"},
                        }
                    ),
                }
            ),
        ]
    },
    errors=(409,),  # a completion of the cart still in flight for too long
)


@router.post("/{cart_id}/complete", operation_id="StoreCompleteCart", openapi_extra=_COMPLETION)
async def complete(
    cart_id: str,
    uow: UoW,
    providers: Providers,
    session: Session,
    ctx: Store,
    customer: OptionalCustomer,
    params: Query,
) -> dict:
    """Split the cart into one order per seller inside an order group (idempotent).

    Payment declined or needing more action: 200 ``{"type": "cart", "cart", "error"}`` and
    nothing is created. ``fields`` selects the cart of that answer. A completion of the same cart
    already in flight is waited for and its outcome returned (409 if it does not end in time).
    """
    cart_tree(params)  # a bad query is refused before anything is written
    customer_id = customer.id if customer else None
    # The completion runs in transactions of its own (and the provider journal in another):
    # the request's session gives its connection back meanwhile.
    await session.rollback()
    outcome = await complete_cart(
        uow,
        cart_id=cart_id,
        sales_channel_ids=ctx.sales_channel_ids,
        customer_id=customer_id,
        providers=providers,
    )
    if outcome.order_group_id is None:
        assert outcome.payment_failure is not None
        return {
            "type": "cart",
            "cart": await render_cart(session, cart_id, params),
            "error": {
                "type": outcome.payment_failure.type,
                "name": "Error",
                "message": outcome.payment_failure.message,
            },
        }
    group = await find_or_404(session, OrderGroup, "Order group", outcome.order_group_id)
    body = await run_retrieve(
        session, resource=ORDER_GROUP, rules=COMPLETION_FIELDS, row=group, params={}
    )
    return {"type": "order_group", "order_group": body}

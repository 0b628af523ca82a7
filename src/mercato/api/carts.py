"""``/store/carts`` (completion lives in ``mercato.checkout``).

Every route validates its query (only ``fields``) before the use case runs, then renders the cart
with :data:`mercato.carts.resources.CART_FIELDS` (documented in ``carts/resources.py``).
"""

from typing import Any

from mercato.api.deps import CurrentCustomer, OptionalCustomer, Query, Session, Store, UoW
from mercato.api.openapi import delete_operation, error_responses, render_operation
from mercato.carts import service
from mercato.carts.promo_codes import change_promo_codes
from mercato.carts.promotions import promo_codes
from mercato.carts.resources import CART, CART_FIELDS, cart_tree, render_cart
from mercato.carts.schemas import (
    AddLineItem,
    AddShippingMethod,
    CartPromotions,
    CreateCart,
    UpdateCart,
    UpdateLineItem,
)
from mercato.http.responses import deleted
from mercato.http.routing import APIRouter
from mercato.query.openapi import fields_parameter, item_schema

router = APIRouter(prefix="/store/carts", tags=["store: carts"])
_CART = render_operation(CART, CART_FIELDS)
_NEW_CART = render_operation(CART, CART_FIELDS, errors=(404,))  # an unknown variant (checkout.md)
# A change to a cart whose completion is in flight is refused (its contents are becoming orders).
_CART_CHANGE = render_operation(CART, CART_FIELDS, errors=(409,))
_CHANGE_ERRORS: dict[int | str, dict[str, Any]] = {k: v for k, v in error_responses(409).items()}


@router.post("", operation_id="StoreCreateCart", openapi_extra=_NEW_CART)
async def create_cart(
    body: CreateCart,
    session: Session,
    uow: UoW,
    ctx: Store,
    customer: OptionalCustomer,
    params: Query,
) -> dict:
    """A cart in a region (optional when exactly one exists) and the key's sales channel; with a
    customer token it belongs to that customer."""
    cart_tree(params)  # a bad query is refused before anything is written
    cart = await service.create_cart(
        uow, channel_ids=ctx.sales_channel_ids, customer=customer, **body.model_dump()
    )
    return {"cart": await render_cart(session, cart, params)}


@router.get("/{cart_id}", operation_id="StoreGetCart", openapi_extra=_CART)
async def get_cart(
    cart_id: str, session: Session, customer: OptionalCustomer, params: Query
) -> dict:
    cart_tree(params)  # a bad query is refused before anything is written
    cart = await service.get_cart(session, cart_id, customer=customer)
    return {"cart": await render_cart(session, cart, params)}


@router.post("/{cart_id}", operation_id="StoreUpdateCart", openapi_extra=_CART_CHANGE)
async def update_cart(
    cart_id: str,
    body: UpdateCart,
    session: Session,
    uow: UoW,
    customer: OptionalCustomer,
    params: Query,
) -> dict:
    """Email, addresses, metadata; a new ``region_id`` re-prices the lines; ``promo_codes``
    replaces the entered codes (what ``@medusajs/js-sdk`` sends)."""
    cart_tree(params)  # a bad query is refused before anything is written
    # Only the keys sent, but each address complete (every address field, null when not sent).
    changes = {k: v for k, v in body.model_dump().items() if k in body.model_fields_set}
    if "promo_codes" in changes:
        changes["promo_codes"] = promo_codes(changes["promo_codes"])
    cart = await service.update_cart(uow, cart_id=cart_id, customer=customer, changes=changes)
    return {"cart": await render_cart(session, cart, params)}


@router.post(
    "/{cart_id}/line-items", operation_id="StoreAddCartLineItem", openapi_extra=_CART_CHANGE
)
async def add_line_item(
    cart_id: str,
    body: AddLineItem,
    session: Session,
    uow: UoW,
    customer: OptionalCustomer,
    params: Query,
) -> dict:
    """Add a variant; the same variant again adds to the existing line's quantity."""
    cart_tree(params)  # a bad query is refused before anything is written
    cart = await service.add_line_item(uow, cart_id=cart_id, customer=customer, **body.model_dump())
    return {"cart": await render_cart(session, cart, params)}


@router.post(
    "/{cart_id}/line-items/{line_id}",
    operation_id="StoreUpdateCartLineItem",
    openapi_extra=_CART_CHANGE,
)
async def update_line_item(
    cart_id: str,
    line_id: str,
    body: UpdateLineItem,
    session: Session,
    uow: UoW,
    customer: OptionalCustomer,
    params: Query,
) -> dict:
    """Set a line's quantity; ``0`` removes the line."""
    cart_tree(params)  # a bad query is refused before anything is written
    cart = await service.update_line_item(
        uow, cart_id=cart_id, customer=customer, line_id=line_id, **body.model_dump()
    )
    return {"cart": await render_cart(session, cart, params)}


@router.delete(
    "/{cart_id}/line-items/{line_id}",
    operation_id="StoreDeleteCartLineItem",
    responses=_CHANGE_ERRORS,
    openapi_extra=delete_operation(
        parent=item_schema(CART, CART_FIELDS), parameters=[fields_parameter(CART, CART_FIELDS)]
    ),
)
async def delete_line_item(
    cart_id: str,
    line_id: str,
    session: Session,
    uow: UoW,
    customer: OptionalCustomer,
    params: Query,
) -> dict:
    """``{id, object: "line-item", deleted: true, parent: <cart>}`` (Medusa's shape)."""
    cart_tree(params)  # a bad query is refused before anything is written
    cart = await service.delete_line_item(uow, cart_id=cart_id, customer=customer, line_id=line_id)
    return deleted(line_id, "line-item", parent=await render_cart(session, cart, params))


@router.post(
    "/{cart_id}/shipping-methods",
    operation_id="StoreAddCartShippingMethod",
    openapi_extra=_CART_CHANGE,
)
async def add_shipping_method(
    cart_id: str,
    body: AddShippingMethod,
    session: Session,
    uow: UoW,
    customer: OptionalCustomer,
    params: Query,
) -> dict:
    """Choose a seller's shipping option; replaces that seller's previous method."""
    cart_tree(params)  # a bad query is refused before anything is written
    cart = await service.add_shipping_method(
        uow, cart_id=cart_id, customer=customer, **body.model_dump()
    )
    return {"cart": await render_cart(session, cart, params)}


@router.post("/{cart_id}/customer", operation_id="StoreTransferCart", openapi_extra=_CART_CHANGE)
async def set_customer(
    cart_id: str, session: Session, uow: UoW, customer: CurrentCustomer, params: Query
) -> dict:
    """Assign the cart to the logged-in customer (customer token required)."""
    cart_tree(params)  # a bad query is refused before anything is written
    cart = await service.set_customer(uow, cart_id=cart_id, customer=customer)
    return {"cart": await render_cart(session, cart, params)}


_PROMOTION_CHANGE = render_operation(CART, CART_FIELDS, errors=(409,))


@router.post(
    "/{cart_id}/promotions", operation_id="StoreAddCartPromotions", openapi_extra=_PROMOTION_CHANGE
)
async def add_promotions(
    cart_id: str,
    body: CartPromotions,
    session: Session,
    uow: UoW,
    customer: OptionalCustomer,
    params: Query,
) -> dict:
    """Enter promotion codes (all or none); the cart's adjustments are recomputed."""
    cart_tree(params)  # a bad query is refused before anything is written
    cart = await change_promo_codes(
        uow, cart_id=cart_id, customer=customer, add=promo_codes(body.promo_codes)
    )
    return {"cart": await render_cart(session, cart, params)}


@router.delete(
    "/{cart_id}/promotions",
    operation_id="StoreRemoveCartPromotions",
    openapi_extra=_PROMOTION_CHANGE,
)
async def remove_promotions(
    cart_id: str,
    body: CartPromotions,
    session: Session,
    uow: UoW,
    customer: OptionalCustomer,
    params: Query,
) -> dict:
    """Remove entered codes; automatic promotions cannot be removed."""
    cart_tree(params)  # a bad query is refused before anything is written
    cart = await change_promo_codes(
        uow, cart_id=cart_id, customer=customer, remove=promo_codes(body.promo_codes)
    )
    return {"cart": await render_cart(session, cart, params)}

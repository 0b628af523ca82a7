"""``/admin/draft-orders`` (order-changes.md §12): an operator's multi-seller draft, its edit
(``…/edit…``: an order change on the draft, answered ``{draft_order_preview}``) and its
conversion into an order group with one order per seller."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Admin, AdminActor, Query, Session, UoW
from mercato.api.idempotency import IdempotencyKey
from mercato.api.openapi import (
    delete_operation,
    envelope,
    list_operation,
    operation,
    render_operation,
)
from mercato.carts.resources import fields_tree
from mercato.domain.draft_edits import ITEM_KINDS, SHIPPING_KINDS
from mercato.draft_orders import edits, service
from mercato.draft_orders.models import DraftOrder
from mercato.draft_orders.resources import (
    DEFAULT_STATUS,
    DRAFT_ORDER,
    DRAFT_ORDER_FIELDS,
    DRAFT_ORDER_LIST,
    render_draft_preview,
)
from mercato.draft_orders.schemas import CreateDraftOrder, DraftEditItems, UpdateDraftOrder
from mercato.errors import invalid
from mercato.http.responses import deleted
from mercato.http.routing import APIRouter
from mercato.orders.group_resources import ADMIN_GROUP_DETAIL_FIELDS, ORDER_GROUP
from mercato.orders.models import OrderGroup
from mercato.orders.return_schemas import (
    AddShippingMethod,
    UpdateEditAction,
    UpdateEditItem,
    UpdateShippingMethod,
)
from mercato.query.listing import find_or_404, run_list, run_retrieve
from mercato.query.openapi import fields_parameter

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


# --------------------------------------------------------------------------- the draft's edit

_WITH_PREVIEW = operation(
    parameters=[fields_parameter(DRAFT_ORDER, DRAFT_ORDER_FIELDS)],
    body=envelope(
        {
            "draft_order_preview": {
                "type": "object",
                "description": "The draft as if its active edit were confirmed (totals, "
                "`sellers`, `items`, `shipping_methods`), with `order_change` (after confirm: "
                "the draft as the edit left it, `order_change` null).",
            }
        }
    ),
    errors=(404,),
)


def _actor_id(actor: AdminActor) -> str | None:
    """The admin as changes record it (``user_…`` or ``apk_…``)."""
    return actor.user_id or actor.api_key_id


async def _preview(session: Session, outcome: edits.Outcome, params: dict[str, Any]) -> dict:
    return {
        "draft_order_preview": await render_draft_preview(
            session, outcome.draft_id, outcome.preview, params
        )
    }


@admin_router.post(
    "/{draft_id}/edit", operation_id="AdminBeginDraftOrderEdit", openapi_extra=_WITH_PREVIEW
)
async def begin_draft_order_edit(
    draft_id: str,
    session: Session,
    uow: UoW,
    params: Query,
    actor: Admin,
    idempotency_key: IdempotencyKey,
) -> dict:
    """Begin the draft's edit: a pending order change `edit` on the draft (one at a time)."""
    _check(params)
    outcome = await edits.begin_edit(uow, draft_id=draft_id, actor_id=_actor_id(actor))
    return await _preview(session, outcome, params)


@admin_router.post(
    "/{draft_id}/edit/items",
    operation_id="AdminAddDraftOrderEditItems",
    openapi_extra=_WITH_PREVIEW,
)
async def add_draft_order_edit_items(
    draft_id: str,
    body: DraftEditItems,
    session: Session,
    uow: UoW,
    params: Query,
    actor: Admin,
    idempotency_key: IdempotencyKey,
) -> dict:
    """`ITEM_ADD` of lines of any seller: a variant's (as at draft creation) or custom ones
    (`title`, `unit_price`, `seller_id`)."""
    _check(params)
    items = [i.model_dump(exclude={"compare_at_unit_price"}) for i in body.items]
    outcome = await edits.add_items(uow, draft_id=draft_id, actor_id=_actor_id(actor), items=items)
    return await _preview(session, outcome, params)


@admin_router.post(
    "/{draft_id}/edit/items/item/{item_id}",
    operation_id="AdminUpdateDraftOrderEditItem",
    openapi_extra=_WITH_PREVIEW,
)
async def update_draft_order_edit_item(
    draft_id: str,
    item_id: str,
    body: UpdateEditItem,
    session: Session,
    uow: UoW,
    params: Query,
    actor: Admin,
    idempotency_key: IdempotencyKey,
) -> dict:
    """`ITEM_UPDATE` of a line of the draft: its quantity (0 removes it) or unit price."""
    _check(params)
    outcome = await edits.update_item(
        uow,
        draft_id=draft_id,
        actor_id=_actor_id(actor),
        item_id=item_id,
        values=body.model_dump(exclude={"compare_at_unit_price"}),
    )
    return await _preview(session, outcome, params)


@admin_router.post(
    "/{draft_id}/edit/items/{action_id}",
    operation_id="AdminUpdateDraftOrderEditItemAction",
    openapi_extra=_WITH_PREVIEW,
)
async def update_draft_order_edit_item_action(
    draft_id: str,
    action_id: str,
    body: UpdateEditAction,
    session: Session,
    uow: UoW,
    params: Query,
    actor: Admin,
    idempotency_key: IdempotencyKey,
) -> dict:
    """A new line's (`ITEM_ADD`, quantity ≥ 1) or a line update's (`ITEM_UPDATE`) values."""
    _check(params)
    outcome = await edits.update_item_action(
        uow,
        draft_id=draft_id,
        actor_id=_actor_id(actor),
        action_id=action_id,
        values=body.model_dump(exclude={"compare_at_unit_price"}),
    )
    return await _preview(session, outcome, params)


@admin_router.delete(
    "/{draft_id}/edit/items/{action_id}",
    operation_id="AdminRemoveDraftOrderEditItemAction",
    openapi_extra=_WITH_PREVIEW,
)
async def remove_draft_order_edit_item_action(
    draft_id: str,
    action_id: str,
    session: Session,
    uow: UoW,
    params: Query,
    actor: Admin,
    idempotency_key: IdempotencyKey,
) -> dict:
    _check(params)
    outcome = await edits.remove_action(
        uow, draft_id=draft_id, actor_id=_actor_id(actor), action_id=action_id, kinds=ITEM_KINDS
    )
    return await _preview(session, outcome, params)


@admin_router.post(
    "/{draft_id}/edit/shipping-methods",
    operation_id="AdminAddDraftOrderEditShippingMethod",
    openapi_extra=_WITH_PREVIEW,
)
async def add_draft_order_edit_shipping_method(
    draft_id: str,
    body: AddShippingMethod,
    session: Session,
    uow: UoW,
    params: Query,
    actor: Admin,
    idempotency_key: IdempotencyKey,
) -> dict:
    """`SHIPPING_ADD` of a seller's option (one method per seller: it replaces the seller's)."""
    _check(params)
    outcome = await edits.add_shipping(
        uow, draft_id=draft_id, actor_id=_actor_id(actor), **body.model_dump()
    )
    return await _preview(session, outcome, params)


@admin_router.post(
    "/{draft_id}/edit/shipping-methods/method/{method_id}",
    operation_id="AdminUpdateDraftOrderEditShippingMethod",
    openapi_extra=_WITH_PREVIEW,
)
async def update_draft_order_edit_shipping_method(
    draft_id: str,
    method_id: str,
    body: AddShippingMethod,
    session: Session,
    uow: UoW,
    params: Query,
    actor: Admin,
    idempotency_key: IdempotencyKey,
) -> dict:
    """Replace one of the draft's shipping methods with an option of the same seller (or the
    same option at `custom_amount`): `SHIPPING_ADD`."""
    _check(params)
    outcome = await edits.add_shipping(
        uow,
        draft_id=draft_id,
        actor_id=_actor_id(actor),
        replaces=method_id,
        **body.model_dump(),
    )
    return await _preview(session, outcome, params)


@admin_router.delete(
    "/{draft_id}/edit/shipping-methods/method/{method_id}",
    operation_id="AdminRemoveDraftOrderEditShippingMethod",
    openapi_extra=_WITH_PREVIEW,
)
async def remove_draft_order_edit_shipping_method(
    draft_id: str,
    method_id: str,
    session: Session,
    uow: UoW,
    params: Query,
    actor: Admin,
    idempotency_key: IdempotencyKey,
) -> dict:
    """Drop one of the draft's shipping methods: `SHIPPING_REMOVE`."""
    _check(params)
    outcome = await edits.remove_method(
        uow, draft_id=draft_id, actor_id=_actor_id(actor), method_id=method_id
    )
    return await _preview(session, outcome, params)


@admin_router.post(
    "/{draft_id}/edit/shipping-methods/{action_id}",
    operation_id="AdminUpdateDraftOrderEditShippingAction",
    openapi_extra=_WITH_PREVIEW,
)
async def update_draft_order_edit_shipping_action(
    draft_id: str,
    action_id: str,
    body: UpdateShippingMethod,
    session: Session,
    uow: UoW,
    params: Query,
    actor: Admin,
    idempotency_key: IdempotencyKey,
) -> dict:
    """An added method's `custom_amount`, `internal_note` or `metadata`."""
    _check(params)
    outcome = await edits.update_shipping(
        uow,
        draft_id=draft_id,
        actor_id=_actor_id(actor),
        action_id=action_id,
        **body.model_dump(),
    )
    return await _preview(session, outcome, params)


@admin_router.delete(
    "/{draft_id}/edit/shipping-methods/{action_id}",
    operation_id="AdminRemoveDraftOrderEditShippingAction",
    openapi_extra=_WITH_PREVIEW,
)
async def remove_draft_order_edit_shipping_action(
    draft_id: str,
    action_id: str,
    session: Session,
    uow: UoW,
    params: Query,
    actor: Admin,
    idempotency_key: IdempotencyKey,
) -> dict:
    _check(params)
    outcome = await edits.remove_action(
        uow,
        draft_id=draft_id,
        actor_id=_actor_id(actor),
        action_id=action_id,
        kinds=SHIPPING_KINDS,
    )
    return await _preview(session, outcome, params)


@admin_router.post(
    "/{draft_id}/edit/request",
    operation_id="AdminRequestDraftOrderEdit",
    openapi_extra=_WITH_PREVIEW,
)
async def request_draft_order_edit(
    draft_id: str,
    session: Session,
    uow: UoW,
    params: Query,
    actor: Admin,
    idempotency_key: IdempotencyKey,
) -> dict:
    """The edit `requested` (no collection: a draft has no payment before conversion)."""
    _check(params)
    outcome = await edits.request_edit(uow, draft_id=draft_id, actor_id=_actor_id(actor))
    return await _preview(session, outcome, params)


@admin_router.post(
    "/{draft_id}/edit/confirm",
    operation_id="AdminConfirmDraftOrderEdit",
    openapi_extra=_WITH_PREVIEW,
)
async def confirm_draft_order_edit(
    draft_id: str,
    session: Session,
    uow: UoW,
    params: Query,
    actor: Admin,
    idempotency_key: IdempotencyKey,
) -> dict:
    """Apply the edit to the draft's items and shipping methods (checked again, repriced)."""
    _check(params)
    outcome = await edits.confirm_edit(uow, draft_id=draft_id, actor_id=_actor_id(actor))
    return await _preview(session, outcome, params)


@admin_router.delete(
    "/{draft_id}/edit", operation_id="AdminCancelDraftOrderEdit", openapi_extra=delete_operation()
)
async def cancel_draft_order_edit(
    draft_id: str, uow: UoW, actor: Admin, idempotency_key: IdempotencyKey
) -> dict:
    """Cancel the active edit (kept as `canceled`; nothing was applied)."""
    await edits.cancel_edit(uow, draft_id=draft_id, actor_id=_actor_id(actor))
    return deleted(draft_id, "draft-order-edit")

"""Return routes (order-changes.md §6.1, §11) and the order's change routes (§3.7, §5).

Admin and vendor routes share one handler per route: the vendor's pass the member's seller, so
another seller's order or return is a 404 and nothing is touched. Mutations of a pending change
answer ``{order_preview, return}``: the order rendered for the audience with the active change
applied (summary, lines' ``detail`` and ``actions``, shipping methods) and ``order_change``.
"""

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter as FastAPIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Admin, AdminActor, Query, Session, UoW, Vendor
from mercato.api.idempotency import IdempotencyKey
from mercato.api.openapi import (
    delete_operation,
    envelope,
    list_operation,
    operation,
    query_parameter,
    render_operation,
)
from mercato.domain import returns as flows
from mercato.domain.money import to_major
from mercato.domain.order_changes import CHANGE_STATUSES, CHANGE_TYPES
from mercato.errors import invalid
from mercato.http.routing import APIRouter
from mercato.orders import returns_service as service
from mercato.orders.change_models import OrderChange, OrderReturn
from mercato.orders.change_resources import (
    ORDER_CHANGE,
    ORDER_CHANGE_FIELDS,
    RETURN,
    RETURN_FIELDS,
    RETURN_LIST,
    VENDOR_RETURN_LIST,
)
from mercato.orders.models import Order
from mercato.orders.rendering import render_order
from mercato.orders.resources import (
    ORDER,
    ORDER_DETAIL_FIELDS,
    VENDOR_ORDER_DETAIL_FIELDS,
)
from mercato.orders.return_schemas import (
    AddShippingMethod,
    BeginReceive,
    BeginReturn,
    CancelReturn,
    CreateCreditLine,
    ReceiveItems,
    RequestItems,
    RequestReturn,
    UpdateReceiveItem,
    UpdateRequestItem,
    UpdateReturn,
    UpdateShippingMethod,
)
from mercato.orders.service import get_order
from mercato.query.fields import RenderContext, render
from mercato.query.fields import select as select_fields
from mercato.query.listing import run_list, run_retrieve
from mercato.query.openapi import fields_parameter, item_schema

admin_router = APIRouter(tags=["admin: returns"])
vendor_router = APIRouter(tags=["vendor: returns"])
_RETURN = render_operation(RETURN, RETURN_FIELDS, key="return")
_ORDER = render_operation(ORDER, ORDER_DETAIL_FIELDS, errors=(404,))
# An order with its active change applied: the order's fields plus ``order_change``, lines'
# ``actions`` and the change's shipping methods (a free-form object in the schema).
_PREVIEWED_ORDER = {
    "type": "object",
    "description": "The order as if its active change were confirmed, with `order_change`.",
}
_RETURN_SCHEMA = item_schema(RETURN, RETURN_FIELDS)
_ORDER_FIELDS = [fields_parameter(ORDER, ORDER_DETAIL_FIELDS)]
_WITH_PREVIEW = operation(
    parameters=_ORDER_FIELDS,
    body=envelope({"order_preview": _PREVIEWED_ORDER, "return": _RETURN_SCHEMA}),
    errors=(404,),
)
_WITH_ORDER = operation(
    parameters=_ORDER_FIELDS,
    body=envelope({"order": _PREVIEWED_ORDER, "return": _RETURN_SCHEMA}),
    errors=(404,),
)
_PREVIEW = operation(
    parameters=_ORDER_FIELDS, body=envelope({"order": _PREVIEWED_ORDER}), errors=(404,)
)
_CANCELED = operation(body=envelope({"return": _RETURN_SCHEMA}), errors=(404,))
_DELETED = delete_operation()


def _one_or_many(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "array", "items": schema}]}


_CHANGES = operation(
    parameters=[
        fields_parameter(ORDER_CHANGE, ORDER_CHANGE_FIELDS),
        query_parameter(
            "change_type",
            _one_or_many({"type": "string", "enum": [*CHANGE_TYPES, "transfer", "update_order"]}),
            "Changes of this type or types (`change_type[]=…`); Medusa's `transfer` and "
            "`update_order` match nothing.",
        ),
        query_parameter(
            "status",
            _one_or_many({"type": "string", "enum": list(CHANGE_STATUSES)}),
            "Changes in this status or statuses.",
        ),
    ],
    body=envelope(
        {
            "order_changes": {
                "type": "array",
                "items": item_schema(ORDER_CHANGE, ORDER_CHANGE_FIELDS),
            }
        }
    ),
    errors=(404,),
)


def admin_actor_id(actor: AdminActor) -> str | None:
    """The admin's id as changes record it (``user_…`` or ``apk_…``)."""
    return actor.user_id or actor.api_key_id


# --------------------------------------------------------------------------- rendering


async def render_change_order(
    session: AsyncSession, order_id: str, params: dict[str, Any], *, vendor: bool
) -> dict[str, Any]:
    rules = VENDOR_ORDER_DETAIL_FIELDS if vendor else ORDER_DETAIL_FIELDS
    # Read once, as the command left it (the caller's scope was checked by the command).
    order = await session.scalar(
        select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    )
    rendered = await run_retrieve(session, resource=ORDER, rules=rules, row=order, params=params)
    change = await session.scalar(
        select(OrderChange).where(
            OrderChange.order_id == order_id, OrderChange.status.in_(("pending", "requested"))
        )
    )
    rendered["order_change"] = (
        await run_retrieve(
            session, resource=ORDER_CHANGE, rules=ORDER_CHANGE_FIELDS, row=change, params={}
        )
        if change is not None
        else None
    )
    return rendered


def overlay(rendered: dict[str, Any], outcome: Any) -> dict[str, Any]:
    """The rendered order with the preview's money, line details and shipping methods
    (``outcome.preview``: the order with its active change applied, or None)."""
    preview = outcome.preview
    if preview is None:
        return rendered
    currency = preview.currency_code
    if preview.summary is not None:
        rendered["summary"] = {
            name: to_major(value, currency) for name, value in preview.summary.as_dict().items()
        }
    rendered["version"] = preview.version
    rendered["status"] = preview.shown_status
    # An edit changes lines' quantities and prices: every totals field shown follows the preview.
    for name, value in asdict(preview.totals).items():
        if name in rendered or name == "total":
            rendered[name] = to_major(value, currency)
    actions = (rendered.get("order_change") or {}).get("actions") or []
    lines = {line.id: line for line in preview.lines}
    for item in rendered.get("items") or []:
        line = lines.get(item.get("id"))
        if line is None:
            continue
        for name in ("quantity", "unit_price", "subtotal", "tax_total", "total"):
            if name in item:
                value = getattr(line, name)
                item[name] = value if name == "quantity" else to_major(value, currency)
        item["detail"] = {
            "fulfilled_quantity": line.fulfilled_quantity,
            "shipped_quantity": line.shipped_quantity,
            "delivered_quantity": line.delivered_quantity,
            "return_requested_quantity": line.return_requested_quantity,
            "return_received_quantity": line.return_received_quantity,
            "return_dismissed_quantity": line.return_dismissed_quantity,
            "written_off_quantity": line.written_off_quantity,
            "deducted_quantity": line.deducted_quantity,
        }
        item["actions"] = [
            a for a in actions if (a.get("details") or {}).get("reference_id") == line.id
        ]
    rendered_ids = {item.get("id") for item in rendered.get("items") or []}
    if "items" in rendered:
        # Lines the change adds (outbound) appear; lines it takes back (quantity 0) leave.
        rendered["items"] = [
            item
            for item in rendered["items"]
            if item.get("id") not in lines or lines[item["id"]].quantity > 0
        ]
        for line in preview.lines:
            if line.id in rendered_ids or line.quantity == 0:
                continue
            rendered["items"].append(
                {
                    "id": line.id,
                    "variant_id": line.variant_id,
                    "product_id": line.product_id,
                    "title": line.snapshot.get("title"),
                    "variant_title": line.snapshot.get("variant_title"),
                    "quantity": line.quantity,
                    "unit_price": to_major(line.unit_price, currency),
                    "subtotal": to_major(line.subtotal, currency),
                    "tax_total": to_major(line.tax_total, currency),
                    "total": to_major(line.total, currency),
                    "exchange_id": line.exchange_id,
                    "claim_id": line.claim_id,
                    "actions": [
                        a
                        for a in actions
                        if (a.get("details") or {}).get("reference_id") == line.id
                    ],
                }
            )
    rendered["shipping_methods"] = [
        {
            "id": m.id,
            "shipping_option_id": m.shipping_option_id,
            "seller_id": m.seller_id,
            "name": m.name,
            "amount": to_major(m.amount, currency),
            "subtotal": to_major(m.subtotal, currency),
            "tax_total": to_major(m.tax_total, currency),
            "total": to_major(m.total, currency),
            "return_id": m.return_id,
            "exchange_id": m.exchange_id,
            "claim_id": m.claim_id,
        }
        for m in preview.shipping_methods
    ]
    return rendered


async def render_return(session: AsyncSession, return_id: str) -> dict[str, Any] | None:
    row = await session.get(OrderReturn, return_id)
    if row is None:
        return None
    await session.refresh(row)
    return await run_retrieve(session, resource=RETURN, rules=RETURN_FIELDS, row=row, params={})


async def _preview_body(
    session: AsyncSession, outcome: service.Outcome, params: dict[str, Any], *, vendor: bool
) -> dict[str, Any]:
    order = overlay(
        await render_change_order(session, outcome.order_id, params, vendor=vendor), outcome
    )
    body: dict[str, Any] = {"order_preview": order}
    if outcome.return_id is not None:
        body["return"] = await render_return(session, outcome.return_id)
    return body


async def _order_body(
    session: AsyncSession, outcome: service.Outcome, params: dict[str, Any], *, vendor: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order": await render_change_order(session, outcome.order_id, params, vendor=vendor)
    }
    if outcome.return_id is not None:
        body["return"] = await render_return(session, outcome.return_id)
    return body


# --------------------------------------------------------------------------- routes


def _register(router: FastAPIRouter, prefix: str, *, vendor: bool) -> None:  # noqa: C901
    """The return routes under ``prefix`` (``/admin`` or ``/vendor``)."""
    op = "Vendor" if vendor else "Admin"
    Actor = Vendor if vendor else Admin

    def scope(actor: Any) -> dict[str, Any]:
        if vendor:
            return {"actor_id": actor.member_id, "seller_id": actor.seller_id}
        return {"actor_id": admin_actor_id(actor)}

    @router.get(
        f"{prefix}/returns",
        operation_id=f"{op}ListReturns",
        openapi_extra=list_operation(VENDOR_RETURN_LIST if vendor else RETURN_LIST),
    )
    async def list_returns(session: Session, actor: Actor, params: Query) -> dict:
        """Filters: id, order_id, status, created_at, updated_at (admin: seller_id)."""
        if vendor:
            return await run_list(
                session, VENDOR_RETURN_LIST, params, bind={"seller_id": actor.seller_id}
            )
        return await run_list(session, RETURN_LIST, params)

    @router.get(
        f"{prefix}/returns/{{return_id}}", operation_id=f"{op}GetReturn", openapi_extra=_RETURN
    )
    async def get_return(return_id: str, session: Session, actor: Actor, params: Query) -> dict:
        await service.order_of_return(
            session, return_id, seller_id=actor.seller_id if vendor else None
        )
        row = await session.get(OrderReturn, return_id)
        return {
            "return": await run_retrieve(
                session, resource=RETURN, rules=RETURN_FIELDS, row=row, params=params
            )
        }

    @router.post(f"{prefix}/returns", operation_id=f"{op}CreateReturn", openapi_extra=_WITH_ORDER)
    async def create_return(
        body: BeginReturn,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
    ) -> dict:
        """Begin a return: the return ``open`` and its ``return_request`` change pending."""
        outcome = await service.begin_return(
            uow,
            order_id=body.order_id,
            **scope(actor),
            **body.model_dump(exclude={"order_id"}, exclude_unset=True),
        )
        return await _order_body(session, outcome, params, vendor=vendor)

    @router.post(
        f"{prefix}/returns/{{return_id}}",
        operation_id=f"{op}UpdateReturn",
        openapi_extra=_WITH_PREVIEW,
    )
    async def update_return(
        return_id: str,
        body: UpdateReturn,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
    ) -> dict:
        outcome = await service.update_return(
            uow, return_id=return_id, **scope(actor), **body.model_dump(exclude_unset=True)
        )
        return await _preview_body(session, outcome, params, vendor=vendor)

    @router.post(
        f"{prefix}/returns/{{return_id}}/request-items",
        operation_id=f"{op}AddReturnItems",
        openapi_extra=_WITH_PREVIEW,
    )
    async def request_items(
        return_id: str,
        body: RequestItems,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
    ) -> dict:
        items = [
            flows.RequestedItem(
                i.id, i.quantity, i.reason_id, i.description, i.internal_note, i.metadata
            )
            for i in body.items
        ]
        outcome = await service.request_items(uow, return_id=return_id, items=items, **scope(actor))
        return await _preview_body(session, outcome, params, vendor=vendor)

    @router.post(
        f"{prefix}/returns/{{return_id}}/request-items/{{action_id}}",
        operation_id=f"{op}UpdateReturnItem",
        openapi_extra=_WITH_PREVIEW,
    )
    async def update_request_item(
        return_id: str,
        action_id: str,
        body: UpdateRequestItem,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
    ) -> dict:
        outcome = await service.update_request_item(
            uow,
            return_id=return_id,
            action_id=action_id,
            **scope(actor),
            **body.model_dump(exclude_unset=True),
        )
        return await _preview_body(session, outcome, params, vendor=vendor)

    def _remover(path: str, name: str, kinds: tuple[str, ...]) -> None:
        @router.delete(
            f"{prefix}/returns/{{return_id}}/{path}/{{action_id}}",
            operation_id=f"{op}{name}",
            openapi_extra=_WITH_PREVIEW,
        )
        async def remove(
            return_id: str,
            action_id: str,
            uow: UoW,
            session: Session,
            actor: Actor,
            params: Query,
            key: IdempotencyKey,
        ) -> dict:
            outcome = await service.remove_action(
                uow, return_id=return_id, action_id=action_id, kinds=kinds, **scope(actor)
            )
            return await _preview_body(session, outcome, params, vendor=vendor)

    _remover("request-items", "RemoveReturnItem", ("RETURN_ITEM",))
    _remover("shipping-method", "RemoveReturnShipping", ("SHIPPING_ADD",))
    _remover("receive-items", "RemoveReceiveItem", ("RECEIVE_RETURN_ITEM",))
    _remover("dismiss-items", "RemoveDismissItem", ("RECEIVE_DAMAGED_RETURN_ITEM",))

    @router.post(
        f"{prefix}/returns/{{return_id}}/shipping-method",
        operation_id=f"{op}AddReturnShipping",
        openapi_extra=_WITH_PREVIEW,
    )
    async def add_shipping(
        return_id: str,
        body: AddShippingMethod,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
    ) -> dict:
        outcome = await service.add_return_shipping(
            uow,
            return_id=return_id,
            **scope(actor),
            **body.model_dump(exclude_unset=False),
        )
        return await _preview_body(session, outcome, params, vendor=vendor)

    @router.post(
        f"{prefix}/returns/{{return_id}}/shipping-method/{{action_id}}",
        operation_id=f"{op}UpdateReturnShipping",
        openapi_extra=_WITH_PREVIEW,
    )
    async def update_shipping(
        return_id: str,
        action_id: str,
        body: UpdateShippingMethod,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
    ) -> dict:
        values = body.model_dump(exclude_unset=True)
        outcome = await service.update_return_shipping(
            uow,
            return_id=return_id,
            action_id=action_id,
            **scope(actor),
            custom_amount=values.pop("custom_amount", None),
            **values,
        )
        return await _preview_body(session, outcome, params, vendor=vendor)

    @router.post(
        f"{prefix}/returns/{{return_id}}/request",
        operation_id=f"{op}RequestReturn",
        openapi_extra=_WITH_PREVIEW,
    )
    async def request_return(
        return_id: str,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
        body: RequestReturn | None = None,
    ) -> dict:
        """Confirm the request: the items' value is deducted, the return ``requested``."""
        values = body.model_dump(exclude_unset=True) if body else {}
        outcome = await service.on_return(
            uow, flows.request_return, return_id=return_id, **scope(actor), **values
        )
        return await _preview_body(session, outcome, params, vendor=vendor)

    @router.delete(
        f"{prefix}/returns/{{return_id}}/request",
        operation_id=f"{op}DiscardReturn",
        openapi_extra=_DELETED,
    )
    async def discard_return(return_id: str, uow: UoW, actor: Actor, key: IdempotencyKey) -> dict:
        """Cancel the pending request; the open return is deleted."""
        await service.on_return(uow, flows.discard_return, return_id=return_id, **scope(actor))
        return {"id": return_id, "object": "return", "deleted": True}

    @router.post(
        f"{prefix}/returns/{{return_id}}/receive",
        operation_id=f"{op}BeginReceive",
        openapi_extra=_WITH_ORDER,
    )
    async def begin_receive(
        return_id: str,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
        body: BeginReceive | None = None,
    ) -> dict:
        values = body.model_dump(exclude_unset=True) if body else {}
        outcome = await service.on_return(
            uow, flows.begin_receive, return_id=return_id, **scope(actor), **values
        )
        return await _order_body(session, outcome, params, vendor=vendor)

    @router.delete(
        f"{prefix}/returns/{{return_id}}/receive",
        operation_id=f"{op}DiscardReceive",
        openapi_extra=_DELETED,
    )
    async def discard_receive(return_id: str, uow: UoW, actor: Actor, key: IdempotencyKey) -> dict:
        await service.on_return(uow, flows.discard_receive, return_id=return_id, **scope(actor))
        return {"id": return_id, "object": "return", "deleted": True}

    def _receiver(path: str, name: str, damaged: bool) -> None:
        @router.post(
            f"{prefix}/returns/{{return_id}}/{path}",
            operation_id=f"{op}{name}",
            openapi_extra=_WITH_PREVIEW,
        )
        async def receive(
            return_id: str,
            body: ReceiveItems,
            uow: UoW,
            session: Session,
            actor: Actor,
            params: Query,
            key: IdempotencyKey,
        ) -> dict:
            items = [(i.id, i.quantity, i.internal_note) for i in body.items]
            outcome = await service.on_return(
                uow,
                flows.receive_items,
                return_id=return_id,
                **scope(actor),
                items=items,
                damaged=damaged,
            )
            return await _preview_body(session, outcome, params, vendor=vendor)

        @router.post(
            f"{prefix}/returns/{{return_id}}/{path}/{{action_id}}",
            operation_id=f"{op}Update{name}",
            openapi_extra=_WITH_PREVIEW,
        )
        async def update_receive(
            return_id: str,
            action_id: str,
            body: UpdateReceiveItem,
            uow: UoW,
            session: Session,
            actor: Actor,
            params: Query,
            key: IdempotencyKey,
        ) -> dict:
            outcome = await service.on_return(
                uow,
                flows.update_receive_item,
                return_id=return_id,
                **scope(actor),
                action_id=action_id,
                damaged=damaged,
                **body.model_dump(exclude_unset=True),
            )
            return await _preview_body(session, outcome, params, vendor=vendor)

    _receiver("receive-items", "ReceiveItems", False)
    _receiver("dismiss-items", "DismissItems", True)

    @router.post(
        f"{prefix}/returns/{{return_id}}/receive/confirm",
        operation_id=f"{op}ConfirmReceive",
        openapi_extra=_WITH_PREVIEW,
    )
    async def confirm_receive(
        return_id: str,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
    ) -> dict:
        """Received units restocked at the seller's location; damaged ones are not."""
        outcome = await service.on_return(
            uow, flows.confirm_receive, return_id=return_id, **scope(actor)
        )
        return await _preview_body(session, outcome, params, vendor=vendor)

    @router.post(
        f"{prefix}/returns/{{return_id}}/cancel",
        operation_id=f"{op}CancelReturn",
        openapi_extra=_CANCELED,
    )
    async def cancel_return(
        return_id: str,
        uow: UoW,
        session: Session,
        actor: Actor,
        key: IdempotencyKey,
        body: CancelReturn | None = None,
    ) -> dict:
        values = body.model_dump(exclude_unset=True) if body else {}
        outcome = await service.on_return(
            uow, flows.cancel_return, return_id=return_id, **scope(actor), **values
        )
        assert outcome.return_id is not None
        return {"return": await render_return(session, outcome.return_id)}

    @router.get(
        f"{prefix}/orders/{{order_id}}/preview",
        operation_id=f"{op}PreviewOrder",
        openapi_extra=_PREVIEW,
    )
    async def preview_order(
        order_id: str, uow: UoW, session: Session, actor: Actor, params: Query
    ) -> dict:
        """The order as if its active change were confirmed (no change: the order)."""
        seller_id = actor.seller_id if vendor else None
        outcome = await service.order_preview(uow, order_id=order_id, seller_id=seller_id)
        rendered = await render_change_order(session, order_id, params, vendor=vendor)
        return {"order": overlay(rendered, outcome)}

    @router.get(
        f"{prefix}/orders/{{order_id}}/changes",
        operation_id=f"{op}ListOrderChanges",
        openapi_extra=_CHANGES,
    )
    async def list_changes(order_id: str, session: Session, actor: Actor, params: Query) -> dict:
        """The order's changes, oldest first; filters ``change_type`` and ``status``, and
        ``fields``."""
        filters = {k: v for k, v in params.items() if k in ("change_type", "status")}
        unknown = [k for k in params if k not in ("change_type", "status", "fields")]
        if unknown:
            raise invalid(
                f"Invalid request: Unrecognized fields: {', '.join(repr(k) for k in unknown)}"
            )
        for name, value in filters.items():
            values = [value] if isinstance(value, str) else value
            if not (isinstance(values, list) and all(isinstance(v, str) for v in values)):
                raise invalid(f"{name} must be a string or a list of strings")
            filters[name] = values
        fields = params.get("fields")
        if fields is not None and not isinstance(fields, str):
            raise invalid("fields must be a comma-separated string")
        tree = select_fields(ORDER_CHANGE, ORDER_CHANGE_FIELDS, fields)
        await get_order(session, order_id, seller_id=actor.seller_id if vendor else None)
        query = select(OrderChange).where(OrderChange.order_id == order_id)
        # Medusa's ``transfer`` and ``update_order`` are accepted and match nothing.
        if "change_type" in filters:
            query = query.where(OrderChange.change_type.in_(filters["change_type"]))
        if "status" in filters:
            query = query.where(OrderChange.status.in_(filters["status"]))
        rows = list(await session.scalars(query.order_by(OrderChange.created_at, OrderChange.id)))
        return {"order_changes": await render(RenderContext(session), ORDER_CHANGE, rows, tree)}


_register(admin_router, "/admin", vendor=False)
_register(vendor_router, "/vendor", vendor=True)


@admin_router.post(
    "/admin/orders/{order_id}/credit-lines",
    operation_id="AdminCreateCreditLine",
    openapi_extra=_ORDER,
)
async def create_credit_line(
    order_id: str,
    body: CreateCreditLine,
    uow: UoW,
    session: Session,
    actor: Admin,
    params: Query,
    key: IdempotencyKey,
) -> dict:
    """Settle a pending difference without moving money (an order change ``credit_line``)."""
    outcome = await service.add_credit_line(
        uow,
        order_id=order_id,
        amount=body.amount,
        reference=body.reference,
        reference_id=body.reference_id,
        metadata=body.metadata,
        actor_id=admin_actor_id(actor),
    )
    order = await get_order(session, outcome.order_id)
    return await render_order(session, order, params)

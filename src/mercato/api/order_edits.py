"""Order-edit routes (order-changes.md §9, §11), for admins and for vendors: ``:id`` is the
**order** id (Medusa's convention); a vendor's member reaches only its seller's orders (another
seller's order is a 404 naming it, and nothing moves).

Begin answers ``{order_change}``, cancel ``{id, object: "order-edit", deleted: true}``, every
other route ``{order_preview}``: the order rendered for the audience with the active edit
applied, as the return, exchange and claim routes render it (the confirmed order once the edit
is confirmed). Every POST and DELETE honours ``Idempotency-Key``.

:func:`_register` declares the routes for one audience; each ``{order_preview}`` route runs the
rule its ``rule_of`` function (below, shared by both audiences) builds from the path and the
body."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter as FastAPIRouter
from fastapi import Path
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Admin, Providers, Query, Session, UoW, Vendor
from mercato.api.idempotency import IdempotencyKey
from mercato.api.openapi import delete_operation, envelope, operation
from mercato.api.returns import admin_actor_id, overlay, render_change_order
from mercato.domain import edits
from mercato.domain.edits import LineEdit
from mercato.domain.exchanges import OutboundItem, Tax, VariantQuote
from mercato.domain.returns import ShippingQuote
from mercato.http.routing import APIRouter
from mercato.orders import edits_service as service
from mercato.orders import exchanges_service as reads
from mercato.orders.change_models import OrderChange
from mercato.orders.change_resources import ORDER_CHANGE, ORDER_CHANGE_FIELDS
from mercato.orders.payment_workflows import cancel_edit
from mercato.orders.resources import ORDER, ORDER_DETAIL_FIELDS
from mercato.orders.return_schemas import (
    AddShippingMethod,
    BeginEdit,
    EditItems,
    UpdateEditAction,
    UpdateEditItem,
    UpdateShippingMethod,
)
from mercato.query.listing import run_retrieve
from mercato.query.openapi import fields_parameter, item_schema
from mercato.unit_of_work import UnitOfWork

admin_router = APIRouter(tags=["admin: order edits"])
vendor_router = APIRouter(tags=["vendor: order edits"])

_PREVIEWED = {
    "type": "object",
    "description": "The order as if its active edit were confirmed, with `order_change` "
    "(after confirm: the confirmed order).",
}
_WITH_PREVIEW = operation(
    parameters=[fields_parameter(ORDER, ORDER_DETAIL_FIELDS)],
    body=envelope({"order_preview": _PREVIEWED}),
    errors=(404,),
)
_WITH_CHANGE = operation(
    parameters=[fields_parameter(ORDER_CHANGE, ORDER_CHANGE_FIELDS)],
    body=envelope({"order_change": item_schema(ORDER_CHANGE, ORDER_CHANGE_FIELDS)}),
    errors=(404,),
)

OrderId = Annotated[str, Path(description="The order's id.")]

# (order id, the path's ``item_id``/``action_id`` or None, the body or None, the seller whose
# orders the caller reaches) → the rule to run and what it reads first (or None)
RuleOf = Callable[[str, str | None, Any, str | None], tuple[service.Rule, reads.Before | None]]


# --------------------------------------------------------------------------- the rules


def _add_items(order_id: str, _: str | None, body: EditItems, seller_id: str | None) -> Any:
    quotes: dict[str, VariantQuote] = {}
    taxes: list[Tax] = []

    def rule(group: Any, actor: Any) -> Any:
        order = group.order(order_id)
        items = [
            OutboundItem(
                i.variant_id,
                i.quantity,
                reads.minor("unit_price", i.unit_price, order),
                i.internal_note,
                i.allow_backorder,
                i.metadata,
            )
            for i in body.items
        ]
        return edits.add_items(group, order_id, items, quotes, taxes[0], actor, seller_id=seller_id)

    return rule, reads.variants_loaded([i.variant_id for i in body.items], quotes, taxes)


def _line_edit(body: UpdateEditItem | UpdateEditAction, group: Any, order_id: str) -> LineEdit:
    order = group.order(order_id)
    return LineEdit(
        quantity=body.quantity,
        unit_price=reads.minor("unit_price", body.unit_price, order),
        internal_note=body.internal_note,
    )


def _update_item(
    order_id: str, item_id: str | None, body: UpdateEditItem, seller_id: str | None
) -> Any:
    assert item_id is not None
    quotes: dict[str, VariantQuote] = {}
    taxes: list[Tax] = []

    def rule(group: Any, actor: Any) -> Any:
        edit = _line_edit(body, group, order_id)
        return edits.update_item(
            group, order_id, item_id, edit, quotes, taxes[0], actor, seller_id=seller_id
        )

    return rule, service.line_variant_loaded(quotes, taxes, line_id=item_id)


def _update_action(
    order_id: str, action_id: str | None, body: UpdateEditAction, seller_id: str | None
) -> Any:
    assert action_id is not None
    quotes: dict[str, VariantQuote] = {}
    taxes: list[Tax] = []

    def rule(group: Any, actor: Any) -> Any:
        edit = _line_edit(body, group, order_id)
        return edits.update_action(
            group, order_id, action_id, edit, quotes, taxes[0], actor, seller_id=seller_id
        )

    return rule, service.line_variant_loaded(quotes, taxes, action_id=action_id)


def _remover(*kinds: str) -> RuleOf:
    def rule_of(order_id: str, action_id: str | None, _: None, seller_id: str | None) -> Any:
        assert action_id is not None
        return (
            lambda group, actor: edits.remove_action(
                group, order_id, action_id, kinds, actor, seller_id=seller_id
            ),
            None,
        )

    return rule_of


_remove_item = _remover(*edits.ITEM_KINDS)
_remove_shipping = _remover("SHIPPING_ADD")


def _add_shipping(
    order_id: str, _: str | None, body: AddShippingMethod, seller_id: str | None
) -> Any:
    quotes: list[ShippingQuote] = []
    values = body.model_dump(exclude={"shipping_option_id", "custom_amount"})

    def rule(group: Any, actor: Any) -> Any:
        custom = reads.minor("custom_amount", body.custom_amount, group.order(order_id))
        return edits.add_shipping(
            group, order_id, quotes[0], actor, seller_id=seller_id, custom_amount=custom, **values
        )

    return rule, reads.option_loaded(body.shipping_option_id, quotes)


def _update_shipping(
    order_id: str, action_id: str | None, body: UpdateShippingMethod, seller_id: str | None
) -> Any:
    assert action_id is not None
    values = body.model_dump(exclude_unset=True, exclude={"custom_amount"})

    def rule(group: Any, actor: Any) -> Any:
        custom = reads.minor("custom_amount", body.custom_amount, group.order(order_id))
        return edits.update_shipping(
            group, order_id, action_id, actor, seller_id=seller_id, custom_amount=custom, **values
        )

    return rule, None


def _lifecycle(step: Callable[..., Any]) -> RuleOf:
    def rule_of(order_id: str, _: str | None, __: None, seller_id: str | None) -> Any:
        return lambda group, actor: step(group, order_id, actor, seller_id=seller_id), None

    return rule_of


_request = _lifecycle(edits.request_edit)
_confirm = _lifecycle(edits.confirm_edit)


# --------------------------------------------------------------------------- the routes


def _register(router: FastAPIRouter, prefix: str, *, vendor: bool) -> None:
    """The order-edit routes under ``prefix`` (``/admin`` or ``/vendor``)."""
    op = "Vendor" if vendor else "Admin"
    Actor = Vendor if vendor else Admin
    base = f"{prefix}/order-edits"
    edit = f"{base}/{{order_id}}"

    def scope(actor: Any) -> dict[str, Any]:
        """Who acts (``user_…``/``apk_…`` or ``mem_…``) and whose orders they reach."""
        if vendor:
            return {"actor_id": actor.member_id, "seller_id": actor.seller_id}
        return {"actor_id": admin_actor_id(actor), "seller_id": None}

    async def preview(
        rule_of: RuleOf,
        order_id: str,
        ref: str | None,
        body: Any,
        uow: UnitOfWork,
        session: AsyncSession,
        params: dict,
        actor: Any,
    ) -> dict:
        """Run ``rule_of``'s rule on the order's edit; answer ``{order_preview}``."""
        scoped = scope(actor)
        rule, before = rule_of(order_id, ref, body, scoped["seller_id"])
        outcome = await service.run(uow, rule, order_id=order_id, before=before, **scoped)
        rendered = await render_change_order(session, order_id, params, vendor=vendor)
        return {"order_preview": overlay(rendered, outcome)}

    @router.post(
        base,
        operation_id=f"{op}CreateOrderEdit",
        summary="Create Order Edit",
        description="Begin an order edit: a pending change `edit` on the order.",
        openapi_extra=_WITH_CHANGE,
    )
    async def begin(
        body: BeginEdit,
        uow: UoW,
        session: Session,
        params: Query,
        actor: Actor,
        key: IdempotencyKey,
    ) -> dict:
        scoped = scope(actor)
        values = body.model_dump(exclude={"order_id"}, exclude_unset=True)
        outcome = await service.run(
            uow,
            lambda group, a: edits.begin_edit(
                group, body.order_id, a, seller_id=scoped["seller_id"], **values
            ),
            order_id=body.order_id,
            **scoped,
        )
        row = await session.get(OrderChange, outcome.change_id)
        rendered = await run_retrieve(
            session, resource=ORDER_CHANGE, rules=ORDER_CHANGE_FIELDS, row=row, params=params
        )
        return {"order_change": rendered}

    @router.post(
        f"{edit}/items",
        operation_id=f"{op}AddOrderEditItems",
        summary="Add Order Edit Items",
        openapi_extra=_WITH_PREVIEW,
    )
    async def add_items(
        order_id: OrderId,
        body: EditItems,
        uow: UoW,
        session: Session,
        params: Query,
        actor: Actor,
        key: IdempotencyKey,
    ) -> dict:
        return await preview(_add_items, order_id, None, body, uow, session, params, actor)

    @router.post(
        f"{edit}/items/item/{{item_id}}",
        operation_id=f"{op}UpdateOrderEditItem",
        summary="Update Order Edit Item",
        description="Set an order line's quantity (0 removes it) or unit price: `ITEM_UPDATE`.",
        openapi_extra=_WITH_PREVIEW,
    )
    async def update_item(
        order_id: OrderId,
        item_id: str,
        body: UpdateEditItem,
        uow: UoW,
        session: Session,
        params: Query,
        actor: Actor,
        key: IdempotencyKey,
    ) -> dict:
        return await preview(_update_item, order_id, item_id, body, uow, session, params, actor)

    @router.post(
        f"{edit}/items/{{action_id}}",
        operation_id=f"{op}UpdateOrderEditItemAction",
        summary="Update Order Edit Item Action",
        openapi_extra=_WITH_PREVIEW,
    )
    async def update_item_action(
        order_id: OrderId,
        action_id: str,
        body: UpdateEditAction,
        uow: UoW,
        session: Session,
        params: Query,
        actor: Actor,
        key: IdempotencyKey,
    ) -> dict:
        return await preview(_update_action, order_id, action_id, body, uow, session, params, actor)

    @router.delete(
        f"{edit}/items/{{action_id}}",
        operation_id=f"{op}RemoveOrderEditItemAction",
        summary="Remove Order Edit Item Action",
        openapi_extra=_WITH_PREVIEW,
    )
    async def remove_item_action(
        order_id: OrderId,
        action_id: str,
        uow: UoW,
        session: Session,
        params: Query,
        actor: Actor,
        key: IdempotencyKey,
    ) -> dict:
        return await preview(_remove_item, order_id, action_id, None, uow, session, params, actor)

    @router.post(
        f"{edit}/shipping-method",
        operation_id=f"{op}AddOrderEditShipping",
        summary="Add Order Edit Shipping",
        openapi_extra=_WITH_PREVIEW,
    )
    async def add_shipping(
        order_id: OrderId,
        body: AddShippingMethod,
        uow: UoW,
        session: Session,
        params: Query,
        actor: Actor,
        key: IdempotencyKey,
    ) -> dict:
        return await preview(_add_shipping, order_id, None, body, uow, session, params, actor)

    @router.post(
        f"{edit}/shipping-method/{{action_id}}",
        operation_id=f"{op}UpdateOrderEditShipping",
        summary="Update Order Edit Shipping",
        openapi_extra=_WITH_PREVIEW,
    )
    async def update_shipping(
        order_id: OrderId,
        action_id: str,
        body: UpdateShippingMethod,
        uow: UoW,
        session: Session,
        params: Query,
        actor: Actor,
        key: IdempotencyKey,
    ) -> dict:
        return await preview(
            _update_shipping, order_id, action_id, body, uow, session, params, actor
        )

    @router.delete(
        f"{edit}/shipping-method/{{action_id}}",
        operation_id=f"{op}RemoveOrderEditShipping",
        summary="Remove Order Edit Shipping",
        openapi_extra=_WITH_PREVIEW,
    )
    async def remove_shipping(
        order_id: OrderId,
        action_id: str,
        uow: UoW,
        session: Session,
        params: Query,
        actor: Actor,
        key: IdempotencyKey,
    ) -> dict:
        return await preview(
            _remove_shipping, order_id, action_id, None, uow, session, params, actor
        )

    @router.post(
        f"{edit}/request",
        operation_id=f"{op}RequestOrderEdit",
        summary="Request Order Edit",
        description="The edit `requested`; the change collection is re-synced to what the "
        "order will owe once it is confirmed.",
        openapi_extra=_WITH_PREVIEW,
    )
    async def request(
        order_id: OrderId,
        uow: UoW,
        session: Session,
        params: Query,
        actor: Actor,
        key: IdempotencyKey,
    ) -> dict:
        return await preview(_request, order_id, None, None, uow, session, params, actor)

    @router.post(
        f"{edit}/confirm",
        operation_id=f"{op}ConfirmOrderEdit",
        summary="Confirm Order Edit",
        description="Apply the edit: lines, reservations at the seller's location, version, "
        "§3.5 re-sync.",
        openapi_extra=_WITH_PREVIEW,
    )
    async def confirm(
        order_id: OrderId,
        uow: UoW,
        session: Session,
        params: Query,
        actor: Actor,
        key: IdempotencyKey,
    ) -> dict:
        return await preview(_confirm, order_id, None, None, uow, session, params, actor)

    @router.delete(
        edit,
        operation_id=f"{op}CancelOrderEdit",
        summary="Cancel Order Edit",
        description="Cancel the active edit (kept as `canceled`); its unpaid collection is "
        "canceled and an authorization taken for it voided.",
        openapi_extra=delete_operation(),
    )
    async def cancel(
        order_id: OrderId,
        uow: UoW,
        providers: Providers,
        actor: Actor,
        key: IdempotencyKey,
    ) -> dict:
        scoped = scope(actor)
        await cancel_edit(
            uow,
            order_id=order_id,
            seller_id=scoped["seller_id"],
            canceled_by=scoped["actor_id"],
            providers=providers,
        )
        return {"id": order_id, "object": "order-edit", "deleted": True}


_register(admin_router, "/admin", vendor=False)
_register(vendor_router, "/vendor", vendor=True)

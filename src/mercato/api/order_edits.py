"""Order-edit routes (order-changes.md §9, §11), for admins and for vendors: ``:id`` is the
**order** id (Medusa's convention); a vendor's member reaches only its seller's orders (another
seller's order is a 404 naming it, and nothing moves).

Begin answers ``{order_change}``, cancel ``{id, object: "order-edit", deleted: true}``, every
other route ``{order_preview}``: the order rendered for the audience with the active edit
applied, as the return, exchange and claim routes render it (the confirmed order once the edit
is confirmed). Every POST and DELETE honours ``Idempotency-Key``. The routes share one
handler (:func:`_route`, which builds its signature from the route's parameters); the
``{order_preview}`` ones are declared by :func:`_declare` from a path, a body and a rule."""

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
from mercato.payments.providers import ProviderFactory
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
_CHANGE_SCHEMA = item_schema(ORDER_CHANGE, ORDER_CHANGE_FIELDS)

OrderId = Annotated[str, Path(description="The order's id.")]
Ref = Annotated[str, Path()]


@dataclass(frozen=True)
class _Audience:
    router: FastAPIRouter
    prefix: str  # "/admin" | "/vendor"
    vendor: bool

    @property
    def base(self) -> str:
        return f"{self.prefix}/order-edits"

    @property
    def op(self) -> str:
        return "Vendor" if self.vendor else "Admin"

    @property
    def actor(self) -> Any:
        return Vendor if self.vendor else Admin

    def scope(self, actor: Any) -> dict[str, Any]:
        """Who acts (``user_…``/``apk_…`` or ``mem_…``) and whose orders they reach."""
        if self.vendor:
            return {"actor_id": actor.member_id, "seller_id": actor.seller_id}
        return {"actor_id": admin_actor_id(actor), "seller_id": None}


# (order id, the path's ``item_id``/``action_id`` or None, the body or None, the seller whose
# orders the caller reaches) → the rule to run and what it reads first (or None)
RuleOf = Callable[[str, str | None, Any, str | None], tuple[service.Rule, reads.Before | None]]


def _route(
    a: _Audience,
    method: str,
    path: str,
    name: str,
    params: list[tuple[str, Any]],
    handler: Callable[..., Awaitable[dict]],
    *,
    openapi_extra: dict[str, Any],
    description: str | None = None,
) -> None:
    """Declare ``<method> <path>`` for the audience: ``handler(**values)`` receives the named
    ``params`` (path parameters, body, dependencies: ``(name, annotation)``) and ``actor``; the
    route also claims the ``Idempotency-Key``."""
    parameters = [
        inspect.Parameter(param, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
        for param, annotation in [*params, ("actor", a.actor), ("key", IdempotencyKey)]
    ]

    async def endpoint(**values: Any) -> dict:
        values.pop("key")
        return await handler(**values)

    # FastAPI reads the parameters from the signature.
    endpoint.__signature__ = inspect.Signature(parameters, return_annotation=dict)  # type: ignore[attr-defined]
    endpoint.__name__ = name
    a.router.add_api_route(
        path,
        endpoint,
        methods=[method],
        operation_id=f"{a.op}{name}",
        summary=" ".join(re.findall("[A-Z][a-z]*", name)),
        description=description,
        openapi_extra=openapi_extra,
    )


def _declare(
    a: _Audience,
    method: str,
    tail: str,
    name: str,
    rule_of: RuleOf,
    *,
    ref: str | None = None,
    body: type[Any] | None = None,
    description: str | None = None,
) -> None:
    """``<method> <base>/{order_id}<tail>`` running ``rule_of``'s rule on the order's edit,
    answered ``{order_preview}``. ``ref`` names the path's second parameter (``item_id`` or
    ``action_id``, in ``tail``); ``body`` is the request body's model, if any."""
    params: list[tuple[str, Any]] = [("order_id", OrderId)]
    if ref is not None:
        params.append((ref, Ref))
    if body is not None:
        params.append(("body", body))
    params += [("uow", UoW), ("session", Session), ("params", Query)]

    async def preview(**values: Any) -> dict:
        order_id, scoped = values["order_id"], a.scope(values["actor"])
        rule, before = rule_of(
            order_id, values.get(ref or ""), values.get("body"), scoped["seller_id"]
        )
        outcome = await service.run(values["uow"], rule, order_id=order_id, before=before, **scoped)
        rendered = await render_change_order(
            values["session"], order_id, values["params"], vendor=a.vendor
        )
        return {"order_preview": overlay(rendered, outcome)}

    _route(
        a,
        method,
        f"{a.base}/{{order_id}}{tail}",
        name,
        params,
        preview,
        openapi_extra=_WITH_PREVIEW,
        description=description,
    )


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


# --------------------------------------------------------------------------- the routes


def _register(router: FastAPIRouter, prefix: str, *, vendor: bool) -> None:
    a = _Audience(router, prefix, vendor)

    async def begin(
        body: BeginEdit, uow: UnitOfWork, session: AsyncSession, actor: Any, params: dict
    ) -> dict:
        scoped = a.scope(actor)
        values = body.model_dump(exclude={"order_id"}, exclude_unset=True)
        outcome = await service.run(
            uow,
            lambda group, act: edits.begin_edit(
                group, body.order_id, act, seller_id=scoped["seller_id"], **values
            ),
            order_id=body.order_id,
            **scoped,
        )
        row = await session.get(OrderChange, outcome.change_id)
        rendered = await run_retrieve(
            session, resource=ORDER_CHANGE, rules=ORDER_CHANGE_FIELDS, row=row, params=params
        )
        return {"order_change": rendered}

    _route(
        a,
        "POST",
        a.base,
        "CreateOrderEdit",
        [("body", BeginEdit), ("uow", UoW), ("session", Session), ("params", Query)],
        begin,
        openapi_extra=operation(
            parameters=[fields_parameter(ORDER_CHANGE, ORDER_CHANGE_FIELDS)],
            body=envelope({"order_change": _CHANGE_SCHEMA}),
            errors=(404,),
        ),
        description="Begin an order edit: a pending change `edit` on the order.",
    )
    _declare(a, "POST", "/items", "AddOrderEditItems", _add_items, body=EditItems)
    _declare(
        a,
        "POST",
        "/items/item/{item_id}",
        "UpdateOrderEditItem",
        _update_item,
        ref="item_id",
        body=UpdateEditItem,
        description="Set an order line's quantity (0 removes it) or unit price: `ITEM_UPDATE`.",
    )
    _declare(
        a,
        "POST",
        "/items/{action_id}",
        "UpdateOrderEditItemAction",
        _update_action,
        ref="action_id",
        body=UpdateEditAction,
    )
    _declare(
        a,
        "DELETE",
        "/items/{action_id}",
        "RemoveOrderEditItemAction",
        _remover(*edits.ITEM_KINDS),
        ref="action_id",
    )
    _declare(
        a, "POST", "/shipping-method", "AddOrderEditShipping", _add_shipping, body=AddShippingMethod
    )
    _declare(
        a,
        "POST",
        "/shipping-method/{action_id}",
        "UpdateOrderEditShipping",
        _update_shipping,
        ref="action_id",
        body=UpdateShippingMethod,
    )
    _declare(
        a,
        "DELETE",
        "/shipping-method/{action_id}",
        "RemoveOrderEditShipping",
        _remover("SHIPPING_ADD"),
        ref="action_id",
    )
    _declare(
        a,
        "POST",
        "/request",
        "RequestOrderEdit",
        _lifecycle(edits.request_edit),
        description="The edit `requested`; the change collection is re-synced to what the "
        "order will owe once it is confirmed.",
    )
    _declare(
        a,
        "POST",
        "/confirm",
        "ConfirmOrderEdit",
        _lifecycle(edits.confirm_edit),
        description="Apply the edit: lines, reservations at the seller's location, version, "
        "§3.5 re-sync.",
    )

    async def cancel(
        order_id: str, uow: UnitOfWork, providers: ProviderFactory, actor: Any
    ) -> dict:
        scoped = a.scope(actor)
        await cancel_edit(
            uow,
            order_id=order_id,
            seller_id=scoped["seller_id"],
            canceled_by=scoped["actor_id"],
            providers=providers,
        )
        return {"id": order_id, "object": "order-edit", "deleted": True}

    _route(
        a,
        "DELETE",
        f"{a.base}/{{order_id}}",
        "CancelOrderEdit",
        [("order_id", OrderId), ("uow", UoW), ("providers", Providers)],
        cancel,
        openapi_extra=delete_operation(),
        description="Cancel the active edit (kept as `canceled`); its unpaid collection is "
        "canceled and an authorization taken for it voided.",
    )


_register(admin_router, "/admin", vendor=False)
_register(vendor_router, "/vendor", vendor=True)

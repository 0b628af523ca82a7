"""The routes exchanges and claims share (order-changes.md §7, §8, §11): list and read, begin,
inbound items and method, outbound items and method, request, discard, cancel.

:func:`register` declares them for one kind (an :class:`OwnerKind`) and one audience: admin and
vendor share one handler per route, the vendor's pass the member's seller, so another seller's
order, exchange or claim is a 404. Mutations answer ``{order_preview, <kind>}`` (outbound) or
``{order_preview, return}`` (inbound), rendered as the return routes render them. The
:class:`Registered` it answers lets a kind add its own routes (a claim's ``claim-items``)."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter as FastAPIRouter
from fastapi import Path
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Admin, Query, Session, UoW, Vendor
from mercato.api.idempotency import IdempotencyKey
from mercato.api.openapi import delete_operation, envelope, list_operation, operation
from mercato.api.returns import admin_actor_id, overlay, render_change_order, render_return
from mercato.domain import exchanges as flows
from mercato.domain.exchanges import OutboundItem, Tax, VariantQuote
from mercato.domain.returns import RequestedItem, ShippingQuote
from mercato.http.schemas import Body
from mercato.orders import exchanges_service as service
from mercato.orders.resources import ORDER, ORDER_DETAIL_FIELDS
from mercato.orders.return_schemas import (
    AddShippingMethod,
    CancelReturn,
    OutboundItems,
    RequestItems,
    RequestReturn,
    UpdateOutboundItem,
    UpdateRequestItem,
    UpdateShippingMethod,
)
from mercato.query.fields import FieldRules, Resource
from mercato.query.listing import ListSpec, run_list, run_retrieve
from mercato.query.openapi import fields_parameter, item_schema

_ORDER_FIELDS = [fields_parameter(ORDER, ORDER_DETAIL_FIELDS)]
_PREVIEWED = {"type": "object", "description": "The order as if its active change were confirmed."}


@dataclass(frozen=True)
class OwnerKind:
    """What differs between exchanges and claims in their shared routes."""

    kind: str  # "exchange" | "claim": the change type, the response key
    name: str  # "Exchange" | "Claim": messages and operation ids
    model: type[Any]  # its table
    resource: Resource
    fields: FieldRules
    list_spec: ListSpec
    vendor_list_spec: ListSpec
    list_filters: str  # the list route's description
    begin_body: type[Body]
    # (group, order_id, actor, seller_id, body values) → the exchange or claim begun
    begin: Callable[..., Any]
    # reads the begin rule needs (a claim's reason), or None
    begin_before: Callable[[Any], service.Before | None]
    request: Callable[..., Any]  # (group, owner_id, actor, **body values)
    cancel: Callable[..., Any]  # (group, owner_id, actor, **body values)

    @property
    def plural(self) -> str:
        return f"{self.kind}s"


async def render_owner(
    session: AsyncSession, kind: OwnerKind, owner_id: str, params: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    row = await session.get(kind.model, owner_id)
    if row is None:
        return None
    await session.refresh(row)
    return await run_retrieve(
        session, resource=kind.resource, rules=kind.fields, row=row, params=params or {}
    )


@dataclass(frozen=True)
class Registered:
    """One kind's routes for one audience, as :func:`register` declared them: what a kind's
    own routes need to be declared alike."""

    kind: OwnerKind
    router: FastAPIRouter
    base: str  # "/admin/claims"
    op: str  # "Admin" | "Vendor": the operation ids' prefix
    vendor: bool
    with_owner: dict[str, Any]  # openapi_extra of ``{order_preview, <kind>}``
    with_return: dict[str, Any]  # openapi_extra of ``{order_preview, return}``

    @property
    def actor(self) -> Any:
        """The audience's actor dependency (annotate a handler's ``actor`` with it)."""
        return Vendor if self.vendor else Admin

    @property
    def owner_id(self) -> Any:
        """The exchange's or claim's id in the path, named ``exchange_id`` / ``claim_id``."""
        return Annotated[str, Path(alias=f"{self.kind.kind}_id")]

    def scope(self, actor: Any) -> dict[str, Any]:
        if self.vendor:
            return {"actor_id": actor.member_id, "seller_id": actor.seller_id}
        return {"actor_id": admin_actor_id(actor), "seller_id": None}

    async def on(
        self, owner_id: str, actor: Any, uow: Any, rule: Any, before: Any = None
    ) -> service.Outcome:
        return await service.run(
            uow, self.kind.kind, rule, owner_id=owner_id, before=before, **self.scope(actor)
        )

    async def body(
        self,
        session: AsyncSession,
        outcome: service.Outcome,
        params: dict[str, Any],
        *,
        keys: tuple[str, ...],
        order_key: str = "order_preview",
    ) -> dict[str, Any]:
        """``{order_preview | order, <kind>?, return?}``: ``keys`` name the parts ("owner",
        "return")."""
        order = await render_change_order(session, outcome.order_id, params, vendor=self.vendor)
        body: dict[str, Any] = {
            order_key: overlay(order, outcome) if order_key != "order" else order
        }
        if "owner" in keys:
            body[self.kind.kind] = await render_owner(session, self.kind, outcome.owner_id)
        if "return" in keys:
            body["return"] = (
                await render_return(session, outcome.return_id) if outcome.return_id else None
            )
        return body


def register(router: FastAPIRouter, prefix: str, kind: OwnerKind, *, vendor: bool) -> Registered:
    """Declare ``kind``'s shared routes under ``prefix`` ("/admin" or "/vendor")."""
    owner_schema = item_schema(kind.resource, kind.fields)
    return_schema = {"type": "object", "description": f"The {kind.kind}'s return."}
    # A request answers the return only when the exchange or claim has one.
    requested_return = {"anyOf": [return_schema, {"type": "null"}]}
    r = Registered(
        kind=kind,
        router=router,
        base=f"{prefix}/{kind.plural}",
        op="Vendor" if vendor else "Admin",
        vendor=vendor,
        with_owner=operation(
            parameters=_ORDER_FIELDS,
            body=envelope({"order_preview": _PREVIEWED, kind.kind: owner_schema}),
            errors=(404,),
        ),
        with_return=operation(
            parameters=_ORDER_FIELDS,
            body=envelope({"order_preview": _PREVIEWED, "return": return_schema}),
            errors=(404,),
        ),
    )
    Actor, OwnerId, BeginBody = r.actor, r.owner_id, kind.begin_body
    base, op, name = r.base, r.op, kind.name

    @router.get(
        base,
        operation_id=f"{op}List{name}s",
        summary=f"List {name}s",
        description=kind.list_filters,
        openapi_extra=list_operation(kind.vendor_list_spec if vendor else kind.list_spec),
    )
    async def list_owners(session: Session, actor: Actor, params: Query) -> dict:
        if vendor:
            return await run_list(
                session, kind.vendor_list_spec, params, bind={"seller_id": actor.seller_id}
            )
        return await run_list(session, kind.list_spec, params)

    @router.get(
        owner_path(r),
        operation_id=f"{op}Get{name}",
        summary=f"Get {name}",
        openapi_extra=operation(
            parameters=[fields_parameter(kind.resource, kind.fields)],
            body=envelope({kind.kind: owner_schema}),
            errors=(404,),
        ),
    )
    async def get_owner(owner_id: OwnerId, session: Session, actor: Actor, params: Query) -> dict:
        await service.order_of(
            session, kind.kind, owner_id, seller_id=actor.seller_id if vendor else None
        )
        return {kind.kind: await render_owner(session, kind, owner_id, params)}

    @router.post(
        base,
        operation_id=f"{op}Create{name}",
        summary=f"Create {name}",
        description=f"Begin a{'n' if name[0] in 'AEIOU' else ''} {kind.kind}: its change pending.",
        openapi_extra=operation(
            parameters=_ORDER_FIELDS,
            body=envelope({"order": _PREVIEWED, kind.kind: owner_schema}),
            errors=(404,),
        ),
    )
    async def create_owner(
        body: BeginBody,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
    ) -> dict:
        scoped = r.scope(actor)
        values = body.model_dump(exclude={"order_id"}, exclude_unset=True)
        outcome = await service.run(
            uow,
            kind.kind,
            lambda group, a: kind.begin(group, body.order_id, a, scoped["seller_id"], values),
            order_id=body.order_id,
            before=kind.begin_before(body),
            **scoped,
        )
        return await r.body(session, outcome, params, keys=("owner",), order_key="order")

    _declare_inbound(r)
    _declare_outbound(r)
    _declare_shipping(r, "inbound")
    _declare_shipping(r, "outbound")
    declare_remover(r, "inbound/items", f"Remove{name}InboundItem", "inbound_item")
    declare_remover(
        r, "inbound/shipping-method", f"Remove{name}InboundShipping", "inbound_shipping"
    )
    declare_remover(r, "outbound/items", f"Remove{name}OutboundItem", "outbound_item")
    declare_remover(
        r, "outbound/shipping-method", f"Remove{name}OutboundShipping", "outbound_shipping"
    )
    _declare_lifecycle(r, requested_return)
    return r


def owner_path(r: Registered, tail: str = "") -> str:
    """The path of one exchange or claim (``/admin/claims/{claim_id}``), plus ``tail``."""
    return f"{r.base}/{{{r.kind.kind}_id}}{tail}"


# (owner id, action id or None, body) → the rule to run and what it reads first (or None)
RuleOf = Callable[[str, str | None, Any], tuple[service.Rule, service.Before | None]]


def declare_post(
    r: Registered, tail: str, name: str, body_type: type[Body], rule_of: RuleOf, *, keys: str
) -> None:
    """``POST <owner>/<tail>`` (``{action_id}`` in ``tail``: one action of the pending change)
    running ``rule_of``'s rule; answered with the preview and the owner (``keys="owner"``) or
    its return (``keys="return"``)."""
    Actor, OwnerId, Payload = r.actor, r.owner_id, body_type
    route = r.router.post(
        owner_path(r, f"/{tail}"),
        operation_id=f"{r.op}{name}",
        summary=" ".join(re.findall("[A-Z][a-z]*", name)),
        openapi_extra=r.with_return if keys == "return" else r.with_owner,
    )

    async def run(
        owner_id: str, action_id: str | None, body: Any, uow: Any, actor: Any
    ) -> service.Outcome:
        rule, before = rule_of(owner_id, action_id, body)
        return await r.on(owner_id, actor, uow, rule, before)

    if "{action_id}" in tail:

        @route
        async def post_action(
            owner_id: OwnerId,
            action_id: str,
            body: Payload,
            uow: UoW,
            session: Session,
            actor: Actor,
            params: Query,
            key: IdempotencyKey,
        ) -> dict:
            outcome = await run(owner_id, action_id, body, uow, actor)
            return await r.body(session, outcome, params, keys=(keys,))

    else:

        @route
        async def post(
            owner_id: OwnerId,
            body: Payload,
            uow: UoW,
            session: Session,
            actor: Actor,
            params: Query,
            key: IdempotencyKey,
        ) -> dict:
            outcome = await run(owner_id, None, body, uow, actor)
            return await r.body(session, outcome, params, keys=(keys,))


def declare_remover(r: Registered, path: str, name: str, part: str) -> None:
    """``DELETE …/<path>/{action_id}``: drop one action of the pending change."""
    Actor, OwnerId, kind = r.actor, r.owner_id, r.kind
    inbound = part.startswith("inbound")

    @r.router.delete(
        owner_path(r, f"/{path}/{{action_id}}"),
        operation_id=f"{r.op}{name}",
        openapi_extra=r.with_return if inbound else r.with_owner,
    )
    async def remove(
        owner_id: OwnerId,
        action_id: str,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
    ) -> dict:
        outcome = await r.on(
            owner_id,
            actor,
            uow,
            lambda group, a: flows.remove_action(
                group, kind.kind, owner_id, action_id, a, part=part
            ),
        )
        return await r.body(session, outcome, params, keys=("return",) if inbound else ("owner",))


def _declare_inbound(r: Registered) -> None:
    kind = r.kind.kind

    def add(owner_id: str, _: str | None, body: RequestItems) -> Any:
        items = [
            RequestedItem(i.id, i.quantity, i.reason_id, i.description, i.internal_note, i.metadata)
            for i in body.items
        ]
        return (
            lambda group, a: flows.inbound_items(group, kind, owner_id, items, a),
            service.reasons_checked(i.reason_id for i in items),
        )

    def update(owner_id: str, action_id: str | None, body: UpdateRequestItem) -> Any:
        assert action_id is not None
        values = body.model_dump(exclude_unset=True)
        return (
            lambda group, a: flows.update_inbound_item(
                group, kind, owner_id, action_id, a, **values
            ),
            service.reasons_checked([values.get("reason_id")]),
        )

    name = r.kind.name
    declare_post(r, "inbound/items", f"Add{name}InboundItems", RequestItems, add, keys="return")
    declare_post(
        r,
        "inbound/items/{action_id}",
        f"Update{name}InboundItem",
        UpdateRequestItem,
        update,
        keys="return",
    )


def _declare_shipping(r: Registered, direction: str) -> None:
    kind = r.kind.kind
    inbound = direction == "inbound"

    def add(owner_id: str, _: str | None, body: AddShippingMethod) -> Any:
        quotes: list[ShippingQuote] = []
        values = body.model_dump(exclude={"shipping_option_id", "custom_amount"})

        def rule(group: Any, a: Any) -> Any:
            order, _ = flows.find_owner(group, kind, owner_id)
            custom = service.minor("custom_amount", body.custom_amount, order)
            add_method = flows.inbound_shipping if inbound else flows.outbound_shipping
            return add_method(group, kind, owner_id, quotes[0], a, custom_amount=custom, **values)

        return rule, service.option_loaded(body.shipping_option_id, quotes)

    def update(owner_id: str, action_id: str | None, body: UpdateShippingMethod) -> Any:
        assert action_id is not None
        values = body.model_dump(exclude_unset=True, exclude={"custom_amount"})

        def rule(group: Any, a: Any) -> Any:
            order, _ = flows.find_owner(group, kind, owner_id)
            custom = service.minor("custom_amount", body.custom_amount, order)
            return flows.update_shipping(
                group, kind, owner_id, action_id, a, inbound=inbound, custom_amount=custom, **values
            )

        return rule, None

    name = f"{r.kind.name}{direction.capitalize()}Shipping"
    keys = "return" if inbound else "owner"
    tail = f"{direction}/shipping-method"
    declare_post(r, tail, f"Add{name}", AddShippingMethod, add, keys=keys)
    declare_post(
        r, f"{tail}/{{action_id}}", f"Update{name}", UpdateShippingMethod, update, keys=keys
    )


def _declare_outbound(r: Registered) -> None:
    kind = r.kind.kind

    def add(owner_id: str, _: str | None, body: OutboundItems) -> Any:
        quotes: dict[str, VariantQuote] = {}
        taxes: list[Tax] = []

        def rule(group: Any, a: Any) -> Any:
            order, _ = flows.find_owner(group, kind, owner_id)
            items = [
                OutboundItem(
                    i.variant_id,
                    i.quantity,
                    service.minor("unit_price", i.unit_price, order),
                    i.internal_note,
                    i.allow_backorder,
                    i.metadata,
                )
                for i in body.items
            ]
            return flows.outbound_items(group, kind, owner_id, items, quotes, taxes[0], a)

        return rule, service.variants_loaded([i.variant_id for i in body.items], quotes, taxes)

    def update(owner_id: str, action_id: str | None, body: UpdateOutboundItem) -> Any:
        assert action_id is not None
        quotes: dict[str, VariantQuote] = {}
        values = body.model_dump(exclude_unset=True, exclude={"unit_price"})

        def rule(group: Any, a: Any) -> Any:
            order, _ = flows.find_owner(group, kind, owner_id)
            price = service.minor("unit_price", body.unit_price, order)
            return flows.update_outbound(
                group, kind, owner_id, action_id, quotes, a, unit_price=price, **values
            )

        return rule, service.variant_of_action(action_id, kind, owner_id, quotes)

    name = r.kind.name
    declare_post(r, "outbound/items", f"Add{name}OutboundItems", OutboundItems, add, keys="owner")
    declare_post(
        r,
        "outbound/items/{action_id}",
        f"Update{name}OutboundItem",
        UpdateOutboundItem,
        update,
        keys="owner",
    )


def _declare_lifecycle(r: Registered, requested_return: dict[str, Any]) -> None:
    """Request, discard (``DELETE …/request``), cancel."""
    Actor, OwnerId, kind = r.actor, r.owner_id, r.kind
    owner_schema = item_schema(kind.resource, kind.fields)

    @r.router.post(
        owner_path(r, "/request"),
        operation_id=f"{r.op}Request{kind.name}",
        summary=f"Request {kind.name}",
        description=(
            "Confirm the change: units deducted or written off, outbound lines added and "
            "reserved, §3.5 re-sync."
        ),
        openapi_extra=operation(
            parameters=_ORDER_FIELDS,
            body=envelope(
                {"order_preview": _PREVIEWED, kind.kind: owner_schema, "return": requested_return}
            ),
            errors=(404,),
        ),
    )
    async def request(
        owner_id: OwnerId,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
        body: RequestReturn | None = None,
    ) -> dict:
        values = body.model_dump(exclude_unset=True) if body else {}
        outcome = await r.on(
            owner_id, actor, uow, lambda group, a: kind.request(group, owner_id, a, **values)
        )
        return await r.body(session, outcome, params, keys=("owner", "return"))

    @r.router.delete(
        owner_path(r, "/request"),
        operation_id=f"{r.op}Discard{kind.name}",
        summary=f"Discard {kind.name}",
        description=f"Cancel the pending change; the {kind.kind} (and its return) are deleted.",
        openapi_extra=delete_operation(),
    )
    async def discard(uow: UoW, actor: Actor, key: IdempotencyKey, owner_id: OwnerId) -> dict:
        await r.on(
            owner_id, actor, uow, lambda group, a: flows.discard(group, kind.kind, owner_id, a)
        )
        return {"id": owner_id, "object": kind.kind, "deleted": True}

    @r.router.post(
        owner_path(r, "/cancel"),
        operation_id=f"{r.op}Cancel{kind.name}",
        summary=f"Cancel {kind.name}",
        openapi_extra=operation(body=envelope({kind.kind: owner_schema}), errors=(404,)),
    )
    async def cancel(
        owner_id: OwnerId,
        uow: UoW,
        session: Session,
        actor: Actor,
        key: IdempotencyKey,
        body: CancelReturn | None = None,
    ) -> dict:
        values = body.model_dump(exclude_unset=True) if body else {}
        await r.on(owner_id, actor, uow, lambda group, a: kind.cancel(group, owner_id, a, **values))
        return {kind.kind: await render_owner(session, kind, owner_id)}

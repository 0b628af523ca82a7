"""Exchange routes (order-changes.md §7, §11): admin and vendor share one handler per route;
the vendor's pass the member's seller, so another seller's order or exchange is a 404.
Mutations answer ``{order_preview, exchange}`` (outbound) or ``{order_preview, return}``
(inbound), rendered as the return routes render them."""

from typing import Any

from fastapi import APIRouter as FastAPIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Admin, Query, Session, UoW, Vendor
from mercato.api.idempotency import IdempotencyKey
from mercato.api.openapi import delete_operation, envelope, list_operation, operation
from mercato.api.returns import admin_actor_id, overlay, render_change_order, render_return
from mercato.domain import exchanges as flows
from mercato.domain.exchanges import OutboundItem, Tax, VariantQuote
from mercato.domain.returns import RequestedItem, ShippingQuote
from mercato.http.routing import APIRouter
from mercato.orders import exchanges_service as service
from mercato.orders.change_models import OrderExchange
from mercato.orders.change_resources import (
    EXCHANGE,
    EXCHANGE_FIELDS,
    EXCHANGE_LIST,
    VENDOR_EXCHANGE_LIST,
)
from mercato.orders.resources import ORDER, ORDER_DETAIL_FIELDS
from mercato.orders.return_schemas import (
    AddShippingMethod,
    BeginExchange,
    CancelReturn,
    OutboundItems,
    RequestItems,
    RequestReturn,
    UpdateOutboundItem,
    UpdateRequestItem,
    UpdateShippingMethod,
)
from mercato.query.listing import run_list, run_retrieve
from mercato.query.openapi import fields_parameter, item_schema

admin_router = APIRouter(tags=["admin: exchanges"])
vendor_router = APIRouter(tags=["vendor: exchanges"])

_EXCHANGE_SCHEMA = item_schema(EXCHANGE, EXCHANGE_FIELDS)
_ORDER_FIELDS = [fields_parameter(ORDER, ORDER_DETAIL_FIELDS)]
_PREVIEWED = {"type": "object", "description": "The order as if its active change were confirmed."}
_RETURN = {"type": "object", "description": "The exchange's return."}
_WITH_EXCHANGE = operation(
    parameters=_ORDER_FIELDS,
    body=envelope({"order_preview": _PREVIEWED, "exchange": _EXCHANGE_SCHEMA}),
    errors=(404,),
)
_WITH_RETURN = operation(
    parameters=_ORDER_FIELDS,
    body=envelope({"order_preview": _PREVIEWED, "return": _RETURN}),
    errors=(404,),
)
_BEGUN = operation(
    parameters=_ORDER_FIELDS,
    body=envelope({"order": _PREVIEWED, "exchange": _EXCHANGE_SCHEMA}),
    errors=(404,),
)
_REQUESTED = operation(
    parameters=_ORDER_FIELDS,
    body=envelope({"order_preview": _PREVIEWED, "exchange": _EXCHANGE_SCHEMA, "return": _RETURN}),
    errors=(404,),
)
_ONE = operation(body=envelope({"exchange": _EXCHANGE_SCHEMA}), errors=(404,))


async def render_exchange(
    session: AsyncSession, exchange_id: str, params: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    row = await session.get(OrderExchange, exchange_id)
    if row is None:
        return None
    await session.refresh(row)
    return await run_retrieve(
        session, resource=EXCHANGE, rules=EXCHANGE_FIELDS, row=row, params=params or {}
    )


async def _body(
    session: AsyncSession,
    outcome: service.Outcome,
    params: dict[str, Any],
    *,
    vendor: bool,
    keys: tuple[str, ...],
    order_key: str = "order_preview",
) -> dict[str, Any]:
    order = await render_change_order(session, outcome.order_id, params, vendor=vendor)
    body: dict[str, Any] = {order_key: overlay(order, outcome) if order_key != "order" else order}
    if "exchange" in keys:
        body["exchange"] = await render_exchange(session, outcome.owner_id)
    if "return" in keys:
        body["return"] = (
            await render_return(session, outcome.return_id) if outcome.return_id else None
        )
    return body


def _register(router: FastAPIRouter, prefix: str, *, vendor: bool) -> None:  # noqa: C901
    op = "Vendor" if vendor else "Admin"
    Actor = Vendor if vendor else Admin
    base = f"{prefix}/exchanges"

    def scope(actor: Any) -> dict[str, Any]:
        if vendor:
            return {"actor_id": actor.member_id, "seller_id": actor.seller_id}
        return {"actor_id": admin_actor_id(actor), "seller_id": None}

    async def on(
        exchange_id: str, actor: Any, uow: Any, rule: Any, before: Any = None
    ) -> service.Outcome:
        return await service.run(
            uow, "exchange", rule, owner_id=exchange_id, before=before, **scope(actor)
        )

    @router.get(
        base,
        operation_id=f"{op}ListExchanges",
        openapi_extra=list_operation(VENDOR_EXCHANGE_LIST if vendor else EXCHANGE_LIST),
    )
    async def list_exchanges(session: Session, actor: Actor, params: Query) -> dict:
        """Filters: id, order_id, created_at, updated_at (admin: seller_id)."""
        if vendor:
            return await run_list(
                session, VENDOR_EXCHANGE_LIST, params, bind={"seller_id": actor.seller_id}
            )
        return await run_list(session, EXCHANGE_LIST, params)

    @router.get(
        f"{base}/{{exchange_id}}",
        operation_id=f"{op}GetExchange",
        openapi_extra=operation(
            parameters=[fields_parameter(EXCHANGE, EXCHANGE_FIELDS)],
            body=envelope({"exchange": _EXCHANGE_SCHEMA}),
            errors=(404,),
        ),
    )
    async def get_exchange(exchange_id: str, session: Session, actor: Actor, params: Query) -> dict:
        await service.order_of(
            session, "exchange", exchange_id, seller_id=actor.seller_id if vendor else None
        )
        return {"exchange": await render_exchange(session, exchange_id, params)}

    @router.post(base, operation_id=f"{op}CreateExchange", openapi_extra=_BEGUN)
    async def create_exchange(
        body: BeginExchange,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
    ) -> dict:
        """Begin an exchange: its ``exchange`` change pending."""
        scoped = scope(actor)
        values = body.model_dump(exclude={"order_id"}, exclude_unset=True)
        outcome = await service.run(
            uow,
            "exchange",
            lambda group, a: flows.begin_exchange(
                group, body.order_id, a, seller_id=scoped["seller_id"], **values
            ),
            order_id=body.order_id,
            **scoped,
        )
        return await _body(
            session, outcome, params, vendor=vendor, keys=("exchange",), order_key="order"
        )

    @router.post(
        f"{base}/{{exchange_id}}/inbound/items",
        operation_id=f"{op}AddExchangeInboundItems",
        openapi_extra=_WITH_RETURN,
    )
    async def inbound_items(
        exchange_id: str,
        body: RequestItems,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
    ) -> dict:
        items = [
            RequestedItem(i.id, i.quantity, i.reason_id, i.description, i.internal_note, i.metadata)
            for i in body.items
        ]
        outcome = await on(
            exchange_id,
            actor,
            uow,
            lambda group, a: flows.exchange_inbound_items(group, exchange_id, items, a),
            service.reasons_checked(i.reason_id for i in items),
        )
        return await _body(session, outcome, params, vendor=vendor, keys=("return",))

    @router.post(
        f"{base}/{{exchange_id}}/inbound/items/{{action_id}}",
        operation_id=f"{op}UpdateExchangeInboundItem",
        openapi_extra=_WITH_RETURN,
    )
    async def update_inbound_item(
        exchange_id: str,
        action_id: str,
        body: UpdateRequestItem,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
    ) -> dict:
        values = body.model_dump(exclude_unset=True)
        outcome = await on(
            exchange_id,
            actor,
            uow,
            lambda group, a: flows.exchange_update_inbound_item(
                group, exchange_id, action_id, a, **values
            ),
            service.reasons_checked([values.get("reason_id")]),
        )
        return await _body(session, outcome, params, vendor=vendor, keys=("return",))

    def _remover(path: str, name: str, kind: str) -> None:
        @router.delete(
            f"{base}/{{exchange_id}}/{path}/{{action_id}}",
            operation_id=f"{op}{name}",
            openapi_extra=_WITH_RETURN if kind.startswith("inbound") else _WITH_EXCHANGE,
        )
        async def remove(
            exchange_id: str,
            action_id: str,
            uow: UoW,
            session: Session,
            actor: Actor,
            params: Query,
            key: IdempotencyKey,
        ) -> dict:
            outcome = await on(
                exchange_id,
                actor,
                uow,
                lambda group, a: flows.exchange_remove_action(
                    group, exchange_id, action_id, a, kind=kind
                ),
            )
            keys = ("return",) if kind.startswith("inbound") else ("exchange",)
            return await _body(session, outcome, params, vendor=vendor, keys=keys)

    _remover("inbound/items", "RemoveExchangeInboundItem", "inbound_item")
    _remover("inbound/shipping-method", "RemoveExchangeInboundShipping", "inbound_shipping")
    _remover("outbound/items", "RemoveExchangeOutboundItem", "outbound_item")
    _remover("outbound/shipping-method", "RemoveExchangeOutboundShipping", "outbound_shipping")

    def _shipping(direction: str, name: str) -> None:
        inbound = direction == "inbound"
        keys = ("return",) if inbound else ("exchange",)
        extra = _WITH_RETURN if inbound else _WITH_EXCHANGE

        @router.post(
            f"{base}/{{exchange_id}}/{direction}/shipping-method",
            operation_id=f"{op}Add{name}",
            openapi_extra=extra,
        )
        async def add(
            exchange_id: str,
            body: AddShippingMethod,
            uow: UoW,
            session: Session,
            actor: Actor,
            params: Query,
            key: IdempotencyKey,
        ) -> dict:
            quotes: list[ShippingQuote] = []
            values = body.model_dump(exclude={"shipping_option_id", "custom_amount"})

            def rule(group: Any, a: Any) -> Any:
                order, _ = flows.find_exchange(group, exchange_id)
                custom = service.minor("custom_amount", body.custom_amount, order)
                if inbound:
                    return flows.exchange_inbound_shipping(
                        group, exchange_id, quotes[0], a, custom_amount=custom, **values
                    )
                return flows.exchange_outbound_shipping(
                    group, exchange_id, quotes[0], a, custom_amount=custom, **values
                )

            outcome = await on(
                exchange_id,
                actor,
                uow,
                rule,
                service.option_loaded(body.shipping_option_id, quotes),
            )
            return await _body(session, outcome, params, vendor=vendor, keys=keys)

        @router.post(
            f"{base}/{{exchange_id}}/{direction}/shipping-method/{{action_id}}",
            operation_id=f"{op}Update{name}",
            openapi_extra=extra,
        )
        async def update(
            exchange_id: str,
            action_id: str,
            body: UpdateShippingMethod,
            uow: UoW,
            session: Session,
            actor: Actor,
            params: Query,
            key: IdempotencyKey,
        ) -> dict:
            values = body.model_dump(exclude_unset=True, exclude={"custom_amount"})

            def rule(group: Any, a: Any) -> Any:
                order, _ = flows.find_exchange(group, exchange_id)
                custom = service.minor("custom_amount", body.custom_amount, order)
                return flows.exchange_update_shipping(
                    group,
                    exchange_id,
                    action_id,
                    a,
                    inbound=inbound,
                    custom_amount=custom,
                    **values,
                )

            outcome = await on(exchange_id, actor, uow, rule)
            return await _body(session, outcome, params, vendor=vendor, keys=keys)

    _shipping("inbound", "ExchangeInboundShipping")
    _shipping("outbound", "ExchangeOutboundShipping")

    @router.post(
        f"{base}/{{exchange_id}}/outbound/items",
        operation_id=f"{op}AddExchangeOutboundItems",
        openapi_extra=_WITH_EXCHANGE,
    )
    async def outbound_items(
        exchange_id: str,
        body: OutboundItems,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
    ) -> dict:
        quotes: dict[str, VariantQuote] = {}
        taxes: list[Tax] = []

        def rule(group: Any, a: Any) -> Any:
            order, _ = flows.find_exchange(group, exchange_id)
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
            return flows.exchange_outbound_items(group, exchange_id, items, quotes, taxes[0], a)

        outcome = await on(
            exchange_id,
            actor,
            uow,
            rule,
            service.variants_loaded([i.variant_id for i in body.items], quotes, taxes),
        )
        return await _body(session, outcome, params, vendor=vendor, keys=("exchange",))

    @router.post(
        f"{base}/{{exchange_id}}/outbound/items/{{action_id}}",
        operation_id=f"{op}UpdateExchangeOutboundItem",
        openapi_extra=_WITH_EXCHANGE,
    )
    async def update_outbound_item(
        exchange_id: str,
        action_id: str,
        body: UpdateOutboundItem,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
    ) -> dict:
        quotes: dict[str, VariantQuote] = {}
        values = body.model_dump(exclude_unset=True, exclude={"unit_price"})

        def rule(group: Any, a: Any) -> Any:
            order, _ = flows.find_exchange(group, exchange_id)
            price = service.minor("unit_price", body.unit_price, order)
            return flows.exchange_update_outbound_item(
                group, exchange_id, action_id, quotes, a, unit_price=price, **values
            )

        outcome = await on(
            exchange_id,
            actor,
            uow,
            rule,
            service.variant_of_action(action_id, "exchange", exchange_id, quotes),
        )
        return await _body(session, outcome, params, vendor=vendor, keys=("exchange",))

    @router.post(
        f"{base}/{{exchange_id}}/request",
        operation_id=f"{op}RequestExchange",
        openapi_extra=_REQUESTED,
    )
    async def request_exchange(
        exchange_id: str,
        uow: UoW,
        session: Session,
        actor: Actor,
        params: Query,
        key: IdempotencyKey,
        body: RequestReturn | None = None,
    ) -> dict:
        """Confirm: inbound deducted, outbound lines added and reserved, §3.5 re-sync."""
        values = body.model_dump(exclude_unset=True) if body else {}
        outcome = await on(
            exchange_id,
            actor,
            uow,
            lambda group, a: flows.request_exchange(group, exchange_id, a, **values),
        )
        return await _body(session, outcome, params, vendor=vendor, keys=("exchange", "return"))

    @router.delete(
        f"{base}/{{exchange_id}}/request",
        operation_id=f"{op}DiscardExchange",
        openapi_extra=delete_operation(),
    )
    async def discard_exchange(
        exchange_id: str, uow: UoW, actor: Actor, key: IdempotencyKey
    ) -> dict:
        """Cancel the pending change; the exchange (and its return) are deleted."""
        await on(
            exchange_id,
            actor,
            uow,
            lambda group, a: flows.discard_exchange(group, exchange_id, a),
        )
        return {"id": exchange_id, "object": "exchange", "deleted": True}

    @router.post(
        f"{base}/{{exchange_id}}/cancel",
        operation_id=f"{op}CancelExchange",
        openapi_extra=_ONE,
    )
    async def cancel_exchange(
        exchange_id: str,
        uow: UoW,
        session: Session,
        actor: Actor,
        key: IdempotencyKey,
        body: CancelReturn | None = None,
    ) -> dict:
        values = body.model_dump(exclude_unset=True) if body else {}
        await on(
            exchange_id,
            actor,
            uow,
            lambda group, a: flows.cancel_exchange(group, exchange_id, a, **values),
        )
        return {"exchange": await render_exchange(session, exchange_id)}


_register(admin_router, "/admin", vendor=False)
_register(vendor_router, "/vendor", vendor=True)

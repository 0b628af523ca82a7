"""``/admin/webhooks`` and ``/vendor/webhooks`` (events-and-scale-out.md, Webhooks): endpoints,
their delivery log, redelivery and replay.

Both audiences share one handler per route; a vendor's pass the member's seller, so a seller's
endpoints are its own and another seller's endpoint or delivery id is a 404."""

from typing import Any

from fastapi import APIRouter as FastAPIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Admin, Query, Session, UoW, Vendor
from mercato.api.idempotency import IdempotencyKey
from mercato.api.openapi import (
    delete_operation,
    envelope,
    list_operation,
    operation,
    render_operation,
)
from mercato.errors import invalid
from mercato.http.responses import deleted
from mercato.http.routing import APIRouter
from mercato.query.listing import find_or_404, run_list, run_retrieve
from mercato.webhooks import service
from mercato.webhooks.models import Webhook, WebhookDelivery
from mercato.webhooks.resources import (
    DELIVERY,
    DELIVERY_DETAIL_FIELDS,
    DELIVERY_FIELDS,
    DELIVERY_LIST,
    DELIVERY_SCOPE,
    VENDOR_WEBHOOK_LIST,
    VENDOR_WEBHOOK_SCOPE,
    WEBHOOK,
    WEBHOOK_FIELDS,
    WEBHOOK_LIST,
    render_secret,
)
from mercato.webhooks.schemas import CreateWebhook, Replay, UpdateWebhook

admin_router = APIRouter(prefix="/admin/webhooks", tags=["admin: webhooks"])
vendor_router = APIRouter(prefix="/vendor/webhooks", tags=["vendor: webhooks"])
ENTITY = service.ENTITY


async def render_webhook(session: AsyncSession, webhook: Any, params: dict) -> dict:
    return await run_retrieve(
        session, resource=WEBHOOK, rules=WEBHOOK_FIELDS, row=webhook, params=params
    )


def _no_params(params: dict) -> None:
    if params:
        names = ", ".join(repr(k) for k in params)
        raise invalid(f"Invalid request: Unrecognized fields: {names}")


def _declare(router: FastAPIRouter, *, vendor: bool) -> None:
    """The webhook routes of one audience."""
    op = "Vendor" if vendor else "Admin"
    Actor: Any = Vendor if vendor else Admin
    rendered = render_operation(WEBHOOK, WEBHOOK_FIELDS)

    def scope(actor: Any) -> str | None:
        return actor.seller_id if vendor else None

    async def find(session: AsyncSession, webhook_id: str, actor: Any) -> Any:
        if vendor:
            return await find_or_404(
                session,
                Webhook,
                ENTITY,
                webhook_id,
                scope=VENDOR_WEBHOOK_SCOPE,
                bind={"seller_id": actor.seller_id},
            )
        return await find_or_404(session, Webhook, ENTITY, webhook_id)

    async def find_delivery(
        session: AsyncSession, webhook_id: str, delivery_id: str, actor: Any
    ) -> Any:
        webhook = await find(session, webhook_id, actor)
        return await find_or_404(
            session,
            WebhookDelivery,
            "Webhook delivery",
            delivery_id,
            scope=DELIVERY_SCOPE,
            bind={"webhook_id": webhook.id},
        )

    @router.get(
        "",
        operation_id=f"{op}ListWebhooks",
        summary="List Webhooks",
        description="Filters: id, q (url substring), is_active, seller_id (admin), event, "
        "created_at, updated_at.",
        openapi_extra=list_operation(VENDOR_WEBHOOK_LIST if vendor else WEBHOOK_LIST),
    )
    async def list_webhooks(session: Session, actor: Actor, params: Query) -> dict:
        if vendor:
            return await run_list(
                session, VENDOR_WEBHOOK_LIST, params, bind={"seller_id": actor.seller_id}
            )
        return await run_list(session, WEBHOOK_LIST, params)

    @router.post(
        "", operation_id=f"{op}CreateWebhook", summary="Create Webhook", openapi_extra=rendered
    )
    async def create_webhook(
        body: CreateWebhook, session: Session, uow: UoW, actor: Actor, params: Query
    ) -> dict:
        """An endpoint; its ``secret`` is in this response only. No ``Idempotency-Key``: a
        stored response would keep the secret in clear for 24 h."""
        webhook, secret = await service.create_webhook(
            uow, body=body.model_dump(exclude_unset=True), seller_id=scope(actor)
        )
        row = await find(session, webhook.id, actor)
        return {"webhook": render_secret(await render_webhook(session, row, params), secret)}

    @router.get(
        "/{webhook_id}",
        operation_id=f"{op}GetWebhook",
        summary="Get Webhook",
        openapi_extra=rendered,
    )
    async def get_webhook(webhook_id: str, session: Session, actor: Actor, params: Query) -> dict:
        row = await find(session, webhook_id, actor)
        return {"webhook": await render_webhook(session, row, params)}

    @router.post(
        "/{webhook_id}",
        operation_id=f"{op}UpdateWebhook",
        summary="Update Webhook",
        openapi_extra=rendered,
    )
    async def update_webhook(
        webhook_id: str,
        body: UpdateWebhook,
        session: Session,
        uow: UoW,
        actor: Actor,
        params: Query,
        idempotency_key: IdempotencyKey,
    ) -> dict:
        """``url`` is checked again; ``is_active: true`` re-enables (failures reset)."""
        await service.update_webhook(
            uow,
            webhook_id=webhook_id,
            changes=body.model_dump(exclude_unset=True),
            seller_id=scope(actor),
        )
        row = await find(session, webhook_id, actor)
        return {"webhook": await render_webhook(session, row, params)}

    @router.delete(
        "/{webhook_id}",
        operation_id=f"{op}DeleteWebhook",
        summary="Delete Webhook",
        openapi_extra=delete_operation(),
    )
    async def delete_webhook(
        webhook_id: str, uow: UoW, actor: Actor, idempotency_key: IdempotencyKey
    ) -> dict:
        await service.delete_webhook(uow, webhook_id=webhook_id, seller_id=scope(actor))
        return deleted(webhook_id, "webhook")

    @router.post(
        "/{webhook_id}/rotate-secret",
        operation_id=f"{op}RotateWebhookSecret",
        summary="Rotate Webhook Secret",
        openapi_extra=rendered,
    )
    async def rotate_secret(
        webhook_id: str, session: Session, uow: UoW, actor: Actor, params: Query
    ) -> dict:
        """A new secret, in this response only; the previous one signs too for 24 h. No
        ``Idempotency-Key``, as for create."""
        _, secret = await service.rotate_secret(uow, webhook_id=webhook_id, seller_id=scope(actor))
        row = await find(session, webhook_id, actor)
        rendered_row = await render_webhook(session, row, params)
        return {"webhook": render_secret(rendered_row, secret)}

    @router.get(
        "/{webhook_id}/deliveries",
        operation_id=f"{op}ListWebhookDeliveries",
        summary="List Webhook Deliveries",
        description="Filters: status, event_name, event_id, created_at.",
        openapi_extra=list_operation(DELIVERY_LIST),
    )
    async def list_deliveries(
        webhook_id: str, session: Session, actor: Actor, params: Query
    ) -> dict:
        webhook = await find(session, webhook_id, actor)
        return await run_list(session, DELIVERY_LIST, params, bind={"webhook_id": webhook.id})

    @router.get(
        "/{webhook_id}/deliveries/{delivery_id}",
        operation_id=f"{op}GetWebhookDelivery",
        summary="Get Webhook Delivery",
        openapi_extra=render_operation(DELIVERY, DELIVERY_DETAIL_FIELDS),
    )
    async def get_delivery(
        webhook_id: str, delivery_id: str, session: Session, actor: Actor, params: Query
    ) -> dict:
        """The delivery with every attempt (status, duration, error, the body's first 2 KiB)."""
        row = await find_delivery(session, webhook_id, delivery_id, actor)
        return {
            "delivery": await run_retrieve(
                session, resource=DELIVERY, rules=DELIVERY_DETAIL_FIELDS, row=row, params=params
            )
        }

    @router.post(
        "/{webhook_id}/deliveries/{delivery_id}/redeliver",
        operation_id=f"{op}RedeliverWebhookDelivery",
        summary="Redeliver Webhook Delivery",
        openapi_extra=render_operation(DELIVERY, DELIVERY_FIELDS),
    )
    async def redeliver(
        webhook_id: str,
        delivery_id: str,
        session: Session,
        uow: UoW,
        actor: Actor,
        params: Query,
        idempotency_key: IdempotencyKey,
    ) -> dict:
        """Back to ``pending``, due now: the same ``webhook-id``, a new signature."""
        await service.redeliver(
            uow, webhook_id=webhook_id, delivery_id=delivery_id, seller_id=scope(actor)
        )
        row = await find_delivery(session, webhook_id, delivery_id, actor)
        return {
            "delivery": await run_retrieve(
                session, resource=DELIVERY, rules=DELIVERY_FIELDS, row=row, params=params
            )
        }

    @router.post(
        "/{webhook_id}/replay",
        operation_id=f"{op}ReplayWebhook",
        summary="Replay Webhook",
        openapi_extra=operation(body=envelope({"count": {"type": "integer"}})),
    )
    async def replay(
        webhook_id: str,
        body: Replay,
        uow: UoW,
        actor: Actor,
        params: Query,
        idempotency_key: IdempotencyKey,
    ) -> dict:
        """Deliveries for the retained events of ``[since, until]``: missing ones created,
        failed ones queued again."""
        _no_params(params)
        count = await service.replay(
            uow, webhook_id=webhook_id, since=body.since, until=body.until, seller_id=scope(actor)
        )
        return {"count": count}


_declare(admin_router, vendor=False)
_declare(vendor_router, vendor=True)

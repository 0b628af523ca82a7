"""``/admin/campaigns`` and ``/vendor/campaigns`` (promotions.md, Data, Admin API and
``/vendor``): CRUD with the optional budget, and attaching promotions.

Both audiences share one handler per route; a vendor's pass the member's seller, who owns what
it creates, and another seller's campaign is a 404."""

from typing import Any

from fastapi import APIRouter as FastAPIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Admin, Query, Session, UoW, Vendor
from mercato.api.idempotency import IdempotencyKey
from mercato.api.openapi import delete_operation, list_operation, render_operation
from mercato.http.responses import deleted
from mercato.http.routing import APIRouter
from mercato.promotions import service
from mercato.promotions.models import PromotionCampaign
from mercato.promotions.resources import (
    CAMPAIGN,
    CAMPAIGN_FIELDS,
    CAMPAIGN_LIST,
    VENDOR_CAMPAIGN_LIST,
    VENDOR_CAMPAIGN_SCOPE,
)
from mercato.promotions.schemas import CampaignPromotions, CreateCampaign, UpdateCampaign
from mercato.query.listing import find_or_404, run_list, run_retrieve

admin_router = APIRouter(prefix="/admin/campaigns", tags=["admin: campaigns"])
vendor_router = APIRouter(prefix="/vendor/campaigns", tags=["vendor: campaigns"])
ENTITY = service.CAMPAIGN


async def render_campaign(session: AsyncSession, campaign: Any, params: dict) -> dict:
    return {
        "campaign": await run_retrieve(
            session, resource=CAMPAIGN, rules=CAMPAIGN_FIELDS, row=campaign, params=params
        )
    }


def _declare(router: FastAPIRouter, *, vendor: bool) -> None:
    """The campaign routes of one audience."""
    op = "Vendor" if vendor else "Admin"
    Actor: Any = Vendor if vendor else Admin
    rendered = render_operation(CAMPAIGN, CAMPAIGN_FIELDS)
    with_duplicates = render_operation(CAMPAIGN, CAMPAIGN_FIELDS, errors=(422,))

    def scope(actor: Any) -> str | None:
        return actor.seller_id if vendor else None

    @router.get(
        "",
        operation_id=f"{op}ListCampaigns",
        summary="List Campaigns",
        description="Filters: id, q (name or identifier substring), campaign_identifier, "
        "seller_id (admin), created_at, updated_at.",
        openapi_extra=list_operation(VENDOR_CAMPAIGN_LIST if vendor else CAMPAIGN_LIST),
    )
    async def list_campaigns(session: Session, actor: Actor, params: Query) -> dict:
        if vendor:
            return await run_list(
                session, VENDOR_CAMPAIGN_LIST, params, bind={"seller_id": actor.seller_id}
            )
        return await run_list(session, CAMPAIGN_LIST, params)

    @router.post(
        "",
        operation_id=f"{op}CreateCampaign",
        summary="Create Campaign",
        openapi_extra=with_duplicates,
    )
    async def create_campaign(
        body: CreateCampaign,
        session: Session,
        uow: UoW,
        actor: Actor,
        params: Query,
        idempotency_key: IdempotencyKey,
    ) -> dict:
        """A campaign with an optional budget (``spend`` in major units of its currency, or
        ``usage``, a number of completed carts)."""
        campaign = await service.create_campaign(
            uow, body=body.model_dump(exclude_unset=True), vendor_seller_id=scope(actor)
        )
        return await render_campaign(session, campaign, params)

    @router.get(
        "/{campaign_id}",
        operation_id=f"{op}GetCampaign",
        summary="Get Campaign",
        openapi_extra=rendered,
    )
    async def get_campaign(campaign_id: str, session: Session, actor: Actor, params: Query) -> dict:
        if vendor:
            campaign = await find_or_404(
                session,
                PromotionCampaign,
                ENTITY,
                campaign_id,
                scope=VENDOR_CAMPAIGN_SCOPE,
                bind={"seller_id": actor.seller_id},
            )
        else:
            campaign = await find_or_404(session, PromotionCampaign, ENTITY, campaign_id)
        return await render_campaign(session, campaign, params)

    @router.post(
        "/{campaign_id}",
        operation_id=f"{op}UpdateCampaign",
        summary="Update Campaign",
        openapi_extra=with_duplicates,
    )
    async def update_campaign(
        campaign_id: str,
        body: UpdateCampaign,
        session: Session,
        uow: UoW,
        actor: Actor,
        params: Query,
        idempotency_key: IdempotencyKey,
    ) -> dict:
        """Partial; ``budget`` merges over the existing one (``null`` removes an unused one)."""
        campaign = await service.update_campaign(
            uow,
            campaign_id=campaign_id,
            changes=body.model_dump(exclude_unset=True),
            vendor_seller_id=scope(actor),
        )
        return await render_campaign(session, campaign, params)

    @router.delete(
        "/{campaign_id}",
        operation_id=f"{op}DeleteCampaign",
        summary="Delete Campaign",
        openapi_extra=delete_operation(),
    )
    async def delete_campaign(
        campaign_id: str, uow: UoW, actor: Actor, idempotency_key: IdempotencyKey
    ) -> dict:
        """Soft delete; the campaign's promotions are detached and keep applying."""
        await service.delete_campaign(uow, campaign_id=campaign_id, vendor_seller_id=scope(actor))
        return deleted(campaign_id, "campaign")

    @router.post(
        "/{campaign_id}/promotions",
        operation_id=f"{op}UpdateCampaignPromotions",
        summary="Add and remove a Campaign's Promotions",
        openapi_extra=rendered,
    )
    async def campaign_promotions(
        campaign_id: str,
        body: CampaignPromotions,
        session: Session,
        uow: UoW,
        actor: Actor,
        params: Query,
        idempotency_key: IdempotencyKey,
    ) -> dict:
        """``{add?, remove?}``: promotions of the campaign's owner."""
        campaign = await service.campaign_promotions(
            uow,
            campaign_id=campaign_id,
            add=body.add or [],
            remove=body.remove or [],
            vendor_seller_id=scope(actor),
        )
        return await render_campaign(session, campaign, params)


_declare(admin_router, vendor=False)
_declare(vendor_router, vendor=True)

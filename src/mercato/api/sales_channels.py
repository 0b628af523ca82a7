"""``/admin/sales-channels``."""

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Query, Session, UoW
from mercato.api.openapi import delete_operation, list_operation, render_operation
from mercato.http.responses import deleted
from mercato.http.routing import APIRouter
from mercato.query.listing import find_or_404, run_list, run_retrieve
from mercato.sales_channels import service
from mercato.sales_channels.models import SalesChannel
from mercato.sales_channels.resources import SALES_CHANNEL, SALES_CHANNEL_FIELDS, SALES_CHANNEL_LIST
from mercato.sales_channels.schemas import CreateSalesChannel, UpdateSalesChannel

router = APIRouter(prefix="/admin/sales-channels", tags=["admin: sales channels"])
ENTITY = service.ENTITY


async def _render(session: AsyncSession, channel: SalesChannel, params: dict) -> dict:
    return {
        "sales_channel": await run_retrieve(
            session, resource=SALES_CHANNEL, rules=SALES_CHANNEL_FIELDS, row=channel, params=params
        )
    }


@router.get(
    "", operation_id="AdminListSalesChannels", openapi_extra=list_operation(SALES_CHANNEL_LIST)
)
async def list_sales_channels(session: Session, params: Query) -> dict:
    return await run_list(session, SALES_CHANNEL_LIST, params)


@router.post(
    "",
    operation_id="AdminCreateSalesChannel",
    openapi_extra=render_operation(SALES_CHANNEL, SALES_CHANNEL_FIELDS),
)
async def create_sales_channel(
    body: CreateSalesChannel, session: Session, uow: UoW, params: Query
) -> dict:
    channel = await service.create_sales_channel(uow, **body.model_dump())
    return await _render(session, channel, params)


@router.get(
    "/{channel_id}",
    operation_id="AdminGetSalesChannel",
    openapi_extra=render_operation(SALES_CHANNEL, SALES_CHANNEL_FIELDS),
)
async def get_sales_channel(channel_id: str, session: Session, params: Query) -> dict:
    return await _render(
        session, await find_or_404(session, SalesChannel, ENTITY, channel_id), params
    )


@router.post(
    "/{channel_id}",
    operation_id="AdminUpdateSalesChannel",
    openapi_extra=render_operation(SALES_CHANNEL, SALES_CHANNEL_FIELDS),
)
async def update_sales_channel(
    channel_id: str, body: UpdateSalesChannel, session: Session, uow: UoW, params: Query
) -> dict:
    channel = await service.update_sales_channel(
        uow, channel_id=channel_id, changes=body.model_dump(exclude_unset=True)
    )
    return await _render(session, channel, params)


@router.delete(
    "/{channel_id}", operation_id="AdminDeleteSalesChannel", openapi_extra=delete_operation()
)
async def delete_sales_channel(channel_id: str, uow: UoW) -> dict:
    await service.delete_sales_channel(uow, channel_id=channel_id)
    return deleted(channel_id, "sales-channel")

"""``/admin/regions`` and ``/store/regions``."""

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Query, Session, UoW
from mercato.api.openapi import delete_operation, list_operation, render_operation
from mercato.http.responses import deleted
from mercato.http.routing import APIRouter
from mercato.query.fields import FieldRules
from mercato.query.listing import find_or_404, run_list, run_retrieve
from mercato.regions import service
from mercato.regions.models import Region
from mercato.regions.resources import (
    REGION,
    REGION_FIELDS,
    REGION_LIST,
    STORE_REGION_FIELDS,
    STORE_REGION_LIST,
)
from mercato.regions.schemas import CreateRegion, UpdateRegion

admin_router = APIRouter(prefix="/admin/regions", tags=["admin: regions"])
store_router = APIRouter(prefix="/store/regions", tags=["store: regions"])


async def _render(
    session: AsyncSession, region: Region, params: dict, rules: FieldRules = REGION_FIELDS
) -> dict:
    return {
        "region": await run_retrieve(
            session, resource=REGION, rules=rules, row=region, params=params
        )
    }


@admin_router.get("", operation_id="AdminListRegions", openapi_extra=list_operation(REGION_LIST))
async def list_regions(session: Session, params: Query) -> dict:
    return await run_list(session, REGION_LIST, params)


@admin_router.post(
    "", operation_id="AdminCreateRegion", openapi_extra=render_operation(REGION, REGION_FIELDS)
)
async def create_region(body: CreateRegion, session: Session, uow: UoW, params: Query) -> dict:
    return await _render(session, await service.create_region(uow, **body.model_dump()), params)


@admin_router.get(
    "/{region_id}",
    operation_id="AdminGetRegion",
    openapi_extra=render_operation(REGION, REGION_FIELDS),
)
async def get_region(region_id: str, session: Session, params: Query) -> dict:
    return await _render(session, await find_or_404(session, Region, "Region", region_id), params)


@admin_router.post(
    "/{region_id}",
    operation_id="AdminUpdateRegion",
    openapi_extra=render_operation(REGION, REGION_FIELDS),
)
async def update_region(
    region_id: str, body: UpdateRegion, session: Session, uow: UoW, params: Query
) -> dict:
    region = await service.update_region(
        uow, region_id=region_id, changes=body.model_dump(exclude_unset=True)
    )
    return await _render(session, region, params)


@admin_router.delete(
    "/{region_id}", operation_id="AdminDeleteRegion", openapi_extra=delete_operation()
)
async def delete_region(region_id: str, uow: UoW) -> dict:
    await service.delete_region(uow, region_id=region_id)
    return deleted(region_id, "region")


@store_router.get(
    "", operation_id="StoreListRegions", openapi_extra=list_operation(STORE_REGION_LIST)
)
async def store_list_regions(session: Session, params: Query) -> dict:
    return await run_list(session, STORE_REGION_LIST, params)


@store_router.get(
    "/{region_id}",
    operation_id="StoreGetRegion",
    openapi_extra=render_operation(REGION, STORE_REGION_FIELDS),
)
async def store_get_region(region_id: str, session: Session, params: Query) -> dict:
    region = await find_or_404(session, Region, "Region", region_id)
    return await _render(session, region, params, STORE_REGION_FIELDS)

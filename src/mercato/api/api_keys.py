"""``/admin/api-keys``."""

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Admin, Query, Session, UoW
from mercato.api.openapi import delete_operation, list_operation, render_operation
from mercato.api_keys import service
from mercato.api_keys.models import ApiKey
from mercato.api_keys.resources import API_KEY, API_KEY_DETAIL_FIELDS, API_KEY_LIST
from mercato.api_keys.schemas import CreateApiKey, ManageSalesChannels, UpdateApiKey
from mercato.http.responses import deleted
from mercato.http.routing import APIRouter
from mercato.query.listing import find_or_404, run_list, run_retrieve

router = APIRouter(prefix="/admin/api-keys", tags=["admin: api keys"])
ENTITY = service.ENTITY


async def _render(session: AsyncSession, key: ApiKey, params: dict) -> dict:
    return {
        "api_key": await run_retrieve(
            session, resource=API_KEY, rules=API_KEY_DETAIL_FIELDS, row=key, params=params
        )
    }


@router.get("", operation_id="AdminListApiKeys", openapi_extra=list_operation(API_KEY_LIST))
async def list_api_keys(session: Session, params: Query) -> dict:
    return await run_list(session, API_KEY_LIST, params)


@router.post(
    "",
    operation_id="AdminCreateApiKey",
    openapi_extra=render_operation(API_KEY, API_KEY_DETAIL_FIELDS),
)
async def create_api_key(
    body: CreateApiKey, session: Session, uow: UoW, actor: Admin, params: Query
) -> dict:
    """Create a key. A secret key's full ``token`` appears in this response only."""
    key, token = await service.create_api_key(
        uow, title=body.title, type=body.type, created_by=actor.user_id
    )
    response = await _render(session, key, params)
    if "token" in response["api_key"]:
        response["api_key"]["token"] = token
    return response


@router.get(
    "/{key_id}",
    operation_id="AdminGetApiKey",
    openapi_extra=render_operation(API_KEY, API_KEY_DETAIL_FIELDS),
)
async def get_api_key(key_id: str, session: Session, params: Query) -> dict:
    return await _render(session, await find_or_404(session, ApiKey, ENTITY, key_id), params)


@router.post(
    "/{key_id}",
    operation_id="AdminUpdateApiKey",
    openapi_extra=render_operation(API_KEY, API_KEY_DETAIL_FIELDS),
)
async def update_api_key(
    key_id: str, body: UpdateApiKey, session: Session, uow: UoW, params: Query
) -> dict:
    key = await service.update_api_key(uow, key_id=key_id, title=body.title)
    return await _render(session, key, params)


@router.delete("/{key_id}", operation_id="AdminDeleteApiKey", openapi_extra=delete_operation())
async def delete_api_key(key_id: str, uow: UoW) -> dict:
    """Delete a revoked key."""
    await service.delete_api_key(uow, key_id=key_id)
    return deleted(key_id, "api_key")


@router.post(
    "/{key_id}/revoke",
    operation_id="AdminRevokeApiKey",
    openapi_extra=render_operation(API_KEY, API_KEY_DETAIL_FIELDS),
)
async def revoke_api_key(
    key_id: str, session: Session, uow: UoW, actor: Admin, params: Query
) -> dict:
    key = await service.revoke_api_key(uow, key_id=key_id, revoked_by=actor.user_id)
    return await _render(session, key, params)


@router.post(
    "/{key_id}/sales-channels",
    operation_id="AdminManageApiKeySalesChannels",
    openapi_extra=render_operation(API_KEY, API_KEY_DETAIL_FIELDS),
)
async def manage_sales_channels(
    key_id: str, body: ManageSalesChannels, session: Session, uow: UoW, params: Query
) -> dict:
    """Add or remove the sales channels a publishable key scopes the store to."""
    key = await service.manage_sales_channels(uow, key_id=key_id, add=body.add, remove=body.remove)
    return await _render(session, key, params)

"""``/admin/users``."""

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Admin, Query, Session, UoW
from mercato.api.openapi import delete_operation, list_operation, render_operation
from mercato.http.responses import deleted
from mercato.http.routing import APIRouter
from mercato.query.listing import find_or_404, run_list, run_retrieve
from mercato.users import service
from mercato.users.models import User
from mercato.users.resources import USER, USER_FIELDS, USER_LIST
from mercato.users.schemas import CreateUser, UpdateUser

router = APIRouter(prefix="/admin/users", tags=["admin: users"])


async def _render(session: AsyncSession, user: User, params: dict) -> dict:
    return {
        "user": await run_retrieve(
            session, resource=USER, rules=USER_FIELDS, row=user, params=params
        )
    }


@router.get("", operation_id="AdminListUsers", openapi_extra=list_operation(USER_LIST))
async def list_users(session: Session, params: Query) -> dict:
    return await run_list(session, USER_LIST, params)


@router.get(
    "/me",
    operation_id="AdminGetMe",
    openapi_extra=render_operation(USER, USER_FIELDS, errors=(404,)),
)
async def me(session: Session, actor: Admin, params: Query) -> dict:
    """The user behind the token (or the creator of the secret key)."""
    return await _render(
        session, await find_or_404(session, User, "User", actor.user_id or ""), params
    )


@router.post(
    "",
    operation_id="AdminCreateUser",
    openapi_extra=render_operation(USER, USER_FIELDS, errors=(422,)),
)
async def create_user(body: CreateUser, session: Session, uow: UoW, params: Query) -> dict:
    user = await service.create_user(uow, **body.model_dump())
    return await _render(session, user, params)


@router.get(
    "/{user_id}", operation_id="AdminGetUser", openapi_extra=render_operation(USER, USER_FIELDS)
)
async def get_user(user_id: str, session: Session, params: Query) -> dict:
    return await _render(session, await find_or_404(session, User, "User", user_id), params)


@router.post(
    "/{user_id}",
    operation_id="AdminUpdateUser",
    openapi_extra=render_operation(USER, USER_FIELDS, errors=(422,)),
)
async def update_user(
    user_id: str, body: UpdateUser, session: Session, uow: UoW, params: Query
) -> dict:
    user = await service.update_user(
        uow, user_id=user_id, changes=body.model_dump(exclude_unset=True)
    )
    return await _render(session, user, params)


@router.delete("/{user_id}", operation_id="AdminDeleteUser", openapi_extra=delete_operation())
async def delete_user(user_id: str, uow: UoW, actor: Admin) -> dict:
    """Its tokens stop working at once and its secret keys are revoked."""
    await service.delete_user(uow, user_id=user_id, deleted_by=actor.user_id)
    return deleted(user_id, "user")

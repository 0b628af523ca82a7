"""API key commands: create (token shown once for secret keys), revoke, channel scoping."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api_keys.models import ApiKey, ApiKeySalesChannel
from mercato.api_keys.tokens import digest, new_token, redact
from mercato.errors import invalid
from mercato.query.listing import get_or_404
from mercato.sales_channels.service import require_channels
from mercato.unit_of_work import UnitOfWork

ENTITY = "API key"


async def _key(uow: UnitOfWork, key_id: str) -> ApiKey:
    return await get_or_404(uow.session, ApiKey, ENTITY, key_id)


async def create_api_key(
    uow: UnitOfWork, *, title: str, type: str, created_by: str | None
) -> tuple[ApiKey, str]:
    """Returns the key and its full token (the only moment a secret token exists in clear)."""
    token = new_token(type)
    async with uow:
        key = ApiKey(
            title=title,
            type=type,
            token_digest=digest(token),
            token=token if type == "publishable" else None,
            redacted=redact(token),
            created_by=created_by,
        )
        uow.session.add(key)
        await uow.commit()
    return key, token


async def update_api_key(uow: UnitOfWork, *, key_id: str, title: str) -> ApiKey:
    async with uow:
        key = await _key(uow, key_id)
        key.title = title
        await uow.commit()
    return key


async def revoke_api_key(uow: UnitOfWork, *, key_id: str, revoked_by: str | None) -> ApiKey:
    async with uow:
        key = await _key(uow, key_id)
        if key.revoked_at is not None:
            raise invalid(f"API key {key.id} is already revoked")
        key.revoked_at = datetime.now(UTC)
        key.revoked_by = revoked_by
        await uow.commit()
    return key


async def revoke_secret_keys_of(
    session: AsyncSession, *, user_id: str, revoked_by: str | None
) -> None:
    """Revoke every live secret key ``user_id`` created, in the caller's transaction: a secret
    key acts as its creator and dies with them (marketplace-setup.md)."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.created_by == user_id,
            ApiKey.type == "secret",
            ApiKey.revoked_at.is_(None),
            ApiKey.deleted_at.is_(None),
        )
        .values(revoked_at=datetime.now(UTC), revoked_by=revoked_by)
    )


async def delete_api_key(uow: UnitOfWork, *, key_id: str) -> None:
    async with uow:
        key = await _key(uow, key_id)
        if key.revoked_at is None:
            raise invalid("Cannot delete api keys that are not revoked")
        key.deleted_at = datetime.now(UTC)
        await uow.commit()


async def manage_sales_channels(
    uow: UnitOfWork, *, key_id: str, add: list[str], remove: list[str]
) -> ApiKey:
    async with uow:
        session = uow.session
        key = await _key(uow, key_id)
        if key.type != "publishable":
            raise invalid("Sales channels can only be associated with publishable API keys")
        add = await require_channels(session, add)
        if add:
            await session.execute(
                insert(ApiKeySalesChannel)
                .values([{"api_key_id": key.id, "sales_channel_id": sc} for sc in add])
                .on_conflict_do_nothing()
            )
        if remove:
            await session.execute(
                delete(ApiKeySalesChannel).where(
                    ApiKeySalesChannel.api_key_id == key.id,
                    ApiKeySalesChannel.sales_channel_id.in_(remove),
                )
            )
        await uow.commit()
    return key


async def channel_ids(session: AsyncSession, key_id: str) -> list[str]:
    return list(
        await session.scalars(
            select(ApiKeySalesChannel.sales_channel_id).where(
                ApiKeySalesChannel.api_key_id == key_id
            )
        )
    )

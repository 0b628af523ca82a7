"""API key use cases: create (token shown once for secret keys), revoke, channel scoping."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api_keys.models import ApiKey, ApiKeySalesChannel
from mercato.api_keys.tokens import digest, new_token, redact
from mercato.errors import invalid
from mercato.sales_channels.service import require_channels


async def create_api_key(
    session: AsyncSession, *, title: str, type: str, created_by: str | None
) -> tuple[ApiKey, str]:
    """Returns the key and its full token (the only moment a secret token exists in clear)."""
    token = new_token(type)
    key = ApiKey(
        title=title,
        type=type,
        token_digest=digest(token),
        token=token if type == "publishable" else None,
        redacted=redact(token),
        created_by=created_by,
    )
    session.add(key)
    await session.commit()
    return key, token


async def update_api_key(session: AsyncSession, *, key: ApiKey, title: str) -> ApiKey:
    key.title = title
    await session.commit()
    return key


async def revoke_api_key(session: AsyncSession, *, key: ApiKey, revoked_by: str | None) -> ApiKey:
    if key.revoked_at is not None:
        raise invalid(f"API key {key.id} is already revoked")
    key.revoked_at = datetime.now(UTC)
    key.revoked_by = revoked_by
    await session.commit()
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


async def delete_api_key(session: AsyncSession, *, key: ApiKey) -> None:
    if key.revoked_at is None:
        raise invalid("Cannot delete api keys that are not revoked")
    key.deleted_at = datetime.now(UTC)
    await session.commit()


async def manage_sales_channels(
    session: AsyncSession, *, key: ApiKey, add: list[str], remove: list[str]
) -> ApiKey:
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
    await session.commit()
    return key


async def channel_ids(session: AsyncSession, key_id: str) -> list[str]:
    return list(
        await session.scalars(
            select(ApiKeySalesChannel.sales_channel_id).where(
                ApiKeySalesChannel.api_key_id == key_id
            )
        )
    )

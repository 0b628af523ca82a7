"""Sales channel commands, each one unit of work, and the check other features share."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.errors import invalid
from mercato.query.listing import get_or_404
from mercato.sales_channels.models import SalesChannel
from mercato.stores.service import clear_default
from mercato.unit_of_work import UnitOfWork

ENTITY = "Sales channel"


async def create_sales_channel(
    uow: UnitOfWork, *, metadata: dict[str, Any] | None, **fields: Any
) -> SalesChannel:
    async with uow:
        channel = SalesChannel(metadata_=metadata, **fields)
        uow.session.add(channel)
        await uow.commit()
    return channel


async def update_sales_channel(
    uow: UnitOfWork, *, channel_id: str, changes: dict[str, Any]
) -> SalesChannel:
    async with uow:
        channel = await get_or_404(uow.session, SalesChannel, ENTITY, channel_id)
        for name, value in changes.items():
            if name in ("name", "is_disabled") and value is None:
                raise invalid(f"Invalid request: {name}: must not be null")
            setattr(channel, "metadata_" if name == "metadata" else name, value)
        await uow.commit()
    return channel


async def delete_sales_channel(uow: UnitOfWork, *, channel_id: str) -> None:
    async with uow:
        channel = await get_or_404(uow.session, SalesChannel, ENTITY, channel_id)
        channel.deleted_at = datetime.now(UTC)
        await clear_default(uow.session, "default_sales_channel_id", channel.id)
        await uow.commit()


async def require_channels(session: AsyncSession, ids: Iterable[str]) -> list[str]:
    """The ids, deduplicated, after checking that every one names a live sales channel."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return wanted
    found = set(
        await session.scalars(
            select(SalesChannel.id).where(
                SalesChannel.id.in_(wanted), SalesChannel.deleted_at.is_(None)
            )
        )
    )
    missing = [i for i in wanted if i not in found]
    if missing:
        raise invalid(f"Sales channels with ids {', '.join(missing)} were not found")
    return wanted

"""Sales channel use cases."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.errors import invalid
from mercato.sales_channels.models import SalesChannel


async def create_sales_channel(
    session: AsyncSession, *, metadata: dict[str, Any] | None, **fields: Any
) -> SalesChannel:
    channel = SalesChannel(metadata_=metadata, **fields)
    session.add(channel)
    await session.commit()
    return channel


async def update_sales_channel(
    session: AsyncSession, *, channel: SalesChannel, changes: dict[str, Any]
) -> SalesChannel:
    for name, value in changes.items():
        if name in ("name", "is_disabled") and value is None:
            raise invalid(f"Invalid request: {name}: must not be null")
        setattr(channel, "metadata_" if name == "metadata" else name, value)
    await session.commit()
    return channel


async def delete_sales_channel(session: AsyncSession, *, channel: SalesChannel) -> None:
    channel.deleted_at = datetime.now(UTC)
    await session.commit()


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

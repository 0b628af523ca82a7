"""Free handles for rows derived from a name: ``tea``, else ``tea-2``, ``tea-3``, …"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

_BATCH = 20  # candidates looked up per statement


async def free_handle(session: AsyncSession, model: Any, base: str) -> str:
    """The first of ``base``, ``base-2``, ``base-3``, … that no live row of ``model`` holds.

    Derivations of the same base queue on a transaction-scoped advisory lock, so concurrent
    requests for one name get different suffixes (the lock is held until the caller commits).
    The candidates are looked up by equality, which the unique handle index answers."""
    key = f"{model.__tablename__}.handle:{base}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
    start = 2
    candidates = [base]
    while True:
        candidates += [f"{base}-{n}" for n in range(start, start + _BATCH)]
        taken = set(
            await session.scalars(
                select(model.handle).where(model.handle.in_(candidates), model.deleted_at.is_(None))
            )
        )
        for candidate in candidates:
            if candidate not in taken:
                return candidate
        start += _BATCH
        candidates = []

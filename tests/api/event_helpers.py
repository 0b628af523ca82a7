"""Helpers of the event delivery tests (both transports): counting rows, waiting for a worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select


async def count_rows(sessionmaker: Any, model: Any, *where: Any) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def wait_for(check: Callable[[], Awaitable[bool]], limit: float = 10.0) -> None:
    """Until ``check()`` holds; fails after ``limit`` seconds (a worker that never got there)."""
    deadline = time.monotonic() + limit
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)

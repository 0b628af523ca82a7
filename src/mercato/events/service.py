"""Events: written to the outbox inside the business transaction, dispatched after commit.

``emit`` only stages a row, so an event exists if and only if its transaction committed.
``dispatch`` runs the in-process subscribers of committed events and stamps ``dispatched_at``;
an event whose subscriber failed stays pending (visible in ``GET /admin/events``) and is retried
by the next ``dispatch_pending``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato.db.base import new_id
from mercato.events.models import OutboxEvent
from mercato.query.driver import FixedInsert, FixedQuery, keys_param

log = logging.getLogger("mercato.events")

Handler = Callable[[OutboxEvent], Awaitable[None]]
_subscribers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> Callable[[], None]:
    """Register ``handler`` for events named ``name``; returns a function that unregisters it."""
    _subscribers[name].append(handler)
    return lambda: _subscribers[name].remove(handler)


def emit(
    session: AsyncSession, name: str, data: dict[str, Any], seller_id: str | None = None
) -> OutboxEvent:
    """Stage an event in the caller's transaction (``data["id"]`` names the resource)."""
    event = OutboxEvent(
        id=new_id("evt"), name=name, data=data, resource_id=data.get("id"), seller_id=seller_id
    )
    session.add(event)
    return event


_OUTBOX = FixedInsert(OutboxEvent)
_STAMP = FixedQuery(
    update(OutboxEvent)
    .where(keys_param(OutboxEvent.id), OutboxEvent.dispatched_at.is_(None))
    .values(dispatched_at=func.now())
)


# A staged event: its name, its data and the one seller it is about (or None).
Staged = tuple[str, dict[str, Any], str | None]


async def emit_all(session: AsyncSession, events: list[Staged]) -> list[str]:
    """Stage several events in the caller's transaction with one driver statement (the
    checkout's hot path); the rows are those ``emit`` stages. Returns their ids, in order."""
    now = datetime.now(UTC)
    rows = [
        {
            "id": new_id("evt"),
            "name": name,
            "data": data,
            "resource_id": data.get("id"),
            "seller_id": seller_id,
            "created_at": now,
        }
        for name, data, seller_id in events
    ]
    await _OUTBOX.run(session, rows)
    return [row["id"] for row in rows]


async def dispatch(
    sessionmaker: async_sessionmaker[AsyncSession], event_ids: Iterable[str]
) -> None:
    """Deliver committed events to their subscribers, in creation order."""
    ids = list(event_ids)
    if not ids:
        return
    if not any(_subscribers.values()):
        # Nobody listens: delivering is a no-op, so only the stamp is written (no read first).
        async with sessionmaker() as session, session.begin():
            await _STAMP.records(session, keys=ids)
        return
    async with sessionmaker() as session:
        events = list(
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.id.in_(ids), OutboxEvent.dispatched_at.is_(None))
                .order_by(OutboxEvent.created_at, OutboxEvent.id)
            )
        )
        delivered = []
        for event in events:
            try:
                for handler in list(_subscribers.get(event.name, ())):
                    await handler(event)
            except Exception:
                log.exception("subscriber failed for event %s (%s)", event.id, event.name)
                continue
            delivered.append(event.id)
        if delivered:
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(delivered))
                .values(dispatched_at=datetime.now(UTC))
            )
            await session.commit()


async def dispatch_pending(
    sessionmaker: async_sessionmaker[AsyncSession], *, limit: int = 500
) -> None:
    """Retry events left undelivered (a crash between commit and dispatch, a failing handler)."""
    async with sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(OutboxEvent.id)
                .where(OutboxEvent.dispatched_at.is_(None))
                .order_by(OutboxEvent.created_at)
                .limit(limit)
            )
        )
    await dispatch(sessionmaker, ids)

"""Events: written to the outbox inside the business transaction, relayed after commit.

``emit`` only stages a row, so an event exists if and only if its transaction committed.

Two kinds of subscriber:

* **durable** (``subscribe(names, handler, subscriber_id="search")``): the committing process
  relays its events to ``event_delivery`` rows right after the commit and a worker runs the
  handler ``(envelope, session)`` at least once, with retries and dead letters, its database
  effects exactly once (:mod:`mercato.events.delivery`);
* **in-process** (``subscribe(name, handler)``, no id): ``handler(outbox_row)`` runs in the
  committing process right after the commit, best effort — a failure is logged, the event is
  left undispatched for the relay, and the handler is not run again (tests and callers that
  need to see the commit synchronously).

``dispatch`` runs the in-process subscribers of committed events, then relays them (stamps
``dispatched_at`` and writes the durable subscribers' deliveries) — unless ``REDIS_URL`` is
set: then a worker's stream relay does (the API process never talks to Redis).
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
from mercato.events import delivery
from mercato.events.models import OutboxEvent
from mercato.query.driver import FixedInsert, FixedQuery, keys_param
from mercato.settings import get_settings

log = logging.getLogger("mercato.events")

Handler = Callable[[OutboxEvent], Awaitable[None]]
_subscribers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(
    names: str | Iterable[str],
    handler: Callable[..., Awaitable[None]],
    subscriber_id: str | None = None,
    interest: str | None = None,
) -> Callable[[], None]:
    """Register ``handler`` for the events named ``names`` (a name, several, or ``"*"`` for
    every event); returns a function that unregisters it.

    With a ``subscriber_id`` the subscriber is durable: ``handler(envelope, session)`` runs in
    a worker, at least once, inside the transaction that records its consumption; ``interest``
    (an SQL condition on the outbox row ``o``) lets the relay skip events it does not want.
    Without one, ``handler(outbox_row)`` runs in-process right after the commit, best
    effort."""
    if subscriber_id is not None:
        return delivery.register(names, handler, subscriber_id, interest)
    if interest is not None:
        raise ValueError("only a durable subscriber (with a subscriber_id) takes an interest")
    wanted = [names] if isinstance(names, str) else list(names)
    for name in wanted:
        _subscribers[name].append(handler)

    def unsubscribe() -> None:
        for name in wanted:
            _subscribers[name].remove(handler)

    return unsubscribe


def resource_id(data: dict[str, Any]) -> str | None:
    """The outbox ``resource_id``: ``data.id``, else ``data.order_id`` (``payment.*`` events
    carry only the order), so ``GET /admin/events?resource_id=`` finds an order's events."""
    value = data.get("id") or data.get("order_id")
    return value if isinstance(value, str) else None


def emit(
    session: AsyncSession, name: str, data: dict[str, Any], seller_id: str | None = None
) -> OutboxEvent:
    """Stage an event in the caller's transaction (``data["id"]``, else ``data["order_id"]``,
    names the resource)."""
    event = OutboxEvent(
        id=new_id("evt"),
        name=name,
        data=data,
        resource_id=resource_id(data),
        seller_id=seller_id,
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
            "resource_id": resource_id(data),
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
    """Run the in-process subscribers of committed events, in insert order, then relay the
    events (an event one of them failed on is left to the relay)."""
    ids = list(event_ids)
    if not ids:
        return
    delivered = ids
    if any(_subscribers.values()):
        async with sessionmaker() as session:
            events = list(
                await session.scalars(
                    select(OutboxEvent).where(OutboxEvent.id.in_(ids)).order_by(OutboxEvent.seq)
                )
            )
        delivered = []
        for event in events:
            try:
                for handler in [*_subscribers.get(event.name, ()), *_subscribers.get("*", ())]:
                    await handler(event)
            except Exception:
                log.exception("subscriber failed for event %s (%s)", event.id, event.name)
                continue
            delivered.append(event.id)
        if not delivered:
            return
    if get_settings().redis_url is not None:
        # Redis transport: the worker's stream relay XADDs and stamps them (stamping here would
        # hide them from it); the commit woke it.
        return
    async with sessionmaker() as session, session.begin():
        if delivery.has_subscribers():
            await delivery.relay_ids(session, delivered)
        else:
            # Nobody subscribes durably: relaying is only the stamp (one statement, no read).
            await _STAMP.records(session, keys=delivered)


async def dispatch_pending(
    sessionmaker: async_sessionmaker[AsyncSession], *, limit: int = 500
) -> None:
    """Retry events left undelivered (a crash between commit and dispatch, a failing handler)."""
    async with sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(OutboxEvent.id)
                .where(OutboxEvent.dispatched_at.is_(None))
                .order_by(OutboxEvent.seq)
                .limit(limit)
            )
        )
    await dispatch(sessionmaker, ids)

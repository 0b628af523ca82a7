"""Event retention (events-and-scale-out.md, Event model): the worker deletes outbox rows older
than ``MERCATO_EVENT_RETENTION_DAYS`` once nothing is still owed for them.

An old event is *settled*, and deleted, when

* it was relayed (``dispatched_at`` set: an undispatched row is still owed to every subscriber);
* no ``event_delivery`` row is left (no subscriber is still trying or waiting to retry);
* no dead letter of it waits for an admin (``retried_at`` null): "nothing disappears" — an
  admin can retry it at any age, so the event stays until then;
* no webhook delivery of it is ``pending`` (still retrying, or paused on a disabled endpoint).

It goes together with what refers to it (every foreign key to ``event_outbox``): its
consumption records, its retried dead letters, and its finished webhook deliveries
(``succeeded``/``failed``) with their attempts — a webhook's delivery log covers the
retention, as its replay does. The webhook tables are named in plain SQL: ``events`` must not
import the features built on it, and the foreign keys make them part of deleting an event.

Each statement deletes at most :data:`BATCH` events (oldest first) and commits, so a large
backlog never holds a long transaction or many locks; rows another transaction holds (a
delivery being written for them) are skipped and come back at the next pass. All times are
PostgreSQL's ``now()``, never a host clock.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato.settings import get_settings

log = logging.getLogger("mercato.events")

BATCH = 5000
EVERY_S = 3600.0

_PURGE = text(
    "WITH doomed AS ("
    " SELECT o.id FROM event_outbox o"
    " WHERE o.created_at < now() - make_interval(days => :days)"
    " AND o.dispatched_at IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM event_delivery d WHERE d.event_id = o.id)"
    " AND NOT EXISTS (SELECT 1 FROM event_dead_letter l"
    " WHERE l.event_id = o.id AND l.retried_at IS NULL)"
    " AND NOT EXISTS (SELECT 1 FROM webhook_delivery w"
    " WHERE w.event_id = o.id AND w.status = 'pending')"
    " ORDER BY o.seq LIMIT :n FOR UPDATE SKIP LOCKED),"
    " hooks AS (DELETE FROM webhook_delivery w USING doomed WHERE w.event_id = doomed.id"
    " RETURNING w.id),"
    " attempts AS (DELETE FROM webhook_attempt a USING hooks WHERE a.delivery_id = hooks.id),"
    " consumed AS (DELETE FROM event_consumption c USING doomed WHERE c.event_id = doomed.id),"
    " dead AS (DELETE FROM event_dead_letter l USING doomed WHERE l.event_id = doomed.id),"
    " gone AS (DELETE FROM event_outbox o USING doomed WHERE o.id = doomed.id RETURNING 1)"
    " SELECT count(*) FROM gone"
)


async def purge(
    sessionmaker: async_sessionmaker[AsyncSession],
    days: int | None = None,
    *,
    batch: int = BATCH,
) -> int:
    """Delete settled events older than ``days`` (default ``MERCATO_EVENT_RETENTION_DAYS``),
    one committed batch at a time, until a batch comes back short; how many were deleted."""
    days = get_settings().event_retention_days if days is None else days
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            deleted = int((await session.execute(_PURGE, {"days": days, "n": batch})).scalar_one())
        total += deleted
        if deleted < batch:
            return total


async def run_forever(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Purge at start, then every hour, until cancelled (a task of the event worker)."""
    while True:
        try:
            deleted = await purge(sessionmaker)
            if deleted:
                log.info("event retention deleted %d settled events", deleted)
        except asyncio.CancelledError:
            raise
        except Exception:  # e.g. a delivery written for an event in the batch: next pass
            log.exception("event retention pass failed; retried in %ss", EVERY_S)
        await asyncio.sleep(EVERY_S)

"""What the admin event routes read and do (events-and-scale-out.md, Admin event routes): an
event's consumers, the delivery status, and retrying a dead letter."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.errors import invalid, not_found
from mercato.events.delivery import PROCESS_SILENT_AFTER_S
from mercato.query.values import iso
from mercato.unit_of_work import UnitOfWork

_CONSUMERS = text(
    "SELECT subscriber, 'consumed' AS status, NULL::int AS attempts, NULL AS last_error,"
    " consumed_at FROM event_consumption WHERE event_id = :id"
    " UNION ALL SELECT subscriber, 'pending', attempts, last_error, NULL"
    " FROM event_delivery WHERE event_id = :id"
    " UNION ALL SELECT subscriber, 'dead', attempts, last_error, NULL"
    " FROM event_dead_letter WHERE event_id = :id"
    " ORDER BY 1"
)
_RANK = {"consumed": 0, "pending": 1, "dead": 2}


async def consumers(session: AsyncSession, event_id: str) -> list[dict[str, Any]]:
    """One entry per subscriber owed the event: consumed (handled), pending (still owed,
    maybe retrying) or dead (every attempt failed, not retried since)."""
    best: dict[str, Any] = {}
    for row in (await session.execute(_CONSUMERS, {"id": event_id})).all():
        held = best.get(row.subscriber)
        if held is None or _RANK[row.status] < _RANK[held.status]:
            best[row.subscriber] = row
    return [
        {
            "subscriber": row.subscriber,
            "status": row.status,
            "attempts": row.attempts,
            "last_error": row.last_error,
            "consumed_at": iso(row.consumed_at),
        }
        for row in best.values()
    ]


_STATUS = text(
    "SELECT (SELECT count(*) FROM event_outbox WHERE dispatched_at IS NULL) AS backlog,"
    " (SELECT min(created_at) FROM event_outbox WHERE dispatched_at IS NULL) AS oldest,"
    " (SELECT count(*) FROM event_delivery) AS pending,"
    " (SELECT count(*) FROM event_delivery WHERE last_error IS NOT NULL) AS retries,"
    " (SELECT count(*) FROM event_dead_letter WHERE retried_at IS NULL) AS dead"
)
_PROCESSES = text(
    "SELECT id, kind, host, pid, pool_budget, started_at, heartbeat_at, status"
    " FROM mercato_process WHERE heartbeat_at >= now() - make_interval(secs => :silent)"
    " ORDER BY started_at, id"
)


def _transport(processes: list[Any]) -> dict[str, Any]:
    """The transport and Redis consumer groups as the live workers last reported them (the
    latest heartbeat of a Redis worker); ``postgres`` when no worker reports Redis."""
    reports = [p for p in processes if (p.status or {}).get("transport") == "redis"]
    if not reports:
        return {"transport": "postgres"}
    latest = max(reports, key=lambda p: p.heartbeat_at)
    return {"transport": "redis", "groups": list(latest.status.get("groups") or [])}


async def status(session: AsyncSession) -> dict[str, Any]:
    """Backlog, retries, dead letters and the live processes, from PostgreSQL alone."""
    counts = (await session.execute(_STATUS)).one()
    processes = (await session.execute(_PROCESSES, {"silent": PROCESS_SILENT_AFTER_S})).all()
    transport = _transport(list(processes))
    return {
        "transport": transport["transport"],
        "outbox_backlog": counts.backlog,
        "oldest_undispatched_at": iso(counts.oldest),
        "pending_deliveries": counts.pending,
        "pending_retries": counts.retries,
        "dead_letters": counts.dead,
        **({"groups": transport["groups"]} if "groups" in transport else {}),
        "processes": [
            {
                "id": p.id,
                "kind": p.kind,
                "host": p.host,
                "pid": p.pid,
                "pool_budget": p.pool_budget,
                "started_at": iso(p.started_at),
                "heartbeat_at": iso(p.heartbeat_at),
                "status": p.status,
            }
            for p in processes
        ],
    }


_MARK_RETRIED = text(
    "UPDATE event_dead_letter SET retried_at = now() WHERE id = :id AND retried_at IS NULL"
    " RETURNING event_id, subscriber"
)
_REQUEUE = text(
    "INSERT INTO event_delivery (event_id, event_seq, subscriber)"
    " SELECT id, seq, :subscriber FROM event_outbox WHERE id = :event_id"
    " ON CONFLICT (event_id, subscriber) DO UPDATE SET attempts = 0, next_attempt_at = now(),"
    " lease_until = NULL, last_error = NULL"
)


async def retry_dead_letter(uow: UnitOfWork, dead_letter_id: str) -> None:
    """Owe the event to its subscriber again, from attempt one; a dead letter is retried once
    (a new failure makes a new one)."""
    from mercato.events.delivery import wake_after_commit

    async with uow:
        marked = (await uow.session.execute(_MARK_RETRIED, {"id": dead_letter_id})).first()
        if marked is None:
            exists = await uow.session.scalar(
                text("SELECT 1 FROM event_dead_letter WHERE id = :id"), {"id": dead_letter_id}
            )
            if exists is None:
                raise not_found("Dead letter", dead_letter_id)
            raise invalid(f"Dead letter {dead_letter_id} was already retried")
        await uow.session.execute(
            _REQUEUE, {"event_id": marked.event_id, "subscriber": marked.subscriber}
        )
        await uow.commit()
    wake_after_commit(uow.sessionmaker)

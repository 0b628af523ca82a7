"""``mercato events replay``: owe relayed outbox events to durable subscribers again.

For when a transport lost entries (Redis without AOF, restored from an old snapshot), or for a
subscriber added after the events it should have seen. Each (event, subscriber) pair becomes an
``event_delivery`` row, which the consumers claim like any other; an event the subscriber has
already consumed is left out (its ``event_consumption`` record would skip it anyway), and a
delivery already owed is not doubled (``ON CONFLICT DO NOTHING``). Only relayed rows are
replayed: undispatched ones are still ahead of the relay, which delivers them anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato.events import delivery

BATCH = 5000
RELATIVE = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class ReplayError(ValueError):
    """A replay that cannot run as asked; the message says why."""


def parse_time(value: str, now: datetime, option: str) -> datetime:
    """An ISO 8601 timestamp (UTC when it names no offset), or ``<n>s|m|h|d`` before ``now``
    (PostgreSQL's clock, never this host's)."""
    value = value.strip()
    relative = RELATIVE.match(value)
    if relative:
        return now - timedelta(**{UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ReplayError(
            f"{option} must be an ISO 8601 timestamp (2026-12-01T08:00:00Z) or a time ago"
            f" (30m, 2h, 7d), not {value!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def routes(subscriber: str | None) -> tuple[list[str], list[str]]:
    """(name or ``*``, subscriber id) pairs of the registered durable subscribers, or of the one
    named; an unknown name is an error naming the known ones."""
    known = sorted(s.id for s in delivery.subscribers())
    if subscriber is not None and subscriber not in known:
        raise ReplayError(
            f"unknown subscriber {subscriber!r}; registered subscribers:"
            f" {', '.join(known) if known else 'none'}"
        )
    names: list[str] = []
    ids: list[str] = []
    for registered in delivery.subscribers():
        if subscriber is not None and registered.id != subscriber:
            continue
        for name in sorted(registered.names) if registered.names is not None else ["*"]:
            names.append(name)
            ids.append(registered.id)
    return names, ids


_NOW = text("SELECT now()")
# One batch of relayed rows in the window, by seq; the deliveries its subscribers still owe.
_QUEUE = text(
    "WITH batch AS ("
    " SELECT id, seq, name FROM event_outbox"
    " WHERE seq > :after AND created_at >= :since AND created_at <= :until"
    " AND dispatched_at IS NOT NULL"
    " ORDER BY seq LIMIT :n),"
    " queued AS ("
    " INSERT INTO event_delivery (event_id, event_seq, subscriber)"
    " SELECT b.id, b.seq, r.subscriber FROM batch b"
    " JOIN unnest(CAST(:names AS text[]), CAST(:subscribers AS text[])) AS r(name, subscriber)"
    " ON r.name = b.name OR r.name = '*'"
    " WHERE NOT EXISTS (SELECT 1 FROM event_consumption c"
    " WHERE c.subscriber = r.subscriber AND c.event_id = b.id)"
    " ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT (SELECT max(seq) FROM batch), (SELECT count(*) FROM batch),"
    " (SELECT count(*) FROM queued)"
)


@dataclass(frozen=True, slots=True)
class Replayed:
    since: datetime
    until: datetime
    events: int
    deliveries: int
    subscribers: tuple[str, ...]


async def replay(
    sessionmaker: async_sessionmaker[AsyncSession],
    since: str,
    until: str | None = None,
    subscriber: str | None = None,
) -> Replayed:
    """Queue deliveries of the relayed events created in ``[since, until]`` (``until``
    default: now) to their subscribers (all, or the one named), one committed batch at a
    time; then wake the workers."""
    names, ids = routes(subscriber)
    async with sessionmaker() as session:
        now: datetime = (await session.execute(_NOW)).scalar_one()
    start = parse_time(since, now, "--since")
    end = parse_time(until, now, "--until") if until is not None else now
    if start > end:
        raise ReplayError(f"--since ({start.isoformat()}) is after --until ({end.isoformat()})")
    after, events, queued = 0, 0, 0
    while ids:
        async with sessionmaker() as session, session.begin():
            last, seen, inserted = (
                await session.execute(
                    _QUEUE,
                    {
                        "after": after,
                        "since": start,
                        "until": end,
                        "n": BATCH,
                        "names": names,
                        "subscribers": ids,
                    },
                )
            ).one()
        events += seen
        queued += inserted
        if seen < BATCH:
            break
        after = last
    if queued:
        async with sessionmaker() as session:
            await session.execute(text(f"NOTIFY {delivery.CHANNEL}"))
            await session.commit()
    return Replayed(start, end, events, queued, tuple(sorted(set(ids))))

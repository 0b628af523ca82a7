"""``mercato events replay``: owe relayed outbox events to durable subscribers again.

For when a transport lost entries (Redis without AOF, restored from an old snapshot), or for a
subscriber added after the events it should have seen. Each (event, subscriber) pair becomes an
``event_delivery`` row, which the consumers claim like any other; an event the subscriber has
already consumed is left out (its ``event_consumption`` record would skip it anyway), as is one
outside the subscriber's *interest* (the relay would not have written it either: webhooks with
no endpoint that could want it), and a delivery already owed is not doubled. Only relayed rows are
replayed: undispatched ones are still ahead of the relay, which delivers them anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

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


def chosen(subscriber: str | None) -> list[delivery.Subscriber]:
    """The registered durable subscribers, or the one named; an unknown name is an error
    naming the known ones."""
    registered = sorted(delivery.subscribers(), key=lambda s: s.id)
    if subscriber is None:
        return registered
    picked = [s for s in registered if s.id == subscriber]
    if not picked:
        known = ", ".join(s.id for s in registered) or "none"
        raise ReplayError(f"unknown subscriber {subscriber!r}; registered subscribers: {known}")
    return picked


_NOW = text("SELECT now()")
# One batch of relayed rows in the window, by seq.
_BATCH = (
    "SELECT id, seq, name, seller_id FROM event_outbox"
    " WHERE seq > :after AND created_at >= :since AND created_at <= :until"
    " AND dispatched_at IS NOT NULL ORDER BY seq LIMIT :n"
)


def _statement(subscribers: list[delivery.Subscriber]) -> tuple[Any, dict[str, Any]]:
    """The deliveries a batch owes: per subscriber, the rows of the names it hears and its
    interest (as the relay writes them), less what it already consumed; then the batch's last
    seq, its size and how many deliveries were queued."""
    branches: list[str] = []
    params: dict[str, Any] = {}
    for index, subscriber in enumerate(subscribers):
        params[f"sub_{index}"] = subscriber.id
        conditions = [
            "NOT EXISTS (SELECT 1 FROM event_consumption c"
            f" WHERE c.subscriber = :sub_{index} AND c.event_id = o.id)"
        ]
        if subscriber.names is not None:
            params[f"names_{index}"] = sorted(subscriber.names)
            conditions.append(f"o.name = ANY(CAST(:names_{index} AS text[]))")
        if subscriber.interest is not None:
            conditions.append(f"({subscriber.interest})")
        branches.append(
            f"SELECT o.id, o.seq, CAST(:sub_{index} AS text) FROM o"
            f" WHERE {' AND '.join(conditions)}"
        )
    statement = (
        f"WITH o AS ({_BATCH}), queued AS ("
        " INSERT INTO event_delivery (event_id, event_seq, subscriber) "
        + " UNION ALL ".join(branches)
        + " ON CONFLICT DO NOTHING RETURNING 1)"
        " SELECT (SELECT max(seq) FROM o), (SELECT count(*) FROM o),"
        " (SELECT count(*) FROM queued)"
    )
    return text(statement), params


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
    subscribers = chosen(subscriber)
    async with sessionmaker() as session:
        now: datetime = (await session.execute(_NOW)).scalar_one()
    start = parse_time(since, now, "--since")
    end = parse_time(until, now, "--until") if until is not None else now
    if start > end:
        raise ReplayError(f"--since ({start.isoformat()}) is after --until ({end.isoformat()})")
    names = tuple(s.id for s in subscribers)
    if not subscribers:
        return Replayed(start, end, 0, 0, names)
    statement, params = _statement(subscribers)
    after, events, queued = 0, 0, 0
    while True:
        window = {"after": after, "since": start, "until": end, "n": BATCH}
        async with sessionmaker() as session, session.begin():
            last, seen, inserted = (await session.execute(statement, {**params, **window})).one()
        events += seen
        queued += inserted
        if seen < BATCH:
            break
        after = last
    if queued:
        async with sessionmaker() as session:
            await session.execute(text(f"NOTIFY {delivery.CHANNEL}"))
            await session.commit()
    return Replayed(start, end, events, queued, names)

"""``mercato events replay``: relayed outbox events owed again to durable subscribers through
``event_delivery``, without what a subscriber already consumed (events-and-scale-out.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import subscribers
from mercato.db.base import new_id
from mercato.db.engine import session_factory
from mercato.events import delivery
from mercato.events.delivery import Envelope
from mercato.events.replay import ReplayError, parse_time, replay
from mercato.events.service import subscribe
from tests.api.processes import MERCATO, mercato_env


@pytest.fixture
def subscriptions() -> Iterator[list]:
    """The test's own durable subscribers only (built-ins suspended), removed after it."""
    made: list = []
    subscribers.load()
    with delivery.suspended("webhooks"):
        yield made
    for unsubscribe in made:
        unsubscribe()


async def _ignore(event: Envelope, session: AsyncSession) -> None:
    return None


async def _event(session, name: str, *, hours_ago: float, dispatched: bool = True) -> str:
    event_id = new_id("evt")
    await session.execute(
        text(
            "INSERT INTO event_outbox (id, name, data, created_at, dispatched_at)"
            " VALUES (:id, :name, CAST('{}' AS jsonb), now() - make_interval(secs => :age),"
            " CASE WHEN :dispatched THEN now() END)"
        ),
        {"id": event_id, "name": name, "age": hours_ago * 3600, "dispatched": dispatched},
    )
    return event_id


async def _owed(sessionmaker) -> set[tuple[str, str]]:
    async with sessionmaker() as session:
        rows = await session.execute(text("SELECT event_id, subscriber FROM event_delivery"))
        return {(event_id, subscriber) for event_id, subscriber in rows.all()}


def test_times_are_iso_8601_or_a_time_ago():
    now = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    assert parse_time("2h", now, "--since") == now - timedelta(hours=2)
    assert parse_time("30m", now, "--since") == now - timedelta(minutes=30)
    assert parse_time("7d", now, "--since") == now - timedelta(days=7)
    assert parse_time("2026-12-01T08:00:00Z", now, "--since") == datetime(
        2026, 12, 1, 8, tzinfo=UTC
    )
    assert parse_time("2026-12-01T08:00:00", now, "--since") == datetime(2026, 12, 1, 8, tzinfo=UTC)
    with pytest.raises(ReplayError, match="--since must be an ISO 8601 timestamp"):
        parse_time("yesterday", now, "--since")


async def test_replay_queues_what_each_subscriber_has_not_consumed(engine, subscriptions):
    sessionmaker = session_factory(engine)
    subscriptions.append(subscribe("order.placed", _ignore, subscriber_id="t_placed"))
    subscriptions.append(subscribe("*", _ignore, subscriber_id="t_all"))
    async with sessionmaker() as session, session.begin():
        old = await _event(session, "order.placed", hours_ago=3)
        placed = await _event(session, "order.placed", hours_ago=1)
        canceled = await _event(session, "order.canceled", hours_ago=1)
        await _event(session, "order.placed", hours_ago=1, dispatched=False)  # relay's job
        consumed = await _event(session, "order.placed", hours_ago=0.5)
        await session.execute(
            text("INSERT INTO event_consumption (subscriber, event_id) VALUES ('t_placed', :e)"),
            {"e": consumed},
        )

    done = await replay(sessionmaker, "2h")
    assert (done.events, done.deliveries) == (3, 4)
    assert done.subscribers == ("t_all", "t_placed")
    assert await _owed(sessionmaker) == {
        (placed, "t_placed"),
        (placed, "t_all"),
        (canceled, "t_all"),
        (consumed, "t_all"),
    }
    # Again: nothing new is owed (a delivery already queued is not doubled).
    assert (await replay(sessionmaker, "2h")).deliveries == 0

    # One subscriber, an explicit window that reaches the older event.
    since = (datetime.now(UTC) - timedelta(hours=4)).isoformat()
    until = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    done = await replay(sessionmaker, since, until, "t_placed")
    assert (done.events, done.deliveries, done.subscribers) == (1, 1, ("t_placed",))
    assert (old, "t_placed") in await _owed(sessionmaker)
    assert (old, "t_all") not in await _owed(sessionmaker)


async def test_replay_honours_a_subscribers_interest_as_the_relay_does(engine, subscriptions):
    sessionmaker = session_factory(engine)
    subscriptions.append(
        subscribe("*", _ignore, subscriber_id="t_sellers", interest="o.seller_id IS NOT NULL")
    )
    async with sessionmaker() as session, session.begin():
        await _event(session, "order_group.created", hours_ago=1)
        placed = await _event(session, "order.placed", hours_ago=1)
        await session.execute(
            text("UPDATE event_outbox SET seller_id = 'sel_1' WHERE id = :id"), {"id": placed}
        )
    done = await replay(sessionmaker, "2h")
    assert (done.events, done.deliveries) == (2, 1)
    assert await _owed(sessionmaker) == {(placed, "t_sellers")}


async def test_replay_refuses_an_unknown_subscriber_and_a_reversed_window(engine, subscriptions):
    sessionmaker = session_factory(engine)
    subscriptions.append(subscribe("*", _ignore, subscriber_id="t_all"))
    with pytest.raises(
        ReplayError, match="unknown subscriber 'search'; registered subscribers: t_all"
    ):
        await replay(sessionmaker, "1h", subscriber="search")
    with pytest.raises(ReplayError, match=r"--since \(.*\) is after --until"):
        await replay(sessionmaker, "1h", "2h")


async def test_replayed_deliveries_reach_the_subscriber_once(engine, subscriptions):
    """The worker runs what replay queued; a second replay finds it consumed."""
    sessionmaker = session_factory(engine)
    seen: list[str] = []

    async def record(event: Envelope, session: AsyncSession) -> None:
        seen.append(event.id)

    subscriptions.append(subscribe("order.placed", record, subscriber_id="t_late"))
    async with sessionmaker() as session, session.begin():
        first = await _event(session, "order.placed", hours_ago=1)
    assert (await replay(sessionmaker, "2h")).deliveries == 1
    worker = delivery.EventWorker(
        sessionmaker,
        parts=["subscribers"],
        listen=False,
        config=delivery.DeliveryConfig(poll_ms=20),
    )
    await worker.start()
    try:
        for _ in range(250):
            if seen and not await _owed(sessionmaker):
                break
            await asyncio.sleep(0.02)
    finally:
        await worker.stop()
    assert seen == [first]
    assert (await replay(sessionmaker, "2h")).deliveries == 0


@pytest.mark.slow  # runs mercato processes
async def test_the_command_queues_for_the_built_in_subscribers(engine, database_url):
    sessionmaker = session_factory(engine)
    async with sessionmaker() as session, session.begin():
        placed = await _event(session, "order.placed", hours_ago=1)
    env = mercato_env(DATABASE_URL=database_url, MERCATO_ENABLE_WEBHOOKS="1")

    # No endpoint could want it: the relay would have written no webhooks delivery; nor does
    # the replay.
    code, out, err = await _mercato("events", "replay", "--since", "2h", env=env)
    assert code == 0, err
    assert out.startswith("Queued 0 deliveries of 1 relayed event from ")
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO webhook (id, url, events, is_active, secret_ciphertext, secret_hint)"
                " VALUES ('whe_1', 'https://hooks.example.com/x', ARRAY['order.placed'], true,"
                " 'x', 'whsec_…x')"
            )
        )

    code, _, err = await _mercato("events", "replay", "--since", "2h", "--subscriber", "x", env=env)
    assert code == 1
    assert "error: unknown subscriber 'x'; registered subscribers: webhooks" in err

    code, out, err = await _mercato("events", "replay", "--since", "2h", env=env)
    assert code == 0, err
    assert out.startswith("Queued 1 delivery of 1 relayed event from ")
    assert out.endswith("(subscribers: webhooks).\n")
    assert await _owed(sessionmaker) == {(placed, "webhooks")}


async def _mercato(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *MERCATO, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()

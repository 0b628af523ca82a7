"""Durable delivery (events-and-scale-out.md, PostgreSQL transport): the relay, leases, retries
with backoff, dead letters and consumption records, against PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import subscribers
from mercato.db.engine import session_factory
from mercato.domain.events import ORDER_PLACED, ORDER_UPDATED
from mercato.events import delivery
from mercato.events.delivery import DeliveryConfig, Envelope, EventWorker
from mercato.events.models import EventConsumption, EventDeadLetter, EventDelivery, OutboxEvent
from mercato.events.service import emit_all, subscribe
from mercato.unit_of_work import UnitOfWork
from tests.api.event_helpers import count_rows, wait_for

FAST = DeliveryConfig(lease_s=10, poll_ms=20, retry_base_ms=50, retry_max_ms=200, max_attempts=3)


@pytest.fixture
def subscriptions() -> Iterator[list]:
    """Durable subscriptions made by the test, removed after it."""
    made: list = []
    subscribers.load()  # registered before suspending: an app created later imports nothing new
    with delivery.suspended("webhooks"):  # only the test's own subscribers deliver
        yield made
    for unsubscribe in made:
        unsubscribe()


async def _outbox_rows(sessionmaker, names: list[str]) -> list[str]:
    """Outbox rows committed without the API's relay (as if its process died after commit)."""
    async with sessionmaker() as session, session.begin():
        return await emit_all(
            session, [(name, {"id": f"r_{i}"}, None) for i, name in enumerate(names)]
        )


async def _ignore(event: Envelope, session: AsyncSession) -> None:
    return None


def test_backoff_doubles_from_the_base_up_to_the_cap_with_jitter():
    config = DeliveryConfig(retry_base_ms=1000, retry_max_ms=300_000)
    for attempts, expected in [(1, 1000), (2, 2000), (5, 16_000), (9, 256_000), (10, 300_000)]:
        waits = [config.backoff_ms(attempts) for _ in range(200)]
        assert all(0.8 * expected <= w <= 1.2 * expected for w in waits)
        assert max(waits) - min(waits) > 0.1 * expected  # jittered, not constant


async def test_two_concurrent_relays_never_relay_a_row_twice(engine, subscriptions):
    sessionmaker = session_factory(engine)
    subscriptions.append(subscribe("*", _ignore, subscriber_id="t_all"))
    subscriptions.append(subscribe(ORDER_UPDATED, _ignore, subscriber_id="t_updated"))
    names = [ORDER_UPDATED if i % 3 == 0 else ORDER_PLACED for i in range(1300)]
    await _outbox_rows(sessionmaker, names)

    async def relay() -> int:
        total = 0
        while relayed := await delivery.relay_batch(sessionmaker, limit=100):
            total += relayed
        return total

    counts = await asyncio.gather(relay(), relay())
    assert sum(counts) == len(names) and all(counts)  # both worked, no row twice
    assert await count_rows(sessionmaker, OutboxEvent, OutboxEvent.dispatched_at.is_(None)) == 0
    assert (
        await count_rows(sessionmaker, EventDelivery, EventDelivery.subscriber == "t_all") == 1300
    )
    updated = names.count(ORDER_UPDATED)
    assert await count_rows(
        sessionmaker, EventDelivery, EventDelivery.subscriber == "t_updated"
    ) == (updated)


async def test_the_committing_process_relays_its_events_to_durable_subscribers(
    engine, subscriptions
):
    sessionmaker = session_factory(engine)
    subscriptions.append(subscribe([ORDER_PLACED], _ignore, subscriber_id="t_placed"))
    uow = UnitOfWork(sessionmaker)
    async with uow:
        uow.emit(ORDER_PLACED, {"id": "order_1"}, seller_id="sel_1")
        uow.emit(ORDER_UPDATED, {"id": "order_1"})
        placed, _ = await uow.commit()
    async with sessionmaker() as session:
        rows = (
            await session.execute(select(EventDelivery.event_id, EventDelivery.subscriber))
        ).all()
        stamped = await session.scalar(
            select(func.count()).where(OutboxEvent.dispatched_at.is_not(None))
        )
    assert rows == [(placed, "t_placed")] and stamped == 2
    assert await delivery.relay_batch(sessionmaker) == 0  # nothing left behind


async def test_a_failing_subscriber_is_retried_with_backoff_then_dead_lettered(
    engine, subscriptions
):
    sessionmaker = session_factory(engine)
    calls: list[float] = []

    async def broken(event: Envelope, session: AsyncSession) -> None:
        calls.append(time.monotonic())
        raise RuntimeError(f"cannot handle {event.name}")

    subscriptions.append(subscribe(ORDER_PLACED, broken, subscriber_id="t_broken"))
    subscriptions.append(subscribe(ORDER_PLACED, _ignore, subscriber_id="t_fine"))
    worker = EventWorker(sessionmaker, config=FAST, concurrency=2)
    await worker.start()
    try:
        uow = UnitOfWork(sessionmaker)
        async with uow:
            uow.emit(ORDER_PLACED, {"id": "order_1"})
            (event_id,) = await uow.commit()

        async def dead() -> bool:
            return await count_rows(sessionmaker, EventDeadLetter) > 0

        await wait_for(dead)
    finally:
        await worker.stop()
    assert len(calls) == 3
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert gaps[0] >= 0.8 * 0.050 and gaps[1] >= 0.8 * 0.100  # base × 2ⁿ⁻¹, jittered
    async with sessionmaker() as session:
        letter = (await session.scalars(select(EventDeadLetter))).one()
        deliveries = (await session.execute(select(EventDelivery))).all()
        consumed = (
            await session.execute(select(EventConsumption.subscriber, EventConsumption.event_id))
        ).all()
    assert (letter.event_id, letter.event_name, letter.subscriber, letter.attempts) == (
        event_id,
        ORDER_PLACED,
        "t_broken",
        3,
    )
    assert letter.last_error == "RuntimeError: cannot handle order.placed"
    assert letter.id.startswith("evdl_") and letter.retried_at is None
    assert deliveries == []  # the dead one deleted, the fine one handled
    assert consumed == [("t_fine", event_id)]


async def test_a_failed_attempt_is_rescheduled_with_its_error(engine, subscriptions):
    sessionmaker = session_factory(engine)

    async def broken(event: Envelope, session: AsyncSession) -> None:
        raise ValueError("nope")

    subscriptions.append(subscribe("*", broken, subscriber_id="t_once"))
    (event_id,) = await _outbox_rows(sessionmaker, [ORDER_PLACED])
    await delivery.relay_batch(sessionmaker)
    config = DeliveryConfig(lease_s=10, retry_base_ms=60_000, retry_max_ms=60_000)
    (claimed,) = await delivery.claim(sessionmaker, ["t_once"], 5, config.lease_s)
    assert claimed.attempts == 1 and claimed.event.id == event_id
    assert not await delivery.handle(sessionmaker, claimed, config)
    async with sessionmaker() as session:
        row = (
            await session.execute(
                select(
                    EventDelivery.attempts,
                    EventDelivery.lease_until,
                    EventDelivery.last_error,
                    EventDelivery.next_attempt_at - func.now(),
                )
            )
        ).one()
    attempts, lease, error, wait = row
    assert (attempts, lease, error) == (1, None, "ValueError: nope")
    assert 47 <= wait.total_seconds() <= 73  # 60 s × uniform(0.8, 1.2), from PostgreSQL's now()
    assert await delivery.claim(sessionmaker, ["t_once"], 5, config.lease_s) == []


async def test_a_redelivered_event_takes_effect_once(engine, subscriptions):
    sessionmaker = session_factory(engine)
    runs: list[str] = []
    fail_after_writing = [True]

    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS t_effect (event_id text NOT NULL)"))
        await conn.execute(text("TRUNCATE t_effect"))

    async def effect(event: Envelope, session: AsyncSession) -> None:
        runs.append(event.id)
        await session.execute(text("INSERT INTO t_effect VALUES (:id)"), {"id": event.id})
        if fail_after_writing.pop() if fail_after_writing else False:
            raise RuntimeError("after writing")

    subscriptions.append(subscribe(ORDER_PLACED, effect, subscriber_id="t_effect"))
    try:
        (event_id,) = await _outbox_rows(sessionmaker, [ORDER_PLACED])
        await delivery.relay_batch(sessionmaker)
        config = DeliveryConfig(lease_s=10, retry_base_ms=0, retry_max_ms=0)

        async def attempt() -> bool:
            (claimed,) = await delivery.claim(sessionmaker, ["t_effect"], 1, config.lease_s)
            return await delivery.handle(sessionmaker, claimed, config)

        assert not await attempt()  # its write rolled back with the failure
        assert await attempt()
        # The same event delivered again (a relay that died after its insert, a lease that
        # expired under a slow handler): acknowledged without running the handler.
        async with sessionmaker() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO event_delivery (event_id, event_seq, subscriber)"
                    " SELECT id, seq, 't_effect' FROM event_outbox"
                )
            )
        assert await attempt()
        async with engine.connect() as conn:
            effects = (await conn.execute(text("SELECT event_id FROM t_effect"))).scalars().all()
        assert effects == [event_id]
        assert runs == [event_id, event_id]
        assert await count_rows(sessionmaker, EventDelivery) == 0
        assert await count_rows(sessionmaker, EventConsumption) == 1
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE t_effect"))


async def test_a_killed_consumers_rows_come_back_when_the_lease_expires(engine, subscriptions):
    sessionmaker = session_factory(engine)
    subscriptions.append(subscribe(ORDER_PLACED, _ignore, subscriber_id="t_lease"))
    await _outbox_rows(sessionmaker, [ORDER_PLACED, ORDER_PLACED])
    await delivery.relay_batch(sessionmaker)
    # A consumer claims both and dies without a word.
    assert len(await delivery.claim(sessionmaker, ["t_lease"], 10, 1.0)) == 2
    assert await delivery.claim(sessionmaker, ["t_lease"], 10, 1.0) == []
    await asyncio.sleep(1.1)
    again = await delivery.claim(sessionmaker, ["t_lease"], 10, 5.0)
    assert [c.attempts for c in again] == [2, 2]
    assert [c.event.seq for c in again] == sorted(c.event.seq for c in again)


async def test_a_stopping_worker_gives_back_its_leases(engine, subscriptions):
    sessionmaker = session_factory(engine)
    started = asyncio.Event()

    async def slow(event: Envelope, session: AsyncSession) -> None:
        started.set()
        await asyncio.sleep(30)

    subscriptions.append(subscribe(ORDER_PLACED, slow, subscriber_id="t_slow"))
    worker = EventWorker(sessionmaker, config=FAST)
    await worker.start()
    uow = UnitOfWork(sessionmaker)
    async with uow:
        uow.emit(ORDER_PLACED, {"id": "order_1"})
        await uow.commit()
    await asyncio.wait_for(started.wait(), 5)
    await worker.stop(grace_s=0.2)
    async with sessionmaker() as session:
        attempts, lease = (
            await session.execute(select(EventDelivery.attempts, EventDelivery.lease_until))
        ).one()
    assert (attempts, lease) == (0, None)  # claimable at once, the stopped run not counted


@pytest.fixture
def worker_mode(monkeypatch):
    """``set(mode, **env)``: settings as a process started with ``MERCATO_WORKER_MODE=mode``."""
    from mercato.settings import get_settings

    def set_mode(mode: str, **env: str) -> None:
        monkeypatch.setenv("MERCATO_WORKER_MODE", mode)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield set_mode
    monkeypatch.undo()
    get_settings.cache_clear()


async def test_server_mode_does_not_deliver_and_shared_mode_does_at_once(
    engine, subscriptions, worker_mode
):
    from mercato.http.app import create_app

    seen: list[str] = []

    async def record(event: Envelope, session: AsyncSession) -> None:
        seen.append(event.data["id"])

    subscriptions.append(subscribe(ORDER_PLACED, record, subscriber_id="t_mode"))

    async def place(app, order_id: str) -> None:
        uow = UnitOfWork(app.state.sessionmaker)
        async with uow:
            uow.emit(ORDER_PLACED, {"id": order_id})
            await uow.commit()

    worker_mode("server")
    app = create_app(engine=engine)
    async with app.router.lifespan_context(app):
        await place(app, "order_server")
        await asyncio.sleep(1.0)
        assert seen == []
    assert await count_rows(app.state.sessionmaker, EventDelivery) == 1  # relayed, not delivered

    # A poll far longer than the test: only the in-process wake-up can deliver in time.
    worker_mode("shared", MERCATO_EVENT_POLL_MS="60000")
    app = create_app(engine=engine)
    async with app.router.lifespan_context(app):

        async def delivered() -> bool:
            return "order_server" in seen

        await wait_for(delivered, 5)  # the backlog, at start
        started = time.monotonic()
        await place(app, "order_shared")

        async def both() -> bool:
            return "order_shared" in seen

        await wait_for(both, 2)
        assert time.monotonic() - started < 1.0
    assert sorted(seen) == ["order_server", "order_shared"]
    assert await count_rows(app.state.sessionmaker, EventDelivery) == 0


async def test_a_notify_wakes_a_worker_of_another_process(engine, subscriptions):
    sessionmaker = session_factory(engine)
    seen: list[str] = []

    async def record(event: Envelope, session: AsyncSession) -> None:
        seen.append(event.id)

    subscriptions.append(subscribe("*", record, subscriber_id="t_notify"))
    slow_poll = DeliveryConfig(lease_s=10, poll_ms=60_000)
    worker = EventWorker(sessionmaker, config=slow_poll)
    await worker.start()
    try:
        await asyncio.sleep(0.5)  # its first passes found nothing; it sleeps for a minute
        # As another process commits: no in-process wake-up here, only the notification.
        (event_id,) = await _outbox_rows(sessionmaker, [ORDER_UPDATED])
        async with engine.connect() as conn:
            await conn.execute(text("NOTIFY mercato_events"))
            await conn.commit()

        async def handled() -> bool:
            return seen == [event_id]

        await wait_for(handled, 3)
    finally:
        await worker.stop()


async def test_a_worker_heartbeat_registers_and_prunes_processes(engine):
    sessionmaker = session_factory(engine)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO mercato_process (id, kind, host, pid, pool_budget, heartbeat_at)"
                " VALUES ('proc_gone', 'worker', 'h', 1, 10, now() - interval '31 seconds')"
            )
        )
    worker = EventWorker(sessionmaker, config=FAST, pool_budget=7)
    await worker.start()
    try:
        await worker.heartbeat()
        async with sessionmaker() as session:
            rows = (
                await session.execute(
                    text("SELECT id, kind, pid, pool_budget, status FROM mercato_process")
                )
            ).all()
    finally:
        await worker.stop()

    assert len(rows) == 1
    process_id, kind, pid, budget, status = rows[0]
    assert (process_id, kind, pid, budget) == (worker.process_id, "worker", os.getpid(), 7)
    assert status["transport"] == "postgres"
    async with sessionmaker() as session:
        left = await session.scalar(text("SELECT count(*) FROM mercato_process"))
    assert left == 0  # a stopped worker leaves the list


async def test_notifications_are_sent_at_most_once_per_50_ms(engine, database_url):
    import asyncpg

    from mercato.db.engine import plain_url

    sessionmaker = session_factory(engine)
    heard: list[float] = []
    listener = await asyncpg.connect(plain_url(database_url))
    try:
        await listener.add_listener("mercato_events", lambda *_: heard.append(time.monotonic()))
        started = time.monotonic()
        while time.monotonic() - started < 0.5:  # a commit every 2 ms for half a second
            delivery.wake_after_commit(sessionmaker)
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.2)  # the trailing notification of the last burst
    finally:
        await listener.close()
    assert 5 <= len(heard) <= 12
    gaps = [b - a for a, b in zip(heard, heard[1:], strict=False)]
    assert min(gaps) >= 0.025  # 50 ms apart when sent, less the jitter of their arrival


async def test_a_handler_is_cancelled_after_half_the_lease(engine, subscriptions):
    sessionmaker = session_factory(engine)

    async def stuck(event: Envelope, session: AsyncSession) -> None:
        await asyncio.sleep(30)

    subscriptions.append(subscribe(ORDER_PLACED, stuck, subscriber_id="t_stuck"))
    await _outbox_rows(sessionmaker, [ORDER_PLACED])
    await delivery.relay_batch(sessionmaker)
    config = DeliveryConfig(lease_s=0.6, retry_base_ms=60_000, retry_max_ms=60_000)
    (claimed,) = await delivery.claim(sessionmaker, ["t_stuck"], 1, config.lease_s)
    started = time.monotonic()
    assert not await delivery.handle(sessionmaker, claimed, config)
    assert 0.25 <= time.monotonic() - started < 2
    async with sessionmaker() as session:
        error, lease = (
            await session.execute(select(EventDelivery.last_error, EventDelivery.lease_until))
        ).one()
    assert (error, lease) == ("TimeoutError: the handler ran longer than 0.3s", None)
    assert await count_rows(sessionmaker, EventConsumption) == 0  # rolled back with the handler

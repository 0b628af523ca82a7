"""The Redis Streams event transport (events-and-scale-out.md): the relay's XADD, consumer groups,
deduplication by consumption record, retries through PostgreSQL, crash recovery, dead letters,
trimming and the status the workers report — against PostgreSQL and the machine's Redis, with a
random key prefix per test (skipped, with the reason printed, only if Redis does not answer)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import subscribers
from mercato.db.engine import session_factory
from mercato.domain.events import ORDER_PLACED, ORDER_UPDATED
from mercato.events import delivery
from mercato.events.delivery import DeliveryConfig, Envelope, EventWorker
from mercato.events.models import (
    EventConsumption,
    EventDeadLetter,
    EventDelivery,
    MercatoProcess,
    OutboxEvent,
)
from mercato.events.redis_transport import RedisTransport, entry_fields
from mercato.events.service import emit_all, subscribe
from mercato.settings import get_settings
from mercato.unit_of_work import UnitOfWork
from tests.api.event_helpers import count_rows, wait_for
from tests.api.helpers import ok

REDIS_URL = os.environ.get("MERCATO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FAST = DeliveryConfig(lease_s=10, poll_ms=20, retry_base_ms=50, retry_max_ms=200, max_attempts=3)


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of the test's own; its keys are deleted after it."""
    client = Redis.from_url(REDIS_URL, decode_responses=True, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        reason = f"Redis at {REDIS_URL} does not answer ({type(exc).__name__}: {exc})"
        print(f"\nskipped: {reason}")
        pytest.skip(reason)
    prefix = f"mercato-test-{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
def subscriptions() -> Iterator[list]:
    """Durable subscriptions made by the test, removed after it."""
    made: list = []
    subscribers.load()
    with delivery.suspended("webhooks"):  # only the test's own subscribers deliver
        yield made
    for unsubscribe in made:
        unsubscribe()


@pytest.fixture
async def transport(engine, redis_prefix) -> AsyncIterator[RedisTransport]:
    made = RedisTransport(REDIS_URL, redis_prefix, session_factory(engine), FAST, consumer="t:1")
    yield made
    await made.close()


@pytest.fixture
def redis_settings(monkeypatch, redis_prefix) -> Iterator[None]:
    """``REDIS_URL`` and the test's prefix in the settings, as a deployment sets them."""
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("MERCATO_REDIS_PREFIX", redis_prefix)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


async def _outbox_rows(sessionmaker, names: list[str]) -> list[str]:
    """Outbox rows committed and left undispatched (what the API leaves with Redis)."""
    async with sessionmaker() as session, session.begin():
        return await emit_all(
            session,
            [(name, {"id": f"r_{i}"}, "sel_1" if i else None) for i, name in enumerate(names)],
        )


async def _pending(transport: RedisTransport, group: str) -> int:
    return int((await transport.client.xpending(transport.key, group))["pending"])


async def _ignore(event: Envelope, session: AsyncSession) -> None:
    return None


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_relay_xadds_undispatched_rows_in_seq_order_and_stamps_them(
    engine, transport, subscriptions
):
    sessionmaker = session_factory(engine)
    subscriptions.append(subscribe(ORDER_PLACED, _ignore, subscriber_id="t_placed"))
    await transport.ensure_groups(["t_placed"])
    await transport.ensure_groups(["t_placed"])  # BUSYGROUP is fine
    ids = await _outbox_rows(sessionmaker, [ORDER_PLACED, ORDER_UPDATED, ORDER_PLACED])
    assert await transport.relay_batch() == 3
    assert await transport.relay_batch() == 0
    entries = await transport.client.xrange(transport.key)
    async with sessionmaker() as session:
        rows = (await session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq))).all()
    assert [fields for _, fields in entries] == [
        entry_fields(Envelope(r.id, r.seq, r.name, r.data, r.seller_id, r.created_at)) for r in rows
    ]
    assert [fields["id"] for _, fields in entries] == ids
    assert entries[0][1]["seller_id"] == "" and entries[1][1]["seller_id"] == "sel_1"
    assert all(r.dispatched_at is not None for r in rows)
    assert await count_rows(sessionmaker, EventDelivery) == 0  # deliveries go through the stream


async def test_a_durable_subscriber_handles_each_event_once_even_when_delivered_twice(
    engine, transport, subscriptions
):
    sessionmaker = session_factory(engine)
    runs: list[str] = []

    async def record(event: Envelope, session: AsyncSession) -> None:
        runs.append(event.id)

    subscriptions.append(subscribe(ORDER_PLACED, record, subscriber_id="t_once"))
    await transport.ensure_groups(["t_once"])
    first, _, third = await _outbox_rows(sessionmaker, [ORDER_PLACED, ORDER_UPDATED, ORDER_PLACED])
    await transport.relay_batch()
    assert await transport.consume_once("t_once", block_ms=100) == 3
    assert runs == [first, third]  # order.updated is acknowledged unheard
    assert await _pending(transport, "t_once") == 0
    # The same entry again (a relay whose commit failed after XADD): dropped by event id.
    (entry,) = await transport.client.xrange(transport.key, count=1)
    await transport.client.xadd(transport.key, entry[1])
    assert await transport.consume_once("t_once", block_ms=100) == 1
    assert runs == [first, third]
    assert await _pending(transport, "t_once") == 0
    assert await count_rows(sessionmaker, EventConsumption) == 2
    assert await count_rows(sessionmaker, EventDelivery) == 0


async def test_a_subscriber_with_an_interest_handles_only_the_events_it_wants(
    engine, transport, subscriptions
):
    sessionmaker = session_factory(engine)
    runs: list[str] = []

    async def record(event: Envelope, session: AsyncSession) -> None:
        runs.append(event.id)

    interest = "o.seller_id = 'sel_1'"
    subscriptions.append(subscribe("*", record, subscriber_id="t_picky", interest=interest))
    await transport.ensure_groups(["t_picky"])
    _, wanted = await _outbox_rows(sessionmaker, [ORDER_PLACED, ORDER_PLACED])  # None, sel_1
    await transport.relay_batch()
    assert await transport.consume_once("t_picky", block_ms=100) == 2
    assert runs == [wanted]
    assert await _pending(transport, "t_picky") == 0
    assert await count_rows(sessionmaker, EventConsumption) == 1


async def test_a_failure_becomes_a_retry_row_that_the_postgres_claim_loop_finishes(
    engine, transport, subscriptions
):
    sessionmaker = session_factory(engine)
    calls: list[str] = []

    async def flaky(event: Envelope, session: AsyncSession) -> None:
        calls.append(event.id)
        if len(calls) == 1:
            raise RuntimeError("the search index is down")

    subscriptions.append(subscribe(ORDER_PLACED, flaky, subscriber_id="t_flaky"))
    await transport.ensure_groups(["t_flaky"])
    (event_id,) = await _outbox_rows(sessionmaker, [ORDER_PLACED])
    await transport.relay_batch()
    assert await transport.consume_once("t_flaky", block_ms=100) == 1
    assert await _pending(transport, "t_flaky") == 0  # acknowledged: PostgreSQL owns it now
    async with sessionmaker() as session:
        row = (
            await session.execute(
                select(
                    EventDelivery.event_id,
                    EventDelivery.subscriber,
                    EventDelivery.attempts,
                    EventDelivery.lease_until,
                    EventDelivery.last_error,
                    EventDelivery.next_attempt_at - EventDelivery.created_at,
                )
            )
        ).one()
    assert row[:5] == (event_id, "t_flaky", 1, None, "RuntimeError: the search index is down")
    assert 0.04 <= row[5].total_seconds() <= 0.06  # backoff(1) = 50 ms × U(0.8, 1.2)
    await asyncio.sleep(0.1)
    (claimed,) = await delivery.claim(sessionmaker, ["t_flaky"], 5, FAST.lease_s)
    assert claimed.attempts == 2 and claimed.event.id == event_id
    assert await delivery.handle(sessionmaker, claimed, FAST)
    assert calls == [event_id, event_id]
    assert await count_rows(sessionmaker, EventDelivery) == 0
    assert await count_rows(sessionmaker, EventConsumption) == 1


async def test_an_entry_whose_consumer_died_mid_handler_is_claimed_after_the_lease(
    engine, transport, redis_prefix, subscriptions
):
    sessionmaker = session_factory(engine)
    short = DeliveryConfig(lease_s=0.3, retry_base_ms=50, retry_max_ms=200, max_attempts=3)
    transport.config = short
    runs: list[str] = []

    async def record(event: Envelope, session: AsyncSession) -> None:
        runs.append(event.id)

    subscriptions.append(subscribe(ORDER_PLACED, record, subscriber_id="t_crash"))
    await transport.ensure_groups(["t_crash"])
    (event_id,) = await _outbox_rows(sessionmaker, [ORDER_PLACED])
    await transport.relay_batch()
    dead = RedisTransport(REDIS_URL, redis_prefix, sessionmaker, short, consumer="dead:1")
    try:
        assert len(await dead.read("t_crash", block_ms=100)) == 1  # read, never acknowledged
    finally:
        await dead.close()
    assert await transport.recover("t_crash") == 0  # idle for less than the lease
    assert runs == []
    await asyncio.sleep(0.35)
    assert await transport.recover("t_crash") == 1
    assert runs == [event_id]
    assert await _pending(transport, "t_crash") == 0
    assert await count_rows(sessionmaker, EventConsumption) == 1


async def test_a_poison_entry_is_dead_lettered_after_max_attempts_deliveries(
    engine, transport, subscriptions
):
    sessionmaker = session_factory(engine)
    short = DeliveryConfig(lease_s=0.2, retry_base_ms=50, retry_max_ms=200, max_attempts=3)
    transport.config = short
    runs: list[str] = []

    async def record(event: Envelope, session: AsyncSession) -> None:
        runs.append(event.id)

    subscriptions.append(subscribe(ORDER_PLACED, record, subscriber_id="t_poison"))
    await transport.ensure_groups(["t_poison"])
    (event_id,) = await _outbox_rows(sessionmaker, [ORDER_PLACED])
    await transport.relay_batch()
    client, key = transport.client, transport.key
    # Three consumers in turn took it and died (the delivery count is 3).
    read = await client.xreadgroup("t_poison", "dead:1", {key: ">"}, count=1)
    entry_id = read[0][1][0][0]
    for dead in ("dead:2", "dead:3"):
        await client.xclaim(key, "t_poison", dead, 0, [entry_id])
    await asyncio.sleep(0.25)
    assert await transport.recover("t_poison") == 1
    assert runs == []  # not run a fourth time
    assert await _pending(transport, "t_poison") == 0
    async with sessionmaker() as session:
        letter = (await session.scalars(select(EventDeadLetter))).one()
    assert (letter.event_id, letter.event_name, letter.subscriber, letter.attempts) == (
        event_id,
        ORDER_PLACED,
        "t_poison",
        3,
    )
    assert letter.id.startswith("evdl_") and "delivered 3 times" in (letter.last_error or "")


async def test_trimming_never_removes_an_entry_a_group_still_needs(
    engine, transport, subscriptions
):
    sessionmaker = session_factory(engine)
    subscriptions.append(subscribe("*", _ignore, subscriber_id="t_fast"))
    subscriptions.append(subscribe("*", _ignore, subscriber_id="t_slow"))
    assert await transport.trim() == 0  # no stream yet
    await transport.ensure_groups(["t_fast", "t_slow"])
    await _outbox_rows(sessionmaker, [ORDER_PLACED] * 5)
    await transport.relay_batch()
    ids = [entry_id for entry_id, _ in await transport.client.xrange(transport.key)]
    assert await transport.consume_once("t_fast", block_ms=100) == 5
    # The slow group read three and settled only the 2nd and 3rd: the 1st is still pending.
    slow = await transport.read("t_slow", count=3, block_ms=100)
    await transport.client.xack(transport.key, "t_slow", ids[1], ids[2])
    assert await transport.trim() == 0
    assert await transport.client.xlen(transport.key) == 5
    await transport.process("t_slow", slow[:1])
    # Nothing pending: the slow group needs what follows its last delivered entry, the 3rd.
    assert await transport.trim() == 2
    assert [i for i, _ in await transport.client.xrange(transport.key)] == ids[2:]
    assert await transport.consume_once("t_slow", block_ms=100) == 2  # the 4th and 5th
    assert await transport.trim() == 2
    assert [i for i, _ in await transport.client.xrange(transport.key)] == ids[4:]


async def test_without_groups_trimming_keeps_only_the_newest_entry(transport):
    for i in range(3):
        await transport.client.xadd(transport.key, {"id": f"evt_{i}"})
    newest = (await transport.client.xrevrange(transport.key, count=1))[0][0]
    assert await transport.trim() == 2
    assert [i for i, _ in await transport.client.xrange(transport.key)] == [newest]
    # A group made now reads from the next entry on: nothing it needs was trimmed.
    await transport.ensure_groups(["t_late"])
    await transport.client.xadd(transport.key, {"id": "evt_3"})
    assert await transport.trim() == 0
    assert len(await transport.read("t_late", block_ms=100)) == 1


async def test_with_redis_unreachable_the_relay_rolls_back(engine, transport, subscriptions):
    sessionmaker = session_factory(engine)
    subscriptions.append(subscribe(ORDER_PLACED, _ignore, subscriber_id="t_down"))
    await transport.ensure_groups(["t_down"])
    await _outbox_rows(sessionmaker, [ORDER_PLACED, ORDER_PLACED])
    down = RedisTransport(
        f"redis://127.0.0.1:{_closed_port()}/0", "x:", sessionmaker, FAST, consumer="t:2"
    )
    try:
        with pytest.raises(Exception, match="(?i)connect"):
            await down.relay_batch()
    finally:
        await down.close()
    undispatched = OutboxEvent.dispatched_at.is_(None)
    assert await count_rows(sessionmaker, OutboxEvent, undispatched) == 2  # rolled back, unlocked
    assert await transport.relay_batch() == 2  # Redis is back: drained in seq order
    assert await count_rows(sessionmaker, OutboxEvent, undispatched) == 0


async def test_a_redis_worker_delivers_what_the_api_committed_and_left_undispatched(
    engine, redis_settings, subscriptions
):
    sessionmaker = session_factory(engine)
    calls: list[str] = []

    async def flaky(event: Envelope, session: AsyncSession) -> None:
        calls.append(event.id)
        if len(calls) == 1:
            raise RuntimeError("first attempt fails")

    subscriptions.append(subscribe(ORDER_PLACED, flaky, subscriber_id="t_e2e"))
    # The committing process neither stamps nor relays with Redis configured.
    uow = UnitOfWork(sessionmaker)
    async with uow:
        uow.emit(ORDER_PLACED, {"id": "order_1"})
        (early,) = await uow.commit()
    assert await count_rows(sessionmaker, OutboxEvent, OutboxEvent.dispatched_at.is_(None)) == 1
    assert await count_rows(sessionmaker, EventDelivery) == 0
    worker = EventWorker(sessionmaker, config=FAST, concurrency=2, listen=False)
    await worker.start()
    try:
        assert (
            worker.redis is not None and worker.redis.key == f"{get_settings().redis_prefix}events"
        )
        uow = UnitOfWork(sessionmaker)
        async with uow:
            uow.emit(ORDER_PLACED, {"id": "order_2"})
            (late,) = await uow.commit()

        async def consumed() -> bool:
            return await count_rows(sessionmaker, EventConsumption) == 2

        await wait_for(consumed)
    finally:
        await worker.stop()
    # The early event was committed before the group existed, but it was still in the outbox:
    # the relay created the groups before its first pass.
    assert sorted(set(calls)) == sorted([early, late]) and len(calls) == 3
    assert await count_rows(sessionmaker, EventDelivery) == 0
    assert await count_rows(sessionmaker, OutboxEvent, OutboxEvent.dispatched_at.is_(None)) == 0


async def test_status_shows_the_redis_transport_and_groups_a_worker_reported(
    client, app, admin_headers, transport, subscriptions
):
    subscriptions.append(subscribe(ORDER_PLACED, _ignore, subscriber_id="t_status"))
    # A group lagging behind an entry older than the retention is stalled.
    await transport.client.xgroup_create(transport.key, "t_stalled", id="0", mkstream=True)
    await transport.client.xadd(transport.key, {"id": "evt_old"}, id="1000-0")
    worker = EventWorker(app.state.sessionmaker, config=FAST, listen=False)
    worker.redis = transport
    before = ok(await client.get("/admin/events/status", headers=admin_headers))
    assert before["transport"] == "postgres" and "groups" not in before
    await worker.start()
    try:

        async def grouped() -> bool:
            return len(await transport.client.xinfo_groups(transport.key)) == 2

        await wait_for(grouped)
        await transport.refresh_status()
        await worker.heartbeat()
        status = ok(await client.get("/admin/events/status", headers=admin_headers))
    finally:
        worker.redis = None  # the fixture closes its client
        await worker.stop()
        await transport.stop(1)
    assert status["transport"] == "redis"
    assert sorted(status["groups"], key=lambda g: g["subscriber"]) == [
        {"subscriber": "t_stalled", "lag": 1, "pending": 0, "stalled": True},
        {"subscriber": "t_status", "lag": 0, "pending": 0, "stalled": False},
    ]
    (process,) = status["processes"]
    assert process["status"]["transport"] == "redis"
    assert process["status"]["groups"] == status["groups"]


async def test_a_worker_without_redis_keeps_events_pending_and_stops_promptly(
    engine, subscriptions
):
    sessionmaker = session_factory(engine)
    subscriptions.append(subscribe(ORDER_PLACED, _ignore, subscriber_id="t_offline"))
    await _outbox_rows(sessionmaker, [ORDER_PLACED])
    down = RedisTransport(
        f"redis://127.0.0.1:{_closed_port()}/0", "x:", sessionmaker, FAST, consumer="t:3"
    )
    worker = EventWorker(sessionmaker, config=FAST, listen=False)
    worker.redis = down
    await worker.start()
    try:

        async def failing() -> bool:
            return down.error is not None

        await wait_for(failing)
        await asyncio.sleep(0.2)
        await worker.heartbeat()
        async with sessionmaker() as session:
            reported = await session.scalar(
                select(MercatoProcess.status).where(MercatoProcess.id == worker.process_id)
            )
    finally:
        started = time.monotonic()
        await worker.stop()
        stopping = time.monotonic() - started
    assert stopping < 3  # consumers backing off do not hold the stop for the grace period
    assert await count_rows(sessionmaker, OutboxEvent, OutboxEvent.dispatched_at.is_(None)) == 1
    assert reported["transport"] == "redis" and reported["groups"] == []
    assert "onnect" in reported["redis_error"]  # ConnectionError: … connecting to …

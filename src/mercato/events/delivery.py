"""Durable delivery of outbox events to subscribers (events-and-scale-out.md, PostgreSQL transport).

A *durable subscriber* is registered in code with a stable id::

    from mercato.events.service import subscribe

    async def on_placed(event: Envelope, session: AsyncSession) -> None:
        ...  # database writes through ``session`` take effect exactly once

    subscribe(["order.placed", "order.canceled"], on_placed, subscriber_id="search")
    subscribe("*", on_any, subscriber_id="webhooks")  # every event

Its handler runs in a worker (the API process itself in ``shared`` mode, ``mercato worker``
otherwise) inside a transaction that first records ``event_consumption(subscriber, event_id)``:
a redelivered event finds the record and is acknowledged without running the handler again.
A handler with an external effect passes ``event.id`` as that call's idempotency key.

The pieces, all coordinated through PostgreSQL (row locks, ``SKIP LOCKED`` claims, leases):

* the **relay** turns undispatched outbox rows into one ``event_delivery`` row per subscriber
  of the event's name and stamps ``dispatched_at`` (the API does this for its own events right
  after the commit; :func:`relay_batch` catches anything left behind);
* **consumers** claim due deliveries with a lease, run the handler (cancelled after half the
  lease), delete the delivery on success, reschedule it with backoff on failure, and move it to
  ``event_dead_letter`` after the last attempt;
* a **wake-up**: the committing process pokes its own worker in-process and sends a throttled
  ``NOTIFY mercato_events`` for other processes, which also poll.

Subscribers are module-level registrations, so every process of a release must import the same
modules: built-in ones are imported by :func:`mercato.subscribers.load`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mercato.db.base import new_id
from mercato.events import retention
from mercato.settings import Settings, get_settings

if TYPE_CHECKING:
    from mercato.events.redis_transport import RedisTransport

log = logging.getLogger("mercato.events")

CHANNEL = "mercato_events"
RELAY_BATCH = 500
NOTIFY_EVERY_S = 0.05
HEARTBEAT_EVERY_S = 10.0
PROCESS_SILENT_AFTER_S = 30
STOP_GRACE_S = 30.0


@dataclass(frozen=True, slots=True)
class Envelope:
    """What a durable subscriber receives: the outbox row, thin (ids only in ``data``)."""

    id: str
    seq: int
    name: str
    data: dict[str, Any]
    seller_id: str | None
    occurred_at: datetime


DurableHandler = Callable[[Envelope, AsyncSession], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A durable subscriber: ``names`` None means every event (``"*"``). ``interest``, when
    given, is an SQL condition on the outbox row ``o`` (``o.name``, ``o.seller_id``) that the
    relay checks in its own statement: an event it is false for gets no delivery at all."""

    id: str
    names: frozenset[str] | None
    handler: DurableHandler
    interest: str | None = None

    def hears(self, name: str) -> bool:
        return self.names is None or name in self.names


_registry: dict[str, Subscriber] = {}


def register(
    names: str | Iterable[str],
    handler: DurableHandler,
    subscriber_id: str,
    interest: str | None = None,
) -> Callable[[], None]:
    """Register a durable subscriber (see :func:`mercato.events.service.subscribe`)."""
    if not subscriber_id:
        raise ValueError("a durable subscriber needs a subscriber_id")
    if subscriber_id in _registry:
        raise ValueError(f"subscriber {subscriber_id!r} is already registered")
    wanted = [names] if isinstance(names, str) else list(names)
    subscriber = Subscriber(
        subscriber_id, None if "*" in wanted else frozenset(wanted), handler, interest
    )
    _registry[subscriber_id] = subscriber

    def unregister() -> None:
        if _registry.get(subscriber_id) is subscriber:
            del _registry[subscriber_id]

    return unregister


@contextmanager
def suspended(*subscriber_ids: str) -> Iterator[None]:
    """Leave these registered subscribers out while the block runs (tests that count deliveries
    of their own subscribers only)."""
    kept = {sid: _registry.pop(sid) for sid in subscriber_ids if sid in _registry}
    try:
        yield
    finally:
        _registry.update(kept)


def subscribers() -> list[Subscriber]:
    return list(_registry.values())


def has_subscribers() -> bool:
    return bool(_registry)


def _set(event: asyncio.Event, *_: Any) -> None:
    event.set()


def _fan_out(source: str) -> tuple[Any, dict[str, Any]]:
    """The statement that writes one ``event_delivery`` per registered subscriber of each row
    of ``source`` (a relation ``o`` with ``id, seq, name, seller_id``) whose names and interest
    match, and its parameters; ``source`` may be a CTE the statement is prefixed with."""
    branches: list[str] = []
    params: dict[str, Any] = {}
    for index, subscriber in enumerate(_registry.values()):
        conditions = []
        params[f"sub_{index}"] = subscriber.id
        if subscriber.names is not None:
            params[f"names_{index}"] = sorted(subscriber.names)
            conditions.append(f"o.name = ANY(CAST(:names_{index} AS text[]))")
        if subscriber.interest is not None:
            conditions.append(f"({subscriber.interest})")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        branches.append(f"SELECT o.id, o.seq, CAST(:sub_{index} AS text) FROM o{where}")
    statement = (
        f"WITH o AS ({source}) INSERT INTO event_delivery (event_id, event_seq, subscriber) "
        + " UNION ALL ".join(branches)
        + " ON CONFLICT DO NOTHING"
    )
    return text(statement), params


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class DeliveryConfig:
    """Leases, polling and retries (``MERCATO_LEASE_S``, ``MERCATO_EVENT_*``)."""

    lease_s: float = 60
    poll_ms: int = 500
    retry_base_ms: int = 1000
    retry_max_ms: int = 300_000
    max_attempts: int = 10

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> DeliveryConfig:
        s = settings or get_settings()
        return cls(
            lease_s=s.lease_s,
            poll_ms=s.event_poll_ms,
            retry_base_ms=s.event_retry_base_ms,
            retry_max_ms=s.event_retry_max_ms,
            max_attempts=s.event_max_attempts,
        )

    @property
    def handler_timeout_s(self) -> float:
        return self.lease_s / 2

    def backoff_ms(self, attempts: int) -> float:
        """The wait after the ``attempts``-th failure: ``min(base × 2ⁿ⁻¹, cap) × U(0.8, 1.2)``."""
        exponent = min(max(attempts - 1, 0), 40)
        return min(self.retry_base_ms * 2**exponent, self.retry_max_ms) * random.uniform(0.8, 1.2)


# ----------------------------------------------------------------------------- relay

_CLAIM_OUTBOX = text(
    "SELECT id FROM event_outbox WHERE dispatched_at IS NULL"
    " ORDER BY seq LIMIT :n FOR UPDATE SKIP LOCKED"
)
_STAMP_OUTBOX = text("UPDATE event_outbox SET dispatched_at = now() WHERE id = ANY(:ids)")
# The rows a relay pass holds (locked by its claim), as the fan-out's source.
_CLAIMED = "SELECT id, seq, name, seller_id FROM event_outbox WHERE id = ANY(:ids)"
# The API's relay of the events it just committed: stamp and fan out in one statement. A row
# another relay holds is waited for, then skipped (no longer undispatched).
_STAMPED = (
    "UPDATE event_outbox SET dispatched_at = now()"
    " WHERE id = ANY(:ids) AND dispatched_at IS NULL RETURNING id, seq, name, seller_id"
)


async def relay_batch(
    sessionmaker: async_sessionmaker[AsyncSession], *, limit: int = RELAY_BATCH
) -> int:
    """One relay pass over the oldest undispatched rows; how many it relayed. Any number of
    relays may run at once: rows another holds are skipped, and return if it dies."""
    async with sessionmaker() as session, session.begin():
        ids = list((await session.scalars(_CLAIM_OUTBOX, {"n": limit})).all())
        if not ids:
            return 0
        if _registry:
            statement, params = _fan_out(_CLAIMED)
            await session.execute(statement, {**params, "ids": ids})
        await session.execute(_STAMP_OUTBOX, {"ids": ids})
    return len(ids)


async def relay_ids(session: AsyncSession, ids: list[str]) -> None:
    """Relay the given (just committed) events in the caller's transaction."""
    statement, params = _fan_out(_STAMPED)
    await session.execute(statement, {**params, "ids": ids})


# ----------------------------------------------------------------------------- wake-ups

_local_wakers: set[Callable[[], None]] = set()


class _Notifier:
    """``NOTIFY mercato_events`` at most once per 50 ms per process, on a pooled connection
    outside any business transaction (a NOTIFY inside it would serialize committing checkouts
    on PostgreSQL's notification lock). A poke within the window is folded into one trailing
    notification, so none is lost; and a lost one only delays delivery by a poll."""

    def __init__(self) -> None:
        self.last = 0.0
        self.pending: asyncio.Task[None] | None = None

    def poke(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        loop = asyncio.get_running_loop()
        pending = self.pending
        if pending is not None and not pending.done() and pending.get_loop() is loop:
            return
        delay = max(0.0, self.last + NOTIFY_EVERY_S - time.monotonic())
        self.pending = loop.create_task(self._send(sessionmaker, delay))

    async def _send(self, sessionmaker: async_sessionmaker[AsyncSession], delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        self.last = time.monotonic()
        try:
            async with sessionmaker() as session:
                await session.execute(text(f"NOTIFY {CHANNEL}"))
                await session.commit()
        except Exception:
            log.warning("NOTIFY %s failed; workers find the events at their next poll", CHANNEL)


_notifier = _Notifier()


def wake_after_commit(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Committed events are waiting: wake this process's worker now, the others by NOTIFY."""
    for wake in list(_local_wakers):
        wake()
    _notifier.poke(sessionmaker)


# ----------------------------------------------------------------------------- consumers

_CLAIM_DELIVERIES = text(
    "WITH due AS ("
    " SELECT event_id, subscriber FROM event_delivery"
    " WHERE subscriber = ANY(:mine) AND next_attempt_at <= now()"
    " AND (lease_until IS NULL OR lease_until < now())"
    " ORDER BY next_attempt_at, event_seq LIMIT :n FOR UPDATE SKIP LOCKED)"
    " UPDATE event_delivery d"
    " SET lease_until = now() + make_interval(secs => :lease), attempts = d.attempts + 1"
    " FROM due, event_outbox o"
    " WHERE d.event_id = due.event_id AND d.subscriber = due.subscriber AND o.id = d.event_id"
    " RETURNING d.event_id, d.subscriber, d.attempts, o.seq, o.name, o.data, o.seller_id,"
    " o.created_at"
)
_CONSUME = text(
    "INSERT INTO event_consumption (subscriber, event_id) VALUES (:subscriber, :event_id)"
    " ON CONFLICT DO NOTHING RETURNING 1"
)
_DONE = text("DELETE FROM event_delivery WHERE event_id = :event_id AND subscriber = :subscriber")
_RESCHEDULE = text(
    "UPDATE event_delivery SET lease_until = NULL,"
    " next_attempt_at = now() + make_interval(secs => :delay), last_error = :error"
    " WHERE event_id = :event_id AND subscriber = :subscriber AND attempts = :attempts"
)
_GIVE_UP = text(
    "WITH gone AS (DELETE FROM event_delivery"
    " WHERE event_id = :event_id AND subscriber = :subscriber AND attempts = :attempts"
    " RETURNING event_id, subscriber, attempts)"
    " INSERT INTO event_dead_letter (id, event_id, event_name, subscriber, attempts, last_error)"
    " SELECT :id, g.event_id, :name, g.subscriber, g.attempts, :error FROM gone g"
)
_RELEASE = text(
    "UPDATE event_delivery SET lease_until = NULL, attempts = attempts - 1"
    " WHERE event_id = :event_id AND subscriber = :subscriber AND attempts = :attempts"
)


@dataclass(frozen=True, slots=True)
class Claim:
    event: Envelope
    subscriber: str
    attempts: int

    @property
    def key(self) -> dict[str, Any]:
        return {"event_id": self.event.id, "subscriber": self.subscriber}


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    mine: list[str],
    n: int,
    lease_s: float,
) -> list[Claim]:
    """Lease up to ``n`` due deliveries of the subscribers ``mine``."""
    async with sessionmaker() as session, session.begin():
        rows = (
            await session.execute(
                _CLAIM_DELIVERIES, {"mine": mine, "n": n, "lease": float(lease_s)}
            )
        ).all()
    return [
        Claim(Envelope(event_id, seq, name, data, seller_id, created_at), subscriber, attempts)
        for event_id, subscriber, attempts, seq, name, data, seller_id, created_at in sorted(
            rows, key=lambda r: r[3]
        )
    ]


def describe_failure(exc: Exception, timeout_s: float) -> str:
    """A handler's failure as its delivery's ``last_error`` records it."""
    if isinstance(exc, TimeoutError):
        return f"TimeoutError: the handler ran longer than {timeout_s:g}s"
    return f"{type(exc).__name__}: {exc}"


async def handle(
    sessionmaker: async_sessionmaker[AsyncSession], item: Claim, config: DeliveryConfig
) -> bool:
    """Run one claimed delivery: True if handled (or already handled before), else False
    (rescheduled, or dead-lettered after the last attempt)."""
    subscriber = _registry.get(item.subscriber)
    try:
        if subscriber is None:
            raise LookupError(f"no subscriber {item.subscriber!r} is registered in this process")
        async with sessionmaker() as session, session.begin():
            fresh = (await session.execute(_CONSUME, item.key)).first()
            if fresh is not None:
                await asyncio.wait_for(
                    subscriber.handler(item.event, session), config.handler_timeout_s
                )
            await session.execute(_DONE, item.key)
        return True
    except Exception as exc:
        error = describe_failure(exc, config.handler_timeout_s)
        log.warning(
            "subscriber %s failed on event %s (%s), attempt %d: %s",
            item.subscriber,
            item.event.id,
            item.event.name,
            item.attempts,
            error,
        )
        await _failed(sessionmaker, item, error[:4000], config)
        return False


async def _failed(
    sessionmaker: async_sessionmaker[AsyncSession],
    item: Claim,
    error: str,
    config: DeliveryConfig,
) -> None:
    async with sessionmaker() as session, session.begin():
        if item.attempts >= config.max_attempts:
            await session.execute(
                _GIVE_UP,
                {
                    **item.key,
                    "attempts": item.attempts,
                    "id": new_id("evdl"),
                    "name": item.event.name,
                    "error": error,
                },
            )
        else:
            delay = config.backoff_ms(item.attempts) / 1000
            await session.execute(
                _RESCHEDULE,
                {**item.key, "attempts": item.attempts, "delay": delay, "error": error},
            )


async def release(sessionmaker: async_sessionmaker[AsyncSession], items: Iterable[Claim]) -> None:
    """Give back leases of handlers stopped by a shutdown (not a failed attempt)."""
    items = list(items)
    if not items:
        return
    async with sessionmaker() as session, session.begin():
        for item in items:
            await session.execute(_RELEASE, {**item.key, "attempts": item.attempts})


# ----------------------------------------------------------------------------- the worker

# Further tasks a worker runs beside the relay and the consumers (the webhook dispatcher):
# ``name -> run(worker)``, a coroutine that loops until cancelled.
WorkerTask = Callable[["EventWorker"], Coroutine[Any, Any, None]]
_worker_tasks: dict[str, WorkerTask] = {}
# Built-in parts; "retention" deletes settled events past MERCATO_EVENT_RETENTION_DAYS, hourly.
PARTS = ("relay", "subscribers", "retention")


def add_worker_task(name: str, run: WorkerTask) -> Callable[[], None]:
    """Run ``run(worker)`` in every event worker (``mercato worker --only`` may name it)."""
    if name in PARTS or name in _worker_tasks:
        raise ValueError(f"worker task {name!r} is already registered")
    _worker_tasks[name] = run

    def remove() -> None:
        _worker_tasks.pop(name, None)

    return remove


def worker_parts() -> tuple[str, ...]:
    """What ``mercato worker --only`` may choose from."""
    return (*PARTS, *_worker_tasks)


class EventWorker:
    """The relay, the consumers, the wake-ups and the heartbeat of one process: the tasks of
    ``mercato worker`` and of an API process in ``shared`` mode.

    ``parts`` limits it to some of :func:`worker_parts` (default: all); ``subscriber_ids``
    limits the consumers to some subscriber ids (default: every registered one).
    ``process_id``: the ``mercato_process`` row its command registered with the connection
    budget (``db/budget.py``), which it heartbeats and leaves to that command to delete (one
    process, one row); without it, it registers a row of its own and deletes it as it stops.
    With ``REDIS_URL`` set (or ``redis`` assigned before :meth:`start`) the relay and the first
    attempt of each delivery go through Redis Streams (:mod:`mercato.events.redis_transport`);
    the retries still run on the PostgreSQL claim loop."""

    redis: RedisTransport | None = None

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        config: DeliveryConfig | None = None,
        concurrency: int = 8,
        kind: str = "worker",
        pool_budget: int = 0,
        parts: Iterable[str] | None = None,
        subscriber_ids: Iterable[str] | None = None,
        listen: bool = True,
        process_id: str | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.config = config or DeliveryConfig.from_settings()
        self.concurrency = concurrency
        self.kind = kind
        self.pool_budget = pool_budget
        self.parts = frozenset(worker_parts() if parts is None else parts)
        unknown = self.parts - set(worker_parts())
        if unknown:
            raise ValueError(f"unknown worker parts: {', '.join(sorted(unknown))}")
        self.only = None if subscriber_ids is None else frozenset(subscriber_ids)
        self.listen_enabled = listen
        self.owns_process_row = process_id is None
        self.process_id = process_id or new_id("proc")
        self._stopping = False
        self._relay_wake = asyncio.Event()
        self._consume_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._consumer: asyncio.Task[None] | None = None
        self._in_flight: dict[asyncio.Task[bool], Claim] = {}

    # ------------------------------------------------------------------ lifecycle

    def wake(self) -> None:
        self._relay_wake.set()
        self._consume_wake.set()

    async def start(self) -> None:
        if self.redis is None and self.parts & {"relay", "subscribers"}:
            # Only what relays or consumes talks to Redis: never an API process in ``server``
            # mode, whose worker runs nothing but the heartbeat.
            from mercato.events.redis_transport import RedisTransport

            self.redis = RedisTransport.from_settings(self.sessionmaker, self.config)
        await self._register_process()
        _local_wakers.add(self.wake)
        loop = asyncio.get_running_loop()
        if "relay" in self.parts:
            relay = self._relay_loop() if self.redis is None else self.redis.relay_loop(self)
            self._tasks.append(loop.create_task(relay))
        if self.listen_enabled:
            self._tasks.append(loop.create_task(self._listen_loop()))
        self._tasks.append(loop.create_task(self._heartbeat_loop()))
        if "retention" in self.parts:
            self._tasks.append(loop.create_task(retention.run_forever(self.sessionmaker)))
        for name, run in _worker_tasks.items():
            if name in self.parts:
                self._tasks.append(loop.create_task(run(self)))
        if "subscribers" in self.parts:
            self._consumer = loop.create_task(self._consume_loop())
        if self.redis is not None:
            self.redis.start(self)

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop claiming, let running handlers finish (at most ``grace_s``), give back the
        leases of those that did not, and leave the process list."""
        self._stopping = True
        _local_wakers.discard(self.wake)
        self._consume_wake.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("event worker task failed while stopping")
        if self.redis is not None:
            await self.redis.stop(grace_s)
        if self._consumer is not None:
            await asyncio.gather(self._consumer, return_exceptions=True)
        unfinished: list[Claim] = []
        if self._in_flight:
            _, pending = await asyncio.wait(set(self._in_flight), timeout=grace_s)
            for running in pending:
                running.cancel()
                unfinished.append(self._in_flight[running])
            await asyncio.gather(*pending, return_exceptions=True)
        try:
            await release(self.sessionmaker, unfinished)
            if self.owns_process_row:
                async with self.sessionmaker() as session, session.begin():
                    await session.execute(
                        text("DELETE FROM mercato_process WHERE id = :id"),
                        {"id": self.process_id},
                    )
        except Exception:
            log.exception("event worker could not release its leases; they expire by themselves")

    async def _sleep(self, event: asyncio.Event) -> None:
        """Until woken or a poll interval has passed; a wake-up that came while the loop
        worked ends it at once (loops clear their event before they work, not after)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), self.config.poll_ms / 1000)

    # ------------------------------------------------------------------ relay

    async def _relay_loop(self) -> None:
        while not self._stopping:
            self._relay_wake.clear()
            try:
                relayed = await relay_batch(self.sessionmaker)
            except Exception:
                log.exception("event relay failed; retried at the next poll")
                relayed = 0
            if relayed:
                self._consume_wake.set()
            if relayed < RELAY_BATCH:
                await self._sleep(self._relay_wake)

    # ------------------------------------------------------------------ consumers

    def _mine(self) -> list[str]:
        return [s for s in _registry if self.only is None or s in self.only]

    async def _consume_loop(self) -> None:
        while not self._stopping:
            self._consume_wake.clear()
            free = self.concurrency - len(self._in_flight)
            mine = self._mine()
            claims: list[Claim] = []
            if free > 0 and mine:
                try:
                    claims = await claim(self.sessionmaker, mine, free, self.config.lease_s)
                except Exception:
                    log.exception("claiming event deliveries failed; retried at the next poll")
            for item in claims:
                task = asyncio.get_running_loop().create_task(
                    handle(self.sessionmaker, item, self.config)
                )
                self._in_flight[task] = item
                task.add_done_callback(self._finished)
            if not claims or len(claims) < free:
                await self._sleep(self._consume_wake)

    def _finished(self, task: asyncio.Task[bool]) -> None:
        self._in_flight.pop(task, None)
        if not self._stopping:
            self._consume_wake.set()

    # ------------------------------------------------------------------ LISTEN

    async def _listen_loop(self) -> None:
        """``LISTEN mercato_events`` on a connection of its own, reconnecting after a loss; the
        poll covers the gaps."""
        engine = self.sessionmaker.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            return
        while not self._stopping:
            try:
                async with engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    driver = raw.driver_connection
                    assert driver is not None

                    def on_notify(*_: Any) -> None:
                        self.wake()

                    closed = asyncio.Event()
                    driver.add_termination_listener(partial(_set, closed))
                    await driver.add_listener(CHANNEL, on_notify)
                    try:
                        await closed.wait()
                    finally:
                        if not driver.is_closed():
                            await driver.remove_listener(CHANNEL, on_notify)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("LISTEN %s lost; polling until it is back", CHANNEL)
                await asyncio.sleep(1.0)

    # ------------------------------------------------------------------ heartbeat

    def _status(self) -> dict[str, Any]:
        return {
            **(self.redis.status() if self.redis is not None else {"transport": "postgres"}),
            "parts": sorted(self.parts),
            "subscribers": sorted(self._mine()) if "subscribers" in self.parts else [],
            "in_flight": len(self._in_flight),
        }

    async def _register_process(self) -> None:
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO mercato_process (id, kind, host, pid, pool_budget, status)"
                    " VALUES (:id, :kind, :host, :pid, :budget, CAST(:status AS jsonb))"
                    " ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), status = EXCLUDED.status"
                ),
                {
                    "id": self.process_id,
                    "kind": self.kind,
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "budget": self.pool_budget,
                    "status": json.dumps(self._status()),
                },
            )

    async def _heartbeat_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(HEARTBEAT_EVERY_S)
            try:
                await self.heartbeat()
            except Exception:
                log.exception("heartbeat failed; retried in %ss", HEARTBEAT_EVERY_S)

    async def heartbeat(self) -> None:
        """Say this process is alive; forget processes silent for 30 s."""
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                text(
                    "DELETE FROM mercato_process"
                    " WHERE heartbeat_at < now() - make_interval(secs => :silent)"
                ),
                {"silent": PROCESS_SILENT_AFTER_S},
            )
        await self._register_process()

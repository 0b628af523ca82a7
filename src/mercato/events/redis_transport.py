"""The Redis Streams event transport (events-and-scale-out.md, Redis Streams transport).

With ``REDIS_URL`` set, a worker (``mercato worker``, or a ``shared`` API process) carries events
from the outbox to the durable subscribers through one stream, ``{MERCATO_REDIS_PREFIX}events``,
instead of ``event_delivery`` rows:

* the **relay** claims undispatched outbox rows as the PostgreSQL relay does (``FOR UPDATE SKIP
  LOCKED``, 500 at a time), ``XADD``\\ s them (pipelined) and stamps them, in one transaction: an
  ``XADD`` error rolls it back and the rows stay pending (the relay backs off 1 s → 30 s); a
  commit that fails after ``XADD`` leaves duplicates, which consumers drop by event id;
* one **consumer group per subscriber id** (created with ``$`` before the relay starts) reads the
  stream with ``XREADGROUP``; the handler runs as :func:`mercato.events.delivery.handle` runs it
  (first ``event_consumption``, so a redelivered entry takes effect once; a subscriber's
  ``interest`` is checked in that same insert, as the relay checks it), then ``XACK``; a
  failure becomes an ``event_delivery`` retry row (attempt 1 done) which the PostgreSQL claim
  loop retries, so retries and dead letters live in PostgreSQL whatever the transport;
* **crash recovery**: entries a consumer read and never acknowledged are ``XAUTOCLAIM``\\ ed once
  idle for the lease; one delivered ``MERCATO_EVENT_MAX_ATTEMPTS`` times already (a poison entry
  that kills its consumers) becomes a dead letter;
* **trimming** removes only what every group is done with;
* the groups' lag is reported in the worker's heartbeat (``mercato_process.status``), which
  ``GET /admin/events/status`` reads: API processes never connect to Redis.

Redis down: the relay rolls back and backs off, consumers reconnect with backoff; the outbox
keeps every event meanwhile, so nothing is lost and the API is unaffected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ResponseError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato.db.base import new_id
from mercato.events import delivery
from mercato.events.delivery import (
    RELAY_BATCH,
    DeliveryConfig,
    Envelope,
    Subscriber,
    describe_failure,
)
from mercato.settings import Settings, get_settings

if TYPE_CHECKING:
    from mercato.events.delivery import EventWorker

log = logging.getLogger("mercato.events.redis")

STREAM = "events"
READ_COUNT = 100
BLOCK_MS = 1000
RECOVER_EVERY_S = 10.0
TRIM_EVERY_S = 60.0
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
# A group whose oldest needed entry is older than this is reported stalled
# (``MERCATO_EVENT_RETENTION_DAYS``).
RETENTION_DAYS = 7


def enabled(settings: Settings | None = None) -> bool:
    """Whether events travel through Redis (``REDIS_URL`` set)."""
    return (settings or get_settings()).redis_url is not None


def consumer_name() -> str:
    """This process's consumer name in every group: ``<host>:<pid>``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff_s(failures: int) -> float:
    """The wait after ``failures`` Redis errors in a row: 1 s, doubled, at most 30 s."""
    return float(min(BACKOFF_FIRST_S * 2 ** min(max(failures - 1, 0), 10), BACKOFF_MAX_S))


def entry_fields(event: Envelope) -> dict[str, str]:
    """A stream entry's fields: the envelope, ``data`` as JSON, no seller as ``""``."""
    return {
        "id": event.id,
        "seq": str(event.seq),
        "name": event.name,
        "seller_id": event.seller_id or "",
        "occurred_at": event.occurred_at.isoformat(),
        "data": json.dumps(event.data, separators=(",", ":")),
    }


def envelope(fields: dict[str, str]) -> Envelope:
    """The envelope a stream entry carries (KeyError/ValueError when it is malformed)."""
    return Envelope(
        id=fields["id"],
        seq=int(fields["seq"]),
        name=fields["name"],
        data=json.loads(fields["data"]),
        seller_id=fields.get("seller_id") or None,
        occurred_at=datetime.fromisoformat(fields["occurred_at"]),
    )


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _next_id(entry_id: str) -> str:
    """The smallest stream id after ``entry_id``."""
    ms, seq = _id_key(entry_id)
    return f"{ms}-{seq + 1}"


_CLAIM_OUTBOX = text(
    "SELECT id, seq, name, data, seller_id, created_at FROM event_outbox"
    " WHERE dispatched_at IS NULL ORDER BY seq LIMIT :n FOR UPDATE SKIP LOCKED"
)
_STAMP_OUTBOX = text("UPDATE event_outbox SET dispatched_at = now() WHERE id = ANY(:ids)")
_CONSUME = text(
    "INSERT INTO event_consumption (subscriber, event_id) VALUES (:subscriber, :event_id)"
    " ON CONFLICT DO NOTHING RETURNING 1"
)


def _consume_statement(subscriber: Subscriber) -> Any:
    """The consumption insert; for a subscriber with an ``interest`` (the SQL condition on the
    outbox row ``o`` the PostgreSQL relay checks), only for an event it wants: 0 rows, as for an
    event already handled, means the handler does not run."""
    if subscriber.interest is None:
        return _CONSUME
    statement = _consume_if_interested.get(subscriber.interest)
    if statement is None:
        statement = _consume_if_interested[subscriber.interest] = text(
            "INSERT INTO event_consumption (subscriber, event_id)"
            " SELECT CAST(:subscriber AS text), o.id FROM event_outbox o"
            f" WHERE o.id = :event_id AND ({subscriber.interest})"
            " ON CONFLICT DO NOTHING RETURNING 1"
        )
    return statement


_consume_if_interested: dict[str, Any] = {}

# A stream attempt failed: attempt 1 is done, the PostgreSQL claim loop makes the next ones.
_RETRY = text(
    "INSERT INTO event_delivery"
    " (event_id, event_seq, subscriber, attempts, next_attempt_at, last_error)"
    " VALUES (:event_id, :seq, :subscriber, 1, now() + make_interval(secs => :delay), :error)"
    " ON CONFLICT DO NOTHING"
)
# A poison entry: dead-lettered unless it was handled after all, or already owed through
# ``event_delivery`` (its retry row was committed before the crash).
_DEAD_LETTER = text(
    "INSERT INTO event_dead_letter (id, event_id, event_name, subscriber, attempts, last_error)"
    " SELECT :id, o.id, o.name, CAST(:subscriber AS text), :attempts, :error FROM event_outbox o"
    " WHERE o.id = :event_id"
    " AND NOT EXISTS (SELECT 1 FROM event_consumption c"
    " WHERE c.subscriber = :subscriber AND c.event_id = o.id)"
    " AND NOT EXISTS (SELECT 1 FROM event_delivery d"
    " WHERE d.subscriber = :subscriber AND d.event_id = o.id)"
)


class RedisTransport:
    """The stream, its groups and this process's consumers, relay and housekeeping."""

    def __init__(
        self,
        url: str,
        prefix: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        config: DeliveryConfig | None = None,
        *,
        consumer: str | None = None,
        retention_days: float = RETENTION_DAYS,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.config = config or DeliveryConfig.from_settings()
        self.key = f"{prefix}{STREAM}"
        self.consumer = consumer or consumer_name()
        self.retention_ms = int(retention_days * 86_400_000)
        # Our own backoff does the waiting: one immediate retry covers a connection Redis
        # closed while it sat in the pool.
        self.client: Redis = Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=2,
            socket_timeout=BLOCK_MS / 1000 + 5,
            retry=Retry(NoBackoff(), 1),
            health_check_interval=15,
        )
        self.groups: list[dict[str, Any]] = []
        self.error: str | None = None
        self._stopping = False
        self._stopped = asyncio.Event()
        self._consumers: list[asyncio.Task[None]] = []
        self._housekeeping: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(
        cls,
        sessionmaker: async_sessionmaker[AsyncSession],
        config: DeliveryConfig | None = None,
        settings: Settings | None = None,
    ) -> RedisTransport | None:
        """The transport ``REDIS_URL`` asks for, or None (PostgreSQL alone)."""
        s = settings or get_settings()
        if s.redis_url is None:
            return None
        return cls(
            s.redis_url,
            s.redis_prefix,
            sessionmaker,
            config,
            retention_days=s.event_retention_days,
        )

    async def close(self) -> None:
        await self.client.aclose()

    # ------------------------------------------------------------------ relay

    async def ensure_groups(self, subscriber_ids: Iterable[str]) -> None:
        """One consumer group per subscriber, reading from now on (``$``); existing ones stay."""
        for subscriber_id in subscriber_ids:
            try:
                await self.client.xgroup_create(self.key, subscriber_id, id="$", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def relay_batch(self, *, limit: int = RELAY_BATCH) -> int:
        """One relay pass: ``XADD`` the oldest undispatched rows in ``seq`` order and stamp them,
        before the commit; how many it relayed. A Redis error rolls the claim back."""
        async with self.sessionmaker() as session, session.begin():
            rows = (await session.execute(_CLAIM_OUTBOX, {"n": limit})).all()
            if not rows:
                return 0
            async with self.client.pipeline(transaction=False) as pipe:
                for event_id, seq, name, data, seller_id, created_at in rows:
                    event = Envelope(event_id, seq, name, data, seller_id, created_at)
                    fields: dict[Any, Any] = entry_fields(event)
                    pipe.xadd(self.key, fields)
                await pipe.execute()
            await session.execute(_STAMP_OUTBOX, {"ids": [row[0] for row in rows]})
        return len(rows)

    async def relay_loop(self, worker: EventWorker) -> None:
        """The worker's relay: groups first, then batches until stopped, backing off while
        Redis (or PostgreSQL) fails. Groups are made again after every failure, in case Redis
        lost them."""
        failures = 0
        ready = False
        while not worker._stopping:
            worker._relay_wake.clear()
            try:
                if not ready:
                    await self.ensure_groups(s.id for s in delivery.subscribers())
                    ready = True
                relayed = await self.relay_batch()
            except Exception as exc:
                failures += 1
                ready = False
                wait = backoff_s(failures)
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("event relay to Redis failed (%s); retried in %gs", self.error, wait)
                await asyncio.sleep(wait)
                continue
            failures = 0
            if relayed < RELAY_BATCH:
                await worker._sleep(worker._relay_wake)

    # ------------------------------------------------------------------ consumers

    async def read(
        self, subscriber_id: str, *, count: int = READ_COUNT, block_ms: int | None = BLOCK_MS
    ) -> list[tuple[str, dict[str, str]]]:
        """New entries for ``subscriber_id``'s group, delivered to this consumer."""
        response: Any = await self.client.xreadgroup(
            subscriber_id, self.consumer, {self.key: ">"}, count=count, block=block_ms
        )
        entries: list[tuple[str, dict[str, str]]] = []
        for _stream, items in response or []:
            entries += [(entry_id, fields) for entry_id, fields in items]
        return entries

    async def consume_once(self, subscriber_id: str, *, block_ms: int | None = BLOCK_MS) -> int:
        """Read one batch (waiting up to ``block_ms``), handle it, acknowledge it; its size."""
        entries = await self.read(subscriber_id, block_ms=block_ms)
        await self.process(subscriber_id, entries)
        return len(entries)

    async def process(
        self, subscriber_id: str, entries: list[tuple[str, dict[str, str]]]
    ) -> list[str]:
        """Handle entries in order and acknowledge those that are settled (handled, retried
        through PostgreSQL, or not for this subscriber); returns the acknowledged ids."""
        subscriber = delivery._registry.get(subscriber_id)
        done: list[str] = []
        for entry_id, fields in entries:
            if await self._handle(subscriber, subscriber_id, entry_id, fields):
                done.append(entry_id)
        if done:
            await self.client.xack(self.key, subscriber_id, *done)
        return done

    async def _handle(
        self,
        subscriber: Subscriber | None,
        subscriber_id: str,
        entry_id: str,
        fields: dict[str, str] | None,
    ) -> bool:
        if subscriber is None:
            return False  # left pending for a process that has it
        try:
            event = envelope(fields or {})
        except (KeyError, ValueError, TypeError):
            log.error("stream entry %s of %s is malformed; acknowledged", entry_id, self.key)
            return True
        if not subscriber.hears(event.name):
            return True
        key = {"subscriber": subscriber_id, "event_id": event.id}
        timeout = self.config.handler_timeout_s
        try:
            async with self.sessionmaker() as session, session.begin():
                consume = _consume_statement(subscriber)
                if (await session.execute(consume, key)).first() is not None:
                    await asyncio.wait_for(subscriber.handler(event, session), timeout)
            return True
        except Exception as exc:
            error = describe_failure(exc, timeout)
            log.warning(
                "subscriber %s failed on event %s (%s), attempt 1: %s",
                subscriber_id,
                event.id,
                event.name,
                error,
            )
        try:
            async with self.sessionmaker() as session, session.begin():
                await session.execute(
                    _RETRY,
                    {
                        **key,
                        "seq": event.seq,
                        "delay": self.config.backoff_ms(1) / 1000,
                        "error": error[:4000],
                    },
                )
        except IntegrityError:
            log.warning("event %s is not in the outbox any more; acknowledged", event.id)
            return True
        except Exception:
            log.exception(
                "could not record the retry of event %s for %s; it stays pending in Redis",
                event.id,
                subscriber_id,
            )
            return False
        return True

    async def recover(self, subscriber_id: str) -> int:
        """Take over entries of ``subscriber_id``'s group that some consumer read and did not
        acknowledge within the lease (it died mid-handler), and handle them; an entry already
        delivered ``max_attempts`` times is dead-lettered instead. How many it took."""
        lease_ms = max(int(self.config.lease_s * 1000), 1)
        subscriber = delivery._registry.get(subscriber_id)
        start, total = "0-0", 0
        while not self._stopping:
            start, claimed, *_ = await self.client.xautoclaim(
                self.key, subscriber_id, self.consumer, lease_ms, start, count=READ_COUNT
            )
            if claimed:
                total += len(claimed)
                await self._process_claimed(subscriber, subscriber_id, claimed)
            if start == "0-0":
                break
        return total

    async def _process_claimed(
        self,
        subscriber: Subscriber | None,
        subscriber_id: str,
        claimed: list[tuple[str, dict[str, str] | None]],
    ) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            for entry_id, _ in claimed:
                pipe.xpending_range(self.key, subscriber_id, entry_id, entry_id, 1)
            pending = await pipe.execute()
        # XAUTOCLAIM counted itself: the deliveries before it are one fewer.
        before = {
            row["message_id"]: int(row["times_delivered"]) - 1 for rows in pending for row in rows
        }
        handle: list[tuple[str, dict[str, str]]] = []
        settled: list[str] = []
        for entry_id, fields in claimed:
            if fields is None:
                settled.append(entry_id)  # deleted from the stream meanwhile
            elif before.get(entry_id, 0) >= self.config.max_attempts:
                if await self._dead_letter(subscriber_id, fields, before[entry_id]):
                    settled.append(entry_id)
            else:
                handle.append((entry_id, fields))
        if settled:
            await self.client.xack(self.key, subscriber_id, *settled)
        if subscriber is not None and handle:
            await self.process(subscriber_id, handle)

    async def _dead_letter(self, subscriber_id: str, fields: dict[str, str], times: int) -> bool:
        event_id = fields.get("id")
        error = (
            f"the consumer stopped while handling it: delivered {times} times without an"
            " acknowledgement"
        )
        try:
            async with self.sessionmaker() as session, session.begin():
                await session.execute(
                    _DEAD_LETTER,
                    {
                        "id": new_id("evdl"),
                        "event_id": event_id,
                        "subscriber": subscriber_id,
                        "attempts": times,
                        "error": error,
                    },
                )
        except Exception:
            log.exception("could not dead-letter event %s for %s", event_id, subscriber_id)
            return False
        log.warning("event %s dead-lettered for %s: %s", event_id, subscriber_id, error)
        return True

    # ------------------------------------------------------------------ trimming and status

    async def _groups(self) -> list[dict[str, Any]]:
        try:
            return await self.client.xinfo_groups(self.key)
        except ResponseError as exc:
            if "no such key" in str(exc).lower():
                return []
            raise

    async def _oldest_needed(self, group: dict[str, Any]) -> str:
        """The oldest entry ``group`` still needs: its oldest pending one, else its last
        delivered one (everything after it is still to be read)."""
        if group["pending"]:
            summary = await self.client.xpending(self.key, group["name"])
            if summary.get("min"):
                return str(summary["min"])
        return str(group["last-delivered-id"])

    async def trim(self) -> int:
        """``XTRIM MINID`` the oldest entry some group still needs; how many went.

        The stream's newest entry, read before the groups, bounds it too: a group created after
        that read starts at or after it (``$``), so even with no group at all (no durable
        subscriber) the stream keeps only that entry instead of growing."""
        newest = await self.client.xrevrange(self.key, "+", "-", count=1)
        if not newest:
            return 0
        groups = await self._groups()
        needed = [str(newest[0][0])] + [await self._oldest_needed(g) for g in groups]
        minid = min(needed, key=_id_key)
        return await self.client.xtrim(self.key, minid=minid, approximate=False)

    async def refresh_status(self) -> list[dict[str, Any]]:
        """Each group's lag and pending count, and whether it is ``stalled`` (the oldest entry it
        still needs is older than the retention), for the heartbeat."""
        groups = await self._groups()
        seconds, micros = await self.client.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        report = []
        for group in groups:
            oldest: str | None = None
            if group["pending"]:
                oldest = await self._oldest_needed(group)
            elif group.get("lag") != 0:
                after = await self.client.xrange(
                    self.key, _next_id(str(group["last-delivered-id"])), "+", count=1
                )
                oldest = str(after[0][0]) if after else None
            stalled = oldest is not None and now_ms - _id_key(oldest)[0] > self.retention_ms
            report.append(
                {
                    "subscriber": group["name"],
                    "lag": group.get("lag"),
                    "pending": group["pending"],
                    "stalled": stalled,
                }
            )
        self.groups = report
        self.error = None
        return report

    def status(self) -> dict[str, Any]:
        """What the worker's heartbeat says of the transport."""
        status: dict[str, Any] = {"transport": "redis", "groups": self.groups}
        if self.error:
            status["redis_error"] = self.error
        return status

    # ------------------------------------------------------------------ the worker's tasks

    def start(self, worker: EventWorker) -> None:
        """Start a consumer per subscriber of ``worker`` (if it runs subscribers) and the
        housekeeping (recovery, trimming, status)."""
        loop = asyncio.get_running_loop()
        self._stopping = False
        self._stopped = asyncio.Event()
        mine = worker._mine() if "subscribers" in worker.parts else []
        self._consumers = [loop.create_task(self._consume_loop(sid)) for sid in mine]
        self._housekeeping = loop.create_task(self._housekeeping_loop(mine))

    async def stop(self, grace_s: float) -> None:
        """Let consumers finish their batch (at most ``grace_s``); an entry left unacknowledged
        is recovered by another consumer after the lease."""
        self._stopping = True
        self._stopped.set()
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            await asyncio.gather(self._housekeeping, return_exceptions=True)
        if self._consumers:
            _, pending = await asyncio.wait(self._consumers, timeout=grace_s + BLOCK_MS / 1000)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._consumers, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.close()

    async def _consume_loop(self, subscriber_id: str) -> None:
        failures = 0
        ready = False
        while not self._stopping:
            try:
                if not ready:
                    await self.ensure_groups([subscriber_id])
                    ready = True
                await self.consume_once(subscriber_id)
                failures = 0
            except ResponseError as exc:
                if "NOGROUP" in str(exc):
                    ready = False  # Redis lost it: made again at once
                    continue
                failures += 1
                await self._consumer_failed(subscriber_id, exc, failures)
            except Exception as exc:
                failures += 1
                ready = False
                await self._consumer_failed(subscriber_id, exc, failures)

    async def _consumer_failed(self, subscriber_id: str, exc: Exception, failures: int) -> None:
        wait = backoff_s(failures)
        self.error = f"{type(exc).__name__}: {exc}"
        log.warning("Redis consumer of %s failed (%s); again in %gs", subscriber_id, exc, wait)
        await self._pause(wait)

    async def _pause(self, seconds: float) -> None:
        """Sleep, but not past :meth:`stop`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)

    async def _housekeeping_loop(self, mine: list[str]) -> None:
        last_trim = time.monotonic() - TRIM_EVERY_S  # the first pass trims too
        while not self._stopping:
            for subscriber_id in mine:
                try:
                    await self.recover(subscriber_id)
                except Exception as exc:
                    if "NOGROUP" not in str(exc):
                        log.warning("recovering entries of %s failed: %s", subscriber_id, exc)
            try:
                if time.monotonic() - last_trim >= TRIM_EVERY_S:
                    last_trim = time.monotonic()
                    await self.trim()
                await self.refresh_status()
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("Redis housekeeping failed: %s", self.error)
            await self._pause(RECOVER_EVERY_S)

"""The webhook dispatcher (events-and-scale-out.md, A delivery attempt): claims due deliveries
with a lease, sends each attempt to the vetted address, records it and schedules the next.

Any number of processes may run it at once: a claim is ``FOR UPDATE SKIP LOCKED`` plus a lease
(``MERCATO_LEASE_S``), so a delivery is in one process's hands at a time and comes back if that
process dies. At most 16 requests are in flight per process and 4 per endpoint (counted from the
leases, so across processes). Every time compared is PostgreSQL's ``now()``."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato.domain.events import WEBHOOK_DISABLED
from mercato.events.models import OutboxEvent
from mercato.events.service import emit
from mercato.query.values import iso
from mercato.webhooks.config import WebhookSettings, webhook_settings
from mercato.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery
from mercato.webhooks.projection import project_for_seller
from mercato.webhooks.service import signing_secrets
from mercato.webhooks.signing import sign
from mercato.webhooks.targets import Blocked, IPAddress, Target, vet

log = logging.getLogger("mercato.webhooks")

MAX_IN_FLIGHT = 16
MAX_PER_ENDPOINT = 4
RESPONSE_BODY_BYTES = 2048
MAX_RETRY_AFTER_S = 24 * 3600.0
USER_AGENT = "Mercato-Webhooks/1"

_in_flight = 0

# Due deliveries of enabled endpoints, locked (skipping those another process holds), then
# leased. Each endpoint offers at most MAX_PER_ENDPOINT less those it has leased already (in any
# process), so one endpoint's backlog neither exceeds its share nor starves the others.
_CLAIM = text(
    """
    WITH due AS (
        SELECT d.id, d.webhook_id, d.next_attempt_at, busy.n AS busy
          FROM webhook w
         CROSS JOIN LATERAL (
               SELECT count(*) AS n FROM webhook_delivery f
                WHERE f.webhook_id = w.id AND f.status = 'pending' AND f.lease_until >= now()
         ) busy
         CROSS JOIN LATERAL (
               SELECT d.id, d.webhook_id, d.next_attempt_at
                 FROM webhook_delivery d
                WHERE d.webhook_id = w.id
                  AND d.status = 'pending'
                  AND d.next_attempt_at <= now()
                  AND (d.lease_until IS NULL OR d.lease_until < now())
                ORDER BY d.next_attempt_at, d.id
                LIMIT :per_endpoint
                  FOR UPDATE SKIP LOCKED
         ) d
         WHERE w.is_active AND w.deleted_at IS NULL AND busy.n < :per_endpoint
    ), ranked AS (
        SELECT id, next_attempt_at,
               busy + row_number() OVER (PARTITION BY webhook_id ORDER BY next_attempt_at, id)
                 AS slot
          FROM due
    ), chosen AS (
        SELECT id FROM ranked WHERE slot <= :per_endpoint ORDER BY next_attempt_at, id LIMIT :n
    )
    UPDATE webhook_delivery d
       SET lease_until = now() + make_interval(secs => :lease)
      FROM chosen
     WHERE d.id = chosen.id
    RETURNING d.id, d.webhook_id, d.event_id, d.event_name, d.attempt_count
    """
)


@dataclass(frozen=True)
class Claimed:
    id: str
    webhook_id: str
    event_id: str
    event_name: str
    attempt_count: int


@dataclass
class Outcome:
    """What one attempt gave: ``status_code`` (None if nothing was answered), the error text,
    the response's first 2 KiB, and a Retry-After in seconds."""

    status_code: int | None = None
    error: str | None = None
    body: str | None = None
    retry_after: float | None = None
    duration_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession], n: int, lease_s: float
) -> list[Claimed]:
    if n <= 0:
        return []
    async with sessionmaker() as session, session.begin():
        rows = (
            await session.execute(
                _CLAIM,
                {"n": n, "per_endpoint": MAX_PER_ENDPOINT, "lease": lease_s},
            )
        ).all()
    return [Claimed(*row) for row in rows]


async def run_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    limit: int = MAX_IN_FLIGHT,
    client: httpx.AsyncClient | None = None,
) -> int:
    """One pass: claim up to ``limit`` due deliveries (within this process's 16 in flight),
    attempt them concurrently, and return how many were attempted."""
    global _in_flight
    settings = webhook_settings()
    room = min(limit, MAX_IN_FLIGHT - _in_flight)
    claimed = await claim(sessionmaker, room, settings.lease_s)
    if not claimed:
        return 0
    _in_flight += len(claimed)
    try:
        own_client = client is None
        http = client or httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
        )
        try:
            results = await asyncio.gather(
                *(attempt(sessionmaker, http, c, settings) for c in claimed),
                return_exceptions=True,
            )
        finally:
            if own_client:
                await http.aclose()
    finally:
        _in_flight -= len(claimed)
    for claimed_one, result in zip(claimed, results, strict=True):
        if isinstance(result, BaseException):
            log.error("webhook delivery %s failed to run", claimed_one.id, exc_info=result)
    return len(claimed)


def body_of(event: OutboxEvent, seller_id: str | None) -> bytes:
    """``{"type", "timestamp", "data"}`` as compact JSON; a seller's payload is projected."""
    data = event.data if seller_id is None else project_for_seller(event.name, event.data)
    return orjson.dumps({"type": event.name, "timestamp": iso(event.created_at), "data": data})


async def attempt(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    claimed: Claimed,
    settings: WebhookSettings,
) -> Outcome:
    """Send one claimed delivery and record what happened."""
    async with sessionmaker() as session:
        webhook = await session.get(Webhook, claimed.webhook_id)
        event = await session.get(OutboxEvent, claimed.event_id)
        now = await session.scalar(select(func.now()))
    if webhook is None or not webhook.is_active or webhook.deleted_at is not None:
        await release(sessionmaker, claimed)  # disabled or deleted since the claim
        return Outcome(error="endpoint disabled")
    if event is None:
        outcome = Outcome(error="event no longer retained")
        await record(sessionmaker, claimed, outcome, settings, final=True, blame=False)
        return outcome
    body = body_of(event, webhook.seller_id)
    secrets = signing_secrets(webhook, now or datetime.now(UTC))
    outcome = await send(client, webhook.url, claimed.event_id, body, secrets)
    await record(sessionmaker, claimed, outcome, settings, gone=outcome.status_code == 410)
    return outcome


async def release(sessionmaker: async_sessionmaker[AsyncSession], claimed: Claimed) -> None:
    """Give a claimed delivery back untouched (its endpoint is paused or gone)."""
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == claimed.id).values(lease_until=None)
        )


async def send(
    client: httpx.AsyncClient, url: str, msg_id: str, body: bytes, secrets: list[str]
) -> Outcome:
    """POST ``body`` to the address ``url``'s host resolves to, once vetted: never a
    redirect, never an address that is not public (unless allowed)."""
    try:
        target = await vet(url)
    except Blocked as refused:
        return Outcome(error=str(refused))
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secrets, msg_id, timestamp, body),
    }
    started = time.monotonic()
    answer: tuple[httpx.Response, bytes] | None = None
    for address in target.addresses:
        request_url, extra = _pinned(target, address)
        try:
            answer = await _post(
                client, request_url, body, {**headers, **extra["headers"]}, extra["extensions"]
            )
            break
        except httpx.ConnectError as failed:
            if address == target.addresses[-1]:
                return Outcome(error=_error_text(failed), duration_ms=_since(started))
        except httpx.TimeoutException:
            return Outcome(error="timeout", duration_ms=_since(started))
        except httpx.HTTPError as failed:
            return Outcome(error=_error_text(failed), duration_ms=_since(started))
    assert answer is not None
    response, head = answer
    duration = _since(started)
    content = head.decode("utf-8", "replace")
    outcome = Outcome(
        status_code=response.status_code, body=content.replace("\x00", ""), duration_ms=duration
    )
    if not outcome.succeeded:
        outcome.error = f"HTTP {response.status_code}"
        if response.status_code in (429, 503):
            outcome.retry_after = retry_after(response.headers.get("retry-after"))
    return outcome


async def _post(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: dict[str, str],
    extensions: dict[str, Any],
) -> tuple[httpx.Response, bytes]:
    """The response and the first 2 KiB of its body: a receiver answering a huge body is not
    read further."""
    request = client.build_request(
        "POST", url, content=body, headers=headers, extensions=extensions
    )
    response = await client.send(request, stream=True, follow_redirects=False)
    try:
        head = b""
        async for chunk in response.aiter_bytes():
            head += chunk
            if len(head) >= RESPONSE_BODY_BYTES:
                break
    finally:
        await response.aclose()
    return response, head[:RESPONSE_BODY_BYTES]


def _error_text(failed: Exception) -> str:
    return f"{type(failed).__name__}: {failed}"[:500]


def _pinned(target: Target, address: IPAddress) -> tuple[str, dict[str, Any]]:
    """The request URL with the vetted address in place of the host, and the ``Host`` header
    and TLS SNI that keep the host name (public httpx APIs only)."""
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    pinned = httpx.URL(target.url).copy_with(host=str(address))
    extensions: dict[str, Any] = {}
    if target.scheme == "https":
        extensions["sni_hostname"] = target.host
    return str(pinned), {"headers": {"host": host_header}, "extensions": extensions}


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def retry_after(raw: str | None) -> float | None:
    """A ``Retry-After`` (seconds or an HTTP date) in seconds, capped at 24 h."""
    if not raw:
        return None
    raw = raw.strip()
    seconds: float | None
    if raw.isdigit():
        seconds = float(raw)
    else:
        try:
            seconds = (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return max(0.0, min(seconds, MAX_RETRY_AFTER_S))


def next_delay(attempts_made: int, settings: WebhookSettings) -> float | None:
    """Seconds until the next attempt after ``attempts_made`` attempts (±10 % jitter), or
    None when the schedule is spent."""
    schedule = settings.retry_schedule
    if attempts_made >= len(schedule):
        return None
    return schedule[attempts_made] * random.uniform(0.9, 1.1)


async def record(
    sessionmaker: async_sessionmaker[AsyncSession],
    claimed: Claimed,
    outcome: Outcome,
    settings: WebhookSettings,
    *,
    final: bool = False,
    gone: bool = False,
    blame: bool = True,
) -> None:
    """The attempt row, the delivery's new state and, for a delivery that ended, the
    endpoint's run of failures (disabling it at ``MERCATO_WEBHOOK_DISABLE_AFTER``); a failure
    that is not the endpoint's (``blame=False``: the event is gone) leaves that run alone."""
    attempts_made = claimed.attempt_count + 1
    async with sessionmaker() as session, session.begin():
        session.add(
            WebhookAttempt(
                delivery_id=claimed.id,
                status_code=outcome.status_code,
                duration_ms=outcome.duration_ms,
                error=outcome.error,
                response_body=outcome.body,
            )
        )
        values: dict[str, Any] = {
            "attempt_count": attempts_made,
            "last_attempt_at": func.now(),
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
            "lease_until": None,
            "updated_at": func.now(),
        }
        ended: str | None = None
        if outcome.succeeded:
            values.update(status="succeeded", next_attempt_at=None)
            ended = "succeeded"
        else:
            delay = None if final else next_delay(attempts_made, settings)
            if delay is not None and outcome.retry_after is not None:
                delay = max(delay, outcome.retry_after)
            if delay is None:
                values.update(status="failed", next_attempt_at=None)
                ended = "failed"
            else:
                values["next_attempt_at"] = func.now() + timedelta(seconds=delay)
        changed = await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == claimed.id, WebhookDelivery.status == "pending")
            .values(**values)
            .returning(WebhookDelivery.id)
        )
        if changed.first() is None:  # deleted or redelivered meanwhile: only the attempt stays
            return
        if gone:
            await _disable(session, claimed.webhook_id, "gone")
        if ended == "succeeded":
            await session.execute(
                update(Webhook)
                .where(Webhook.id == claimed.webhook_id)
                .values(consecutive_failures=0)
            )
        elif ended == "failed" and blame:
            failures = await session.scalar(
                update(Webhook)
                .where(Webhook.id == claimed.webhook_id)
                .values(consecutive_failures=Webhook.consecutive_failures + 1)
                .returning(Webhook.consecutive_failures)
            )
            if failures is not None and failures >= settings.disable_after:
                await _disable(session, claimed.webhook_id, "consecutive_failures")


async def _disable(session: AsyncSession, webhook_id: str, reason: str) -> None:
    """Disable an enabled endpoint; ``webhook.disabled {id}`` for an operator's endpoint (a
    seller's is not an event the marketplace subscribes to)."""
    disabled = (
        await session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id, Webhook.is_active.is_(True))
            .values(
                is_active=False,
                disabled_reason=reason,
                disabled_at=func.now(),
                updated_at=func.now(),
            )
            .returning(Webhook.seller_id)
        )
    ).first()
    if disabled is None:
        return
    log.warning("webhook %s disabled (%s)", webhook_id, reason)
    if disabled.seller_id is None:
        emit(session, WEBHOOK_DISABLED, {"id": webhook_id})

"""Webhooks on the durable event delivery: the ``webhooks`` subscriber turns each event into
one pending delivery per endpoint that may see it, and every event worker runs the dispatcher
that sends them (events-and-scale-out.md, Webhooks). A slow receiver holds a dispatcher slot,
never a checkout: deliveries are sent by workers, after the business transaction committed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.events import delivery
from mercato.events.delivery import Envelope, EventWorker
from mercato.events.service import subscribe
from mercato.webhooks.config import webhook_settings
from mercato.webhooks.dispatcher import run_due
from mercato.webhooks.service import fan_out

log = logging.getLogger("mercato.webhooks")
SUBSCRIBER = "webhooks"

# The relay writes a ``webhooks`` delivery only for an event some live endpoint could want (a
# superset of what ``fan_out`` sends: it also checks which names sellers may receive), so a
# marketplace without endpoints pays nothing per event (docs/benchmarks.md).
INTEREST = (
    "EXISTS (SELECT 1 FROM webhook w WHERE w.is_active AND w.deleted_at IS NULL"
    " AND w.events && ARRAY[o.name, '*']::varchar[]"
    " AND (w.seller_id IS NULL OR w.seller_id = o.seller_id))"
)


async def handle(event: Envelope, session: AsyncSession) -> None:
    await fan_out(session, event)


async def dispatch_forever(worker: EventWorker) -> None:
    """Send due deliveries until cancelled: at once while there is work, else every poll."""
    webhook_settings()  # a bad setting stops the worker at start, not at the first event
    idle = worker.config.poll_ms / 1000
    while True:
        try:
            sent = await run_due(worker.sessionmaker)
        except asyncio.CancelledError:
            raise
        except Exception:  # a failed pass must not stop the dispatcher; the next one retries
            log.exception("webhook dispatch pass failed")
            sent = 0
        if not sent:
            await asyncio.sleep(idle)


_registered: list[Callable[[], None]] = []


def register() -> Callable[[], None]:
    """Subscribe ``webhooks`` to every event and add the dispatcher to every event worker
    (once per process); returns the function that undoes both."""
    if not _registered:
        _registered.append(subscribe("*", handle, subscriber_id=SUBSCRIBER, interest=INTEREST))
        _registered.append(delivery.add_worker_task(SUBSCRIBER, dispatch_forever))

    def unregister() -> None:
        while _registered:
            _registered.pop()()

    return unregister

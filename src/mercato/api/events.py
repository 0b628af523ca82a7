"""``/admin/events``: what the outbox holds, who consumed each event, the delivery status and
dead letters (events-and-scale-out.md, Admin event routes)."""

from mercato.api.deps import Query, Session, UoW
from mercato.api.idempotency import IdempotencyKey
from mercato.api.openapi import (
    envelope,
    fields_parameter,
    list_operation,
    operation,
    render_operation,
)
from mercato.events import admin
from mercato.events.models import EventDeadLetter, OutboxEvent
from mercato.events.resources import (
    DEAD_LETTER,
    DEAD_LETTER_FIELDS,
    DEAD_LETTER_LIST,
    EVENT,
    EVENT_LIST,
)
from mercato.http.routing import APIRouter
from mercato.query.listing import find_or_404, run_list, run_retrieve
from mercato.query.openapi import item_schema

admin_router = APIRouter(prefix="/admin/events", tags=["admin: events"])

_TEXT = {"type": ["string", "null"]}
_COUNT = {"type": "integer", "minimum": 0}
_CONSUMER = envelope(
    {
        "subscriber": {"type": "string"},
        "status": {"enum": ["consumed", "pending", "dead"]},
        "attempts": {"type": ["integer", "null"]},
        "last_error": _TEXT,
        "consumed_at": _TEXT,
    }
)


def _event_operation() -> dict:
    """The rendered event plus its ``consumers``."""
    event = item_schema(EVENT, EVENT_LIST.fields)
    event = {
        **event,
        "properties": {
            **event["properties"],
            "consumers": {"type": "array", "items": _CONSUMER},
        },
        "required": [*event.get("required", []), "consumers"],
    }
    return operation(
        parameters=[fields_parameter(EVENT, EVENT_LIST.fields)], body=envelope({"event": event})
    )


_PROCESS = envelope(
    {
        "id": {"type": "string"},
        "kind": {"type": "string"},
        "host": {"type": "string"},
        "pid": {"type": "integer"},
        "pool_budget": {"type": "integer"},
        "started_at": _TEXT,
        "heartbeat_at": _TEXT,
        "status": {"type": ["object", "null"]},
    }
)
_STATUS = envelope(
    {
        "transport": {"enum": ["postgres", "redis"]},
        "outbox_backlog": _COUNT,
        "oldest_undispatched_at": _TEXT,
        "pending_deliveries": _COUNT,
        "pending_retries": _COUNT,
        "dead_letters": _COUNT,
        "processes": {"type": "array", "items": _PROCESS},
    }
)
_GROUP = envelope(
    {
        "subscriber": {"type": "string"},
        "lag": {"type": ["integer", "null"], "minimum": 0},
        "pending": _COUNT,
        "stalled": {"type": "boolean"},
    }
)
# ``groups``: the Redis consumer groups, only with the Redis transport.
_STATUS["properties"]["groups"] = {"type": "array", "items": _GROUP}


@admin_router.get("", operation_id="AdminListEvents", openapi_extra=list_operation(EVENT_LIST))
async def list_events(session: Session, params: Query) -> dict:
    """Filter with ``name``, ``resource_id``, ``seller_id`` and ``dispatched``; newest first
    (``order=seq`` for insert order)."""
    return await run_list(session, EVENT_LIST, params)


@admin_router.get(
    "/status", operation_id="AdminGetEventStatus", openapi_extra=operation(body=_STATUS)
)
async def event_status(session: Session) -> dict:
    """The transport, the outbox backlog, retries and dead letters, and the live processes."""
    return await admin.status(session)


@admin_router.get(
    "/dead-letters",
    operation_id="AdminListEventDeadLetters",
    openapi_extra=list_operation(DEAD_LETTER_LIST),
)
async def list_dead_letters(session: Session, params: Query) -> dict:
    """Events a subscriber failed on every attempt; filter with ``subscriber``, ``event_name``
    and ``failed_at``; newest first."""
    return await run_list(session, DEAD_LETTER_LIST, params)


@admin_router.post(
    "/dead-letters/{dead_letter_id}/retry",
    operation_id="AdminRetryEventDeadLetter",
    openapi_extra=render_operation(DEAD_LETTER, DEAD_LETTER_FIELDS),
)
async def retry_dead_letter(
    dead_letter_id: str,
    session: Session,
    uow: UoW,
    params: Query,
    idempotency_key: IdempotencyKey,
) -> dict:
    """Owe the event to its subscriber again, attempts from one; once per dead letter."""
    await admin.retry_dead_letter(uow, dead_letter_id)
    row = await find_or_404(session, EventDeadLetter, "Dead letter", dead_letter_id)
    return {
        "dead_letter": await run_retrieve(
            session, resource=DEAD_LETTER, rules=DEAD_LETTER_FIELDS, row=row, params=params
        )
    }


@admin_router.get(
    "/{event_id}",
    operation_id="AdminGetEvent",
    openapi_extra=_event_operation(),
)
async def get_event(event_id: str, session: Session, params: Query) -> dict:
    """The event with its ``consumers``: each subscriber's ``consumed``, ``pending`` or
    ``dead`` state."""
    row = await find_or_404(session, OutboxEvent, "Event", event_id)
    event = await run_retrieve(
        session, resource=EVENT, rules=EVENT_LIST.fields, row=row, params=params
    )
    event["consumers"] = await admin.consumers(session, event_id)
    return {"event": event}

from sqlalchemy import ColumnElement, all_, any_

from mercato.events.models import EventDeadLetter, OutboxEvent
from mercato.query.fields import FieldRules, Resource
from mercato.query.listing import Filter, ListSpec
from mercato.query.values import attr, timestamp

EVENT = Resource(
    name="event",
    fields={
        "id": attr("id"),
        "seq": attr("seq"),
        "name": attr("name"),
        "resource_id": attr("resource_id"),
        "seller_id": attr("seller_id"),
        "data": attr("data"),
        "created_at": timestamp("created_at"),
        "dispatched_at": timestamp("dispatched_at"),
    },
    defaults=(
        "id",
        "seq",
        "name",
        "resource_id",
        "seller_id",
        "data",
        "created_at",
        "dispatched_at",
    ),
)


def _dispatched(op: str, values: object) -> ColumnElement[bool]:
    """``dispatched=true|false``: whether the relay has handed the event on."""
    relayed = OutboxEvent.dispatched_at.is_not(None)
    if op in ("$ne", "$nin"):
        return relayed != all_(values)  # type: ignore[arg-type]
    return relayed == any_(values)  # type: ignore[arg-type]


EVENT_LIST = ListSpec(
    model=OutboxEvent,
    resource=EVENT,
    plural="events",
    fields=FieldRules(defaults=EVENT.defaults),
    filters={
        "id": Filter(OutboxEvent.id),
        "name": Filter(OutboxEvent.name),
        "resource_id": Filter(OutboxEvent.resource_id),
        "seller_id": Filter(OutboxEvent.seller_id),
        "dispatched": Filter(_dispatched, "boolean"),
        "created_at": Filter(OutboxEvent.created_at, "datetime"),
    },
    sortable={"created_at": OutboxEvent.created_at, "seq": OutboxEvent.seq},
)

DEAD_LETTER = Resource(
    name="dead_letter",
    fields={
        "id": attr("id"),
        "event_id": attr("event_id"),
        "event_name": attr("event_name"),
        "subscriber": attr("subscriber"),
        "attempts": attr("attempts"),
        "last_error": attr("last_error"),
        "failed_at": timestamp("failed_at"),
        "retried_at": timestamp("retried_at"),
        # When the row was written: its failure (every listed resource has ``created_at``).
        "created_at": timestamp("failed_at"),
    },
    defaults=(
        "id",
        "event_id",
        "event_name",
        "subscriber",
        "attempts",
        "last_error",
        "failed_at",
        "retried_at",
    ),
)
DEAD_LETTER_FIELDS = FieldRules(defaults=DEAD_LETTER.defaults)

DEAD_LETTER_LIST = ListSpec(
    model=EventDeadLetter,
    resource=DEAD_LETTER,
    plural="dead_letters",
    fields=DEAD_LETTER_FIELDS,
    filters={
        "id": Filter(EventDeadLetter.id),
        "event_id": Filter(EventDeadLetter.event_id),
        "event_name": Filter(EventDeadLetter.event_name),
        "subscriber": Filter(EventDeadLetter.subscriber),
        "failed_at": Filter(EventDeadLetter.failed_at, "datetime"),
    },
    sortable={"failed_at": EventDeadLetter.failed_at},
    default_order="-failed_at",
)

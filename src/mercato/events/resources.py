from mercato.events.models import OutboxEvent
from mercato.query.fields import FieldRules, Resource
from mercato.query.listing import Filter, ListSpec
from mercato.query.values import attr, timestamp

EVENT = Resource(
    name="event",
    fields={
        "id": attr("id"),
        "name": attr("name"),
        "resource_id": attr("resource_id"),
        "data": attr("data"),
        "created_at": timestamp("created_at"),
        "dispatched_at": timestamp("dispatched_at"),
    },
    defaults=("id", "name", "resource_id", "data", "created_at", "dispatched_at"),
)

EVENT_LIST = ListSpec(
    model=OutboxEvent,
    resource=EVENT,
    plural="events",
    fields=FieldRules(defaults=EVENT.defaults),
    filters={
        "id": Filter(OutboxEvent.id),
        "name": Filter(OutboxEvent.name),
        "resource_id": Filter(OutboxEvent.resource_id),
        "created_at": Filter(OutboxEvent.created_at, "datetime"),
    },
    sortable={"created_at": OutboxEvent.created_at},
)

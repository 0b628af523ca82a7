from mercato.query.fields import FieldRules, Resource
from mercato.query.listing import Filter, ListSpec, ilike_any
from mercato.query.values import attr, timestamp
from mercato.sales_channels.models import SalesChannel

SALES_CHANNEL = Resource(
    name="sales_channel",
    fields={
        "id": attr("id"),
        "name": attr("name"),
        "description": attr("description"),
        "is_disabled": attr("is_disabled"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    defaults=("id", "name", "description", "is_disabled", "metadata", "created_at", "updated_at"),
)
SALES_CHANNEL_FIELDS = FieldRules(defaults=SALES_CHANNEL.defaults)

SALES_CHANNEL_LIST = ListSpec(
    model=SalesChannel,
    resource=SALES_CHANNEL,
    plural="sales_channels",
    fields=SALES_CHANNEL_FIELDS,
    filters={
        "id": Filter(SalesChannel.id),
        "name": Filter(SalesChannel.name),
        "is_disabled": Filter(SalesChannel.is_disabled, "boolean"),
        "created_at": Filter(SalesChannel.created_at, "datetime"),
        "updated_at": Filter(SalesChannel.updated_at, "datetime"),
    },
    sortable={
        "created_at": SalesChannel.created_at,
        "updated_at": SalesChannel.updated_at,
        "name": SalesChannel.name,
    },
    q=lambda text: ilike_any(text, SalesChannel.name, SalesChannel.description),
    scope=(SalesChannel.deleted_at.is_(None),),
)

from mercato.api_keys.models import ApiKey, ApiKeySalesChannel
from mercato.query.fields import FieldRules, Relation, Resource
from mercato.query.listing import Filter, ListSpec, ilike_any
from mercato.query.loaders import through
from mercato.query.values import attr, timestamp
from mercato.sales_channels.models import SalesChannel
from mercato.sales_channels.resources import SALES_CHANNEL

API_KEY = Resource(
    name="api_key",
    fields={
        "id": attr("id"),
        "title": attr("title"),
        "type": attr("type"),
        # Publishable tokens are public; a secret token is never stored, so it reads as null.
        "token": attr("token"),
        "redacted": attr("redacted"),
        "created_by": attr("created_by"),
        "revoked_by": attr("revoked_by"),
        "revoked_at": timestamp("revoked_at"),
        "last_used_at": timestamp("last_used_at"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "sales_channels": Relation(
            lambda: SALES_CHANNEL,
            through(SalesChannel, ApiKeySalesChannel, "api_key_id", "sales_channel_id"),
            many=True,
        )
    },
    defaults=(
        "id",
        "title",
        "type",
        "token",
        "redacted",
        "created_by",
        "revoked_by",
        "revoked_at",
        "last_used_at",
        "created_at",
        "updated_at",
    ),
)
API_KEY_FIELDS = FieldRules(defaults=API_KEY.defaults)
API_KEY_DETAIL_FIELDS = FieldRules(
    defaults=(*API_KEY.defaults, "sales_channels.id", "sales_channels.name")
)

API_KEY_LIST = ListSpec(
    model=ApiKey,
    resource=API_KEY,
    plural="api_keys",
    fields=API_KEY_FIELDS,
    filters={
        "id": Filter(ApiKey.id),
        "type": Filter(ApiKey.type, choices=frozenset({"publishable", "secret"})),
        "revoked_at": Filter(ApiKey.revoked_at, "datetime"),
        "created_at": Filter(ApiKey.created_at, "datetime"),
        "updated_at": Filter(ApiKey.updated_at, "datetime"),
    },
    sortable={
        "created_at": ApiKey.created_at,
        "updated_at": ApiKey.updated_at,
        "title": ApiKey.title,
    },
    q=lambda text: ilike_any(text, ApiKey.title, ApiKey.redacted),
    scope=(ApiKey.deleted_at.is_(None),),
)

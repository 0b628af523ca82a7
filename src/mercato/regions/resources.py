from mercato.payments.providers import available_provider_ids
from mercato.query.fields import FieldRules, Resource
from mercato.query.listing import Filter, ListSpec, ilike_any
from mercato.query.values import attr, number, timestamp
from mercato.regions.models import Region

REGION = Resource(
    name="region",
    fields={
        "id": attr("id"),
        "name": attr("name"),
        "currency_code": attr("currency_code"),
        "countries": lambda r: [{"iso_2": c} for c in r.countries],
        "tax_rate": lambda r: number(r.tax_rate),
        "tax_inclusive": attr("tax_inclusive"),
        "automatic_taxes": lambda r: True,
        # A provider stays in a region when the server runs without it (pp_test), but is not usable.
        "payment_providers": lambda r: [
            {"id": p, "is_enabled": p in available_provider_ids()} for p in r.payment_providers
        ],
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    defaults=(
        "id",
        "name",
        "currency_code",
        "countries",
        "tax_rate",
        "tax_inclusive",
        "payment_providers",
        "metadata",
        "created_at",
        "updated_at",
    ),
)
REGION_FIELDS = FieldRules(defaults=REGION.defaults)
STORE_REGION_FIELDS = FieldRules(
    defaults=tuple(n for n in REGION.defaults if n != "metadata"),
    allowed=tuple(n for n in REGION.fields if n != "metadata"),
)

_FILTERS = {
    "id": Filter(Region.id),
    "currency_code": Filter(Region.currency_code),
    "created_at": Filter(Region.created_at, "datetime"),
    "updated_at": Filter(Region.updated_at, "datetime"),
}
_SORTABLE = {"created_at": Region.created_at, "updated_at": Region.updated_at, "name": Region.name}

REGION_LIST = ListSpec(
    model=Region,
    resource=REGION,
    plural="regions",
    fields=REGION_FIELDS,
    filters=_FILTERS,
    sortable=_SORTABLE,
    q=lambda text: ilike_any(text, Region.name),
    scope=(Region.deleted_at.is_(None),),
)
STORE_REGION_LIST = ListSpec(
    model=Region,
    resource=REGION,
    plural="regions",
    fields=STORE_REGION_FIELDS,
    filters=_FILTERS,
    sortable=_SORTABLE,
    default_order="name",
    q=lambda text: ilike_any(text, Region.name),
    scope=(Region.deleted_at.is_(None),),
)

"""How return reasons render and list: the admin's view, and the store's and vendors' (no
``metadata``, the operator's own notes)."""

from mercato.query.fields import FieldRules, Relation, Resource
from mercato.query.listing import Filter, ListSpec, ilike_any
from mercato.query.loaders import belongs_to, has_many
from mercato.query.values import attr, timestamp
from mercato.return_reasons.models import ReturnReason

RETURN_REASON: Resource = Resource(
    name="return_reason",
    fields={
        "id": attr("id"),
        "value": attr("value"),
        "label": attr("label"),
        "description": attr("description"),
        "parent_return_reason_id": attr("parent_return_reason_id"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "parent_return_reason": Relation(
            lambda: RETURN_REASON,
            belongs_to(ReturnReason, "parent_return_reason_id"),
            many=False,
        ),
        "return_reason_children": Relation(
            lambda: RETURN_REASON,
            has_many(
                ReturnReason,
                "parent_return_reason_id",
                order_by=(ReturnReason.created_at, ReturnReason.id),
                where=ReturnReason.deleted_at.is_(None),
            ),
            many=True,
        ),
    },
    defaults=(
        "id",
        "value",
        "label",
        "description",
        "parent_return_reason_id",
        "metadata",
        "created_at",
        "updated_at",
    ),
)
RETURN_REASON_FIELDS = FieldRules(defaults=RETURN_REASON.defaults)

_PUBLIC = tuple(n for n in RETURN_REASON.fields if n != "metadata")
# Store and vendor reads: every field but ``metadata``, and the parent and children likewise.
PUBLIC_RETURN_REASON_FIELDS = FieldRules(
    defaults=_PUBLIC,
    allowed=(
        *_PUBLIC,
        *(f"parent_return_reason.{n}" for n in _PUBLIC),
        *(f"return_reason_children.{n}" for n in _PUBLIC),
    ),
)

_FILTERS = {
    "id": Filter(ReturnReason.id),
    "value": Filter(ReturnReason.value),
    "label": Filter(ReturnReason.label),
    "parent_return_reason_id": Filter(ReturnReason.parent_return_reason_id),
    "created_at": Filter(ReturnReason.created_at, "datetime"),
    "updated_at": Filter(ReturnReason.updated_at, "datetime"),
}
_SORTABLE = {
    "created_at": ReturnReason.created_at,
    "updated_at": ReturnReason.updated_at,
    "value": ReturnReason.value,
    "label": ReturnReason.label,
}
_SCOPE = (ReturnReason.deleted_at.is_(None),)

RETURN_REASON_LIST = ListSpec(
    model=ReturnReason,
    resource=RETURN_REASON,
    plural="return_reasons",
    fields=RETURN_REASON_FIELDS,
    filters=_FILTERS,
    sortable=_SORTABLE,
    q=lambda text: ilike_any(text, ReturnReason.value, ReturnReason.label),
    scope=_SCOPE,
)
PUBLIC_RETURN_REASON_LIST = ListSpec(
    model=ReturnReason,
    resource=RETURN_REASON,
    plural="return_reasons",
    fields=PUBLIC_RETURN_REASON_FIELDS,
    filters=_FILTERS,
    sortable=_SORTABLE,
    q=lambda text: ilike_any(text, ReturnReason.value, ReturnReason.label),
    scope=_SCOPE,
)

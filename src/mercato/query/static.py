"""List conventions over rows held in code (the currency table) or over nothing at all (the
dashboard's lookups of concepts Mercato lacks, which always answer an empty page).

The request is validated exactly as :func:`mercato.query.listing.run_list` validates a table's:
unknown keys, operators, ``order`` fields, pages and ``fields`` are 400s with the same messages,
so a client cannot tell a static list from a stored one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.errors import invalid
from mercato.query.fields import FieldRules, RenderContext, Resource, render
from mercato.query.fields import select as select_fields
from mercato.query.listing import (
    MAX_LIMIT,
    MAX_OFFSET,
    Filter,
    check_text_length,
    page_number,
)
from mercato.query.openapi import (
    Schema,
    fields_parameter,
    filter_parameter,
    page_envelope,
    page_parameters,
)


def _never(op: str, values: Any) -> Any:
    """A static filter has no SQL: :func:`run_static_list` matches rows in Python."""
    raise NotImplementedError


def text_filter() -> Filter:
    """A string filter taking ``$eq $ne $in $nin`` and the shorthands, parsed like a table's."""
    return Filter(_never)


@dataclass(frozen=True)
class StaticList:
    """A list route over ``rows`` given per request: ``filters`` name row attributes (string
    equality), ``q`` the attributes searched case-insensitively, ``sortable`` the ``order``
    fields (ties broken by ``tie``)."""

    resource: Resource
    plural: str
    fields: FieldRules
    filters: Mapping[str, Filter] = field(default_factory=dict)
    sortable: Sequence[str] = ("created_at",)
    default_order: str = "created_at"
    q: Sequence[str] | None = None
    default_limit: int = 50
    tie: str = "id"


def _matches(value: Any, op: str, operand: Any) -> bool:
    values = operand if isinstance(operand, list) else [operand]
    inside = value in values
    return not inside if op in ("$ne", "$nin") else inside


async def run_static_list(
    session: AsyncSession, spec: StaticList, params: Mapping[str, Any], rows: Sequence[Any] = ()
) -> dict[str, Any]:
    """``{<plural>: [...], count, offset, limit}`` over ``rows``, filtered, searched, sorted,
    paged and rendered with ``fields``."""
    known = {"limit", "offset", "order", "fields"} | set(spec.filters)
    if spec.q is not None:
        known.add("q")
    unknown = [k for k in params if k not in known]
    if unknown:
        raise invalid(
            f"Invalid request: Unrecognized fields: {', '.join(repr(k) for k in unknown)}"
        )
    limit = page_number("limit", params.get("limit"), spec.default_limit, MAX_LIMIT)
    offset = page_number("offset", params.get("offset"), 0, MAX_OFFSET)
    order = params.get("order", spec.default_order)
    if not isinstance(order, str) or not order:
        raise invalid("order must be a field name, optionally prefixed with -")
    if order.removeprefix("-") not in spec.sortable:
        raise invalid(f"Order field {order.removeprefix('-')} is not valid")
    fields_param = params.get("fields")
    if fields_param is not None and not isinstance(fields_param, str):
        raise invalid("fields must be a comma-separated string")
    tree = select_fields(spec.resource, spec.fields, fields_param)
    matched = list(rows)
    for name, raw in params.items():
        if name in spec.filters:
            for op, operand in spec.filters[name].terms(name, raw):
                matched = [r for r in matched if _matches(getattr(r, name), op, operand)]
    q = params.get("q")
    if q is not None:
        if not isinstance(q, str):
            raise invalid("q must be a single value")
        check_text_length("q", q)
        needle = q.lower()
        matched = [
            r
            for r in matched
            if any(needle in str(getattr(r, a) or "").lower() for a in spec.q or ())
        ]
    key = order.removeprefix("-")
    matched.sort(key=lambda r: (getattr(r, key), getattr(r, spec.tie)))
    if order.startswith("-"):
        matched.reverse()
    page = matched[offset : offset + limit]
    items = await render(RenderContext(session), spec.resource, page, tree)
    return {spec.plural: items, "count": len(matched), "offset": offset, "limit": limit}


def static_list_parameters(spec: StaticList) -> list[Schema]:
    """Every query parameter :func:`run_static_list` accepts for ``spec`` (OpenAPI)."""
    parameters = [
        *page_parameters(
            sortable=spec.sortable,
            default_limit=spec.default_limit,
            default_order=spec.default_order,
            tie=spec.tie,
        ),
        fields_parameter(spec.resource, spec.fields),
    ]
    if spec.q is not None:
        parameters.append(
            {
                "name": "q",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "Case-insensitive substring search.",
            }
        )
    parameters.extend(filter_parameter(name, spec.filters[name]) for name in sorted(spec.filters))
    return parameters


def static_list_envelope(spec: StaticList) -> Schema:
    return page_envelope(spec.plural, spec.resource, spec.fields)

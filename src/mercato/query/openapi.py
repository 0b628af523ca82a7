"""A route's query string and response body as OpenAPI, derived from its ``ListSpec`` or field
rules — the same objects that validate and render the request, so the documentation cannot
drift from what the route accepts: a new filter, operator or sortable field is documented by
being declared.

Filters are ``deepObject`` parameters (``created_at[$gte]=…&created_at[$lt]=…``): one parameter
per filter whose properties are its operators. The shorthands the API also accepts
(``status=x`` for ``status[$eq]=x``, ``id=a&id=b`` or ``id[]=a`` for ``id[$in]``) are named in
each filter's description; OpenAPI cannot give one parameter two styles.
"""

from __future__ import annotations

from typing import Any

from mercato.query.fields import Computed, Field, FieldRules, Resource
from mercato.query.listing import LISTS, MAX_LIMIT, MAX_OFFSET, Filter, ListSpec

Schema = dict[str, Any]

# How deep response schemas spell out nested relations; deeper levels are plain objects.
_NESTING = 3
_INT64 = {"minimum": -(2**63), "maximum": 2**63 - 1}
_VALUE_SCHEMAS: dict[str, Schema] = {
    "string": {"type": "string"},
    "datetime": {"type": "string", "format": "date-time"},
    "number": {"type": "integer", **_INT64},
    "boolean": {"type": "boolean"},
}
_OPERATOR_MEANING = {
    "$eq": "equal to",
    "$ne": "not equal to",
    "$in": "any of",
    "$nin": "none of",
    "$gt": "after / greater than",
    "$gte": "at or after / at least",
    "$lt": "before / less than",
    "$lte": "at or before / at most",
}


def page_parameters(
    *, sortable: Any, default_limit: int, default_order: str, tie: str
) -> list[Schema]:
    """``limit``, ``offset`` and ``order`` as every list route (stored or static) takes them."""
    order = [name for name in sorted(sortable) for name in (name, f"-{name}")]
    return [
        _query(
            "limit",
            {"type": "integer", "minimum": 0, "maximum": MAX_LIMIT, "default": default_limit},
            "Page size.",
        ),
        _query(
            "offset",
            {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
            "Matches to skip.",
        ),
        _query(
            "order",
            {"type": "string", "enum": order, "default": default_order},
            f"Sort field, `-` for descending; ties are broken by `{tie}`.",
        ),
    ]


def list_parameters(spec: ListSpec) -> list[Schema]:
    """Every query parameter ``run_list`` accepts for ``spec``."""
    parameters = [
        *page_parameters(
            sortable=spec.sortable,
            default_limit=spec.default_limit,
            default_order=spec.default_order,
            tie="id",
        ),
        fields_parameter(spec.resource, spec.fields),
    ]
    if spec.q is not None:
        parameters.append(
            _query(
                "q",
                {"type": "string"},
                "Case-insensitive substring search (`%` and `_` are literal).",
            )
        )
    parameters.extend(filter_parameter(name, spec.filters[name]) for name in sorted(spec.filters))
    return parameters


def filter_parameter(name: str, filter_: Filter) -> Schema:
    """One filter as a ``deepObject`` whose properties are the operators it supports."""
    value = dict(_VALUE_SCHEMAS[filter_.kind])
    if filter_.choices is not None:
        value["enum"] = sorted(filter_.choices)
    operators = sorted(filter_.operators)
    properties = {
        op: {"type": "array", "items": value, "minItems": 1} if op in LISTS else value
        for op in operators
    }
    meanings = ", ".join(f"`{op}` ({_OPERATOR_MEANING[op]})" for op in operators)
    return {
        "name": name,
        "in": "query",
        "required": False,
        "style": "deepObject",
        "explode": True,
        "schema": {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
            "minProperties": 1,
        },
        "description": (
            f"Filter on `{name}`: `{name}[<operator>]=<value>` with {meanings}. "
            f"Shorthands: `{name}=x` is `{name}[$eq]=x`; `{name}=a&{name}=b`, "
            f"`{name}[]=a&{name}[]=b` and `{name}[0]=a&{name}[1]=b` are `{name}[$in]`."
        ),
    }


def fields_parameter(resource: Resource, rules: FieldRules) -> Schema:
    """``fields`` with the route's default selection."""
    return _query(
        "fields",
        {"type": "string"},
        "Comma-separated selection (Medusa's FieldParser): when some entry is a bare name, the "
        "entries replace the defaults (each selected, a leading `+` or `-` ignored); otherwise "
        "they apply in order to the defaults: `+x` adds, `-x` removes `x` and what is below it, "
        "`*rel` or `rel.*` selects a relation's defaults, `rel.x` one of its fields; `id` is "
        "always returned. Default: "
        + ", ".join(f"`{path}`" for path in rules.defaults)
        + "."
        + (
            " Always returned: " + ", ".join(f"`{path}`" for path in rules.always) + "."
            if rules.always
            else ""
        ),
    )


def item_schema(resource: Resource, rules: FieldRules) -> Schema:
    """An object as the route renders it: only fields and relations the rules allow, ``id``
    always there."""
    return _object(resource, rules, prefix="", depth=0)


def list_envelope(spec: ListSpec) -> Schema:
    """``{<plural>: [...], count, offset, limit}``."""
    return page_envelope(spec.plural, spec.resource, spec.fields)


def page_envelope(plural: str, resource: Resource, rules: FieldRules) -> Schema:
    """A page of ``resource`` items as every list route (stored or static) answers it."""
    counter = {"type": "integer", "minimum": 0}
    return {
        "type": "object",
        "properties": {
            plural: {"type": "array", "items": item_schema(resource, rules)},
            "count": counter,
            "offset": counter,
            "limit": counter,
        },
        "required": [plural, "count", "offset", "limit"],
        "additionalProperties": False,
    }


def _object(resource: Resource, rules: FieldRules, prefix: str, depth: int) -> Schema:
    properties: dict[str, Schema] = {}
    for name, spec in resource.fields.items():
        if name == "id":
            properties[name] = {"type": "string"}
        elif _visible(rules, prefix + name):
            properties[name] = _field_schema(spec)
    for name, relation in resource.relations.items():
        path = prefix + name
        if not _visible(rules, path):
            continue
        target: Schema = (
            _object(relation.target(), rules, f"{path}.", depth + 1)
            if depth + 1 < _NESTING
            else {"type": "object"}
        )
        if relation.many:
            properties[name] = {"type": "array", "items": target}
        else:
            properties[name] = {"anyOf": [target, {"type": "null"}]}
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if "id" in resource.fields:
        always = [p for p in rules.always if not prefix and "." not in p and p != "id"]
        schema["required"] = ["id", *always]
    return schema


def _visible(rules: FieldRules, path: str) -> bool:
    """Whether a response may hold ``path``: allowed, or among the defaults."""
    return rules.allows(path) or any(
        default == path or default.startswith(f"{path}.") for default in rules.defaults
    )


def _field_schema(spec: Field | Computed | Any) -> Schema:
    """What a field's value may be: its declared ``schema`` when it has one, else anything."""
    declared = getattr(spec, "schema", None)
    return dict(declared) if declared else {}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }

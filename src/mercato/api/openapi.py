"""``/openapi.json`` as the API really behaves.

FastAPI's generated schema knows neither how the audiences authenticate (the dependencies read
headers themselves) nor the query strings (routes parse them with ``qs`` semantics), and it
documents a 422 validation error the API answers with 400. This module completes it once, when
the schema is first asked for:

- **security**: each operation's requirement follows from the dependencies the route runs
  (``admin``, ``store``, ``vendor``, ``customer``, ``optional_customer``);
- **query strings and bodies**: routes declare them with :func:`list_operation`,
  :func:`render_operation` and friends (``openapi_extra=``), generated from the same
  ``ListSpec``/field rules that validate and render the request;
- **errors**: the ``{type, message, code?}`` responses each operation can give, inferred from
  what it takes (parameters, a body, credentials, path ids, ``Idempotency-Key``) plus those a
  route declares (:func:`error_responses`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from mercato.api import deps
from mercato.http.route_list import api_routes
from mercato.query.fields import FieldRules, Resource
from mercato.query.listing import ListSpec
from mercato.query.openapi import (
    Schema,
    fields_parameter,
    item_schema,
    list_envelope,
    list_parameters,
)

ADMIN_TOKEN = "admin_token"
ADMIN_SECRET_KEY = "admin_secret_key"
PUBLISHABLE_KEY = "publishable_key"
CUSTOMER_TOKEN = "customer_token"
MEMBER_TOKEN = "member_token"

SECURITY_SCHEMES: dict[str, Schema] = {
    ADMIN_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An admin user's token from `POST /auth/user/emailpass`.",
    },
    ADMIN_SECRET_KEY: {
        "type": "http",
        "scheme": "basic",
        "description": "A secret API key as the user name and an empty password: "
        '`Authorization: Basic base64("sk_…:")`.',
    },
    PUBLISHABLE_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": "x-publishable-api-key",
        "description": "A publishable API key `pk_…`; it selects the store's sales channels. "
        "Required on every `/store` request.",
    },
    CUSTOMER_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A customer's token from `POST /auth/customer/emailpass` (or, for "
        "`POST /store/customers`, the registration token from "
        "`POST /auth/customer/emailpass/register`).",
    },
    MEMBER_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A seller member's token from `POST /auth/seller/emailpass`.",
    },
}

# Status → (the shared response's name, description, the error types answered with it).
ERRORS: dict[int, tuple[str, str, tuple[str, ...]]] = {
    400: (
        "BadRequest",
        "Invalid request, or a store request without a valid publishable key.",
        ("invalid_data", "not_allowed"),
    ),
    401: ("Unauthorized", "Missing or invalid credentials.", ("unauthorized",)),
    404: (
        "NotFound",
        "Not found (so is another seller's or customer's data).",
        ("not_found",),
    ),
    409: (
        "Conflict",
        "Conflicts with a request still running (the same `Idempotency-Key`), or changes a "
        "cart whose completion is in flight.",
        ("conflict",),
    ),
    413: ("PayloadTooLarge", "The request body is too large.", ("payload_too_large",)),
    422: (
        "Unprocessable",
        "A duplicate, or a payment the provider refused.",
        ("duplicate_error", "payment_authorization_error", "payment_requires_more_error"),
    ),
    500: (
        "ServerError",
        "An unexpected error; the body never carries details.",
        ("unknown_error",),
    ),
}
ERROR_SCHEMA: Schema = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "message": {"type": "string"},
        "code": {"type": "string"},
    },
    "required": ["type", "message"],
    "additionalProperties": False,
}
_ERROR_REF = "#/components/schemas/Error"
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def install_openapi(app: FastAPI) -> None:
    """Serve the completed schema at ``app.openapi_url`` (generated once, on first use)."""

    def openapi() -> dict[str, Any]:
        if not app.openapi_schema:
            app.openapi_schema = build_schema(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def build_schema(app: FastAPI) -> dict[str, Any]:
    routes = api_routes(app.routes)
    schema = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=routes,
        separate_input_output_schemas=app.separate_input_output_schemas,
    )
    components = schema.setdefault("components", {})
    components["securitySchemes"] = dict(SECURITY_SCHEMES)
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    components["responses"] = {name: _error_body(status) for status, (name, *_) in ERRORS.items()}
    for route in routes:
        if not route.include_in_schema:
            continue
        for method in sorted(route.methods or ()):
            operation = schema["paths"][route.path_format][method.lower()]
            _complete(operation, route)
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    return schema


def _complete(operation: dict[str, Any], route: APIRoute) -> None:
    if "security" not in operation:  # a route may declare its own (``openapi_extra``)
        operation["security"] = security_requirements(_dependency_calls(route))
    statuses = _inferred_errors(operation) | _declared_errors(route)
    responses = operation["responses"]
    for status in [key for key in responses if key[0] in "45"]:
        del responses[status]  # FastAPI's 422 ``HTTPValidationError`` among them
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/{ERRORS[status][0]}"}


def security_requirements(calls: set[Callable[..., Any]]) -> list[dict[str, list[str]]]:
    """The alternatives (OR) of scheme sets (AND) a route with these dependencies accepts."""
    if deps.admin in calls:
        return [{ADMIN_TOKEN: []}, {ADMIN_SECRET_KEY: []}]
    if deps.vendor in calls:
        return [{MEMBER_TOKEN: []}]
    if deps.store in calls:
        if deps.customer in calls:
            return [{PUBLISHABLE_KEY: [], CUSTOMER_TOKEN: []}]
        if deps.optional_customer in calls:
            return [{PUBLISHABLE_KEY: [], CUSTOMER_TOKEN: []}, {PUBLISHABLE_KEY: []}]
        return [{PUBLISHABLE_KEY: []}]
    return []


def _dependency_calls(route: APIRoute) -> set[Callable[..., Any]]:
    """Every dependency the route runs, nested ones and its router's included."""
    found: set[Callable[..., Any]] = set()
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if dependant.call is not None:
            found.add(dependant.call)
        pending.extend(dependant.dependencies)
    return found


def _inferred_errors(operation: dict[str, Any]) -> set[int]:
    parameters = operation.get("parameters", [])
    schemes = {name for requirement in operation["security"] for name in requirement}
    errors = {500}
    if parameters or "requestBody" in operation or schemes:
        errors.add(400)
    if schemes - {PUBLISHABLE_KEY}:
        errors.add(401)
    if any(p["in"] == "path" for p in parameters):
        errors.add(404)
    if any(p["in"] == "header" and p["name"].lower() == "idempotency-key" for p in parameters):
        errors.add(409)
    if "requestBody" in operation:
        errors.add(413)
    return errors


def _declared_errors(route: APIRoute) -> set[int]:
    declared = [*(route.responses or {}), *((route.openapi_extra or {}).get("responses", {}))]
    return {int(status) for status in declared if str(status)[0] in "45"}


def _error_body(status: int) -> Schema:
    _, description, types = ERRORS[status]
    schema = {"allOf": [{"$ref": _ERROR_REF}, {"properties": {"type": {"enum": list(types)}}}]}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# --------------------------------------------------------------------------- route declarations


def list_operation(spec: ListSpec) -> dict[str, Any]:
    """``openapi_extra`` of a list route: its filters, ``q``, order, page and ``fields``, and
    the ``{<plural>, count, offset, limit}`` envelope."""
    return {"parameters": list_parameters(spec), "responses": _ok(list_envelope(spec))}


def render_operation(
    resource: Resource,
    rules: FieldRules,
    *,
    key: str | None = None,
    fields: bool = True,
    errors: Iterable[int] = (),
) -> dict[str, Any]:
    """``openapi_extra`` of a route answering ``{<key>: <resource>}`` rendered with ``rules``
    (``key`` defaults to the resource's name); ``fields`` is its only query parameter."""
    body = envelope({key or resource.name: item_schema(resource, rules)})
    parameters = [fields_parameter(resource, rules)] if fields else []
    return operation(parameters=parameters, body=body, errors=errors)


def delete_operation(
    *, parent: Schema | None = None, parameters: Sequence[Schema] = ()
) -> dict[str, Any]:
    """``{id, object, deleted: true}`` (Medusa's shape), with ``parent`` when the route adds it."""
    properties: dict[str, Schema] = {
        "id": {"type": "string"},
        "object": {"type": "string"},
        "deleted": {"const": True},
    }
    if parent is not None:
        properties["parent"] = parent
    return operation(parameters=parameters, body=envelope(properties))


def operation(
    *,
    parameters: Sequence[Schema] = (),
    body: Schema | None = None,
    errors: Iterable[int] = (),
) -> dict[str, Any]:
    """``openapi_extra`` for anything else: query parameters, the 200 body, and error statuses
    the route answers besides those inferred for it."""
    extra: dict[str, Any] = {}
    if parameters:
        extra["parameters"] = list(parameters)
    responses: dict[str, Any] = _ok(body) if body is not None else {}
    responses.update(error_responses(*errors))
    if responses:
        extra["responses"] = responses
    return extra


def error_responses(*statuses: int) -> dict[str, Schema]:
    """Error statuses a route answers that cannot be inferred (e.g. 422 for a duplicate); the
    body schema is filled in by :func:`build_schema`."""
    return {str(status): {"description": ERRORS[status][1]} for status in statuses}


def query_parameter(
    name: str, schema: Schema, description: str, *, required: bool = False
) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


def envelope(properties: dict[str, Schema]) -> Schema:
    """An object with exactly these keys."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _ok(body: Schema) -> dict[str, Any]:
    return {"200": {"content": {"application/json": {"schema": body}}}}

"""The admin dashboard's shell and lookup routes (admin-dashboard.md §2 and §4).

Medusa's dashboard calls these on every page or in forms; each answers in Medusa's shape with
what Mercato has: no feature flags, no cloud login, no saved layouts, no notifications or
plugins, and no product types, tags, refund reasons or price preferences (empty lists)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mercato.api.deps import Query, Session
from mercato.api.openapi import delete_operation, envelope, error_responses, operation
from mercato.errors import invalid, not_allowed
from mercato.http.routing import APIRouter
from mercato.query.fields import FieldRules, Resource
from mercato.query.static import (
    StaticList,
    run_static_list,
    static_list_envelope,
    static_list_parameters,
    text_filter,
)
from mercato.query.values import attr, timestamp

# Open routes: the dashboard calls them before login (Medusa: ``AUTHENTICATE = false``).
public_router = APIRouter(tags=["admin: dashboard"])
admin_router = APIRouter(prefix="/admin", tags=["admin: dashboard"])
auth_router = APIRouter(prefix="/auth", tags=["auth"])

ZONE_LENGTH = 255
LAYOUTS_NOT_SAVED = "Saving dashboard layouts is not supported"
EMAILPASS = {
    "id": "emailpass",
    "identifier": "emailpass",
    "display_name": "Email/Password Authentication",
    "flow": "credentials",
}


def no_query(params: Mapping[str, Any]) -> None:
    """Routes that take no query string refuse one, as every route refuses unknown keys."""
    if params:
        raise invalid(f"Invalid request: Unrecognized fields: {', '.join(map(repr, params))}")


def _fixed(properties: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` of a route with no query string answering ``properties``."""
    return operation(body=envelope(properties), errors=(400,))


# ------------------------------------------------------------------------------- §2 auth

_PROVIDER = envelope(
    {
        "id": {"type": "string"},
        "identifier": {"type": "string"},
        "display_name": {"type": "string"},
        "flow": {"type": "string"},
    }
)
_PROVIDERS = _fixed({"providers": {"type": "array", "items": _PROVIDER}})


def _providers(params: Mapping[str, Any]) -> dict[str, Any]:
    no_query(params)
    return {"providers": [dict(EMAILPASS)]}


@auth_router.get("/user/providers", operation_id="GetAuthUserProviders", openapi_extra=_PROVIDERS)
async def user_providers(params: Query) -> dict:
    """The login form appears only when ``emailpass`` is listed."""
    return _providers(params)


@auth_router.get(
    "/customer/providers", operation_id="GetAuthCustomerProviders", openapi_extra=_PROVIDERS
)
async def customer_providers(params: Query) -> dict:
    return _providers(params)


@auth_router.get(
    "/seller/providers", operation_id="GetAuthSellerProviders", openapi_extra=_PROVIDERS
)
async def seller_providers(params: Query) -> dict:
    return _providers(params)


# ------------------------------------------------------------------------------- §4 shell


@public_router.get(
    "/admin/feature-flags",
    operation_id="AdminGetFeatureFlags",
    openapi_extra=_fixed(
        {"feature_flags": {"type": "object", "properties": {}, "additionalProperties": False}}
    ),
)
async def feature_flags(params: Query) -> dict:
    """Every flag off: the dashboard keeps its classic tables and calls no view-configuration,
    translation or RBAC route."""
    no_query(params)
    return {"feature_flags": {}}


@public_router.get(
    "/cloud/auth",
    operation_id="GetCloudAuth",
    openapi_extra=_fixed({"enabled": {"const": False}}),
)
async def cloud_auth(params: Query) -> dict:
    """No Medusa Cloud login."""
    no_query(params)
    return {"enabled": False}


_LAYOUT = _fixed(
    {
        "personal_configuration": {"type": "null"},
        "default_configuration": {"type": "null"},
        "active_scope": {"const": "personal"},
    }
)


def _refused_delete() -> dict[str, Any]:
    extra = delete_operation()
    extra["responses"].update(error_responses(400))
    return extra


def _zone(zone: str) -> None:
    if len(zone) > ZONE_LENGTH:
        raise invalid(f"zone must be at most {ZONE_LENGTH} characters")


@admin_router.get(
    "/layouts/{zone}/configuration",
    operation_id="AdminGetLayoutConfiguration",
    openapi_extra=_LAYOUT,
)
async def layout_configuration(zone: str, params: Query) -> dict:
    """No saved layout for any zone: the dashboard uses its built-in one."""
    _zone(zone)
    no_query(params)
    return {
        "personal_configuration": None,
        "default_configuration": None,
        "active_scope": "personal",
    }


@admin_router.post(
    "/layouts/{zone}/configuration",
    operation_id="AdminSaveLayoutConfiguration",
    openapi_extra=operation(
        body=envelope({"layout_configuration": {"type": "object"}}), errors=(400,)
    ),
)
async def save_layout_configuration(zone: str) -> dict:
    raise not_allowed(LAYOUTS_NOT_SAVED)


@admin_router.delete(
    "/layouts/{zone}/configuration",
    operation_id="AdminDeleteLayoutConfiguration",
    openapi_extra=_refused_delete(),
)
async def delete_layout_configuration(zone: str) -> dict:
    raise not_allowed(LAYOUTS_NOT_SAVED)


def _resource(name: str, fields: tuple[str, ...], times: tuple[str, ...] = ()) -> Resource:
    """A Medusa resource Mercato never has rows of: its fields, for ``fields`` validation."""
    spec: dict[str, Any] = {field: attr(field) for field in fields}
    spec.update({field: timestamp(field) for field in times})
    return Resource(name=name, fields=spec, defaults=(*fields, *times))


def _empty_list(
    resource: Resource, plural: str, filters: tuple[str, ...] = ("id",), q: bool = True
) -> StaticList:
    return StaticList(
        resource=resource,
        plural=plural,
        fields=FieldRules(defaults=resource.defaults),
        filters={name: text_filter() for name in filters},
        sortable=tuple(name for name in ("created_at", "updated_at") if name in resource.fields),
        q=("id",) if q else None,
    )


LAYOUTS = _empty_list(
    _resource(
        "layout_configuration",
        ("id", "zone", "configuration", "is_system_default", "user_id"),
        ("created_at", "updated_at"),
    ),
    "layout_configurations",
    filters=("id", "zone"),
    q=False,
)
NOTIFICATIONS = _empty_list(
    _resource(
        "notification",
        (
            "id",
            "to",
            "channel",
            "template",
            "data",
            "trigger_type",
            "resource_id",
            "resource_type",
        ),
        ("created_at",),
    ),
    "notifications",
    filters=("id", "to", "channel", "template", "trigger_type", "resource_id", "resource_type"),
    q=False,
)
_TIMES = ("created_at", "updated_at", "deleted_at")
PRODUCT_TYPES = _empty_list(
    _resource("product_type", ("id", "value", "metadata"), _TIMES), "product_types"
)
PRODUCT_TAGS = _empty_list(
    _resource("product_tag", ("id", "value", "metadata"), _TIMES), "product_tags"
)
REFUND_REASONS = _empty_list(
    _resource("refund_reason", ("id", "label", "code", "description", "metadata"), _TIMES),
    "refund_reasons",
)
PRICE_PREFERENCES = _empty_list(
    _resource("price_preference", ("id", "attribute", "value", "is_tax_inclusive"), _TIMES),
    "price_preferences",
    filters=("id", "attribute", "value"),
)


def _list_operation(spec: StaticList) -> dict[str, Any]:
    return {
        "parameters": static_list_parameters(spec),
        "responses": {
            "200": {"content": {"application/json": {"schema": static_list_envelope(spec)}}}
        },
    }


@admin_router.get(
    "/layouts/configurations",
    operation_id="AdminListLayoutConfigurations",
    openapi_extra=_list_operation(LAYOUTS),
)
async def layout_configurations(session: Session, params: Query) -> dict:
    return await run_static_list(session, LAYOUTS, params)


@admin_router.get(
    "/notifications",
    operation_id="AdminListNotifications",
    openapi_extra=_list_operation(NOTIFICATIONS),
)
async def notifications(session: Session, params: Query) -> dict:
    """Mercato sends no notifications of its own (webhooks carry its events)."""
    return await run_static_list(session, NOTIFICATIONS, params)


@admin_router.get(
    "/plugins",
    operation_id="AdminListPlugins",
    openapi_extra=_fixed({"plugins": {"type": "array", "maxItems": 0}}),
)
async def plugins(params: Query) -> dict:
    """No loyalty plugin: the order page shows credit lines as credit lines."""
    no_query(params)
    return {"plugins": []}


@admin_router.get(
    "/product-types",
    operation_id="AdminListProductTypes",
    openapi_extra=_list_operation(PRODUCT_TYPES),
)
async def product_types(session: Session, params: Query) -> dict:
    """Mercato has no product types: the products list hides its type filter."""
    return await run_static_list(session, PRODUCT_TYPES, params)


@admin_router.get(
    "/product-tags",
    operation_id="AdminListProductTags",
    openapi_extra=_list_operation(PRODUCT_TAGS),
)
async def product_tags(session: Session, params: Query) -> dict:
    """Mercato has no product tags: the products list hides its tag filter."""
    return await run_static_list(session, PRODUCT_TAGS, params)


@admin_router.get(
    "/refund-reasons",
    operation_id="AdminListRefundReasons",
    openapi_extra=_list_operation(REFUND_REASONS),
)
async def refund_reasons(session: Session, params: Query) -> dict:
    """Refund reasons are free text in Mercato (``note``)."""
    return await run_static_list(session, REFUND_REASONS, params)


@admin_router.get(
    "/price-preferences",
    operation_id="AdminListPricePreferences",
    openapi_extra=_list_operation(PRICE_PREFERENCES),
)
async def price_preferences(session: Session, params: Query) -> dict:
    """Tax inclusivity is set per region (``tax_inclusive``), never per price preference."""
    return await run_static_list(session, PRICE_PREFERENCES, params)

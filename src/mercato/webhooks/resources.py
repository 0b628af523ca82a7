"""How webhook endpoints, their deliveries and attempts render and list. A secret never
renders here: only the create and rotate responses add it, once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, or_
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from mercato.query.fields import FieldRules, Relation, Resource
from mercato.query.listing import Filter, ListSpec, ilike_any
from mercato.query.loaders import has_many
from mercato.query.values import attr, timestamp
from mercato.webhooks.models import DELIVERY_STATUSES, Webhook, WebhookAttempt, WebhookDelivery

WEBHOOK: Resource = Resource(
    name="webhook",
    fields={
        "id": attr("id"),
        "url": attr("url"),
        "description": attr("description"),
        "events": attr("events"),
        "is_active": attr("is_active"),
        "disabled_reason": attr("disabled_reason"),
        "disabled_at": timestamp("disabled_at"),
        "consecutive_failures": attr("consecutive_failures"),
        "seller_id": attr("seller_id"),
        "secret_hint": attr("secret_hint"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
)
WEBHOOK.defaults = tuple(WEBHOOK.fields)
WEBHOOK_FIELDS = FieldRules(defaults=WEBHOOK.defaults)

ATTEMPT: Resource = Resource(
    name="attempt",
    fields={
        "id": attr("id"),
        "attempted_at": timestamp("attempted_at"),
        "status_code": attr("status_code"),
        "duration_ms": attr("duration_ms"),
        "error": attr("error"),
        "response_body": attr("response_body"),
    },
)
ATTEMPT.defaults = tuple(ATTEMPT.fields)

DELIVERY: Resource = Resource(
    name="delivery",
    fields={
        "id": attr("id"),
        "webhook_id": attr("webhook_id"),
        "event_id": attr("event_id"),
        "event_name": attr("event_name"),
        "status": attr("status"),
        "attempt_count": attr("attempt_count"),
        "next_attempt_at": timestamp("next_attempt_at"),
        "last_attempt_at": timestamp("last_attempt_at"),
        "last_status_code": attr("last_status_code"),
        "last_error": attr("last_error"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "attempts": Relation(
            lambda: ATTEMPT,
            has_many(
                WebhookAttempt,
                "delivery_id",
                order_by=(WebhookAttempt.attempted_at, WebhookAttempt.id),
            ),
            many=True,
        )
    },
)
DELIVERY.defaults = tuple(DELIVERY.fields)
DELIVERY_FIELDS = FieldRules(defaults=DELIVERY.defaults)
DELIVERY_DETAIL_FIELDS = FieldRules(
    defaults=(*DELIVERY.defaults, *(f"attempts.{n}" for n in ATTEMPT.fields))
)


def _subscribed(op: str, values: BindParameter[Any]) -> ColumnElement[bool]:
    """``event=<name>``: endpoints subscribed to it by name or through ``*``."""
    matches = or_(Webhook.events.overlap(values), Webhook.events.any_() == "*")
    return ~matches if op in ("$ne", "$nin") else matches


_FILTERS = {
    "id": Filter(Webhook.id),
    "is_active": Filter(Webhook.is_active, "boolean"),
    "seller_id": Filter(Webhook.seller_id),
    "event": Filter(_subscribed),
    "created_at": Filter(Webhook.created_at, "datetime"),
    "updated_at": Filter(Webhook.updated_at, "datetime"),
}
_SORTABLE = {"created_at": Webhook.created_at, "updated_at": Webhook.updated_at}

WEBHOOK_LIST = ListSpec(
    model=Webhook,
    resource=WEBHOOK,
    plural="webhooks",
    fields=WEBHOOK_FIELDS,
    filters=_FILTERS,
    sortable=_SORTABLE,
    q=lambda text: ilike_any(text, Webhook.url),
    scope=(Webhook.deleted_at.is_(None),),
)
VENDOR_WEBHOOK_SCOPE = (Webhook.seller_id == bindparam("seller_id"),)
VENDOR_WEBHOOK_LIST = ListSpec(
    model=Webhook,
    resource=WEBHOOK,
    plural="webhooks",
    fields=WEBHOOK_FIELDS,
    filters={k: v for k, v in _FILTERS.items() if k != "seller_id"},
    sortable=_SORTABLE,
    q=lambda text: ilike_any(text, Webhook.url),
    scope=(Webhook.deleted_at.is_(None), *VENDOR_WEBHOOK_SCOPE),
)

DELIVERY_SCOPE = (WebhookDelivery.webhook_id == bindparam("webhook_id"),)
DELIVERY_LIST = ListSpec(
    model=WebhookDelivery,
    resource=DELIVERY,
    plural="deliveries",
    fields=DELIVERY_FIELDS,
    filters={
        "status": Filter(WebhookDelivery.status, choices=frozenset(DELIVERY_STATUSES)),
        "event_name": Filter(WebhookDelivery.event_name),
        "event_id": Filter(WebhookDelivery.event_id),
        "created_at": Filter(WebhookDelivery.created_at, "datetime"),
    },
    sortable={"created_at": WebhookDelivery.created_at},
    scope=DELIVERY_SCOPE,
)


def render_secret(rendered: dict[str, Any], secret: str) -> dict[str, Any]:
    """The create/rotate response: the endpoint with its secret, the only time it is shown."""
    return {**rendered, "secret": secret}

"""The domain events an order group raises, and the one list of their names.

An operation of the aggregate returns the events it raised; the unit of work writes them to the
outbox in the same transaction and dispatches them after the commit. ``seller_id`` is the
seller whose data the event is about (an order's seller), ``None`` for marketplace-wide events
(``order_group.created``, ``draft_order.converted``): it decides which sellers' subscribers may hear it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

ORDER_PLACED: Final = "order.placed"
ORDER_GROUP_CREATED: Final = "order_group.created"
ORDER_UPDATED: Final = "order.updated"
ORDER_CANCELED: Final = "order.canceled"
ORDER_COMPLETED: Final = "order.completed"
ORDER_ARCHIVED: Final = "order.archived"
FULFILLMENT_CREATED: Final = "order.fulfillment_created"
SHIPMENT_CREATED: Final = "order.shipment_created"
DELIVERED: Final = "order.delivered"
FULFILLMENT_CANCELED: Final = "order.fulfillment_canceled"
PAYMENT_CAPTURED: Final = "payment.captured"
PAYMENT_REFUNDED: Final = "payment.refunded"
RETURN_REQUESTED: Final = "order.return_requested"
RETURN_RECEIVED: Final = "order.return_received"
RETURN_CANCELED: Final = "order.return_canceled"
EXCHANGE_CREATED: Final = "order.exchange_created"
EXCHANGE_CANCELED: Final = "order.exchange_canceled"
CLAIM_CREATED: Final = "order.claim_created"
CLAIM_CANCELED: Final = "order.claim_canceled"
CREDIT_LINE_CREATED: Final = "order.credit_line_created"
# Medusa's names for order edits (not ``order.edit_*``), payload ``{order_id, order_change_id}``.
ORDER_EDIT_REQUESTED: Final = "order-edit.requested"
ORDER_EDIT_CONFIRMED: Final = "order-edit.confirmed"
ORDER_EDIT_CANCELED: Final = "order-edit.canceled"
ORDER_GROUP_UPDATED: Final = "order_group.updated"
PAYMENT_COLLECTION_CREATED: Final = "order.payment_collection_created"
PAYMENT_COLLECTION_UPDATED: Final = "order.payment_collection_updated"
DRAFT_ORDER_CONVERTED: Final = "draft_order.converted"
CAMPAIGN_BUDGET_EXHAUSTED: Final = "campaign.budget_exhausted"
PROMOTION_CREATED: Final = "promotion.created"
PROMOTION_UPDATED: Final = "promotion.updated"
PROMOTION_DELETED: Final = "promotion.deleted"
CAMPAIGN_CREATED: Final = "campaign.created"
CAMPAIGN_UPDATED: Final = "campaign.updated"
CAMPAIGN_DELETED: Final = "campaign.deleted"
# An endpoint disabled after consecutive failed deliveries (admin endpoints only).
WEBHOOK_DISABLED: Final = "webhook.disabled"

EVENT_NAMES: Final = frozenset(
    {
        ORDER_PLACED,
        ORDER_GROUP_CREATED,
        ORDER_UPDATED,
        ORDER_CANCELED,
        ORDER_COMPLETED,
        ORDER_ARCHIVED,
        FULFILLMENT_CREATED,
        SHIPMENT_CREATED,
        DELIVERED,
        FULFILLMENT_CANCELED,
        PAYMENT_CAPTURED,
        PAYMENT_REFUNDED,
        RETURN_REQUESTED,
        RETURN_RECEIVED,
        RETURN_CANCELED,
        EXCHANGE_CREATED,
        EXCHANGE_CANCELED,
        CLAIM_CREATED,
        CLAIM_CANCELED,
        CREDIT_LINE_CREATED,
        ORDER_EDIT_REQUESTED,
        ORDER_EDIT_CONFIRMED,
        ORDER_EDIT_CANCELED,
        ORDER_GROUP_UPDATED,
        PAYMENT_COLLECTION_CREATED,
        PAYMENT_COLLECTION_UPDATED,
        DRAFT_ORDER_CONVERTED,
        CAMPAIGN_BUDGET_EXHAUSTED,
        PROMOTION_CREATED,
        PROMOTION_UPDATED,
        PROMOTION_DELETED,
        CAMPAIGN_CREATED,
        CAMPAIGN_UPDATED,
        CAMPAIGN_DELETED,
        WEBHOOK_DISABLED,
    }
)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """``name`` with its JSON ``data`` (``data["id"]`` names the resource)."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)
    seller_id: str | None = None

    def __post_init__(self) -> None:
        if self.name not in EVENT_NAMES:
            raise ValueError(f"unknown event name {self.name!r}")

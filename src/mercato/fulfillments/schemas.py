"""Request bodies of the fulfilment routes (orders.md "Fulfilment")."""

from __future__ import annotations

from pydantic import Field

from mercato.domain.limits import MAX_LINE_QUANTITY
from mercato.http.schemas import Body, Id, ShortText, Url


class FulfillmentItemInput(Body):
    """An order line (``id``) and how many of its units this request concerns (at least 1)."""

    id: Id
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY)


class CreateFulfillment(Body):
    items: list[FulfillmentItemInput] = Field(min_length=1)
    location_id: Id | None = None
    no_notification: bool | None = None


class ShipmentLabel(Body):
    tracking_number: ShortText
    tracking_url: Url | None = None
    label_url: Url | None = None


class CreateShipment(Body):
    """``items``, when sent, must be exactly the fulfilment's items (a fulfilment ships whole)."""

    items: list[FulfillmentItemInput] | None = None
    labels: list[ShipmentLabel] | None = None
    no_notification: bool | None = None


class CancelFulfillment(Body):
    no_notification: bool | None = None


class MarkDelivered(Body):
    no_notification: bool | None = None

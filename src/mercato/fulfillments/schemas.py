"""Request bodies of the fulfilment routes (orders.md "Fulfilment")."""

from __future__ import annotations

from pydantic import Field

from mercato.http.schemas import Body


class FulfillmentItemInput(Body):
    """An order line (``id``) and how many of its units this request concerns (at least 1)."""

    id: str
    quantity: int = Field(ge=1)


class CreateFulfillment(Body):
    items: list[FulfillmentItemInput] = Field(min_length=1)
    location_id: str | None = None
    no_notification: bool | None = None


class ShipmentLabel(Body):
    tracking_number: str
    tracking_url: str | None = None
    label_url: str | None = None


class CreateShipment(Body):
    """``items``, when sent, must be exactly the fulfilment's items (a fulfilment ships whole)."""

    items: list[FulfillmentItemInput] | None = None
    labels: list[ShipmentLabel] | None = None
    no_notification: bool | None = None


class CancelFulfillment(Body):
    no_notification: bool | None = None


class MarkDelivered(Body):
    no_notification: bool | None = None

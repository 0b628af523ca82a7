"""Request bodies of the order routes (orders.md): order updates and fulfilments."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from mercato.carts.schemas import Address
from mercato.domain.limits import MAX_LINE_QUANTITY
from mercato.http.schemas import Body, Email, Id, Metadata, ShortText, Url


class UpdateOrder(Body):
    email: Email | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    metadata: Metadata | None = None


class FulfillmentItemInput(Body):
    """An order line (``id``) and how many of its units this request concerns (at least 1)."""

    id: Id
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY)


class CreateFulfillment(Body):
    items: list[FulfillmentItemInput] = Field(min_length=1)
    location_id: Id | None = None
    shipping_option_id: Id | None = None
    no_notification: bool | None = None


# A label echoed back from a read (the dashboard's shipment form) carries these; ignored.
_EchoedKey = Annotated[str, StringConstraints(max_length=64)] | None


class ShipmentLabel(Body):
    """Tracking and label URLs are free strings (the dashboard sends ``"#"``)."""

    tracking_number: ShortText
    tracking_url: Url | None = None
    label_url: Url | None = None
    id: _EchoedKey = None
    fulfillment_id: _EchoedKey = None
    created_at: _EchoedKey = None
    updated_at: _EchoedKey = None
    deleted_at: _EchoedKey = None


class CreateShipment(Body):
    """``items``, when sent, must be exactly the fulfilment's items (a fulfilment ships whole)."""

    items: list[FulfillmentItemInput] | None = None
    labels: list[ShipmentLabel] | None = None
    no_notification: bool | None = None


class CancelFulfillment(Body):
    no_notification: bool | None = None


class MarkDelivered(Body):
    no_notification: bool | None = None

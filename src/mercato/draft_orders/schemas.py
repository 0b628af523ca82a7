"""Draft order request bodies (order-changes.md §12): strict, unknown keys rejected. Amounts
are in the region currency's major unit; their precision is checked with the currency."""

from __future__ import annotations

from pydantic import Field

from mercato.carts.schemas import AddQuantity, Address, CartEmail
from mercato.http.schemas import (
    Amount,
    Body,
    CurrencyCode,
    Id,
    JsonObject,
    LongText,
    Metadata,
    Name,
)


class DraftItemInput(Body):
    """A variant's line (``variant_id``; ``unit_price`` overrides its price, ``title`` its
    title) or a custom item (no ``variant_id``: ``title``, ``unit_price`` and ``seller_id``
    required; no inventory)."""

    variant_id: Id | None = None
    title: Name | None = None
    seller_id: Id | None = None
    quantity: AddQuantity
    unit_price: Amount | None = None
    metadata: Metadata | None = None


class DraftShippingMethodInput(Body):
    """One seller's method: ``amount`` defaults to the option's, ``name`` to its name."""

    shipping_option_id: Id
    name: Name | None = None
    amount: Amount | None = None
    data: JsonObject | None = None


class CreateDraftOrder(Body):
    region_id: Id
    email: CartEmail | None = None
    customer_id: Id | None = None
    sales_channel_id: Id | None = None
    currency_code: CurrencyCode | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    items: list[DraftItemInput] = []
    shipping_methods: list[DraftShippingMethodInput] = []
    no_notification_order: bool = False
    metadata: Metadata | None = None


class UpdateDraftOrder(Body):
    """The draft's customer, contact, channel and addresses; its items and shipping change
    through the draft's edit (order-changes.md §12)."""

    email: CartEmail | None = None
    customer_id: Id | None = None
    sales_channel_id: Id | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    metadata: Metadata | None = None


# --------------------------------------------------------------------------- the draft's edit


class DraftEditItemInput(Body):
    """A new line of any seller, as at draft creation: a variant's (``unit_price`` overrides
    its price, ``title`` its title) or a custom one (``title``, ``unit_price`` and
    ``seller_id``). ``compare_at_unit_price`` is Medusa's: accepted, not stored (as in order
    edits)."""

    variant_id: Id | None = None
    title: Name | None = None
    seller_id: Id | None = None
    quantity: AddQuantity
    unit_price: Amount | None = None
    compare_at_unit_price: Amount | None = None
    internal_note: LongText | None = None
    metadata: Metadata | None = None


class DraftEditItems(Body):
    items: list[DraftEditItemInput] = Field(min_length=1)

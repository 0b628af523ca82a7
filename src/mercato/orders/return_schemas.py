"""Request bodies of the return, exchange, claim and credit-line routes (order-changes.md §3.7,
§6.1, §7, §8)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mercato.domain.limits import MAX_LINE_QUANTITY
from mercato.http.schemas import Amount, Body, Id, LongText, Metadata, ShortText, SignedAmount

Quantity = Field(ge=1, le=MAX_LINE_QUANTITY)


class BeginReturn(Body):
    order_id: Id
    location_id: Id | None = None
    description: LongText | None = None
    internal_note: LongText | None = None
    no_notification: bool | None = None
    metadata: Metadata | None = None


class UpdateReturn(Body):
    location_id: Id | None = None
    no_notification: bool | None = None
    metadata: Metadata | None = None


class ReturnItemInput(Body):
    id: Id
    quantity: int = Quantity
    reason_id: Id | None = None
    description: LongText | None = None
    internal_note: LongText | None = None
    metadata: Metadata | None = None


class RequestItems(Body):
    items: list[ReturnItemInput] = Field(min_length=1)


class UpdateRequestItem(Body):
    quantity: int | None = Field(default=None, ge=1, le=MAX_LINE_QUANTITY)
    reason_id: Id | None = None
    internal_note: LongText | None = None
    metadata: Metadata | None = None


class AddShippingMethod(Body):
    shipping_option_id: Id
    custom_amount: Amount | None = None
    description: LongText | None = None
    internal_note: LongText | None = None
    metadata: Metadata | None = None


class UpdateShippingMethod(Body):
    custom_amount: Amount | None = None
    internal_note: LongText | None = None
    metadata: Metadata | None = None


class RequestReturn(Body):
    no_notification: bool | None = None


class BeginReceive(Body):
    description: LongText | None = None
    internal_note: LongText | None = None
    metadata: Metadata | None = None


class ReceiveItemInput(Body):
    id: Id
    quantity: int = Quantity
    internal_note: LongText | None = None


class ReceiveItems(Body):
    items: list[ReceiveItemInput] = Field(min_length=1)


class UpdateReceiveItem(Body):
    quantity: int | None = Field(default=None, ge=1, le=MAX_LINE_QUANTITY)
    internal_note: LongText | None = None


class CancelReturn(Body):
    no_notification: bool | None = None


class CreateCreditLine(Body):
    """A signed amount: positive waives money owed, negative keeps money instead of refunding."""

    amount: SignedAmount
    reference: ShortText
    reference_id: ShortText
    metadata: Metadata | None = None


# --------------------------------------------------------------------------- exchanges, claims


class BeginExchange(Body):
    order_id: Id
    description: LongText | None = None
    internal_note: LongText | None = None
    metadata: Metadata | None = None


class OutboundItemInput(Body):
    variant_id: Id
    quantity: int = Quantity
    unit_price: Amount | None = None
    internal_note: LongText | None = None
    allow_backorder: bool | None = None
    metadata: Metadata | None = None


class OutboundItems(Body):
    items: list[OutboundItemInput] = Field(min_length=1)


class UpdateOutboundItem(Body):
    quantity: int | None = Field(default=None, ge=1, le=MAX_LINE_QUANTITY)
    unit_price: Amount | None = None
    internal_note: LongText | None = None


class BeginClaim(Body):
    type: Literal["refund", "replace"]
    order_id: Id
    description: LongText | None = None
    internal_note: LongText | None = None
    reason_id: Id | None = None
    metadata: Metadata | None = None


ClaimReason = Literal["missing_item", "wrong_item", "production_failure", "other"]


class ClaimItemInput(Body):
    id: Id
    quantity: int = Quantity
    reason: ClaimReason | None = None
    description: LongText | None = None
    internal_note: LongText | None = None


class ClaimItems(Body):
    items: list[ClaimItemInput] = Field(min_length=1)


class UpdateClaimItem(Body):
    quantity: int | None = Field(default=None, ge=1, le=MAX_LINE_QUANTITY)
    reason: ClaimReason | None = None
    internal_note: LongText | None = None


# --------------------------------------------------------------------------- order edits (§9)


class BeginEdit(Body):
    order_id: Id
    description: LongText | None = None
    internal_note: LongText | None = None
    metadata: Metadata | None = None


class EditItemInput(OutboundItemInput):
    """A new line. ``compare_at_unit_price`` is Medusa's; Mercato lines have no compare-at
    price, so it is accepted and not stored (as in the other two edit bodies)."""

    compare_at_unit_price: Amount | None = None


class EditItems(Body):
    items: list[EditItemInput] = Field(min_length=1)


class UpdateEditItem(Body):
    """An order line's new quantity (0 removes it) and, optionally, its unit price."""

    quantity: int = Field(ge=0, le=MAX_LINE_QUANTITY)
    unit_price: Amount | None = None
    compare_at_unit_price: Amount | None = None
    internal_note: LongText | None = None


class UpdateEditAction(Body):
    """A new line's (``ITEM_ADD``, quantity ≥ 1) or a line update's (``ITEM_UPDATE``) values."""

    quantity: int | None = Field(default=None, ge=0, le=MAX_LINE_QUANTITY)
    unit_price: Amount | None = None
    compare_at_unit_price: Amount | None = None
    internal_note: LongText | None = None


# --------------------------------------------------------------------------- store (§10)

# Medusa's store fields Mercato refuses (``<field> cannot be set from the store``): declared so
# that the refusal, not the unknown-field 400, answers them.
Refused = Any


class StoreReturnItem(Body):
    id: Id
    quantity: int = Quantity
    reason_id: Id | None = None
    note: LongText | None = None


class StoreReturnShipping(Body):
    option_id: Id
    price: Refused = None


class CreateStoreReturn(Body):
    order_id: Id
    items: list[StoreReturnItem] = Field(min_length=1)
    return_shipping: StoreReturnShipping
    note: LongText | None = None
    receive_now: Refused = None
    location_id: Refused = None

    def refused_fields(self) -> list[str]:
        """The store-refused fields the body sets, in the order they are reported."""
        refused: list[str] = [
            name for name in ("receive_now", "location_id") if name in self.model_fields_set
        ]
        if "price" in self.return_shipping.model_fields_set:
            refused.append("return_shipping.price")
        return refused

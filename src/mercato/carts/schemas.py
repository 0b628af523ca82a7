"""Store cart request bodies (checkout.md, "Cart API"): strict, unknown keys rejected."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, WithJsonSchema

from mercato.domain.limits import MAX_LINE_QUANTITY
from mercato.http.schemas import Body, CurrencyCode, Email, Id, JsonObject, Metadata, ShortText

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not a valid email address")
    return value


def _country(value: str) -> str:
    return value.strip().lower()


CartEmail = Annotated[Email, AfterValidator(_email)]
# A line quantity when adding: a strict integer >= 1 (JSON ``1.0``, ``"1"`` and ``true`` are
# refused by the strict base model).
AddQuantity = Annotated[int, Field(ge=1, le=MAX_LINE_QUANTITY)]
# When updating a line, 0 removes it.
UpdateQuantity = Annotated[int, Field(ge=0, le=MAX_LINE_QUANTITY)]


# Checked by ``carts.promotions.promo_codes`` so that every malformed list gets the one message
# of promotions.md ("promo_codes must contain 1 to 20 codes"); the schema documents the shape.
PromoCodes = Annotated[
    Any,
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 64},
            "minItems": 1,
            "maxItems": 20,
        }
    ),
]


class Address(Body):
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    company: ShortText | None = None
    address_1: ShortText | None = None
    address_2: ShortText | None = None
    city: ShortText | None = None
    province: ShortText | None = None
    postal_code: ShortText | None = None
    country_code: Annotated[ShortText, AfterValidator(_country)] | None = None
    phone: ShortText | None = None
    metadata: Metadata | None = None


class LineItemInput(Body):
    variant_id: Id
    quantity: AddQuantity


class CreateCart(Body):
    region_id: Id | None = None
    sales_channel_id: Id | None = None
    email: CartEmail | None = None
    currency_code: CurrencyCode | None = None
    items: list[LineItemInput] = []
    shipping_address: Address | None = None
    billing_address: Address | None = None
    metadata: Metadata | None = None


class UpdateCart(Body):
    email: CartEmail | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    region_id: Id | None = None
    metadata: Metadata | None = None
    promo_codes: PromoCodes = None


class CartPromotions(Body):
    promo_codes: PromoCodes = None


class AddLineItem(Body):
    variant_id: Id
    quantity: AddQuantity
    metadata: Metadata | None = None


class UpdateLineItem(Body):
    quantity: UpdateQuantity
    metadata: Metadata | None = None


class AddShippingMethod(Body):
    option_id: Id
    data: JsonObject | None = None

"""Store cart request bodies (checkout.md, "Cart API"): strict, unknown keys rejected."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from mercato.http.schemas import Body, CurrencyCode, Metadata

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not a valid email address")
    return value


def _country(value: str) -> str:
    return value.strip().lower()


Email = Annotated[str, AfterValidator(_email)]
MAX_QUANTITY = 2**31 - 1  # the line's ``quantity`` column is a PostgreSQL integer
# A line quantity when adding: a strict integer >= 1 (JSON ``1.0``, ``"1"`` and ``true`` are
# refused by the strict base model).
AddQuantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
# When updating a line, 0 removes it.
UpdateQuantity = Annotated[int, Field(ge=0, le=MAX_QUANTITY)]


class Address(Body):
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address_1: str | None = None
    address_2: str | None = None
    city: str | None = None
    province: str | None = None
    postal_code: str | None = None
    country_code: Annotated[str, AfterValidator(_country)] | None = None
    phone: str | None = None
    metadata: Metadata | None = None


class LineItemInput(Body):
    variant_id: str
    quantity: AddQuantity


class CreateCart(Body):
    region_id: str | None = None
    sales_channel_id: str | None = None
    email: Email | None = None
    currency_code: CurrencyCode | None = None
    items: list[LineItemInput] = []
    shipping_address: Address | None = None
    billing_address: Address | None = None
    metadata: Metadata | None = None


class UpdateCart(Body):
    email: Email | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    region_id: str | None = None
    metadata: Metadata | None = None


class AddLineItem(Body):
    variant_id: str
    quantity: AddQuantity
    metadata: Metadata | None = None


class UpdateLineItem(Body):
    quantity: UpdateQuantity
    metadata: Metadata | None = None


class AddShippingMethod(Body):
    option_id: str
    data: dict[str, Any] | None = None

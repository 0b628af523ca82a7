from decimal import Decimal
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from mercato.domain.money import bounded_minor
from mercato.http.schemas import (
    Amount,
    Body,
    CurrencyCode,
    Handle,
    Id,
    LongText,
    Metadata,
    Name,
    ShortText,
    Url,
)
from mercato.products.models import ProductStatus

Quantity = Annotated[int, Field(ge=0, le=2**31 - 1)]  # an integer column


class PriceInput(Body):
    currency_code: CurrencyCode
    amount: Amount

    @field_validator("amount")
    @classmethod
    def _exact_in_currency(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        """Too many decimals for the currency, or more than the largest unit price: a 400
        naming the amount (MoneyError is a ValueError)."""
        if "currency_code" in info.data:  # else the currency's own error is reported
            bounded_minor(amount, info.data["currency_code"])
        return amount


class ChannelRef(Body):
    id: Id


class CreateVariant(Body):
    title: Name
    sku: ShortText | None = None
    prices: list[PriceInput] = []
    manage_inventory: bool = True
    allow_backorder: bool = False
    inventory_quantity: Quantity = 0
    requires_shipping: bool = True
    metadata: Metadata | None = None


class UpdateVariant(Body):
    title: Name | None = None
    sku: ShortText | None = None
    prices: list[PriceInput] | None = None
    manage_inventory: bool | None = None
    allow_backorder: bool | None = None
    inventory_quantity: Quantity | None = None
    requires_shipping: bool | None = None
    metadata: Metadata | None = None


class CreateProduct(Body):
    title: Name
    seller_id: Id
    handle: Handle | None = None
    description: LongText | None = None
    thumbnail: Url | None = None
    status: ProductStatus = "published"
    sales_channels: list[ChannelRef] = []
    variants: list[CreateVariant] = []
    metadata: Metadata | None = None


class UpdateProduct(Body):
    title: Name | None = None
    handle: Handle | None = None
    description: LongText | None = None
    thumbnail: Url | None = None
    status: ProductStatus | None = None
    sales_channels: list[ChannelRef] | None = None
    metadata: Metadata | None = None

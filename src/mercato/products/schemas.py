from typing import Annotated, Literal

from pydantic import Field, model_validator

from mercato.domain.money import to_minor
from mercato.http.schemas import Amount, Body, CurrencyCode, Metadata

ProductStatus = Literal["draft", "published"]
Quantity = Annotated[int, Field(ge=0, le=2**31 - 1)]  # an integer column


class PriceInput(Body):
    amount: Amount
    currency_code: CurrencyCode

    @model_validator(mode="after")
    def _exact_in_currency(self) -> "PriceInput":
        """Too many decimals for the currency: a 400 naming the price (MoneyError is a ValueError)."""
        to_minor(self.amount, self.currency_code)
        return self


class ChannelRef(Body):
    id: str


class CreateVariant(Body):
    title: str
    sku: str | None = None
    prices: list[PriceInput] = []
    manage_inventory: bool = True
    allow_backorder: bool = False
    inventory_quantity: Quantity = 0
    requires_shipping: bool = True
    metadata: Metadata | None = None


class UpdateVariant(Body):
    title: str | None = None
    sku: str | None = None
    prices: list[PriceInput] | None = None
    manage_inventory: bool | None = None
    allow_backorder: bool | None = None
    inventory_quantity: Quantity | None = None
    requires_shipping: bool | None = None
    metadata: Metadata | None = None


class CreateProduct(Body):
    title: str
    seller_id: str
    handle: str | None = None
    description: str | None = None
    thumbnail: str | None = None
    status: ProductStatus = "published"
    sales_channels: list[ChannelRef] = []
    variants: list[CreateVariant] = []
    metadata: Metadata | None = None


class UpdateProduct(Body):
    title: str | None = None
    handle: str | None = None
    description: str | None = None
    thumbnail: str | None = None
    status: ProductStatus | None = None
    sales_channels: list[ChannelRef] | None = None
    metadata: Metadata | None = None

from typing import Any

from mercato.http.schemas import Amount, Body, CurrencyCode, Metadata


class CreateShippingOption(Body):
    name: str
    seller_id: str
    region_id: str | None = None
    currency_code: CurrencyCode | None = None
    amount: Amount
    data: dict[str, Any] | None = None
    metadata: Metadata | None = None


class UpdateShippingOption(Body):
    name: str | None = None
    amount: Amount | None = None
    data: dict[str, Any] | None = None
    metadata: Metadata | None = None

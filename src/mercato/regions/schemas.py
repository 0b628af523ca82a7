from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StringConstraints, WithJsonSchema

from mercato.http.schemas import Body, CurrencyCode, Id, Metadata, Name, _exact_number


def _percent(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(100):
        raise ValueError("must be between 0 and 100")
    if value != round(value, 4):
        raise ValueError("must have at most 4 decimals")
    return value


def _country(value: str) -> str:
    if len(value) != 2 or not value.isalpha():
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return value.lower()


TaxRate = Annotated[
    Decimal,
    BeforeValidator(_exact_number),
    AfterValidator(_percent),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 100}),
]
Country = Annotated[str, StringConstraints(max_length=2), AfterValidator(_country)]


class CreateRegion(Body):
    name: Name
    currency_code: CurrencyCode
    countries: list[Country] = []
    tax_rate: TaxRate = Decimal(0)
    tax_inclusive: bool = False
    payment_providers: list[Id] | None = None
    metadata: Metadata | None = None


class UpdateRegion(Body):
    name: Name | None = None
    currency_code: CurrencyCode | None = None
    countries: list[Country] | None = None
    tax_rate: TaxRate | None = None
    tax_inclusive: bool | None = None
    payment_providers: list[Id] | None = None
    metadata: Metadata | None = None

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from mercato.http.schemas import Body, CurrencyCode, Metadata, _exact_number


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


TaxRate = Annotated[Decimal, BeforeValidator(_exact_number), AfterValidator(_percent)]
Country = Annotated[str, AfterValidator(_country)]


class CreateRegion(Body):
    name: str
    currency_code: CurrencyCode
    countries: list[Country] = []
    tax_rate: TaxRate = Decimal(0)
    tax_inclusive: bool = False
    payment_providers: list[str] | None = None
    metadata: Metadata | None = None


class UpdateRegion(Body):
    name: str | None = None
    currency_code: CurrencyCode | None = None
    countries: list[Country] | None = None
    tax_rate: TaxRate | None = None
    tax_inclusive: bool | None = None
    payment_providers: list[str] | None = None
    metadata: Metadata | None = None

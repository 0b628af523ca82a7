"""Base request body models: strict types, unknown keys rejected, exact money amounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _exact_number(value: Any) -> Decimal:
    """JSON numbers to Decimal via their shortest repr, so ``10.99`` stays exactly 10.99."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number")
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must be greater than or equal to 0")
    return value


Amount = Annotated[Decimal, BeforeValidator(_exact_number), AfterValidator(_non_negative)]
Metadata = dict[str, Any]


def _currency(value: str) -> str:
    from mercato.domain.money import is_currency

    code = value.lower()
    if not is_currency(code):
        raise ValueError(f"{value!r} is not an ISO-4217 currency code")
    return code


CurrencyCode = Annotated[str, AfterValidator(_currency)]

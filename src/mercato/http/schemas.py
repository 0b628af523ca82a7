"""Base request body models: strict types, unknown keys rejected, exact money amounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, field_validator


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        """PostgreSQL cannot store NUL in text or JSON: a 400 naming the field, not a 500."""
        if isinstance(value, list):  # nested bodies (dicts in a list) check their own fields
            checked: Any = [v for v in value if not isinstance(v, dict)]
        else:
            checked = value
        if _has_nul(checked):
            raise ValueError("must not contain the NUL character (\\u0000)")
        return value


def _exact_number(value: Any) -> Decimal:
    """JSON numbers to Decimal via their shortest repr, so ``10.99`` stays exactly 10.99."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number")
    return value if isinstance(value, Decimal) else Decimal(str(value))


MAX_AMOUNT = Decimal(10) ** 14  # in minor units (up to 4 decimals) this still fits a bigint


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must be greater than or equal to 0")
    if value >= MAX_AMOUNT:
        raise ValueError(f"must be less than {MAX_AMOUNT}")
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

"""Base request body models: strict types, unknown keys rejected, exact money amounts, and the
bounded text and JSON types every body field is declared with (api-conventions.md, "Request
validation"), so each limit (``domain/limits.py``) is written once and shows in the OpenAPI
schema (``maxLength``)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from mercato.domain.limits import (
    EMAIL_LENGTH,
    ID_LENGTH,
    MAX_UNIT_AMOUNT,
    METADATA_BYTES,
    NAME_LENGTH,
    PASSWORD_LENGTH,
    TEXT_LENGTH,
    URL_LENGTH,
)


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


# A currency's minor unit is never larger than its major unit, so no amount above this many major
# units can be within ``MAX_UNIT_AMOUNT`` minor units; the exact bound is checked with the
# currency (``domain.money.bounded_minor``).
MAX_AMOUNT = Decimal(MAX_UNIT_AMOUNT)


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must be greater than or equal to 0")
    if value > MAX_AMOUNT:
        raise ValueError(f"must be at most {MAX_AMOUNT}")
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_exact_number),
    AfterValidator(_non_negative),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": MAX_UNIT_AMOUNT}),
]
"""A money amount in major units (a JSON number, never a string)."""


def _bounded(value: Decimal) -> Decimal:
    if abs(value) > MAX_AMOUNT:
        raise ValueError(f"must be between -{MAX_AMOUNT} and {MAX_AMOUNT}")
    return value


SignedAmount = Annotated[
    Decimal,
    BeforeValidator(_exact_number),
    AfterValidator(_bounded),
    WithJsonSchema({"type": "number", "minimum": -MAX_UNIT_AMOUNT, "maximum": MAX_UNIT_AMOUNT}),
]
"""A signed money amount in major units (credit lines)."""

# --- text ---------------------------------------------------------------------------------------


def _trimmed(max_length: int) -> StringConstraints:
    """Surrounding whitespace removed; an empty result is a 400."""
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


Name = Annotated[str, _trimmed(NAME_LENGTH)]
"""A name or title."""
Handle = Annotated[str, _trimmed(NAME_LENGTH)]
Email = Annotated[str, _trimmed(EMAIL_LENGTH)]
ShortText = Annotated[str, StringConstraints(max_length=NAME_LENGTH)]
"""Short free text kept as sent: skus, address fields, phones, reasons, tracking numbers."""
LongText = Annotated[str, StringConstraints(max_length=TEXT_LENGTH)]
"""Descriptions and notes."""
Url = Annotated[str, StringConstraints(max_length=URL_LENGTH)]
Id = Annotated[str, StringConstraints(max_length=ID_LENGTH)]
"""A reference to a resource or a payment provider by id."""
Password = Annotated[str, StringConstraints(max_length=PASSWORD_LENGTH)]


# --- JSON objects -------------------------------------------------------------------------------
def _serialized_size(value: dict[str, Any]) -> int:
    """The compact JSON size; ``NaN`` and ``Infinity`` (which the body parser lets through)
    cannot be stored as JSON: a 400, not a 500."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise ValueError("must not contain NaN or Infinity") from None
    return len(text.encode())


def _bounded_object(value: dict[str, Any]) -> dict[str, Any]:
    if _serialized_size(value) > METADATA_BYTES:
        raise ValueError(f"must be at most {METADATA_BYTES} bytes serialized")
    return value


JsonObject = Annotated[
    dict[str, Any],
    AfterValidator(_bounded_object),
    Field(json_schema_extra={"description": f"At most {METADATA_BYTES} bytes serialized."}),
]
"""A free-form object (``metadata``, a provider's ``data``), at most 64 KiB as JSON."""
Metadata = JsonObject


def _currency(value: str) -> str:
    from mercato.domain.money import is_currency

    code = value.lower()
    if not is_currency(code):
        raise ValueError(f"{value!r} is not an ISO-4217 currency code")
    return code


CurrencyCode = Annotated[str, StringConstraints(max_length=3), AfterValidator(_currency)]

"""JSON renderings shared by every resource view."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from mercato.domain.money import to_major


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds: ``2026-06-01T10:00:00.000Z``."""
    if value is None:
        return None
    # isoformat ends in "+00:00" once in UTC; it is several times cheaper than strftime.
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def attr(name: str):
    """The attribute as stored (``attrgetter`` is implemented in C: the hottest getter)."""
    return attrgetter(name)


def timestamp(name: str):
    return lambda obj: iso(getattr(obj, name))


def money(amount_attr: str, currency_attr: str = "currency_code"):
    """Minor units stored on the row, rendered as the major-unit JSON number."""

    def get(obj: Any) -> int | float | None:
        amount = getattr(obj, amount_attr)
        return None if amount is None else to_major(amount, getattr(obj, currency_attr))

    return get


def number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)

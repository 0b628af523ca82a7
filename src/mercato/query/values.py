"""JSON renderings shared by every resource view."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from orjson import OPT_UTC_Z
from orjson import dumps as _dumps

from mercato.domain.money import DIVISORS, FLOAT_EXACT_BELOW, JSONMoney, to_major
from mercato.query.fields import Field, Relation, RenderContext, Resource


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds: ``2026-06-01T10:00:00.000Z``.

    Every timestamp of every response goes here: orjson writes the UTC datetime
    (``"2026-06-01T10:00:00.123456Z"``, without the fraction when it is zero) in a quarter of the
    time ``isoformat`` takes; the milliseconds are cut from it (truncated, as ``isoformat`` does).
    """
    if value is None:
        return None
    if value.tzinfo is not UTC:  # the driver already returns UTC
        value = value.astimezone(UTC)
    if value.microsecond:
        return _dumps(value, option=OPT_UTC_Z)[1:24].decode() + "Z"
    return _dumps(value, option=OPT_UTC_Z)[1:20].decode() + ".000Z"


def attr(name: str) -> Field:
    """The attribute as stored."""
    return Field(attrgetter(name), (name,), expr=f"r.{_identifier(name)}")


def timestamp(name: str) -> Field:
    read = attrgetter(name)
    return Field(
        lambda obj: iso(read(obj)),
        (name,),
        expr=f"_iso(r.{_identifier(name)})",
        env={"_iso": iso},
        schema={"type": ["string", "null"]},
    )


def money(amount_attr: str, currency_attr: str = "currency_code") -> Field:
    """Minor units stored on the row, rendered as the major-unit JSON number."""
    read = attrgetter(amount_attr, currency_attr)

    def get(obj: Any) -> JSONMoney | None:
        amount, currency = read(obj)
        return None if amount is None else to_major(amount, currency)

    amount, currency = _identifier(amount_attr), _identifier(currency_attr)
    # ``to_major`` inlined for the common case, an ``int`` that prints exactly as a float: a
    # page of orders renders hundreds of amounts, and the call costs more than the division.
    expr = (
        f"None if (_a := r.{amount}) is None"
        f" else _to_major(_a, r.{currency})"
        f" if type(_a) is not int or not -_float_exact < _a < _float_exact"
        f" else _a // _d if not _a % (_d := _divisors[r.{currency}]) else _a / _d"
    )
    return Field(
        get,
        (amount_attr, currency_attr),
        expr=expr,
        env={"_to_major": to_major, "_divisors": DIVISORS, "_float_exact": FLOAT_EXACT_BELOW},
        schema={"type": ["number", "null"]},
    )


def _identifier(name: str) -> str:
    """``name`` is spliced into generated code (``fields._compile``): it must be an attribute."""
    if not name.isidentifier():
        raise ValueError(f"{name!r} is not an attribute name")
    return name


def number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def money_sum(*amount_attrs: str, currency_attr: str = "currency_code") -> Field:
    """The sum of stored minor-unit amounts, rendered in major units: a figure the row implies
    but does not store (``original_total`` = ``total`` + ``discount_total``)."""
    names = tuple(_identifier(name) for name in amount_attrs)
    read_currency = attrgetter(currency_attr)

    def get(obj: Any) -> JSONMoney:
        return to_major(sum(getattr(obj, name) for name in names), read_currency(obj))

    total = " + ".join(f"r.{name}" for name in names)
    return Field(
        get,
        (*names, currency_attr),
        expr=f"_to_major({total}, r.{_identifier(currency_attr)})",
        env={"_to_major": to_major},
        schema={"type": "number"},
    )


def constant(value: Any, schema: dict[str, Any] | None = None) -> Field:
    """A field every row answers with the same JSON value: a Medusa field for a concept
    Mercato lacks (admin-dashboard.md §5). Reads no column."""
    return Field(lambda _row: value, (), expr=repr(value), schema=schema)


class Absent:
    """A Medusa relation for a concept Mercato lacks (collections, types, tags, options,
    images, categories, inventory items): ``null`` or ``[]`` for every row, without a query."""

    reads: tuple[str, ...] = ()

    def __init__(self, many: bool) -> None:
        self.many = many

    async def __call__(self, ctx: RenderContext, rows: list[Any]) -> list[Any]:
        return [[] for _ in rows] if self.many else [None] * len(rows)


def absent(target: Resource, *, many: bool) -> Relation:
    """A relation Mercato has no concept for, answered as ``[]`` or ``null``."""
    return Relation(lambda: target, Absent(many), many=many)


def shape(name: str, *fields: str, relations: dict[str, Relation] | None = None) -> Resource:
    """The fields a client may ask of an absent relation's (never rendered) objects."""
    return Resource(
        name=name,
        fields={f: attr(f) for f in fields},
        relations=relations or {},
        defaults=fields,
    )

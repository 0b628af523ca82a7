"""A list's ``count`` read from trigger-maintained tallies (``mercato.migrations.tally``).

A tally table holds the net number of a list's rows per key and slot; the count of a form of
request is the sum of the rows whose keys match its filters. Each :class:`TallyCount` says
which of the list's filters (and operators) its keys can answer; :func:`count_from_tallies`
makes the list's ``ListSpec.count_from`` from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from mercato.query.listing import EQUALITY, CountSource, Filter

# ``(operator, the list's bind parameter for the term) -> condition on the tally``
Condition = Callable[[str, Any], ColumnElement[bool]]


@dataclass(frozen=True)
class TallyTerm:
    """How one list filter reads on a tally: its condition and the operators the tally answers
    exactly (a row counted under several keys, a group under each of its sellers, must not be
    summed across keys)."""

    condition: Condition
    operators: frozenset[str] = EQUALITY


def on_column(column: Any, operators: frozenset[str] = EQUALITY) -> TallyTerm:
    """A filter comparing one value of the row, read from the tally's key ``column``; the list's
    bind parameter (a value or an array) keeps its type."""
    return TallyTerm(Filter(column).condition, operators)


@dataclass(frozen=True)
class TallyCount:
    """One tally as a count source. ``live`` is its count column; ``terms`` the list filters it
    answers; ``scope`` the conditions matching the list's own scope (its bind parameters are
    the list's, e.g. the vendor's seller)."""

    live: Any
    terms: Mapping[str, TallyTerm]
    scope: tuple[ColumnElement[bool], ...] = ()

    def answer(self, shape: tuple[tuple[str, str], ...], params: list[Any]) -> Select | None:
        if not all(name in self.terms and op in self.terms[name].operators for name, op in shape):
            return None
        conditions = [
            self.terms[name].condition(op, param)
            for (name, op), param in zip(shape, params, strict=True)
        ]
        total = func.coalesce(func.sum(self.live), 0).label("count")
        return select(total).where(*self.scope, *conditions)


def count_from_tallies(*tallies: TallyCount) -> CountSource:
    """The list's ``count_from``: the first tally that answers the form (list the smaller
    tallies first), else None (the rows are counted)."""

    def count(shape: tuple[tuple[str, str], ...], params: list[Any]) -> Select | None:
        for tally in tallies:
            answer = tally.answer(shape, params)
            if answer is not None:
                return answer
        return None

    return count

"""JSON renderings: timestamps in UTC with milliseconds, money in major units."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import orjson
from hypothesis import given
from hypothesis import strategies as st

from mercato.query.values import attr, iso, money, timestamp


def test_iso_is_utc_with_milliseconds_whatever_the_offset():
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert iso(moment) == "2026-01-02T03:04:05.678Z"
    assert iso(moment.astimezone(timezone(timedelta(hours=-7)))) == "2026-01-02T03:04:05.678Z"
    assert iso(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02T00:00:00.000Z"
    assert iso(None) is None


@given(st.datetimes(timezones=st.just(UTC)))
def test_iso_is_isoformat_in_milliseconds(moment: datetime) -> None:
    """The orjson-based fast path writes exactly what ``isoformat`` would."""
    assert iso(moment) == moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_fields_declare_the_columns_they_read():
    row = SimpleNamespace(total=1999, currency_code="usd", created_at=None, title="T")
    assert (attr("title").get(row), attr("title").reads) == ("T", ("title",))
    assert (money("total").get(row), money("total").reads) == (19.99, ("total", "currency_code"))
    assert (timestamp("created_at").get(row), timestamp("created_at").reads) == (
        None,
        ("created_at",),
    )


_CURRENCIES = st.sampled_from(["usd", "eur", "jpy", "kwd", "clf", "USD", "Jpy"])


@given(
    st.one_of(
        st.none(),
        st.integers(-(10**15), 10**15),
        st.integers(-(10**19), 10**19),
        st.booleans(),
    ),
    _CURRENCIES,
)
def test_the_inlined_money_expression_renders_what_the_getter_does(amount, currency) -> None:
    """A level renders money with ``Field.expr`` (``to_major`` inlined for ints); it must give
    the getter's JSON and type for every amount and currency, ``None`` included."""
    from mercato.query.fields import Resource, _compile

    field = money("total")
    row = SimpleNamespace(total=amount, currency_code=currency)
    level = _compile(Resource(name="probe", fields={"total": field}), {"total": None})
    [rendered] = level.build([row])
    expected = field.get(row)
    assert orjson.dumps(rendered["total"]) == orjson.dumps(expected)
    assert type(rendered["total"]) is type(expected)

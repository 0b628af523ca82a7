"""Exact money helpers: currency exponents, major/minor conversion, rounding, allocation."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.domain.money import (
    FLOAT_EXACT_BELOW,
    MoneyError,
    allocate,
    bounded_minor,
    exact_major,
    exponent,
    is_currency,
    round_half_even,
    to_major,
    to_minor,
)


@pytest.mark.parametrize(
    ("code", "exp"), [("usd", 2), ("USD", 2), ("eur", 2), ("jpy", 0), ("krw", 0), ("kwd", 3)]
)
def test_exponents(code: str, exp: int) -> None:
    assert exponent(code) == exp


def test_unknown_currency() -> None:
    assert not is_currency("xyz")
    assert is_currency("usd")
    with pytest.raises(MoneyError):
        exponent("xyz")
    with pytest.raises(MoneyError):
        to_minor("1", "xyz")
    with pytest.raises(MoneyError):
        to_major(100, "xyz")


@pytest.mark.parametrize(
    ("amount", "code", "minor"),
    [
        ("10.99", "usd", 1099),
        (Decimal("10.99"), "usd", 1099),
        (10.99, "usd", 1099),
        (10, "usd", 1000),
        ("0.1", "usd", 10),
        ("10.990", "usd", 1099),  # trailing zeros are not extra precision
        ("0", "usd", 0),
        ("1000", "jpy", 1000),
        (1000, "JPY", 1000),
        ("1.234", "kwd", 1234),
        ("1.2", "kwd", 1200),
        ("-5.5", "usd", -550),
    ],
)
def test_to_minor(amount: str | Decimal | float | int, code: str, minor: int) -> None:
    value = to_minor(amount, code)
    assert value == minor
    assert type(value) is int


@pytest.mark.parametrize(
    ("amount", "code"),
    [("10.999", "usd"), ("0.001", "usd"), ("1.5", "jpy"), ("1.2345", "kwd"), (0.105, "usd")],
)
def test_to_minor_rejects_too_many_decimals(amount: str | float, code: str) -> None:
    with pytest.raises(MoneyError):
        to_minor(amount, code)


@pytest.mark.parametrize("amount", ["abc", "", "NaN", "Infinity", "1,5"])
def test_to_minor_rejects_non_numbers(amount: str) -> None:
    with pytest.raises(MoneyError):
        to_minor(amount, "usd")


@pytest.mark.parametrize(
    ("minor", "code", "major"),
    [
        (1099, "usd", 10.99),
        (1000, "usd", 10),
        (5, "usd", 0.05),
        (0, "usd", 0),
        (1000, "jpy", 1000),
        (1234, "kwd", 1.234),
        (1000, "kwd", 1),
    ],
)
def test_to_major(minor: int, code: str, major: float) -> None:
    value = to_major(minor, code)
    assert value == major
    if major == int(major):
        assert type(value) is int  # whole amounts serialize as JSON integers


@settings(max_examples=300)
@given(
    minor=st.integers(min_value=-(10**12), max_value=10**12),
    code=st.sampled_from(["usd", "jpy", "kwd", "eur", "clf"]),
)
def test_round_trip(minor: int, code: str) -> None:
    assert to_minor(to_major(minor, code), code) == minor


_AMOUNTS = st.one_of(
    st.integers(min_value=-(10**17), max_value=10**17),
    st.integers(min_value=-(10**16), max_value=-(10**14)),  # around ``FLOAT_EXACT_BELOW``
    st.integers(min_value=10**14, max_value=10**16),
    st.integers(min_value=-(2**70), max_value=2**70),  # beyond any column, still exact
)


@settings(max_examples=1000)
@given(minor=_AMOUNTS, code=st.sampled_from(["usd", "USD", "jpy", "kwd", "eur", "clf", "bhd"]))
def test_to_major_renders_the_exact_amount_as_a_plain_json_number(minor: int, code: str) -> None:
    """The JSON text of every amount is a plain decimal literal (no exponent) of exactly the
    amount; small amounts are the fast ``int``/``float``."""
    exact = Decimal(minor).scaleb(-exponent(code))
    value = to_major(minor, code)
    text = orjson.dumps(value).decode()
    assert "e" not in text.lower() and Decimal(text) == exact, (minor, code, text)
    if abs(minor) < FLOAT_EXACT_BELOW:
        if exact == exact.to_integral_value():
            assert type(value) is int and value == int(exact)
        else:
            assert type(value) is float and value == float(exact)
    assert orjson.dumps(to_major(Decimal(minor), code)) == orjson.dumps(value)  # numeric sums


def test_client_amounts_are_at_most_10_to_the_12_minor_units():
    assert bounded_minor(Decimal("10000000000"), "usd") == 10**12
    assert bounded_minor(Decimal("1000000000000"), "jpy") == 10**12
    with pytest.raises(MoneyError, match="must be at most 10000000000 USD"):
        bounded_minor(Decimal("10000000000.01"), "usd")
    with pytest.raises(MoneyError, match="must be at most 1000000000 KWD"):
        bounded_minor(Decimal("1000000000.001"), "kwd")
    with pytest.raises(MoneyError, match="more decimals"):
        bounded_minor(Decimal("1.001"), "usd")


def test_amounts_beyond_what_a_float_holds_render_exactly():
    assert orjson.dumps(to_major(236223200933776812, "usd")) == b"2362232009337768.12"
    assert orjson.dumps(to_major(-(10**18) - 1, "usd")) == b"-10000000000000000.01"
    assert orjson.dumps(to_major(10**18, "usd")) == b"10000000000000000"
    assert orjson.dumps(to_major(10**15 + 10, "kwd")) == b"1000000000000.01"
    assert orjson.dumps(to_major(2 * 10**15 - 1, "jpy")) == b"1999999999999999"
    assert orjson.dumps(to_major(99999999999999999, "usd")) == b"999999999999999.99"
    assert exact_major(-5, "usd") == "-0.05"


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (Fraction(1, 2), 0),
        (Fraction(3, 2), 2),
        (Fraction(5, 2), 2),
        (Fraction(7, 2), 4),
        (Fraction(-1, 2), 0),
        (Fraction(-3, 2), -2),
        (Fraction(-5, 2), -2),
        (Fraction(1, 3), 0),
        (Fraction(2, 3), 1),
        (Fraction(-2, 3), -1),
        (Fraction(10), 10),
        (Fraction(8875, 100), 89),
    ],
)
def test_round_half_even(value: Fraction, rounded: int) -> None:
    assert round_half_even(value) == rounded


@settings(max_examples=300)
@given(st.fractions(min_value=-(10**9), max_value=10**9))
def test_round_half_even_matches_decimal(value: Fraction) -> None:
    assert abs(round_half_even(value) - value) <= Fraction(1, 2)
    # Python's round() on Fraction is banker's rounding too
    assert round_half_even(value) == round(value)


def test_allocate_examples() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]  # ties go to the earliest part
    assert allocate(100, [1, 1]) == [50, 50]
    assert allocate(10, [3, 7]) == [3, 7]
    assert allocate(1, [1, 1, 1]) == [1, 0, 0]
    assert allocate(10, [0, 0]) == [10, 0]
    assert allocate(0, [5, 5]) == [0, 0]
    assert allocate(0, []) == []
    with pytest.raises(MoneyError):
        allocate(5, [])


@settings(max_examples=500)
@given(
    total=st.integers(min_value=0, max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30),
)
def test_allocate_sums_exactly_and_is_fair(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    assert all(type(p) is int and p >= 0 for p in parts)
    weight_sum = sum(weights)
    if weight_sum:
        for part, weight in zip(parts, weights, strict=True):
            assert abs(part - Fraction(total * weight, weight_sum)) < 1
    # deterministic: same input, same output
    assert allocate(total, list(weights)) == parts

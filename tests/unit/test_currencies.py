"""The static currency table (admin-dashboard.md §3) describes exactly the codes money accepts,
with their ISO-4217 exponents."""

from mercato.domain.currencies import CURRENCY_TABLE, currency
from mercato.domain.money import CURRENCIES, exponent


def test_every_accepted_code_is_described_and_nothing_else():
    assert set(CURRENCY_TABLE) == CURRENCIES


def test_entries_carry_the_exponent_money_uses_and_no_rounding():
    for code, entry in CURRENCY_TABLE.items():
        assert entry.code == code
        assert entry.decimal_digits == exponent(code)
        assert entry.rounding == 0
        assert entry.name and entry.symbol and entry.symbol_native


def test_well_known_entries():
    usd = currency("usd")
    assert usd is not None
    assert (usd.symbol, usd.symbol_native, usd.name, usd.decimal_digits) == (
        "$",
        "$",
        "US Dollar",
        2,
    )
    assert CURRENCY_TABLE["jpy"].decimal_digits == 0
    assert CURRENCY_TABLE["kwd"].decimal_digits == 3
    assert CURRENCY_TABLE["bov"].symbol == "BOV"  # no well-known symbol: the code
    assert currency("xyz") is None

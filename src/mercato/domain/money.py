"""Exact money: integer minor units with ISO-4217 exponents.

Every amount inside Mercato is an ``int`` of minor units (cents for USD). JSON carries major units
(``10.99``), so conversion happens only at the edges, through :func:`to_minor` and :func:`to_major`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction

# ISO-4217 active codes. Exponent 2 unless listed in _EXPONENTS.
CURRENCIES: frozenset[str] = frozenset(
    """aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob bov brl bsd btn
    bwp byn bzd cad cdf che chf chw clf clp cny cop cou crc cuc cup cve czk djf dkk dop dzd egp ern
    etb eur fjd fkp gbp gel ghs gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr iqd irr isk jmd
    jod jpy kes kgs khr kmf kpw krw kwd kyd kzt lak lbp lkr lrd lsl lyd mad mdl mga mkd mmk mnt mop
    mru mur mvr mwk mxn mxv myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron
    rsd rub rwf sar sbd scr sdg sek sgd shp sle sll sos srd ssp stn svc syp szl thb tjs tmt tnd top
    try ttd twd tzs uah ugx usd usn uyi uyu uyw uzs ved ves vnd vuv wst xaf xcd xof xpf yer zar zmw
    zwl""".split()
)
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        "bif clp djf gnf isk jpy kmf krw pyg rwf ugx uyi vnd vuv xaf xof xpf".split(), 0
    ),
    **dict.fromkeys("bhd iqd jod kwd lyd omr tnd".split(), 3),
    "clf": 4,
    "uyw": 4,
}


class MoneyError(ValueError):
    """An amount that cannot be represented exactly in its currency."""


def is_currency(code: str) -> bool:
    return code in CURRENCIES


def exponent(currency_code: str) -> int:
    """Number of decimals of the currency's minor unit (USD 2, JPY 0, KWD 3)."""
    code = currency_code.lower()
    if code not in CURRENCIES:
        raise MoneyError(f"Unknown currency code {currency_code!r}")
    return _EXPONENTS.get(code, 2)


def to_minor(amount: Decimal | int | float | str, currency_code: str) -> int:
    """Major units (as typed by a client) to integer minor units; rejects excess precision."""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"{amount!r} is not a number") from exc
    if not value.is_finite():
        raise MoneyError(f"{amount!r} is not a finite number")
    scaled = value.scaleb(exponent(currency_code))
    if scaled != scaled.to_integral_value():
        raise MoneyError(
            f"{amount} has more decimals than {currency_code.lower()} allows "
            f"({exponent(currency_code)})"
        )
    return int(scaled)


class _Divisors(dict[str, int]):
    """Minor units per major unit by currency code; an unlisted spelling (``"EUR"``) is
    computed on first use, an unknown code raises :class:`MoneyError`."""

    def __missing__(self, currency_code: str) -> int:
        divisor = self[currency_code] = 10 ** exponent(currency_code)
        return divisor


DIVISORS: dict[str, int] = _Divisors({code: 10 ** _EXPONENTS.get(code, 2) for code in CURRENCIES})


def to_major(minor: int, currency_code: str) -> int | float:
    """Integer minor units to the JSON number in major units (exact for realistic amounts).

    Whole amounts stay integers; otherwise ``minor / divisor`` is Python's correctly rounded
    integer division, the same double as ``float(Decimal(minor).scaleb(-exponent))`` (a property
    test checks it) at a fraction of the cost: every money field of every response goes here.
    """
    if type(minor) is not int:  # e.g. a Decimal sum straight from PostgreSQL
        minor = int(minor)
    divisor = DIVISORS[currency_code]
    whole, remainder = divmod(minor, divisor)
    return whole if remainder == 0 else minor / divisor


def round_half_even(value: Fraction) -> int:
    """Round an exact rational amount of minor units to an integer, banker's rounding."""
    floor = value.numerator // value.denominator
    remainder = value - floor
    half = Fraction(1, 2)
    if remainder > half or (remainder == half and floor % 2 == 1):
        return floor + 1
    return floor


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` minor units proportionally to ``weights`` so the parts sum exactly.

    Largest-remainder method; ties go to the earliest weight, so the result is deterministic.
    """
    if not weights:
        if total:
            raise MoneyError("Cannot allocate a non-zero amount over no parts")
        return []
    weight_sum = sum(weights)
    if weight_sum == 0:
        parts = [0] * len(weights)
        parts[0] = total
        return parts
    exact = [Fraction(total * w, weight_sum) for w in weights]
    parts = [int(x // 1) for x in exact]
    shortfall = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:shortfall]:
        parts[i] += 1
    return parts

"""Exact money: integer minor units with ISO-4217 exponents.

Every amount inside Mercato is an ``int`` of minor units (cents for USD). JSON carries major units
(``10.99``), so conversion happens only at the edges, through :func:`to_minor` and :func:`to_major`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction

from orjson import Fragment

from mercato.domain.limits import MAX_UNIT_AMOUNT

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


def bounded_minor(amount: Decimal, currency_code: str) -> int:
    """:func:`to_minor` for an amount a client sends (a price, a shipping amount, a capture):
    at most :data:`~mercato.domain.limits.MAX_UNIT_AMOUNT` minor units."""
    minor = to_minor(amount, currency_code)
    if abs(minor) > MAX_UNIT_AMOUNT:
        raise MoneyError(
            f"must be at most {exact_major(MAX_UNIT_AMOUNT, currency_code)} {currency_code.upper()}"
        )
    return minor


def field_minor(field: str, amount: Decimal, currency_code: str) -> int:
    """:func:`bounded_minor` whose error names the body field (``Invalid request: amount: …``)."""
    try:
        return bounded_minor(amount, currency_code)
    except MoneyError as exc:
        raise MoneyError(f"Invalid request: {field}: {exc}") from None


class _Divisors(dict[str, int]):
    """Minor units per major unit by currency code; an unlisted spelling (``"EUR"``) is
    computed on first use, an unknown code raises :class:`MoneyError`."""

    def __missing__(self, currency_code: str) -> int:
        divisor: int = 10 ** exponent(currency_code)
        self[currency_code] = divisor
        return divisor


DIVISORS: dict[str, int] = _Divisors({code: 10 ** _EXPONENTS.get(code, 2) for code in CURRENCIES})


# Below this many minor units (in absolute value) an amount has at most 15 significant digits,
# so the double nearest to it prints back as exactly its decimal digits (a double holds 15
# significant decimal digits), and never in exponent form (orjson uses it from 10^16 on).
FLOAT_EXACT_BELOW = 10**15

JSONMoney = int | float | Fragment
"""A money amount as a JSON number: ``int`` when whole, ``float`` when the float prints exactly,
else an ``orjson.Fragment`` holding the exact decimal literal."""


def exact_major(minor: int, currency_code: str) -> str:
    """Minor units as the exact plain decimal literal of the major amount: ``"1234567.89"``."""
    digits = exponent(currency_code)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**digits)
    if not fraction:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{digits}d}".rstrip("0")


def exact_fragment(minor: int, currency_code: str) -> Fragment:
    return Fragment(exact_major(minor, currency_code))


def to_major(minor: int, currency_code: str) -> JSONMoney:
    """Integer minor units to the JSON number in major units, always exact and never in
    exponent form.

    Below :data:`FLOAT_EXACT_BELOW` minor units, whole amounts are integers and others
    ``minor / divisor`` (Python's correctly rounded integer division, the same double as
    ``float(Decimal(minor).scaleb(-exponent))``), which prints as the exact amount at a fraction
    of the cost of building the text: every money field of every response goes here. Larger
    amounts are their exact decimal literal (:func:`exact_fragment`); a property test checks
    every case against the exact value.
    """
    if type(minor) is not int:  # e.g. a Decimal sum straight from PostgreSQL
        minor = int(minor)
    if not -FLOAT_EXACT_BELOW < minor < FLOAT_EXACT_BELOW:
        return exact_fragment(minor, currency_code)
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

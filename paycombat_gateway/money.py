"""Exact money: ``Decimal`` amounts with ISO 4217 currency exponents.

Saleor sends amounts as JSON numbers (parse them with ``Decimal``) and accepts decimal strings back.
PayCombat's documented amounts are integers in major units (``"amount": 100`` for AUD 100), so an
amount that cannot be expressed in a currency's minor unit is an error, never silently rounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = [
    "AMOUNT_LIMIT",
    "CURRENCY_EXPONENTS",
    "AmountTooLarge",
    "Money",
    "MoneyError",
    "currency_exponent",
    "quantize",
    "to_decimal",
]

# ISO 4217 minor-unit exponents that differ from the default of 2.
CURRENCY_EXPONENTS: dict[str, int] = {
    # no minor unit
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # three decimals
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # four decimals
    "CLF": 4, "UYW": 4,
}  # fmt: skip

DEFAULT_EXPONENT = 2

# Every amount the app handles is below this (in major units). SQLite, the default store, has no decimal
# type: amounts are kept as doubles, exact to 15 significant digits, and the amount columns keep 4
# decimal places, which leaves 11 digits before the point. A larger amount would come back altered, so
# it is refused where it enters, with the same limit on PostgreSQL so a payment is valid on either store.
AMOUNT_LIMIT = Decimal(10) ** 11


class MoneyError(ValueError):
    """An amount that is not valid money in its currency (negative, not a number, too precise)."""


class AmountTooLarge(MoneyError):
    """An amount from ``AMOUNT_LIMIT`` up: valid money, but more than the app can store exactly."""


def currency_exponent(currency: str) -> int:
    """Number of decimal places of ``currency``'s minor unit (KRW and JPY: 0; most: 2)."""
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise MoneyError(f"not an ISO 4217 currency code: {currency!r}")
    return CURRENCY_EXPONENTS.get(code, DEFAULT_EXPONENT)


def to_decimal(value: object) -> Decimal:
    """Turn a JSON number or decimal string into ``Decimal`` without passing through binary floats."""
    if isinstance(value, bool):
        raise MoneyError("a boolean is not an amount")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))  # the shortest repr is what the sender wrote
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise MoneyError(f"not a number: {value!r}") from exc
    else:
        raise MoneyError(f"not an amount: {type(value).__name__}")
    if not result.is_finite():
        raise MoneyError("an amount must be finite")
    return result


def quantize(amount: Decimal, currency: str, *, exact: bool = True) -> Decimal:
    """Express ``amount`` with exactly ``currency``'s number of decimals.

    With ``exact`` (the default) an amount finer than the minor unit raises ``MoneyError``; money is
    never rounded behind anyone's back, and an amount from ``AMOUNT_LIMIT`` up raises ``AmountTooLarge``.
    ``exact=False`` rounds half up, for display and for amounts already stored: it refuses neither.
    """
    exponent = currency_exponent(currency)
    step = Decimal(1).scaleb(-exponent)
    try:
        quantized = amount.quantize(step, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than the decimal context holds, or not finite
        raise MoneyError(f"{amount} {currency.upper()} is not an amount") from None
    if exact and quantized != amount:
        raise MoneyError(f"{amount} {currency.upper()} has more than {exponent} decimal place(s)")
    if exact and abs(quantized) >= AMOUNT_LIMIT:
        raise AmountTooLarge(
            f"{amount} {currency.upper()} is above the largest amount the app accepts ({AMOUNT_LIMIT:,})"
        )
    return quantized


@dataclass(frozen=True, slots=True)
class Money:
    """A non-negative amount in a currency, always quantized to that currency's minor unit."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        currency = self.currency.strip().upper()
        amount = quantize(to_decimal(self.amount), currency)
        if amount < 0:
            raise MoneyError("an amount cannot be negative")
        object.__setattr__(self, "currency", currency)
        object.__setattr__(self, "amount", amount)

    @classmethod
    def of(cls, amount: object, currency: str) -> Money:
        return cls(to_decimal(amount), currency)

    @property
    def minor_units(self) -> int:
        """The amount as an integer count of the currency's minor unit (cents; won for KRW)."""
        return int(self.amount.scaleb(currency_exponent(self.currency)))

    @classmethod
    def from_minor_units(cls, units: int, currency: str) -> Money:
        return cls(Decimal(units).scaleb(-currency_exponent(currency)), currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

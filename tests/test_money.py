"""Money is exact and respects each currency's exponent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from paycombat_gateway.money import AmountTooLarge, Money, MoneyError, currency_exponent, quantize, to_decimal


@pytest.mark.parametrize(
    ("currency", "exponent"), [("KRW", 0), ("jpy", 0), ("USD", 2), ("EUR", 2), ("KWD", 3)]
)
def test_currency_exponents(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


def test_json_floats_become_exact_decimals() -> None:
    assert to_decimal(1.99) == Decimal("1.99")
    assert to_decimal(0.1) + to_decimal(0.2) == Decimal("0.3")


def test_krw_has_no_minor_unit() -> None:
    assert Money.of(15000, "KRW").minor_units == 15000
    with pytest.raises(MoneyError):
        Money.of("15000.5", "KRW")


def test_amounts_finer_than_the_minor_unit_are_refused_not_rounded() -> None:
    with pytest.raises(MoneyError):
        quantize(Decimal("1.005"), "USD")
    assert quantize(Decimal("1.005"), "USD", exact=False) == Decimal("1.01")


def test_minor_units_round_trip() -> None:
    money = Money.of("49.99", "usd")
    assert money.currency == "USD"
    assert money.minor_units == 4999
    assert Money.from_minor_units(4999, "USD") == money


@pytest.mark.parametrize("bad", [True, "abc", float("inf"), None, "-1"])
def test_invalid_amounts(bad: object) -> None:
    with pytest.raises(MoneyError):
        Money.of(bad, "USD")


def test_invalid_currency_codes() -> None:
    with pytest.raises(MoneyError):
        currency_exponent("US")


def test_an_amount_beyond_any_currency_is_a_money_error() -> None:
    with pytest.raises(MoneyError, match="not an amount"):
        quantize(Decimal("1E+30"), "USD")


def test_amounts_stop_below_what_every_store_keeps_exactly() -> None:
    assert Money.of("99999999999.99", "USD").amount == Decimal("99999999999.99")
    assert Money.of("99999999999", "KRW").minor_units == 99_999_999_999
    for too_large in ("100000000000", "-100000000000.00", "123456789012345"):
        with pytest.raises(AmountTooLarge, match="largest amount the app accepts"):
            quantize(Decimal(too_large), "KRW")
        # an amount already stored (before the limit) is still read and shown
        assert quantize(Decimal(too_large), "KRW", exact=False) == Decimal(too_large)
    with pytest.raises(MoneyError, match="largest amount"):
        Money.of(10**11, "JPY")

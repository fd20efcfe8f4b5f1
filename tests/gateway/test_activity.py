"""Amounts, states and payin methods as the settings page writes them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from paycombat_gateway.gateway.activity import HELD, STATE_WORDS, format_amount, payin_method_name
from paycombat_gateway.gateway.settlement import SessionState


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("1.9900", "USD", "1.99 USD"),
        ("15000.0000", "KRW", "15,000 KRW"),
        ("1234567.5", "EUR", "1,234,567.50 EUR"),
        ("2.5", "KWD", "2.500 KWD"),
        ("0", "JPY", "0 JPY"),
    ],
)
def test_amounts_use_the_currency_exponent(amount: str, currency: str, text: str) -> None:
    assert format_amount(Decimal(amount), currency) == text


def test_every_state_has_words() -> None:
    assert set(STATE_WORDS) == set(SessionState) | {HELD}
    assert STATE_WORDS[HELD] == "Held for review"
    assert STATE_WORDS[SessionState.ACTION_REQUIRED] == "Waiting for the shopper"


def test_methods_by_name_banks_as_they_are() -> None:
    assert payin_method_name("au_bank_npp") == "PayID bank transfer (NPP)"
    assert payin_method_name("KB국민은행") == "KB국민은행"
    assert payin_method_name(None) is None

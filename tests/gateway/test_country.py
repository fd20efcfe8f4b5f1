"""PayCombat's country rule: European countries become ``EU``."""

from __future__ import annotations

import pytest

from paycombat_gateway.gateway.country import paycombat_country_code
from paycombat_gateway.gateway.errors import PaymentError


@pytest.mark.parametrize(
    ("candidates", "currency", "expected"),
    [
        (["de"], "EUR", "EU"),
        (["GB"], "GBP", "EU"),
        (["AU", "NZ"], "AUD", "AU"),
        ([None, "KR"], "KRW", "KR"),
        (["", None], "KRW", "KR"),
        (["x1"], "AUD", "AU"),
        ([], "EUR", "EU"),
    ],
)
def test_country_resolution(candidates: list[str | None], currency: str, expected: str) -> None:
    assert paycombat_country_code(candidates, currency) == expected


def test_no_country_and_unknown_currency_is_a_clear_error() -> None:
    with pytest.raises(PaymentError) as caught:
        paycombat_country_code([None], "CHF")
    assert caught.value.field == "billingAddress.country"

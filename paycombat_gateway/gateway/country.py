"""The ``country_code`` PayCombat gets for a payment.

PayCombat documents ``"EU"`` for every European country; which countries count as European is an
inference kept in ``paycombat.contract.EUROPEAN_COUNTRY_CODES``. The shopper's billing country comes
first, then the shipping country, then the home country of the currency, so a checkout without
addresses (digital goods) can still pay.
"""

from __future__ import annotations

from collections.abc import Iterable

from paycombat_gateway.gateway.errors import ErrorCode, PaymentError
from paycombat_gateway.paycombat import contract

__all__ = ["paycombat_country_code"]


def paycombat_country_code(candidates: Iterable[str | None], currency: str) -> str:
    """The first usable ISO 3166-1 alpha-2 code among ``candidates``, mapped to PayCombat's ``EU`` rule."""
    for candidate in candidates:
        code = (candidate or "").strip().upper()
        if len(code) == 2 and code.isalpha():
            return "EU" if code in contract.EUROPEAN_COUNTRY_CODES else code
    home = contract.CURRENCY_HOME_COUNTRY.get(currency.upper())
    if home:
        return home
    raise PaymentError(
        ErrorCode.INVALID_DATA,
        "A billing or shipping address country is needed to pay in this currency.",
        field="billingAddress.country",
    )

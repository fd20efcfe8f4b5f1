"""Public error codes: what a storefront or merchant sees when a payment step cannot go on.

Codes are stable (storefronts branch on them); messages are written for people and never carry
PayCombat's raw text, secrets or stack traces. ``docs/errors.md`` explains each code and what to do.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ErrorCode", "PaymentError"]


class ErrorCode(StrEnum):
    CHANNEL_NOT_CONFIGURED = "CHANNEL_NOT_CONFIGURED"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    CURRENCY_NOT_SUPPORTED = "CURRENCY_NOT_SUPPORTED"
    UNSUPPORTED_ACTION = "UNSUPPORTED_ACTION"
    INVALID_DATA = "INVALID_DATA"
    INVALID_RETURN_URL = "INVALID_RETURN_URL"
    PAYIN_METHOD_NOT_AVAILABLE = "PAYIN_METHOD_NOT_AVAILABLE"
    BANK_NOT_AVAILABLE = "BANK_NOT_AVAILABLE"
    PAYCOMBAT_UNAVAILABLE = "PAYCOMBAT_UNAVAILABLE"
    PAYCOMBAT_REJECTED = "PAYCOMBAT_REJECTED"
    PAYCOMBAT_AUTHENTICATION_FAILED = "PAYCOMBAT_AUTHENTICATION_FAILED"
    PAYMENT_NOT_FOUND = "PAYMENT_NOT_FOUND"
    PAYMENT_IN_PROGRESS = "PAYMENT_IN_PROGRESS"
    ALREADY_PAID = "ALREADY_PAID"
    NOT_PAID = "NOT_PAID"
    OVER_REFUND = "OVER_REFUND"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"


class PaymentError(Exception):
    """A payment step failed for a reason the caller can be told about (``code`` + public ``message``)."""

    def __init__(self, code: ErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def as_data(self) -> dict[str, object]:
        """The ``data.errors`` entry handed back to the storefront through Saleor."""
        error: dict[str, object] = {"code": self.code.value, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"errors": [error]}

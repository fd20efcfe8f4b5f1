"""PayCombat client errors as public payment errors: what a shopper or merchant may be told."""

from __future__ import annotations

from paycombat_gateway.gateway.errors import ErrorCode, PaymentError
from paycombat_gateway.paycombat import errors

__all__ = ["public_error"]


def public_error(exc: errors.PaycombatError, doing: str) -> PaymentError:
    """The error to report for a failed PayCombat call made while ``doing`` something."""
    if isinstance(exc, errors.AuthenticationError):
        return PaymentError(
            ErrorCode.PAYCOMBAT_AUTHENTICATION_FAILED,
            f"PayCombat rejected this store's keys while {doing}. The merchant must check the PayCombat configuration.",
        )
    if exc.retryable or isinstance(exc, errors.MalformedResponseError):
        return PaymentError(
            ErrorCode.PAYCOMBAT_UNAVAILABLE,
            f"PayCombat is not answering properly right now ({doing}). Please try again.",
        )
    reason = f": {exc.paycombat_message}" if exc.paycombat_message else "."
    return PaymentError(ErrorCode.PAYCOMBAT_REJECTED, f"PayCombat refused {doing}{reason}"[:400])

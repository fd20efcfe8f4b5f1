"""Whether PayCombat accepts a configuration's keys, asked without changing anything at PayCombat.

The settings page's "test connection" and the problems check (``gateway.problems``) ask the same way:
a signed PATCH for a checkout that cannot exist. PayCombat checks the X-token and the signature first,
then finds no such checkout; only its own envelope (``{"status": false, "message": …}``) proves it was
PayCombat that looked, since any web server can answer 404.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from paycombat_gateway.paycombat import errors
from paycombat_gateway.paycombat.client import AsyncPaycombatClient, PaycombatClient

__all__ = ["KeyCheck", "check_keys", "check_keys_async", "verdict"]

logger = logging.getLogger(__name__)
_NO_SUCH_CHECKOUT = "0" * 64
_NO_SUCH_METHOD = "connection-test"


class KeyCheck(StrEnum):
    ACCEPTED = "accepted"  # PayCombat checked the keys and took them
    REFUSED = "refused"  # PayCombat refused the X-token or the signature
    UNANSWERED = "unanswered"  # no proof either way: PayCombat down, or something else answered


def verdict(exc: errors.PaycombatError | None, url: str) -> KeyCheck:
    """What the probe's outcome (``exc`` None: it succeeded) says about the keys."""
    if exc is None:
        return KeyCheck.ACCEPTED
    if (
        isinstance(exc, errors.NotFoundError | errors.InvalidRequestError)
        and exc.paycombat_message is not None
    ):
        return KeyCheck.ACCEPTED
    logger.warning(
        "connection test against %s failed: %s (HTTP %s)", url, type(exc).__name__, exc.http_status
    )
    return KeyCheck.REFUSED if isinstance(exc, errors.AuthenticationError) else KeyCheck.UNANSWERED


def check_keys(client: PaycombatClient) -> KeyCheck:
    try:
        client.create_new_checkout(_NO_SUCH_CHECKOUT, _NO_SUCH_METHOD)
    except errors.PaycombatError as exc:
        return verdict(exc, client.base_url)
    return KeyCheck.ACCEPTED


async def check_keys_async(client: AsyncPaycombatClient) -> KeyCheck:
    try:
        await client.create_new_checkout(_NO_SUCH_CHECKOUT, _NO_SUCH_METHOD)
    except errors.PaycombatError as exc:
        return verdict(exc, client.base_url)
    return KeyCheck.ACCEPTED

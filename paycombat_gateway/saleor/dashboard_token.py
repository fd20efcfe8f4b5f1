"""The Dashboard's user token for the configuration page (contract §6.2–6.3).

Checks more than Saleor's JS SDK does: besides the RS256 signature (JWKS by ``kid``; an unknown ``kid``
asks ``current_keys`` for Saleor's current JWKS, as webhooks do),
``exp``, the ``app`` claim and the user's permissions, it requires ``iss`` to be the installation's
Saleor API URL and ``type`` to be ``thirdparty``. An expired token is told apart so the page can ask
the Dashboard for a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jwt

from paycombat_gateway.saleor.jws import SignatureVerificationError, has_kid, select_key

__all__ = ["DashboardUser", "TokenExpired", "TokenForbidden", "TokenInvalid", "verify_dashboard_token"]

REQUIRED_PERMISSIONS = ("MANAGE_APPS", "HANDLE_PAYMENTS")


class TokenInvalid(Exception):
    pass


class TokenExpired(TokenInvalid):
    pass


class TokenForbidden(Exception):
    pass


@dataclass(frozen=True, slots=True)
class DashboardUser:
    user_id: str | None
    email: str | None
    permissions: tuple[str, ...]


def _decode(
    token: str, jwks_text: str | None, current_keys: Callable[[str | None], str | None], *,
    saleor_api_url: str, leeway: float,
) -> dict[str, object]:  # fmt: skip
    kid = jwt.get_unverified_header(token).get("kid")
    kid = kid if isinstance(kid, str) else None
    key = select_key(jwks_text if has_kid(jwks_text, kid) else current_keys(kid), kid)
    claims: dict[str, object] = jwt.decode(
        token,
        key=key,  # type: ignore[arg-type]
        algorithms=["RS256"],
        issuer=saleor_api_url,
        leeway=leeway,
        options={"require": ["exp", "iss"], "verify_aud": False},
    )
    return claims


def verify_dashboard_token(
    token: str,
    *,
    saleor_api_url: str,
    app_id: str,
    jwks_text: str | None,
    current_keys: Callable[[str | None], str | None],
    required_permissions: Sequence[str] = REQUIRED_PERMISSIONS,
    leeway: float = 10.0,
) -> DashboardUser:
    if not token:
        raise TokenInvalid("no token")
    try:
        claims = _decode(token, jwks_text, current_keys, saleor_api_url=saleor_api_url, leeway=leeway)
    except jwt.ExpiredSignatureError:
        raise TokenExpired("the Dashboard token has expired") from None
    except (jwt.InvalidTokenError, SignatureVerificationError, ValueError) as exc:
        raise TokenInvalid(f"the Dashboard token is not valid: {type(exc).__name__}") from None
    if claims.get("type") != "thirdparty":
        raise TokenInvalid("not a Dashboard app token")
    if claims.get("app") != app_id:
        raise TokenInvalid("the token was issued for another app")
    user_permissions = claims.get("user_permissions")
    granted = set(user_permissions) if isinstance(user_permissions, list) else set()
    missing = [permission for permission in required_permissions if permission not in granted]
    if missing:
        raise TokenForbidden(f"the staff user lacks {', '.join(missing)}")
    return DashboardUser(
        user_id=str(claims["user_id"]) if claims.get("user_id") else None,
        email=str(claims["email"]) if claims.get("email") else None,
        permissions=tuple(sorted(granted)),
    )

"""Dashboard authorisation in front of the configuration API.

Requests carry ``saleor-api-url`` and ``authorization-bearer`` (the convention of Saleor's app SDK).
The installation must exist and the token must verify (``saleor.dashboard_token``) before GraphQL runs;
failures are real HTTP answers: 401 (no token, ``TOKEN_EXPIRED`` lets the page ask the Dashboard for a fresh
token), 403 for a staff user without ``MANAGE_APPS`` and ``HANDLE_PAYMENTS``; never a 500.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.saleor.dashboard_token import (
    DashboardUser,
    TokenExpired,
    TokenForbidden,
    TokenInvalid,
    verify_dashboard_token,
)
from paycombat_gateway.storage.db import StorageUnavailable
from paycombat_gateway.storage.installations import get_installation
from paycombat_gateway.web.installation_keys import current_jwks

__all__ = ["DashboardAuth", "DashboardIdentity"]


@dataclass(frozen=True, slots=True)
class DashboardIdentity:
    installation_id: int
    saleor_api_url: str
    user: DashboardUser


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class DashboardAuth:
    """ASGI wrapper: verifies the Dashboard token, then passes the identity on in ``scope["state"]``."""

    def __init__(self, app: ASGIApp, ctx: GatewayContext) -> None:
        self.app = app
        self.ctx = ctx

    def _installation(self, saleor_api_url: str) -> tuple[int, str, str | None]:
        with self.ctx.database.session(readonly=True) as session:
            installation = get_installation(session, saleor_api_url)
            if installation is None:
                raise _Refused(401, "NOT_REGISTERED", "This Saleor has not installed the app.")
            if installation.uninstalled_at is not None:
                raise _Refused(
                    401,
                    "APP_UNINSTALLED",
                    "The app was uninstalled from this Saleor; install it again to use it.",
                )
            return installation.id, installation.app_id, installation.jwks

    async def _identify(self, saleor_api_url: str, token: str) -> DashboardIdentity:
        """The Dashboard user behind ``token``. The installation is read in a worker thread; a token
        signed with a key the stored JWKS lacks has Saleor's current keys fetched on the event loop
        (``current_jwks``, by its deadline), then is verified again with them."""
        ticket = self.ctx.jwks_refresher.ticket(saleor_api_url)
        installation_id, app_id, jwks = await in_thread(self._installation, saleor_api_url)
        unknown_kids: list[str | None] = []

        def note_unknown(kid: str | None) -> str | None:
            unknown_kids.append(kid)
            return None

        try:
            try:
                user = verify_dashboard_token(
                    token, saleor_api_url=saleor_api_url, app_id=app_id, jwks_text=jwks,
                    current_keys=note_unknown,
                )  # fmt: skip
            except TokenInvalid:
                if not unknown_kids:
                    raise
                current = await current_jwks(self.ctx, saleor_api_url, unknown_kids[0], ticket=ticket)
                user = verify_dashboard_token(
                    token, saleor_api_url=saleor_api_url, app_id=app_id, jwks_text=jwks,
                    current_keys=lambda kid: current,
                )  # fmt: skip
        except TokenExpired:
            raise _Refused(
                401, "TOKEN_EXPIRED", "The Dashboard session expired; refresh the token."
            ) from None
        except TokenInvalid as exc:
            raise _Refused(401, "TOKEN_INVALID", str(exc)) from None
        except TokenForbidden as exc:
            raise _Refused(
                403, "FORBIDDEN", f"Configuring PayCombat needs MANAGE_APPS and HANDLE_PAYMENTS: {exc}."
            ) from None
        return DashboardIdentity(installation_id, saleor_api_url, user)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        saleor_api_url = headers.get("saleor-api-url", "").strip()
        token = headers.get("authorization-bearer", "").strip()
        try:
            if not token:  # not authenticated at all: 401, like any other missing credential
                raise _Refused(
                    401, "TOKEN_MISSING", "Send the Dashboard's token in the authorization-bearer header."
                )
            if not saleor_api_url:
                raise _Refused(400, "MISSING_HEADER", "Send the saleor-api-url header.")
            identity = await self._identify(saleor_api_url, token)
        except StorageUnavailable:  # like every route: 503, never 500
            await _refuse(send, _Refused(503, "STORAGE_UNAVAILABLE", "The app's database is not answering."))
            return
        except _Refused as refused:
            await _refuse(send, refused)
            return
        scope.setdefault("state", {})["dashboard"] = identity
        await self.app(scope, receive, send)


async def _refuse(send: Send, refused: _Refused) -> None:
    body = json.dumps({"error": {"code": refused.code, "message": refused.message}}).encode()
    answer = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    if refused.status == 401:  # RFC 9110: a 401 names the scheme it wants
        answer.append((b"www-authenticate", b'Bearer realm="saleor-dashboard"'))
    await send({"type": "http.response.start", "status": refused.status, "headers": answer})
    await send({"type": "http.response.body", "body": body})

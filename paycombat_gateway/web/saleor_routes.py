"""Routes Saleor calls: the manifest, the install handshake, the payment sync webhooks and APP_DELETED.

A sync webhook is handled on the event loop: its signature is checked there (CPU only), Saleor's
JWKS is fetched there when a signature names a key the installation's lack, the install handshake's
calls to Saleor are awaited there, and the flows that call PayCombat are coroutines. Only database
work goes through ``gateway.blocking.in_thread`` (a worker thread on PostgreSQL, the loop itself on
SQLite): reading an installation's keys afresh,
storing one, and the flows that only read the database (refund, gateway initialize).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paycombat_gateway.gateway.actions import cancel_requested
from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.initialize import initialize_session
from paycombat_gateway.gateway.methods import gateway_initialize
from paycombat_gateway.gateway.process import process_session
from paycombat_gateway.gateway.refunds import refund_requested
from paycombat_gateway.gateway.uninstall import app_deleted
from paycombat_gateway.saleor.errors import SaleorProtocolError
from paycombat_gateway.saleor.jws import SignatureVerificationError, has_kid, signature_kid
from paycombat_gateway.saleor.manifest import build_manifest
from paycombat_gateway.saleor.register import register_app
from paycombat_gateway.saleor.webhook_validation import InstallationKeys, VerifiedWebhook, validate_webhook
from paycombat_gateway.saleor.webhooks import WEBHOOKS, AsyncEvent, SaleorWebhook, SyncEvent
from paycombat_gateway.storage.db import StorageUnavailable
from paycombat_gateway.storage.installations import upsert_installation
from paycombat_gateway.web.installation_keys import InstallationKeysCache, current_jwks

__all__ = ["saleor_routes"]

logger = logging.getLogger(__name__)

# (ctx, installation id, payload) -> a result with ``to_json()``, or the JSON itself. Coroutine
# functions run on the event loop; the others, which only use the database, in a worker thread.
Handler = Callable[[GatewayContext, int, Any], Any]
HANDLERS: dict[SyncEvent | AsyncEvent, Handler] = {
    SyncEvent.PAYMENT_GATEWAY_INITIALIZE_SESSION: gateway_initialize,
    SyncEvent.TRANSACTION_INITIALIZE_SESSION: initialize_session,
    SyncEvent.TRANSACTION_PROCESS_SESSION: process_session,
    SyncEvent.TRANSACTION_REFUND_REQUESTED: refund_requested,
    SyncEvent.TRANSACTION_CANCELATION_REQUESTED: cancel_requested,
    AsyncEvent.APP_DELETED: app_deleted,
}
assert set(HANDLERS) == {webhook.event for webhook in WEBHOOKS}


async def _run_handler(handler: Handler, ctx: GatewayContext, installation_id: int, payload: Any) -> Any:
    if inspect.iscoroutinefunction(handler):
        result = await handler(ctx, installation_id, payload)
    else:
        result = await in_thread(handler, ctx, installation_id, payload)
    return result.to_json() if hasattr(result, "to_json") else result


def _unknown_kid(headers: dict[str, str], keys: InstallationKeys | None) -> str | Literal[False] | None:
    """The signature's key id when ``keys`` lack it (Saleor's current keys are then worth fetching);
    False when they have it, or there is no readable signature to fetch keys for."""
    signature = headers.get("saleor-signature", "").strip()
    if keys is None or not signature:
        return False
    try:
        kid = signature_kid(signature)
    except SignatureVerificationError:
        return False
    return False if has_kid(keys.jwks, kid) else kid


def _error(exc: SaleorProtocolError) -> JSONResponse:
    return JSONResponse(exc.to_json(), status_code=exc.status)


def _storage_down() -> JSONResponse:
    return JSONResponse(
        {
            "success": False,
            "error": {"code": "STORAGE_UNAVAILABLE", "message": "The app's database is not answering."},
        },
        status_code=503,
    )


RETRY_WITH_FRESH_KEYS = {
    "NOT_REGISTERED", "APP_UNINSTALLED", "SIGNATURE_VERIFICATION_FAILED", "RECIPIENT_MISMATCH",
}  # fmt: skip


def saleor_routes(ctx: GatewayContext) -> list[Route]:
    installations = InstallationKeysCache(ctx.database)

    async def manifest(request: Request) -> Response:
        return JSONResponse(build_manifest(ctx.settings.app_url))

    async def _register(headers: dict[str, str], body: bytes) -> None:
        registration = await register_app(
            method="POST",
            headers=headers,
            raw_body=body,
            is_allowed=ctx.settings.saleor_url_allowed,
            http=ctx.http(),
        )

        def store() -> None:
            with ctx.database.session() as session:
                upsert_installation(
                    session,
                    ctx.box,
                    saleor_api_url=registration.saleor_api_url,
                    app_id=registration.app_id,
                    token=registration.token,
                    jwks=registration.jwks,
                )

        await in_thread(store)
        installations.forget(registration.saleor_api_url)
        logger.info("installed for %s (app %s)", registration.saleor_api_url, registration.app_id)

    async def register(request: Request) -> Response:
        body = await request.body()
        headers = {key.lower(): value for key, value in request.headers.items()}
        try:
            await _register(headers, body)
        except SaleorProtocolError as exc:
            logger.warning("install refused: %s %s", exc.code, exc.message)
            return _error(exc)
        except StorageUnavailable:
            return _storage_down()
        return JSONResponse({"success": True})

    def _validate(
        webhook: SaleorWebhook, method: str, headers: dict[str, str], body: bytes,
        keys: InstallationKeys | None, current: str | None,
    ) -> VerifiedWebhook:  # fmt: skip
        return validate_webhook(
            method=method, headers=headers, raw_body=body, webhook=webhook,
            lookup=lambda _: keys, current_keys=lambda _url, _kid: current,
        )  # fmt: skip

    async def _verified(
        webhook: SaleorWebhook, method: str, headers: dict[str, str], body: bytes
    ) -> VerifiedWebhook:
        """Verified on the event loop with the installation's cached keys (CPU only, the usual case).
        Otherwise its keys are read afresh in a worker thread (a reinstall or rotation another instance
        recorded), and a signature whose kid they lack has Saleor's current keys fetched on the event
        loop (``current_jwks``: single-flight, spaced, by its deadline); no thread waits on Saleor."""
        api_url = headers.get("saleor-api-url", "").strip()
        ticket = ctx.jwks_refresher.ticket(api_url)  # taken on arrival: see jwks_refresh
        if installations.is_cached(api_url):
            try:
                return _validate(webhook, method, headers, body, installations.cached(api_url), None)
            except SaleorProtocolError as exc:
                if exc.code not in RETRY_WITH_FRESH_KEYS:
                    raise
        keys = await in_thread(installations.fresh, api_url) if api_url else None
        current = None
        kid = _unknown_kid(headers, keys)
        if keys is not None and kid is not False:
            current = await current_jwks(
                ctx, api_url, kid, ticket=ticket,
                on_kept=lambda jwks: installations.update_jwks(api_url, jwks),
            )  # fmt: skip
        return _validate(webhook, method, headers, body, keys, current)

    async def _handle(webhook: SaleorWebhook, method: str, headers: dict[str, str], body: bytes) -> Any:
        verified = await _verified(webhook, method, headers, body)
        handler = HANDLERS[webhook.event]
        try:
            return await _run_handler(handler, ctx, verified.installation.installation_id, verified.payload)
        finally:
            if webhook.event is AsyncEvent.APP_DELETED:  # its keys are gone: the next call reads the database
                installations.forget(verified.saleor_api_url)

    def webhook_route(webhook: SaleorWebhook) -> Route:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            headers = {key.lower(): value for key, value in request.headers.items()}
            try:
                result = await _handle(webhook, request.method, headers, body)
            except SaleorProtocolError as exc:
                logger.warning("%s refused: %s", webhook.event.value, exc.code)
                return _error(exc)
            except StorageUnavailable:
                return _storage_down()
            return JSONResponse(result)

        return Route(webhook.path, endpoint, methods=["POST", "GET", "PUT", "PATCH", "DELETE"])

    return [
        Route("/api/manifest", manifest, methods=["GET"]),
        Route("/api/register", register, methods=["POST"]),
        *(webhook_route(webhook) for webhook in WEBHOOKS),
    ]

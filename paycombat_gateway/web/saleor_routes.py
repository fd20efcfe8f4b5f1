"""Routes Saleor calls: the manifest, the install handshake, the payment sync webhooks and APP_DELETED.

A sync webhook is handled on the event loop: its signature is checked there when the installation's
keys are cached (CPU only, the usual case), and the flows that call PayCombat are coroutines. Only
what blocks runs in a worker thread: verification that needs the database or Saleor's JWKS, and the
flows that only read the database (process, refund, gateway initialize).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
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


def _no_fetch(saleor_api_url: str, kid: str | None) -> str | None:
    """For the attempt on the event loop: Saleor's current keys are never fetched there; a signature
    whose kid the cached keys lack fails that attempt, and ``_verify`` in a thread may fetch them."""
    return None


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

    def _register(headers: dict[str, str], body: bytes) -> None:
        registration = register_app(
            method="POST",
            headers=headers,
            raw_body=body,
            is_allowed=ctx.settings.saleor_url_allowed,
            http=ctx.saleor_http,
        )
        with ctx.database.session() as session:
            upsert_installation(
                session,
                ctx.box,
                saleor_api_url=registration.saleor_api_url,
                app_id=registration.app_id,
                token=registration.token,
                jwks=registration.jwks,
            )
        installations.forget(registration.saleor_api_url)
        logger.info("installed for %s (app %s)", registration.saleor_api_url, registration.app_id)

    async def register(request: Request) -> Response:
        body = await request.body()
        headers = {key.lower(): value for key, value in request.headers.items()}
        try:
            await run_in_threadpool(_register, headers, body)
        except SaleorProtocolError as exc:
            logger.warning("install refused: %s %s", exc.code, exc.message)
            return _error(exc)
        except StorageUnavailable:
            return _storage_down()
        return JSONResponse({"success": True})

    def _verify(webhook: SaleorWebhook, method: str, headers: dict[str, str], body: bytes) -> VerifiedWebhook:
        api_url = headers.get("saleor-api-url", "").strip()
        ticket = ctx.jwks_refresher.ticket(api_url)

        def current_keys(saleor_api_url: str, kid: str | None) -> str | None:
            return current_jwks(
                ctx, saleor_api_url, kid, ticket=ticket,
                on_kept=lambda jwks: installations.update_jwks(saleor_api_url, jwks),
            )  # fmt: skip

        def attempt(lookup: Callable[[str], InstallationKeys | None]) -> VerifiedWebhook:
            return validate_webhook(
                method=method, headers=headers, raw_body=body, webhook=webhook,
                lookup=lookup, current_keys=current_keys,
            )  # fmt: skip

        was_cached = installations.is_cached(api_url)
        try:
            return attempt(installations.cached)
        except SaleorProtocolError as exc:
            if not was_cached or exc.code not in RETRY_WITH_FRESH_KEYS:
                raise
        return attempt(installations.fresh)  # a reinstall or rotation another instance recorded

    async def _verified(
        webhook: SaleorWebhook, method: str, headers: dict[str, str], body: bytes
    ) -> VerifiedWebhook:
        """On the event loop when the installation's cached keys verify (CPU only, the usual case);
        otherwise ``_verify`` in a thread, which may read the database or fetch Saleor's keys."""
        if installations.is_cached(headers.get("saleor-api-url", "").strip()):
            try:
                return validate_webhook(
                    method=method, headers=headers, raw_body=body, webhook=webhook,
                    lookup=installations.cached, current_keys=_no_fetch,
                )  # fmt: skip
            except SaleorProtocolError as exc:
                if exc.code not in RETRY_WITH_FRESH_KEYS:
                    raise
        return await run_in_threadpool(_verify, webhook, method, headers, body)

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

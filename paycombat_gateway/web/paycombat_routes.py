"""The route PayCombat posts its webhooks to: ``/api/webhooks/paycombat/{config_id}``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paycombat_gateway.gateway.blocking import in_thread_limited
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.inbound import receive_paycombat_webhook
from paycombat_gateway.storage.db import StorageUnavailable

__all__ = ["paycombat_routes"]


def paycombat_routes(ctx: GatewayContext, on_report_enqueued: Callable[[], None]) -> list[Route]:
    # Authentication runs on the event loop (an unsigned delivery's look-up at PayCombat included, within
    # its configuration's share); only the storing may take one of these threads: on PostgreSQL always,
    # on SQLite only when it met another writer's lock (gateway.blocking; otherwise it runs on the loop).
    # Storing a delivery is a few quick database round trips. Dozens of threads doing them at once
    # spend their time handing the GIL to each other: on the benchmark, 4 at a time stored 1.6 times
    # as many deliveries per second as 40. The rest wait as coroutines, which costs nothing.
    limiter = anyio.CapacityLimiter(ctx.settings.webhook_concurrency)

    async def webhook(request: Request) -> Response:
        body = await request.body()
        headers = {key.lower(): value for key, value in request.headers.items()}
        try:
            result = await receive_paycombat_webhook(
                ctx,
                request.path_params["config_id"],
                body,
                headers,
                store=partial(in_thread_limited, limiter),
            )
        except StorageUnavailable:
            return JSONResponse(
                {
                    "status": False,
                    "error": {"code": "STORAGE_UNAVAILABLE", "message": "Not stored; please retry."},
                },
                status_code=503,
            )
        if result.report_enqueued:
            on_report_enqueued()
        return JSONResponse(result.body, status_code=result.status_code)

    return [Route("/api/webhooks/paycombat/{config_id}", webhook, methods=["POST"])]

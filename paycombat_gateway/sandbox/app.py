"""The sandbox's Starlette app: PayCombat's API, the hosted page, and a few sandbox-only endpoints."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paycombat_gateway.sandbox.accounts import SandboxAccount
from paycombat_gateway.sandbox.api import api_routes, envelope
from paycombat_gateway.sandbox.dispatcher import DEFAULT_RETRY_DELAYS, WebhookDispatcher
from paycombat_gateway.sandbox.faults import Fault, FaultBook
from paycombat_gateway.sandbox.hosted import hosted_routes
from paycombat_gateway.sandbox.service import SandboxError, SandboxService
from paycombat_gateway.sandbox.store import SandboxStore

__all__ = ["SandboxConfig", "create_sandbox_app"]


@dataclass
class SandboxConfig:
    accounts: Sequence[SandboxAccount]
    database: str | None = None
    webhook_retry_delays: Sequence[float] = field(default=DEFAULT_RETRY_DELAYS)


def _sandbox_routes(
    service: SandboxService, accounts: list[SandboxAccount], faults: FaultBook
) -> list[Route]:
    by_name = {account.name: account for account in accounts}

    async def settle(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return JSONResponse({"status": False, "message": "body must be a JSON object"}, status_code=400)
        checkout = service.store.get("checkout", request.path_params["checkout_id"])
        if checkout is None:
            return JSONResponse({"status": False, "message": "checkout not found"}, status_code=404)
        try:
            payin = service.settle(
                checkout,
                by_name[checkout["_account"]],
                str(body.get("outcome", "")),
                payin_method_name=body.get("payin_method_name"),
                amount=body.get("amount"),
            )
        except SandboxError as exc:
            return JSONResponse({"status": False, "message": exc.message}, status_code=exc.status)
        return envelope(payin)

    async def deliveries(request: Request) -> Response:
        return envelope(service.store.all("delivery"))

    async def add_fault(request: Request) -> Response:
        try:
            spec: dict[str, Any] = json.loads(await request.body())
            fault = Fault(
                path_prefix=str(spec["path_prefix"]),
                status=spec.get("status"),
                delay_seconds=float(spec.get("delay_seconds", 0)),
                body=spec.get("body"),
                count=int(spec.get("count", 1)),
            )
        except (ValueError, KeyError, TypeError):
            return JSONResponse(
                {"status": False, "message": "give path_prefix, and status/delay_seconds/body/count"}, 400
            )
        if not 0 <= fault.delay_seconds <= 30:
            return JSONResponse({"status": False, "message": "delay_seconds must be within 0..30"}, 400)
        faults.add(fault)
        return envelope({"path_prefix": fault.path_prefix, "count": fault.count})

    async def clear_faults(request: Request) -> Response:
        faults.clear()
        return envelope({})

    return [
        Route("/_sandbox/checkouts/{checkout_id}/settle", settle, methods=["POST"]),
        Route("/_sandbox/deliveries", deliveries, methods=["GET"]),
        Route("/_sandbox/faults", add_fault, methods=["POST"]),
        Route("/_sandbox/faults", clear_faults, methods=["DELETE"]),
    ]


def create_sandbox_app(config: SandboxConfig) -> Starlette:
    """A Starlette app; ``app.state.service`` exposes the store and dispatcher for tests."""
    accounts = list(config.accounts)
    if not accounts:
        raise ValueError("the sandbox needs at least one account")
    store = SandboxStore(config.database)
    dispatcher = WebhookDispatcher(store, config.webhook_retry_delays)
    service = SandboxService(store, dispatcher)
    faults = FaultBook()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        dispatcher.stop()

    app = Starlette(
        routes=[
            *api_routes(service, accounts, faults),
            *hosted_routes(service, accounts),
            *_sandbox_routes(service, accounts, faults),
        ],
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.faults = faults
    return app

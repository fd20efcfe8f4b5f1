"""The sandbox's Starlette app: PayCombat's API, the hosted checkout page and the ``/_sandbox/`` API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from paycombat_gateway.sandbox.api import api_routes, error_response
from paycombat_gateway.sandbox.control import control_routes
from paycombat_gateway.sandbox.core import Sandbox, SandboxConfig
from paycombat_gateway.sandbox.errors import SandboxError
from paycombat_gateway.sandbox.faults import FaultMiddleware
from paycombat_gateway.sandbox.home import home_routes
from paycombat_gateway.sandbox.hosted import hosted_routes

__all__ = ["SandboxConfig", "create_sandbox_app"]


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods: PayCombat's envelope on API paths, plain text elsewhere."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = {404: "Not found", 405: "Method not allowed"}.get(status, "Request failed")
    if request.url.path.startswith(("/api/", "/_sandbox/")):
        return error_response(SandboxError(status, message))
    return PlainTextResponse(message, status_code=status)


def create_sandbox_app(config: SandboxConfig) -> Starlette:
    """A sandbox as an ASGI app. Its webhook and expiry threads run while the app's lifespan does.

    ``app.state.sandbox`` holds the parts (store, dispatcher, checkouts, ...) for tests and the runner.
    """
    sandbox = Sandbox(config)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sandbox.start()
        try:
            yield
        finally:
            sandbox.stop()

    app = Starlette(
        routes=[
            *home_routes(sandbox),
            *api_routes(sandbox),
            *hosted_routes(sandbox),
            *control_routes(sandbox),
        ],
        middleware=[Middleware(FaultMiddleware, faults=sandbox.faults)],
        exception_handlers={404: _http_error, 405: _http_error},
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    return app

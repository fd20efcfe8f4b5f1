"""Routes for the Dashboard page and its configuration API (``/dashboard``, ``/graphql``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from paycombat_gateway.gateway.activity import OrderLookup
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.storage.db import StorageUnavailable
from paycombat_gateway.web.config_api.auth import DashboardAuth
from paycombat_gateway.web.config_api.schema import schema

__all__ = ["dashboard_routes"]

STATIC = Path(__file__).with_name("static")
# The page runs inside Saleor Dashboard's iframe: framing must stay allowed, everything else is locked down.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors *; base-uri 'none'; form-action 'self'",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class ConfigurationGraphQL(GraphQL[dict[str, Any], None]):
    """The configuration API. A request that met a database outage is answered 503 (its error says
    the database is not answering), like every other route, never 200 or 500."""

    def __init__(self, ctx: GatewayContext, notify_outbox: Callable[[], None]) -> None:
        super().__init__(schema, graphql_ide=None)
        self.ctx = ctx
        self.notify_outbox = notify_outbox
        self.orders = OrderLookup()

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        if any(isinstance(error.original_error, StorageUnavailable) for error in result.errors or ()):
            request.state.graphql_response.status_code = 503
        return await super().process_result(request, result)

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        request.state.graphql_response = response  # for process_result's status
        return {
            "gateway": self.ctx,
            "identity": request.scope["state"]["dashboard"],
            "notify_outbox": self.notify_outbox,
            "orders": self.orders,
        }


def dashboard_routes(ctx: GatewayContext, notify_outbox: Callable[[], None]) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=SECURITY_HEADERS)

    graphql = DashboardAuth(ConfigurationGraphQL(ctx, notify_outbox), ctx)
    return [
        Route("/dashboard", page, methods=["GET"]),
        Route("/dashboard/", page, methods=["GET"]),
        Mount("/dashboard/static", app=StaticFiles(directory=str(STATIC)), name="dashboard-static"),
        # Any other path under the prefix is the page too: Dashboard 3.23 may load the app at
        # ``<appUrl>/extensions/app/<id>=`` (an app id with a raw "="). Its assets load by absolute path.
        Route("/dashboard/{rest:path}", page, methods=["GET"]),
        Route("/graphql", graphql, methods=["POST"]),
    ]

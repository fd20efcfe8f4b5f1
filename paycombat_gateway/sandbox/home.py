"""The sandbox's ``/``: what it is, where to point the app, its accounts and its ``/_sandbox/`` API.

The development account's credentials are shown (they are published and only work here); any other
account's keys were chosen by whoever started the sandbox and are not.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paycombat_gateway.sandbox.control import ENDPOINTS
from paycombat_gateway.sandbox.core import Sandbox
from paycombat_gateway.sandbox.hosted import templates

__all__ = ["home_routes"]


def home_routes(sandbox: Sandbox) -> list[Route]:
    async def home(request: Request) -> Response:
        accounts = sandbox.accounts.all()
        return templates.TemplateResponse(
            request,
            "home.html",
            {
                "base_url": str(request.base_url).rstrip("/"),
                "accounts": accounts,
                "has_development": any(account.is_development for account in accounts),
                "endpoints": ENDPOINTS,
            },
            headers={"Cache-Control": "no-store"},
        )

    return [Route("/", home, methods=["GET"], name="sandbox_home")]

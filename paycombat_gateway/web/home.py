"""``GET /``: what someone who opens the app's base URL in a browser needs (instead of a bare 404).

The name and version, the manifest URL to paste into Saleor, whether this instance is ready, and where
the documentation is. It shows nothing secret and nothing about any installation.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from paycombat_gateway import __version__
from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.saleor.manifest import HOMEPAGE_URL

__all__ = ["home_routes"]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>paycombat-gateway {version}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;color:#1f2328}}
code{{background:#f3f4f6;padding:.1rem .3rem;border-radius:4px}} .bad{{color:#b42318}} .ok{{color:#067647}}</style>
</head><body>
<h1>paycombat-gateway <small>{version}</small></h1>
<p>The PayCombat payment gateway for Saleor: a Saleor App on the Transactions API.</p>
<h2>Install it in Saleor</h2>
<p>Dashboard › Apps › Install external app, with the manifest URL<br><code>{manifest_url}</code></p>
<p>Saleor must be able to reach that URL; it comes from <code>APP_URL</code>.</p>
<h2>Health</h2>
<p class="{health_class}">{health}</p>
<p><a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a> · <a href="/api/manifest">/api/manifest</a></p>
<h2>Documentation</h2>
<p><a href="{docs_url}">{docs_url}</a> (the README and <code>docs/</code>: storefront, configuration, operations).</p>
</body></html>
"""


def home_routes(app_url: str, readiness_check: Callable[[], str | None]) -> list[Route]:
    """The ``/`` route; ``readiness_check`` is the one ``/readyz`` uses (None when ready)."""

    async def home(request: Request) -> HTMLResponse:
        try:
            problem = await in_thread(readiness_check)
        except Exception:  # the page must answer whatever broke; /readyz logs the details
            problem = "readiness check failed"
        page = PAGE.format(
            version=escape(__version__),
            manifest_url=escape(f"{app_url}/api/manifest"),
            health="Ready: the database answers and is migrated."
            if problem is None
            else escape(f"Not ready: {problem}"),
            health_class="ok" if problem is None else "bad",
            docs_url=escape(f"{HOMEPAGE_URL}#readme"),
        )
        return HTMLResponse(page, status_code=200, headers={"Cache-Control": "no-store"})

    return [Route("/", home, methods=["GET"])]

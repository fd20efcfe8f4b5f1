"""Headless Debian Chromium driven by Playwright; the settings page runs inside a fake Dashboard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from paycombat_gateway.background_server import serve_in_thread
from tests.support.stack import Stack, run_stack

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

# The Dashboard's side of AppBridge, as observed on Saleor Dashboard 3.21 (saleor-observed/dashboard-appbridge-3.21.md):
# handshake on iframe load and again on notifyReady, theme events, a response to every action.
HOST_PAGE = """<!doctype html><html><head><title>Fake Saleor Dashboard</title></head><body style="margin:0">
<iframe id="app" style="width:100%;height:1400px;border:0" src="__SRC__"></iframe>
<script>
  window.currentToken = __TOKEN__;
  window.actions = [];
  const frame = document.getElementById("app");
  const appOrigin = new URL(frame.src).origin;
  function send(type, payload) { frame.contentWindow.postMessage({type, payload}, appOrigin); }
  window.pushTokenRefresh = () => send("tokenRefresh", {token: window.currentToken});
  window.setTheme = (theme) => send("theme", {theme});
  frame.addEventListener("load", () => {
    send("handshake", {token: window.currentToken, version: 1, saleorVersion: "3.21.69", dashboardVersion: "v3.21.21"});
    send("theme", {theme: "light"});
  });
  window.addEventListener("message", (event) => {
    if (event.origin !== appOrigin) return;
    const {type, payload} = event.data || {};
    window.actions.push(type);
    if (type === "notifyReady") send("handshake", {token: window.currentToken, version: 1});
    send("response", {actionId: payload && payload.actionId, ok: true});
  });
</script></body></html>"""


@dataclass
class FakeDashboard:
    url: str
    stack: Stack
    console: list[str] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for the browser tests, closed when they are done: Playwright's sync API keeps an
    event loop running in the main thread while it is open, which would break every later test that
    runs a coroutine there (``asyncio.run`` refuses to start inside a running loop)."""
    assert Path(CHROMIUM).exists(), "Debian chromium is missing: run scripts/browser-deps"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def empty_stack(tmp_path: Path) -> Iterator[Stack]:
    with run_stack(tmp_path, with_config=False) as stack:
        yield stack


def host_for(stack: Stack, token: str) -> Iterator[str]:
    query = urlencode(
        {"domain": stack.saleor.domain, "saleorApiUrl": stack.saleor.api_url, "id": stack.saleor.app_id}
    )
    src = f"{stack.app_url}/dashboard?{query}"

    async def host(request: Request) -> HTMLResponse:
        return HTMLResponse(HOST_PAGE.replace("__SRC__", src).replace("__TOKEN__", json.dumps(token)))

    with serve_in_thread(Starlette(routes=[Route("/dashboard/", host)])) as base:
        # another origin than the app's (localhost vs 127.0.0.1), like the real Dashboard
        yield base.replace("127.0.0.1", "localhost") + "/dashboard/"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> Path:
    """The app's iframe as the merchant sees it (the whole page, scrolled to the top)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if page.query_selector("iframe#app") is None:  # the page opened on its own
        page.screenshot(path=str(path), full_page=True)
        return path
    frame = page.frame_locator("iframe#app")
    height = frame.locator("body").evaluate("body => { window.scrollTo(0, 0); return body.scrollHeight; }")
    page.evaluate(f"document.getElementById('app').style.height = '{max(int(height) + 40, 600)}px'")
    page.wait_for_timeout(400)
    page.locator("iframe#app").screenshot(path=str(path))
    return path

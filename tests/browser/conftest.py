"""Headless Debian Chromium driven by Playwright; the settings page runs inside a fake Dashboard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import Browser, Frame, Page, expect, sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from paycombat_gateway.background_server import serve_in_thread
from tests.support.stack import Stack, run_stack

CHROMIUM = "/usr/bin/chromium"
# The machine is shared: under load a page can take longer than Playwright's 5 s default to settle.
expect.set_options(timeout=15_000)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

# The Dashboard's side of AppBridge as observed on Saleor Dashboard 3.21.21 (saleor-observed/
# dashboard-appbridge-3.21.md): the page lives at /dashboard/extensions/app/<encoded app id>; the iframe
# is sandboxed without allow-modals or allow-popups, and no feature is delegated to it (the clipboard is
# blocked); its src carries &theme= (the real Dashboard loads it twice, first without, and abandons the
# first load before its script runs: not reproduced here, Chromium drops such a src change now and then);
# on every load the Dashboard sends handshake,
# localeChanged, theme and redirect {path}; notifyReady brings a second handshake; each known action is
# answered with a response carrying its actionId, an unknown one with nothing.
HOST_PAGE = """<!doctype html><html><head><title>Fake Saleor Dashboard</title></head><body style="margin:0">
<textarea id="paste" aria-label="paste here" style="position:absolute;left:-9999px"></textarea>
<iframe id="app" data-test-id="app-frame" sandbox="allow-same-origin allow-forms allow-scripts allow-downloads"
  allow="" style="width:100%;height:1400px;border:0" src="__SRC__"></iframe>
<script>
  window.currentToken = __TOKEN__;
  window.actions = [];
  window.actionPayloads = [];
  const KNOWN = ["notifyReady", "notification", "updateRouting", "redirect", "requestPermissions"];
  const frame = document.getElementById("app");
  const appOrigin = new URL(frame.src).origin;
  let theme = "light";
  function send(type, payload) { frame.contentWindow.postMessage({type, payload}, appOrigin); }
  window.pushTokenRefresh = () => send("tokenRefresh", {token: window.currentToken});
  window.setTheme = (next) => { theme = next; send("theme", {theme}); };
  frame.addEventListener("load", () => {
    send("handshake", {token: window.currentToken, version: 1, saleorVersion: "3.21.69", dashboardVersion: "v3.21.21"});
    send("localeChanged", {locale: "en"});
    send("theme", {theme});
    send("redirect", {path: location.pathname});
  });
  window.addEventListener("message", (event) => {
    if (event.origin !== appOrigin) return;
    const {type, payload} = event.data || {};
    window.actions.push(type);
    window.actionPayloads.push({type, payload});
    if (!KNOWN.includes(type)) return;
    if (type === "notifyReady") send("handshake", {token: window.currentToken, version: 1});
    send("response", {actionId: payload && payload.actionId, ok: true});
  });
</script></body></html>"""
# The Dashboard's response headers that matter to the frame: its referrer is the Dashboard's origin only,
# and its permissions policy grants the app's iframe no clipboard.
HOST_HEADERS = {
    "Referrer-Policy": "origin-when-cross-origin",
    "Permissions-Policy": "clipboard-read=(), clipboard-write=()",
}


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
        {
            "domain": stack.saleor.domain,
            "saleorApiUrl": stack.saleor.api_url,
            "id": stack.saleor.app_id,
            "theme": "light",
        }
    )
    src = f"{stack.app_url}/dashboard?{query}"

    async def host(request: Request) -> HTMLResponse:
        page = HOST_PAGE.replace("__SRC__", src).replace("__TOKEN__", json.dumps(token))
        return HTMLResponse(page, headers=HOST_HEADERS)

    app_path = "/dashboard/extensions/app/" + quote(stack.saleor.app_id, safe="")
    with serve_in_thread(Starlette(routes=[Route("/dashboard/extensions/app/{app_id}", host)])) as base:
        # another origin than the app's (localhost vs 127.0.0.1), like the real Dashboard
        yield base.replace("127.0.0.1", "localhost") + app_path


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def app_frame(page: Page) -> Frame:
    """The app's document in the host's iframe."""
    element = page.wait_for_selector("iframe#app")
    assert element is not None
    frame = element.content_frame()
    assert frame is not None, "the host page has no app iframe"
    return frame


def screenshot(page: Page, name: str) -> Path:
    """The app's iframe as the merchant sees it (the whole page, scrolled to the top)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if page.query_selector("iframe#app") is None:  # the page opened on its own
        page.screenshot(path=str(path), full_page=True)
        return path
    frame = page.frame_locator("iframe#app")
    height = frame.locator("body").evaluate("body => { window.scrollTo(0, 0); return body.scrollHeight; }")
    frame_height = max(int(height) + 40, 600)
    page.evaluate(f"document.getElementById('app').style.height = '{frame_height}px'")
    # Chromium paints an out-of-process iframe only where the window shows it: make the window as tall
    viewport = page.viewport_size
    page.set_viewport_size({"width": viewport["width"] if viewport else 1100, "height": frame_height})
    page.wait_for_timeout(400)
    page.locator("iframe#app").screenshot(path=str(path))
    if viewport:
        page.set_viewport_size(viewport)
    return path

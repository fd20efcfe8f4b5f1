"""The settings page in real Chromium, inside a fake Saleor Dashboard that speaks AppBridge."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Frame, Page, Response, expect

from paycombat_gateway.storage.models import PaycombatConfig
from tests.browser.conftest import app_frame, host_for, screenshot
from tests.support.stack import ACCOUNT, Stack

X_TOKEN = ACCOUNT.x_token
SIGNATURE_KEY = ACCOUNT.signature_key


def _app_frame(page: Page) -> Frame:
    content = app_frame(page)
    expect(content.locator("h1")).to_have_text("PayCombat")
    return content


@pytest.fixture
def recorded(page: Page) -> Iterator[tuple[list[str], list[str]]]:
    console: list[str] = []
    bodies: list[str] = []

    def keep(response: Response) -> None:
        try:
            bodies.append(response.text())
        except Exception:  # redirects and aborted loads have no body
            bodies.append("")

    page.on("console", lambda message: console.append(message.text))
    page.on("response", keep)
    yield console, bodies


def test_first_time_setup_end_to_end(
    empty_stack: Stack, page: Page, recorded: tuple[list[str], list[str]]
) -> None:
    console, bodies = recorded
    for url in host_for(empty_stack, empty_stack.saleor.dashboard_token()):
        page.goto(url)
        app = _app_frame(page)
        expect(app.locator("#no-configs")).to_be_visible()
        screenshot(page, "01-empty")
        app.get_by_role("button", name="Add configuration").click()
        app.get_by_label("Name").fill("Sandbox AU")
        app.get_by_label("X-token").fill(X_TOKEN)
        app.get_by_label("Signature key").fill(SIGNATURE_KEY)
        app.get_by_label("Default Channel").check()
        app.get_by_role("button", name="Test connection").click()
        expect(app.locator("#form-result")).to_have_text(
            "The keys work: PayCombat accepted the signed request."
        )
        screenshot(page, "02-test-connection")
        app.get_by_role("button", name="Save").click()
        item = app.locator("li.config")
        expect(item).to_have_count(1)
        expect(item.locator(".hint-x")).to_have_text(f"••••{X_TOKEN[-4:]} · {len(X_TOKEN)} characters")
        expect(item.locator(".hint-s")).to_have_text(
            f"••••{SIGNATURE_KEY[-4:]} · {len(SIGNATURE_KEY)} characters"
        )
        expect(item.locator(".channels")).to_have_text("Default Channel (default-channel · USD)")
        expect(item.locator(".webhook-url")).to_have_value(
            re.compile(re.escape(f"{empty_stack.app_url}/api/webhooks/paycombat/"))
        )
        item.get_by_role("button", name="Test connection").click()
        expect(item.locator(".result")).to_have_text("The keys work: PayCombat accepted the signed request.")
        screenshot(page, "03-configured")
        assert "notification" in page.evaluate("window.actions")
        html = app.content()
        for secret in (X_TOKEN, SIGNATURE_KEY):
            assert secret not in html
            assert all(secret not in body for body in bodies)
            assert all(secret not in line for line in console)
    with empty_stack.ctx.database.session() as session:
        (config,) = session.query(PaycombatConfig).all()
        assert config.name == "Sandbox AU" and X_TOKEN not in config.x_token_encrypted


def test_expired_token_is_recovered_from(empty_stack: Stack, page: Page) -> None:
    for url in host_for(empty_stack, empty_stack.saleor.dashboard_token(ttl=-60)):
        page.goto(url)
        app = _app_frame(page)
        expect(app.locator("#status")).to_have_text("Session expired — refreshing…")
        screenshot(page, "04-session-expired")
        page.evaluate(
            f"window.currentToken = {empty_stack.saleor.dashboard_token()!r}; window.pushTokenRefresh()"
        )
        expect(app.locator("#no-configs")).to_be_visible()
        expect(app.locator("#status")).to_have_text("")


def test_invalid_input_shows_field_errors_and_saves_nothing(empty_stack: Stack, page: Page) -> None:
    for url in host_for(empty_stack, empty_stack.saleor.dashboard_token()):
        page.goto(url)
        app = _app_frame(page)
        app.get_by_role("button", name="Add configuration").click()
        app.get_by_label("X-token").fill("short")
        app.get_by_label("Default return URL").fill("ftp://nope")
        app.get_by_role("button", name="Save").click()
        expect(app.locator("#form-result")).to_have_text("Nothing was saved: fix the fields marked above.")
        expect(app.locator("#e-name")).to_have_text("Give the configuration a name.")
        expect(app.locator("#e-signatureKey")).to_have_text("Paste the PayCombat signature key.")
        expect(app.locator("#f-xToken")).to_have_attribute("aria-invalid", "true")
        expect(app.locator("#e-redirectUrl")).not_to_be_empty()
        screenshot(page, "05-invalid-input")
    with empty_stack.ctx.database.session() as session:
        assert session.query(PaycombatConfig).count() == 0


def test_dark_theme_and_keyboard_navigation(empty_stack: Stack, page: Page) -> None:
    for url in host_for(empty_stack, empty_stack.saleor.dashboard_token()):
        page.goto(url)
        app = _app_frame(page)
        expect(app.locator("#no-configs")).to_be_visible()
        page.evaluate("window.setTheme('dark')")
        expect(app.locator("html")).to_have_attribute("data-theme", "dark")
        app.locator("#add-config").focus()
        page.keyboard.press("Enter")
        expect(app.get_by_label("Name")).to_be_focused()
        screenshot(page, "06-dark-editor")


def test_outside_the_dashboard_says_so(empty_stack: Stack, page: Page) -> None:
    page.goto(f"{empty_stack.app_url}/dashboard")
    expect(page.get_by_role("heading", name="Open this page from Saleor Dashboard")).to_be_visible()
    expect(page.locator("#outside")).to_contain_text("Extensions › Installed › PayCombat")
    expect(page.locator("#outside")).to_contain_text("Apps › PayCombat")
    expect(page.locator("#content")).to_be_hidden()
    screenshot(page, "07-outside-dashboard")

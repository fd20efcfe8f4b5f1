"""What the real Dashboard's iframe forbids (modals, the Clipboard API) and what the page does instead;
channels chosen from the Saleor's own; recent payments matched to orders. In Chromium, in the host page
that reproduces Saleor Dashboard 3.21's iframe (tests/browser/conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Frame, Page, Request, expect

from paycombat_gateway.storage.configs import list_configs, mapped_channels
from paycombat_gateway.storage.models import PaycombatConfig
from tests.browser.conftest import app_frame, host_for, screenshot
from tests.support.stack import ACCOUNT, Stack, run_stack


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """An installed app with the configuration "Main" holding default-channel."""
    with run_stack(tmp_path) as running:
        yield running


def _open(page: Page, stack: Stack) -> Iterator[Frame]:
    for url in host_for(stack, stack.saleor.dashboard_token()):
        page.goto(url)
        frame = app_frame(page)
        expect(frame.locator("#content")).to_be_visible()
        yield frame


def test_the_host_frames_the_page_as_the_dashboard_does(stack: Stack, page: Page) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    tokens: list[str | None] = []

    def keep_token(request: Request) -> None:
        if request.url.endswith("/graphql"):
            tokens.append(request.headers.get("authorization-bearer"))

    page.on("request", keep_token)
    for app in _open(page, stack):
        frame = page.locator("iframe#app")
        expect(frame).to_have_attribute(
            "sandbox", "allow-same-origin allow-forms allow-scripts allow-downloads"
        )
        assert app.evaluate("window.confirm('really?')") is False  # ignored without allow-modals
        assert app.evaluate("document.featurePolicy.allowsFeature('clipboard-write')") is False
        assert "theme=light" in app.url and "saleorApiUrl=" in app.url
        assert any("Ignored call to 'confirm()'" in line for line in console)
        # the Dashboard's token refresh (every 270 s in 3.21): the next call carries the new token
        fresh = stack.saleor.dashboard_token(ttl=600)
        page.evaluate(f"window.currentToken = {fresh!r}; window.pushTokenRefresh()")
        tokens.clear()
        app.locator("li.config").get_by_role("button", name="Test connection").click()
        expect(app.locator("li.config .result")).to_have_text(
            "The keys work: PayCombat accepted the signed request."
        )
        assert tokens == [fresh]


def test_delete_is_confirmed_inside_the_page(stack: Stack, page: Page) -> None:
    for app in _open(page, stack):
        card = app.locator("li.config", has_text="Main")
        card.get_by_role("button", name="Delete").click()
        expect(card).to_contain_text("Delete Main? Its channels stop offering PayCombat.")
        expect(card.get_by_role("button", name="Keep it")).to_be_focused()
        screenshot(page, "11-confirm-delete")
        card.get_by_role("button", name="Keep it").click()
        expect(card.get_by_role("button", name="Delete", exact=True)).to_be_visible()
        with stack.ctx.database.session() as session:
            assert session.query(PaycombatConfig).count() == 1
        card.get_by_role("button", name="Delete", exact=True).click()
        card.get_by_role("button", name="Delete Main").click()
        expect(app.locator("li.config")).to_have_count(0)
        expect(app.locator("#status")).to_have_text("Deleted Main.")
    with stack.ctx.database.session() as session:
        assert session.query(PaycombatConfig).count() == 0


def test_copy_works_without_the_clipboard_api_and_says_when_it_fails(stack: Stack, page: Page) -> None:
    webhook_url = f"{stack.app_url}/api/webhooks/paycombat/{stack.config_id}"
    for app in _open(page, stack):
        card = app.locator("li.config", has_text="Main")
        field = card.locator("input.webhook-url")
        expect(field).to_have_value(webhook_url)
        box = field.bounding_box()
        assert box is not None and box["height"] < 40  # one line, never wrapped
        blocked = app.evaluate("navigator.clipboard.writeText('x').then(() => 'copied', (e) => e.name)")
        assert blocked == "NotAllowedError"
        card.get_by_role("button", name="Copy the webhook URL of Main").click()
        result = card.locator(".result")
        expect(result).to_have_text("Webhook URL copied.")
        expect(result).to_have_class("result good")
        page.locator("#paste").focus()
        page.keyboard.press("Control+V")
        expect(page.locator("#paste")).to_have_value(webhook_url)  # really on the clipboard
        # a browser that refuses execCommand("copy") too: the URL is left selected, and the page says so
        app.evaluate("document.execCommand = () => false")
        card.get_by_role("button", name="Copy the webhook URL of Main").click()
        expect(result).to_have_text(
            "Could not copy here: the URL is selected, press Ctrl+C (⌘C on a Mac) to copy it."
        )
        expect(result).to_have_class("result bad")
        selected = field.evaluate("f => f.value.slice(f.selectionStart, f.selectionEnd)")
        assert selected == webhook_url
        screenshot(page, "12-copy-failed")


def test_channels_come_from_saleor_and_a_held_one_moves_only_when_asked(stack: Stack, page: Page) -> None:
    for app in _open(page, stack):
        app.get_by_role("button", name="Add configuration").click()
        choices = app.locator("#channel-choices label")
        expect(choices).to_have_count(5)
        expect(app.locator("label[for='c-default-channel']")).to_contain_text("pays with Main")
        expect(app.locator("label[for='c-poland']")).to_contain_text("poland · PLN · PayCombat takes no PLN")
        app.get_by_label("Name").fill("Second")
        app.get_by_label("X-token").fill("snd_second_xtoken_1234")
        app.get_by_label("Signature key").fill("snd_second_sigkey_1234")
        app.locator("#c-poland").check()
        expect(app.locator("#w-channels")).to_have_text(
            "PayCombat takes no PLN: Poland will not offer PayCombat."
        )
        expect(app.locator("#move-channels")).to_be_hidden()
        app.locator("#c-default-channel").check()
        expect(app.locator("#move-channels")).to_be_visible()
        app.get_by_role("button", name="Save").click()
        expect(app.locator("#e-channels")).to_have_text(
            "Channel 'default-channel' already pays with configuration 'Main'; move it explicitly to map it here."
        )
        screenshot(page, "10-channels")
        with stack.ctx.database.session() as session:
            assert [c.name for c in session.query(PaycombatConfig).all()] == ["Main"]
        app.get_by_label("Move the checked channels that pay with another configuration to this one").check()
        app.get_by_role("button", name="Save").click()
        second = app.locator("li.config", has_text="Second")
        expect(second.locator(".channels")).to_have_text(
            "Default Channel (default-channel · USD), Poland (poland · PLN)"
        )
        expect(second.locator(".warning")).to_have_text(
            "PayCombat takes no PLN: channel Poland will not offer PayCombat."
        )
        expect(app.locator("li.config", has_text="Main").locator(".channels")).to_have_text(
            "none (not used yet)"
        )
        screenshot(page, "14-currency-warning")
    with stack.ctx.database.session() as session:
        (main, second_config) = list_configs(session, 1)
        assert mapped_channels(session, main.id) == []
        assert mapped_channels(session, second_config.id) == ["default-channel", "poland"]


def test_saleor_out_of_reach_is_said_plainly(stack: Stack, page: Page) -> None:
    stack.saleor.mode = "down"
    for app in _open(page, stack):
        app.get_by_role("button", name="Edit").click()
        expect(app.locator("#h-channels")).to_have_text(
            "Could not read this Saleor's channels (Saleor answered HTTP 503). Channels can be added once Saleor "
            "answers; reload to try again."
        )
        expect(app.locator("#c-default-channel")).to_be_checked()  # what Main holds stays shown
        expect(app.locator("label[for='c-default-channel']")).to_contain_text("mapped here now")
        app.get_by_label("Name").fill("Main renamed")
        app.get_by_role("button", name="Save").click()  # no channel added: nothing to ask Saleor
        expect(app.locator("li.config", has_text="Main renamed")).to_be_visible()


def test_recent_payments_are_matched_to_orders(stack: Stack, page: Page) -> None:
    paid, _ = stack.settled_checkout(
        "success", amount="1.99", currency="AUD",
        data={"return_url": "https://shop.example.com/return", "payin_method": "au_bank_npp"},
    )  # fmt: skip
    order_id = stack.saleor.complete_checkout(paid["transaction"]["id"], "1042")
    stack.settled_checkout("failed", amount="25.00")
    for app in _open(page, stack):
        rows = app.locator("#transactions tbody tr")
        expect(rows).to_have_count(2)
        failed, first = rows.nth(0), rows.nth(1)
        link = first.get_by_role("link", name="Order #1042")
        dashboard = page.url.split("/dashboard/")[0]
        expect(link).to_have_attribute("href", f"{dashboard}/dashboard/orders/{quote(order_id, safe='')}")
        expect(first).to_contain_text("1.99 AUD")
        expect(first).to_contain_text("PayID bank transfer (NPP)")
        expect(first).to_contain_text("Paid")
        expect(first.locator("time")).to_have_text(
            re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}\s[AP]M$")
        )
        expect(failed).to_contain_text("Checkout, no order yet")
        expect(failed).to_contain_text("25.00 USD")
        expect(failed).to_contain_text("Failed")
        assert "1.9900" not in app.locator("#transactions").inner_text()
        screenshot(page, "13-activity")
        link.click()
        redirects = [a["payload"] for a in page.evaluate("window.actionPayloads") if a["type"] == "redirect"]
        assert redirects and redirects[-1]["to"] == "/orders/" + quote(order_id, safe="")
        expect(app.locator("h1")).to_have_text("PayCombat")  # the iframe itself did not navigate


def test_messages_of_an_earlier_action_go_when_a_new_one_starts(stack: Stack, page: Page) -> None:
    for app in _open(page, stack):
        card = app.locator("li.config", has_text="Main")
        card.get_by_role("button", name="Test connection").click()
        expect(card.locator(".result")).to_have_text("The keys work: PayCombat accepted the signed request.")
        app.locator("li.config").get_by_role("button", name="Edit").click()
        app.get_by_label("Default return URL").fill("https://shop.example.com/back")
        app.get_by_role("button", name="Save").click()
        expect(app.locator("#status")).to_have_text(re.compile("^Saved Main"))
        expect(card.locator(".result")).to_have_text("")
        expect(card.locator(".return-url")).to_have_text("https://shop.example.com/back")
        expect(card.locator(".methods-list")).to_have_text("every method PayCombat offers for the currency")
        assert ACCOUNT.x_token not in app.content()

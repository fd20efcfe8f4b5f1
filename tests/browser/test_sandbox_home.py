"""The sandbox's home page at a common laptop width: everything stays inside its card, and every link
on it answers (``/_sandbox/`` lists the control API, as the page does)."""

from __future__ import annotations

import requests
from playwright.sync_api import Browser

from paycombat_gateway.sandbox.accounts import DEV_SIGNATURE_KEY, DEV_X_TOKEN
from paycombat_gateway.sandbox.control import ENDPOINTS
from paycombat_gateway.sandbox.server import SandboxAccount, run_sandbox
from tests.browser.conftest import ARTIFACTS

ACCOUNTS = [
    SandboxAccount(x_token=DEV_X_TOKEN, signature_key=DEV_SIGNATURE_KEY, name="development"),
    SandboxAccount(
        x_token="snd_home_page_xtoken_0123456789", signature_key="snd_home_sigkey_01", name="shop"
    ),
]
# what overflows: every element whose right edge is past the card's
OVERFLOWING = """() => {
  const card = document.querySelector("main").getBoundingClientRect();
  return [...document.querySelectorAll("main *")]
    .filter((element) => element.getBoundingClientRect().right > card.right + 0.5)
    .map((element) => `${element.tagName} ${element.textContent.trim().slice(0, 40)}`);
}"""


def test_the_home_page_fits_its_card_and_links_only_to_what_answers(browser: Browser) -> None:
    with run_sandbox(ACCOUNTS) as sandbox:
        for width in (1200, 800, 390):
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            try:
                page.goto(f"{sandbox.base_url}/")
                assert page.get_by_text(DEV_X_TOKEN).is_visible(), "the development keys are shown whole"
                assert page.evaluate(OVERFLOWING) == [], f"past the card at {width} px"
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                if width == 1200:
                    ARTIFACTS.mkdir(exist_ok=True)
                    page.screenshot(path=str(ARTIFACTS / "sandbox-home-1200.png"), full_page=True)
                links = [link.get_attribute("href") for link in page.locator("a").all()]
            finally:
                context.close()
        assert links, "the page links its control API"
        for href in links:
            assert href is not None
            answer = requests.get(requests.compat.urljoin(f"{sandbox.base_url}/", href), timeout=5)
            assert answer.status_code == 200, href
        listed = requests.get(f"{sandbox.base_url}/_sandbox/", timeout=5).json()["data"]
        assert [(entry["method"], entry["path"]) for entry in listed] == [(m, p) for m, p, _ in ENDPOINTS]

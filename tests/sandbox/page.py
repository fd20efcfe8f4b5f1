"""Reads the hosted checkout page the way a browser without JavaScript would: its form, fields,
buttons and labels (stdlib ``html.parser``), so tests can drive the page over plain HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import requests


@dataclass
class Page:
    status: int
    text: str
    action: str | None = None
    hidden: dict[str, str] = field(default_factory=dict)
    radios: dict[str, list[str]] = field(default_factory=dict)
    checked: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[str]] = field(default_factory=dict)
    buttons: dict[str, str] = field(default_factory=dict)  # value -> visible text
    labels: dict[str, str] = field(default_factory=dict)  # for= id -> text
    input_ids: list[str] = field(default_factory=list)  # ids of visible inputs and selects
    test_ids: dict[str, str] = field(default_factory=dict)  # data-testid -> text
    scripts: int = 0
    stylesheets: list[str] = field(default_factory=list)

    def submit(self, session: requests.Session, button: str, **fields: str) -> requests.Response:
        """Press ``button`` (its value) with the form's hidden fields, the checked radios and ``fields``."""
        assert self.action is not None, "the page has no form"
        assert button in self.buttons, f"no {button!r} button on the page: {sorted(self.buttons)}"
        data = {**self.hidden, **self.checked, **fields, "action": button}
        return session.post(self.action, data=data, allow_redirects=False, timeout=10)


_VOID = {"input", "link", "meta", "br", "img", "hr"}


class _Reader(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__()
        self.page = page
        self._open: list[tuple[str, str]] = []  # (kind, key) whose text is being collected
        self._text: dict[tuple[str, str], str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr: dict[str, Any] = {name: value or "" for name, value in attrs}
        page = self.page
        if tag == "form":
            page.action = attr.get("action")
        elif tag == "input":
            kind, name = attr.get("type", "text"), attr.get("name", "")
            if kind == "hidden":
                page.hidden[name] = attr.get("value", "")
            else:
                page.input_ids.append(attr.get("id", ""))
            if kind == "radio":
                page.radios.setdefault(name, []).append(attr["value"])
                if "checked" in attr:
                    page.checked[name] = attr["value"]
        elif tag == "select":
            self._select = attr.get("name", "")
            page.input_ids.append(attr.get("id", ""))
            page.options[self._select] = []
        elif tag == "option" and self._select is not None:
            page.options[self._select].append(attr.get("value", ""))
        elif tag == "script":
            page.scripts += 1
        elif tag == "link" and attr.get("rel") == "stylesheet":
            page.stylesheets.append(attr.get("href", ""))
        if tag in _VOID:
            return
        if tag == "button":
            self._open.append(("button", attr.get("value", "")))
        elif tag == "label":
            self._open.append(("label", attr.get("for", "")))
        elif "data-testid" in attr:
            self._open.append(("testid", attr["data-testid"]))
        else:
            self._open.append(("", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag in _VOID or not self._open:
            return
        kind, key = self._open.pop()
        text = " ".join(self._text.pop((kind, key), "").split())
        if kind == "button":
            self.page.buttons[key] = text
        elif kind == "label":
            self.page.labels[key] = text
        elif kind == "testid":
            self.page.test_ids[key] = text

    def handle_data(self, data: str) -> None:
        for kind, key in self._open:
            if kind:
                self._text[(kind, key)] = self._text.get((kind, key), "") + data


def read_page(response: requests.Response) -> Page:
    page = Page(status=response.status_code, text=response.text)
    _Reader(page).feed(response.text)
    return page


def open_page(session: requests.Session, url: str) -> Page:
    return read_page(session.get(url, timeout=10))

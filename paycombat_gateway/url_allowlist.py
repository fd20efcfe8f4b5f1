"""Allow-lists of URLs, matched on the parsed URL, never on its text.

An entry is a URL: scheme, host, optional port, path. A URL is allowed when an entry has its scheme, its
host (exactly, or any subdomain when the entry's host is ``*.example.com``: dot-bounded, so neither
``example.com`` itself nor ``evilexample.com``), its port (the scheme's default when absent) and its
path, all exactly. A URL with userinfo (``user@``), a query or a fragment is never allowed: those are
the parts that make a URL's text say one host while a client connects to another.

Text matching (a regular expression) cannot be made safe: ``http://127.0.0.1/.saleor.cloud/graphql/``
and ``http://x.saleor.cloud@127.0.0.1/`` both "contain" the allowed host.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["ParsedUrl", "UrlAllowList", "parse_url"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_UNSAFE = re.compile(r"[\s\\\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ParsedUrl:
    scheme: str
    host: str  # lower case; an IPv6 address without its brackets
    port: int
    path: str


def parse_url(url: str, *, wildcard: bool = False) -> ParsedUrl:
    """The parts of an ``http``/``https`` URL, or ``ValueError`` saying what is wrong with it.

    ``wildcard`` admits a leading ``*.`` in the host (for allow-list entries)."""
    if _UNSAFE.search(url):
        raise ValueError("it contains spaces, backslashes or control characters")
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS:
        raise ValueError("it is not an http:// or https:// URL")
    if "@" in parts.netloc:
        raise ValueError("it has a user name or password (user@host)")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ValueError("it has a query (?…) or a fragment (#…)")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("its port is not a number from 1 to 65535") from None
    host = (parts.hostname or "").lower()
    bare = host[2:] if wildcard and host.startswith("*.") else host
    if ":" in bare:
        try:
            ipaddress.IPv6Address(bare)
        except ValueError:
            raise ValueError("it has no valid host name") from None
    elif not _HOST.fullmatch(bare):
        raise ValueError("it has no valid host name")
    return ParsedUrl(parts.scheme, host, port or _DEFAULT_PORTS[parts.scheme], parts.path)


def _host_matches(entry: str, host: str) -> bool:
    if entry.startswith("*."):
        return host.endswith(entry[1:]) and len(host) > len(entry) - 1
    return host == entry


@dataclass(frozen=True, slots=True)
class UrlAllowList:
    entries: tuple[ParsedUrl, ...]
    trailing_slash_insensitive: bool = False

    @classmethod
    def parse(cls, raw: str, *, trailing_slash_insensitive: bool = False) -> UrlAllowList:
        """Comma-separated URLs; ``ValueError`` names the first entry that is not one."""
        entries = []
        for item in (part.strip() for part in raw.split(",")):
            if not item:
                continue
            try:
                entries.append(parse_url(item, wildcard=True))
            except ValueError as exc:
                raise ValueError(f"{item!r} is not a URL: {exc}") from None
        if not entries:
            raise ValueError("the list is empty")
        return cls(tuple(entries), trailing_slash_insensitive)

    def _path(self, path: str) -> str:
        return path.rstrip("/") if self.trailing_slash_insensitive else path

    def allows(self, url: str) -> bool:
        try:
            candidate = parse_url(url)
        except ValueError:
            return False
        return any(
            entry.scheme == candidate.scheme
            and _host_matches(entry.host, candidate.host)
            and entry.port == candidate.port
            and self._path(entry.path) == self._path(candidate.path)
            for entry in self.entries
        )

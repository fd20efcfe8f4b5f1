"""Where a configuration's PayCombat calls may go, and which keys may travel there.

A configuration's keys are sent only to the API URL they were saved with: changing the URL means
entering both keys again (``storage.configs.update_config`` refuses otherwise). In production an API
URL must also be ``https`` on PayCombat's documented host or on the operator's
``PAYCOMBAT_ALLOWED_API_URLS``, and its host must resolve to public addresses only, so a Dashboard
user cannot point the app (and its keys) at the app's own network.

The host is resolved on the event loop (``outbound.dns_resolver``) and by ``DNS_LOOKUP_SECONDS``: a host
that resolves slowly, or never, costs its caller that deadline and holds no thread anyone else needs.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

from paycombat_gateway.outbound import DNS_LOOKUP_SECONDS, dns_resolver
from paycombat_gateway.paycombat.contract import DEFAULT_BASE_URL
from paycombat_gateway.settings import Settings
from paycombat_gateway.url_allowlist import UrlAllowList, parse_url

__all__ = ["NOT_ALLOWED_MESSAGE", "api_url_problem"]

NOT_ALLOWED_MESSAGE = (
    f"This API URL is not allowed: use PayCombat's {DEFAULT_BASE_URL}, or an https URL the app's "
    "operator lists in PAYCOMBAT_ALLOWED_API_URLS."
)
_PAYCOMBAT_HOSTS = UrlAllowList.parse(DEFAULT_BASE_URL, trailing_slash_insensitive=True)
Resolver = Callable[[str], Awaitable[list[str]]]


async def _resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to, by ``DNS_LOOKUP_SECONDS`` (``TimeoutError`` past it)."""
    resolver = dns_resolver()
    try:
        async with asyncio.timeout(DNS_LOOKUP_SECONDS):
            found = await resolver.resolve(host, 443, family=socket.AF_UNSPEC)
    finally:
        await resolver.close()
    return [str(result["host"]) for result in found]


def _non_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def api_url_problem(settings: Settings, api_url: str, resolve: Resolver = _resolve) -> str | None:
    """Why ``api_url`` may not receive a configuration's keys (for the log), or None when it may."""
    try:
        parsed = parse_url(api_url)
    except ValueError as exc:
        return f"the API URL is not a plain http(s) URL: {exc}"
    if not settings.is_production:
        return None  # development and tests talk to a sandbox on loopback
    if parsed.scheme != "https":
        return "in production the API URL must be https"
    if not (_PAYCOMBAT_HOSTS.allows(api_url) or settings.paycombat_api_url_listed(api_url)):
        return "the API URL is neither PayCombat's nor listed in PAYCOMBAT_ALLOWED_API_URLS"
    try:
        addresses = await resolve(parsed.host)
    except TimeoutError:
        return f"{parsed.host} could not be resolved within {DNS_LOOKUP_SECONDS:g} s"
    except (OSError, UnicodeError) as exc:
        return f"{parsed.host} could not be resolved: {exc}"
    private = sorted({address for address in addresses if _non_public(address)})
    if not addresses or private:
        return f"{parsed.host} resolves to a loopback, private or link-local address ({', '.join(private)})"
    return None

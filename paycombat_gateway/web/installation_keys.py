"""A short-lived, per-process cache of what webhook verification needs about each installation.

Every Saleor webhook needs the installation's app id and JWKS; reading them from the database on each
request costs more than verifying the signature. The cache is only a shortcut: a verification that
fails with cached keys is retried once with keys read fresh from the database, so a reinstall or key
rotation recorded by another instance is picked up at once.

``current_jwks`` is where both Saleor webhooks and Dashboard tokens go for keys they do not know: the
process-wide ``JwksRefresher`` fetches them single-flight, and every JWKS that parses is stored at once,
whichever request caused the fetch, so this instance and the others verify the next request without
fetching again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.saleor.jwks import fetch_jwks
from paycombat_gateway.saleor.webhook_validation import InstallationKeys
from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.installations import get_installation, save_jwks

__all__ = ["InstallationKeysCache", "current_jwks"]


async def current_jwks(
    ctx: GatewayContext,
    saleor_api_url: str,
    kid: str | None,
    *,
    ticket: int,
    on_kept: Callable[[str], None] | None = None,
) -> str | None:
    """The JWKS of the installed Saleor at ``saleor_api_url`` that has ``kid``, if Saleor publishes one.

    ``ticket`` is ``ctx.jwks_refresher.ticket(saleor_api_url)`` taken when the request arrived."""

    def save(jwks: str) -> None:
        with ctx.database.session() as session:
            save_jwks(session, saleor_api_url, jwks)

    async def keep(jwks: str) -> None:
        await in_thread(save, jwks)
        if on_kept is not None:
            on_kept(jwks)

    return await ctx.jwks_refresher.jwks_with(
        saleor_api_url,
        kid,
        ticket=ticket,
        fetch=lambda: fetch_jwks(ctx.http(), saleor_api_url),
        keep=keep,
    )


class InstallationKeysCache:
    def __init__(self, database: Database, ttl_seconds: float = 30.0) -> None:
        self.database = database
        self.ttl = ttl_seconds
        self._entries: dict[str, tuple[float, InstallationKeys]] = {}
        self._lock = threading.Lock()

    def fresh(self, saleor_api_url: str) -> InstallationKeys | None:
        """Read from the database and remember."""
        with self.database.session(readonly=True) as session:
            installation = get_installation(session, saleor_api_url)
            keys = (
                InstallationKeys(
                    installation.id,
                    installation.app_id,
                    installation.jwks,
                    uninstalled=installation.uninstalled_at is not None,
                )
                if installation
                else None
            )
        with self._lock:
            if keys is None:
                self._entries.pop(saleor_api_url, None)
            else:
                self._entries[saleor_api_url] = (time.monotonic() + self.ttl, keys)
        return keys

    def cached(self, saleor_api_url: str) -> InstallationKeys | None:
        with self._lock:
            entry = self._entries.get(saleor_api_url)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        return self.fresh(saleor_api_url)

    def is_cached(self, saleor_api_url: str) -> bool:
        with self._lock:
            entry = self._entries.get(saleor_api_url)
        return entry is not None and entry[0] > time.monotonic()

    def update_jwks(self, saleor_api_url: str, jwks: str) -> None:
        with self._lock:
            entry = self._entries.get(saleor_api_url)
            if entry is not None:
                keys = entry[1]
                self._entries[saleor_api_url] = (
                    entry[0],
                    InstallationKeys(keys.installation_id, keys.app_id, jwks, uninstalled=keys.uninstalled),
                )

    def forget(self, saleor_api_url: str) -> None:
        with self._lock:
            self._entries.pop(saleor_api_url, None)

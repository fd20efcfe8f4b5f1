"""A short-lived, per-process cache of what webhook verification needs about each installation.

Every Saleor webhook needs the installation's app id and JWKS; reading them from the database on each
request costs more than verifying the signature. The cache is only a shortcut: a verification that
fails with cached keys is retried once with keys read fresh from the database, so a reinstall or key
rotation recorded by another instance is picked up at once.
"""

from __future__ import annotations

import threading
import time

from paycombat_gateway.saleor.webhook_validation import InstallationKeys
from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.installations import get_installation

__all__ = ["InstallationKeysCache"]


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
                InstallationKeys(installation.id, installation.app_id, installation.jwks)
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
                    InstallationKeys(keys.installation_id, keys.app_id, jwks),
                )

    def forget(self, saleor_api_url: str) -> None:
        with self._lock:
            self._entries.pop(saleor_api_url, None)

"""Configuration lookups cached per process for a few seconds.

Every payment call and every PayCombat webhook needs the channel's (or the URL's) configuration; a
database round trip each time costs more than the rest of the lookup. Changes made through the
Dashboard page invalidate this process's cache at once; other instances (and ``config add``) see a
change within ``ttl`` seconds. Stored secrets stay encrypted in the cached rows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.storage.configs import config_for_channel, get_config
from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.models import PaycombatConfig

__all__ = ["ConfigCache"]


class ConfigCache:
    def __init__(self, database: Database, ttl_seconds: float = 5.0) -> None:
        self.database = database
        self.ttl = ttl_seconds
        self._entries: dict[object, tuple[float, PaycombatConfig | None]] = {}
        self._lock = threading.Lock()

    def _get(self, key: object, load: Callable[[Session], PaycombatConfig | None]) -> PaycombatConfig | None:
        hit, cached = self.cached(key)
        if hit:
            return cached
        with self.database.session(readonly=True) as session:
            config = load(session)
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl, config)
        return config

    def for_channel(self, installation_id: int, channel_slug: str) -> PaycombatConfig | None:
        return self._get(
            ("channel", installation_id, channel_slug),
            lambda s: config_for_channel(s, installation_id, channel_slug),
        )

    def by_id(self, config_id: str) -> PaycombatConfig | None:
        return self._get(("id", config_id), lambda s: get_config(s, config_id))

    def cached(self, key: object) -> tuple[bool, PaycombatConfig | None]:
        """Whether ``key`` is cached and still fresh, and its configuration: no database involved."""
        with self._lock:
            entry = self._entries.get(key)
        return (True, entry[1]) if entry is not None and entry[0] > time.monotonic() else (False, None)

    async def for_channel_async(self, installation_id: int, channel_slug: str) -> PaycombatConfig | None:
        """``for_channel`` for the event loop: the database is read in a thread, only on a miss."""
        hit, config = self.cached(("channel", installation_id, channel_slug))
        return config if hit else await in_thread(self.for_channel, installation_id, channel_slug)

    async def by_id_async(self, config_id: str) -> PaycombatConfig | None:
        """``by_id`` for the event loop: the database is read in a thread, only on a miss."""
        hit, config = self.cached(("id", config_id))
        return config if hit else await in_thread(self.by_id, config_id)

    def invalidate(self) -> None:
        with self._lock:
            self._entries.clear()

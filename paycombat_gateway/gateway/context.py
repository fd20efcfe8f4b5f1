"""What the payment flow needs from the running app, built once per process."""

from __future__ import annotations

import asyncio
import threading
import weakref
from dataclasses import dataclass, field, replace
from datetime import datetime

import aiohttp
import requests
from requests.adapters import HTTPAdapter

from paycombat_gateway.gateway.config_cache import ConfigCache
from paycombat_gateway.metrics import observe_paycombat_call
from paycombat_gateway.outbound import (
    PAYCOMBAT_BACKGROUND,
    PAYCOMBAT_IN_WEBHOOK,
    PAYCOMBAT_LOOKUP_IN_WEBHOOK,
    PAYCOMBAT_SHARE,
    SALEOR_REPORT,
    SALEOR_WEB_SHARE,
    UNSIGNED_LOOKUPS_AT_ONCE,
    UNSIGNED_LOOKUPS_PER_SECOND,
    Deadline,
    open_session,
)
from paycombat_gateway.paycombat.client import DEFAULT_RETRIES, AsyncPaycombatClient, PaycombatClient
from paycombat_gateway.paycombat.protocol import observe_calls
from paycombat_gateway.peer_shares import Admission
from paycombat_gateway.saleor.client import SaleorClient
from paycombat_gateway.saleor.jwks_refresh import JwksRefresher
from paycombat_gateway.settings import Settings
from paycombat_gateway.storage.configs import ConfigCredentials, credentials
from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.models import Installation, PaycombatConfig
from paycombat_gateway.storage.secrets import SecretBox

__all__ = ["GatewayContext", "PaycombatClients"]


class PaycombatClients:
    """One pooled ``PaycombatClient`` and the decrypted keys per configuration, rebuilt when the
    configuration changes: every webhook and payment call would otherwise decrypt both secrets.

    The server's flows use ``async_for_config``: the same client on the event loop's transport, one per
    configuration and loop (an async client's connections belong to the loop that opened them)."""

    def __init__(
        self, box: SecretBox, default_api_url: str, timeouts: tuple[float, float] = (3.0, 10.0)
    ) -> None:
        self._box = box
        self._default_api_url = default_api_url
        self._timeouts = timeouts
        self._entries: dict[str, tuple[datetime, ConfigCredentials, PaycombatClient]] = {}
        self._lock = threading.Lock()
        self._async: dict[str, tuple[datetime, asyncio.AbstractEventLoop, AsyncPaycombatClient]] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def base_url_for(self, config: PaycombatConfig) -> str:
        return (config.api_url or self._default_api_url).rstrip("/")

    def _entry(self, config: PaycombatConfig) -> tuple[datetime, ConfigCredentials, PaycombatClient]:
        with self._lock:
            cached = self._entries.get(config.id)
            if cached is not None and cached[0] == config.updated_at:
                return cached
        keys = credentials(self._box, config)
        client = PaycombatClient(
            keys.x_token,
            keys.signature_key,
            self.base_url_for(config),
            connect_timeout=self._timeouts[0],
            read_timeout=self._timeouts[1],
        )
        entry = (config.updated_at, keys, client)
        with self._lock:
            previous = self._entries.get(config.id)
            self._entries[config.id] = entry
        if previous is not None:
            previous[2].close()
        return entry

    def for_config(self, config: PaycombatConfig) -> PaycombatClient:
        return self._entry(config)[2]

    def credentials_for(self, config: PaycombatConfig) -> ConfigCredentials:
        return self._entry(config)[1]

    def async_for_config(
        self, config: PaycombatConfig, *, quick: bool = False, background: bool = False
    ) -> AsyncPaycombatClient:
        """The async client for ``config``; call it on the event loop that will await the client.

        Inside a Saleor sync webhook every call ends by ``outbound.PAYCOMBAT_IN_WEBHOOK``; ``quick``:
        the client for one look-up there, no retries and ``PAYCOMBAT_LOOKUP_IN_WEBHOOK``, so the answer
        to Saleor never waits out PayCombat's slowness. ``background``: the reconciler's, with
        ``PAYCOMBAT_BACKGROUND``. ``PAYCOMBAT_CONNECT_TIMEOUT`` lowers a deadline's ``connect`` and
        ``PAYCOMBAT_READ_TIMEOUT`` its ``silence`` (never raising them); the ``total`` stays."""
        loop = asyncio.get_running_loop()
        kind = "quick" if quick else "background" if background else "webhook"
        key = f"{config.id}/{kind}"
        cached = self._async.get(key)
        if cached is not None and cached[0] == config.updated_at and cached[1] is loop:
            return cached[2]
        keys = self.credentials_for(config)
        deadline = (
            PAYCOMBAT_LOOKUP_IN_WEBHOOK
            if quick
            else PAYCOMBAT_BACKGROUND
            if background
            else PAYCOMBAT_IN_WEBHOOK
        )
        connect, read = self._timeouts
        deadline = replace(
            deadline,
            connect=min(connect, deadline.connect),
            silence=min(read, deadline.silence or deadline.total),
        )
        client = AsyncPaycombatClient(
            keys.x_token,
            keys.signature_key,
            self.base_url_for(config),
            deadline=deadline,
            connections=PAYCOMBAT_SHARE,
            retries=0 if quick else DEFAULT_RETRIES,
        )
        self._async[key] = (config.updated_at, loop, client)
        if cached is not None and cached[1] is loop:  # a client of a finished loop has nothing to close
            closing = loop.create_task(cached[2].aclose())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        return client

    async def aclose_loop(self) -> None:
        """Close the async clients of the running loop (its end: the server's, or the background's)."""
        loop = asyncio.get_running_loop()
        mine = [key for key, (_, owner, _) in self._async.items() if owner is loop]
        for key in mine:
            await self._async.pop(key)[2].aclose()

    async def aclose(self) -> None:
        """Close the async clients of the running loop, then the sync ones."""
        await self.aclose_loop()
        self.close()

    def close(self) -> None:
        with self._lock:
            for _, _, client in self._entries.values():
                client.close()
            self._entries.clear()


def _pooled_session() -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=10, pool_maxsize=20)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # a command's blocking call
        return False
    return True


@dataclass
class GatewayContext:
    settings: Settings
    database: Database
    box: SecretBox
    paycombat: PaycombatClients
    configs: ConfigCache
    saleor_http: requests.Session = field(default_factory=_pooled_session)  # the CLI's commands only
    jwks_refresher: JwksRefresher = field(default_factory=JwksRefresher)
    unsigned_lookups: Admission[str] = field(
        default_factory=lambda: Admission(
            at_once=UNSIGNED_LOOKUPS_AT_ONCE, per_second=UNSIGNED_LOOKUPS_PER_SECOND
        )
    )  # per configuration: Retrieve Payin for unsigned PayCombat deliveries (gateway.inbound)
    _http: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = field(
        default_factory=weakref.WeakKeyDictionary, init=False, repr=False
    )

    @classmethod
    def create(cls, settings: Settings, database: Database | None = None) -> GatewayContext:
        observe_calls(observe_paycombat_call)  # the PayCombat calls this process makes, in its metrics
        box = SecretBox.from_setting(settings.app_secret_key, settings.data_dir)
        database = database or Database.from_url(settings.resolved_database_url)
        return cls(
            settings=settings,
            database=database,
            configs=ConfigCache(database),
            box=box,
            paycombat=PaycombatClients(
                box,
                settings.paycombat_api_url,
                (settings.paycombat_connect_timeout, settings.paycombat_read_timeout),
            ),
        )

    def http(self) -> aiohttp.ClientSession:
        """The server's one HTTP session to Saleor (JWKS, install, the settings page's reads), opened on
        first use on the serving event loop and kept for the process's life (one per event loop: a
        session's connections belong to the loop that opened them). Each Saleor host gets at most
        ``SALEOR_WEB_SHARE`` connections from it: a slow Saleor's callers queue for its own
        connections (inside their deadlines), never for anyone else's. Its names are resolved on the
        loop (``outbound.open_session``): a Saleor host that resolves slowly holds no thread."""
        loop = asyncio.get_running_loop()
        opened = self._http.get(loop)
        if opened is not None and not opened.closed:
            return opened
        session = open_session(per_host=SALEOR_WEB_SHARE)
        self._http[loop] = session
        return session

    def saleor_client(
        self,
        installation: Installation,
        deadline: Deadline = SALEOR_REPORT,
        *,
        http: aiohttp.ClientSession | None = None,
    ) -> SaleorClient:
        """A client acting as the app in ``installation``'s Saleor, with the token stored at install time;
        its async calls go through ``http`` (the background loop's session) or the server's ``http()``,
        each ending by ``deadline``. Its blocking calls are for the CLI's commands."""
        if http is None and _on_event_loop():
            http = self.http()
        return SaleorClient(
            installation.saleor_api_url,
            self.box.decrypt(installation.token_encrypted),
            session=self.saleor_http,
            http=http,
            deadline=deadline,
        )

    def paycombat_webhook_url(self, config_id: str) -> str:
        return f"{self.settings.app_url}/api/webhooks/paycombat/{config_id}"

    def close(self) -> None:
        self.paycombat.close()
        self.saleor_http.close()
        self.database.dispose()

    async def aclose_loop(self) -> None:
        """Close what the running event loop opened: its PayCombat clients and its Saleor session."""
        await self.paycombat.aclose_loop()
        opened = self._http.pop(asyncio.get_running_loop(), None)
        if opened is not None:
            await opened.close()

    async def aclose(self) -> None:
        """``close`` for the server's lifespan, which also closes the clients of its event loop."""
        await self.aclose_loop()
        self.close()
